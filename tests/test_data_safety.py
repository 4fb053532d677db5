"""Nothing lost, nothing duplicated: a replaced server, two commands at once, colliding titles, damaged files.

Each test names what it feeds and counts what a user would count: tasks in the real Label
Studio of the session and lines in the records files, before and after.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from annotate.core import derive
from annotate.core.records import iter_records
from annotate.core.scheme import current_scheme
from annotate.core.settings import load_project_settings
from annotate.core.workspace import Workspace, slugify
from annotate.labelstudio import client as client_lib
from annotate.labelstudio.client import find_project
from annotate.labelstudio.pull import STATE_FILE, pull
from annotate.labelstudio.push import push
from tests.faults import DELAY, FaultProxy, always, wait_until
from tests.helpers import assert_no_traceback, run_cli
from tests.test_team import logs_in

REPO = Path(__file__).resolve().parent.parent


# --- a project with annotated tasks -------------------------------------------------------------


def _text(number: int) -> str:
    return f"Kim Jong Un met delegation {number} in Pyongyang."


def _entity(text: str, part: str, label: str, region: str = "e1") -> dict[str, Any]:
    start = text.index(part)
    value = {"start": start, "end": start + len(part), "text": part, "labels": [label]}
    return {"id": region, "from_name": "entity", "to_name": "text", "type": "labels", "value": value}


def _project(workspace: Workspace, label_studio, title: str, tasks: int, *, first: int = 0) -> Any:
    """A project of `tasks` tasks, each with one (non ground-truth) annotation by the admin."""
    client = label_studio.connection().client
    project = client.projects.create(title=title, label_config=derive.label_config(current_scheme(workspace)))
    _annotated(client, project.id, range(first, first + tasks))
    return project


def _annotated(client: Any, project_id: int, numbers: range) -> None:
    if not numbers:
        return
    me = client.users.whoami().id
    tasks = [
        {
            "data": {"text": _text(n), "article_id": f"safe-{n:04d}", "title": f"Safe {n}"},
            "annotations": [
                {"result": [_entity(_text(n), "Kim Jong Un", "PER")], "completed_by": me, "ground_truth": False}
            ],
        }
        for n in numbers
    ]
    client.projects.import_tasks(id=project_id, request=tasks)


def _tasks(label_studio, project_id: int) -> int:
    return sum(1 for _ in label_studio.connection().client.tasks.list(project=project_id, page_size=100))


def _lines(path: Path) -> int:
    return sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip()) if path.exists() else 0


def _records_path(workspace: Workspace, title: str) -> Path:
    return workspace.records_path(slugify(title))


def _assert_sentence(result, label_studio=None) -> str:
    assert_no_traceback(result)
    message = (result.stderr or "").strip()
    assert message and "JSONDecodeError" not in message
    if label_studio is not None:
        assert label_studio.api_key not in message
    return message


# --- 1. a replaced server or project never empties the records ----------------------------------


def test_a_project_made_anew_under_the_same_title_is_refused_and_no_record_is_lost(
    workspace, label_studio, unique_title
):
    """Feeds: the project deleted and made again by `push` (as after the server's database was replaced)."""
    old = _project(workspace, label_studio, unique_title, tasks=10)
    assert pull(workspace, project=unique_title).total_records == 10
    records = _records_path(workspace, unique_title)
    before = records.read_bytes()
    label_studio.connection().client.projects.delete(id=old.id)
    pushed = push(workspace, project=unique_title)
    assert pushed.project_created and _tasks(label_studio, pushed.project_id) == 5

    result = run_cli("pull", "--project", unique_title)
    message = _assert_sentence(result, label_studio)
    assert result.exit_code == 1 and "not the one the records" in message and "--new-project" in message
    assert records.read_bytes() == before and _lines(records) == 10
    assert _tasks(label_studio, pushed.project_id) == 5


def test_a_fresh_database_giving_the_same_project_id_is_told_apart_by_the_creation_time(
    workspace, label_studio, unique_title
):
    """Feeds: a checkpoint whose project id is that of a project created after it (a fresh database reuses ids)."""
    _project(workspace, label_studio, unique_title, tasks=4)
    pull(workspace, project=unique_title)
    checkpoint_path = workspace.project_state(slugify(unique_title)) / STATE_FILE
    checkpoint = json.loads(checkpoint_path.read_text())
    other_title = f"{unique_title} fresh"
    time.sleep(2.5)  # past the whole second of the server's Date header that the checkpoint keeps
    fresh = _project(workspace, label_studio, other_title, tasks=0)
    # The records file and checkpoint of the first project, now facing a project with the id they name.
    workspace.project_state(slugify(other_title))
    records = _records_path(workspace, unique_title)
    _records_path(workspace, other_title).write_bytes(records.read_bytes())
    checkpoint.pop("created_at", None)  # as a checkpoint written before the creation time was kept
    checkpoint["project_id"] = fresh.id
    (workspace.project_state(slugify(other_title)) / STATE_FILE).write_text(json.dumps(checkpoint))

    result = run_cli("pull", "--project", other_title)
    message = _assert_sentence(result, label_studio)
    assert result.exit_code == 1 and "after the last pull" in message
    assert _lines(_records_path(workspace, other_title)) == 4


def test_a_first_pull_from_an_empty_project_keeps_the_committed_records(workspace, label_studio, unique_title):
    """Feeds: committed records (a fresh clone, no checkpoint) and a server project with no annotation."""
    records = _records_path(workspace, unique_title)
    seed = workspace.root / "exports" / "records"
    seed.mkdir(parents=True, exist_ok=True)
    committed = (REPO / "exports" / "records" / "north-korea-russia-summits-and-arms-deals.jsonl").read_bytes()
    records.write_bytes(committed)
    pushed = push(workspace, project=unique_title)
    assert _tasks(label_studio, pushed.project_id) == 5

    result = run_cli("pull", "--project", unique_title)
    message = _assert_sentence(result, label_studio)
    assert result.exit_code == 1 and "no longer has any annotation" in message
    assert records.read_bytes() == committed

    # Meant: the records are rebuilt from this project and the old ones kept, line for line.
    again = run_cli("pull", "--project", unique_title, "--full", "--new-project")
    assert again.exit_code == 0, again.stderr
    removed = workspace.removed_path(slugify(unique_title))
    kept = [entry["record"] for entry in map(json.loads, removed.read_text().splitlines())]
    assert len(kept) == committed.count(b"\n") and _lines(records) == 0
    assert [json.dumps(r, ensure_ascii=False) for r in kept] == committed.decode().splitlines()


def test_a_record_removed_by_a_pull_is_kept_in_the_removed_file(workspace, label_studio, unique_title):
    """Feeds: one annotation deleted in Label Studio between two pulls."""
    project = _project(workspace, label_studio, unique_title, tasks=3)
    pull(workspace, project=unique_title)
    client = label_studio.connection().client
    task = next(iter(client.tasks.list(project=project.id, page_size=100, fields="all")))
    gone = task.annotations[0]["id"]
    client.annotations.delete(id=gone)

    result = pull(workspace, project=unique_title)
    assert (result.removed, result.total_records) == (1, 2)
    entries = [json.loads(line) for line in result.removed_path.read_text().splitlines()]
    assert [e["record"]["annotation_id"] for e in entries] == [str(gone)]
    assert _lines(result.records_path) == 2


# --- 2. one writer at a time --------------------------------------------------------------------


def _command_in_a_process(*args: str, url: str, key: str) -> subprocess.Popen:
    command = [str(Path(sys.executable).parent / "annotate"), *args]
    env = {**os.environ, client_lib.URL_ENV: url, client_lib.KEY_ENV: key}
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_pushes_at_once_create_each_task_once(workspace, label_studio, unique_title):
    """Feeds: a second `annotate push` while a first one (through a slow link) is importing."""
    proxy = FaultProxy(label_studio.url, always(DELAY, method="POST", path="/api/projects/"), delay=6.0)
    with proxy:
        first = _command_in_a_process("push", "--project", unique_title, url=proxy.url, key=label_studio.api_key)
        try:
            assert wait_until(lambda: any(p.endswith("/import") for _, p in list(proxy.counts)), timeout=120)
            second = run_cli("push", "--project", unique_title)
            out, errors = first.communicate(timeout=180)
        finally:
            if first.poll() is None:
                first.kill()
                first.wait()
    message = _assert_sentence(second, label_studio)
    assert second.exit_code == 1 and f"pid {first.pid}" in message and "annotate push" in message
    assert first.returncode == 0, errors
    project = find_project(label_studio.connection(), unique_title)
    assert _tasks(label_studio, project.id) == 5
    rerun = push(workspace, project=unique_title)
    assert (len(rerun.created), len(rerun.skipped)) == (0, 5) and _tasks(label_studio, project.id) == 5


def test_two_pulls_at_once_lose_nothing_and_the_second_says_who_is_pulling(workspace, label_studio, unique_title):
    """Feeds: a second `annotate pull` while a first one (through a slow link) is fetching tasks."""
    _project(workspace, label_studio, unique_title, tasks=12)
    proxy = FaultProxy(label_studio.url, always(DELAY, method="GET", path="/api/tasks"), delay=4.0)
    with proxy:
        first = _command_in_a_process("pull", "--project", unique_title, url=proxy.url, key=label_studio.api_key)
        try:
            assert wait_until(lambda: proxy.requests("GET", "/api/tasks") > 0, timeout=120)
            second = run_cli("pull", "--project", unique_title)
            out, errors = first.communicate(timeout=180)
        finally:
            if first.poll() is None:
                first.kill()
                first.wait()
    message = _assert_sentence(second, label_studio)
    assert second.exit_code == 1 and f"pid {first.pid}" in message and "fix the folder" not in message
    assert first.returncode == 0, errors
    assert _lines(_records_path(workspace, unique_title)) == 12


def test_a_lock_left_by_a_dead_process_is_taken_over(workspace, label_studio, unique_title):
    """Feeds: a lock file naming a pid that no longer runs (a pull killed outright)."""
    _project(workspace, label_studio, unique_title, tasks=2)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock = workspace.private_dir("locks") / f"{slugify(unique_title)}.lock"
    lock.write_text(f"`annotate pull` (pid {dead.pid}, started 00:00:00 UTC)")
    result = run_cli("pull", "--project", unique_title)
    assert result.exit_code == 0, result.stderr
    assert _lines(_records_path(workspace, unique_title)) == 2


# --- 3. and 4. project titles -------------------------------------------------------------------


def test_titles_in_another_script_get_files_of_their_own(workspace, label_studio):
    """Feeds: two all-Cyrillic titles (both gave the slug `project`), each pulled."""
    tag = uuid.uuid4().hex[:4]
    first, second = f"Пхеньян саммит {tag}", f"Москва сделка {tag}"
    _project(workspace, label_studio, first, tasks=3)
    _project(workspace, label_studio, second, tasks=2, first=100)
    assert slugify(first) != slugify(second)
    pull(workspace, project=first)
    pull(workspace, project=second)
    assert _lines(_records_path(workspace, first)) == 3 and _lines(_records_path(workspace, second)) == 2


def test_a_title_that_gives_the_same_slug_as_another_is_refused(workspace, label_studio):
    """Feeds: `Probe X A` pulled, then `probe-x-a` (another project with the same slug)."""
    tag = uuid.uuid4().hex[:6]
    first, second = f"Probe X A {tag}", f"probe-x-a-{tag}"
    _project(workspace, label_studio, first, tasks=3)
    _project(workspace, label_studio, second, tasks=1, first=50)
    pull(workspace, project=first)
    records = _records_path(workspace, first)
    before = records.read_bytes()

    for command in (("pull",), ("push",), ("agreement",)):
        result = run_cli(*command, "--project", second)
        message = _assert_sentence(result, label_studio)
        assert result.exit_code == 2 and repr(first) in message and "Rename" in message
    assert records.read_bytes() == before and _lines(records) == 3


def test_a_pull_that_found_no_project_does_not_hold_the_slug(workspace, label_studio, unique_title):
    """Feeds: a pull of the title in capitals (no such project), then of the real title."""
    _project(workspace, label_studio, unique_title, tasks=2)
    wrong = run_cli("pull", "--project", unique_title.upper())
    message = _assert_sentence(wrong, label_studio)
    assert wrong.exit_code == 1 and "no project titled" in message
    right = run_cli("pull", "--project", unique_title)
    assert right.exit_code == 0, right.stderr
    assert _lines(_records_path(workspace, unique_title)) == 2


def test_the_committed_records_keep_their_names():
    """Feeds: the seed project's title; its records, quarantine and gold files must still be found."""
    settings = load_project_settings(Workspace(REPO))
    slug = slugify(settings.project)
    assert slug == "north-korea-russia-summits-and-arms-deals"
    assert Workspace(REPO).records_path(slug).is_file() and Workspace(REPO).gold_path(slug).is_file()
    from annotate.quality.adjudicate import curation_title

    assert Workspace(REPO).records_path(slugify(curation_title(settings.project))).is_file()


def test_a_title_with_spaces_around_it_is_one_project_however_often_it_is_pushed(workspace, label_studio, unique_title):
    """Feeds: `push --project '  T  '` twice, then `push --project T`."""
    for title in (f"  {unique_title}  ", f"  {unique_title}  ", unique_title):
        result = run_cli("push", "--project", title)
        assert result.exit_code == 0, result.stderr
    client = label_studio.connection().client
    same = [p for p in client.projects.list(title=unique_title, page_size=100) if p.title.strip() == unique_title]
    assert len(same) == 1 and _tasks(label_studio, same[0].id) == 5


@pytest.mark.parametrize("title", ["   ", "\t\n"])
def test_a_blank_title_is_refused(offline_workspace, title):
    """Feeds: a title of spaces (and one of a tab and a newline) to push and pull."""
    for command in ("push", "pull"):
        result = run_cli(command, "--project", title)
        message = _assert_sentence(result)
        assert result.exit_code == 2 and "blank" in message


# --- 5. team add ---------------------------------------------------------------------------------


def test_team_add_prints_the_good_account_before_the_refused_one_and_reset_gives_a_new_password(
    workspace, label_studio, monkeypatch
):
    """Feeds: `team add good bad` where Label Studio refuses `bad` (a one-letter top-level domain)."""
    good = f"good-{uuid.uuid4().hex[:8]}@example.org"
    bad = f"bad-{uuid.uuid4().hex[:8]}@example.c"
    result = run_cli("team", "add", good, bad)
    assert_no_traceback(result)
    assert result.exit_code == 1 and bad in result.stderr
    passwords = dict(re.findall(r"created\s+(\S+)\s+password: (\S+)", result.stdout))
    assert list(passwords) == [good] and logs_in(label_studio.url, good, passwords[good])

    again = run_cli("team", "add", good)
    assert again.exit_code == 0 and "--reset" in again.stdout

    # The embedded server's own workspace: only there can a password be reset.
    monkeypatch.setenv("ANNOTATE_WORKSPACE", str(label_studio.workspace.root))
    reset = run_cli("team", "add", good, "--reset")
    assert reset.exit_code == 0, reset.stderr
    (new,) = re.findall(rf"reset\s+{re.escape(good)}\s+password: (\S+)", reset.stdout)
    assert new != passwords[good]
    assert logs_in(label_studio.url, good, new) and not logs_in(label_studio.url, good, passwords[good])
    members = [u.email for u in label_studio.connection().client.users.list()]
    assert members.count(good) == 1 and bad not in members


def test_reset_on_a_server_that_is_not_the_embedded_one_is_refused(workspace, label_studio, monkeypatch):
    """Feeds: `team add --reset` with LABEL_STUDIO_URL pointing at another address of the server."""
    proxy = FaultProxy(label_studio.url)
    with proxy:
        monkeypatch.setenv(client_lib.URL_ENV, proxy.url)
        monkeypatch.setenv(client_lib.KEY_ENV, label_studio.api_key)
        result = run_cli("team", "add", "someone@example.org", "--reset")
    message = _assert_sentence(result, label_studio)
    assert result.exit_code == 2 and "embedded" in message


# --- 6. and 7. damaged files ----------------------------------------------------------------------


def _pulled(workspace, label_studio, title: str, tasks: int) -> Path:
    _project(workspace, label_studio, title, tasks=tasks)
    pull(workspace, project=title)
    return _records_path(workspace, title)


def _cut_last_line(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 40])


