"""The toolkit against the bare operations it wraps: `python -m bench.run --n 10000 --runs 3`.

Builds a synthetic corpus of N articles with two annotators' annotations in a throwaway
workspace, starts a real Label Studio there (SQLite, loopback), times push, pull,
validate and publish against their bare counterparts over several runs, measures peak
memory of pull and publish at 4N against N in child processes, and writes
bench/results.json (ratios of medians, raw medians, machine, commit, and a note for
every missed target, with the profile that explains it). Not a test: nothing here fails
on a slow machine; the ratios say how much the toolkit adds.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from annotate.labelstudio import server
from annotate.labelstudio.push import DEFAULT_BATCH_SIZE, push, task_data
from annotate.labelstudio.pull import pull
from annotate.core.exports import validate
from annotate.core.workspace import Workspace, slugify

from . import lab, profiling, report, synthetic

CHANGED_SHARE = 0.01
ANNOTATED = "bench annotated"


@dataclass
class Options:
    n: int
    runs: int
    memory_n: int
    batch_size: int
    out: Path
    keep: bool
    profile: bool
    database: str = "sqlite"


@dataclass
class Bench:
    options: Options
    root: Path
    workspace: Workspace
    articles: list
    connection: Any = None
    annotated_id: int = 0
    times: dict[str, list[float]] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    steps: dict[str, float] = field(default_factory=dict)
    """Wall seconds of each step of the whole run (setting up, each operation with its bare one, memory)."""

    @property
    def slug(self) -> str:
        return slugify(ANNOTATED)

    def time(self, name: str, action: Callable[[], Any]) -> Any:
        began = time.perf_counter()
        outcome = action()
        self.times.setdefault(name, []).append(time.perf_counter() - began)
        return outcome

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        began = time.perf_counter()
        try:
            yield
        finally:
            self.steps[name] = self.steps.get(name, 0.0) + time.perf_counter() - began


def parse_options(argv: list[str] | None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="articles in the corpus (default 10000)")
    parser.add_argument("--runs", type=int, default=3, help="runs whose medians are compared (default 3)")
    parser.add_argument(
        "--memory-n", type=int, default=None, help="N for the memory measurement (4N against N); default --n"
    )
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="tasks per import request")
    parser.add_argument("--out", type=Path, default=lab.REPO / "bench" / "results.json")
    parser.add_argument("--keep", action="store_true", help="keep the throwaway workspace (its path is printed)")
    parser.add_argument("--no-profile", dest="profile", action="store_false", help="do not profile missed targets")
    parser.add_argument(
        "--database",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="Label Studio's database: SQLite in the workspace (default), or a throwaway PostgreSQL on 127.0.0.1 "
        "made by tests/with-postgres.sh",
    )
    args = parser.parse_args(argv)
    if args.n < 1 or args.runs < 1:
        parser.error("--n and --runs must be 1 or more")
    memory_n = args.memory_n or args.n
    return Options(args.n, args.runs, memory_n, args.batch_size, args.out, args.keep, args.profile, args.database)


# --- setting up ------------------------------------------------------------------------------------


def set_up(options: Options, root: Path) -> Bench:
    began = time.perf_counter()
    sentences = synthetic.seed_sentences(Workspace(lab.REPO))
    articles = list(synthetic.iter_corpus(options.n, sentences))
    workspace = lab.make_workspace(root / "main", articles)
    bench = Bench(options, root, workspace, articles)
    bench.steps["corpus"] = time.perf_counter() - began
    bench.facts["sentences"] = sentences
    with bench.step("server_start"):
        bench.connection = lab.start_server(workspace, lab.postgres_url() if options.database == "postgresql" else None)
    began = time.perf_counter()
    with bench.step("annotated_import"):
        bench.annotated_id = lab.load_annotated(bench.connection, workspace, ANNOTATED, articles)
    bench.facts["annotated_import_seconds"] = round(time.perf_counter() - began, 1)
    return bench


def _clear_raw(workspace: Workspace, slug: str) -> None:
    """Raw pages of earlier pulls are kept by design; the benchmark drops them to save disk."""
    shutil.rmtree(workspace.raw_dir(slug), ignore_errors=True)


# --- one run ---------------------------------------------------------------------------------------


def run_push(bench: Bench, run: int) -> None:
    payload = [{"data": task_data(article)} for article in bench.articles]
    bare_title, push_title = f"bench bare {run}", f"bench push {run}"
    project_id = lab.new_project(bench.connection, bench.workspace, bare_title)
    size = bench.options.batch_size
    bench.time("bare_import", lambda: lab.bare_import(bench.connection, project_id, payload, size))
    # Gone before the push, so both import into a database of the same size (the push used to
    # import beside the bare project's N tasks).
    lab.delete_project(bench.connection, bare_title)
    first = bench.time("push", lambda: push(bench.workspace, project=push_title, batch_size=size))
    again = bench.time("repush", lambda: push(bench.workspace, project=push_title, batch_size=size))
    if len(first.created) != len(bench.articles) or again.created or first.failed:
        raise SystemExit(f"push did not import every article once: {len(first.created)} then {len(again.created)}")
    lab.delete_project(bench.connection, push_title)


def run_pull(bench: Bench, run: int) -> None:
    workspace, records = bench.workspace, bench.workspace.records_path(bench.slug)
    _clear_raw(workspace, bench.slug)
    busy = time.thread_time()
    result = bench.time("pull_full", lambda: pull(workspace, project=ANNOTATED, full=True))
    busy = time.thread_time() - busy
    # The pull's own thread computes (converts, validates, writes) or waits: on Label Studio's
    # answers, the floor the toolkit cannot go under (and briefly on the disk).
    bench.times.setdefault("pull_full_waiting", []).append(max(0.0, bench.times["pull_full"][-1] - busy))
    _check_pull(result, 2 * len(bench.articles))
    export = bench.root / "export.json"
    size = bench.time("ls_export", lambda: lab.label_studio_export(bench.connection, bench.annotated_id, export))
    bench.facts["export_bytes"] = size
    export.unlink()
    changed = lab.change_annotations(bench.connection, records, CHANGED_SHARE, seed=run)
    again = bench.time("pull_incremental", lambda: pull(workspace, project=ANNOTATED))
    bench.facts["changed_annotations"] = changed
    bench.facts["incremental_tasks_fetched"] = again.tasks_fetched
    bench.facts["records_bytes"] = records.stat().st_size
    _clear_raw(workspace, bench.slug)


def _check_pull(result: Any, expected: int) -> None:
    if result.quarantined or result.records_written != expected:
        first = result.quarantined[0].problems[0] if result.quarantined else None
        raise SystemExit(f"pull wrote {result.records_written} of {expected} records; first problem: {first}")


def read_json_lines(path: Path) -> int:
    """The denominator of validate: every line of the records file parsed, nothing checked."""
    count = 0
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                json.loads(line)
                count += 1
    return count


def run_validate(bench: Bench) -> None:
    records = bench.workspace.records_path(bench.slug)
    report_ = bench.time("validate", lambda: validate(records, bench.workspace))
    bench.time("json_loads", lambda: read_json_lines(records))
    if report_.problems:
        raise SystemExit(f"validate found {len(report_.problems)} problems, first: {report_.problems[0]}")


def run_publish(bench: Bench, run: int, rows: dict[str, list]) -> None:
    from annotate.dataset.publish import publish

    out = bench.root / "bare-parquet"
    bench.time("bare_parquet", lambda: lab.bare_parquet(bench.workspace, rows, out))
    result = bench.time("publish", lambda: publish(bench.workspace, version=f"0.0.{run + 1}", project=ANNOTATED))
    bench.facts["published_rows"] = result.rows
    shutil.rmtree(out)
    shutil.rmtree(result.folder)


def run_all(bench: Bench) -> None:
    for run in range(bench.options.runs):
        print(f"run {run + 1} of {bench.options.runs}: push", flush=True)
        with bench.step("push"):
            run_push(bench, run)
        print(f"run {run + 1}: pull", flush=True)
        with bench.step("pull"):
            run_pull(bench, run)
        with bench.step("validate"):
            run_validate(bench)
        if run == 0:
            with bench.step("publish_rows"):
                rows = lab.dataset_rows(bench.workspace, bench.slug, bench.articles)
        print(f"run {run + 1}: publish", flush=True)
        with bench.step("publish"):
            run_publish(bench, run, rows)


# --- memory ----------------------------------------------------------------------------------------


def _annotated_workspace(bench: Bench, count: int) -> tuple[Workspace, str]:
    """A workspace of `count` articles with its own annotated project on the same server."""
    if count == bench.options.n:
        return bench.workspace, ANNOTATED
    articles = list(synthetic.iter_corpus(count, bench.facts["sentences"]))
    workspace = lab.make_workspace(bench.root / f"memory-{count}", articles)
    lab.share_server(bench.workspace, workspace)
    title = f"bench annotated x{count}"
    lab.load_annotated(bench.connection, workspace, title, articles)
    return workspace, title


def _peak(operation: str, workspace: Workspace, title: str) -> dict[str, int]:
    command = [sys.executable, "-m", "bench.memory", operation, str(workspace.root), title, "9.0.0"]
    done = subprocess.run(command, cwd=lab.REPO, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the memory run of {operation} failed:\n{done.stderr[-2000:]}")
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    return {**measured, "used_kb": measured["peak_kb"] - measured["base_kb"]}


def measure_memory(bench: Bench) -> dict[str, Any]:
    small = bench.options.memory_n
    found: dict[str, Any] = {"articles": {"n": small, "four_n": 4 * small}, "peaks": {}}
    for label, count in found["articles"].items():
        print(f"memory at {count} articles", flush=True)
        workspace, title = _annotated_workspace(bench, count)
        _clear_raw(workspace, slugify(title))
        found["peaks"][label] = {op: _peak(op, workspace, title) for op in ("pull", "publish")}
        _clear_raw(workspace, slugify(title))
    small_kb, large_kb = found["peaks"]["n"], found["peaks"]["four_n"]
    found["growth"] = {op: round(large_kb[op]["used_kb"] / max(1, small_kb[op]["used_kb"]), 3) for op in small_kb}
    return found


# --- main ------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> dict[str, Any]:
    options = parse_options(argv)
    if options.database == "postgresql" and lab.postgres_url() is None:
        raise SystemExit(lab.run_with_postgres(sys.argv[1:] if argv is None else argv))
    began = time.perf_counter()
    root = Path(tempfile.mkdtemp(prefix="annotate-bench-"))
    try:
        print(f"building {options.n} articles and starting Label Studio in {root}", flush=True)
        bench = set_up(options, root)
        run_all(bench)
        with bench.step("memory"):
            memory = measure_memory(bench)
        results = report.results(bench, memory, time.perf_counter() - began)
        if options.profile:
            with bench.step("profiling"):
                profiling.explain_misses(bench, results)
            results["steps_minutes"] = report.minutes(bench.steps)
        report.write(results, options.out)
        print(report.table(results))
        return results
    finally:
        server.stop(Workspace(root / "main"))  # harmless when it never started
        if options.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
