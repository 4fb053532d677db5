"""`annotate agreement` against the real Label Studio: hand-counted figures, JSON, the HTML report in a browser.

Annotations are made in Label Studio by real annotator accounts (created with `team add`),
brought back with `pull`, and compared; nothing here builds records by hand.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from annotate.quality.agreement import agreement
from annotate.labelstudio.pull import pull

from .builders import REPO, annotate_in_label_studio, entity, event, new_annotators, project_with
from .helpers import assert_no_traceback, run_cli

# The session's Chromium (tests/browser.py), shared with the other browser tests: one Playwright per session.
pytest_plugins = ["tests.browser"]

SCREENSHOTS = REPO / "test-output"

# --- the crafted case --------------------------------------------------------------------

MEETING = "Kim Jong Un met Vladimir Putin in Vostochny on Wednesday."
DELIVERY = "Russia delivered shells to North Korea, Seoul said."


def crafted_case(workspace, label_studio, title: str) -> tuple[dict, list[int]]:
    """Two annotators on two articles, plus a third annotator's cancelled annotation.

    MEETING, A:  Kim Jong Un PER, Vladimir Putin PER, Vostochny FAC, Wednesday DATE;
                 met Contact.Meet (Participant Kim, Participant Vladimir Putin, Place Vostochny,
                 Time Wednesday), tense Past.
    MEETING, B:  Kim Jong Un PER, Putin PER, Vostochny GPE, Wednesday DATE;
                 met Contact.Meet (Participant Kim, Participant Putin, Place Vostochny), tense Present.
    DELIVERY, A: Russia GPE, shells WEA, North Korea GPE, Seoul GPE;
                 delivered Transaction.Transfer (Giver Russia, Artifact shells, Recipient North Korea).
    DELIVERY, B: Russia GPE, shells WEA, North Korea GPE, Seoul ORG;
                 delivered Movement.Transport (Transporter Russia, Artifact shells).
    MEETING, C:  cancelled (skipped) - must not count anywhere.
    """
    a, b, c = new_annotators(workspace, label_studio, 3)
    tasks = project_with(workspace, title, {"meeting": MEETING, "delivery": DELIVERY})
    t1, t2 = tasks["meeting"]["text"], tasks["delivery"]["text"]
    meeting = tasks["meeting"]["task"]
    annotate_in_label_studio(
        label_studio,
        meeting,
        a,
        [
            entity(t1, "a1", "Kim Jong Un", "PER"),
            entity(t1, "a2", "Vladimir Putin", "PER"),
            entity(t1, "a3", "Vostochny", "FAC"),
            entity(t1, "a4", "Wednesday", "DATE"),
        ],
        [
            event(
                t1,
                "a5",
                "met",
                "Contact.Meet",
                [("Participant", "a1"), ("Participant", "a2"), ("Place", "a3"), ("Time", "a4")],
                tense="Past",
            )
        ],
    )
    annotate_in_label_studio(
        label_studio,
        meeting,
        b,
        [
            entity(t1, "b1", "Kim Jong Un", "PER"),
            entity(t1, "b2", "Putin", "PER"),
            entity(t1, "b3", "Vostochny", "GPE"),
            entity(t1, "b4", "Wednesday", "DATE"),
        ],
        [
            event(
                t1,
                "b5",
                "met",
                "Contact.Meet",
                [("Participant", "b1"), ("Participant", "b2"), ("Place", "b3")],
                tense="Present",
            )
        ],
    )
    annotate_in_label_studio(label_studio, meeting, c, [entity(t1, "c1", "Vostochny", "LOC")], was_cancelled=True)
    delivery = tasks["delivery"]["task"]
    annotate_in_label_studio(
        label_studio,
        delivery,
        a,
        [
            entity(t2, "a1", "Russia", "GPE"),
            entity(t2, "a2", "shells", "WEA"),
            entity(t2, "a3", "North Korea", "GPE"),
            entity(t2, "a4", "Seoul", "GPE"),
        ],
        [
            event(
                t2,
                "a5",
                "delivered",
                "Transaction.Transfer",
                [("Giver", "a1"), ("Artifact", "a2"), ("Recipient", "a3")],
            )
        ],
    )
    annotate_in_label_studio(
        label_studio,
        delivery,
        b,
        [
            entity(t2, "b1", "Russia", "GPE"),
            entity(t2, "b2", "shells", "WEA"),
            entity(t2, "b3", "North Korea", "GPE"),
            entity(t2, "b4", "Seoul", "ORG"),
        ],
        [event(t2, "b5", "delivered", "Movement.Transport", [("Transporter", "b1"), ("Artifact", "b2")])],
    )
    return tasks, [a, b, c]


def test_agreement_equals_hand_counted_figures(workspace, label_studio, unique_title):
    crafted_case(workspace, label_studio, unique_title)
    pull(workspace, project=unique_title)

    report = agreement(workspace, project=unique_title).as_dict()
    overall = report["overall"]
    entities, events = overall["entities"], overall["events"]

    # Entities (A the reference). MEETING: Kim and Wednesday identical; "Vladimir Putin"/"Putin" overlap
    # (PER both); Vostochny same span, FAC/GPE. DELIVERY: Russia, shells, North Korea identical; Seoul GPE/ORG.
    # strict (span and label): 5 correct, 3 incorrect of 8 + 8 → 10/16.
    assert (entities["strict"]["correct"], entities["strict"]["incorrect"]) == (5, 3)
    assert entities["strict"]["f1"] == 0.625
    # exact (span only): 7 correct, Putin incorrect → 14/16.
    assert entities["exact"]["f1"] == 0.875
    # partial: 7 correct, Putin partial (half) → 2·7.5/16.
    assert entities["partial"]["f1"] == 0.9375
    # type (overlap, same label): Kim, Putin, Wednesday, Russia, shells, North Korea → 12/16.
    assert entities["type"]["f1"] == 0.75
    # Triggers: "met" and "delivered" identified (2 of 2); "delivered" differs in type: 2·1/(2+2).
    assert events["trigger_identification"]["f1"] == 1.0
    assert events["trigger_classification"]["f1"] == 0.5
    # Arguments, A 4 + 3, B 3 + 2. Identification (event type, target span): Meet→Kim, Meet→Vostochny
    # match; Putin's span differs; Transfer ≠ Transport. 2·2/12.
    assert events["argument_identification"]["f1"] == round(4 / 12, 4)
    assert events["argument_identification_attached"]["f1"] == round(4 / 12, 4)
    # Classification adds role and target label: Place→Vostochny is FAC for A, GPE for B, so only
    # Participant→Kim PER agrees. 2·1/12.
    assert events["argument_classification"]["f1"] == round(2 / 12, 4)
    assert events["argument_classification_attached"]["f1"] == round(2 / 12, 4)
    # Alpha over the 7 identical spans both marked: PER,PER | FAC,GPE | DATE,DATE | GPE,GPE | WEA,WEA |
    # GPE,GPE | GPE,ORG. n = 14; value counts PER 2, FAC 1, GPE 6, DATE 2, WEA 2, ORG 1 (Σn² = 50).
    # Disagreeing pairs in the coincidence matrix: 2 units × 2 = 4.
    # alpha = 1 - (n-1)·4 / (n² - Σn²) = 1 - 13·4/146 = 94/146.
    assert overall["alpha"]["entity_label"]["value"] == round(94 / 146, 4)
    # Event types over the 2 paired events: Meet,Meet | Transfer,Transport. n = 4, Σn² = 6;
    # alpha = 1 - 3·2 / (16-6) = 0.4.
    assert overall["alpha"]["event_type"]["value"] == 0.4
    # Tense over the paired events ("met", "delivered"): Past/Present, Unspecified/Unspecified.
    # n = 4, Σn² = 1+1+4; alpha = 1 - 3·2/(16-6) = 0.4; raw agreement 1 of 2 pairs.
    # Polarity: Positive throughout - a single value, so alpha is undefined.
    tense = overall["attributes"]["tense"]
    assert (tense["alpha"], tense["raw_agreement"], tense["values"]) == (
        0.4, 0.5, {"Unspecified": 2, "Past": 1, "Present": 1}
    )
    assert overall["attributes"]["polarity"]["alpha"] is None
    # Gamma is there, below 1: the annotators disagree on spans and labels.
    assert 0 < overall["entity_gamma"]["value"] < 1

    # C's cancelled annotation is nowhere: one pair, two articles.
    assert overall["pairs"] == 1 and overall["articles"] == 2 and overall["annotators"] == 2
    assert report["excluded"]["cancelled_annotations"] == 1
    assert len(report["pairs"]) == 1 and report["pairs"][0]["entities"]["strict"]["f1"] == 0.625
    # Per label: PER strict 1 of 2+2 → 0.5; type 2 of 2+2 → 1.0; Transfer triggers 0.
    assert report["entity_labels"]["PER"]["strict"]["f1"] == 0.5
    assert report["entity_labels"]["PER"]["type"]["f1"] == 1.0
    assert report["event_types"]["Contact.Meet"]["trigger_classification"]["f1"] == 1.0
    assert report["event_types"]["Contact.Meet"]["argument_classification"]["f1"] == round(2 * 1 / (4 + 3), 4)
    assert report["event_types"]["Transaction.Transfer"]["trigger_classification"]["f1"] == 0.0
    # Confusion: Vostochny FAC↔GPE, Seoul GPE↔ORG, each in both cells.
    matrix = report["confusion"]["entities"]
    cell = lambda row, col: matrix["counts"][matrix["labels"].index(row)][matrix["labels"].index(col)]  # noqa: E731
    assert cell("FAC", "GPE") == cell("GPE", "FAC") == 1
    assert cell("GPE", "ORG") == 1 and cell("GPE", "GPE") == 2
    # Lowest agreement first: DELIVERY pools strict entities 3 of 4+4, triggers 0 of 1+1, arguments 0 of 3+2.
    assert report["articles"][0]["title"] == "delivery"
    assert report["articles"][0]["f1"] == round(2 * 3 / (8 + 2 + 5), 4)
    # Every figure names its definition, and every definition is in the report.
    assert all(row["definition"] in report["definitions"] for row in report["headline"])
    assert report["bootstrap"]["seed"] == 15 and report["against_gold"] == []

    # agreement() writes nothing; the command saves what it reports.
    assert not list(workspace.agreement_dir().glob("*.json"))
    saved = run_cli("agreement", "--project", unique_title)
    assert saved.exit_code == 0, saved.output
    assert json.loads(next(workspace.agreement_dir().glob("*.json")).read_text())["overall"] == overall


def test_agreement_json_from_an_export_file(workspace, label_studio, unique_title):
    tasks, _ = crafted_case(workspace, label_studio, unique_title)
    project_id = tasks["meeting"]["project"]
    client = label_studio.connection().client
    export = workspace.root / "export.json"
    export.write_bytes(b"".join(client.projects.exports.download_sync(id=project_id, export_type="JSON")))

    result = run_cli("agreement", "--project", unique_title, "--from-file", str(export), "--format", "json")

    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data["overall"]["entities"]) == {"strict", "exact", "partial", "type"}
    assert data["overall"]["entities"]["strict"]["f1"] == 0.625
    assert data["overall"]["events"]["trigger_classification"]["f1"] == 0.5
    assert data["pairs"] and data["entity_labels"] and data["event_types"]
    assert all(row["url"].endswith(f"/projects/{project_id}/data?task={row['task_id']}") for row in data["articles"])


@pytest.mark.browser
def test_html_report_shows_its_charts_in_a_browser(browser, workspace, label_studio, unique_title):
    tasks, _ = crafted_case(workspace, label_studio, unique_title)
    pull(workspace, project=unique_title)

    result = run_cli("agreement", "--project", unique_title, "--format", "html")

    assert result.exit_code == 0, result.output
    page_path = Path(result.stdout.split("wrote ", 1)[1].strip())
    html = page_path.read_text(encoding="utf-8")
    # Self-contained: no script, stylesheet, image or frame is loaded from anywhere.
    assert not any(tag in html for tag in ("<script", "<link", "<img", "<iframe", " src="))
    SCREENSHOTS.mkdir(exist_ok=True)
    try:
        page = browser.new_page()
        page.goto(page_path.as_uri())
        bars = page.locator("svg.bars rect.bar")
        cells = page.locator("svg.heatmap rect.cell")
        assert bars.count() >= 2 * 6  # strict and type bars for the six entity labels used, and more
        assert page.locator('rect.bar[data-label="PER"][data-series="type"]').first.bounding_box()["width"] > 300
        tense = page.locator('table.attributes tr[data-attribute="tense"]')
        assert tense.is_visible() and "0.40" in tense.inner_text()
        assert page.locator('.card[data-figure="argument_classification_f1"]').inner_text().startswith(
            "Argument classification F1"
        )
        assert cells.count() >= 7 * 7
        swapped = page.locator('rect.cell[data-row="FAC"][data-col="GPE"]')
        assert swapped.get_attribute("data-count") == "1" and swapped.is_visible()
        # The session's server is on 127.0.0.1: a link would be dead for any other reader, so the task is named.
        assert label_studio.url.startswith("http://127.0.0.1:")
        row = page.locator("table.articles tr", has_text="delivery").first
        assert f"task {tasks['delivery']['task']}" in row.inner_text()
        assert page.locator("table.articles a").count() == 0
        assert label_studio.url in page.locator("p.local").inner_text()
        page.screenshot(path=str(SCREENSHOTS / "agreement-report.png"), full_page=True)
    finally:
        page.close()
    assert (SCREENSHOTS / "agreement-report.png").stat().st_size > 10_000


def test_agreement_without_a_pull_says_what_to_do(workspace, unique_title):
    result = run_cli("agreement", "--project", unique_title)

    assert result.exit_code != 0
    assert_no_traceback(result)
    assert "annotate pull" in result.stderr and unique_title in result.stderr


# --- links to tasks, where a reader can follow them ------------------------------------------


def _seed_report(server: str):
    """The seed's committed agreement report, as if made with the Label Studio at `server`."""
    from annotate.quality.agreement import AgreementReport

    data = json.loads((REPO / "exports" / "agreement" / "north-korea-russia-summits-and-arms-deals.json").read_text())
    data.pop("definitions")
    for article in data["articles"]:
        article["url"] = f"{server}/projects/1/data?task={article['task_id']}"
    return AgreementReport(**data)


