"""Turning fetched tasks into records, in the pulling process or in a second process beside it.

A `Conversion` converts each task (`add`), writes the valid records and the quarantined
annotations to temporary files as it goes, and keeps only what the merge and the feedback
need. A full pull of many pages runs it in a process of its own (`ConversionProcess`):
the pull's process saves each page raw and hands on its path, and the conversion, which
costs as much CPU as Label Studio spends serving the page, runs on the other core while
the next pages are served, instead of taking turns with the page threads. Pages are
converted one at a time in the order they are handed on, so the records come out in the
same order, with the same bytes, as when the pull converts them itself.

This module imports no HTTP client: a second process starts it quickly.
"""

from __future__ import annotations

import json
import multiprocessing
from array import array
from bisect import bisect_left
from itertools import chain
from collections import deque
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from annotate.core import line_index
from annotate.core.derive import FEEDBACK
from annotate.core.errors import LabelStudioError, PullFailed
from annotate.core.exports import repeated_task, task_records
from annotate.core.inputs import load_json
from annotate.core.records import Problem
from annotate.core.scheme import Scheme
from annotate.labelstudio.pseudonyms import Pseudonyms

Feedback = tuple[str, Any, tuple[Problem, ...], Mapping[str, Any]]
"""One annotation's problems as its annotator is shown them: who, annotation id, problems, record."""


@dataclass(frozen=True)
class Quarantined:
    """An annotation kept out of the records, with everything wrong with it."""

    task: Any
    annotation: Any
    problems: tuple[Problem, ...]


@dataclass(frozen=True)
class SavedPage:
    """A page of Label Studio's export saved raw under the pull's snapshot, not read yet."""

    path: Path
    url: str
    total: int

    def read(self) -> dict[str, Any]:
        """The page as a page of tasks in id order; a page that is no list of tasks is a `LabelStudioError`."""
        tasks = _export_tasks(self.path.read_bytes(), self.url)
        return {"tasks": tasks, "total": self.total}


def _export_tasks(body: bytes, url: str) -> list[dict[str, Any]]:
    try:
        tasks = load_json(body)
    except ValueError:
        tasks = None
    if not isinstance(tasks, list) or not all(isinstance(task, dict) and "id" in task for task in tasks):
        raise LabelStudioError(
            f"Label Studio at {url} answered an export of tasks with something other than a list of tasks. "
            "Check that the URL points at Label Studio 1.23 or later."
        )
    return sorted(tasks, key=lambda task: int(task["id"]))


class IdSet:
    """A set of ids that holds whole numbers in 8 bytes each: `in`, `add`, `len` and iteration, as a set has them.

    A pull keeps the id of every task and annotation it converted; as Python ints or strings
    in a set they cost 60-100 bytes each, which at tens of thousands of tasks is most of a pull's
    memory. Ids are whole numbers (`str_digits` keeps canonical decimal strings as their number
    too), and mostly come in increasing order: those go to a sorted array, the few others to a
    small set folded into the array when it grows. Anything else is kept as it is, so membership
    is exactly a set's (1, 1.0 and True are one member; 1 and "1" are two).
    """

    _FOLD = 4096

    def __init__(self, *, str_digits: bool = False) -> None:
        self._str_digits = str_digits
        self._sorted = array("q")
        self._unsorted: set[int] = set()
        self._other: set[Any] = set()

    def _number(self, value: Any) -> int | None:
        if self._str_digits:
            digits = type(value) is str and value.isascii() and value.isdigit() and len(value) < 19
            return int(value) if digits and (value == "0" or value[0] != "0") else None
        number = type(value) in (int, bool, float) and value == value and abs(value) < 2**62
        return int(value) if number and value == int(value) else None

    def add(self, value: Any) -> None:
        number = self._number(value)
        if number is None:
            self._other.add(value)
        elif self._has(number):
            return
        elif not self._sorted or number > self._sorted[-1]:
            self._sorted.append(number)
        else:
            self._unsorted.add(number)
            if len(self._unsorted) >= self._FOLD:
                self._sorted = array("q", sorted(chain(self._sorted, self._unsorted)))
                self._unsorted.clear()

    def __contains__(self, value: Any) -> bool:
        number = self._number(value)
        return value in self._other if number is None else self._has(number)

    def _has(self, number: int) -> bool:
        found = bisect_left(self._sorted, number)
        return (found < len(self._sorted) and self._sorted[found] == number) or number in self._unsorted

    def __len__(self) -> int:
        return len(self._sorted) + len(self._unsorted) + len(self._other)


