"""Bringing annotations back from Label Studio as canonical records, checked and nothing lost.

A pull fetches the project's tasks a page at a time (never Label Studio's one-shot
export, which times out on big projects; a full pull asks the export for ranges of task
ids, a few at once), saves every page exactly as the server sent it under exports/raw/
before reading it, converts each submitted or skipped annotation into a record,
validates it, and writes the valid records and the quarantined ones atomically.
After the first pull only tasks changed since the last successful one are fetched: a
task's `updated_at` moves whenever one of its annotations is created, updated or
deleted, and a changed task's records are replaced as a whole, so deletions show too.
"""

from __future__ import annotations

import contextlib
import email.utils
from concurrent.futures import Future, ThreadPoolExecutor
import hashlib
import json
import math
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime, timedelta, UTC
from itertools import chain
from pathlib import Path
from typing import Any
from collections.abc import Iterator, Mapping, MutableMapping


from annotate.core.errors import (
    AnnotateError,
    AuthenticationFailed,
    ExportError,
    LabelConfigChanged,
    ProjectMismatch,
    ProjectNotFound,
    PullFailed,
    RecordsDamaged,
)
from annotate.core.inputs import load_json
from annotate.core.scheme_versions import needs_migration
from annotate.core.scheme import current_scheme
from annotate.labelstudio.convert import Conversion, ConversionProcess, Quarantined, SavedPage, TaskTimes
from annotate.labelstudio.feedback import AnnotationProblems, send_feedback, task_feedback
from annotate.labelstudio.pseudonyms import Pseudonyms
from annotate.core.validated import forget, known_valid, mark_valid
from annotate.core import derive, line_index
from annotate.core.exports import ExportFile, read_items
from annotate.core.progress import Progress, ProgressCallback
from annotate.core.records import DamagedLine, iter_records, scan_records, write_records
from annotate.core.scheme import Scheme
from annotate.core.settings import load_project_settings
from annotate.core.workspace import Workspace, atomic_writer, locked, normalise_title, project_slug
from annotate.labelstudio import passes as blind
from annotate.labelstudio.client import Connection, connect
from annotate.labelstudio.taskquery import FILTER_TIME, parse_task_page, task_query

PAGE_SIZE = 100
IN_FLIGHT = 3
"""Pages of tasks asked for at once: enough to keep Label Studio busy while pages are converted, few
enough that a small server is never flooded (its own export serves one request at a time)."""
CONVERT_ASIDE_OVER = PAGE_SIZE
"""A full pull of more tasks than this converts them in a second process, beside the fetching (`convert`)."""
MAX_IDS_PER_PAGE = 900
"""Most task ids one export page asks for (they go in its query string), however sparse the project's ids:
under the 1,000 query fields Django accepts (Label Studio answers 400 to a page of 1,000 ids)."""
STATE_FILE = "pull.json"
INDEX_FILE = "records.index.jsonl"
"""The line index of the records file (`annotate.core.line_index`), beside the checkpoint."""
CHECKSUMS = "SHA256SUMS"
# The data manager's datetime filter format (label_studio data_manager.managers.DATETIME_FORMAT).
_FILTER_TIME = FILTER_TIME


@dataclass
class PullResult:
    project: str
    slug: str
    full: bool
    raw: Path
    records_path: Path
    quarantine_path: Path
    tasks_fetched: int = 0
    """Tasks downloaded and converted because they are new or changed since the last pull."""
    unchanged: int = 0
    """Tasks the server listed again whose annotations had not changed; their records were kept."""
    records_written: int = 0
    """Valid records made from the fetched tasks."""
    cancelled: int = 0
    """Of those, annotations the annotator skipped (kept with `cancelled: true`)."""
    removed: int = 0
    """Records dropped because their annotation no longer exists in Label Studio."""
    total_records: int = 0
    quarantined: list[Quarantined] = field(default_factory=list)
    removed_path: Path | None = None
    """Where the removed records were kept (`<slug>.removed.jsonl`), when some were removed."""
    warnings: list[str] = field(default_factory=list)
    """What the pull noticed and worked around (a checkpoint it could not use, a damaged file set aside)."""
    feedback_written: int = 0
    """Tasks whose `problems` field was written or cleared for their annotators to see."""
    feedback_error: str | None = None
    """Why the problems could not be written back to Label Studio (the records are written all the same)."""
    passes: list[PullResult] = field(default_factory=list)
    """With blind annotation, what each pass project gave (this result is their union)."""


def pull(
    workspace: Workspace,
    *,
    project: str | None = None,
    full: bool = False,
    from_file: Path | None = None,
    new_project: bool = False,
    on_progress: ProgressCallback | None = None,
    passes: bool = True,
) -> PullResult:
    """Fetch annotations (or read a downloaded JSON export) into canonical records under exports/.

    A pull never empties the records because the server forgot them: a project that is not
    the one the checkpoint came from, or a full pull that would keep none of the records,
    is refused unless `new_project` says it is meant (the old records then go to the
    removed file, like every record a pull removes).

    A title annotated blind in passes (`annotate.labelstudio.passes`) is pulled pass by pass
    into one records file; `passes=False` pulls the one project of exactly this title.
    """
    scheme = current_scheme(workspace)
    title = normalise_title(project or load_project_settings(workspace).project)
    slug = project_slug(workspace, title)
    with locked(workspace, slug, "pull"), _naming_the_project(title, workspace):
        result = _pull_any(workspace, title, scheme, full, from_file, new_project, on_progress, passes)
        project_slug(workspace, title, claim=True)  # only a pull that worked holds the slug for its title
    return result


