"""`annotate pull` against the real Label Studio: records, pseudonyms, raw pages, increments, quarantine."""

from __future__ import annotations

import hashlib
import json
import stat
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from annotate.core import derive
from annotate.core.errors import ExportError, PullFailed
from annotate.core.scheme import current_scheme
from annotate.labelstudio.pseudonyms import MAPPING_FILE, load_key, pseudonym
from annotate.labelstudio.pull import STATE_FILE, pull
from annotate.core.records import iter_records
from annotate.core.exports import validate
from annotate.core.workspace import Workspace
from tests.helpers import assert_no_traceback, run_cli

EXPORTS = Path(__file__).parent / "exports"
TEXTS = [
    "Kim Jong Un will visit Vladivostok next week to meet Vladimir Putin.",
    "🚀 Пхеньян: North Korea sent shells to Russia, Seoul said.",
    "Putin arrived in Pyongyang on Wednesday.",
]
RECORD_KEYS = set(
    json.loads((Path(__file__).parent.parent / "labels" / "record.schema.json").read_text())["properties"]
)


def _span(text: str, part: str) -> dict[str, Any]:
    start = text.index(part)
    return {"start": start, "end": start + len(part), "text": part}


def _entity(region: str, text: str, part: str, label: str) -> dict[str, Any]:
    value = {**_span(text, part), "labels": [label]}
    return {"id": region, "from_name": "entity", "to_name": "text", "type": "labels", "value": value}


def _trigger(region: str, text: str, part: str, label: str) -> dict[str, Any]:
    value = {**_span(text, part), "labels": [label]}
    return {"id": region, "from_name": "trigger", "to_name": "text", "type": "labels", "value": value}


def _role(source: str, target: str, role: str) -> dict[str, Any]:
    return {"from_id": source, "to_id": target, "type": "relation", "direction": "right", "labels": [role]}


def _visit(text: str) -> list[dict[str, Any]]:
    return [
        _entity("e1", text, "Kim Jong Un", "PER"),
        _entity("e2", text, "Vladivostok", "GPE"),
        _trigger("v1", text, "visit", "Movement.Travel"),
        _role("v1", "e1", "Traveler"),
        _role("v1", "e2", "Destination"),
    ]


def _shells(text: str) -> list[dict[str, Any]]:
    # Offsets after the rocket and the Cyrillic word are code points, as Python counts them.
    return [
        _entity("e1", text, "North Korea", "GPE"),
        _entity("e2", text, "shells", "WEA"),
        _entity("e3", text, "Russia", "GPE"),
        _trigger("v1", text, "sent", "Transaction.Transfer"),
        {
            "id": "v1",
            "from_name": "tense",
            "to_name": "text",
            "type": "choices",
            "value": {**_span(text, "sent"), "choices": ["Past"]},
        },
        _role("v1", "e1", "Giver"),
        _role("v1", "e2", "Artifact"),
        _role("v1", "e3", "Recipient"),
    ]


@dataclass
class Annotated:
    """A Label Studio project with three articles annotated by two annotator accounts."""

    title: str
    project_id: int
    tasks: list[int]
    users: dict[str, int]  # e-mail → server user id
    annotations: dict[str, int]  # name → annotation id
    client: Any

    @property
    def emails(self) -> list[str]:
        return list(self.users)


@pytest.fixture
def annotated(workspace: Workspace, label_studio, unique_title: str) -> Annotated:
    client = label_studio.connection().client
    scheme = current_scheme(workspace)
    project = client.projects.create(title=unique_title, label_config=derive.label_config(scheme))
    tasks = [
        {"data": {"text": text, "article_id": f"article-{n}", "title": f"Article {n}"}} for n, text in enumerate(TEXTS)
    ]
    imported = client.projects.import_tasks(id=project.id, request=tasks, return_task_ids=True)
    task_ids = list(imported.task_ids)
    tag = uuid.uuid4().hex[:8]
    users = {}
    for name in ("ann1", "ann2"):
        email = f"{name}.{tag}@example.org"
        users[email] = client.users.create(username=f"{name}-{tag}", email=email, password=f"P-{uuid.uuid4().hex}").id
    one, two = users.values()
    made = {
        "visit-by-1": client.annotations.create(
            id=task_ids[0], result=_visit(TEXTS[0]), completed_by=one, lead_time=31.5
        ),
        "visit-by-2": client.annotations.create(id=task_ids[0], result=_visit(TEXTS[0])[:2], completed_by=two),
        "shells-by-1": client.annotations.create(
            id=task_ids[1], result=_shells(TEXTS[1]), completed_by=one, ground_truth=True
        ),
        "shells-skipped-by-2": client.annotations.create(
            id=task_ids[1], result=[], completed_by=two, was_cancelled=True
        ),
        "arrived-by-2": client.annotations.create(
            id=task_ids[2], result=[_entity("e1", TEXTS[2], "Putin", "PER")], completed_by=two
        ),
    }
    # A draft and a prediction on the third article: neither is an annotation.
    http = client._client_wrapper.httpx_client
    http.request(
        f"api/tasks/{task_ids[2]}/drafts", method="POST", json={"result": [_entity("d1", TEXTS[2], "Pyongyang", "GPE")]}
    ).raise_for_status()
    client.predictions.create(
        task=task_ids[2], result=[_entity("p1", TEXTS[2], "Pyongyang", "GPE")], model_version="draft-model"
    )
    return Annotated(unique_title, project.id, task_ids, users, {k: v.id for k, v in made.items()}, client)


