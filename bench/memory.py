"""Peak memory of one operation, run alone in this process: `python -m bench.memory pull|publish ROOT PROJECT`.

Prints JSON: `base_kb`, the resident set just before the operation (every module it
needs already imported, so imports do not count), and `peak_kb`, the peak resident set
of this program (VmHWM), plus, for a pull that converted in a second process, that
process's peak above its resident set after its imports. The operation's own memory is
peak − base. Not getrusage's
ru_maxrss: Linux carries it across exec, so a child started from the large benchmark
process would report the parent's peak. RSS,
not tracemalloc: publish's parquet buffers live in Arrow's C++ allocator, which
tracemalloc does not see, and tracemalloc would slow a pull several times over.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field} line")


def main(argv: list[str]) -> None:
    operation, root, project = argv[:3]
    # Everything the operations import, imported before the baseline is read: the SDK
    # alone is about 100 MB of models, the same at any N.
    import datasets  # noqa: F401
    import jsonschema  # noqa: F401
    import label_studio_sdk.client  # noqa: F401
    import pyarrow.parquet  # noqa: F401
    from annotate.dataset.publish import publish
    from annotate.labelstudio.pull import pull
    from annotate.core.workspace import Workspace

    workspace = Workspace(Path(root))
    base = _status_kb("VmRSS")
    if operation == "pull":
        pull(workspace, project=project, full=True)
    elif operation == "publish":
        publish(workspace, version=argv[3], project=project)
    else:
        raise SystemExit(f"unknown operation {operation!r}: give pull or publish")
    peak = _status_kb("VmHWM")  # the high-water mark of this program's own memory, in kB
    if operation == "pull":
        from annotate.labelstudio import convert

        # A full pull converts in a second process: what that process used above its own imports counts too.
        aside = convert.last_memory_kb
        peak += aside[1] - aside[0] if aside else 0
    print(json.dumps({"base_kb": base, "peak_kb": peak}))


if __name__ == "__main__":
    main(sys.argv[1:])
