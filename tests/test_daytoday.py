"""Running a project day to day against the real Label Studio: status, problems back to the annotator.

Two annotators label with overlap 2: one article they dispute, one where the first annotator's
Giver points at a weapon (quarantined by pull), one the second annotator skipped. `status` must
give the same figures as counting through Label Studio's API and the records; the quarantined
annotation's problem must show in its annotator's labelling view, and go once a corrected
annotation is pulled.
"""

from __future__ import annotations

import json
import re
import uuid
from collections import Counter

import pytest
from playwright.sync_api import Page, expect

from annotate.core.records import iter_records
from annotate.core.workspace import slugify
from annotate.labelstudio.feedback import FEEDBACK_FIELD, problems_by_annotator
from annotate.labelstudio.pull import pull
from annotate.labelstudio.push import push
from annotate.labelstudio.team import team_add
from annotate.quality.adjudicate import adjudicate
from annotate.quality.status import status

from .browser import MODAL, TEXT_OBJECT, log_in, screenshot
from .helpers import assert_no_traceback, run_cli
from .test_agreement import annotate_in_label_studio, entity, event, project_with

pytest_plugins = ["tests.browser"]

MEETING = "Kim Jong Un met Vladimir Putin in Vostochny on Wednesday."
DELIVERY = "Russia delivered shells to North Korea, Seoul said."
SUMMIT = "Putin flew to Pyongyang for talks with Kim."


def _team(workspace, label_studio, count: int) -> list[tuple[str, str, int]]:
    """(e-mail, first-login password, user id) of new accounts made by `team add`."""
    accounts = team_add(workspace, [f"annotator-{uuid.uuid4().hex[:8]}@example.org" for _ in range(count)])
    ids = {u.email: u.id for u in label_studio.connection().client.users.list()}
    return [(a.email, a.password, ids[a.email]) for a in accounts]


def _delivery(text: str, prefix: str, giver: str) -> tuple[list, list]:
    entities = [
        entity(text, f"{prefix}1", "Russia", "GPE"),
        entity(text, f"{prefix}2", "shells", "WEA"),
        entity(text, f"{prefix}3", "North Korea", "GPE"),
    ]
    roles = [("Giver", f"{prefix}{giver}"), ("Artifact", f"{prefix}2"), ("Recipient", f"{prefix}3")]
    return entities, [event(text, f"{prefix}4", "delivered", "Transaction.Transfer", roles)]


def _blind(workspace, title: str, texts: dict[str, str]) -> dict:
    """These articles pushed with two annotators per task: blind, one pass project each (pass A, pass B)."""
    import shutil

    from annotate.core.corpus import article_from_text, write_article
    from annotate.labelstudio.client import connect
    from annotate.labelstudio.passes import pass_projects
    from annotate.labelstudio.push import project_tasks

    shutil.rmtree(workspace.corpus)
    articles = {name: article_from_text(text, title=name) for name, text in texts.items()}
    for article in articles.values():
        write_article(workspace.corpus, article)
    push(workspace, project=title, annotators_per_task=2)
    connection = connect(workspace)
    passes = pass_projects(connection, title)
    tasks = [project_tasks(connection, p.id) for p in passes]
    return {
        name: {
            "text": a.text,
            "article_id": a.id,
            "tasks": [t[a.id].id for t in tasks],
            "projects": [p.id for p in passes],
        }
        for name, a in articles.items()
    }


def _day(workspace, label_studio, title: str) -> dict:
    """Annotator a works in pass A, b in pass B: a dispute on the meeting, a's Giver → shells, b skips the summit."""
    (email_a, password_a, a), (email_b, _, b) = _team(workspace, label_studio, 2)
    tasks = _blind(workspace, title, {"meeting": MEETING, "delivery": DELIVERY, "summit": SUMMIT})
    t1, t2 = tasks["meeting"]["text"], tasks["delivery"]["text"]
    (meeting_a, meeting_b), (delivery_a, delivery_b) = tasks["meeting"]["tasks"], tasks["delivery"]["tasks"]
    annotate_in_label_studio(label_studio, meeting_a, a, [entity(t1, "a1", "Vostochny", "FAC")])
    annotate_in_label_studio(label_studio, meeting_b, b, [entity(t1, "b1", "Vostochny", "GPE")])
    bad = annotate_in_label_studio(label_studio, delivery_a, a, *_delivery(t2, "a", giver="2"))  # Giver → shells
    annotate_in_label_studio(label_studio, delivery_b, b, *_delivery(t2, "b", giver="1"))
    annotate_in_label_studio(label_studio, tasks["summit"]["tasks"][1], b, was_cancelled=True)
    pulled = pull(workspace, project=title)
    assert len(pulled.quarantined) == 1 and pulled.feedback_written == 1
    adjudicate(workspace, project=title)
    return {"tasks": tasks, "a": (email_a, password_a, a), "b": email_b, "bad": bad, "pulled": pulled}


