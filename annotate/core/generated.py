"""The committed files generated from the scheme: written by `annotate scheme`, compared by `--check`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from annotate.core import derive
from annotate.core.errors import GeneratedFilesStale
from annotate.core.scheme import Scheme, load_scheme
from annotate.core.workspace import Workspace

_BLOCK = re.compile(r"(<!-- generated:(\w+) -->\n)(.*?)(<!-- /generated:\2 -->)", re.S)


@dataclass
class SchemeResult:
    scheme: Scheme
    written: list[Path] = field(default_factory=list)
    unchanged: list[Path] = field(default_factory=list)


def fill_tables(markdown: str, scheme: Scheme) -> str:
    """Replace every `<!-- generated:NAME -->` block in a Markdown text with the scheme's table NAME."""

    def replace(match: re.Match) -> str:
        make = derive.TABLES.get(match.group(2))
        if make is None:
            return match.group(0)
        return f"{match.group(1)}{make(scheme)}\n{match.group(4)}"

    return _BLOCK.sub(replace, markdown)


def expected_files(workspace: Workspace, scheme: Scheme) -> dict[Path, str]:
    """Each generated file's path with the content the scheme gives it."""
    files = {
        workspace.labels / "label_config.xml": derive.label_config(scheme),
        workspace.labels / "record.schema.json": derive.record_schema_text(scheme),
    }
    for page in sorted(workspace.guidelines.glob("*.md")):
        files[page] = fill_tables(page.read_text(encoding="utf-8"), scheme)
    return files


def scheme(workspace: Workspace, *, check: bool = False) -> SchemeResult:
    """Write the files generated from labels/scheme.yaml, or with `check` raise if any differs."""
    loaded = load_scheme(workspace.scheme_path)
    result = SchemeResult(loaded)
    stale: list[Path] = []
    for path, content in expected_files(workspace, loaded).items():
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current == content:
            result.unchanged.append(path)
        elif check:
            stale.append(path)
        else:
            path.write_text(content, encoding="utf-8")
            result.written.append(path)
    if stale:
        names = ", ".join(str(p.relative_to(workspace.root)) for p in stale)
        raise GeneratedFilesStale(
            f"{names} differ(s) from what labels/scheme.yaml gives. Run `annotate scheme` and commit the result."
        )
    return result

