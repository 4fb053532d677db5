"""Results of a benchmark run: ratios of medians against their targets, the machine, the commit, a table."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
from importlib.metadata import version
from pathlib import Path
from typing import Any

from . import lab

# ratio name: (toolkit operation, bare operation, target); a ratio meets its target when ≤ it.
RATIOS = {
    "push_ratio": ("push", "bare_import", 1.05),
    "repush_ratio": ("repush", "push", 0.02),
    "pull_ratio": ("pull_full", "ls_export", 1.0),
    "incremental_pull_ratio": ("pull_incremental", "pull_full", 0.05),
    "validate_ratio": ("validate", "json_loads", 2.0),
    "publish_ratio": ("publish", "bare_parquet", 1.0),
}
RSS_TARGET = 1.1
MEANING = {
    "push_ratio": "annotate push of N articles into a new project ÷ the same tasks sent by bare batched import_tasks",
    "repush_ratio": "a push that finds nothing new ÷ the first, full push",
    "pull_ratio": "full annotate pull (fetch pages, keep them raw, convert, validate, write) ÷ Label Studio's "
    "own JSON export (create, wait, download)",
    "incremental_pull_ratio": "a pull after 1% of the annotations changed ÷ a full pull",
    "validate_ratio": "annotate validate of the pulled records ÷ json.loads of each line of the same file",
    "publish_ratio": "annotate publish (documents, tokens, annotations) ÷ Dataset.from_list(rows).to_parquet() "
    "of the same rows",
    "rss_growth": "peak memory of pull and of publish above their imports, at 4N ÷ at N (the worse of the two)",
    "pull_waiting_share": "share of a full pull's time its own thread spends waiting (on Label Studio's answers)",
}


def _git(*args: str) -> str | None:
    done = subprocess.run(["git", "-C", str(lab.REPO), *args], capture_output=True, text=True, check=False)
    return done.stdout.strip() if done.returncode == 0 else None


def machine(database: str = "sqlite") -> dict[str, Any]:
    meminfo = Path("/proc/meminfo").read_text().split("\n", 1)[0].split()
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(int(meminfo[1]) / 1024**2, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "label_studio": version("label-studio"),
        "label_studio_sdk": version("label-studio-sdk"),
        "datasets": version("datasets"),
        "label_studio_database": database,
    }


def results(bench: Any, memory: dict[str, Any], seconds: float) -> dict[str, Any]:
    medians = {name: round(statistics.median(values), 4) for name, values in bench.times.items()}
    ratios = {name: round(medians[top] / medians[bottom], 4) for name, (top, bottom, _) in RATIOS.items()}
    growth = memory["growth"]
    facts = {k: v for k, v in bench.facts.items() if k != "sentences"}
    waits = [w / t for w, t in zip(bench.times.get("pull_full_waiting", []), bench.times["pull_full"]) if t]
    return {
        **ratios,
        "pull_waiting_share": round(statistics.median(waits), 3) if waits else None,
        "rss_growth": max(growth.values()),
        "rss_growth_by_operation": growth,
        "n": bench.options.n,
        "runs": bench.options.runs,
        "batch_size": bench.options.batch_size,
        "targets": {**{name: target for name, (_, _, target) in RATIOS.items()}, "rss_growth": RSS_TARGET},
        "met": {
            **{name: ratios[name] <= target for name, (_, _, target) in RATIOS.items()},
            "rss_growth": max(growth.values()) <= RSS_TARGET,
        },
        "medians_seconds": medians,
        "all_seconds": {name: [round(v, 4) for v in values] for name, values in bench.times.items()},
        "memory": memory,
        "facts": facts,
        "machine": machine(getattr(bench.options, "database", "sqlite")),
        "commit": _git("rev-parse", "HEAD"),
        "uncommitted_changes": bool(_git("status", "--porcelain", "--untracked-files=no")),
        "duration_seconds": round(seconds, 1),
        "steps_minutes": minutes(getattr(bench, "steps", {})),
        "notes": {},
    }


def minutes(steps: dict[str, float]) -> dict[str, float]:
    """Each step's wall time in minutes (two decimals), in the order the run took them."""
    return {name: round(seconds / 60, 2) for name, seconds in steps.items()}


def write(found: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(found, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def table(found: dict[str, Any]) -> str:
    """A Markdown table of every ratio, its medians, its target and whether it is met."""
    medians = found["medians_seconds"]
    lines = [
        f"N = {found['n']:,} articles, medians of {found['runs']} run(s); memory at "
        f"{found['memory']['articles']['n']:,} and {found['memory']['articles']['four_n']:,} articles",
        "",
        "| ratio | toolkit (s) | bare (s) | ratio | target | met |",
        "| --- | ---: | ---: | ---: | ---: | :---: |",
    ]
    for name, (top, bottom, target) in RATIOS.items():
        met = "yes" if found["met"][name] else "no"
        lines.append(f"| {name} | {medians[top]:.2f} | {medians[bottom]:.2f} | {found[name]:.3f} | ≤ {target} | {met} |")
    if found.get("pull_waiting_share") is not None:
        waiting = medians.get("pull_full_waiting", 0.0)
        lines.append(
            f"| pull_waiting_share | {waiting:.2f} waiting | {medians['pull_full']:.2f} in all "
            f"| {found['pull_waiting_share']:.3f} | (the floor) | – |"
        )
    for op, growth in found["rss_growth_by_operation"].items():
        peaks = found["memory"]["peaks"]
        small, large = peaks["n"][op]["used_kb"], peaks["four_n"][op]["used_kb"]
        met = "yes" if growth <= RSS_TARGET else "no"
        lines.append(
            f"| rss_growth ({op}) | {large / 1024:.0f} MiB at 4N | {small / 1024:.0f} MiB at N | {growth:.3f} "
            f"| ≤ {RSS_TARGET} | {met} |"
        )
    return "\n".join(lines)


STEPS = {
    "corpus": "building the synthetic corpus and its workspace",
    "server_start": "starting Label Studio (from a migrated template on SQLite; with its migrations on PostgreSQL)",
    "annotated_import": "loading the annotated project (tasks with two annotations each)",
    "push": "push, the push with nothing new and the bare import",
    "pull": "full pull, Label Studio's export, 1 % changed, incremental pull",
    "validate": "validate and json.loads of the records",
    "publish_rows": "building the bare operation's rows (once)",
    "publish": "publish and the bare parquet",
    "memory": "peak memory of pull and publish at N and 4N (child processes)",
    "profiling": "profiling the missed targets",
}
"""What each step of `steps_minutes` covers."""


def steps_table(found: dict[str, Any]) -> str:
    """A Markdown table of what each step of the run cost in minutes (all runs together).

    A results file from before steps were timed gives each timed operation instead.
    """
    steps, covers = found.get("steps_minutes"), STEPS
    if not steps:
        seconds = {k: v for k, v in found.get("all_seconds", {}).items() if not k.endswith("_waiting")}
        steps = {name: round(sum(values) / 60, 2) for name, values in seconds.items()}
        covers = {name: "the timed operation, every run" for name in steps}
    database = found.get("machine", {}).get("label_studio_database", "sqlite")
    lines = [
        f"N = {found['n']:,} articles, {found['runs']} run(s), Label Studio on {database}; "
        f"{found['duration_seconds'] / 60:.1f} minutes in all before profiling",
        "",
        "| step | what it covers | minutes |",
        "| --- | --- | ---: |",
    ]
    lines += [f"| {name} | {covers.get(name, '')} | {value:.2f} |" for name, value in steps.items()]
    lines.append(f"| sum | | {sum(steps.values()):.2f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """`python -m bench.report [FILE]`: the ratios and the minutes of each step of a results file, in Markdown."""
    parser = argparse.ArgumentParser(prog="python -m bench.report", description=main.__doc__)
    parser.add_argument("file", type=Path, nargs="?", default=lab.REPO / "bench" / "results.json")
    args = parser.parse_args(argv)
    found = json.loads(args.file.read_text(encoding="utf-8"))
    print(table(found))
    print()
    print(steps_table(found))


if __name__ == "__main__":
    main()
