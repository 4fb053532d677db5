"""Where a project's files live: the folders users see and the private state beside them."""

from __future__ import annotations

import contextlib
import os
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from annotate.core.errors import WorkspaceError

RESERVED_EXPORT_NAMES = frozenset({"raw", "records", "gold", "agreement", "scores"})

WORKSPACE_ENV = "ANNOTATE_WORKSPACE"


@dataclass(frozen=True)
class Workspace:
    """A project folder holding labels/, guidelines/, corpus/ and exports/."""

    root: Path

    @property
    def labels(self) -> Path:
        return self.root / "labels"

    @property
    def scheme_path(self) -> Path:
        return self.labels / "scheme.yaml"

    @property
    def guidelines(self) -> Path:
        return self.root / "guidelines"

    @property
    def corpus(self) -> Path:
        return self.root / "corpus"

    @property
    def exports(self) -> Path:
        return self.root / "exports"

    @property
    def state(self) -> Path:
        """Private, git-ignored state: server data, settings, keys, checkpoints."""
        return self.root / ".annotate"

    # Where each stage writes, per Label Studio project (named by its slug):
    #   exports/raw/<slug>/          untouched Label Studio JSON, owner-only, never committed
    #   exports/records/<slug>.jsonl canonical records; <slug>.quarantine.jsonl the invalid ones
    #   exports/gold/<slug>.jsonl    adjudicated gold records
    #   exports/agreement/<slug>.*   agreement reports
    #   exports/scores/<system>.json `annotate score` reports, read by publish for the card
    #   exports/<dataset>/<X.Y.Z>/   published dataset versions
    def raw_dir(self, slug: str) -> Path:
        return self.exports / "raw" / slug

    def records_path(self, slug: str) -> Path:
        return self.exports / "records" / f"{slug}.jsonl"

    def quarantine_path(self, slug: str) -> Path:
        return self.exports / "records" / f"{slug}.quarantine.jsonl"

    def gold_path(self, slug: str) -> Path:
        return self.exports / "gold" / f"{slug}.jsonl"

    def agreement_dir(self) -> Path:
        return self.exports / "agreement"

    def project_state(self, slug: str) -> Path:
        """Private per-project state (pull checkpoint and the like)."""
        return self.private_dir("projects", slug)

    def private_dir(self, *parts: str) -> Path:
        """A folder under the private state that only its owner can read."""
        path = self.state.joinpath(*parts)
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        # mkdir gives the missing parents the default mode, not `mode`: tighten every level.
        for depth in range(len(parts) + 1):
            os.chmod(self.state.joinpath(*parts[:depth]), 0o700)
        return path


def find_workspace(start: Path | None = None) -> Workspace:
    """The workspace named by ANNOTATE_WORKSPACE, else the nearest folder upwards with labels/scheme.yaml."""
    if os.environ.get(WORKSPACE_ENV):
        root = Path(os.environ[WORKSPACE_ENV]).expanduser().resolve()
        if not (root / "labels" / "scheme.yaml").is_file():
            raise WorkspaceError(
                f"{WORKSPACE_ENV} points at {root}, which has no labels/scheme.yaml. "
                "Point it at a project folder or unset it."
            )
        return Workspace(root)
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "labels" / "scheme.yaml").is_file():
            return Workspace(folder)
    raise WorkspaceError(
        f"No annotate project here: no labels/scheme.yaml in {here} or above it. "
        f"Run the command inside a project folder or set {WORKSPACE_ENV}."
    )


def slugify(title: str) -> str:
    """A file-name-safe slug of a project or dataset title."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = "-".join(re.findall(r"[a-z0-9]+", ascii_title.lower()))[:64].strip("-")
    return slug or "project"


# --- writing files whole ------------------------------------------------------------------------


@contextlib.contextmanager
def atomic_writer(path: Path, *, private: bool = False) -> Iterator[TextIO]:
    """A text file that appears whole or not at all: written beside `path`, flushed to disk, renamed over it.

    `private` makes the file readable by its owner only (and creates a missing folder owner-only).
    Whatever stops the writing, the old file stays as it was and no temporary file is left.
    """
    if private:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o666)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        if private:
            os.chmod(tmp, 0o600)  # an older temporary file may have had another mode
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: Path, content: str, *, private: bool = False) -> None:
    """Write a whole text file atomically (see `atomic_writer`)."""
    with atomic_writer(path, private=private) as handle:
        handle.write(content)


def write_private(path: Path, content: str) -> None:
    """Write a file that only its owner can read, atomically."""
    write_atomic(path, content, private=True)
