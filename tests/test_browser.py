"""The annotator's path in a real browser: log in, read the guidelines, label, link, submit, pull.

The project is made by `push`, the annotator's account by `team_add`, and what the
annotator did comes back through `pull`: the tests prove the project's own flow, driving
Label Studio's web interface in Debian's Chromium the way a person does (mouse and keys).
"""

from __future__ import annotations

import re
import shutil
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from annotate.core.corpus import Article, article_id_for, write_article
from annotate.labelstudio.pull import pull
from annotate.labelstudio.push import push
from annotate.core.records import iter_records
from annotate.core.scheme import load_scheme
from annotate.labelstudio.team import team_add

# The helpers' own asserts (a span not found, a refused submission) should explain themselves too.
pytest.register_assert_rewrite("tests.browser")

from .browser import (  # noqa: E402
    article_text,
    choose,
    close_instructions,
    label_chip,
    label_span,
    link,
    log_in,
    open_project,
    region_span,
    screenshot,
    start_labelling,
    submit,
)

pytest_plugins = ["tests.browser", "pytester"]

# Curly quotes and characters outside the Basic Multilingual Plane (4 bytes in UTF-8, two
# UTF-16 units in the browser) before both spans: their offsets must come back as Python
# code-point indices.
UNICODE_ARTICLE = (
    "Pyongyang’s “friendship” summit 🇰🇵🤝🇷🇺 drew crowds. "
    "State media said Kim Jong Un will visit Vladivostok next week, an aide’s note says."
)
MARKUP_ARTICLE = (
    "An outlet pasted raw HTML into its copy: <script>window.__pwned=1</script> "
    'and <b>bold</b> and <img src="x" onerror="window.__pwned=2">, all of which is text here.'
)


def _corpus_of(workspace, text: str, title: str) -> Article:
    """Make the workspace's corpus this one article, so the label stream opens it first."""
    shutil.rmtree(workspace.corpus)
    article = Article(id=article_id_for(text), text=text, title=title)
    write_article(workspace.corpus, article)
    return article


def _annotator(workspace) -> tuple[str, str]:
    (account,) = team_add(workspace, [f"annotator-{uuid.uuid4().hex[:8]}@example.org"])
    return account.email, account.password


def _project_for_annotator(page: Page, workspace, label_studio, title: str, text: str, article_title: str):
    """Push a one-article project, create an annotator, log in as them and open the project."""
    article = _corpus_of(workspace, text, article_title)
    push(workspace, project=title)
    email, password = _annotator(workspace)
    log_in(page, label_studio.url, email, password)
    open_project(page, title)
    return article, email