def _records(workspace: Workspace, title: str) -> list[dict]:
    from annotate.core.workspace import slugify

    return list(iter_records(workspace.records_path(slugify(title))))


def _by_annotation(records: list[dict]) -> dict[int, dict]:
    return {int(r["annotation_id"]): r for r in records}


def test_pull_gives_one_record_per_annotation_with_pseudonymous_annotators(
    workspace: Workspace, annotated: Annotated
) -> None:
    result = pull(workspace, project=annotated.title)
    assert result.full
    assert (result.tasks_fetched, result.records_written, result.cancelled, result.quarantined) == (3, 5, 1, [])

    records = _by_annotation(_records(workspace, annotated.title))
    assert set(records) == set(annotated.annotations.values())  # the draft and the prediction are not records
    key = load_key(workspace)
    expected = {email: pseudonym(key, email) for email in annotated.emails}
    assert {r["annotator"] for r in records.values()} == set(expected.values())
    ids = annotated.annotations
    assert records[ids["visit-by-1"]]["annotator"] == expected[annotated.emails[0]]
    assert records[ids["arrived-by-2"]]["annotator"] == expected[annotated.emails[1]]
    assert records[ids["shells-skipped-by-2"]]["cancelled"] is True
    assert records[ids["shells-by-1"]]["ground_truth"] is True
    assert records[ids["visit-by-1"]]["lead_time"] == 31.5

    shells = records[ids["shells-by-1"]]
    assert [(e["text"], shells["text"][e["start"] : e["end"]]) for e in shells["entities"]] == [
        ("North Korea", "North Korea"),
        ("shells", "shells"),
        ("Russia", "Russia"),
    ]
    assert shells["events"][0]["attributes"] == {"tense": "Past"}
    assert sorted(a["role"] for a in shells["events"][0]["arguments"]) == ["Artifact", "Giver", "Recipient"]
    for record in records.values():
        assert set(record) <= RECORD_KEYS
    assert validate(result.records_path, workspace).valid


def test_no_email_or_user_id_under_exports_but_raw(workspace: Workspace, annotated: Annotated) -> None:
    result = pull(workspace, project=annotated.title)
    outside_raw = [
        p for p in workspace.exports.rglob("*") if p.is_file() and "raw" not in p.relative_to(workspace.exports).parts
    ]
    assert outside_raw, "the pull wrote nothing outside exports/raw/"
    for path in outside_raw:
        content = path.read_text(encoding="utf-8")
        for email in annotated.emails:
            assert email not in content, path
        assert "completed_by" not in content and "created_username" not in content and "updated_by" not in content

    mapping_path = workspace.state / MAPPING_FILE
    mapping = json.loads(mapping_path.read_text(encoding="utf-8"))
    assert set(annotated.emails) <= set(mapping.values())
    assert stat.S_IMODE(mapping_path.stat().st_mode) == 0o600
    assert stat.S_IMODE((workspace.state / "pseudonym.key").stat().st_mode) == 0o600

    # The raw pages are what the server sent (e-mails included), kept owner-only with their checksums.
    raw_pages = sorted(result.raw.glob("tasks-*.json"))
    assert raw_pages
    assert any(annotated.emails[0] in page.read_text(encoding="utf-8") for page in raw_pages)
    sums = dict(reversed(line.split("  ")) for line in (result.raw / "SHA256SUMS").read_text().splitlines())
    for page in raw_pages:
        assert sums[page.name] == hashlib.sha256(page.read_bytes()).hexdigest()
        assert stat.S_IMODE(page.stat().st_mode) == 0o600
    for folder in (workspace.exports / "raw", result.raw.parent, result.raw):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert (workspace.exports / "raw" / ".gitignore").read_text().strip() == "*"