def _api_counts(label_studio, project_ids: list[int]) -> dict:
    """What Label Studio's API says, counted the long way: every task of every pass with every annotation."""
    client = label_studio.connection().client
    done, skipped, tasks, per_user = 0, 0, 0, Counter()
    for project_id in project_ids:
        listed = list(client.tasks.list(project=project_id, fields="all"))
        tasks = max(tasks, len(listed))
        for task in listed:
            users = set()
            for annotation in task.annotations or []:
                cancelled = annotation["was_cancelled"] if isinstance(annotation, dict) else annotation.was_cancelled
                author = annotation["completed_by"] if isinstance(annotation, dict) else annotation.completed_by
                users.add(author.get("id") if isinstance(author, dict) else author)
                skipped += bool(cancelled)
                done += not cancelled
            per_user.update(users)
    return {"tasks": tasks, "done": done, "skipped": skipped, "per_user": per_user}


def test_status_figures_equal_the_api_and_the_records(workspace, label_studio, unique_title):
    day = _day(workspace, label_studio, unique_title)
    email_a, _, a = day["a"]

    state = status(workspace, project=unique_title)

    counted = _api_counts(label_studio, day["tasks"]["meeting"]["projects"])
    records = list(iter_records(workspace.records_path(slugify(unique_title))))
    server = state.server
    assert server.answered and server.project_found and server.passes == 2
    assert (server.tasks, server.overlap) == (counted["tasks"], 2) == (3, 2)
    assert (server.annotations, server.skipped) == (counted["done"], counted["skipped"]) == (4, 1)
    assert (server.done_towards_overlap, server.target) == (4, 6)
    assert server.changed_since_pull == 0  # writing the problem into the task did not make it look changed
    assert (server.disputes_open, server.disputes_settled) == (1, 0)
    assert state.articles == 3 and state.gold == 0 and state.quarantined == 1
    assert state.records == sum(not r["cancelled"] for r in records) == 3
    rows = {row.email: row for row in state.annotators}
    assert (rows[email_a].done, rows[email_a].skipped, rows[email_a].quarantined) == (1, 0, 1)
    assert (rows[day["b"]].done, rows[day["b"]].skipped, rows[day["b"]].quarantined) == (2, 1, 0)
    assert rows[email_a].tasks_on_server == counted["per_user"][a] == 2
    assert rows[day["b"]].tasks_on_server == 3
    assert {r.pseudonym for r in state.annotators} == {r["annotator"] for r in records}
    assert state.next_step.startswith("annotate validate --by-annotator")

    shown = run_cli("status", "--project", unique_title)
    assert_no_traceback(shown)
    assert shown.exit_code == 0, shown.output
    assert "4/6" in shown.stdout and "1 open, 0 settled" in shown.stdout and email_a in shown.stdout
    as_json = run_cli("status", "--project", unique_title, "--format", "json")
    assert json.loads(as_json.stdout)["server"]["target"] == 6

    # The Data Manager filter an annotator sets to list their own tasks with problems finds exactly that task.
    mine = {"filter": "filter:tasks:data.feedback", "operator": "contains", "type": "String", "value": "problem"}
    query = json.dumps({"filters": {"conjunction": "and", "items": [mine]}})
    client = label_studio.connection().client
    found = list(client.tasks.list(project=day["tasks"]["delivery"]["projects"][0], query=query))
    assert [t.id for t in found] == [day["tasks"]["delivery"]["tasks"][0]]

    by_annotator = problems_by_annotator(workspace, project=unique_title)
    assert [(r.email, len(r.problems)) for r in by_annotator] == [(email_a, 1)]
    assert "Giver" in by_annotator[0].problems[0].message and "WEA" in by_annotator[0].problems[0].message
    listed = run_cli("validate", "--by-annotator", "--project", unique_title)
    assert listed.exit_code == 1 and email_a in listed.stdout and "Giver" in listed.stdout


def test_status_says_the_server_did_not_answer_and_what_the_files_know(
    workspace, label_studio, unique_title, monkeypatch
):
    _day(workspace, label_studio, unique_title)
    monkeypatch.setenv("LABEL_STUDIO_URL", "http://127.0.0.1:9")  # nothing listens on the discard port
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "not-a-key")

    state = status(workspace, project=unique_title)

    assert not state.server.answered and "cannot be reached" in (state.server.reason or "")
    assert (state.articles, state.records, state.quarantined) == (3, 3, 1)
    assert state.next_step.startswith("annotate server start")
    shown = run_cli("status", "--project", unique_title)
    assert_no_traceback(shown)
    assert shown.exit_code == 1 and "did not answer" in shown.stdout and "local files only" in shown.stdout
    assert "not-a-key" not in shown.output


