"""The embedded Label Studio: a local server on loopback with its data in the workspace.

Its settings (address, admin login, API token) live in `.annotate/server.json`, readable
by its owner only. Nothing here prints; `start` returns once the server answers.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from urllib.parse import unquote, urlparse
from dataclasses import asdict, dataclass
from pathlib import Path
from collections.abc import Callable

from annotate.core.errors import ServerError
from annotate.core.workspace import Workspace, write_private

DEFAULT_PORT = 8080
LOOPBACK = "127.0.0.1"
ADMIN_EMAIL = "admin@annotate.local"
START_TIMEOUT = 300.0


@dataclass
class ServerSettings:
    url: str
    api_key: str
    admin_email: str
    admin_password: str
    host: str = LOOPBACK
    port: int = DEFAULT_PORT
    database: str | None = None
    data_dir: str | None = None
    """The folder the server keeps its data in (written at each start; older settings lack it)."""


@dataclass
class ServerStatus:
    running: bool
    url: str | None
    pid: int | None
    data_dir: Path
    log: Path
    started: bool = False
    """True when this call started the server, False when it was already running."""


def data_dir(workspace: Workspace) -> Path:
    return workspace.private_dir("label-studio")


def settings_path(workspace: Workspace) -> Path:
    return workspace.state / "server.json"


def load_settings(workspace: Workspace) -> ServerSettings | None:
    path = settings_path(workspace)
    if not path.exists():
        return None
    try:
        return ServerSettings(**json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError) as exc:
        raise ServerError(f"{path} is damaged ({exc}). Delete it and run `annotate server start` again.") from None



def _new_settings(host: str, port: int, database: str | None) -> ServerSettings:
    return ServerSettings(
        url=f"http://{host}:{port}",
        api_key=secrets.token_hex(20),
        admin_email=ADMIN_EMAIL,
        admin_password=secrets.token_urlsafe(16),
        host=host,
        port=port,
        database=database,
    )


def _pid_path(workspace: Workspace) -> Path:
    return data_dir(workspace) / "server.pid"


def _log_path(workspace: Workspace) -> Path:
    return data_dir(workspace) / "server.log"


def _read_pid(workspace: Workspace) -> int | None:
    try:
        pid = int(_pid_path(workspace).read_text())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return pid


def healthy(url: str, timeout: float = 3.0) -> bool:
    """True when a Label Studio answers its health check at `url`."""
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/health", timeout=timeout) as response:
            return b"UP" in response.read()
    except (OSError, urllib.error.URLError, ValueError):
        return False


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def label_studio_command() -> list[str]:
    """The installed `label-studio` program, preferring the one beside this Python."""
    beside = Path(sys.executable).parent / "label-studio"
    found = str(beside) if beside.exists() else shutil.which("label-studio")
    if not found:
        raise ServerError(
            "The Label Studio server is not installed in this environment. "
            "Install it with `pip install -e '.[server]'` (or run `make demo`)."
        )
    return [found]


def status(workspace: Workspace) -> ServerStatus:
    settings = load_settings(workspace)
    pid = _read_pid(workspace)
    url = settings.url if settings else None
    running = bool(pid and url and healthy(url))
    return ServerStatus(running, url, pid if running else None, data_dir(workspace), _log_path(workspace))


# Label Studio reports to its makers unless told not to: usage analytics from the server
# (tele.labelstud.io) and from the pages (Google Tag Manager, /track beacons), error reports
# from both (Sentry), and a version check against PyPI at start. Annotators' work and browsing
# stay on this machine: every one of them is switched off. The LABEL_STUDIO_ prefix wins over
# the same names without it, so nothing in the caller's environment can turn them back on.
NO_TELEMETRY = {
    "LABEL_STUDIO_COLLECT_ANALYTICS": "false",
    "LABEL_STUDIO_SENTRY_DSN": "",
    "LABEL_STUDIO_FRONTEND_SENTRY_DSN": "",
    "LABEL_STUDIO_LATEST_VERSION_CHECK": "false",
    "LABEL_STUDIO_FEATURE_FLAGS_OFFLINE": "true",
}


def _server_env(settings: ServerSettings, folder: Path) -> dict[str, str]:
    # Label Studio has no use for the Hugging Face token: keep it out of the server's process.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LABEL_STUDIO_", "DJANGO_")) and k not in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN")
    }
    env.update(
        LABEL_STUDIO_BASE_DATA_DIR=str(folder),
        LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK="true",
        LABEL_STUDIO_USERNAME=settings.admin_email,
        LABEL_STUDIO_PASSWORD=settings.admin_password,
        LABEL_STUDIO_USER_TOKEN=settings.api_key,
        LABEL_STUDIO_HOST=settings.url,
        **NO_TELEMETRY,
    )
    if settings.database:
        env.update(_postgres_env(settings.database))
    return env


def reset_password(workspace: Workspace, email: str, password: str) -> None:
    """Give an account of the embedded server a new password, through Label Studio's own `reset_password`.

    The password goes in on standard input (never on a command line others can list).
    """
    settings = load_settings(workspace)
    if settings is None:
        raise ServerError("The embedded Label Studio has never been started here, so it has no accounts to reset.")
    env = {
        k: v
        for k, v in _server_env(settings, data_dir(workspace)).items()
        if k not in ("LABEL_STUDIO_USERNAME", "LABEL_STUDIO_PASSWORD", "LABEL_STUDIO_USER_TOKEN")
    }
    done = subprocess.run(
        label_studio_command() + ["reset_password", "--username", email],
        env=env,
        input=password + "\n",
        capture_output=True,
        text=True,
        start_new_session=True,  # no terminal: Label Studio's password prompt reads standard input
        cwd=data_dir(workspace),
        timeout=300,
        check=False,
    )
    if done.returncode != 0 or "successfully changed" not in done.stdout:
        said = " ".join((done.stdout.replace(password, "***") or "nothing").split())[-300:]
        raise ServerError(
            f"Label Studio did not reset the password of {email} (it said: {said}). "
            "Check that the account exists (`annotate team list`)."
        )


def _backend(database: str | None) -> str | None:
    """None for SQLite (also when asked for by name), else the PostgreSQL URL."""
    return None if database in (None, "", "sqlite") else database


def _postgres_env(database: str) -> dict[str, str]:
    parsed = urlparse(database)
    if parsed.scheme not in ("postgresql", "postgres") or not parsed.path.strip("/"):
        raise ServerError(f"--database must look like postgresql://user:password@host:5432/name, got {parsed.scheme}://…")
    return {
        "DJANGO_DB": "postgresql",
        "POSTGRE_NAME": parsed.path.strip("/"),
        "POSTGRE_USER": unquote(parsed.username or ""),
        "POSTGRE_PASSWORD": unquote(parsed.password or ""),
        "POSTGRE_HOST": parsed.hostname or "localhost",
        "POSTGRE_PORT": str(parsed.port or 5432),
    }


def start(
    workspace: Workspace,
    *,
    port: int | None = None,
    host: str = LOOPBACK,
    database: str | None = None,
    timeout: float = START_TIMEOUT,
    on_wait: Callable[[float], None] | None = None,
) -> ServerStatus:
    """Start the embedded Label Studio, or return at once when it already runs.

    `database` is a postgresql:// URL, or "sqlite"; None keeps the backend of the last start.
    """
    current = status(workspace)
    if current.running:
        return current
    settings = load_settings(workspace)
    if settings is None:
        settings = _new_settings(host, port or DEFAULT_PORT, _backend(database))
    else:
        # Options not given keep what the last start used: a restart must not change the backend.
        settings.port, settings.host = port or settings.port, host
        settings.database = settings.database if database is None else _backend(database)
        settings.url = f"http://{host}:{settings.port}"
    if not _port_free(settings.host, settings.port):
        raise ServerError(
            f"Port {settings.port} on {settings.host} is taken by another program. "
            "Stop it, or choose another port with `annotate server start --port N`."
        )
    folder = data_dir(workspace)
    settings.data_dir = str(folder.resolve())
    write_private(settings_path(workspace), json.dumps(asdict(settings), indent=2))
    command = label_studio_command() + [
        "start",
        "--no-browser",
        "--internal-host",
        settings.host,
        "--port",
        str(settings.port),
        "--enable-legacy-api-token",
        "--log-level",
        "WARNING",
    ]
    log = _log_path(workspace).open("ab")
    process = subprocess.Popen(
        command,
        env=_server_env(settings, folder),
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        cwd=folder,
    )
    write_private(_pid_path(workspace), str(process.pid))
    _wait_until_up(process, settings.url, _log_path(workspace), timeout, on_wait)
    return ServerStatus(True, settings.url, process.pid, folder, _log_path(workspace), started=True)


def _wait_until_up(
    process: subprocess.Popen,
    url: str,
    log: Path,
    timeout: float,
    on_wait: Callable[[float], None] | None,
) -> None:
    began = time.monotonic()
    while not healthy(url, timeout=2):
        waited = time.monotonic() - began
        if process.poll() is not None:
            raise ServerError(f"Label Studio stopped while starting (exit {process.returncode}). See its log: {log}")
        if waited > timeout:
            _terminate(process.pid)
            raise ServerError(f"Label Studio did not answer within {timeout:.0f} s. See its log: {log}")
        if on_wait:
            on_wait(waited)
        time.sleep(1)


def _terminate(pid: int, grace: float = 20.0) -> None:
    """Stop the server's process group: Ctrl-C first, so Label Studio exits the way it means to, then a kill.

    SIGINT is what Django's server takes as "quit": it leaves its serving loop and Python exits
    normally, closing the SQLite database. A server that is still there after `grace` seconds
    gets SIGTERM, then SIGKILL.
    """
    for sign, wait in ((signal.SIGINT, grace), (signal.SIGTERM, 5.0)):
        try:
            os.killpg(pid, sign)
        except ProcessLookupError:
            return
        if _wait_gone(pid, wait):
            return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    _wait_gone(pid, 5.0)


def _wait_gone(pid: int, timeout: float) -> bool:
    """Whether the process group of `pid` ended within `timeout` seconds.

    A server started by this very process (the test fixtures, `make demo`) stays in the process
    table after it exited, until it is reaped: reap it here, or it would look alive until the timeout.
    """
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # only our own child can be reaped; init reaps the others
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def stop(workspace: Workspace) -> ServerStatus:
    """Stop the embedded Label Studio if it runs; stopping a stopped server is harmless."""
    pid = _read_pid(workspace)
    if pid:
        _terminate(pid)
    _pid_path(workspace).unlink(missing_ok=True)
    settings = load_settings(workspace)
    return ServerStatus(False, settings.url if settings else None, None, data_dir(workspace), _log_path(workspace))


# --- a migrated empty database, to start new servers in seconds --------------------------------

TEMPLATE_FILES = ("label_studio.sqlite3", ".env")


def save_template(workspace: Workspace, template: Path) -> None:
    """Copy a freshly started (SQLite) server's empty database and settings into `template`.

    SQLite's backup API copies a consistent database while the server runs.
    """
    template.mkdir(parents=True, exist_ok=True, mode=0o700)
    folder = data_dir(workspace)
    with sqlite3.connect(folder / TEMPLATE_FILES[0]) as live, sqlite3.connect(template / TEMPLATE_FILES[0]) as copy:
        live.backup(copy)
    if (folder / TEMPLATE_FILES[1]).exists():
        shutil.copy2(folder / TEMPLATE_FILES[1], template / TEMPLATE_FILES[1])
    shutil.copy2(settings_path(workspace), template / "server.json")


def restore_template(workspace: Workspace, template: Path, port: int) -> bool:
    """Seed a new embedded server's data from `template` (on `port`); False when there is no template yet.

    Skips Label Studio's migrations, which take about a minute on a first start.
    """
    if not (template / TEMPLATE_FILES[0]).is_file():
        return False
    for name in TEMPLATE_FILES:
        if (template / name).exists():
            shutil.copy2(template / name, data_dir(workspace) / name)
    settings = json.loads((template / "server.json").read_text(encoding="utf-8"))
    settings.update(url=f"http://{LOOPBACK}:{port}", port=port, host=LOOPBACK, database=None)
    settings.update(data_dir=str(data_dir(workspace).resolve()))
    write_private(settings_path(workspace), json.dumps(settings))
    return True
