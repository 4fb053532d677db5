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
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

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
    line: str = field(default="", compare=False, repr=False)
    """The index line this entry was read from, as `entry_line` wrote it ("" when not read from an index)."""


def _stamp(path: Path) -> dict[str, int]:
    info = os.stat(path)
    return {"bytes": info.st_size, "inode": info.st_ino, "mtime_ns": info.st_mtime_ns, "ctime_ns": info.st_ctime_ns}


def entry_line(task_id: Any, annotation_id: Any, length: int) -> str:
    """The index line of one record line."""
    return json.dumps([task_id, str(annotation_id), length]) + "\n"


def matches(index: Path, records: Path) -> bool:
    """True when `index` was written for `records` as the file is now, and every line of it is sound."""
    return load(index, records) is not None


def load(index: Path, records: Path) -> list[Entry] | None:
    """The entries of `index` in line order when it `matches` `records`, else None; one read of the index.

    Its lines must be as many as it says, each well formed, and their lengths must add up to the
    records file's size (the records themselves are not read).
    """
    try:
        stamp = _stamp(records)
        with index.open("rb") as handle:
            header = json.loads(handle.readline())
            if (
                not isinstance(header, dict)
                or header.get("version") != VERSION
                or header.get("stamp") != stamp
                or not isinstance(header.get("lines"), int)
            ):
                return None
            found = [_entry(raw) for raw in handle]
    except (OSError, ValueError):
        return None
    if len(found) != header["lines"] or sum(entry.length for entry in found) != stamp["bytes"]:
        return None
    return found


_PLAIN = re.compile(rb'\[(-?(?:0|[1-9][0-9]*)), "([\x20\x21\x23-\x5b\x5d-\x7e]*)", ([1-9][0-9]*)\]\n')
"""An index line as `entry_line` writes it for an integer task id: read without the JSON parser, to the same values."""


def _entry(raw: bytes) -> Entry:
    plain = _PLAIN.fullmatch(raw)
    if plain is not None and int(plain[3]) >= 2:
        return Entry(int(plain[1]), plain[2].decode("ascii"), int(plain[3]), raw.decode("ascii"))
    value = json.loads(raw)
    if (
        not isinstance(value, list)
        or len(value) != 3
        or not isinstance(value[1], str)
        or type(value[2]) is not int
        or value[2] < 2
        or not raw.endswith(b"\n")
    ):
        raise ValueError("not an index line")
    return Entry(value[0], value[1], value[2], raw.decode("utf-8"))


BLOCK = 1 << 22
"""Bytes of consecutive kept lines read (and written) at once at most, unless one line is longer."""


def kept_blocks(
    records: Path, found: Sequence[Entry], keep: Callable[[Entry], bool]
) -> Iterator[tuple[bytes, str, int]]:
    """Runs of consecutive lines of `records` whose entry `keep`s, each read in one call: (lines, index lines, count).

    For the entries `load` gave for `records`. Every line is checked: it ends where its entry's
    length says, in a newline, and holds no other newline.
    """
    with records.open("rb") as handle:
        run: list[Entry] = []
        start = size = offset = 0
        for entry in found:
            if keep(entry):
                if run and size + entry.length > BLOCK:
                    yield _block(handle, records, start, size, run)
                    run = []
                if not run:
                    start, size = offset, 0
                run.append(entry)
                size += entry.length
            elif run:
                yield _block(handle, records, start, size, run)
                run = []
            offset += entry.length
        if run:
            yield _block(handle, records, start, size, run)


def _block(handle: BinaryIO, records: Path, start: int, size: int, run: list[Entry]) -> tuple[bytes, str, int]:
    handle.seek(start)
    raw = handle.read(size)
    sound = len(raw) == size and raw.count(b"\n") == len(run)
    end = 0
    for entry in run:
        end += entry.length
        sound = sound and raw[end - 1] == 0x0A  # with the count above: each line ends there, no other newline
    if not sound:
        raise ValueError(f"{records} does not have the lines its index says")
    index_lines = "".join(entry.line or entry_line(entry.task_id, entry.annotation_id, entry.length) for entry in run)
    return raw, index_lines, len(run)


def forget(index: Path) -> None:
    index.unlink(missing_ok=True)


def write_indexed(records: Path, index: Path, blocks: Iterable[tuple[bytes, str, int]]) -> int:
    """Write `records` atomically from (UTF-8 lines, their index lines, how many) blocks, then its index.

    Returns the number of lines written.

    The index is written only once the records file is in place; a pull stopped between the two
    leaves the old index, whose stamp no longer matches the new file (read in full next time).
    `blocks` may read the old index: it is replaced only after they are all written.
    """
    body = index.with_name(f".{index.name}.body")
    count = 0
    try:
        with atomic_writer(records) as handle, body.open("w", encoding="utf-8") as entries_out:
            raw = handle.buffer  # the lines are UTF-8 already: written as they are, never decoded
            for lines, entries_text, lines_count in blocks:
                raw.write(lines)
                entries_out.write(entries_text)
                count += lines_count
        header = {"version": VERSION, "stamp": _stamp(records), "lines": count}
        with atomic_writer(index, private=True) as out, body.open(encoding="utf-8") as source:
            out.write(json.dumps(header, sort_keys=True) + "\n")
            for chunk in iter(lambda: source.read(1 << 20), ""):
                out.write(chunk)
    finally:
        body.unlink(missing_ok=True)
    return count