def _canonical(key: str) -> int | None:
    """The number a task id key ("123") stands for, when the key is exactly how that number is written."""
    digits = key.isascii() and key.isdigit() and len(key) < 19
    return int(key) if digits and (key == "0" or key[0] != "0") else None


class TaskTimes(MutableMapping[str, str]):
    """Task id → `updated_at`, as the checkpoint keeps them, in about 40 bytes a task instead of 170.

    A full pull learns every task's time in increasing id order, and the times have one width:
    those go to a sorted array of ids and one byte string of times. Anything else (an id out
    of order or not a plain number, a time of another width, a time changed later) is kept in
    a small dict that takes precedence. It behaves as a dict of strings; iteration is in id order.
    """

    def __init__(self) -> None:
        self._ids = array("q")
        self._times = bytearray()
        self._width = 0
        self._gone: set[int] = set()
        self._other: dict[str, str] = {}

    def _slot(self, key: str) -> int | None:
        number = _canonical(key) if type(key) is str else None
        if number is None or number in self._gone:
            return None
        found = bisect_left(self._ids, number)
        return found if found < len(self._ids) and self._ids[found] == number else None

    def _fits(self, value: str) -> bool:
        return type(value) is str and value.isascii() and len(value) == self._width

    def __getitem__(self, key: str) -> str:
        if key in self._other:
            return self._other[key]
        slot = self._slot(key)
        if slot is None:
            raise KeyError(key)
        return self._times[slot * self._width : (slot + 1) * self._width].decode("ascii")

    def __setitem__(self, key: str, value: str) -> None:
        slot = self._slot(key)
        if slot is not None and self._fits(value):
            self._times[slot * self._width : (slot + 1) * self._width] = value.encode("ascii")
            self._other.pop(key, None)
            return
        number = _canonical(key) if type(key) is str else None
        if slot is None and number is not None and key not in self._other and number not in self._gone:
            if not self._ids:
                self._width = len(value) if type(value) is str and value.isascii() else 0
            if (not self._ids or number > self._ids[-1]) and self._fits(value) and self._width:
                self._ids.append(number)
                self._times += value.encode("ascii")
                return
        self._other[key] = value

    def __delitem__(self, key: str) -> None:
        slot = self._slot(key)
        if slot is None and key not in self._other:
            raise KeyError(key)
        self._other.pop(key, None)
        if slot is not None:
            self._gone.add(self._ids[slot])

    def __iter__(self) -> Iterator[str]:
        for number in self._ids:
            if number not in self._gone:
                yield str(number)
        for key in self._other:
            if self._slot(key) is None:
                yield key

    def __len__(self) -> int:
        return len(self._ids) - len(self._gone) + sum(1 for key in self._other if self._slot(key) is None)