def _conflict(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join([lines[0], "<<<<<<< HEAD\n", lines[1], "=======\n", *lines[1:], ">>>>>>> other\n"]))


@pytest.mark.parametrize("damage", [_cut_last_line, _conflict], ids=["cut-short", "conflict-markers"])
def test_a_damaged_records_file_is_named_with_its_line_and_pull_full_rebuilds_it(
    workspace, label_studio, unique_title, damage
):
    """Feeds: the records file cut in its last line, or holding git conflict markers."""
    records = _pulled(workspace, label_studio, unique_title, tasks=6)
    damage(records)
    damaged = records.read_bytes()
    for command in ("pull", "adjudicate", "agreement"):
        result = run_cli(command, "--project", unique_title)
        message = _assert_sentence(result, label_studio)
        assert result.exit_code == 1 and str(records) in message and re.search(r"line \d+", message), message
        assert "pull --full" in message
    assert records.read_bytes() == damaged

    rebuilt = run_cli("pull", "--project", unique_title, "--full")
    assert rebuilt.exit_code == 0, rebuilt.stderr
    assert "Warning:" in rebuilt.stderr and "damaged line" in rebuilt.stderr
    assert _lines(records) == 6 and len({r["annotation_id"] for r in iter_records(records)}) == 6
    kept = list((workspace.project_state(slugify(unique_title)) / "damaged").iterdir())
    assert [p.read_bytes() for p in kept] == [damaged]


