"""Project settings from annotate.yaml: default project title and the dataset's names and licence."""

from __future__ import annotations

from dataclasses import dataclass, field

import yaml

from annotate.core.errors import WorkspaceError
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
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise WorkspaceError(f"{path} is not valid YAML ({exc}). Fix it or delete it to use the defaults.") from None
    if not isinstance(data, dict):
        raise WorkspaceError(f"{path} must be a mapping with `project` and `dataset`.")
    raw_dataset = data.get("dataset") or {}
    if not isinstance(raw_dataset, dict):
        raise WorkspaceError(f"{path}: `dataset` must be a mapping (name, pretty_name, license, language, hub_repo).")
    if "annotation_note" in raw_dataset:
        raise WorkspaceError(
            f"{path}: `dataset.annotation_note` is no longer read: the card tells how the annotations were made "
            "from the records, and recorded passes are described in corpus/annotations/provenance.yaml. "
            "Move the note there (as `note`) and delete it from annotate.yaml."
        )
    unknown = set(raw_dataset) - set(DatasetSettings.__dataclass_fields__)
    if unknown:
        raise WorkspaceError(f"{path}: unknown dataset setting(s) {sorted(unknown)}.")
    dataset = DatasetSettings(
        **{
            **raw_dataset,
            "language": tuple(raw_dataset.get("language") or ("en",)),
            "annotations_creators": tuple(raw_dataset.get("annotations_creators") or ("expert-generated",)),
            "authors": tuple(str(a) for a in raw_dataset.get("authors") or ()),
        }
    )
    return ProjectSettings(project=str(data.get("project") or ProjectSettings.project), dataset=dataset)
