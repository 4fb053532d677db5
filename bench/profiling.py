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

from annotate.publish import publish
from annotate.pull import pull
from annotate.push import push
from annotate.validate import validate

from . import lab

SHOWN = 8
PROFILE_TITLE = "bench profile push"

_VALIDATE = (
    "annotate/validate.py validate_record: (1) _check_span calls _utf16_span for every span, and _utf16_span "
    "scans the whole text (all(ord(c) <= 0xFFFF for c in text)) each time, since the texts are not ASCII (curly "
    "quotes): O(spans x text), about 60 % of validate; (2) jsonschema's Draft202012Validator.iter_errors on every "
    "record, about 30 %. Fix (1): decide once per record whether the text has a character outside the BMP (a "
    "compiled regex [\\U00010000-\\U0010FFFF], C speed) and call _utf16_span only then. Fix (2): test validity "
    "first with a compiled validator (jsonschema-rs Draft202012Validator.is_valid measured 0.1-0.25x the time of "
    "json.loads per record; fastjsonschema 2-3x) and run jsonschema's iter_errors only on a record that fails, so "
    "every problem is still listed with the same message. Measured on 500 synthetic records: validate 128x "
    "json.loads as is, 57x with fix (1), about 1.8x predicted with both (meaning checks 0.65x after fix (1))."
)
WHY = {
    "push_ratio": (
        "Beyond the same batched import_tasks, push parses every corpus file first (corpus.read_article -> "
        "yaml.safe_load, the pure-Python parser: 0.55 ms an article, 5.5 s at 10,000) and makes the project with "
        "its instructions (ensure_project, current_scheme, instructions: about a second, whatever N). Closes with "
        "yaml.load(front, Loader=yaml.CSafeLoader) in read_article (libyaml is installed here: 0.10 ms an article)."
    ),
    "repush_ratio": (
        "A push with nothing new does the two parts of a full push that grow with N: it parses the whole corpus "
        "(as for push_ratio) and lists every task of the project with its data, text included (push.project_tasks, "
        "page_size 100, include=id,data: the corpus downloaded back). What would close it: keep, after each push, "
        "what the project holds (article id -> task id and text sha256) in the project's private state like pull's "
        "checkpoint, and list the tasks only when the server's task count or highest task id (one projects.get) "
        "differs from it, which still finds a batch that landed while the client saw an error; and reuse each "
        "article's parse while its file's size and mtime are unchanged."
    ),
    "pull_ratio": "Validating each converted record dominates pull. " + _VALIDATE,
    "incremental_pull_ratio": (
        "An incremental pull fetches only the changed tasks but rewrites the whole records file (merge_into reads "
        "and writes every record); the fixed part is the project lookup, the user list and the checkpoint."
    ),
    "validate_ratio": _VALIDATE,
    "publish_ratio": (
        "publish validates every gold record and every annotator's record again (publish._Problems.check -> "
        "validate_record, about 90 % of publish), so the validate fixes close most of it. " + _VALIDATE
    ),
    "rss_growth": (
        "publish keeps one buffer of up to BATCH_ROWS (256) rows per split and config (9 buffers); while N is "
        "small they are not full, so memory still grows from N to 4N until N is well above 256 x 10 articles. "
        "Measure with --memory-n 2500 or more to see the bound."
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
        found = profile(lambda: publish(workspace, version="0.9.0", project=project))
        shutil.rmtree(workspace.exports / "nk-russia-events" / "0.9.0", ignore_errors=True)
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
