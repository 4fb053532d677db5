"""No telemetry: the annotator's pages ask the team's own server for everything, and nothing else.

Label Studio reports usage and errors to its makers unless told not to. The embedded server
is started with all of it off; the browser test records every request (and web socket) the
pages make through a whole labelling session and fails on any address outside the server.
The browser fixture aborts requests that leave loopback, so the test needs no network: an
aborted request is still a request the page tried to make, and is recorded.
"""

from __future__ import annotations

import shutil
import uuid
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Page, Request, WebSocket

from annotate.core.corpus import Article, article_id_for, write_article
from annotate.core.records import iter_records
from annotate.labelstudio import server
from annotate.labelstudio.pull import pull
from annotate.labelstudio.push import push
from annotate.labelstudio.team import team_add

pytest.register_assert_rewrite("tests.browser")

from .browser import (  # noqa: E402
    choose,
    close_instructions,
    label_span,
    link,
    log_in,
    open_project,
    region_span,
    start_labelling,
    submit,
)

pytest_plugins = ["tests.browser"]

ARTICLE = "Kim Jong Un will visit Vladivostok next week, state media said on Tuesday."
TELEMETRY_SETTINGS = ("COLLECT_ANALYTICS", "SENTRY_DSN", "FRONTEND_SENTRY_DSN", "LATEST_VERSION_CHECK")
# What Label Studio 1.23 puts in its pages when analytics and Sentry are on.
TELEMETRY_MARKERS = ("googletagmanager.com", "sentry-cdn.com", "ingest.sentry.io", "collect_analytics: true")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


class _Recorder:
    """Every address the pages of one browser context asked for."""

    def __init__(self, page: Page) -> None:
        self.urls: list[str] = []
        page.context.on("request", self._request)
        page.on("websocket", self._socket)

    def _request(self, request: Request) -> None:
        self.urls.append(request.url)

    def _socket(self, socket: WebSocket) -> None:
        self.urls.append(socket.url)

    def outside(self, origin: str) -> list[str]:
        # data: and blob: URLs are made inside the page and never leave it.
        return sorted({u for u in self.urls if not u.startswith(("data:", "blob:")) and _origin(u) != origin})


@pytest.mark.browser
def test_no_request_leaves_the_server_during_a_whole_labelling_session(
    page, screenshots, workspace, label_studio, unique_title
):
    shutil.rmtree(workspace.corpus)
    write_article(workspace.corpus, Article(id=article_id_for(ARTICLE), text=ARTICLE, title="Kim to visit"))
    push(workspace, project=unique_title)
    (account,) = team_add(workspace, [f"annotator-{uuid.uuid4().hex[:8]}@example.org"])
    recorded = _Recorder(page)

    log_in(page, label_studio.url, account.email, account.password)
    pages = page.content()
    open_project(page, unique_title)
    start_labelling(page)  # the label stream, with the guidelines first
    close_instructions(page)
    label_span(page, "Kim Jong Un", hotkey="p")
    label_span(page, "visit", label="Movement.Travel")
    link(page, "visit", "Kim Jong Un", "Movement.Travel: Traveler")
    region_span(page, "visit").click()
    choose(page, "Asserted")
    submit(page)
    pages += page.content()
    # Analytics beacons wait for an idle moment: give the pages one before counting.
    page.wait_for_timeout(3000)
    page.goto(f"{label_studio.url}/projects/")
    page.wait_for_load_state("networkidle")
    pages += page.content()

    assert recorded.urls, "the recorder saw no request at all, so it proves nothing"
    assert any(u.startswith(f"{label_studio.url}/api/tasks/") for u in recorded.urls)
    outside = recorded.outside(label_studio.url)
    assert outside == [], "the pages asked for addresses outside the server:\n" + "\n".join(outside)
    assert [m for m in TELEMETRY_MARKERS if m in pages] == []
    (record,) = list(_records(workspace, unique_title))
    assert record["events"][0]["arguments"][0]["role"] == "Traveler"


def _records(workspace, title: str):
    return iter_records(pull(workspace, project=title).records_path)


def test_the_server_is_started_with_analytics_and_error_reports_off_whatever_the_environment(
    monkeypatch, tmp_path
):
    for name in TELEMETRY_SETTINGS:
        monkeypatch.setenv(name, "https://someone@o1.ingest.sentry.io/1" if "DSN" in name else "true")
    settings = server._new_settings(server.LOOPBACK, 8080, None)
    env = server._server_env(settings, tmp_path)
    # Label Studio reads LABEL_STUDIO_<NAME> before <NAME>: the prefixed value is the one that counts.
    assert {name: env[f"LABEL_STUDIO_{name}"] for name in TELEMETRY_SETTINGS} == {
        "COLLECT_ANALYTICS": "false",
        "SENTRY_DSN": "",
        "FRONTEND_SENTRY_DSN": "",
        "LATEST_VERSION_CHECK": "false",
    }


def test_the_running_server_serves_pages_without_analytics_or_sentry(label_studio):
    login = httpx.get(f"{label_studio.url}/user/login/", timeout=30).text
    assert "<form" in login
    assert [m for m in TELEMETRY_MARKERS if m in login] == []
