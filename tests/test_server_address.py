"""Where commands connect: a key only for its own server, an address that is no web address, a server that is
not Label Studio, and credentials inside LABEL_STUDIO_URL never shown.

A small capture server on loopback stands for "some other server": it records every request's
headers and answers each one with an HTML page (status chosen per test), as a router, a web app
or a wrong port would. The embedded server is the session's real Label Studio.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.helpers import assert_no_traceback, run_cli

PAGE = b"<!doctype html><html><head><title>Router admin</title></head><body>" + b"<p>Welcome</p>" * 200 + b"</body></html>"


@dataclass
class Capture:
    url: str
    status: int = 200
    body: bytes = PAGE
    content_type: str = "text/html; charset=utf-8"
    requests: list[dict[str, str]] = field(default_factory=list)

    def headers_text(self) -> str:
        return "\n".join(f"{k}: {v}" for request in self.requests for k, v in request.items())


@pytest.fixture
def capture() -> Iterator[Capture]:
    """An HTTP server on loopback that is not Label Studio: it records headers and answers HTML."""
    recorded = Capture("")

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            recorded.requests.append({"path": self.path, **dict(self.headers.items())})
            self.send_response(recorded.status)
            self.send_header("Content-Type", recorded.content_type)
            self.send_header("Content-Length", str(len(recorded.body)))
            self.end_headers()
            self.wfile.write(recorded.body)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    recorded.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield recorded
    server.shutdown()
    server.server_close()


def _one_line_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


# --- item: the embedded key goes only to the embedded server ------------------------------------------


@pytest.mark.parametrize("command", [["pull", "--project", "anything"], ["server", "status"], ["push", "--project", "x y z"]])
def test_the_embedded_key_is_never_sent_to_another_server(workspace, label_studio, capture, monkeypatch, command):
    """Feeds: LABEL_STUDIO_URL naming a foreign server (the capture server) and no LABEL_STUDIO_API_KEY."""
    monkeypatch.setenv("LABEL_STUDIO_URL", capture.url)
    result = run_cli(*command)
    assert_no_traceback(result)
    assert result.exit_code == 1
    assert label_studio.api_key not in capture.headers_text()
    assert not any("Authorization" in request for request in capture.requests)
    line = _one_line_error(result.stderr)
    assert "no key was given" in line and capture.url in line and label_studio.api_key not in result.output


def test_the_embedded_server_named_by_another_spelling_still_gets_its_key(workspace, label_studio, monkeypatch):
    """Feeds: LABEL_STUDIO_URL set to the embedded server as http://localhost:PORT/ (not 127.0.0.1) and no key."""
    port = label_studio.url.rsplit(":", 1)[1]
    monkeypatch.setenv("LABEL_STUDIO_URL", f"http://localhost:{port}/")
    result = run_cli("server", "status")
    assert_no_traceback(result)
    assert result.exit_code == 0 and "key accepted" in result.stdout, result.stderr


# --- item: an address that is no web address, a server that is not Label Studio -------------------------


@pytest.mark.parametrize("url", ["localhost:8080", "127.0.0.1", "ftp://127.0.0.1:8080", "http://", "http://127.0.0.1:80a"])
def test_a_label_studio_url_that_is_no_web_address_is_one_sentence(workspace, monkeypatch, url):
    """Feeds: LABEL_STUDIO_URL without a scheme, with another scheme, without a host, with a port that is no number."""
    monkeypatch.setenv("LABEL_STUDIO_URL", url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "some-token")
    result = run_cli("pull", "--project", "anything")
    assert_no_traceback(result)
    assert result.exit_code == 1
    line = _one_line_error(result.stderr)
    assert "LABEL_STUDIO_URL" in line and "http://" in line and "not a web address" in line


