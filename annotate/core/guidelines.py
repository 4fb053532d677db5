"""The guidelines' own version: the header line that states it, and the entry that says what changed.

A page states its version near the top ("**Guidelines version 1.1**, for labelling scheme
version 1.0.0") and lists its versions under a `## Versions` heading, one entry each
("- **1.1** (scheme 1.0.0): what changed ..."). When the scheme's version moves, the
guidelines must say which scheme version they are for, and what changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from annotate.core.scheme import Scheme
from annotate.core.workspace import Workspace

_HEADER = re.compile(
    r"Guidelines version\s+(?P<version>\d+(?:\.\d+)*)\**,?\s*for (?:the )?labelling scheme version\s+"
    r"(?P<scheme>\d+\.\d+\.\d+)",
    re.IGNORECASE,
)
_VERSIONS = re.compile(r"^##\s+Versions\s*$", re.MULTILINE)
_ENTRY = re.compile(r"^- \*\*(?P<version>\d+(?:\.\d+)*)\*\*(?P<rest>.*)$")


@dataclass(frozen=True)
class GuidelinesVersion:
    page: Path
    version: str
    scheme_version: str
    changes: str | None
    """The page's Versions entry for its own version (Markdown), if it has one."""


def guidelines_version(page: Path) -> GuidelinesVersion | None:
    """The version a guidelines page states of itself, with its Versions entry; None when it states none."""
    text = page.read_text(encoding="utf-8")
    header = _HEADER.search(text)
    if header is None:
        return None
    version = header.group("version")
    return GuidelinesVersion(page, version, header.group("scheme"), _entry(text, version))


def _entry(text: str, version: str) -> str | None:
    section = _VERSIONS.search(text)
    if section is None:
        return None
    lines, taking = [], False
    for line in text[section.end():].splitlines():
        if line.startswith("#"):
            break
        match = _ENTRY.match(line)
        if match:
            taking = match.group("version") == version
        if taking:
            lines.append(line)
    return "\n".join(lines).strip() or None


def check_guidelines(workspace: Workspace, scheme: Scheme) -> list[str]:
    """Each guidelines page that states a version must be for this scheme version and say what changed."""
    problems = []
    for page in sorted(workspace.guidelines.glob("*.md")):
        found = guidelines_version(page)
        if found is None:
            continue
        name = page.relative_to(workspace.root).as_posix()
        if found.scheme_version != scheme.version:
            problems.append(
                f"{name} says guidelines version {found.version} is for scheme {found.scheme_version}, but "
                f"labels/scheme.yaml is {scheme.version}: give the guidelines a new version for scheme "
                f"{scheme.version} and say under `## Versions` what changed"
            )
        elif found.changes is None:
            problems.append(f"{name} has no entry for its version {found.version} under `## Versions`; "
                            "add one that says what changed")
    return problems
