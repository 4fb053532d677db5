"""Addresses as the toolkit shows them: never with the user name and password a URL may carry.

Every URL formatted into a message, a result or a report goes through `redact_url` (or
`redact_urls` for free text that may quote one), so `http://user:secret@host` is shown as
`http://***@host`.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit, urlunsplit

_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]*@")


def redact_url(url: str) -> str:
    """`url` without its credentials: `http://user:secret@host:8080/x` → `http://***@host:8080/x`."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_urls(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"***@{host}"))


def redact_urls(text: str) -> str:
    """Every `scheme://user:password@` in free text with its credentials replaced by ***."""
    return _USERINFO.sub(r"\1***@", text)


def same_server(first: str, second: str) -> bool:
    """True when two base URLs name the same server (scheme, host and port; localhost is 127.0.0.1)."""
    def key(url: str) -> tuple[str, str, int | None]:
        parts = urlsplit(url.strip().rstrip("/"))
        host = (parts.hostname or "").lower()
        host = "127.0.0.1" if host in ("localhost", "::1", "[::1]") else host
        try:
            port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
        except ValueError:
            port = None
        return parts.scheme.lower(), host, port

    return key(first) == key(second)


def only_this_machine(url: str) -> bool:
    """True when `url` names a loopback (or unspecified) address: a page elsewhere cannot reach it."""
    try:
        host = (urlsplit(url.strip()).hostname or "").lower()
    except ValueError:
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified
