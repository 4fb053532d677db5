"""The benchmark's report: a results file as the Markdown tables the README shows."""

from __future__ import annotations

import json

from bench import report
from bench.run import parse_options


def _results() -> dict:
    ratios = {name: 0.5 for name in report.RATIOS}
    medians = {"bare_import": 600.0, "push": 540.0, "repush": 3.0, "pull_full": 900.0, "ls_export": 1000.0}
    medians |= {"pull_incremental": 30.0, "validate": 9.0, "json_loads": 5.0, "bare_parquet": 300.0, "publish": 280.0}
    peaks = {op: {"used_kb": 100 * 1024} for op in ("pull", "publish")}
    return {
        **ratios,
        "n": 50_000,
        "runs": 1,
        "met": {name: True for name in ratios},
        "medians_seconds": medians,
        "memory": {"articles": {"n": 10_000, "four_n": 40_000}, "peaks": {"n": peaks, "four_n": peaks}},
        "rss_growth_by_operation": {"pull": 1.0, "publish": 1.0},
        "machine": {"label_studio_database": "postgresql"},
        "duration_seconds": 5400.0,
        "steps_minutes": {"annotated_import": 41.5, "push": 20.25, "memory": 30.0},
    }


def test_the_report_gives_each_step_in_minutes_and_the_database(tmp_path, capsys):
    path = tmp_path / "results.json"
    path.write_text(json.dumps(_results()), encoding="utf-8")
    report.main([str(path)])
    shown = capsys.readouterr().out
    assert "| push_ratio | 540.00 | 600.00 | 0.500 | ≤ 1.05 | yes |" in shown
    assert "N = 50,000 articles, 1 run(s), Label Studio on postgresql; 90.0 minutes" in shown
    assert "| annotated_import | loading the annotated project" in shown and "| 41.50 |" in shown
    assert "| push | push, the push with nothing new and the bare import | 20.25 |" in shown
    assert "| sum | | 91.75 |" in shown


def test_an_older_results_file_gives_each_timed_operation_in_minutes():
    found = _results()
    del found["steps_minutes"]
    found["all_seconds"] = {"push": [60.0, 120.0], "pull_full": [30.0], "pull_full_waiting": [20.0]}
    shown = report.steps_table(found)
    assert "| push | the timed operation, every run | 3.00 |" in shown
    assert "pull_full_waiting" not in shown and "| sum | | 3.50 |" in shown


def test_the_database_option_names_sqlite_or_postgresql():
    assert parse_options(["--n", "300"]).database == "sqlite"
    assert parse_options(["--n", "300", "--database", "postgresql"]).database == "postgresql"