@pytest.mark.parametrize("status", [200, 404, 403])
def test_a_server_that_is_not_label_studio_is_named_in_one_line_without_its_html(workspace, capture, monkeypatch, status):
    """Feeds: LABEL_STUDIO_URL and a key pointing at a web server that answers every path with an HTML page
    (status 200 as a single-page app does, 404, 403)."""
    capture.status = status
    monkeypatch.setenv("LABEL_STUDIO_URL", capture.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "some-token")
    for command in (["pull", "--project", "anything"], ["server", "status"]):
        result = run_cli(*command)
        assert_no_traceback(result)
        assert result.exit_code == 1
        line = _one_line_error(result.stderr)
        assert f"Reached {capture.url}" in line and f"answered {status} with an HTML page" in line, line
        assert '"Router admin"' in line and "Label Studio" in line and "<" not in line and len(line) < 400


@pytest.mark.parametrize("body", [b"[1, 2]", b'{"status": "ok", "id": "web-1"}'], ids=["a-list", "an-object"])
def test_a_json_api_that_is_not_label_studio_is_named_in_one_line(workspace, capture, monkeypatch, body):
    """Feeds: LABEL_STUDIO_URL and a key pointing at a JSON API that answers 200 with a list, or an object
    that is no Label Studio user (which the SDK would take as one: it builds its models unchecked)."""
    capture.body, capture.content_type = body, "application/json"
    monkeypatch.setenv("LABEL_STUDIO_URL", capture.url)
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", "some-token")
    for command in (["pull", "--project", "anything"], ["server", "status"]):
        result = run_cli(*command)
        assert_no_traceback(result)
        assert result.exit_code == 1 and "key accepted" not in result.stdout
        line = _one_line_error(result.stderr)
        assert f"Reached {capture.url}" in line and "not a Label Studio user" in line, line


# --- item: credentials inside LABEL_STUDIO_URL are never shown --------------------------------------------


SECRET = "s3cret-Pa55"


@pytest.mark.parametrize("target", ["closed port", "not label studio", "bad port"])
def test_a_password_inside_label_studio_url_is_never_printed(workspace, capture, monkeypatch, target):
    """Feeds: LABEL_STUDIO_URL=http://user:<password>@host… pointing at a closed port, at a server that is not
    Label Studio, and with a port that is no number; each with a key, and once without."""
    host = {"closed port": "127.0.0.1:9", "not label studio": capture.url.removeprefix("http://"),
            "bad port": "127.0.0.1:80a"}[target]
    monkeypatch.setenv("LABEL_STUDIO_URL", f"http://annotator:{SECRET}@{host}")
    for key in ("some-token", None):
        if key:
            monkeypatch.setenv("LABEL_STUDIO_API_KEY", key)
        else:
            monkeypatch.delenv("LABEL_STUDIO_API_KEY")
        for command in (["pull", "--project", "anything"], ["server", "status", "--format", "json"]):
            result = run_cli(*command)
            assert_no_traceback(result)
            assert result.exit_code == 1 and SECRET not in result.output and SECRET not in result.stderr
            assert "***@" in result.stderr, result.stderr


def test_a_url_with_credentials_in_front_of_label_studio_is_refused_without_showing_them(
    workspace, label_studio, monkeypatch
):
    """Feeds: LABEL_STUDIO_URL with user:password@ in front of the real Label Studio's host, and its key
    (the password would be sent as Basic authentication in place of the key)."""
    monkeypatch.setenv("LABEL_STUDIO_URL", label_studio.url.replace("http://", f"http://annotator:{SECRET}@"))
    monkeypatch.setenv("LABEL_STUDIO_API_KEY", label_studio.api_key)
    for command in (["server", "status", "--format", "json"], ["push", "--project", "never created"]):
        result = run_cli(*command)
        assert_no_traceback(result)
        assert result.exit_code == 1 and SECRET not in result.output and SECRET not in result.stderr
        line = _one_line_error(result.stderr)
        assert "***@127.0.0.1" in line and "user:password@" in line and "LABEL_STUDIO_API_KEY" in line
    monkeypatch.delenv("LABEL_STUDIO_URL")
    assert not [p for p in label_studio.connection().client.projects.list(title="never created")]