def _pull_any(
    workspace: Workspace,
    title: str,
    scheme: Scheme,
    full: bool,
    from_file: Path | None,
    new_project: bool,
    on_progress: ProgressCallback | None,
    passes: bool,
) -> PullResult:
    if from_file is not None:
        return _pull_file(
            workspace, Path(from_file), title, scheme, full=full, new_project=new_project, on_progress=on_progress
        )
    connection = connect(workspace)
    # One listing finds the project and tells whether the title is annotated in passes.
    project, pass_projects = blind.title_projects(connection, title, fields=PROJECT_FIELDS)
    if passes and pass_projects:
        options = {"full": full, "new_project": new_project, "on_progress": on_progress}
        return blind.pull_passes(workspace, title, pass_projects, pull=pull, **options)
    if project is None:
        raise ProjectNotFound(
            f"Label Studio at {connection.url} has no project titled {title!r}. "
            "Give the exact title with --project, or run `annotate push` first."
        )
    return _pull_server(
        workspace, connection, project, title, scheme, full=full, new_project=new_project, on_progress=on_progress
    )


@contextlib.contextmanager
def _naming_the_project(title: str, workspace: Workspace) -> Iterator[None]:
    """A damaged records file of a project other than annotate.yaml's (a curation project): say which pull mends it."""
    try:
        yield
    except RecordsDamaged as exc:
        if title == normalise_title(load_project_settings(workspace).project):
            raise
        damaged = DamagedLine(exc.line or 0, exc.reason)
        remedy = f"run `annotate pull --full --project {title!r}` to rebuild the records from Label Studio"
        raise RecordsDamaged(exc.path, damaged, remedy=remedy) from None


# --- raw snapshots ------------------------------------------------------------------------------


