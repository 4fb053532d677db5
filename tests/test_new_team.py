"""A new team's path, as the README tells it: init → add two articles → push → two annotators and a
curator in the browser → pull → adjudicate → publish, in a workspace of its own, with no --project.

The maintainer works in a copy of the repository (a fresh clone) and makes the new project
folder beside it; every command runs inside that folder with ANNOTATE_WORKSPACE unset, so
the folder alone decides the project and the dataset. The commands talk to the session's
real Label Studio: the new folder is given its address and key, as `annotate server start`
would have written them.
"""

from __future__ import annotations

import re
import shutil
import uuid
from pathlib import Path

import pytest
from datasets import load_dataset
from playwright.sync_api import Browser, Page, expect

from annotate.core.corpus import load_corpus
from annotate.core.records import iter_records
from annotate.core.settings import load_project_settings
from annotate.core.workspace import Workspace
from annotate.labelstudio import server
from annotate.labelstudio.passes import pass_title
from annotate.quality.adjudicate import curation_title

from .builders import copy_project_files
from .helpers import assert_no_traceback, run_cli

pytest.register_assert_rewrite("tests.browser")

from .browser import (  # noqa: E402
    LOOPBACK_ONLY,
    VIEWPORT,
    article_text,
    close_instructions,
    label_span,
    link,
    log_in,
    open_project,
    region_span,
    screenshot,
    start_labelling,
    submit,
)

pytest_plugins = ["tests.browser"]

# Two new articles, nothing like the seed's: one the annotators agree on, one they do not.
AGREED = "Sergei Shoigu arrived in Tehran on Monday for talks with the Iranian defence minister."
DISPUTED = "Kim Jong Un will visit Vladivostok next week, the ministry in Moscow said."


def cli(*args: str) -> str:
    """Run one README command in the current folder; fail with its output unless it succeeds."""
    result = run_cli(*args)
    assert_no_traceback(result)
    assert result.exit_code == 0, f"annotate {' '.join(args)}\n{result.output}"
    return result.stdout


def _passwords(team_add_output: str) -> dict[str, str]:
    return dict(re.findall(r"^created\s+(\S+)\s+password: (\S+)$", team_add_output, re.M))


def _as(browser: Browser, url: str, email: str, password: str) -> Page:
    """A browser of one's own (own cookies) for one member of the team, logged in."""
    context = browser.new_context(viewport=VIEWPORT)
    context.route(LOOPBACK_ONLY, lambda route: route.abort())
    page = context.new_page()
    log_in(page, url, email, password)
    return page


def _label_both(page: Page, title: str, *, marks_vladivostok: bool, folder: Path, who: str) -> None:
    """Label the two articles in the label stream, in whatever order it serves them."""
    open_project(page, title)
    start_labelling(page)
    close_instructions(page)
    for number in (1, 2):
        expect(article_text(page)).to_have_text(re.compile(f"^({re.escape(AGREED)}|{re.escape(DISPUTED)})$"))
        if article_text(page).inner_text() == AGREED:
            label_span(page, "Sergei Shoigu", hotkey="p")
            label_span(page, "Tehran", hotkey="g")
        else:
            label_span(page, "Kim Jong Un", hotkey="p")
            label_span(page, "visit", label="Movement.Travel")
            link(page, "visit", "Kim Jong Un", "Movement.Travel: Traveler")
            if marks_vladivostok:
                label_span(page, "Vladivostok", hotkey="g")
        screenshot(page, folder, f"{who}-article-{number}")
        shown = article_text(page).inner_text()
        submit(page)
        if number == 1:
            expect(article_text(page)).not_to_have_text(shown)  # the label stream moved on to the other article


