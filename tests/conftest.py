"""Shared fixtures: a real Label Studio server for the whole session, and throwaway workspaces.

The server is started with the project's own `annotate.labelstudio.server.start`, on a free loopback
port, with its SQLite data in a temporary folder. Its first start runs Label Studio's
migrations (about a minute); a migrated copy of the empty database is kept under
.annotate/test-template/ so that later sessions on the same machine start in seconds.
Nothing here skips: a missing Label Studio is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from annotate.labelstudio import server
from annotate.labelstudio.client import Connection, connect
from annotate.core.workspace import Workspace

from tests.builders import REPO, copy_project_files

TEMPLATE = REPO / ".annotate" / "test-template"


@dataclass
class LabelStudioServer:
    url: str
    api_key: str
    workspace: Workspace

    def connection(self) -> Connection:
        return connect(self.workspace)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _label_studio_version() -> str:
    from importlib.metadata import version

    return version("label-studio")


def _started(workspace: Workspace) -> LabelStudioServer:
    settings = server.load_settings(workspace)
    assert settings is not None and server.status(workspace).running
    return LabelStudioServer(settings.url, settings.api_key, workspace)


@pytest.fixture(scope="session")
def label_studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabelStudioServer]:
    """A real Label Studio on loopback for the whole test session."""
    workspace = copy_project_files(tmp_path_factory.mktemp("ls-workspace"))
    port = _free_port()
    database = os.environ.get("ANNOTATE_TEST_DATABASE")  # PostgreSQL, set by tests/with-postgres.sh
    template = TEMPLATE / _label_studio_version()
    restored = not database and server.restore_template(workspace, template, port)
    server.start(workspace, port=port, database=database)
    if not database and not restored:
        server.save_template(workspace, template)
    yield _started(workspace)
    server.stop(workspace)


@pytest.fixture
def own_label_studio(label_studio: LabelStudioServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabelStudioServer]:
    """A Label Studio of the test's own, for a test that stops and restarts the server.

    The session's server is never stopped, so no test depends on the order the tests run in. On SQLite
    it starts from the migrated template (seconds); on PostgreSQL it shares the session's database and
    admin account, on a port and data folder of its own.
    """
    workspace = copy_project_files(tmp_path_factory.mktemp("own-ls-workspace"))
    port = _free_port()
    if os.environ.get("ANNOTATE_TEST_DATABASE"):
        shutil.copy2(server.settings_path(label_studio.workspace), workspace.private_dir() / "server.json")
    else:
        assert server.restore_template(workspace, TEMPLATE / _label_studio_version(), port)
    server.start(workspace, port=port)
    yield _started(workspace)
    server.stop(workspace)


# The tests that run a second time on Label Studio over PostgreSQL (`make test-postgres`): those
# whose outcome the database decides — task and annotation ids, creation and update times that
# checkpoints and incremental pulls compare, concurrent writes, the export's id ranges, ground
# truths, migrations rewriting stored annotations, accounts — and the whole seed flow. The rest
# (addresses, retries, timeouts, rendering, agreement arithmetic) is the toolkit's own behaviour,
# the same whichever database Label Studio keeps. A module name with no test names takes all its
# tests; tests/test_postgresql_selection.py checks that every name here exists.
ON_POSTGRESQL_TOO: dict[str, tuple[str, ...]] = {
    "test_push": (),
    "test_pull": (),
    "test_passes": (),
    "test_adjudicate": (),
    "test_team": (),
    "test_data_safety": (
        "test_a_project_made_anew_under_the_same_title_is_refused_and_no_record_is_lost",
        "test_a_fresh_database_giving_the_same_project_id_is_told_apart_by_the_creation_time",
        "test_a_first_pull_from_an_empty_project_keeps_the_committed_records",
        "test_two_pushes_at_once_create_each_task_once",
        "test_two_pulls_at_once_lose_nothing_and_the_second_says_who_is_pulling",
        "test_differing_ground_truths_go_to_curation_and_publish_never_takes_the_latest",
    ),
    "test_faults_concurrent": (
        "test_pages_asked_for_at_once_give_the_records_of_one_page_at_a_time",
        "test_the_server_stopped_during_a_concurrent_full_pull_moves_nothing_and_the_rerun_loses_nothing",
    ),
    "test_migrate": ("test_migrate_carries_two_annotators_work_and_the_curation_over_to_the_new_scheme",),
    "test_seed": ("test_the_blind_passes_and_curation_rebuild_the_published_1_1_0",),
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses the real Label Studio, and those that run on PostgreSQL too."""
    for item in items:
        if {"label_studio", "own_label_studio"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.label_studio)
        module = getattr(item, "module", None)
        chosen = ON_POSTGRESQL_TOO.get(module.__name__.rpartition(".")[2]) if module else None
        if chosen is not None and (not chosen or getattr(item, "originalname", item.name) in chosen):
            item.add_marker(pytest.mark.postgresql)


def pytest_report_header(config: pytest.Config) -> str:
    backend = "PostgreSQL" if os.environ.get("ANNOTATE_TEST_DATABASE") else "SQLite"
    return f"Label Studio backend for this run: {backend}"


def _workspace_of(server_: LabelStudioServer, root: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    ws = copy_project_files(root)
    shutil.copy2(server.settings_path(server_.workspace), ws.private_dir() / "server.json")
    monkeypatch.delenv("LABEL_STUDIO_URL", raising=False)
    monkeypatch.delenv("LABEL_STUDIO_API_KEY", raising=False)
    monkeypatch.setenv("ANNOTATE_WORKSPACE", str(ws.root))
    return ws


@pytest.fixture
def workspace(tmp_path: Path, label_studio: LabelStudioServer, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """A throwaway copy of the project whose commands talk to the session's Label Studio."""
    return _workspace_of(label_studio, tmp_path / "project", monkeypatch)


@pytest.fixture
def own_workspace(tmp_path: Path, own_label_studio: LabelStudioServer, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """A throwaway copy of the project whose commands talk to the test's own Label Studio."""
    return _workspace_of(own_label_studio, tmp_path / "project", monkeypatch)


@pytest.fixture
def offline_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """A throwaway copy of the project for tests that need no server."""
    ws = copy_project_files(tmp_path / "project")
    monkeypatch.delenv("LABEL_STUDIO_URL", raising=False)
    monkeypatch.delenv("LABEL_STUDIO_API_KEY", raising=False)
    monkeypatch.setenv("ANNOTATE_WORKSPACE", str(ws.root))
    return ws


@pytest.fixture
def unique_title() -> str:
    return f"test {uuid.uuid4().hex[:10]}"
