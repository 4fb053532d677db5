"""Fault injection in front of the real Label Studio: a small forwarding proxy on loopback.

The proxy passes each request on to the real server and hands back its real answer,
except where a rule says otherwise: answer 5xx itself, hold the answer back past the
client's timeout, or drop the connection (before or after the server has seen the
request). It counts every request per (method, path) so a test can see how many times
the client retried. It is bounded: it serves at most `max_requests` requests, stops by
itself after `lifetime` seconds, and a held answer never waits longer than `hold`.
"""

from __future__ import annotations

import http.client
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable
from urllib.parse import urlsplit

PASS = "pass"
DROP = "drop"
"""Close the connection without an answer; the server never sees the request."""
DROP_AFTER = "drop-after"
"""Forward the request, let the server finish it, then close the connection without an answer."""
HOLD = "hold"
"""Answer nothing until the client gives up (bounded by `hold` seconds), then close."""
DELAY = "delay"
"""Wait `delay` seconds, then forward the request and hand back the server's answer (a slow server)."""

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection"}


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    """The path without the query string."""
    number: int
    """1 for the first request to this (method, path), 2 for the second, …"""


Rule = Callable[[Seen], "str | int"]
"""What to do with a request: PASS, DROP, DROP_AFTER, HOLD, or an HTTP status to answer with."""


def always(action: str | int, *, method: str | None = None, path: str = "") -> Rule:
    """A rule applying `action` to every request of `method` whose path starts with `path`."""

    def rule(seen: Seen) -> str | int:
        return action if _matches(seen, method, path) else PASS

    return rule


def first(count: int, action: str | int, *, method: str | None = None, path: str = "") -> Rule:
    """A rule applying `action` to the first `count` matching requests, then passing them."""

    def rule(seen: Seen) -> str | int:
        return action if _matches(seen, method, path) and seen.number <= count else PASS

    return rule


def nth(numbers: set[int], action: str | int, *, method: str | None = None, path: str = "") -> Rule:
    """A rule applying `action` to the matching requests with these numbers."""

    def rule(seen: Seen) -> str | int:
        return action if _matches(seen, method, path) and seen.number in numbers else PASS

    return rule


def _matches(seen: Seen, method: str | None, path: str) -> bool:
    return (method is None or seen.method == method) and seen.path.startswith(path)


@dataclass
class FaultProxy:
    """A threaded forwarding proxy on 127.0.0.1 in front of `upstream`; use it as a context manager."""

    upstream: str
    rule: Rule = field(default=lambda seen: PASS)
    hold: float = 30.0
    delay: float = 3.0
    max_requests: int = 2000
    lifetime: float = 600.0
    counts: Counter = field(default_factory=Counter)
    faults: Counter = field(default_factory=Counter)
    """Requests per (method, path) that got an injected fault rather than the server's answer."""

    def __post_init__(self) -> None:
        parts = urlsplit(self.upstream)
        self._target = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self._timer = threading.Timer(self.lifetime, self.stop)
        self._timer.daemon = True

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._timer.cancel()
        self._server.shutdown()
        self._server.server_close()

    def requests(self, method: str, path: str) -> int:
        """How many requests of `method` to paths starting with `path` reached the proxy."""
        return sum(n for (m, p), n in self.counts.items() if m == method and p.startswith(path))

    def injected(self, method: str, path: str) -> int:
        return sum(n for (m, p), n in self.faults.items() if m == method and p.startswith(path))

    def _admit(self, method: str, path: str) -> tuple[Seen, str | int]:
        with self._lock:
            total = sum(self.counts.values())
            self.counts[(method, path)] += 1
            seen = Seen(method, path, self.counts[(method, path)])
            action = 503 if total >= self.max_requests else self.rule(seen)
            if action != PASS:
                self.faults[(method, path)] += 1
        return seen, action

    def _wait(self, seconds: float) -> None:
        self._stopping.wait(seconds)


def _handler_for(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # keep test output clean
            pass

        def _serve(self) -> None:
            path = urlsplit(self.path).path
            _, action = proxy._admit(self.command, path)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if action == DROP:
                self.close_connection = True
                return
            if action == HOLD:
                proxy._wait(proxy.hold)
                self.close_connection = True
                return
            if action == DELAY:
                proxy._wait(proxy.delay)
            if isinstance(action, int):
                self._answer(action, {"Content-Type": "text/plain"}, b"injected fault: server error\n")
                return
            status, headers, answer = self._forward(body)
            if action == DROP_AFTER:
                self.close_connection = True
                return
            self._answer(status, headers, answer)

        def _forward(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
            connection = http.client.HTTPConnection(*proxy._target, timeout=proxy.hold + 120)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP | {"host"}}
                headers["Host"] = f"{proxy._target[0]}:{proxy._target[1]}"
                connection.request(self.command, self.path, body=body or None, headers=headers)
                response = connection.getresponse()
                answer = response.read()
                kept = {k: v for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP | {"content-length"}}
                return response.status, kept, answer
            finally:
                connection.close()

        def _answer(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response_only(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
            self.close_connection = True

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

    return Handler


def wait_until(check: Callable[[], bool], *, timeout: float = 120.0, step: float = 0.05) -> bool:
    """Poll `check` until it is true or `timeout` seconds pass; True when it became true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return check()