def _task_cells(html: str) -> list[tuple[str | None, str]]:
    """(href or None, text) of each article cell in the table of lowest agreement."""
    from html.parser import HTMLParser

    cells: list[tuple[str | None, str]] = []

    class Cells(HTMLParser):
        table = row = cell = False
        href: str | None = None
        text = ""

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if tag == "table":
                self.table = "articles" in (attrs.get("class") or "")
            elif self.table and tag == "tr":
                self.row, self.cell = True, False
            elif self.table and self.row and tag == "td" and not self.cell:
                self.cell, self.href, self.text = True, None, ""
            elif self.cell and tag == "a":
                self.href = attrs.get("href")

        def handle_endtag(self, tag):
            if self.cell and tag == "td":
                cells.append((self.href, " ".join(self.text.split())))
                self.cell, self.row = False, False
            elif tag == "table":
                self.table = False

        def handle_data(self, data):
            if self.cell:
                self.text += data

    Cells().feed(html)
    return cells


@pytest.mark.parametrize("server", ["http://127.0.0.1:8080", "http://localhost:8081", "http://[::1]:8080",
                                    "http://0.0.0.0:8080"])
def test_a_report_made_on_a_loopback_server_names_tasks_without_dead_links(server):
    from annotate.quality.report import render_html

    report = _seed_report(server)
    cells = _task_cells(render_html(report))
    assert len(cells) == len(report.articles) > 0
    assert all(href is None for href, _ in cells), cells
    assert [text for _, text in cells] == [f"{a['title']} task {a['task_id']}" for a in report.articles]


def test_a_report_made_on_a_reachable_server_links_each_task():
    from annotate.quality.report import render_html

    report = _seed_report("https://label.example.org")
    cells = _task_cells(render_html(report))
    assert [href for href, _ in cells] == [f"https://label.example.org/projects/1/data?task={a['task_id']}"
                                           for a in report.articles]
    assert 'class="muted local"' not in render_html(report)


def test_the_committed_seed_report_has_no_link_to_a_loopback_address():
    html = (REPO / "exports" / "agreement" / "north-korea-russia-summits-and-arms-deals.html").read_text()
    assert "href=\"http://127.0.0.1" not in html and "href=\"http://localhost" not in html
    assert all(href is None for href, _ in _task_cells(html))
