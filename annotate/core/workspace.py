"""Where a project's files live: the folders users see and the private state beside them."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, UTC
from pathlib import Path
from typing import TextIO

from annotate.core.errors import Busy, TitleTaken, UsageError, WorkspaceError

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
    #   exports/records/<slug>.jsonl canonical records; <slug>.quarantine.jsonl the invalid ones;
    #                                <slug>.removed.jsonl the records pulls removed (recoverable)
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

    def removed_path(self, slug: str) -> Path:
        """Records a pull removed (their annotation is gone from Label Studio), kept so they can be recovered."""
        return self.exports / "records" / f"{slug}.removed.jsonl"

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
    """A file-name-safe slug of a project or dataset title.

    The slug is the title's Latin letters and digits; when that loses letters or digits
    (a title in another script, or one cut at 64 characters), a short hash of the exact
    title is added, so different titles of that kind never share a file.
    """
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_title.lower())
    slug = "-".join(words)[:64].strip("-")
    kept = sum(map(len, words))
    lost = sum(ch.isalnum() for ch in unicodedata.normalize("NFKD", title)) > kept or len("-".join(words)) > 64
    if lost or not slug:
        digest = hashlib.sha256(title.encode("utf-8")).hexdigest()[:8]
        slug = f"{slug[:55].strip('-') or 'project'}-{digest}"
    return slug


def normalise_title(title: str) -> str:
    """A project title as Label Studio stores it (without surrounding spaces); a blank one is refused."""
    cleaned = title.strip()
    if not cleaned:
        raise UsageError(
            f"The project title {title!r} is blank. Give a title with --project or set `project` in annotate.yaml."
        )
    return cleaned


TITLE_FILE = "title"


def project_slug(workspace: Workspace, title: str, *, claim: bool = False) -> str:
    """The slug of a project title, refused when another title already uses it in this workspace.

    Commands that wrote a project's files (`claim`, once they worked) record the title the slug belongs to; a
    different title with the same slug (`Probe X A` and `probe-x-a`) would share its records
    file and checkpoint, and pulling one would remove the other's records.
    """
    slug = slugify(title)
    mark = workspace.state / "projects" / slug / TITLE_FILE
    try:
        owner = mark.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        owner = None
    if owner is not None and owner != title:
        raise TitleTaken(
            f"The project title {title!r} gives the same file names ({slug}) as the project {owner!r}, whose "
            "records are kept here. Rename one of the two projects in Label Studio (and in annotate.yaml); "
            f"if {owner!r} was only renamed to {title!r}, delete {mark} and run the command again."
        )
    if claim and owner is None:
        write_private(workspace.project_state(slug) / TITLE_FILE, title)
    return slug



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


# --- one writer at a time ------------------------------------------------------------------------

_held: dict[Path, int] = {}
"""Locks this process holds, with how many nested holders each has (a pull inside adjudicate)."""


@contextlib.contextmanager
def locked(workspace: Workspace, name: str, doing: str, *, what: str | None = None) -> Iterator[None]:
    """Hold the lock `name` (a project's slug) while a command writes that project's files and tasks.

    The lock file under .annotate/locks/ holds the holder's pid and command; the lock itself is
    an flock on it, which the system lets go when the holder dies, so a stale file is simply
    taken over. A second command refuses at once, naming the first. `what` says in its
    message what is locked (by default the project `name`).
    """
    path = workspace.private_dir("locks") / f"{name}.lock"
    if path in _held:
        _held[path] += 1
        try:
            yield
        finally:
            _held[path] -= 1
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 512, 0).decode("utf-8", "replace").strip() or "another annotate command"
            target = what or f"the files of the project {name!r}"
            raise Busy(
                f"{holder} is writing {target} right now, so this `annotate {doing}` "
                "stopped before changing anything. Run it again once that one has finished."
            ) from None
        started = datetime.now(UTC).strftime("%H:%M:%S UTC")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"`annotate {doing}` (pid {os.getpid()}, started {started})".encode(), 0)
        _held[path] = 1
        try:
            yield
        finally:
            del _held[path]
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # closing lets the flock go
