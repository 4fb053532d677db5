"""Connecting to Label Studio: address and key from the environment or the embedded server.

`LABEL_STUDIO_URL` and `LABEL_STUDIO_API_KEY`, when set, point every command at any
Label Studio; otherwise the embedded server's settings are used. Failures become
`AnnotateError`s whose messages never contain the key.
"""

from __future__ import annotations

import contextlib
import functools
import html
import os
import re
import ssl
import time
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
from label_studio_sdk.core.api_error import ApiError

from annotate.core.errors import AuthenticationFailed, ConnectionFailed, LabelStudioError
from annotate.core.urls import redact_url, redact_urls, same_server

if TYPE_CHECKING:  # the SDK client takes most of a second to import: `connect` imports it when it runs
    from label_studio_sdk.client import LabelStudio
    from label_studio_sdk.core.request_options import RequestOptions
from annotate.labelstudio.server import load_settings
from annotate.core.workspace import Workspace

URL_ENV = "LABEL_STUDIO_URL"
KEY_ENV = "LABEL_STUDIO_API_KEY"
REQUEST_TIMEOUT = 120.0
RETRIES = 3


@dataclass
class Connection:
    url: str
    """The server's address as shown to people: without any user name or password it carries."""
    client: LabelStudio = field(repr=False)
    api_key: str = field(repr=False)
    base_url: str = field(default="", repr=False)
    """The address requests go to, credentials included: never put it into a message."""
    export_dir: Path | None = field(default=None, repr=False)
    """Where the server writes a copy of each export it answers, when it is this workspace's
    embedded server (whose folders the workspace owns); None for any other server."""

    def __post_init__(self) -> None:
        self.base_url = self.base_url or self.url

    def redact(self, text: str) -> str:
        text = redact_urls(text)
        return text.replace(self.api_key, "***") if self.api_key else text

    def get_raw(self, path: str, params: dict[str, Any], doing: str) -> httpx.Response:
        """A GET through the SDK's own authenticated HTTP client, the body kept exactly as the server sent it.

        The SDK's typed pagers re-parse every page into models; what pull keeps must be the raw response.
        """
        http = self.client._client_wrapper.httpx_client
        with self.errors(doing):
            response = http.request(path, method="GET", params=params)
            if not 200 <= response.status_code < 300:
                raise ApiError(status_code=response.status_code, body=response.text, headers=dict(response.headers))
        # httpx binds a response's stream to the response, a cycle only the cyclic collector frees; a process
        # that does little else between pages (a full pull) would keep every page's body until it ran.
        response.stream = httpx.ByteStream(response.content)
        return response

    def post_raw(
        self, path: str, params: dict[str, Any], body: bytes, *, request_options: RequestOptions | None = None
    ) -> Any:
        """POST a JSON body encoded beforehand through the SDK's authenticated client; the answer's JSON.

        An answer that is not 2xx raises the SDK's `ApiError`, its body parsed as the SDK parses
        it, so callers tell the same refusals apart as with a typed call (and wrap it in `errors`).
        """
        http = self.client._client_wrapper.httpx_client
        response = http.request(
            path,
            method="POST",
            params=params,
            content=body,
            headers={"content-type": "application/json"},
            request_options=request_options,
        )
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if not 200 <= response.status_code < 300:
            detail = answer if answer is not None else response.text
            raise ApiError(status_code=response.status_code, body=detail, headers=dict(response.headers))
        if answer is None:
            raise ApiError(status_code=response.status_code, body=response.text, headers=dict(response.headers))
        return answer

    @contextlib.contextmanager
    def errors(self, doing: str) -> Iterator[None]:
        """Turn transport and API failures inside the block into one clear sentence."""
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
        except (httpx.UnsupportedProtocol, httpx.InvalidURL):
            raise ConnectionFailed(
                f"{self.url} is not a web address Label Studio can be reached at; "
                "set LABEL_STUDIO_URL like http://localhost:8080."
            ) from None
        except ApiError as exc:
            page = _html_page(exc.body) if exc.status_code is not None and exc.status_code < 500 else None
            if page is not None:
                raise LabelStudioError(
                    f"Reached {self.url}, which answered {exc.status_code} with an HTML page{page} while {doing}, "
                    "where Label Studio's API answers JSON: it is not Label Studio's address. Set LABEL_STUDIO_URL "
                    "to the address Label Studio opens at in the browser (for example http://localhost:8080)."
                ) from None
            if exc.status_code in (401, 403):
                raise AuthenticationFailed(
                    f"Label Studio at {self.url} refused the API key while {doing}. "
                    "Run `annotate server start` for the embedded server, or set LABEL_STUDIO_API_KEY "
                    "to a valid token of that server."
                ) from None
            if (exc.status_code or 0) >= 500:
                raise LabelStudioError(
                    f"Label Studio at {self.url} answered {exc.status_code} (a server error) while {doing}"
                    f"{_gist(self.redact(str(exc.body)))}. Check the server's log (`annotate server status` "
                    "shows where), then run the command again."
                ) from None
            body = " ".join(self.redact(str(exc.body)).split())[:300]
            raise LabelStudioError(
                f"Label Studio at {self.url} answered {exc.status_code} while {doing}: {body}"
            ) from None


_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)