def test_a_second_pull_fetches_nothing_new(workspace: Workspace, annotated: Annotated) -> None:
    first = pull(workspace, project=annotated.title)
    before = first.records_path.read_bytes()
    second = pull(workspace, project=annotated.title)
    assert not second.full
    assert (second.tasks_fetched, second.records_written, second.removed) == (0, 0, 0)
    assert second.total_records == 5
    assert second.records_path.read_bytes() == before


def test_an_updated_and_a_deleted_annotation_show_in_the_next_pull(workspace: Workspace, annotated: Annotated) -> None:
    pull(workspace, project=annotated.title)
    client, ids = annotated.client, annotated.annotations
    text = TEXTS[0]
    client.annotations.update(id=ids["visit-by-2"], result=[_entity("e7", text, "Vladimir Putin", "PER")])
    client.annotations.delete(id=ids["arrived-by-2"])

    result = pull(workspace, project=annotated.title)
    assert not result.full
    assert (result.tasks_fetched, result.removed, result.total_records) == (2, 1, 4)
    records = _by_annotation(_records(workspace, annotated.title))
    assert ids["arrived-by-2"] not in records
    assert [e["text"] for e in records[ids["visit-by-2"]]["entities"]] == ["Vladimir Putin"]
    assert records[ids["shells-by-1"]]["ground_truth"] is True  # the untouched task kept its records

    again = pull(workspace, project=annotated.title)
    assert (again.tasks_fetched, again.total_records) == (0, 4)


def test_a_deleted_task_takes_its_records_with_it(workspace: Workspace, annotated: Annotated) -> None:
    pull(workspace, project=annotated.title)
    annotated.client.tasks.delete(id=str(annotated.tasks[0]))
    result = pull(workspace, project=annotated.title)
    assert (result.tasks_fetched, result.removed, result.total_records) == (0, 2, 3)
    assert {r["task_id"] for r in _records(workspace, annotated.title)} == set(annotated.tasks[1:])
    again = pull(workspace, project=annotated.title)
    assert (again.removed, again.total_records) == (0, 3)


def test_full_fetches_every_task_again_whatever_the_checkpoint(workspace: Workspace, annotated: Annotated) -> None:
    first = pull(workspace, project=annotated.title)
    checkpoint = workspace.project_state(first.slug) / STATE_FILE
    state = json.loads(checkpoint.read_text())
    checkpoint.write_text(json.dumps({**state, "since": "2999-01-01T00:00:00.000000Z"}))
    assert pull(workspace, project=annotated.title).tasks_fetched == 0
    result = pull(workspace, project=annotated.title, full=True)
    assert result.full and (result.tasks_fetched, result.unchanged, result.total_records) == (3, 0, 5)


def test_the_checkpoint_does_not_move_when_a_pull_fails(workspace: Workspace, annotated: Annotated) -> None:
    first = pull(workspace, project=annotated.title)
    checkpoint = workspace.project_state(first.slug) / STATE_FILE
    saved = checkpoint.read_text()
    records_before = first.records_path.read_bytes()
    annotated.client.annotations.delete(id=annotated.annotations["arrived-by-2"])

    # The records folder cannot be written: a file stands where it should be.
    records_dir = first.records_path.parent
    moved = records_dir.with_name("records-aside")
    records_dir.rename(moved)
    records_dir.write_text("in the way\n")
    with pytest.raises(PullFailed) as caught:
        pull(workspace, project=annotated.title)
    assert "checkpoint did not move" in str(caught.value)
    assert checkpoint.read_text() == saved

    records_dir.unlink()
    moved.rename(records_dir)
    assert first.records_path.read_bytes() == records_before
    retried = pull(workspace, project=annotated.title)
    assert (retried.tasks_fetched, retried.removed, retried.total_records) == (1, 1, 4)


def test_an_invalid_annotation_is_quarantined_and_the_rest_kept(workspace: Workspace, annotated: Annotated) -> None:
    text = TEXTS[2]
    bad = _entity("e9", text, "Pyongyang", "PER")
    bad["value"]["text"] = "Pyongyan"
    wrong = annotated.client.annotations.create(
        id=annotated.tasks[2], result=[bad], completed_by=annotated.users[annotated.emails[0]]
    )

    result = pull(workspace, project=annotated.title)
    assert result.total_records == 5
    assert [(q.task, q.annotation, [p.code for p in q.problems]) for q in result.quarantined] == [
        (annotated.tasks[2], wrong.id, ["span-text"])
    ]
    entries = list(iter_records(result.quarantine_path))
    assert len(entries) == 1 and entries[0]["problems"][0]["region"] == "e9"
    assert entries[0]["record"]["annotator"] == pseudonym(load_key(workspace), annotated.emails[0])

    # Fixed in Label Studio, it leaves the quarantine at the next pull.
    annotated.client.annotations.update(id=wrong.id, result=[_entity("e9", text, "Pyongyang", "GPE")])
    fixed = pull(workspace, project=annotated.title)
    assert fixed.quarantined == [] and fixed.total_records == 6
    assert list(iter_records(fixed.quarantine_path)) == []


