"""Faults during a full pull whose pages are asked for several at a time: nothing lost, doubled or moved.

A full pull of more than one page asks Label Studio's export for ranges of task ids,
up to `IN_FLIGHT` at once. Each test injects one fault on those page requests through
the loopback proxy of tests/faults.py, in front of the session's real Label Studio.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from annotate.core.errors import AnnotateError, ConnectionFailed
from annotate.core.workspace import slugify
from annotate.labelstudio import client as client_lib
from annotate.labelstudio import pull as pull_lib
from annotate.labelstudio import server
from annotate.labelstudio.pull import pull
from tests.builders import REPO
from tests.faults import DROP, DROP_AFTER, HOLD, FaultProxy, always, first, nth
from tests.test_faults import _annotation_ids, _checkpoint, _project, _records, _through

TASKS = 340
"""Four pages of tasks: a first page and three more asked for at once."""


def _export_path(project_id: int) -> str:
    return f"/api/projects/{project_id}/export"


def _assert_everything(workspace, label_studio, title: str, project_id: int) -> None:
    ids = [r["annotation_id"] for r in _records(workspace, title)]
    assert len(ids) == len(set(ids)) == TASKS
    assert set(ids) == _annotation_ids(label_studio.connection().client, project_id)


def test_pages_asked_for_at_once_give_the_records_of_one_page_at_a_time(
    workspace, label_studio, unique_title, monkeypatch
):
    project, _ = _project(workspace, label_studio, unique_title, tasks=TASKS)
    proxy = FaultProxy(label_studio.url)
    with proxy, _through(proxy, label_studio):
        result = pull(workspace, project=unique_title, full=True)
    assert proxy.requests("GET", _export_path(project.id)) == 4  # every page asked for in id ranges
    assert result.records_written == result.total_records == TASKS
    concurrent = workspace.records_path(slugify(unique_title)).read_bytes()
    pages = sorted(p.name for p in result.raw.glob("tasks-*.json"))
    assert pages[:4] == [f"tasks-{n:05d}.json" for n in range(1, 5)]

    def one_page_at_a_time(connection, project_id, since, snapshot, task_count):
        return pull_lib._pages(connection, project_id, since, snapshot)

    monkeypatch.setattr(pull_lib, "_concurrent_pages", one_page_at_a_time)
    again = pull(workspace, project=unique_title, full=True)
    assert again.total_records == TASKS
    assert workspace.records_path(slugify(unique_title)).read_bytes() == concurrent
    _assert_everything(workspace, label_studio, unique_title, project.id)


def test_502_answers_to_pages_in_flight_are_absorbed_by_the_retries(workspace, label_studio, unique_title):
    """Injects: 502 Bad Gateway for the first three export pages, all in flight together."""
    project, _ = _project(workspace, label_studio, unique_title, tasks=TASKS)
    path = _export_path(project.id)
    proxy = FaultProxy(label_studio.url, first(3, 502, method="GET", path=path))
    with proxy, _through(proxy, label_studio):
        result = pull(workspace, project=unique_title, full=True)
    assert proxy.injected("GET", path) == 3 and proxy.requests("GET", path) == 4 + 3
    assert result.total_records == TASKS
    _assert_everything(workspace, label_studio, unique_title, project.id)


@pytest.mark.parametrize("drop", [DROP, DROP_AFTER])
def test_a_dropped_page_in_flight_is_retried_and_nothing_is_doubled(workspace, label_studio, unique_title, drop):
    """Injects: the connection of the third export page closed without an answer (before or after the server saw it)."""
    project, _ = _project(workspace, label_studio, unique_title, tasks=TASKS)
    path = _export_path(project.id)
    proxy = FaultProxy(label_studio.url, nth({3}, drop, method="GET", path=path))
    with proxy, _through(proxy, label_studio):
        result = pull(workspace, project=unique_title, full=True)
    assert proxy.injected("GET", path) == 1 and proxy.requests("GET", path) == 5
    assert result.total_records == TASKS
    _assert_everything(workspace, label_studio, unique_title, project.id)


def test_the_server_stopped_during_a_concurrent_full_pull_moves_nothing_and_the_rerun_loses_nothing(
    own_workspace, own_label_studio, unique_title
):
    """Injects: the test's own Label Studio stopped after the first page of a full pull, other pages in flight."""
    workspace, label_studio = own_workspace, own_label_studio  # a server of its own: it is stopped here
    settings = server.load_settings(label_studio.workspace)
    assert settings is not None
    project, _ = _project(workspace, label_studio, unique_title, tasks=TASKS)
    assert pull(workspace, project=unique_title).total_records == TASKS
    checkpoint = _checkpoint(workspace, unique_title).read_text()
    records_before = workspace.records_path(slugify(unique_title)).read_bytes()
    seen: list[int] = []

    def stop_the_server_after_the_first_page(step) -> None:
        seen.append(step.done)
        if len(seen) == 1:
            server.stop(label_studio.workspace)

    try:
        with pytest.raises(AnnotateError) as stopped:
            pull(workspace, project=unique_title, full=True, on_progress=stop_the_server_after_the_first_page)
    finally:
        server.start(label_studio.workspace, port=settings.port, database=settings.database)
    message = str(stopped.value)
    assert label_studio.api_key not in message and "Traceback" not in message
    assert len(seen) <= pull_lib.IN_FLIGHT + 1 and seen[0] < TASKS  # answers already in could be handed on
    assert _checkpoint(workspace, unique_title).read_text() == checkpoint
    assert workspace.records_path(slugify(unique_title)).read_bytes() == records_before

    again = pull(workspace, project=unique_title, full=True)
    assert again.total_records == TASKS
    _assert_everything(workspace, label_studio, unique_title, project.id)


