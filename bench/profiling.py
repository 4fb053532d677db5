"""Where the time of a missed target goes: each such operation once more under cProfile.

Profiled runs are not timed runs (the profiler slows pure-Python code more than waiting
on the server), so they only explain the ratios, they never enter them. cProfile's
clock is wall time, so time spent waiting for Label Studio shows as the socket reads.
"""

from __future__ import annotations

import cProfile
import pstats
import shutil
from typing import Any, Callable

from annotate.dataset.publish import publish
from annotate.labelstudio.pull import pull
from annotate.labelstudio.push import push
from annotate.core.exports import validate

from . import lab

SHOWN = 8
PROFILE_TITLE = "bench profile push"

WHY = {
    "push_ratio": (
        "Nearly all of push is the import requests, the same batches of the same task JSON as the bare operation. "
        "Each batch is read, built and encoded on a second thread while the one before it is in flight, and sent "
        "as those bytes (the SDK's encoder would walk every task again on the main thread while the server "
        "waits). Beyond the imports push makes four requests: the key check, one lean listing of the title's "
        "projects, the project's creation (which the bare operation does before its clock starts) and, for a "
        "project it did not just make, the fingerprint of its tasks."
    ),
    "repush_ratio": (
        "A push with nothing new makes three requests whatever N is (the key check, one listing of the title's "
        "projects with only the fields push compares, and the newest task id) and parses no article; the corpus "
        "index is one os.scandir and a stat per file, the scheme is built once per text in a process. What remains "
        "is fixed or a stat per file, so the ratio falls as N grows."
    ),
    "pull_ratio": (
        "A full pull asks Label Studio's export for id ranges of about 100 tasks, three at a time, saves each page "
        "raw and hands it to a second (spawned) process that converts and validates it while the next pages are "
        "served. The pull's own thread then waits on Label Studio nearly all the time (pull_waiting_share): the "
        "server's pages set the pace, and on 2 cores the server, the page threads and the conversion process "
        "share the machine. Where this misses, the pages cost the server more per task than its one-request "
        "export; pages of 500 tasks were measured to cost more per task than pages of 100."
    ),
    "incremental_pull_ratio": (
        "Two parts: fetching the changed tasks (the task list filtered by updated_at, about 4.5 ms of the server's "
        "time per task with its annotations) and the merge, which copies the kept lines of the records file "
        "through its line index without parsing them but still reads and writes the whole file (about 140 MB at "
        "N = 10,000). Around them: the key check, one lean listing of the title's projects, the project's task "
        "count and clock, and the users' e-mails, one request each."
    ),
    "validate_ratio": (
        "validate reads each line (json.loads, the denominator) and checks it: the JSON Schema with jsonschema-rs, "
        "then the scheme's meaning in one pass of set and dict look-ups (_plain_meaning, repeats found by counting), "
        "handing any doubtful record to the full checker. The meaning pass and the schema check cost about as much "
        "as parsing the line."
    ),
    "publish_ratio": (
        "publish does what the bare operation does not: it tokenises each article (once, shared by the tokens and "
        "windows configs and TextEE), writes the TextEE lines, a digest of every document row for the changelog, "
        "and the card, manifest, statistics and Croissant files. Its rows go to Arrow column by column with "
        "encoders built once from the features; records stamped valid by pull are not validated again."
    ),
    "rss_growth": (
        "Peaks at 4N and at N, each in a child process, above its imports. Pull keeps 8 to 40 bytes a task (ids "
        "and times for the merge and the checkpoint) and a few pages; its conversion process's own peak is "
        "counted too. Publish streams its rows to one Arrow stream file per split and writes the parquet files "
        "one at a time at the end, so only one file's row-group metadata (6 to 30 KB a row group) is held at "
        "once; per article it keeps a byte for its split and 32 for its row digest, with the ids packed, and it "
        "looks corpus metadata up in a scratch SQLite file."
    ),
}
"""Why each target can be missed and what would close it, from the profiles of the runs so far."""


def _where(key: tuple[str, int, str]) -> str:
    path, line, name = key
    if path == "~":
        return name  # a built-in function
    short = path.split("site-packages/", 1)[-1].replace(f"{lab.REPO}/", "")
    return f"{short}:{line}({name})"


def profile(action: Callable[[], Any]) -> dict[str, Any]:
    """Seconds in all, the functions with the most own time, and the toolkit's functions by inclusive time."""
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        action()
    finally:
        profiler.disable()
    stats = pstats.Stats(profiler)
    total = stats.total_tt or 1e-9
    rows = stats.stats  # (file, line, function) -> (calls, primitive calls, own time, inclusive time, callers)

    def share(seconds: float) -> float:
        return round(100 * seconds / total, 1)

    own = sorted(rows.items(), key=lambda item: item[1][2], reverse=True)[:SHOWN]
    ours = [item for item in rows.items() if "/annotate/" in item[0][0]]
    inclusive = sorted(ours, key=lambda item: item[1][3], reverse=True)[1 : SHOWN + 1]  # the entry point is 100 %
    return {
        "seconds": round(total, 2),
        "own_time_percent": {_where(key): share(value[2]) for key, value in own},
        "toolkit_inclusive_percent": {_where(key): share(value[3]) for key, value in inclusive},
    }


def _actions(bench: Any) -> dict[str, Callable[[], Any]]:
    workspace, project = bench.workspace, "bench annotated"
    records = workspace.records_path(bench.slug)

    def incremental() -> Any:
        lab.change_annotations(bench.connection, records, 0.01, seed=99)
        return profile(lambda: pull(workspace, project=project))

    def published() -> Any:
        found = profile(lambda: publish(workspace, version="99.0.0", project=project))
        shutil.rmtree(workspace.exports / "nk-russia-events" / "99.0.0", ignore_errors=True)
        return found

    return {
        "push_ratio": lambda: profile(lambda: push(workspace, project=PROFILE_TITLE, batch_size=bench.options.batch_size)),
        "repush_ratio": lambda: profile(lambda: push(workspace, project=PROFILE_TITLE)),
        "pull_ratio": lambda: profile(lambda: pull(workspace, project=project, full=True)),
        "incremental_pull_ratio": incremental,
        "validate_ratio": lambda: profile(lambda: validate(records, workspace)),
        "publish_ratio": published,
    }


def explain_misses(bench: Any, results: dict[str, Any]) -> None:
    """A note for every missed target: why, what would close it, and the profile of the operation."""
    actions = _actions(bench)
    missed = [name for name, met in results["met"].items() if not met]
    if "repush_ratio" in missed and "push_ratio" not in missed:
        actions["push_ratio"]()  # the project a repush can find nothing new in
    for name in missed:
        print(f"profiling {name}", flush=True)
        note: dict[str, Any] = {"why": WHY.get(name) or "not yet analysed"}
        if name in actions:
            note["profile"] = actions[name]()
        results["notes"][name] = note
    lab.delete_project(bench.connection, PROFILE_TITLE)