class Conversion:
    """Records of the tasks fetched in one pull, written to temporary files until they are merged."""

    def __init__(
        self, records_tmp: Path, entries_tmp: Path, quarantine_tmp: Path, scheme: Scheme, pseudonyms: Pseudonyms
    ) -> None:
        self.scheme = scheme
        self.pseudonyms = pseudonyms
        self.records_tmp, self.entries_tmp, self.quarantine_tmp = records_tmp, entries_tmp, quarantine_tmp
        self._records = records_tmp.open("w", encoding="utf-8")
        self._entries = entries_tmp.open("w", encoding="utf-8")
        self._quarantine = quarantine_tmp.open("w", encoding="utf-8")
        self.changed_tasks = IdSet()
        self.annotation_ids = IdSet(str_digits=True)
        self.written = 0
        self.cancelled = 0
        self.quarantined: list[Quarantined] = []
        self.feedback: dict[int, tuple[dict[str, Any], list[Feedback]]] = {}
        """Per task with problems to show or shown before: its data and its annotations' problems."""

    def add(self, task: dict[str, Any]) -> None:
        task_id = task.get("id")
        if not isinstance(task_id, (int, str)) or isinstance(task_id, bool):
            task_id = repr(task_id)  # named by the schema check below; kept hashable to track it
        repeated = repeated_task(task, self.changed_tasks)  # type: ignore[arg-type]  # uses only `in` and `add`
        if repeated:
            self._quarantine_one(task_id, None, {}, [repeated])
            return
        self.changed_tasks.add(task_id)
        items: list[Feedback] = []
        for record, problems in task_records(task, self.scheme, annotator=self.pseudonyms):
            annotation = problems[0].annotation if problems else record.get("annotation_id")
            self.annotation_ids.add(str(annotation))
            if problems:
                self._quarantine_one(task.get("id"), annotation, record, problems)
                items.append((self._who(record), annotation, tuple(problems), record))
                continue
            line = json.dumps(record, ensure_ascii=False) + "\n"
            self._records.write(line)
            self._entries.write(line_index.entry_line(record.get("task_id"), annotation, len(line.encode("utf-8"))))
            self.written += 1
            self.cancelled += bool(record.get("cancelled"))
        data = task.get("data")
        # A task with nothing to show and nothing shown before needs no feedback written: its data is not kept.
        if (
            isinstance(task_id, int)
            and not isinstance(task_id, bool)
            and isinstance(data, dict)
            and (items or data.get(FEEDBACK))
        ):
            self.feedback[task_id] = (data, items)

    def _who(self, record: Mapping[str, Any]) -> str:
        """The annotator as they know themselves: their e-mail where it is known, else the pseudonym."""
        name = str(record.get("annotator") or "")
        who = self.pseudonyms.mapping.get(name, "")
        return who if "@" in who else (name or "an unknown annotator")

    def _quarantine_one(self, task: Any, annotation: Any, record: Mapping[str, Any], problems: list[Problem]) -> None:
        entry = {
            "task_id": task,
            "annotation_id": None if annotation is None else str(annotation),  # as records carry it
            "problems": [p.as_dict() for p in problems],
            "record": record or None,
        }
        self._quarantine.write(json.dumps(entry, ensure_ascii=False) + "\n")
        self.quarantined.append(Quarantined(task, annotation, tuple(problems)))

    def close(self) -> None:
        for handle in (self._records, self._entries, self._quarantine):
            handle.close()

    def state(self) -> dict[str, Any]:
        """What the merge and the feedback need of the converted tasks (the records are in the files)."""
        names = self.pseudonyms
        return {
            "changed_tasks": self.changed_tasks,
            "annotation_ids": self.annotation_ids,
            "written": self.written,
            "cancelled": self.cancelled,
            "quarantined": self.quarantined,
            "feedback": self.feedback,
            "pseudonyms": (names.mapping, names._added),
        }

    def adopt(self, state: dict[str, Any]) -> None:
        """Take over what a conversion in another process found (its files are these files)."""
        for name in ("changed_tasks", "annotation_ids", "written", "cancelled", "quarantined", "feedback"):
            setattr(self, name, state[name])
        self.pseudonyms.mapping, self.pseudonyms._added = state["pseudonyms"]


# --- in a second process ----------------------------------------------------------------------------

_here: Conversion | None = None
"""The conversion of the process started by `ConversionProcess` (one per process)."""
_base_kb: int | None = None

last_memory_kb: tuple[int, int] | None = None
"""The last conversion process's resident set after its imports and at its peak, in kB (for the benchmark)."""


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(f"{field}:"):
                    return int(line.split()[1])
    except OSError:
        pass  # not Linux: nothing to tell
    return None