def test_a_damaged_quarantine_file_is_named_and_pull_full_rebuilds_it(workspace, label_studio, unique_title):
    """Feeds: git conflict markers in the quarantine file."""
    _pulled(workspace, label_studio, unique_title, tasks=2)
    quarantine = workspace.quarantine_path(slugify(unique_title))
    quarantine.write_text('{"task_id": 1, "annotation_id": "1", "problems": [], "record": null}\n<<<<<<< HEAD\n')
    result = run_cli("pull", "--project", unique_title)
    message = _assert_sentence(result, label_studio)
    assert result.exit_code == 1 and f"{quarantine} line 2" in message and "conflict marker" in message
    assert run_cli("pull", "--project", unique_title, "--full").exit_code == 0
    assert _lines(quarantine) == 0 and _lines(_records_path(workspace, unique_title)) == 2


@pytest.mark.parametrize(
    "field, value",
    [("since", "yesterday"), ("project_id", "seven"), ("tasks", ["1", "2"]), ("server", 5), ("tasks", {"x": 1})],
)
def test_a_checkpoint_with_wrong_fields_falls_back_to_a_full_pull_with_a_warning(
    workspace, label_studio, unique_title, field, value
):
    """Feeds: each field of the pull checkpoint set to a value of the wrong kind."""
    records = _pulled(workspace, label_studio, unique_title, tasks=3)
    path = workspace.project_state(slugify(unique_title)) / STATE_FILE
    checkpoint = json.loads(path.read_text())
    checkpoint[field] = value
    path.write_text(json.dumps(checkpoint))
    result = run_cli("pull", "--project", unique_title)
    assert_no_traceback(result)
    assert result.exit_code == 0, result.stderr
    assert "Warning:" in result.stderr and "checkpoint" in result.stderr and "(full)" in result.stdout
    assert _lines(records) == 3
    again = run_cli("pull", "--project", unique_title)
    assert again.exit_code == 0 and "Warning" not in again.stderr and "(incremental)" in again.stdout


