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
from annotate.core.validate import validate

from . import lab

SHOWN = 8
PROFILE_TITLE = "bench profile push"

WHY = {
    'push_ratio': (
        "82% of push is the same batched import_tasks as the bare operation (waiting on Label Studio). The extra ~2.9 s at 10,000 articles is reading the corpus (corpus.read_corpus: 13% of push; YAML front matter and file reads for 10,000 files), plus one project lookup and update. What would close it: keep each article's parse in the private state keyed by file size and modification time, so an unchanged file is not parsed again."
    ),
    'repush_ratio': (
        "Since the push keeps its article -> task map (fingerprinted by the server's task count and highest task id), a push with nothing new no longer lists the tasks: it fell from 0.97 to 0.205. What remains: parsing the corpus again (corpus.read_corpus, 51% of the 3.4 s) and fixed round trips (project lookup, config check and update, fingerprint: ~1 s). What would close it: the parse cache of push_ratio, and skipping the project update when config and instructions are unchanged; together about 0.05."
    ),
    'pull_ratio': (
        "74% of a full pull is waiting for Label Studio to serve 100 pages of 100 tasks with their annotations (pull._pages via the data manager API); conversion and validation are 13%. Label Studio serialises the same tasks faster in one export than through the paged task API. What would close it: take full pulls from an export snapshot (projects.exports.create, poll, download: asynchronous, so it does not time out like the one-shot export) streamed to disk and converted in batches, and keep paging for incremental pulls, which meet their target (0.049)."
    ),
    'publish_ratio': (
        "publish writes three configs (documents, tokens, annotations) from streamed records and validates every record again; the bare operation writes rows already built. Profile: datasets' per-example encoding (Features.encode_example, str2int for every ClassLabel: ~30%), tokenising and aligning the tokens config (tokens.align: 16%), re-validating gold and annotator records (15%). What would close it: build the Arrow columns directly with label -> id maps computed once from the scheme instead of encode_example per row, and skip re-validating records whose file checksum pull already validated."
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