@pytest.mark.browser
def test_a_new_team_goes_from_init_to_publish_with_no_project_option(
    browser, screenshots, label_studio, tmp_path, monkeypatch
):
    for name in ("ANNOTATE_WORKSPACE", "LABEL_STUDIO_URL", "LABEL_STUDIO_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    clone = copy_project_files(tmp_path / "clone")
    seed = load_project_settings(clone)
    monkeypatch.chdir(clone.root)

    # The maintainer: a project folder of its own, two new articles, the push.
    folder = f"team-{uuid.uuid4().hex[:8]}"
    cli("init", f"../{folder}")
    root = tmp_path / folder
    monkeypatch.chdir(root)
    workspace = Workspace(root)
    shutil.copy2(server.settings_path(label_studio.workspace), workspace.private_dir() / "server.json")
    settings = load_project_settings(workspace)
    assert settings.project != seed.project and settings.dataset.name == folder

    articles = root / "new-articles"
    articles.mkdir()
    (articles / "shoigu-in-tehran.txt").write_text(f"Shoigu in Tehran\n\n{AGREED}\n", encoding="utf-8")
    (articles / "kim-to-vladivostok.txt").write_text(f"Kim to visit Vladivostok\n\n{DISPUTED}\n", encoding="utf-8")
    assert "2 added" in cli("corpus", "add", "new-articles/")
    assert "Tasks: 2 created" in cli("push", "--annotators-per-task", "2")
    tag = uuid.uuid4().hex[:6]
    ana, ben, cara = (f"{name}-{tag}@example.org" for name in ("ana", "ben", "cara"))
    passwords = _passwords(cli("team", "add", ana, ben, cara))
    assert set(passwords) == {ana, ben, cara}

    # Two annotators in the browser, each in their own blind pass; only Ben marks Vladivostok.
    for number, (email, marks) in enumerate(((ana, False), (ben, True))):
        page = _as(browser, label_studio.url, email, passwords[email])
        title = pass_title(settings.project, number)
        _label_both(page, title, marks_vladivostok=marks, folder=screenshots, who=email.split("-")[0])
        page.context.close()

    assert "4 record(s) written" in cli("pull")
    first = cli("adjudicate")
    assert "1 gold, 1 sent to curation" in first, first

    # The curator keeps Ben's Vladivostok, offered pre-filled in the curation task.
    page = _as(browser, label_studio.url, cara, passwords[cara])
    open_project(page, curation_title(settings.project))
    start_labelling(page)
    close_instructions(page)
    expect(article_text(page)).to_have_text(DISPUTED)
    expect(page.get_by_text(re.compile(r"In dispute \(1\): 1\. entity 'Vladivostok' \[\d+-\d+\]"))).to_be_visible()
    expect(region_span(page, "Vladivostok")).to_be_visible()
    screenshot(page, screenshots, "curator")
    submit(page)
    page.context.close()

    cli("pull")
    assert "2 gold, 0 sent to curation, 0 awaiting curation" in cli("adjudicate")
    gold = {r["article_id"]: r for r in iter_records(workspace.gold_path(settings.project_slug))}
    ids = {a.text.strip(): a.id for a in load_corpus(workspace)}
    assert gold[ids[DISPUTED]]["provenance"]["method"] == "curator"
    assert "Vladivostok" in {e["text"] for e in gold[ids[DISPUTED]]["entities"]}
    assert gold[ids[AGREED]]["provenance"]["method"] == "majority"

    # Published: only the two new articles, with a card that describes this team's work.
    cli("publish", "--version", "1.0.0")
    version = root / "exports" / folder / "1.0.0"
    documents = load_dataset(str(version), "documents", cache_dir=str(tmp_path / "hf-cache"))
    assert sorted(row["id"] for split in documents.values() for row in split) == sorted(ids.values())
    card = (version / "README.md").read_text(encoding="utf-8")
    assert f"\n# {settings.dataset.pretty_name}\n" in card
    seed_claims = ("machine-generated", "language-model", "No human", "Recorded passes", "pass-a")
    for claim in (*seed_claims, seed.dataset.pretty_name):
        assert claim not in card, claim
    process = card.split("### Annotation process")[1].split("Inter-annotator agreement")[0]
    assert "4 annotation(s) by 2 pseudonymous annotator(s)" in process
    assert len(re.findall(r"^\| `[0-9a-f]+` \| 2 \| 2 \| 0 \| 0 \|$", process, re.M)) == 2  # both made in the browser
    assert "1 decided by a curator" in process and "1 merged from what most annotators agreed on" in process
    assert "Curator decisions by 1 pseudonymous account(s)" in process
    assert "annotations_creators:\n- expert-generated" in card
    for email in (ana, ben, cara):
        assert email not in card
    # The seed's workspace was never touched: nothing of the new dataset is there.
    assert not (clone.exports / folder).exists() and not list((clone.exports).glob("records/*team*"))
