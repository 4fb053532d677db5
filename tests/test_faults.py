"""Faults survived: every test names the fault it injects, and checks that nothing is lost or doubled.

Each runs against the real Label Studio of the session. Network faults come from the
loopback proxy in tests/faults.py, which forwards to that server and breaks chosen
requests. Elsewhere:
- the server killed in the middle of a push: tests/test_push.py
  (test_a_push_stopped_by_a_server_going_down_finishes_on_rerun_without_duplicates);
- a pull that cannot write its records: tests/test_pull.py
  (test_the_checkpoint_does_not_move_when_a_pull_fails).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from annotate.labelstudio import client as client_lib
from annotate.core import derive
from annotate.labelstudio import server
from annotate.core.corpus import load_corpus
from annotate.core.errors import AnnotateError, ConnectionFailed, PushInterrupted
from annotate.core.scheme import current_scheme
from annotate.dataset.publish import PARTIAL, publish, verify_version
from annotate.labelstudio.pull import STATE_FILE, pull
from annotate.labelstudio.push import push
from annotate.core.records import iter_records, write_records
from annotate.core.settings import load_project_settings
from annotate.core.workspace import Workspace, slugify
from tests.faults import DROP, DROP_AFTER, HOLD, FaultProxy, always, first, nth, wait_until
from tests.helpers import assert_no_traceback, run_cli

TASKS_PATH = "/api/tasks"


# --- a project with annotated tasks -------------------------------------------------------------


def _text(number: int) -> str:
    return f"Kim Jong Un met delegation {number} in Pyongyang."


def _result(text: str, *, extra: bool = False) -> list[dict[str, Any]]:
    def entity(region: str, part: str, label: str) -> dict[str, Any]:
        start = text.index(part)
        value = {"start": start, "end": start + len(part), "text": part, "labels": [label]}
        return {"id": region, "from_name": "entity", "to_name": "text", "type": "labels", "value": value}

    result = [entity("e1", "Kim Jong Un", "PER")]
    return result + [entity("e2", "Pyongyang", "GPE")] if extra else result


def _import_annotated(client: Any, project_id: int, numbers: range, user_id: int) -> None:
    tasks = [
        {
            "data": {"text": _text(n), "article_id": f"fault-{n:04d}", "title": f"Fault {n}"},
            "annotations": [{"result": _result(_text(n)), "completed_by": user_id}],
        }
        for n in numbers
    ]
    client.projects.import_tasks(id=project_id, request=tasks)


def _project(workspace: Workspace, label_studio, title: str, tasks: int) -> tuple[Any, int]:
    client = label_studio.connection().client
    config = derive.label_config(current_scheme(workspace))
    project = client.projects.create(title=title, label_config=config)
    me = client.users.whoami().id
    _import_annotated(client, project.id, range(tasks), me)
    return project, me


def _annotation_ids(client: Any, project_id: int) -> set[str]:
    """Every submitted annotation of the project, as the server has it now."""
    ids = set()
    for task in client.tasks.list(project=project_id, page_size=100, fields="all"):
        ids.update(str(a["id"] if isinstance(a, dict) else a.id) for a in task.annotations or [])
    return ids


def _records(workspace: Workspace, title: str) -> list[dict]:
    path = workspace.records_path(slugify(title))
    return list(iter_records(path)) if path.exists() else []


def _checkpoint(workspace: Workspace, title: str) -> Path:
    return workspace.project_state(slugify(title)) / STATE_FILE


@contextlib.contextmanager
def _through(proxy: FaultProxy, label_studio) -> Iterator[FaultProxy]:
    """Point the commands at the proxy, as a user points them at any server, for the block only."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(client_lib.URL_ENV, proxy.url)
        patch.setenv(client_lib.KEY_ENV, label_studio.api_key)
        yield proxy


def _assert_sentence(message: str, label_studio) -> None:
    assert label_studio.api_key not in message
    assert "Traceback" not in message and message.strip().endswith(".")


# --- the server going away ----------------------------------------------------------------------


