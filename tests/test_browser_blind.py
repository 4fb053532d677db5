"""Blind double annotation in a real browser: the second annotator never sees the first one's regions.

Two annotators, each in their own pass of the same project, follow the normal path: the
label stream ("Label All Tasks"), the Data Manager's task list, and a task opened from it.
"""

from __future__ import annotations

import re
import shutil
import uuid

import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from annotate.core.corpus import Article, article_id_for, write_article
from annotate.core.records import iter_records
from annotate.labelstudio.passes import pass_title
from annotate.labelstudio.pull import pull
from annotate.labelstudio.projects import project_tasks
from annotate.labelstudio.push import push
from annotate.labelstudio.team import team_add

pytest.register_assert_rewrite("tests.browser")

from .browser import (  # noqa: E402
    LOOPBACK_ONLY,
    REGION_SPAN,
    VIEWPORT,
    TEXT_OBJECT,
    article_text,
    close_instructions,
    label_span,
    log_in,
    open_project,
    screenshot,
    start_labelling,
    submit,
)

pytest_plugins = ["tests.browser"]

ARTICLE = "Kim Jong Un will visit Vladivostok next week, where Vladimir Putin will meet him."


def _people(workspace, count: int) -> list[tuple[str, str]]:
    accounts = team_add(workspace, [f"blind-{uuid.uuid4().hex[:8]}@example.org" for _ in range(count)])
    return [(a.email, a.password) for a in accounts]


def _second_browser(browser: Browser) -> BrowserContext:
    """A browser of the second annotator's own: nothing of the first one's session carries over."""
    context = browser.new_context(viewport=VIEWPORT)
    context.route(LOOPBACK_ONLY, lambda route: route.abort())
    return context


@pytest.mark.browser
def test_the_second_annotator_never_sees_the_first_annotators_regions(
    page, browser, screenshots, workspace, label_studio, unique_title
):
    shutil.rmtree(workspace.corpus)
    write_article(workspace.corpus, Article(id=article_id_for(ARTICLE), text=ARTICLE, title="Kim to visit"))
    push(workspace, project=unique_title, annotators_per_task=2)
    (ana, ana_password), (ben, ben_password) = _people(workspace, 2)
    first, second = pass_title(unique_title, 0), pass_title(unique_title, 1)

    log_in(page, label_studio.url, ana, ana_password)
    open_project(page, first)
    start_labelling(page)
    close_instructions(page)
    label_span(page, "Kim Jong Un", hotkey="p")
    label_span(page, "Vladivostok", hotkey="g")
    submit(page)
    screenshot(page, screenshots, "first-annotator-submitted")

    page.context.close()
    page = _second_browser(browser).new_page()
    log_in(page, label_studio.url, ben, ben_password)
    # The project list offers the passes, not a shared project holding both annotations.
    expect(page.get_by_text(second, exact=True)).to_be_visible()
    expect(page.get_by_text(unique_title, exact=True)).to_have_count(0)
    open_project(page, second)
    # The Data Manager's task list: the task, with no annotation on it.
    row = page.get_by_text("Kim to visit", exact=True).first
    expect(row).to_be_visible()
    screenshot(page, screenshots, "second-annotator-data-manager")
    expect(page.get_by_text("Submitted annotations: 0")).to_be_visible()

    # The label stream: the article, without a region in it.
    start_labelling(page)
    close_instructions(page)
    expect(article_text(page)).to_have_text(ARTICLE)
    expect(page.locator(f"{TEXT_OBJECT} {REGION_SPAN}")).to_have_count(0)
    screenshot(page, screenshots, "second-annotator-label-stream")
    label_span(page, "Vladimir Putin", hotkey="p")
    submit(page)

    # The task opened from the Data Manager: only the second annotator's own region.
    connection = label_studio.connection()
    project_id = int(re.search(r"/projects/(\d+)", page.url).group(1))
    (task,) = project_tasks(connection, project_id).values()
    page.goto(f"{label_studio.url}/projects/{project_id}/data?task={task.id}")
    article_text(page).wait_for()
    regions = page.locator(f"{TEXT_OBJECT} {REGION_SPAN}")
    expect(regions).to_have_count(1)
    expect(regions).to_have_text("Vladimir Putin")
    expect(page.locator(TEXT_OBJECT)).not_to_contain_text(ana)
    expect(page.get_by_text(ana)).to_have_count(0)
    screenshot(page, screenshots, "second-annotator-task-view")

    # Both passes come back as one project's records: two annotators of one article.
    records = list(iter_records(pull(workspace, project=unique_title).records_path))
    assert len(records) == 2 and len({r["annotator"] for r in records}) == 2, [r["annotator"] for r in records]
    page.context.close()
    spans = sorted(e["text"] for r in records for e in r["entities"])
    assert spans == ["Kim Jong Un", "Vladimir Putin", "Vladivostok"]
