"""The embedded Label Studio and how every command finds a server and its key."""

from __future__ import annotations

import contextlib
import os
import sqlite3

import pytest

from annotate.labelstudio import server
from annotate.labelstudio.client import connect
from annotate.core.errors import AuthenticationFailed, ConnectionFailed

from .helpers import assert_no_traceback, run_cli


def _listening_addresses(port: int) -> set[str]:
    """Local addresses with a listening TCP socket on `port`, read from /proc."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if int(hex_port, 16) == port and state == "0A":
                found.add(address)
    return found


def test_session_server_answers_the_sdk_on_loopback_only(label_studio):
    client = label_studio.connection().client
    me = client.users.whoami()
    assert me.email == server.ADMIN_EMAIL
    port = int(label_studio.url.rsplit(":", 1)[1])
    assert _listening_addresses(port) == {"0100007F"}  # 127.0.0.1, nothing else


def test_settings_file_is_owner_only_and_status_reports_running(label_studio):
    path = server.settings_path(label_studio.workspace)
    assert path.stat().st_mode & 0o077 == 0
    assert server.status(label_studio.workspace).running


def test_starting_twice_is_harmless(label_studio):
    again = server.start(label_studio.workspace)
    assert again.running and not again.started
    assert again.url == label_studio.url


def test_cli_server_start_on_a_running_server_prints_the_url_not_the_key(label_studio, monkeypatch):
    monkeypatch.setenv("ANNOTATE_WORKSPACE", str(label_studio.workspace.root))
    result = run_cli("server", "start")
    assert result.exit_code == 0, result.output
    assert f"already running at {label_studio.url}" in result.stdout
    assert label_studio.api_key not in result.output
    status = run_cli("server", "status")
    assert status.exit_code == 0 and "running" in status.stdout


def test_environment_points_commands_at_another_server(offline_workspace, label_studio, monkeypatch):
    # The offline workspace has no embedded server at all: only the environment names one.
    with pytest.raises(ConnectionFailed, match="annotate server start"):
        connect(offline_workspace)
    monkeypatch.setenv("LABEL_STUDIO_URL", label_studio.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", label_studio.api_key)
    connection = connect(offline_workspace)
    assert connection.url == label_studio.url
    result = run_cli("server", "status")
    assert f"Label Studio at {label_studio.url}" in result.stdout and "key accepted" in result.stdout


def test_wrong_key_is_one_sentence_and_never_printed(offline_workspace, label_studio, monkeypatch):
    wrong = "0123456789abcdef0123456789abcdef01234567"
    monkeypatch.setenv("LABEL_STUDIO_URL", label_studio.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", wrong)
    with pytest.raises(AuthenticationFailed) as caught:
        connect(offline_workspace)
    assert wrong not in str(caught.value)
    result = run_cli("server", "status")
    assert result.exit_code != 0
    assert "refused the API key" in result.stderr
    assert wrong not in result.output and wrong not in result.stderr
    assert_no_traceback(result)


def test_unreachable_server_is_one_sentence(offline_workspace, monkeypatch):
    monkeypatch.setenv("LABEL_STUDIO_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "secret-key-that-must-not-show")
    result = run_cli("server", "status")
    assert result.exit_code != 0
    assert "cannot be reached" in result.stderr
    assert "secret-key-that-must-not-show" not in result.output + result.stderr
    assert_no_traceback(result)


def test_stop_then_start_keeps_the_data(own_label_studio, unique_title):
    label_studio = own_label_studio  # a server of its own: the session's is never stopped
    client = label_studio.connection().client
    project = client.projects.create(title=unique_title)
    server.stop(label_studio.workspace)
    assert not server.status(label_studio.workspace).running
    assert server.start(label_studio.workspace).started
    client = label_studio.connection().client
    assert client.projects.get(id=project.id).title == unique_title


def test_stop_returns_once_the_server_is_gone_with_its_database_closed(own_label_studio, unique_title):
    """Feeds: a server this process started (as a test session or the demo does), written to just before the stop."""
    label_studio = own_label_studio
    pid = server.status(label_studio.workspace).pid
    assert pid
    label_studio.connection().client.projects.create(title=unique_title)
    server.stop(label_studio.workspace)
    with pytest.raises(ProcessLookupError):
        os.killpg(pid, 0)  # gone, not left in the process table for the kill that followed a long wait
    database = server.data_dir(label_studio.workspace) / "label_studio.sqlite3"
    assert not database.with_name(database.name + "-journal").exists()  # no write left half done
    with contextlib.closing(sqlite3.connect(database)) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert (unique_title,) in db.execute("SELECT title FROM project").fetchall()
    assert server.start(label_studio.workspace).started
    titles = [p.title for p in label_studio.connection().client.projects.list()]
    assert unique_title in titles
