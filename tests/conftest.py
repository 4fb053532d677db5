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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses the real Label Studio, so a backend run can select them."""
    for item in items:
        if {"label_studio", "own_label_studio"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.label_studio)


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