def _export(annotated: Annotated, *, with_users: bool) -> bytes:
    exports = annotated.client.projects.exports
    options = {"annotations__completed_by": {"only_id": False}} if with_users else None
    made = exports.create(
        annotated.project_id, title="test export", **({"serialization_options": options} if options else {})
    )
    for _ in range(600):
        if exports.get(annotated.project_id, made.id).status == "completed":
            break
        time.sleep(0.1)
    return b"".join(exports.download(annotated.project_id, made.id, export_type="JSON"))


def test_from_file_with_user_objects_matches_the_server_pull(
    workspace: Workspace, annotated: Annotated, tmp_path: Path
) -> None:
    pull(workspace, project=annotated.title)
    served = _by_annotation(_records(workspace, annotated.title))
    export = tmp_path / "project-export.json"
    export.write_bytes(_export(annotated, with_users=True))

    result = pull(workspace, project=annotated.title, from_file=export, full=True)
    assert (result.tasks_fetched, result.records_written, result.cancelled) == (3, 5, 1)
    from_file = _by_annotation(_records(workspace, annotated.title))
    assert from_file.keys() == served.keys()
    for annotation, record in from_file.items():
        original = served[annotation]
        assert record["annotator"] == original["annotator"]
        assert (record["entities"], record["events"], record["cancelled"]) == (
            original["entities"],
            original["events"],
            original["cancelled"],
        )
    assert (result.raw / export.name).read_bytes() == export.read_bytes()


def test_from_file_with_plain_ids_still_gives_pseudonyms(
    workspace: Workspace, annotated: Annotated, tmp_path: Path
) -> None:
    export = tmp_path / "ids-export.json"
    export.write_bytes(_export(annotated, with_users=False))
    result = pull(workspace, project=annotated.title, from_file=export)
    annotators = {r["annotator"] for r in _records(workspace, annotated.title)}
    key = load_key(workspace)
    assert annotators == {pseudonym(key, f"user-id:{uid}") for uid in annotated.users.values()}
    assert result.total_records == 5


def test_from_file_quarantines_a_broken_export(offline_workspace: Workspace) -> None:
    result = pull(offline_workspace, project="catalogue", from_file=EXPORTS / "unknown-label.json")
    assert result.total_records == 0
    assert [(q.task, q.annotation, [p.region for p in q.problems]) for q in result.quarantined] == [
        (101, 501, ["e-kremlin"])
    ]
    valid = pull(offline_workspace, project="catalogue", from_file=EXPORTS / "valid.json")
    assert (valid.total_records, valid.quarantined) == (1, [])
    assert list(iter_records(valid.quarantine_path)) == []
    record = next(iter_records(valid.records_path))
    assert record["annotator"] == pseudonym(load_key(offline_workspace), "ann1@example.org")


def test_from_file_refuses_what_is_not_an_export(offline_workspace: Workspace) -> None:
    with pytest.raises(ExportError):
        pull(offline_workspace, project="catalogue", from_file=EXPORTS / "empty.json")
    result = run_cli("pull", "--project", "catalogue", "--from-file", str(EXPORTS / "wrong-top-level-shape.json"))
    assert result.exit_code == 2
    assert "not a list of tasks" in result.stderr
    assert_no_traceback(result)


def test_cli_pull_prints_the_summary(workspace: Workspace, annotated: Annotated) -> None:
    result = run_cli("pull", "--project", annotated.title)
    assert result.exit_code == 0, result.output
    assert "3 task(s) fetched" in result.stdout
    assert "5 record(s) written (1 cancelled)" in result.stdout
    assert "0 quarantined" in result.stdout
    again = run_cli("pull", "--project", annotated.title)
    assert "(incremental): 0 task(s) fetched" in again.stdout


def test_cli_pull_of_an_unknown_project_is_a_sentence(workspace: Workspace, unique_title: str) -> None:
    result = run_cli("pull", "--project", unique_title)
    assert result.exit_code == 1
    assert f"no project titled {unique_title!r}" in result.stderr
    assert_no_traceback(result)