def _html_page(body: Any) -> str | None:
    """' ("its title")' when an answer is an HTML page rather than JSON, '' for an untitled one, else None."""
    if not isinstance(body, str) or not body.lstrip()[:200].lower().startswith(("<!doctype", "<html", "<?xml", "<")):
        return None
    found = _TITLE.search(body[:20_000])
    title = " ".join(html.unescape(found.group(1)).split())[:80] if found else ""
    return f' ("{title}")' if title else ""


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
    """The (url, api_key) to use: environment first, then the embedded server's settings.

    The embedded server's key goes only to the embedded server: with LABEL_STUDIO_URL naming
    another server and no LABEL_STUDIO_API_KEY, no key is sent anywhere.
    """
    url, key = os.environ.get(URL_ENV), os.environ.get(KEY_ENV)
    if url:
        url = _checked_url(url)
    if url and key:
        return url, key
    settings = load_settings(workspace) if workspace else None
    if settings is None:
        missing = KEY_ENV if url else URL_ENV
        raise ConnectionFailed(
            f"No Label Studio is configured: {missing} is not set and the embedded server has never been "
            "started here. Run `annotate server start`, or set LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY."
        )
    if url and not key and not same_server(url, settings.url):
        raise ConnectionFailed(
            f"LABEL_STUDIO_URL names {redact_url(url)}, but no key was given for it: LABEL_STUDIO_API_KEY is not set, "
            f"and the embedded server's key is only ever sent to the embedded server ({settings.url}). "
            "Set LABEL_STUDIO_API_KEY to an access token of that server (Account & Settings in Label Studio)."
        )
    return (url or settings.url).rstrip("/"), key or settings.api_key


def _checked_url(url: str) -> str:
    """LABEL_STUDIO_URL as a base URL; a sentence when it lacks http(s):// or a host."""
    url = url.strip().rstrip("/")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        parts = None
    if parts is None or parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ConnectionFailed(
            f"LABEL_STUDIO_URL is {redact_url(url)!r}, which is not a web address: write it with http:// or https:// "
            "and a host, for example http://localhost:8080."
        )
    if parts.username is not None or parts.password is not None:
        # httpx turns user:password@ into Basic authentication, which replaces the API key's header.
        raise ConnectionFailed(
            f"LABEL_STUDIO_URL ({redact_url(url)}) carries a user name and password, which would be sent in place "
            "of the API key: remove the user:password@ part and give the key in LABEL_STUDIO_API_KEY."
        )
    return url


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """httpx's own default TLS context (its CA bundle, SSL_CERT_FILE or SSL_CERT_DIR), made once per process.

    Loading the CA bundle takes about a tenth of a second, which every connection paid again.
    """
    return httpx.create_ssl_context()


def connect(workspace: Workspace | None, *, check: bool = True) -> Connection:
    """A Label Studio client, checked with a first request unless `check` is False."""
    # lazy: the SDK client takes most of a second to import; `annotate --help` must not wait for it
    from label_studio_sdk.client import LabelStudio

    url, key = resolve(workspace)
    http = httpx.Client(
        timeout=REQUEST_TIMEOUT,
        follow_redirects=True,
        transport=_RetryTimedOutReads(httpx.HTTPTransport(verify=_tls_context()), RETRIES),
    )
    client = LabelStudio(base_url=url, api_key=key, timeout=REQUEST_TIMEOUT, max_retries=RETRIES, httpx_client=http)
    connection = Connection(redact_url(url), client, key, base_url=url, export_dir=_embedded_export_dir(workspace, url))
    if check:
        _check_is_label_studio(connection)
    return connection


def _embedded_export_dir(workspace: Workspace | None, url: str) -> Path | None:
    """The export folder of the embedded server when `url` is its address (Label Studio's `EXPORT_DIR`)."""
    settings = load_settings(workspace) if workspace else None
    if settings is None or not settings.data_dir or not same_server(url, settings.url):
        return None
    return Path(settings.data_dir) / "export"


def _check_is_label_studio(connection: Connection) -> None:
    """Ask who the key belongs to; an answer that is no Label Studio user means the address is not Label Studio's.

    The SDK builds its models without checking them, so any JSON would otherwise pass as "key accepted".
    """
    doing = "checking the API key"
    try:
        with connection.errors(doing):
            user = connection.client.users.whoami()
    except (TypeError, ValueError):
        user = None
    user_id = getattr(user, "id", None)
    if not isinstance(user_id, int) or isinstance(user_id, bool):
        raise LabelStudioError(
            f"Reached {connection.url}, whose answer while {doing} is not a Label Studio user "
            "(JSON of another shape): it is not Label Studio's address. Set LABEL_STUDIO_URL to the address "
            "Label Studio opens at in the browser (for example http://localhost:8080)."
        )


def find_project(connection: Connection, title: str, *, fields: Iterable[str] | None = None) -> Any | None:
    """The project with exactly this title (Label Studio strips titles), or None; `fields` as in `list_projects`.

    Label Studio's title filter matches substrings.
    """
    title = title.strip()
    return next((p for p in list_projects(connection, title, fields=fields) if (p.title or "").strip() == title), None)


def list_projects(connection: Connection, containing: str, *, fields: Iterable[str] | None = None) -> list[Any]:
    """Every project whose title contains `containing` (in any case), each page of the listing.

    With `fields`, Label Studio sends (and computes) only those fields of each project: listing
    `task_number` alone skips counting every task's annotations, which costs the most on a big
    project. A field the server did not send is None.
    """
    include = ",".join(fields) if fields else None
    found: list[Any] = []
    with connection.errors(f"looking up the project {containing.strip()!r}"):
        pager: Any = connection.client.projects.list(title=containing.strip(), page_size=100, include=include)
        try:
            for page in pager.iter_pages():
                found.extend(page.items or [])
                total = getattr(page.response, "count", None)
                if isinstance(total, int) and len(found) >= total:
                    break  # the last page: no request for the empty page after it
        except ApiError as exc:
            if exc.status_code != 404:  # how Label Studio answers a page past the last
                raise
    return found