def test_pull_with_the_server_stopped_midway_keeps_the_checkpoint_and_the_rerun_loses_nothing(
    own_workspace, own_label_studio, unique_title
):
    """Injects: the test's own Label Studio stopped during an incremental pull, after its first page."""
    workspace, label_studio = own_workspace, own_label_studio
    project, me = _project(workspace, label_studio, unique_title, tasks=30)
    client = label_studio.connection().client
    first_pull = pull(workspace, project=unique_title)
    assert first_pull.total_records == 30
    checkpoint = _checkpoint(workspace, unique_title).read_text()
    records_before = first_pull.records_path.read_bytes()

    # Changes worth three pages: new annotated tasks, one annotation updated, one deleted.
    _import_annotated(client, project.id, range(30, 250), me)
    tasks = {t.data["article_id"]: t for t in client.tasks.list(project=project.id, page_size=100, fields="all")}
    updated = tasks["fault-0000"].annotations[0]["id"]
    client.annotations.update(id=updated, result=_result(_text(0), extra=True))
    client.annotations.delete(id=tasks["fault-0001"].annotations[0]["id"])
    seen: list[int] = []

    def stop_the_server_after_the_first_page(step) -> None:
        seen.append(step.done)
        if len(seen) == 1:
            server.stop(label_studio.workspace)

    try:
        with pytest.raises(AnnotateError) as stopped:
            pull(workspace, project=unique_title, on_progress=stop_the_server_after_the_first_page)
    finally:
        server.start(label_studio.workspace)
    _assert_sentence(str(stopped.value), label_studio)
    assert "cannot be reached" in str(stopped.value) and len(seen) == 1 and seen[0] < 221
    assert _checkpoint(workspace, unique_title).read_text() == checkpoint
    assert first_pull.records_path.read_bytes() == records_before

    again = pull(workspace, project=unique_title)
    records = _records(workspace, unique_title)
    ids = [r["annotation_id"] for r in records]
    assert len(ids) == len(set(ids)) == again.total_records == 249
    assert set(ids) == _annotation_ids(label_studio.connection().client, project.id)
    by_id = {r["annotation_id"]: r for r in records}
    assert [e["label"] for e in by_id[str(updated)]["entities"]] == ["PER", "GPE"]
    assert _checkpoint(workspace, unique_title).read_text() != checkpoint


# --- 5xx, dropped connections and timeouts --------------------------------------------------------


def test_a_task_list_always_answered_503_is_retried_with_backoff_then_fails_in_one_sentence(
    workspace, label_studio, unique_title
):
    """Injects: 503 Service Unavailable for every GET of the task list."""
    _project(workspace, label_studio, unique_title, tasks=3)
    proxy = FaultProxy(label_studio.url, always(503, method="GET", path=TASKS_PATH))
    with proxy, _through(proxy, label_studio):
        result = run_cli("pull", "--project", unique_title)
    assert_no_traceback(result)
    assert result.exit_code == 1
    message = result.stderr.strip()
    _assert_sentence(message, label_studio)
    assert "answered 503" in message and "run the command again" in message.lower()
    assert proxy.requests("GET", TASKS_PATH) == client_lib.RETRIES + 1  # the first try and every retry
    assert not _checkpoint(workspace, unique_title).exists() and _records(workspace, unique_title) == []

    assert pull(workspace, project=unique_title).total_records == 3


def test_two_502_answers_are_absorbed_by_the_retries(workspace, label_studio, unique_title):
    """Injects: 502 Bad Gateway for the first two GETs of the task list."""
    project, _ = _project(workspace, label_studio, unique_title, tasks=5)
    proxy = FaultProxy(label_studio.url, first(2, 502, method="GET", path=TASKS_PATH))
    with proxy, _through(proxy, label_studio):
        result = pull(workspace, project=unique_title)
    assert proxy.injected("GET", TASKS_PATH) == 2 and proxy.requests("GET", TASKS_PATH) == 3
    ids = [r["annotation_id"] for r in _records(workspace, unique_title)]
    assert result.total_records == len(set(ids)) == 5
    assert set(ids) == _annotation_ids(label_studio.connection().client, project.id)


def test_a_dropped_connection_while_pulling_is_retried(workspace, label_studio, unique_title):
    """Injects: the connection closed without an answer on the first GET of the task list."""
    _project(workspace, label_studio, unique_title, tasks=4)
    proxy = FaultProxy(label_studio.url, first(1, DROP, method="GET", path=TASKS_PATH))
    with proxy, _through(proxy, label_studio):
        result = pull(workspace, project=unique_title)
    assert proxy.injected("GET", TASKS_PATH) == 1 and proxy.requests("GET", TASKS_PATH) == 2
    assert result.total_records == len({r["annotation_id"] for r in _records(workspace, unique_title)}) == 4


