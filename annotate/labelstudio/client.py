"""Connecting to Label Studio: address and key from the environment or the embedded server.

`LABEL_STUDIO_URL` and `LABEL_STUDIO_API_KEY`, when set, point every command at any
Label Studio; otherwise the embedded server's settings are used. Failures become
`AnnotateError`s whose messages never contain the key.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field
from typing import Any, Iterator

import httpx

from annotate.core.errors import AuthenticationFailed, ConnectionFailed, LabelStudioError
from annotate.labelstudio.server import load_settings
from annotate.core.workspace import Workspace

URL_ENV = "LABEL_STUDIO_URL"
KEY_ENV = "LABEL_STUDIO_API_KEY"
REQUEST_TIMEOUT = 120.0
RETRIES = 3


@dataclass
class Connection:
    url: str
    client: Any = field(repr=False)
    api_key: str = field(repr=False)

    def redact(self, text: str) -> str:
        return text.replace(self.api_key, "***") if self.api_key else text

    @contextlib.contextmanager
    def errors(self, doing: str) -> Iterator[None]:
        """Turn transport and API failures inside the block into one clear sentence."""
        from label_studio_sdk.core.api_error import ApiError

        try:
            yield
        except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            raise ConnectionFailed(
                f"Label Studio at {self.url} cannot be reached while {doing} ({type(exc).__name__}). "
                "Run `annotate server start`, or set LABEL_STUDIO_URL to a running server."
            ) from None
        except httpx.TimeoutException:
            raise ConnectionFailed(
                f"Label Studio at {self.url} did not answer in time while {doing}. Try again; "
                "if it keeps happening, check the server's load and log."
            ) from None
        except ApiError as exc:
            if exc.status_code in (401, 403):
                raise AuthenticationFailed(
                    f"Label Studio at {self.url} refused the API key while {doing}. "
                    "Run `annotate server start` for the embedded server, or set LABEL_STUDIO_API_KEY "
                    "to a valid token of that server."
                ) from None
            if exc.status_code >= 500:
                raise LabelStudioError(
                    f"Label Studio at {self.url} answered {exc.status_code} (a server error) while {doing}"
                    f"{_gist(self.redact(str(exc.body)))}. Check the server's log (`annotate server status` "
                    "shows where), then run the command again."
                ) from None
            body = self.redact(str(exc.body))[:500]
            raise LabelStudioError(
                f"Label Studio at {self.url} answered {exc.status_code} while {doing}: {body}"
            ) from None


def _gist(body: str) -> str:
    """A short plain-text error body as ': text'; an HTML error page says nothing useful in one line."""
    text = " ".join(body.split())
    if not text or text.startswith("<") or text == "None":
        return ""
    return f": {text[:200].rstrip('.')}"


class _RetryTimedOutReads(httpx.BaseTransport):
    """Retry a GET that timed out, with the SDK's backoff; the SDK itself retries only 5xx and refused connections.

    Only reads are retried: a POST that timed out may have been stored, and sending it again could store it twice.
    """

    def __init__(self, transport: httpx.BaseTransport, retries: int) -> None:
        self.transport = transport
        self.retries = retries

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        attempt = 0
        while True:
            try:
                return self.transport.handle_request(request)
            except httpx.TimeoutException:
                if request.method not in ("GET", "HEAD") or attempt >= self.retries:
                    raise
                time.sleep(min(2.0**attempt, 30.0))
                attempt += 1

    def close(self) -> None:
        self.transport.close()


def resolve(workspace: Workspace | None) -> tuple[str, str]:
    """The (url, api_key) to use: environment first, then the embedded server's settings."""
    url, key = os.environ.get(URL_ENV), os.environ.get(KEY_ENV)
    if url and key:
        return url.rstrip("/"), key
    settings = load_settings(workspace) if workspace else None
    if settings is None:
        missing = KEY_ENV if url else URL_ENV
        raise ConnectionFailed(
            f"No Label Studio is configured: {missing} is not set and the embedded server has never been "
            "started here. Run `annotate server start`, or set LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY."
        )
    return (url or settings.url).rstrip("/"), key or settings.api_key


def connect(workspace: Workspace | None, *, check: bool = True) -> Connection:
    """A Label Studio client, checked with a first request unless `check` is False."""
    from label_studio_sdk.client import LabelStudio

    url, key = resolve(workspace)
    http = httpx.Client(
        timeout=REQUEST_TIMEOUT,
        follow_redirects=True,
        transport=_RetryTimedOutReads(httpx.HTTPTransport(), RETRIES),
    )
    client = LabelStudio(base_url=url, api_key=key, timeout=REQUEST_TIMEOUT, max_retries=RETRIES, httpx_client=http)
    connection = Connection(url, client, key)
    if check:
        with connection.errors("checking the API key"):
            client.users.whoami()
    return connection


def find_project(connection: Connection, title: str) -> Any | None:
    """The project with exactly this title (Label Studio strips titles), or None.

    Label Studio's title filter matches substrings.
    """
    title = title.strip()
    with connection.errors(f"looking up the project {title!r}"):
        for project in connection.client.projects.list(title=title, page_size=100):
            if (project.title or "").strip() == title:
                return project
    return None