class RawSnapshot:
    """A timestamped, owner-only folder under exports/raw/<slug>/ holding what one pull received."""

    def __init__(self, workspace: Workspace, slug: str) -> None:
        raw_root = workspace.raw_dir(slug).parent
        for folder in (raw_root, workspace.raw_dir(slug)):
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chmod(folder, 0o700)
        # Raw pages hold server user ids and e-mails: never committed, wherever the workspace lives.
        ignore = raw_root / ".gitignore"
        if not ignore.exists():
            ignore.write_text("*\n", encoding="utf-8")
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H-%M-%S.%fZ")
        self.folder = workspace.raw_dir(slug) / stamp
        self.folder.mkdir(mode=0o700)
        os.chmod(self.folder, 0o700)

    def save(self, name: str, body: bytes) -> Path:
        """Write the bytes untouched, owner-only, and add their checksum to SHA256SUMS."""
        path = self.folder / name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(body)
            handle.flush()
            os.fsync(handle.fileno())
        self._checksum(name, hashlib.sha256(body).hexdigest())
        return path

    def copy(self, source: Path) -> Path:
        """Copy a downloaded export byte for byte, reading it in chunks."""
        path = self.folder / source.name
        digest = hashlib.sha256()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with source.open("rb") as src, os.fdopen(fd, "wb") as dst:
            for chunk in iter(lambda: src.read(1 << 20), b""):
                digest.update(chunk)
                dst.write(chunk)
        self._checksum(source.name, digest.hexdigest())
        return path

    def _checksum(self, name: str, digest: str) -> None:
        sums = self.folder / CHECKSUMS
        fd = os.open(sums, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as handle:
            handle.write(f"{digest}  {name}\n")  # the format `sha256sum -c` reads


# --- the checkpoint -----------------------------------------------------------------------------


@dataclass
class Checkpoint:
    """Where the last successful pull of a project left off (private state, never under exports/)."""

    server: str
    project_id: int
    since: str
    """Server time just before the last pull began: tasks updated at or after it are fetched next."""
    tasks: MutableMapping[str, str]
    """Each task's `updated_at` as last converted, so a task listed again unchanged is not redone."""
    created_at: str | None = None
    """When the server project was created: with its id, what tells it from a project made anew."""

    def unchanged(self, task: Mapping[str, Any]) -> bool:
        """Whether a task listed now is as the last pull converted it (the next pull leaves it alone)."""
        return self.tasks.get(str(task.get("id"))) == str(task.get("updated_at"))

    @staticmethod
    def path(workspace: Workspace, slug: str) -> Path:
        return workspace.project_state(slug) / STATE_FILE

    @classmethod
    def load(cls, workspace: Workspace, slug: str) -> Checkpoint | None:
        """The checkpoint, or None when there is none or it cannot be used (see `read`)."""
        return cls.read(workspace, slug)[0]

    @classmethod
    def read(cls, workspace: Workspace, slug: str) -> tuple[Checkpoint | None, str | None]:
        """(checkpoint, None), or (None, why it cannot be used) for a damaged one, or (None, None) for none."""
        path = cls.path(workspace, slug)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None, None
        except (OSError, ValueError) as exc:
            return None, f"the checkpoint {path} cannot be read ({exc})"
        problem = _checkpoint_problem(data)
        if problem:
            return None, f"the checkpoint {path} is damaged ({problem})"
        created = data.get("created_at")
        return cls(data["server"], data["project_id"], data["since"], dict(data["tasks"]), created), None

    def save(self, workspace: Workspace, slug: str) -> None:
        """Write the checkpoint atomically, the tasks one at a time (never the whole map as one string)."""
        head = json.dumps({k: v for k, v in self.__dict__.items() if k != "tasks"}, sort_keys=True)
        tasks = sorted(self.tasks.items()) if isinstance(self.tasks, dict) else self.tasks.items()
        with atomic_writer(self.path(workspace, slug), private=True) as out:
            out.write(head[:-1] + ', "tasks": {')
            for number, (key, value) in enumerate(tasks):
                out.write(f"{', ' if number else ''}{json.dumps(key)}: {json.dumps(value)}")
            out.write("}}")


def _checkpoint_problem(data: Any) -> str | None:
    """What is wrong with a checkpoint's fields, or None; a wrong field would make every pull fail."""
    if not isinstance(data, dict):
        return "not a JSON object"
    if not isinstance(data.get("server"), str) or not data["server"].startswith(("http://", "https://")):
        return "`server` is not a URL"
    if type(data.get("project_id")) is not int or data["project_id"] < 1:
        return "`project_id` is not a positive whole number"
    try:
        datetime.strptime(str(data.get("since")), _FILTER_TIME)
    except ValueError:
        return "`since` is not a time"
    tasks = data.get("tasks")
    if not isinstance(tasks, dict) or not all(
        isinstance(k, str) and k.isdigit() and isinstance(v, str) for k, v in tasks.items()
    ):
        return "`tasks` is not a map of task ids to times"
    if not isinstance(data.get("created_at"), (str, type(None))):
        return "`created_at` is not a time"
    return None


# --- conversion and merging ---------------------------------------------------------------------


class _Batch(Conversion):
    """Records of the tasks fetched in one pull, held in temporary files until they are merged."""

    def __init__(self, workspace: Workspace, slug: str, scheme: Scheme, pseudonyms: Pseudonyms) -> None:
        self.workspace = workspace
        folder = workspace.project_state(slug)
        self.index = folder / INDEX_FILE
        tmp = (folder / "records.partial.jsonl", folder / "records.partial.index", folder / "quarantine.partial.jsonl")
        super().__init__(*tmp, scheme, pseudonyms)

    def merge_into(self, result: PullResult, *, replace_all: bool, new_project: bool, aside: Path) -> None:
        """Write the current full sets: earlier records of unchanged tasks, then the new ones.

        Records whose annotation is gone are first appended to the removed file. On a full pull
        a damaged records file is set aside (copied to `aside`) and its readable records are
        treated like the others; an incremental pull refuses it (`RecordsDamaged`).
        A records file whose line index matches it (written with it by the last pull, untouched
        since) is neither parsed nor checked for damage: its kept lines are copied as they are.
        """
        self.close()
        records, quarantine = result.records_path, result.quarantine_path
        indexed = line_index.load(self.index, records)  # the index, read once; None when it does not match
        if replace_all:
            for path in (records, quarantine) if indexed is None else (quarantine,):
                self._set_aside(path, aside, result)
        removed = [*self._dropped_records(records, replace_all, indexed), *self._dropped(quarantine, replace_all)]
        if not new_project:
            self._refuse_wholesale(result, replace_all, len(removed), indexed)
        if removed:
            result.removed_path = _keep_removed(result, removed)
        result.total_records = line_index.write_indexed(
            records, self.index, chain(self._kept_lines(records, replace_all, indexed), self._new_lines())
        )
        write_records(quarantine, chain(self._kept(quarantine, replace_all), iter_records(self.quarantine_tmp)))
        result.removed = sum(1 for r in removed if r["file"] == records.name)

    def _lines(self, path: Path, replace_all: bool) -> Iterator[dict[str, Any]]:
        if not path.exists():
            return
        for _, record in scan_records(path):
            if isinstance(record, DamagedLine):
                if not replace_all:
                    raise RecordsDamaged(path, record)
                continue  # set aside already; a full pull rebuilds the records from the server
            yield record

    def _stays(self, record: dict[str, Any], replace_all: bool) -> bool:
        return not replace_all and record.get("task_id") not in self.changed_tasks

    def _entry_stays(self, entry: line_index.Entry, replace_all: bool) -> bool:
        return not replace_all and entry.task_id not in self.changed_tasks

    def _kept(self, path: Path, replace_all: bool) -> Iterator[dict[str, Any]]:
        return (record for record in self._lines(path, replace_all) if self._stays(record, replace_all))

    def _kept_lines(
        self, path: Path, replace_all: bool, indexed: list[line_index.Entry] | None
    ) -> Iterator[tuple[bytes, str, int]]:
        """(lines, index lines, count) of the kept records: runs copied through the index, or each parsed again."""
        if replace_all:
            return
        if indexed is not None:
            yield from line_index.kept_blocks(path, indexed, lambda entry: self._entry_stays(entry, replace_all))
            return
        for record in self._kept(path, replace_all):
            line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
            yield line, line_index.entry_line(record.get("task_id"), record.get("annotation_id"), len(line)), 1

    def _new_lines(self) -> Iterator[tuple[bytes, str, int]]:
        """The records of this pull with their index lines, as `add` wrote them."""
        with self.records_tmp.open("rb") as lines, self.entries_tmp.open(encoding="utf-8") as entries:
            for line, entry in zip(lines, entries, strict=True):
                yield line, entry, 1

    def _dropped(self, path: Path, replace_all: bool) -> Iterator[dict[str, Any]]:
        for record in self._lines(path, replace_all):
            if not self._stays(record, replace_all) and str(record.get("annotation_id")) not in self.annotation_ids:
                yield {"file": path.name, "record": record}

    def _dropped_records(
        self, path: Path, replace_all: bool, indexed: list[line_index.Entry] | None
    ) -> Iterator[dict[str, Any]]:
        """Records of the records file whose annotation is gone; through the index only those lines are read."""
        if indexed is None:
            yield from self._dropped(path, replace_all)
            return
        with path.open("rb") as handle:
            offset = 0
            for entry in indexed:
                if not self._entry_stays(entry, replace_all) and entry.annotation_id not in self.annotation_ids:
                    handle.seek(offset)
                    yield {"file": path.name, "record": load_json(handle.read(entry.length))}
                offset += entry.length

    def _refuse_wholesale(
        self, result: PullResult, replace_all: bool, removed: int, indexed: list[line_index.Entry] | None
    ) -> None:
        """No earlier record kept or brought back, yet some removed: the server forgot them, not the annotators."""
        if not removed or not result.records_path.exists():
            return
        if indexed is not None:
            for entry in indexed:
                if self._entry_stays(entry, replace_all) or entry.annotation_id in self.annotation_ids:
                    return
        else:
            for record in self._lines(result.records_path, replace_all):
                if self._stays(record, replace_all) or str(record.get("annotation_id")) in self.annotation_ids:
                    return
        raise ProjectMismatch(
            f"Nothing was changed: Label Studio no longer has any annotation of the {removed} record(s) in "
            f"{result.records_path}, as if its project were a new or emptied one. If the server lost its data, "
            "point LABEL_STUDIO_URL at the right server or re-import the records (`annotate push --annotations`); "
            "if the old records are really gone for good, run `annotate pull --full --new-project` "
            "(they are kept in the .removed.jsonl file beside the records)."
        )

    def _set_aside(self, path: Path, aside: Path, result: PullResult) -> None:
        if not path.exists():
            return
        damaged = [line for _, line in scan_records(path) if isinstance(line, DamagedLine)]
        if not damaged:
            return
        aside.mkdir(parents=True, exist_ok=True, mode=0o700)
        copy = aside / f"{datetime.now(UTC).strftime('%Y-%m-%dT%H-%M-%SZ')}-{path.name}"
        copy.write_bytes(path.read_bytes())
        lines = ", ".join(str(line.line) for line in damaged[:5]) + (" …" if len(damaged) > 5 else "")
        result.warnings.append(
            f"{path} had {len(damaged)} damaged line(s) (line {lines}); the file as it was is kept at {copy}, "
            "and the records were rebuilt from the server."
        )

    def discard(self) -> None:
        self.close()
        for path in (self.records_tmp, self.entries_tmp, self.quarantine_tmp):
            path.unlink(missing_ok=True)


def _lines(path: Path) -> Iterator[str]:
    """The non-blank lines of a JSON Lines file, each ending in one newline."""
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                yield line if line.endswith("\n") else line + "\n"


@contextlib.contextmanager
def _batch(workspace: Workspace, slug: str, scheme: Scheme, pseudonyms: Pseudonyms) -> Iterator[_Batch]:
    """A batch whose temporary files go however the pull ends; a failed write becomes one sentence."""
    batch = _Batch(workspace, slug, scheme, pseudonyms)
    try:
        yield batch
    except OSError as exc:
        raise PullFailed(
            f"Could not write under {workspace.exports} ({exc.strerror or exc}: {exc.filename or ''}). "
            "The checkpoint did not move, so the next pull fetches the same tasks again; "
            "fix the folder (space, permissions) and pull again."
        ) from None
    finally:
        batch.discard()


def _keep_removed(result: PullResult, removed: list[dict[str, Any]]) -> Path:
    """Append removed records to `<slug>.removed.jsonl` (synced) before the records file loses them."""
    path = result.records_path.with_name(f"{result.slug}.removed.jsonl")
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    with path.open("a", encoding="utf-8") as handle:
        for entry in removed:
            handle.write(json.dumps({"removed_at": stamp, **entry}, ensure_ascii=False) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return path


def _finish(workspace: Workspace, result: PullResult, batch: _Batch, *, replace_all: bool, new_project: bool) -> None:
    # Every new record was validated here; kept ones were when their file carries a stamp.
    all_checked = replace_all or known_valid(batch.workspace, result.records_path, batch.scheme)
    aside = workspace.project_state(result.slug) / "damaged"
    batch.merge_into(result, replace_all=replace_all, new_project=new_project, aside=aside)
    _stamp_records(batch.workspace, result.records_path, batch.scheme, all_checked)
    result.records_written = batch.written
    result.cancelled = batch.cancelled
    result.quarantined = batch.quarantined
    batch.pseudonyms.save()


def _stamp_records(workspace: Workspace, records: Path, scheme: Scheme, all_checked: bool) -> None:
    """Let publish skip checking the records again when every one of them was checked under this scheme."""
    if all_checked:
        mark_valid(workspace, records, scheme)
    else:
        forget(workspace, records)


def _new_result(workspace: Workspace, title: str, slug: str, full: bool, raw: Path) -> PullResult:
    return PullResult(
        project=title,
        slug=slug,
        full=full,
        raw=raw,
        records_path=workspace.records_path(slug),
        quarantine_path=workspace.quarantine_path(slug),
    )


# --- from a downloaded export -------------------------------------------------------------------


def _pull_file(
    workspace: Workspace,
    path: Path,
    title: str,
    scheme: Scheme,
    *,
    full: bool,
    new_project: bool,
    on_progress: ProgressCallback | None,
) -> PullResult:
    contents = read_items(path)
    if not isinstance(contents, ExportFile):
        raise ExportError(
            f"{path} holds canonical records, not a Label Studio export. "
            "Give --from-file the JSON export downloaded from the project's Export button."
        )
    slug = project_slug(workspace, title)
    snapshot = RawSnapshot(workspace, slug)
    snapshot.copy(path)
    result = _new_result(workspace, title, slug, full, snapshot.folder)
    with _batch(workspace, slug, scheme, Pseudonyms(workspace)) as batch:
        every = list(contents.tasks)
        for done, task in enumerate(every, 1):
            batch.add(task)
            if on_progress:
                on_progress(Progress("tasks", done, len(every)))
        result.tasks_fetched = len(batch.changed_tasks)
        _finish(workspace, result, batch, replace_all=full, new_project=new_project)
    return result


# --- from the server ----------------------------------------------------------------------------


def _project_now(connection: Connection, project_id: int) -> tuple[str, int | None]:
    """The server's clock and the project's task count, read before the first page is asked for.

    The clock is the Date of this response: every change made after it has a later `updated_at`.
    """
    # Only the task count: the whole project would have its annotations counted too.
    response = connection.get_raw(f"api/projects/{project_id}/", {"include": "task_number"}, "reading the project")
    try:
        now = email.utils.parsedate_to_datetime(response.headers["date"])
    except (KeyError, TypeError, ValueError):
        # No usable Date header (an unusual proxy): take local time with a wide margin for clock skew.
        now = datetime.now(UTC) - timedelta(minutes=10)
    try:
        count = int(response.json()["task_number"])
    except (ValueError, KeyError, TypeError):
        count = None
    return now.astimezone(UTC).strftime(_FILTER_TIME), count


def _pages(
    connection: Connection,
    project_id: int,
    since: str | None,
    snapshot: RawSnapshot,
    *,
    after: int = 0,
    number: int = 0,
) -> Iterator[dict[str, Any]]:
    """Pages of tasks with their annotations after task id `after`, each saved raw before it is read.

    Keyset paging (id greater than the last one seen) stays correct when tasks are
    added or deleted while paging, and costs the same on the last page as on the first.
    """
    while True:
        number += 1
        params = _task_page_params(project_id, after, since)
        response = connection.get_raw("api/tasks/", params, f"fetching page {number} of tasks")
        snapshot.save(f"tasks-{number:05d}.json", response.content)
        page = parse_task_page(response.content, connection.url)
        yield page
        if len(page["tasks"]) < PAGE_SIZE:
            return
        after = page["tasks"][-1]["id"]


def _task_page_params(project_id: int, after: int, since: str | None) -> dict[str, Any]:
    return {
        "project": project_id,
        "fields": "all",
        "page": 1,
        "page_size": PAGE_SIZE,
        "query": task_query(after, since),
    }


def _id_bound(connection: Connection, project_id: int, ordering: str) -> int | None:
    """The lowest (`tasks:id`) or highest (`-tasks:id`) task id of the project; None when it has no task."""
    query = json.dumps({"ordering": [ordering]})
    params = {"project": project_id, "include": "id", "page": 1, "page_size": 1, "query": query}
    response = connection.get_raw("api/tasks/", params, "reading the project's task ids")
    tasks = parse_task_page(response.content, connection.url)["tasks"]
    return int(tasks[0]["id"]) if tasks else None


def _id_ranges(low: int, high: int, task_count: int) -> list[tuple[int, int]]:
    """Consecutive task id ranges covering low..high, each wide enough for about PAGE_SIZE of the project's tasks."""
    density = max(1, task_count) / max(1, high - low + 1)
    width = min(MAX_IDS_PER_PAGE, max(PAGE_SIZE, math.ceil(PAGE_SIZE / density)))
    return [(start, min(start + width - 1, high)) for start in range(low, high + 1, width)]


def _export_page(connection: Connection, project_id: int, ids: range, number: int) -> bytes:
    """Label Studio's own JSON export of the tasks among `ids` (ids of other projects are ignored by the server)."""
    params = {"exportType": "JSON", "download_all_tasks": "true", "ids[]": list(ids)}
    doing = f"fetching page {number} of tasks"
    response = connection.get_raw(f"api/projects/{project_id}/export", params, doing)
    _drop_server_copy(connection, response.headers.get("filename", ""))
    return response.content


_EXPORT_NAME = re.compile(r"project-[0-9]+-at-[0-9-]+-[0-9a-f]{8}\.json")


def _drop_server_copy(connection: Connection, name: str) -> None:
    """Remove the copy of an export page that Label Studio kept, when the workspace owns the server's folders.

    Label Studio's export endpoint writes what it answers, and a note about it, to its export
    folder (`<name>.json`, `<name>-info.json`, the name sent in the answer's `filename` header)
    and never removes them: every full pull would leave another copy of the whole project there.
    On the embedded server exactly those two files go; any other server keeps them (README).
    """
    if connection.export_dir is None or not _EXPORT_NAME.fullmatch(name):
        return
    stem = name.removesuffix(".json")
    for path in (connection.export_dir / name, connection.export_dir / f"{stem}-info.json"):
        with contextlib.suppress(OSError):  # a copy left behind costs disk, never records
            path.unlink(missing_ok=True)


def _concurrent_pages(
    connection: Connection, project_id: int, since: str | None, snapshot: RawSnapshot, task_count: int | None
) -> Iterator[dict[str, Any] | SavedPage]:
    """The pages of a pull; for a full pull of more than a page, up to IN_FLIGHT of them asked for at once.

    An incremental or small pull pages through the task list one page at a time (`_pages`).
    A full pull cuts the project's task ids (lowest to highest) into ranges of about
    PAGE_SIZE tasks and asks Label Studio's export for each range's tasks: the export
    serialises a task in half the time the task list does, and a range is one small,
    bounded request, never the one long export request that times out on big projects.
    Pages are saved raw and handed on in id order, so records come out in the same order
    and a failed request fails the pull where it would have failed one page at a time
    (retries are the client's, unchanged). Tasks added while paging have higher ids than
    the last range: the task list is paged on from there. A key that may read tasks but
    not export them falls back to the task list. Export pages are handed on saved but not
    read (`SavedPage`), for whoever converts them to read.
    """
    if since is not None or task_count is None or task_count <= PAGE_SIZE:
        yield from _pages(connection, project_id, since, snapshot)
        return
    low, high = _id_bound(connection, project_id, "tasks:id"), _id_bound(connection, project_id, "-tasks:id")
    if low is None or high is None:
        yield from _pages(connection, project_id, since, snapshot)
        return
    ranges = [range(start, end + 1) for start, end in _id_ranges(low, high, task_count)]
    try:
        first = _export_page(connection, project_id, ranges[0], 1)
    except AuthenticationFailed:
        yield from _pages(connection, project_id, since, snapshot)
        return
    yield _saved_export_page(snapshot, 1, first, connection.url, task_count)
    pool = ThreadPoolExecutor(max_workers=IN_FLIGHT, thread_name_prefix="pull-page")
    try:
        in_flight: list[Future[bytes]] = []
        for number, ids in enumerate(ranges[1:], 2):
            in_flight.append(pool.submit(_export_page, connection, project_id, ids, number))
            if len(in_flight) >= IN_FLIGHT:
                body = in_flight.pop(0).result()
                yield _saved_export_page(snapshot, number - len(in_flight), body, connection.url, task_count)
        for done, future in enumerate(in_flight, len(ranges) - len(in_flight) + 1):
            yield _saved_export_page(snapshot, done, future.result(), connection.url, task_count)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # after a failure, answers still on their way are dropped
    yield from _pages(connection, project_id, since, snapshot, after=high, number=len(ranges))


def _saved_export_page(snapshot: RawSnapshot, number: int, body: bytes, url: str, total: int) -> SavedPage:
    """An export page saved raw, to be read as a page of tasks in id order (`SavedPage.read`)."""
    return SavedPage(snapshot.save(f"tasks-{number:05d}.json", body), url, total)


def _task_ids(connection: Connection, project_id: int) -> set[str]:
    """Every task id the project has now, paged without annotations: to notice deleted tasks."""
    ids: set[str] = set()
    after = 0
    while True:
        params = {"project": project_id, "page": 1, "page_size": PAGE_SIZE, "query": task_query(after, None)}
        response = connection.get_raw("api/tasks/", params, "listing the project's task ids")
        tasks = parse_task_page(response.content, connection.url)["tasks"]
        ids.update(str(task["id"]) for task in tasks)
        if len(tasks) < PAGE_SIZE:
            return ids
        after = tasks[-1]["id"]


def _emails(connection: Connection) -> dict[int, str]:
    """Server user id → e-mail, so pseudonyms follow a person across servers and exports."""
    with connection.errors("listing the users"):
        return {user.id: user.email for user in connection.client.users.list() if user.email}


PROJECT_FIELDS = ("id", "title", "created_at", "label_config")
"""What pull reads of its project. Asked for alone, Label Studio does not count every task's
annotations for the listing, which on a big project cost about a third of an incremental pull."""


# --- the project's label config -----------------------------------------------------------------


def _vocabulary(config: str) -> dict[str, set[str]]:
    """What a label config lets annotators make: each named tag with its values, and the relation roles.

    Headers, layout, hints and colours are left out: editing them changes nothing in the annotations.
    """
    try:
        root = ET.fromstring(config)
    except ET.ParseError:
        return {}
    found: dict[str, set[str]] = {}
    for element in root.iter():
        values = {child.get("value", "") for child in element}
        if element.tag == "Relations":
            found["Relations"] = values
        elif element.get("name"):
            found[f"{element.tag} {element.get('name')}"] = (values | {element.get("value", "")}) - {""}
    return found


def config_drift(config: str, expected: str) -> list[str]:
    """How a project's label config differs from the expected one in what it lets annotators make."""
    have, want = _vocabulary(config), _vocabulary(expected)
    if not have:
        return ["it is empty or not valid XML"]
    drift = [f"{key} is missing" for key in sorted(set(want) - set(have))]
    drift += [f"{key} was added" for key in sorted(set(have) - set(want))]
    for key in sorted(set(have) & set(want)):
        missing, added = sorted(want[key] - have[key]), sorted(have[key] - want[key])
        if missing:
            drift.append(f"{key} lacks {', '.join(missing)}")
        if added:
            drift.append(f"{key} has {', '.join(added)} too")
    return drift


def _check_config(connection: Connection, project: Any, scheme: Scheme) -> None:
    """Refuse a project whose config no longer has the scheme's labels, before anything is fetched."""
    config = getattr(project, "label_config", None)
    if config is None:  # a server that sent only some fields of the listing
        with connection.errors(f"reading the label config of {project.title!r}"):
            config = connection.client.projects.get(id=project.id).label_config or ""
    drift = config_drift(config, derive.label_config(scheme))
    stale = needs_migration(config, scheme.version) if drift else None
    if stale:
        raise LabelConfigChanged(f"Nothing was pulled from {project.title!r}: {stale}, then pull again.")
    if drift:
        raise LabelConfigChanged(
            f"The label config of project {project.title!r} no longer matches labels/scheme.yaml "
            f"(version {scheme.version}): {'; '.join(drift)}. It was probably edited by hand in Label Studio; "
            f"run `annotate push --project {project.title!r}` to restore the scheme's config (or put the change "
            "into labels/scheme.yaml first), then pull again."
        )


def _pull_server(
    workspace: Workspace,
    connection: Connection,
    project: Any,
    title: str,
    scheme: Scheme,
    *,
    full: bool,
    new_project: bool,
    on_progress: ProgressCallback | None,
) -> PullResult:
    """Pull `project` (this title's, as listed with `PROJECT_FIELDS`) from the server `connection` reaches."""
    _check_config(connection, project, scheme)
    slug = project_slug(workspace, title)
    previous, damaged = Checkpoint.read(workspace, slug)
    created = _created_at(project)
    if previous is not None and not new_project:
        _check_same_project(previous, connection.url, project, created, workspace.records_path(slug))
    same = previous is not None and previous.server == connection.url and previous.project_id == project.id
    if full or new_project or not same:
        full, previous = True, None  # a full pull: every task fetched, the records rebuilt from them
    since, task_count = _project_now(connection, project.id)
    snapshot = RawSnapshot(workspace, slug)
    result = _new_result(workspace, title, slug, full, snapshot.folder)
    if damaged:
        result.warnings.append(f"{damaged[0].upper()}{damaged[1:]}; this pull fetched every task instead.")
    with _batch(workspace, slug, scheme, Pseudonyms(workspace, emails=_emails(connection))) as batch:
        known = _fetch(connection, project.id, previous, snapshot, batch, result, on_progress, task_count)
        result.tasks_fetched = len(batch.changed_tasks)
        # Deleted tasks never show as changed; fewer tasks than ever seen means some went.
        if previous is not None and task_count is not None and task_count < len(known):
            for gone in set(known) - _task_ids(connection, project.id):
                batch.changed_tasks.add(int(gone))  # their records are dropped at the merge
                del known[gone]
        _finish(workspace, result, batch, replace_all=full, new_project=new_project)
        _send_feedback(connection, batch, known, result)
    # Only now, with the records on disk and the problems shown, may the next pull start from here;
    # when the problems could not be shown, the next pull fetches the same tasks and tries again.
    if result.feedback_error is None:
        Checkpoint(connection.url, project.id, since, known, created).save(workspace, slug)
    return result


def _created_at(project: Any) -> str | None:
    created = getattr(project, "created_at", None)
    if isinstance(created, datetime):
        return created.astimezone(UTC).strftime(_FILTER_TIME)
    return str(created) if created else None


def _later(created: str, since: str) -> bool:
    """Created after the pull began; `since` is the server's Date header, whole seconds, so a second of slack."""
    try:
        made, began = (datetime.strptime(value, _FILTER_TIME) for value in (created, since))
    except ValueError:
        return False
    return made > began + timedelta(seconds=1)


def _check_same_project(previous: Checkpoint, url: str, project: Any, created: str | None, records: Path) -> None:
    """Refuse a project that is not the one the checkpoint came from: its records would all be replaced.

    Told apart by id and creation time; for a checkpoint older than the creation time was kept,
    a project created after that pull began cannot be the one it pulled.
    """
    if previous.server != url:
        return  # another server: a full pull, guarded against emptying the records at the merge
    why = None
    if previous.project_id != project.id:
        why = f"it has id {project.id}, the records' project had id {previous.project_id}"
    elif previous.created_at and created and previous.created_at != created:
        why = f"it was created at {created}, the records' project at {previous.created_at}"
    elif not previous.created_at and created and _later(created, previous.since):
        why = f"it was created at {created}, after the last pull ({previous.since})"
    if why:
        raise ProjectMismatch(
            f"Nothing was changed: the project {project.title!r} at {url} is not the one the records in {records} "
            f"were pulled from ({why}); the server's database was probably replaced or the project made anew. "
            "Point LABEL_STUDIO_URL at the server the records came from, or, to rebuild the records from this "
            "project, run `annotate pull --full --new-project` (the old records are kept in the .removed.jsonl "
            "file beside them)."
        )


def _send_feedback(connection: Any, batch: _Batch, known: MutableMapping[str, str], result: PullResult) -> None:
    """Show each converted task's problems to its annotators, or clear them once its annotations validate.

    Writing a task's data moves its `updated_at`; the checkpoint takes the new value, so the
    next pull does not fetch the task again for it.
    """
    try:
        for task_id, (data, items) in sorted(batch.feedback.items()):
            text = task_feedback(AnnotationProblems(*item) for item in items)
            updated = send_feedback(connection, task_id, data, text)
            if updated is not None:
                result.feedback_written += 1
                if updated:
                    known[str(task_id)] = updated
    except AnnotateError as exc:
        result.feedback_error = str(exc)


def _fetch(
    connection: Connection,
    project_id: int,
    previous: Checkpoint | None,
    snapshot: RawSnapshot,
    batch: _Batch,
    result: PullResult,
    on_progress: ProgressCallback | None,
    task_count: int | None = None,
) -> MutableMapping[str, str]:
    """Convert the tasks changed since `previous` (all when None); return every known task's updated_at.

    A full pull of more than a page converts in a second process (`ConversionProcess`), beside
    the fetching; every other pull converts each page itself, as it comes.
    """
    known = dict(previous.tasks) if previous else {}
    since = previous.since if previous else None
    pages = _concurrent_pages(connection, project_id, since, snapshot, task_count)
    if previous is None and task_count is not None and task_count > CONVERT_ASIDE_OVER:
        return _fetch_aside(pages, batch, TaskTimes(), on_progress)
    seen, expected = 0, None
    for page in pages:
        page = page.read() if isinstance(page, SavedPage) else page
        expected = expected if expected is not None else int(page.get("total") or 0)
        for task in page["tasks"]:
            seen += 1
            key, updated = str(task.get("id")), str(task.get("updated_at"))
            if previous and known.get(key) == updated:
                result.unchanged += 1
            else:
                batch.add(task)
            known[key] = updated
        if on_progress:
            on_progress(Progress("tasks", seen, max(expected, seen)))
    return known


def _fetch_aside(
    pages: Iterator[dict[str, Any] | SavedPage],
    batch: _Batch,
    known: MutableMapping[str, str],
    on_progress: ProgressCallback | None,
) -> MutableMapping[str, str]:
    """A full pull's pages converted in a second process, in order; every task is converted (none is known)."""
    seen, expected = 0, None

    def converted(done: list[list[tuple[str, str]]]) -> None:
        nonlocal seen
        for tasks in done:
            seen += len(tasks)
            known.update(tasks)
            if on_progress:
                on_progress(Progress("tasks", seen, max(expected or 0, seen)))

    process = ConversionProcess(batch, window=IN_FLIGHT)
    try:
        for page in pages:
            total = page.total if isinstance(page, SavedPage) else page.get("total")
            expected = expected if expected is not None else int(total or 0)
            converted(process.submit(page))
        converted(process.finish())
    finally:
        process.close()
    return known