# --- 13. differing ground truths ------------------------------------------------------------------


def test_the_gold_rule_takes_agreeing_ground_truths_and_never_the_latest_of_differing_ones():
    """Feeds: ground truths that say the same with other ids and times, and ones that differ."""
    from annotate.core.gold import GroundTruths, content_digest

    text = _text(1)

    def record(number: int, label: str, region: str, when: str, truth: bool = True) -> dict[str, Any]:
        span = _entity(text, "Kim Jong Un", label)["value"]
        entity = {"id": region, "start": span["start"], "end": span["end"], "text": span["text"], "label": label}
        return {
            "annotation_id": str(number), "ground_truth": truth, "updated_at": when, "entities": [entity], "events": []
        }

    same: GroundTruths[str] = GroundTruths()
    for item in (record(1, "PER", "a", "2026-01-01"), record(2, "PER", "b", "2026-01-02")):
        same.add(item, item["annotation_id"])
    assert (same.gold, same.disputed) == ("2", False)
    assert content_digest(record(1, "PER", "a", "x")) == content_digest(record(9, "PER", "zz", "y"))

    differ: GroundTruths[str] = GroundTruths()
    not_truth = record(3, "GPE", "a", "9", truth=False)
    for item in (record(1, "PER", "a", "2026-01-01"), record(2, "ORG", "a", "2026-01-02"), not_truth):
        differ.add(item, item["annotation_id"])
    assert (differ.gold, differ.disputed, differ.distinct) == (None, True, 2)


