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
from dataclasses import dataclass
from pathlib import Path

import pytest

from annotate.labelstudio import server
from annotate.labelstudio.client import Connection, connect
from annotate.core.workspace import Workspace

REPO = Path(__file__).resolve().parent.parent
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


def copy_project_files(root: Path) -> Workspace:
    """A fresh workspace with the repository's scheme, guidelines and corpus."""
    for name in ("labels", "guidelines", "corpus"):
        shutil.copytree(REPO / name, root / name)
    shutil.copy2(REPO / "annotate.yaml", root / "annotate.yaml")
    (root / "exports").mkdir()
    return Workspace(root)


def _label_studio_version() -> str:
    from importlib.metadata import version

    return version("label-studio")


@pytest.fixture(scope="session")
def label_studio(tmp_path_factory: pytest.TempPathFactory) -> LabelStudioServer:
    """A real Label Studio on loopback for the whole test session."""
    workspace = copy_project_files(tmp_path_factory.mktemp("ls-workspace"))
    port = _free_port()
    database = os.environ.get("ANNOTATE_TEST_DATABASE")  # PostgreSQL, set by tests/with-postgres.sh
    template = TEMPLATE / _label_studio_version()
    restored = not database and server.restore_template(workspace, template, port)
    state = server.start(workspace, port=port, database=database)
    if not database and not restored:
        server.save_template(workspace, template)
    settings = server.load_settings(workspace)
    assert settings is not None and state.running
    yield LabelStudioServer(settings.url, settings.api_key, workspace)
    server.stop(workspace)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses the real Label Studio, so a backend run can select them."""
    for item in items:
        if "label_studio" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.label_studio)


def pytest_report_header(config: pytest.Config) -> str:
    backend = "PostgreSQL" if os.environ.get("ANNOTATE_TEST_DATABASE") else "SQLite"
    return f"Label Studio backend for this run: {backend}"


@pytest.fixture
def workspace(tmp_path: Path, label_studio: LabelStudioServer, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """A throwaway copy of the project whose commands talk to the session's Label Studio."""
    ws = copy_project_files(tmp_path / "project")
    shutil.copy2(server.settings_path(label_studio.workspace), ws.private_dir() / "server.json")
    monkeypatch.delenv("LABEL_STUDIO_URL", raising=False)
    monkeypatch.delenv("LABEL_STUDIO_API_KEY", raising=False)
    monkeypatch.setenv("ANNOTATE_WORKSPACE", str(ws.root))
    return ws


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