def test_a_task_list_that_never_answers_times_out_retries_then_fails_and_the_checkpoint_stays(
    workspace, label_studio, unique_title, monkeypatch
):
    """Injects: no answer at all to GETs of the task list, past the client's timeout (shortened to 2 s)."""
    _project(workspace, label_studio, unique_title, tasks=3)
    monkeypatch.setattr(client_lib, "REQUEST_TIMEOUT", 2.0)
    proxy = FaultProxy(label_studio.url, hold=10.0)
    with proxy, _through(proxy, label_studio):
        assert pull(workspace, project=unique_title).total_records == 3
        checkpoint = _checkpoint(workspace, unique_title).read_text()
        records = _records(workspace, unique_title)
        proxy.rule = always(HOLD, method="GET", path=TASKS_PATH)
        before = proxy.requests("GET", TASKS_PATH)
        with pytest.raises(ConnectionFailed) as caught:
            pull(workspace, project=unique_title, full=True)
        assert proxy.requests("GET", TASKS_PATH) - before == client_lib.RETRIES + 1
    _assert_sentence(str(caught.value), label_studio)
    assert "did not answer in time" in str(caught.value)
    assert _checkpoint(workspace, unique_title).read_text() == checkpoint
    assert _records(workspace, unique_title) == records


def test_an_import_whose_answer_is_lost_is_not_imported_twice(workspace, label_studio, unique_title):
    """Injects: the second import request reaches the server and is stored, then the connection drops."""
    expected = sorted(a.id for a in load_corpus(workspace))
    lost_answer = nth({2}, DROP_AFTER, method="POST")

    def rule(seen):
        return lost_answer(seen) if seen.path.endswith("/import") else "pass"

    proxy = FaultProxy(label_studio.url, rule)

    with proxy, _through(proxy, label_studio):
        with pytest.raises(PushInterrupted) as caught:
            push(workspace, project=unique_title, batch_size=2)
    imports = sum(n for (m, p), n in proxy.counts.items() if m == "POST" and p.endswith("/import"))
    assert imports == 2  # an import is never retried: a repeated POST would store the batch twice
    _assert_sentence(str(caught.value), label_studio)
    assert "2 of 5" in str(caught.value) and "annotate push" in str(caught.value)

    rerun = push(workspace, project=unique_title, batch_size=2)
    assert (len(rerun.skipped), len(rerun.created)) == (4, 1)
    tasks = label_studio.connection().client.tasks.list(project=rerun.project_id, page_size=100)
    assert sorted(t.data["article_id"] for t in tasks) == expected


def test_an_import_answered_500_stops_the_push_and_the_rerun_completes(
    workspace, label_studio, unique_title
):
    """Injects: 500 Internal Server Error for the first import request."""
    expected = sorted(a.id for a in load_corpus(workspace))

    def rule(seen):
        return 500 if seen.method == "POST" and seen.path.endswith("/import") and seen.number == 1 else "pass"

    proxy = FaultProxy(label_studio.url, rule)

    with proxy, _through(proxy, label_studio):
        result = run_cli("push", "--project", unique_title)
    assert_no_traceback(result)
    assert result.exit_code == 1
    _assert_sentence(result.stderr.strip(), label_studio)
    assert "answered 500" in result.stderr and "annotate push" in result.stderr
    assert sum(n for (m, p), n in proxy.counts.items() if m == "POST" and p.endswith("/import")) == 1

    rerun = push(workspace, project=unique_title)
    assert sorted(rerun.created) == expected
    tasks = label_studio.connection().client.tasks.list(project=rerun.project_id, page_size=100)
    assert sorted(t.data["article_id"] for t in tasks) == expected


# --- publish: a full disk and a signal ----------------------------------------------------------


def _history(workspace: Workspace) -> Path:
    return workspace.exports / load_project_settings(workspace).dataset.name


def _bulk_gold(workspace: Workspace, count: int) -> None:
    """`count` ground-truth records, enough that writing them takes a few seconds."""

    def record(n: int) -> dict[str, Any]:
        text = f"Kim Jong Un met delegation {n} in Pyongyang on day {n}. " * 5
        entity = {"id": "e1", "start": 0, "end": 11, "text": "Kim Jong Un", "label": "PER"}
        return {
            "article_id": f"bulk-{n:05d}", "annotation_id": f"bulk-{n}", "annotator": "a3f91c0d2e7b",
            "ground_truth": True, "cancelled": False, "text": text, "entities": [entity], "events": [],
        }

    slug = load_project_settings(workspace).project_slug
    write_records(workspace.records_path(slug), (record(n) for n in range(count)))
    write_records(workspace.gold_path(slug), ())  # adjudicated: the ground truths are the gold