def _two_truths(workspace: Workspace, label_studio, title: str) -> Any:
    """Article gt-0: two imported annotations (ground truth by default) that differ; gt-1: two that agree."""
    client = label_studio.connection().client
    project = client.projects.create(title=title, label_config=derive.label_config(current_scheme(workspace)))
    me = client.users.whoami().id
    tasks = []
    for n, labels in enumerate((("PER", "ORG"), ("PER", "PER"))):
        text = _text(n)
        annotations = [{"result": [_entity(text, "Kim Jong Un", label)], "completed_by": me} for label in labels]
        data = {"text": text, "article_id": f"gt-{n}", "title": f"Truth {n}"}
        tasks.append({"data": data, "annotations": annotations})
    client.projects.import_tasks(id=project.id, request=tasks)
    return project


def test_differing_ground_truths_go_to_curation_and_publish_never_takes_the_latest(
    workspace, label_studio, unique_title, monkeypatch
):
    """Feeds: an export with two differing ground-truth annotations on one task."""
    from annotate.quality.adjudicate import curation_title

    _two_truths(workspace, label_studio, unique_title)
    pulled = pull(workspace, project=unique_title)
    assert pulled.total_records == 4 and all(r["ground_truth"] for r in iter_records(pulled.records_path))
    settings = workspace.root / "annotate.yaml"
    settings.write_text(settings.read_text().replace(load_project_settings(workspace).project, unique_title))

    # No gold file: publish refuses rather than building gold from the records by itself.
    before = run_cli("publish", "--version", "1.0.0")
    message = _assert_sentence(before, label_studio)
    assert before.exit_code == 1 and "no gold file" in message.lower() and "annotate adjudicate" in message

    result = run_cli("adjudicate", "--project", unique_title)
    assert result.exit_code == 0, result.stderr
    assert re.search(r"curation\s+gt-0 .*2 ground-truth annotations that differ", result.stdout), result.stdout
    assert re.search(r"gold\s+gt-1\s+by ground_truth", result.stdout)
    gold = workspace.gold_path(slugify(unique_title))
    assert [r["article_id"] for r in iter_records(gold)] == ["gt-1"]
    curation = find_project(label_studio.connection(), curation_title(unique_title))
    assert _tasks(label_studio, curation.id) == 1
    again = run_cli("adjudicate", "--project", unique_title)
    assert re.search(r"waiting\s+gt-0 .*ground-truth annotations that differ", again.stdout)
    assert _tasks(label_studio, curation.id) == 1

    published = run_cli("publish", "--version", "1.0.0")
    assert published.exit_code == 0, published.stderr
    folder = workspace.exports / load_project_settings(workspace).dataset.name / "1.0.0"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert sorted(manifest["articles"]) == ["gt-1"] and manifest["gold_from"] == {"ground_truth": 1}


