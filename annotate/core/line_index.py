"""A line index of a records file: each line's task id, annotation id and length, so a merge copies lines unparsed.

A pull that merges a few changed tasks into a large records file needs, of every kept
line, only its task id (to know whether it stays) and its annotation id (to know whether
its annotation is gone). The index gives both without reading the records: it is written
beside the private state by the code that wrote the records file, in the same pass, and
stamped with the file's size, inode, modification and change times as they were right after
the file was moved into place. Any later write, rename or permission change of the records
file moves its change time (which no user can set back), so an edited, damaged or replaced
file has no index that matches; the merge then reads the file record by record, as it
always did, and finds what is wrong with it. A missing, damaged or foreign index is simply
not used, never trusted.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from annotate.core.workspace import atomic_writer

VERSION = 1


@dataclass(frozen=True)
class Entry:
    """One line of a records file as the index knows it."""

    task_id: Any
    """The record's `task_id`, as JSON gives it back (an int, normally)."""
    annotation_id: str
    """`str()` of the record's `annotation_id`, as the merge compares them."""
    length: int
    """Bytes of the line, its newline included."""


def _stamp(path: Path) -> dict[str, int]:
    info = os.stat(path)
    return {"bytes": info.st_size, "inode": info.st_ino, "mtime_ns": info.st_mtime_ns, "ctime_ns": info.st_ctime_ns}


def entry_line(task_id: Any, annotation_id: Any, length: int) -> str:
    """The index line of one record line."""
    return json.dumps([task_id, str(annotation_id), length]) + "\n"


def _header(index: Path) -> dict[str, Any] | None:
    try:
        with index.open("rb") as handle:
            first = handle.readline()
        found = json.loads(first)
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) and found.get("version") == VERSION else None


def matches(index: Path, records: Path) -> bool:
    """True when `index` was written for `records` as the file is now, and every line of it is sound.

    Reads the index once (not the records): its lines must be as many as it says, each well formed,
    and their lengths must add up to the records file's size.
    """
    header = _header(index)
    try:
        stamp = _stamp(records)
    except OSError:
        return False
    if header is None or header.get("stamp") != stamp or not isinstance(header.get("lines"), int):
        return False
    count = total = 0
    try:
        for entry in _entries(index):
            count += 1
            total += entry.length
    except (OSError, ValueError):
        return False
    return count == header["lines"] and total == stamp["bytes"]


def _entries(index: Path) -> Iterator[Entry]:
    with index.open("rb") as handle:
        handle.readline()  # the header
        for raw in handle:
            value = json.loads(raw)
            if (
                not isinstance(value, list)
                or len(value) != 3
                or not isinstance(value[1], str)
                or type(value[2]) is not int
                or value[2] < 2
            ):
                raise ValueError("not an index line")
            yield Entry(value[0], value[1], value[2])


def entries(index: Path) -> Iterator[Entry]:
    """The entries of an index that `matches` its records file, in line order."""
    return _entries(index)


def indexed_lines(index: Path, records: Path) -> Iterator[tuple[Entry, bytes]]:
    """Each line of `records` (bytes, newline included) with its entry; for an index that `matches` it."""
    with records.open("rb") as handle:
        for entry in _entries(index):
            raw = handle.read(entry.length)
            if len(raw) != entry.length or not raw.endswith(b"\n") or b"\n" in raw[:-1]:
                raise ValueError(f"{records} does not have the lines its index says")
            yield entry, raw


def forget(index: Path) -> None:
    index.unlink(missing_ok=True)


def write_indexed(records: Path, index: Path, lines: Iterable[tuple[bytes, str]]) -> int:
    """Write `records` atomically from (UTF-8 line, index line) pairs, then its index; return the count.

    The index is written only once the records file is in place; a pull stopped between the two
    leaves the old index, whose stamp no longer matches the new file (read in full next time).
    `lines` may read the old index: it is replaced only after they are all written.
    """
    body = index.with_name(f".{index.name}.body")
    count = 0
    try:
        with atomic_writer(records) as handle, body.open("w", encoding="utf-8") as entries_out:
            raw = handle.buffer  # the lines are UTF-8 already: written as they are, never decoded
            for line, entry in lines:
                raw.write(line)
                entries_out.write(entry)
                count += 1
        header = {"version": VERSION, "stamp": _stamp(records), "lines": count}
        with atomic_writer(index, private=True) as out, body.open(encoding="utf-8") as source:
            out.write(json.dumps(header, sort_keys=True) + "\n")
            for chunk in iter(lambda: source.read(1 << 20), ""):
                out.write(chunk)
    finally:
        body.unlink(missing_ok=True)
    return count