@pytest.mark.browser
def test_annotator_sees_their_problem_in_the_labelling_view_until_a_corrected_annotation_is_pulled(
    workspace, label_studio, unique_title, page: Page, screenshots
):
    day = _day(workspace, label_studio, unique_title)
    email_a, password_a, _ = day["a"]
    delivery = day["tasks"]["delivery"]
    task_a, project_a = delivery["tasks"][0], delivery["projects"][0]
    client = label_studio.connection().client
    assert "Giver" in client.tasks.get(id=task_a).data[FEEDBACK_FIELD]
    assert not client.tasks.get(id=delivery["tasks"][1]).data.get(FEEDBACK_FIELD)  # b's pass: nothing wrong

    log_in(page, label_studio.url, email_a, password_a)
    view = f"{label_studio.url}/projects/{project_a}/data?task={task_a}"
    page.goto(view)
    _past_instructions(page)
    problem = page.get_by_text(re.compile(r"Your last submission has 1 problem.*Transaction.Transfer Giver may point"))
    expect(problem).to_be_visible()
    expect(problem).to_contain_text("not at 'shells' labelled 'WEA'")  # the words, not a region id
    screenshot(page, screenshots, "problem shown")

    # The annotator corrects Giver to point at Russia; the next pull validates it and clears the field.
    text = delivery["text"]
    fixed = _delivery(text, "a", giver="1")
    from annotate.core.records import record_to_results

    client.annotations.update(id=day["bad"], result=record_to_results({"entities": fixed[0], "events": fixed[1]}))
    again = pull(workspace, project=unique_title)
    assert again.quarantined == [] and again.feedback_written == 1
    assert client.tasks.get(id=task_a).data[FEEDBACK_FIELD] == ""
    assert problems_by_annotator(workspace, project=unique_title) == []

    page.goto(view)
    _past_instructions(page)
    expect(page.get_by_text("Giver may point at")).to_have_count(0)
    screenshot(page, screenshots, "problem gone")


def _past_instructions(page: Page) -> None:
    page.locator(TEXT_OBJECT).first.wait_for()
    close = page.get_by_role("button", name="Close modal")
    if page.locator(MODAL).count() and close.count():
        close.first.click()


def test_curation_tasks_come_out_in_increasing_agreement_with_the_kind_of_disagreement(
    workspace, label_studio, unique_title
):
    from annotate.core.corpus import article_id_for

    (_, _, a), (_, _, b) = _team(workspace, label_studio, 2)
    texts = ["Kim met Putin in Vostochny.", "Shoigu met Kim in Pyongyang.", "Lavrov met Choe in Moscow."]
    # The article with the highest id gets the worst disagreement, so id order is not agreement order.
    mild, medium, worst = sorted(texts, key=article_id_for)
    tasks = project_with(workspace, unique_title, {"mild": mild, "medium": medium, "worst": worst})

    def marks(name: str, prefix: str, place_label: str = "GPE", tense: str = "Past", everything: bool = True):
        text = tasks[name]["text"]
        words = text.rstrip(".").replace(" met ", " ").replace(" in ", " ").split()
        entities = [entity(text, f"{prefix}1", words[0], "PER")]
        if everything:
            entities += [entity(text, f"{prefix}2", words[1], "PER"), entity(text, f"{prefix}3", words[2], place_label)]
        events = [event(text, f"{prefix}4", "met", "Contact.Meet", tense=tense)] if everything else []
        annotate_in_label_studio(label_studio, tasks[name]["task"], a if prefix == "a" else b, entities, events)

    for name in ("mild", "medium", "worst"):
        marks(name, "a")
    marks("mild", "b", tense="Present")  # attributes only
    marks("medium", "b", place_label="FAC")  # one entity's type
    marks("worst", "b", everything=False)  # spans: b marked one name and no event
    pull(workspace, project=unique_title)

    result = adjudicate(workspace, project=unique_title)

    sent = result.sent_to_curation
    assert [o.article_id for o in sent] == [tasks[n]["article_id"] for n in ("worst", "medium", "mild")]
    assert [o.agreement for o in sent] == sorted(o.agreement for o in sent) and sent[0].agreement < sent[1].agreement
    assert [o.disagreement for o in sent] == [("spans",), ("types",), ("attributes",)]
    # In Label Studio the curation tasks' order (by id, the label stream's order) is the same, each showing its kind.
    client = label_studio.connection().client
    curation = int(result.curation_url.rsplit("/", 1)[1])
    made = sorted(client.tasks.list(project=curation), key=lambda t: t.id)
    assert [t.data["article_id"] for t in made] == [o.article_id for o in sent]
    assert [t.data["agreement"] for t in made] == sorted(t.data["agreement"] for t in made)
    assert [t.data["disagreement"] for t in made] == ["spans", "types", "attributes"]
    assert re.search(r"Agreement 0\.\d\d; they disagree on types\.$", made[1].data["disputes"]), made[1].data["disputes"]


