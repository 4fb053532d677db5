"""`annotate suggest`: a string matcher learnt from the gold, scored on held-out gold, shown in Label Studio."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from annotate.labelstudio.push import project_tasks, push
from annotate.labelstudio.team import team_add
from annotate.quality.score import load_gold
from annotate.quality.suggest import learn, suggest

from .browser import REGION_SPAN, TEXT_OBJECT, log_in, screenshot
from .helpers import assert_no_traceback, run_cli, seed_version
from .test_agreement import annotate_in_label_studio, entity

pytest_plugins = ["tests.browser"]


def _mention(text: str, words: str, label: str, occurrence: int = 0) -> dict:
    start = -1
    for _ in range(occurrence + 1):
        start = text.index(words, start + 1)
    return {"start": start, "end": start + len(words), "text": words, "label": label}


def test_matcher_takes_the_longest_whole_word_match_and_leaves_ambiguous_strings_out():
    text = "North Korea and Korea met. Washington said Washington would visit. Russia delivered arms; Russia attack."
    gold = {
        "text": text,
        "entities": [
            _mention(text, "North Korea", "GPE"),
            _mention(text, "Korea", "GPE", 1),
            _mention(text, "Washington", "GPE"),
            _mention(text, "Washington", "PER", 1),  # half GPE, half PER: ambiguous, left out
            _mention(text, "Russia", "GPE"),  # the second "Russia" is unlabelled: labelled 1 of 2, still kept
        ],
        "events": [
            {
                "type": "Transaction.Transfer",
                "trigger": {"start": text.index("delivered"), "end": text.index("delivered") + 9, "text": "delivered"},
            },
            {
                "type": "Contact.Meet",
                "trigger": {"start": text.index("met"), "end": text.index("met") + 3, "text": "met"},
            },
        ],
    }
    matcher = learn([gold])
    assert matcher.entities == {"North Korea": "GPE", "Korea": "GPE", "Russia": "GPE"}
    assert matcher.triggers == {"delivered": "Transaction.Transfer", "met": "Contact.Meet"}
    assert matcher.left_out == 1

    new = "South North Korea, Koreans and Korea; Russia metal met."
    predicted = matcher.predict("x", new)
    assert [(e["text"], e["label"]) for e in predicted["entities"]] == [
        ("North Korea", "GPE"),  # longest first: not "Korea" inside it
        ("Korea", "GPE"),  # "Koreans" is no whole-word match
        ("Russia", "GPE"),
    ]
    assert [(v["trigger"]["text"], v["type"]) for v in predicted["events"]] == [("met", "Contact.Meet")]  # not "metal"
    assert all(new[e["start"] : e["end"]] == e["text"] for e in predicted["entities"])


def test_suggest_on_a_held_out_seed_article_is_scored_shown_in_label_studio_and_never_added_twice(
    workspace, label_studio, unique_title, page: Page, screenshots
):
    folder = seed_version(workspace)
    test_article = next(iter(load_gold(folder, "test", workspace).documents))
    push(workspace, project=unique_title, annotators_per_task=1)  # one shared project: one pass
    connection = label_studio.connection()
    tasks = project_tasks(connection, find_id(connection, unique_title), with_text=True)
    assert len(tasks) == 5
    (account,) = team_add(workspace, [f"suggest-{unique_title.split()[-1]}@example.org"])
    user = {u.email: u.id for u in connection.client.users.list()}[account.email]
    labelled = next(a for a in sorted(tasks) if a != test_article)
    text = tasks[labelled].text
    first_word = text.split()[0]
    annotate_in_label_studio(label_studio, tasks[labelled].id, user, [entity(text, "m1", first_word, "PER")])

    shown = run_cli("suggest", "--project", unique_title, "--dataset", str(folder))

    assert_no_traceback(shown)
    assert shown.exit_code == 0, shown.output
    assert re.search(r"entities \(strict\)\s+precision 0\.\d{3}  recall 0\.\d{3}", shown.stdout), shown.stdout
    assert re.search(r"triggers \(classification\)\s+precision \d\.\d{3}  recall \d\.\d{3}", shown.stdout)
    assert "learnt from train 4 gold article(s)" in shown.stdout
    assert "4 task(s) got suggestions, 0 had them already, 1 left alone (annotated)" in shown.stdout

    # The annotator's task holds no prediction; the held-out article holds exactly one, of the matcher's version.
    client = connection.client
    annotated = client.tasks.get(id=tasks[labelled].id)
    assert not annotated.predictions and len(annotated.annotations) == 1
    held = client.tasks.get(id=tasks[test_article].id)
    (prediction,) = held.predictions
    version = prediction["model_version"] if isinstance(prediction, dict) else prediction.model_version
    assert version == "string-matcher-nk-russia-events-1.0.0"
    results = prediction["result"] if isinstance(prediction, dict) else prediction.result
    spans = [r["value"]["text"] for r in results if r.get("from_name") == "entity"]
    assert spans and all(
        tasks[test_article].text[r["value"]["start"] : r["value"]["end"]] == r["value"]["text"]
        for r in results
        if r.get("type") == "labels"
    )

    # A second run adds nothing.
    again = suggest(workspace, project=unique_title, dataset=folder)
    assert again.uploaded == [] and again.already == 4 and again.annotated == 1
    assert len(client.tasks.get(id=tasks[test_article].id).predictions) == 1

    shown_by = client.projects.get(id=held.project)
    assert shown_by.model_version == version and shown_by.show_collab_predictions, (shown_by.model_version,)

    # The annotator opens the held-out article: the editor is pre-filled with the suggestions.
    log_in(page, label_studio.url, account.email, account.password)
    page.goto(f"{label_studio.url}/projects/{held.project}/data?task={held.id}")
    page.locator(TEXT_OBJECT).first.wait_for()
    regions = page.locator(TEXT_OBJECT).locator(REGION_SPAN)
    try:
        expect(regions.first).to_be_visible(timeout=15_000)
    except AssertionError:  # the editor sometimes opens before it has the task's predictions; open it again
        page.reload()
        page.locator(TEXT_OBJECT).first.wait_for()
        expect(regions.first).to_be_visible(timeout=15_000)
    assert regions.count() >= len(spans) * 0.9  # a span may be drawn as more than one highlight, never fewer
    expect(page.locator(TEXT_OBJECT).locator(REGION_SPAN, has_text=spans[0]).first).to_be_visible()
    screenshot(page, screenshots, "suggestions in the labelling view")


def find_id(connection, title: str) -> int:
    from annotate.labelstudio.client import find_project

    found = find_project(connection, title)
    assert found is not None
    return found.id