@contextlib.contextmanager
def _small_disk(folder: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` mounted at `folder` (the tests run as root), unmounted however the block ends."""
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(folder)], check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "--lazy", str(folder)], check=True)


def test_publish_onto_a_disk_that_fills_up_leaves_nothing_and_the_next_run_completes(offline_workspace, tmp_path):
    """Injects: a real full disk, a 60 KiB tmpfs mounted as the --out folder (a version needs about 150 KiB)."""
    from tests.builders import write_gold_and_records

    expected = write_gold_and_records(offline_workspace)
    with _small_disk(tmp_path / "small", "60k") as small:
        result = run_cli("publish", "--version", "1.0.0", "--out", str(small))
        assert_no_traceback(result)
        assert result.exit_code == 1
        message = result.stderr.strip().splitlines()[-1]
        assert "No space left on device" in message and "nothing was published" in message
        assert list(small.iterdir()) == []  # no version and no partial folder

        subprocess.run(["mount", "-o", "remount,size=4m", str(small)], check=True)
        again = run_cli("publish", "--version", "1.0.0", "--out", str(small))
        assert again.exit_code == 0, again.stderr
        manifest, _ = verify_version(small / "1.0.0")
        assert sorted(manifest["articles"]) == sorted(expected)
        assert [p.name for p in small.iterdir()] == ["1.0.0"]


def _publish_in_a_process(workspace: Workspace, marker: Path) -> subprocess.Popen:
    """`annotate publish` in a child process that pauses after its first parquet rows (see publish_paused.py)."""
    command = [sys.executable, str(Path(__file__).with_name("publish_paused.py")), str(marker), "publish", "--version", "1.0.0"]
    env = {**os.environ, "ANNOTATE_WORKSPACE": str(workspace.root)}
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def paused_publish(workspace: Workspace) -> tuple[subprocess.Popen, Path]:
    """A publish in a child process, held still after its first parquet rows; (process, release file)."""
    marker = workspace.root.parent / "publish-paused"
    process = _publish_in_a_process(workspace, marker)
    started = wait_until(marker.exists, timeout=120)
    assert started and process.poll() is None, "the publish never got to writing rows"
    assert any(_history(workspace).glob(f"{PARTIAL}*/data/*/*.parquet")), "rows written, but not in a partial version"
    return process, marker.with_name(marker.name + ".release")


def _interrupt_midway(workspace: Workspace, signum: int) -> tuple[int, str]:
    """Start a publish, wait until its first parquet rows are on disk, send `signum`; (exit code, stderr)."""
    process, _ = paused_publish(workspace)
    try:
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return process.returncode, stderr


def test_a_publish_interrupted_by_sigint_removes_its_partial_version_and_the_next_run_completes(offline_workspace):
    """Injects: SIGINT (Ctrl-C) to an `annotate publish` process while it writes parquet."""
    _bulk_gold(offline_workspace, 3000)
    code, stderr = _interrupt_midway(offline_workspace, signal.SIGINT)
    assert code == 130 and "Interrupted" in stderr and "Traceback" not in stderr
    assert list(_history(offline_workspace).iterdir()) == []

    result = publish(offline_workspace, version="1.0.0")
    manifest, _ = verify_version(result.folder)
    assert len(manifest["articles"]) == 3000


def test_a_publish_stopped_by_sigterm_removes_its_partial_version_and_the_next_run_completes(offline_workspace):
    """Injects: SIGTERM (a service manager, `kill`) to an `annotate publish` process while it writes parquet."""
    _bulk_gold(offline_workspace, 3000)
    code, stderr = _interrupt_midway(offline_workspace, signal.SIGTERM)
    assert code == 130 and "Interrupted" in stderr and "Traceback" not in stderr
    assert list(_history(offline_workspace).iterdir()) == []

    result = publish(offline_workspace, version="1.0.0")
    manifest, _ = verify_version(result.folder)
    assert len(manifest["articles"]) == 3000
    assert [p.name for p in _history(offline_workspace).iterdir()] == ["1.0.0"]


def test_a_publish_killed_outright_shows_no_version_and_the_next_run_cleans_up_and_completes(offline_workspace):
    """Injects: SIGKILL to an `annotate publish` process while it writes parquet (it dies where it stands)."""
    _bulk_gold(offline_workspace, 3000)
    code, _ = _interrupt_midway(offline_workspace, signal.SIGKILL)
    assert code == -signal.SIGKILL
    history = _history(offline_workspace)
    assert not (history / "1.0.0").exists()
    assert [p.name.startswith(PARTIAL) for p in history.iterdir()] == [True]  # hidden, never loaded as a version

    result = publish(offline_workspace, version="1.0.0")
    manifest, _ = verify_version(result.folder)
    assert len(manifest["articles"]) == 3000
    assert [p.name for p in history.iterdir()] == ["1.0.0"]


# --- adjudication -----------------------------------------------------------------------------------


def _disputed_project(workspace: Workspace, label_studio, title: str, articles: int = 6) -> None:
    """Two annotators on each article: they agree on the even ones and label Kim Jong Un differently on the odd."""
    client = label_studio.connection().client
    project = client.projects.create(title=title, label_config=derive.label_config(current_scheme(workspace)))
    tag = title.split()[-1]
    users = [
        client.users.create(username=f"adj{n}-{tag}", email=f"adj{n}.{tag}@example.org", password=f"P-{tag}-{n}x!").id
        for n in (1, 2)
    ]
    tasks = []
    for n in range(articles):
        text = _text(n)
        other = _result(text)
        if n % 2:
            other[0]["value"]["labels"] = ["ORG"]
        # Imported annotations count as ground truth unless told otherwise, and ground truth is never disputed.
        annotations = [
            {"result": _result(text), "completed_by": users[0], "ground_truth": False},
            {"result": other, "completed_by": users[1], "ground_truth": False},
        ]
        data = {"text": text, "article_id": f"adj-{n:03d}", "title": f"Adj {n}"}
        tasks.append({"data": data, "annotations": annotations})
    client.projects.import_tasks(id=project.id, request=tasks)


def _curation_tasks(label_studio, title: str) -> list[str]:
    from annotate.quality.adjudicate import curation_title
    from annotate.labelstudio.client import find_project

    connection = label_studio.connection()
    project = find_project(connection, curation_title(title))
    if project is None:
        return []
    return sorted(t.data["article_id"] for t in connection.client.tasks.list(project=project.id, page_size=100))


def test_an_adjudication_with_the_server_stopped_midway_writes_no_gold_and_the_rerun_sends_each_dispute_once(
    own_workspace, own_label_studio, unique_title
):
    """Injects: the test's own Label Studio stopped just as adjudicate sends the disputed articles to curation."""
    workspace, label_studio = own_workspace, own_label_studio
    from annotate.quality.adjudicate import adjudicate

    _disputed_project(workspace, label_studio, unique_title)
    pull(workspace, project=unique_title)
    gold = workspace.gold_path(slugify(unique_title))

    def stop_the_server_on_the_curation_import(seen):
        if seen.method == "POST" and seen.path.endswith("/import"):
            server.stop(label_studio.workspace)
        return "pass"

    proxy = FaultProxy(label_studio.url, stop_the_server_on_the_curation_import)
    try:
        with proxy, _through(proxy, label_studio), pytest.raises(AnnotateError) as stopped:
            adjudicate(workspace, project=unique_title)
    finally:
        server.start(label_studio.workspace)
    _assert_sentence(str(stopped.value), label_studio)
    assert "cannot be reached" in str(stopped.value)
    assert not gold.exists() and _curation_tasks(label_studio, unique_title) == []

    first_run = adjudicate(workspace, project=unique_title)
    disputed = ["adj-001", "adj-003", "adj-005"]
    assert sorted(o.article_id for o in first_run.sent_to_curation) == disputed
    assert sorted(r["article_id"] for r in iter_records(gold)) == ["adj-000", "adj-002", "adj-004"]
    again = adjudicate(workspace, project=unique_title)
    assert again.sent_to_curation == [] and sorted(o.article_id for o in again.awaiting_curation) == disputed
    assert _curation_tasks(label_studio, unique_title) == disputed


def test_a_curation_import_whose_answer_is_lost_makes_no_duplicate_curation_task(
    workspace, label_studio, unique_title
):
    """Injects: the curation import reaches the server and is stored, then the connection drops."""
    from annotate.quality.adjudicate import adjudicate

    _disputed_project(workspace, label_studio, unique_title)
    pull(workspace, project=unique_title)

    def rule(seen):
        return DROP_AFTER if seen.method == "POST" and seen.path.endswith("/import") and seen.number == 1 else "pass"

    proxy = FaultProxy(label_studio.url, rule)
    with proxy, _through(proxy, label_studio):
        try:
            adjudicate(workspace, project=unique_title)
        except AnnotateError as exc:
            _assert_sentence(str(exc), label_studio)
    rerun = adjudicate(workspace, project=unique_title)
    assert rerun.sent_to_curation == []
    assert _curation_tasks(label_studio, unique_title) == ["adj-001", "adj-003", "adj-005"]