def test_validate_by_annotator_groups_a_files_problems_under_each_annotator(offline_workspace):
    from annotate.labelstudio.pseudonyms import identity, load_key, pseudonym

    from .test_validate import EXPORTS

    export = EXPORTS / "role-disallowed-target.json"
    rows = problems_by_annotator(offline_workspace, export)

    expected = pseudonym(load_key(offline_workspace), identity({"id": 2, "email": "ann1@example.org"}))
    assert [(r.pseudonym, r.email) for r in rows] == [(expected, "ann1@example.org")]
    assert [p.code for p in rows[0].problems] == ["role-target-type"]
    shown = run_cli("validate", str(export), "--by-annotator", "--format", "json")
    assert shown.exit_code == 1
    assert json.loads(shown.stdout)[0]["problems"][0]["annotation"] == 501
    clean = run_cli("validate", "--by-annotator")  # no pull yet: nothing quarantined
    assert clean.exit_code == 0 and "0 problem(s) by 0 annotator(s)" in clean.stdout


def test_problems_not_shown_for_a_server_error_are_shown_by_the_next_pull(workspace, label_studio, unique_title):
    """Injects: 503 for every PATCH of a task while pull writes the problems back."""
    from annotate.labelstudio.pull import Checkpoint

    from .faults import FaultProxy, always
    from .test_faults import _through

    ((_, _, a),) = _team(workspace, label_studio, 1)
    from annotate.labelstudio.passes import pass_title

    tasks = _blind(workspace, unique_title, {"delivery": DELIVERY})
    delivery = tasks["delivery"]
    task_a = delivery["tasks"][0]
    annotate_in_label_studio(label_studio, task_a, a, *_delivery(delivery["text"], "a", giver="2"))
    proxy = FaultProxy(label_studio.url, always(503, method="PATCH", path="/api/tasks/"))
    with proxy, _through(proxy, label_studio):
        shown = run_cli("pull", "--project", unique_title)

    assert_no_traceback(shown)
    assert proxy.injected("PATCH", "/api/tasks/") >= 1
    assert "could not be shown in Label Studio" in shown.stderr and "tries again" in shown.stderr
    assert len(list(iter_records(workspace.quarantine_path(slugify(unique_title))))) == 1  # the records are written
    assert Checkpoint.load(workspace, slugify(pass_title(unique_title, 1))) is not None  # pass B had nothing to show
    assert Checkpoint.load(workspace, slugify(pass_title(unique_title, 0))) is None  # pass A is fetched again
    client = label_studio.connection().client
    assert not client.tasks.get(id=task_a).data.get(FEEDBACK_FIELD)

    again = pull(workspace, project=unique_title)
    assert again.feedback_error is None and again.feedback_written == 1
    assert "Giver" in client.tasks.get(id=task_a).data[FEEDBACK_FIELD]


def test_the_next_step_follows_where_the_project_stands():
    from dataclasses import replace

    from annotate.quality.status import ServerStatus, Status, next_step

    server = ServerStatus(url="http://127.0.0.1:8080", answered=True, project_found=True, tasks=3, overlap=2)
    base = Status("p", articles=3, records=6, quarantined=0, gold=0, last_pull="t", server=server)

    def step(**changes) -> str:
        return next_step(replace(base, server=replace(server, **changes.pop("server", {})), **changes))

    assert step(server={"answered": False}).startswith("annotate server start")
    assert step(server={"project_found": False}) == "annotate push"
    assert step(articles=4) == "annotate push"  # an article not in Label Studio yet
    assert step(server={"changed_since_pull": 1}) == "annotate pull"
    assert step(quarantined=1).startswith("annotate validate --by-annotator")
    assert step(server={"disputes_open": 1, "done_towards_overlap": 6}).startswith("wait: the curator")
    assert step(server={"done_towards_overlap": 5}).startswith("wait: annotators label")
    assert step(server={"done_towards_overlap": 6}) == "annotate adjudicate"
    assert step(server={"done_towards_overlap": 6}, gold=3) == "annotate publish --bump minor"