def test_pages_that_never_answer_time_out_retry_then_fail_and_the_checkpoint_stays(
    workspace, label_studio, unique_title, monkeypatch
):
    """Injects: no answer at all to export pages, past the client's timeout (shortened to 2 s)."""
    project, _ = _project(workspace, label_studio, unique_title, tasks=TASKS)
    monkeypatch.setattr(client_lib, "REQUEST_TIMEOUT", 2.0)
    path = _export_path(project.id)
    proxy = FaultProxy(label_studio.url, hold=10.0)
    with proxy, _through(proxy, label_studio):
        assert pull(workspace, project=unique_title).total_records == TASKS
        checkpoint = _checkpoint(workspace, unique_title).read_text()
        records = _records(workspace, unique_title)
        proxy.rule = always(HOLD, method="GET", path=path)
        began = time.monotonic()
        with pytest.raises(ConnectionFailed) as caught:
            pull(workspace, project=unique_title, full=True)
        waited = time.monotonic() - began
    assert "did not answer in time" in str(caught.value)
    assert waited < (client_lib.RETRIES + 1) * 2.0 * 3  # it gave up after its retries, it did not hang
    assert _checkpoint(workspace, unique_title).read_text() == checkpoint
    assert _records(workspace, unique_title) == records


def test_a_full_pull_leaves_no_copy_of_the_project_in_the_embedded_servers_export_folder(
    workspace, label_studio, unique_title
):
    """Label Studio writes each export page it answers to its export folder and never removes it."""
    project, _ = _project(workspace, label_studio, unique_title, tasks=TASKS)
    folder = server.data_dir(label_studio.workspace) / "export"
    before = set(folder.iterdir())
    result = pull(workspace, project=unique_title, full=True)
    assert result.records_written == TASKS
    left = [p.name for p in set(folder.iterdir()) - before if p.name.startswith(f"project-{project.id}-at-")]
    assert left == []

    # Through another address the server is not this workspace's own: its copies are left alone.
    proxy = FaultProxy(label_studio.url)
    with proxy, _through(proxy, label_studio):
        pull(workspace, project=unique_title, full=True)
    kept = [p.name for p in set(folder.iterdir()) - before if p.name.startswith(f"project-{project.id}-at-")]
    assert len(kept) == 2 * proxy.requests("GET", _export_path(project.id)) > 0


def test_a_script_calling_pull_without_a_main_guard_is_told_what_to_add(workspace, label_studio, unique_title, tmp_path):
    """The conversion process imports the calling script again; unguarded, the script's pull runs there too."""
    _project(workspace, label_studio, unique_title, tasks=TASKS)
    script = tmp_path / "pull_them.py"
    script.write_text(
        "from pathlib import Path\n"
        "from annotate.core.workspace import Workspace\n"
        "from annotate.labelstudio.pull import pull\n"
        f"pull(Workspace(Path({str(workspace.root)!r})), project={unique_title!r}, full=True)\n",
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    ran = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=300)
    assert ran.returncode != 0
    # The pulling process says what to add (pages may reach the process after it died, or before).
    assert 'if __name__ == "__main__":' in ran.stderr.splitlines()[-1]
    assert not workspace.records_path(slugify(unique_title)).exists()  # nothing half written