@pytest.mark.browser
def test_annotator_sees_guidelines_title_and_the_schemes_labels(
    page, screenshots, workspace, label_studio, unique_title
):
    _project_for_annotator(page, workspace, label_studio, unique_title, UNICODE_ARTICLE, "Kim to visit Vladivostok")
    screenshot(page, screenshots, "project")

    instructions = start_labelling(page)
    screenshot(page, screenshots, "instructions")
    guidelines = (workspace.guidelines / "annotation-guidelines.md").read_text(encoding="utf-8")
    heading = re.search(r"^# (.+)$", guidelines, re.M).group(1).strip()
    scheme = load_scheme(workspace.scheme_path)
    expect(instructions.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    expect(instructions).to_contain_text(scheme.entities[0].definition)

    close_instructions(page)
    expect(page.get_by_text("Kim to visit Vladivostok", exact=True)).to_be_visible()
    for name in (*scheme.entity_names, *scheme.event_names):
        expect(label_chip(page, name)).to_be_visible()
    expect(article_text(page)).to_have_text(UNICODE_ARTICLE)
    screenshot(page, screenshots, "labelling")


@pytest.mark.browser
def test_a_span_trigger_role_and_modality_made_in_the_browser_come_back_from_pull_exactly(
    page, screenshots, workspace, label_studio, unique_title
):
    article, email = _project_for_annotator(
        page, workspace, label_studio, unique_title, UNICODE_ARTICLE, "Kim to visit Vladivostok"
    )
    start_labelling(page)
    close_instructions(page)

    label_span(page, "Kim Jong Un", hotkey="p")
    label_span(page, "visit", label="Movement.Travel")
    link(page, "visit", "Kim Jong Un", "Movement.Travel: Traveler")
    region_span(page, "visit").click()
    choose(page, "Other")
    screenshot(page, screenshots, "labelled")
    # The attributes belong to triggers: selecting the entity hides them.
    region_span(page, "Kim Jong Un").click()
    modality = page.get_by_role("radio", name=re.compile("^Other"), include_hidden=True)
    expect(modality).to_have_count(1)
    expect(modality).to_be_hidden()
    submit(page)
    screenshot(page, screenshots, "submitted")

    result = pull(workspace, project=unique_title)
    assert not result.quarantined, [str(p) for q in result.quarantined for p in q.problems]
    (record,) = list(iter_records(result.records_path))
    assert record["article_id"] == article.id and record["text"] == UNICODE_ARTICLE
    assert not record["cancelled"] and email not in str(record)

    start, trigger = UNICODE_ARTICLE.index("Kim Jong Un"), UNICODE_ARTICLE.index("visit")
    (entity,) = record["entities"]
    assert entity == {"id": entity["id"], "start": start, "end": start + 11, "text": "Kim Jong Un", "label": "PER"}
    (event,) = record["events"]
    assert event == {
        "id": event["id"],
        "type": "Movement.Travel",
        "trigger": {"start": trigger, "end": trigger + 5, "text": "visit"},
        "arguments": [{"role": "Traveler", "target": entity["id"]}],
        "attributes": {"modality": "Other"},
    }
    for span in (entity, event["trigger"]):
        assert UNICODE_ARTICLE[span["start"] : span["end"]] == span["text"]


@pytest.mark.browser
def test_markup_in_an_article_is_shown_as_text_and_runs_nothing(
    page, dialogs, screenshots, workspace, label_studio, unique_title
):
    title = "<i>Raw</i> HTML <script>window.__pwned=3</script>"
    _project_for_annotator(page, workspace, label_studio, unique_title, MARKUP_ARTICLE, title)
    start_labelling(page)
    close_instructions(page)
    shown = article_text(page)
    expect(shown).to_have_text(MARKUP_ARTICLE)
    screenshot(page, screenshots, "markup-as-text")

    assert shown.locator("script, b, img").count() == 0
    expect(page.get_by_text(title, exact=True)).to_be_visible()
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert dialogs == []


@pytest.mark.browser
def test_a_failed_browser_test_leaves_its_screenshot_behind(pytester, monkeypatch):
    repo = Path(__file__).resolve().parent.parent
    monkeypatch.setenv("PYTHONPATH", str(repo))
    pytester.makepyfile(
        test_inner="""
        pytest_plugins = ["tests.browser"]

        def test_passes(page):
            page.set_content("<h1>all is well</h1>")

        def test_fails(page):
            page.set_content("<h1>the state at the failure</h1>")
            assert page.title() == "a title this page does not have"
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:timeout")
    result.assert_outcomes(passed=1, failed=1)
    shots = pytester.path / "test-output" / "screenshots"
    assert sorted(p.relative_to(shots).as_posix() for p in shots.rglob("*.png")) == [
        "test_fails/FAILED.png",
        "test_passes/final.png",
    ]
    assert (shots / "test_fails" / "FAILED.png").read_bytes().startswith(b"\x89PNG")


@pytest.mark.browser
def test_a_missing_browser_fails_the_test_instead_of_skipping_it(pytester, monkeypatch):
    repo = Path(__file__).resolve().parent.parent
    monkeypatch.setenv("PYTHONPATH", str(repo))
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("ANNOTATE_CHROMIUM", str(pytester.path / "no-chromium-here"))
    pytester.makepyfile(
        test_inner="""
        pytest_plugins = ["tests.browser"]

        def test_needs_a_browser(page):
            page.set_content("<p>unreachable</p>")
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:timeout", "-rA")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*Chromium is not installed at*no-chromium-here*make browser*"])
