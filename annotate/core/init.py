"""`annotate init`: a new project folder of its own for a new dataset.

A dataset gets its own workspace: its scheme (a copy of the current one or a given one) with
the files generated from it, a guidelines skeleton, an empty corpus, an empty exports/ and an
annotate.yaml naming its own Label Studio project and dataset. Commands run inside it use
that project and dataset without being told, so a new team's work never mixes with another
dataset's corpus, gold or published versions.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from annotate.core import generated
from annotate.core.errors import UsageError, WorkspaceError
from annotate.core.scheme import load_scheme
from annotate.core.settings import SETTINGS_FILE
from annotate.core.workspace import RESERVED_EXPORT_NAMES, Workspace, find_workspace, slugify, write_atomic

TITLE_LIMITS = (3, 50)
"""Label Studio's limits on a project title, in characters."""
GUIDELINES_FILE = "annotation-guidelines.md"
_DATASET_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,95}$")

_SETTINGS = """\
# Project settings: the names commands use when they are not told otherwise.

# Title of the Label Studio project that push creates and pull reads.
project: {project}

dataset:
  # Folder name under exports/ and the default Hugging Face repository name.
  name: {name}
  pretty_name: {pretty_name}
  # Licence of the annotations. The article texts stay with their publishers (see the card).
  license: cc-by-4.0
  language: [en]
  # ORG/NAME on the Hugging Face Hub, used by `publish --push-to-hub` when no repository is given.
  hub_repo: null
  # Hugging Face's annotations_creators for the card: expert-generated, crowdsourced, machine-generated…
  annotations_creators: [expert-generated]
"""

_GUIDELINES = """\
# Annotation guidelines: {title}

**Guidelines version 0.1**, for labelling scheme version {version} (`labels/scheme.yaml`).

*Say here what the articles are about, what annotators mark in them, and what to read before
starting. The tables below are generated from the scheme by `annotate scheme`; write the rules
for each type under them.*

{tool_sections}## 1. Entities

<!-- generated:entities -->
<!-- /generated:entities -->

## 2. Events

<!-- generated:events -->
<!-- /generated:events -->

### 2.1 Attributes

<!-- generated:attributes -->
<!-- /generated:attributes -->

## 3. Hard cases

*The cases annotators asked about, each with the decision taken.*

## 4. Adjudication

*How a curator decides a unit the annotators disagree on.*

## Versions

- **0.1** (scheme {version}): first draft.
"""

_GITIGNORE = """\
# Private state and local output of annotate: never committed
.annotate/
exports/raw/
exports/scratch/
"""


@dataclass
class InitResult:
    workspace: Workspace
    project: str
    dataset: str
    scheme_from: Path
    written: list[Path] = field(default_factory=list)


def default_title(root: Path) -> str:
    """A project title from a folder name: "ukraine-talks" gives "Ukraine talks"."""
    words = " ".join(re.split(r"[-_\s]+", root.name)).strip()
    return (words[:1].upper() + words[1:])[: TITLE_LIMITS[1]].rstrip()


def _check_names(title: str, name: str) -> None:
    low, high = TITLE_LIMITS
    if not low <= len(title) <= high:
        raise UsageError(f"The project title {title!r} must have {low} to {high} characters; give one with --project.")
    if not _DATASET_NAME.match(name) or name in RESERVED_EXPORT_NAMES or ".." in name:
        raise UsageError(
            f"The dataset name {name!r} cannot be a folder under exports/ (lower-case letters, digits, '.', '_', "
            f"'-'; not {', '.join(sorted(RESERVED_EXPORT_NAMES))}); give another with --dataset."
        )


def _empty_or_new(root: Path) -> None:
    if root.exists() and not root.is_dir():
        raise WorkspaceError(f"{root} is a file, not a folder; choose a new folder for the project.")
    if root.is_dir() and any(root.iterdir()):
        raise WorkspaceError(f"{root} already exists and is not empty; choose a new folder for the project.")


def _yaml_text(value: str) -> str:
    """A one-line YAML scalar for `value`, quoted only when it needs to be."""
    return yaml.safe_dump({"v": value}, width=1000, allow_unicode=True).strip().removeprefix("v: ")


_SECTION = re.compile(r"^## (.+)$", re.M)
_TOOL_HEADING = re.compile(r"label studio|label here", re.I)


def tool_sections(guidelines: Path) -> str:
    """The sections of a project's guidelines on working in Label Studio, which hold for any project of its scheme.

    Top-level sections whose heading names Label Studio or "label here", their numbers dropped;
    the sections on the articles themselves stay with their project.
    """
    found = []
    for page in sorted(guidelines.glob("*.md")):
        text = page.read_text(encoding="utf-8")
        starts = list(_SECTION.finditer(text))
        for n, match in enumerate(starts):
            if not _TOOL_HEADING.search(match.group(1)):
                continue
            end = starts[n + 1].start() if n + 1 < len(starts) else len(text)
            heading = re.sub(r"^\d+(\.\d+)*\.?\s+", "", match.group(1))
            found.append(f"## {heading}\n\n{text[match.end():end].strip(chr(10))}\n\n")
    return "".join(found)


def _current_scheme_file() -> Path:
    try:
        return find_workspace().scheme_path
    except WorkspaceError:
        raise UsageError(
            "There is no scheme to copy here: run `annotate init` inside an existing project to copy its scheme, "
            "or give one with --from-scheme FILE."
        ) from None


def init(
    root: Path,
    *,
    from_scheme: Path | None = None,
    project: str | None = None,
    dataset: str | None = None,
) -> InitResult:
    """Create a project folder at `root` (new or empty) with a copy of `from_scheme`, by default the current project's.

    `project` (the Label Studio project title) defaults to the folder's name in words, `dataset`
    (the dataset's name) to its slug.
    """
    root = Path(root).expanduser().resolve()
    title = (project or default_title(root)).strip()
    name = dataset or slugify(root.name)
    _check_names(title, name)
    _empty_or_new(root)
    scheme_file = Path(from_scheme).expanduser().resolve() if from_scheme else _current_scheme_file()
    # Working in Label Studio is the same for every project of a scheme: its sections come along.
    tools = "" if from_scheme else tool_sections(scheme_file.parent.parent / "guidelines")
    if not scheme_file.is_file():
        raise UsageError(f"{scheme_file} is not a file; give the scheme to start from with --from-scheme FILE.")
    scheme = load_scheme(scheme_file)  # a broken scheme is refused before anything is written
    workspace = Workspace(root)
    for folder in (workspace.labels, workspace.guidelines, workspace.corpus, workspace.exports):
        folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(scheme_file, workspace.scheme_path)
    files = {
        root / SETTINGS_FILE: _SETTINGS.format(project=_yaml_text(title), name=name, pretty_name=_yaml_text(title)),
        workspace.guidelines / GUIDELINES_FILE: _GUIDELINES.format(
            title=title, version=scheme.version, tool_sections=tools
        ),
        root / ".gitignore": _GITIGNORE,
        workspace.corpus / ".gitkeep": "",
        workspace.exports / ".gitkeep": "",
    }
    for path, text in files.items():
        write_atomic(path, text)
    made = generated.scheme(workspace)
    written = [workspace.scheme_path, *files, *(p for p in made.written if p not in files)]
    return InitResult(workspace, title, name, scheme_file, sorted(set(written)))
