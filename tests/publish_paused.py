"""`annotate publish` that holds still after writing its first parquet rows, for the interrupt tests.

Run as `python tests/publish_paused.py MARKER publish --version 1.0.0`: the command runs as
the `annotate` script runs it, except that once the first row group is on disk it writes
MARKER and waits, up to two minutes, until a file MARKER.release appears, then goes on. A
test that waits for MARKER then signals the process (or runs a second command beside it)
catches it midway through its parquet files however busy the machine is, instead of racing
a publish that may have finished in between.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from annotate import cli

PAUSE_SECONDS = 120.0


def _pause_after_first_rows(marker: Path) -> None:
    original = pq.ParquetWriter.write_table
    paused = False

    def write_table(self: pq.ParquetWriter, table: Any, *args: Any, **kwargs: Any) -> None:
        nonlocal paused
        original(self, table, *args, **kwargs)
        if not paused:
            paused = True
            marker.write_text("rows written\n", encoding="utf-8")
            release = marker.with_name(marker.name + ".release")
            deadline = time.monotonic() + PAUSE_SECONDS
            while not release.exists() and time.monotonic() < deadline:
                time.sleep(0.05)

    pq.ParquetWriter.write_table = write_table  # type: ignore[method-assign]


if __name__ == "__main__":
    marker_path, *arguments = sys.argv[1:]
    _pause_after_first_rows(Path(marker_path))
    sys.argv = ["annotate", *arguments]
    cli.main()