def test_two_publishes_at_once_leave_one_whole_version_and_the_second_says_who_is_publishing(offline_workspace):
    """Feeds: a second `annotate publish` while a first one is writing its parquet files."""
    from annotate.dataset.publish import verify_version
    from tests.test_faults import _bulk_gold, _history, paused_publish

    _bulk_gold(offline_workspace, 3000)
    history = _history(offline_workspace)
    first, release = paused_publish(offline_workspace)  # held after its first rows until released
    try:
        second = run_cli("publish", "--version", "1.0.1")
        release.touch()
        _, errors = first.communicate(timeout=300)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    message = _assert_sentence(second)
    assert second.exit_code == 1 and f"pid {first.pid}" in message and "annotate publish" in message
    assert first.returncode == 0, errors
    assert [p.name for p in history.iterdir()] == ["1.0.0"]
    manifest, _ = verify_version(history / "1.0.0")
    assert len(manifest["articles"]) == 3000


def test_a_damaged_gold_file_is_named_with_its_line_and_the_command_that_writes_it(offline_workspace):
    """Feeds: git conflict markers in the gold file."""
    from tests.test_publish import write_gold_and_records

    write_gold_and_records(offline_workspace)
    gold = offline_workspace.gold_path(load_project_settings(offline_workspace).project_slug)
    _conflict(gold)
    result = run_cli("publish", "--version", "1.0.0")
    message = _assert_sentence(result)
    assert result.exit_code == 1 and f"{gold} line 2" in message and "annotate adjudicate" in message


def test_a_damaged_curation_records_file_names_the_pull_that_mends_it(workspace, label_studio, unique_title):
    """Feeds: the curation project's records file cut short, found while adjudicate pulls the curator's work."""
    from annotate.quality.adjudicate import adjudicate, curation_title
    from tests.test_faults import _disputed_project

    _disputed_project(workspace, label_studio, unique_title)
    pull(workspace, project=unique_title)
    adjudicate(workspace, project=unique_title)
    adjudicate(workspace, project=unique_title)  # the curation project's first pull: its records and checkpoint
    curation = _records_path(workspace, curation_title(unique_title))
    curation.write_text('{"article_id": "adj-001", "annot')
    result = run_cli("adjudicate", "--project", unique_title)
    message = _assert_sentence(result, label_studio)
    assert result.exit_code == 1 and f"{curation} line 1" in message
    assert f"annotate pull --full --project {curation_title(unique_title)!r}" in message
    repaired = run_cli("pull", "--full", "--project", curation_title(unique_title))
    assert repaired.exit_code == 0, repaired.stderr
    assert run_cli("adjudicate", "--project", unique_title).exit_code == 0
