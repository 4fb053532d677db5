"""Which records files were found valid, so a later stage does not check every record again.

A stamp is kept in the private state per file: its size, inode, modification and change
times, and a fingerprint of the scheme and of the checks' version it was checked against. Any write, rename or
permission change of the file moves its change time (which no user can set back), so a
file edited since, a scheme that changed, or stricter checks, has no stamp, and its records are checked
again. Checking a stamp costs one `stat`, not a read of the file.
Stamps are written only by code that checked every record of the file it writes:
`pull`, after a full pull or a merge into a stamped file.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from annotate.core.scheme import Scheme
from annotate.core.validate import RULES_VERSION
from annotate.core.workspace import Workspace, write_private

STAMPS = "validated.json"


def scheme_fingerprint(scheme: Scheme) -> str:
    """A digest of everything that decides whether a record is valid: the scheme and the version of the checks."""
    return hashlib.sha256(f"{RULES_VERSION}:{scheme!r}".encode()).hexdigest()


def _file_stamp(path: Path) -> dict[str, int]:
    info = os.stat(path)
    return {"bytes": info.st_size, "inode": info.st_ino, "mtime_ns": info.st_mtime_ns, "ctime_ns": info.st_ctime_ns}


def _stamps_path(workspace: Workspace) -> Path:
    return workspace.private_dir() / STAMPS


def _load(workspace: Workspace) -> dict[str, Any]:
    try:
        found = json.loads(_stamps_path(workspace).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def mark_valid(workspace: Workspace, path: Path, scheme: Scheme) -> None:
    """Record that every record of `path`, as it is now, is valid under `scheme`."""
    stamps = _load(workspace)
    stamps[str(Path(path).resolve())] = {**_file_stamp(Path(path)), "scheme": scheme_fingerprint(scheme)}
    write_private(_stamps_path(workspace), json.dumps(stamps, sort_keys=True))


def forget(workspace: Workspace, path: Path) -> None:
    """Drop the stamp of `path` (its records will be checked again)."""
    stamps = _load(workspace)
    if stamps.pop(str(Path(path).resolve()), None) is not None:
        write_private(_stamps_path(workspace), json.dumps(stamps, sort_keys=True))


def known_valid(workspace: Workspace, path: Path, scheme: Scheme) -> bool:
    """True when `path` was not touched since it was found valid, and the scheme is the same."""
    saved = _load(workspace).get(str(Path(path).resolve()))
    if not isinstance(saved, dict):
        return False
    try:
        now = _file_stamp(Path(path))
    except OSError:
        return False
    return saved == {**now, "scheme": scheme_fingerprint(scheme)}
