"""Project settings from annotate.yaml: default project title and the dataset's names and licence."""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

from annotate.core.errors import WorkspaceError
from annotate.core.inputs import load_yaml, schema_problems, yaml_problem
from annotate.core.workspace import Workspace, slugify

SETTINGS_FILE = "annotate.yaml"


@dataclass(frozen=True)
class DatasetSettings:
    name: str = "dataset"
    pretty_name: str = "Entities and events"
    license: str = "cc-by-4.0"
    language: tuple[str, ...] = ("en",)
    hub_repo: str | None = None
    annotations_creators: tuple[str, ...] = ("expert-generated",)
    """The card's `annotations_creators` (Hugging Face terms: expert-generated, crowdsourced, machine-generated…)."""
    authors: tuple[str, ...] = ()
    """Who to cite (CITATION.cff, BibTeX): "Family, Given" for a person, anything else for a team."""


@dataclass(frozen=True)
class ProjectSettings:
    project: str = "annotate project"
    dataset: DatasetSettings = field(default_factory=DatasetSettings)

    @property
    def project_slug(self) -> str:
        return slugify(self.project)


def load_project_settings(workspace: Workspace) -> ProjectSettings:
    """The workspace's annotate.yaml; defaults where it is missing or silent."""
    path = workspace.root / SETTINGS_FILE
    if not path.exists():
        return ProjectSettings()
    try:
        data = load_yaml(path.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError as exc:
        raise WorkspaceError(
            f"{path} is not UTF-8 text (byte {exc.start}); save it as UTF-8 (an editor's 'Save with encoding')."
        ) from None
    except OSError as exc:
        raise WorkspaceError(f"{path} cannot be read ({exc.strerror or exc}). Check its permissions.") from None
    except yaml.YAMLError as exc:
        raise WorkspaceError(
            f"{path} is not valid YAML ({yaml_problem(exc)}). Fix it or delete it to use the defaults."
        ) from None
    if not isinstance(data, dict):
        raise WorkspaceError(f"{path} must be a mapping with `project` and `dataset`.")
    raw_dataset = data.get("dataset") or {}
    if isinstance(raw_dataset, dict) and "annotation_note" in raw_dataset:
        raise WorkspaceError(
            f"{path}: `dataset.annotation_note` is no longer read: the card tells how the annotations were made "
            "from the records, and recorded passes are described in corpus/annotations/provenance.yaml. "
            "Move the note there (as `note`) and delete it from annotate.yaml."
        )
    problems = [p.message for p in schema_problems("settings", data)]
    if problems:
        raise WorkspaceError(
            f"{path}: " + "; ".join(problems[:5]) + ". Fix it, or delete the setting to use its default."
        )
    dataset = DatasetSettings(
        **{
            **{k: v for k, v in raw_dataset.items() if v is not None or k == "hub_repo"},
            "language": _names(raw_dataset.get("language"), ("en",)),
            "annotations_creators": _names(raw_dataset.get("annotations_creators"), ("expert-generated",)),
            "authors": _names(raw_dataset.get("authors"), ()),
        }
    )
    return ProjectSettings(project=str(data.get("project") or ProjectSettings.project), dataset=dataset)


def _names(value: str | list[str] | None, default: tuple[str, ...]) -> tuple[str, ...]:
    """A setting that takes one name or a list of names, as a tuple (`language: en` is one language)."""
    if isinstance(value, str):
        return (value,)
    return tuple(value or default)
