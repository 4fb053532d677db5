"""Annotator pseudonyms: a keyed hash of who annotated, so records never carry an e-mail or user id.

The key is random, made once per workspace and kept in `.annotate/` (owner-only, never
committed), so nobody holding only the published data can recompute who is who. A
local, owner-only mapping from pseudonym back to e-mail lets the maintainer answer
"whose work is this?" without that answer ever reaching exports/.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from typing import Any
from collections.abc import Mapping

from annotate.core.workspace import write_private
from annotate.core.workspace import Workspace

PSEUDONYM_LENGTH = 16
KEY_FILE = "pseudonym.key"
MAPPING_FILE = "pseudonyms.json"


def load_key(workspace: Workspace) -> bytes:
    """The workspace's pseudonym key, made on first use."""
    path = workspace.private_dir() / KEY_FILE
    if not path.exists():
        write_private(path, secrets.token_hex(32) + "\n")
    return bytes.fromhex(path.read_text(encoding="utf-8").strip())


def identity(user: Any, emails: Mapping[int, str] | None = None) -> str:
    """Who a `completed_by` names: the e-mail when known (stable across servers), else the user id."""
    if isinstance(user, dict):
        email = user.get("email")
        user = user.get("id") if not email else None
        if email:
            return str(email).strip().lower()
    if user is None:
        return "unknown"
    if emails and user in emails and emails[user]:
        return emails[user].strip().lower()
    return f"user-id:{user}"


def pseudonym(key: bytes, who: str) -> str:
    """The keyed hash (HMAC-SHA256) of an identity, shortened to PSEUDONYM_LENGTH hex characters."""
    return hmac.new(key, who.encode("utf-8"), hashlib.sha256).hexdigest()[:PSEUDONYM_LENGTH]


def load_mapping(workspace: Workspace) -> dict[str, str]:
    """The private pseudonym → identity (e-mail or user id) map; empty when there is none yet."""
    try:
        data = json.loads((workspace.private_dir() / MAPPING_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # a damaged mapping is rebuilt from the next pulls; the pseudonyms do not change
    return data if isinstance(data, dict) else {}


class Pseudonyms:
    """Turns `completed_by` values into pseudonyms and remembers, locally, whom each stands for."""

    def __init__(self, workspace: Workspace, *, emails: Mapping[int, str] | None = None) -> None:
        self.workspace = workspace
        self.key = load_key(workspace)
        self.emails = dict(emails or {})
        self.path = workspace.private_dir() / MAPPING_FILE
        self.mapping: dict[str, str] = load_mapping(workspace)
        self._added = False

    def __call__(self, user: Any) -> str:
        who = identity(user, self.emails)
        name = pseudonym(self.key, who)
        if self.mapping.get(name) != who:
            self.mapping[name] = who
            self._added = True
        return name

    def save(self) -> None:
        """Keep the pseudonym → identity mapping, owner-only, beside the key."""
        if self._added:
            write_private(self.path, json.dumps(self.mapping, indent=2, sort_keys=True) + "\n")
            self._added = False