def _start(paths: tuple[Path, Path, Path], scheme: Scheme, pseudonyms: Pseudonyms) -> None:
    global _here, _base_kb
    _here = Conversion(*paths, scheme, pseudonyms)
    _base_kb = _status_kb("VmRSS")


def _convert(tasks: list[dict[str, Any]]) -> list[tuple[str, str]]:
    assert _here is not None
    for task in tasks:
        _here.add(task)
    return [(str(task.get("id")), str(task.get("updated_at"))) for task in tasks]


def _convert_saved(page: SavedPage) -> list[tuple[str, str]] | str:
    try:
        tasks = page.read()["tasks"]
    except LabelStudioError as exc:
        return str(exc)  # raised again in the pulling process, which fails where it would have
    return _convert(tasks)


def _finish() -> dict[str, Any]:
    assert _here is not None
    _here.close()
    peak = _status_kb("VmHWM")
    memory = (_base_kb, peak) if _base_kb is not None and peak is not None else None
    return {**_here.state(), "memory_kb": memory}


def _context() -> Any:
    """Spawn, never fork: a forked process would inherit the pull's lock on the project (an flock, let go only
    when every copy of its descriptor is closed) and the page threads' sockets, and could outlive a pull that
    was killed. A spawned one inherits nothing but its pipes. (As with any spawned process, a script that
    calls `pull` does so under `if __name__ == "__main__":`.)"""
    return multiprocessing.get_context("spawn")


class ConversionProcess:
    """A `Conversion` run in a second process, fed pages in order; at most `window` pages wait for it.

    `submit` hands on a page (saved raw, or a page of tasks already read) and returns the
    (task id, updated_at) of each task of the pages converted meanwhile, oldest first; `finish`
    waits for the rest and gives `conversion` what the process found.
    """

    def __init__(self, conversion: Conversion, window: int) -> None:
        conversion.close()  # the process writes the same files afresh
        paths = (conversion.records_tmp, conversion.entries_tmp, conversion.quarantine_tmp)
        self.conversion = conversion
        self.window = window
        self.pending: deque[Future[Any]] = deque()
        self.pool = ProcessPoolExecutor(
            max_workers=1,
            mp_context=_context(),
            initializer=_start,
            initargs=(paths, conversion.scheme, conversion.pseudonyms),
        )

    def submit(self, page: SavedPage | dict[str, Any]) -> list[list[tuple[str, str]]]:
        # A process that died between two pages breaks the pool: submitting to it raises at once.
        if isinstance(page, SavedPage):
            self.pending.append(self._call(lambda: self.pool.submit(_convert_saved, page)))
        else:
            self.pending.append(self._call(lambda: self.pool.submit(_convert, page["tasks"])))
        done = []
        while self.pending and (len(self.pending) > self.window or self.pending[0].done()):
            done.append(self._result(self.pending.popleft()))
        return done

    def finish(self) -> list[list[tuple[str, str]]]:
        done = [self._result(future) for future in self.pending]
        self.pending.clear()
        global last_memory_kb
        state = self._call(lambda: self.pool.submit(_finish).result())
        last_memory_kb = state.pop("memory_kb")
        self.conversion.adopt(state)
        return done

    def _result(self, future: Future[Any]) -> list[tuple[str, str]]:
        found = self._call(future.result)
        if isinstance(found, str):
            raise LabelStudioError(found)
        return found

    @staticmethod
    def _call(result: Callable[[], Any]) -> Any:
        try:
            return result()
        except BrokenProcessPool:
            raise PullFailed(
                "The process converting the pulled tasks stopped unexpectedly: out of memory, or, when a Python "
                "script calls `pull`, a script without `if __name__ == \"__main__\":` around the call (the process "
                "imports the script again). The checkpoint did not move, so the next pull fetches the same tasks again."
            ) from None

    def close(self) -> None:
        """Stop the process; after a failure, pages still waiting are dropped."""
        self.pool.shutdown(wait=True, cancel_futures=True)
