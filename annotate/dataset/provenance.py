"""How a version's annotations were made, from what the workspace records, for the dataset card.

Two sources, both facts rather than prose written once for another dataset:
- the records themselves: each pseudonymous annotator's annotations, whether each was made in
  Label Studio's labelling view (it records the time spent) or imported as a finished pass
  (no time recorded), and from the gold records who decided what (majority, curator, ...);
- `corpus/annotations/provenance.yaml`, written beside recorded passes that were imported
  (`push --annotations`, `adjudicate --decisions`): who or what made each pass and how.
  A workspace whose annotators all worked in the browser has none.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from annotate.core.errors import PublishError
from annotate.core.inputs import load_yaml
from annotate.core.workspace import Workspace

PROVENANCE_FILE = Path("corpus") / "annotations" / "provenance.yaml"
_PASS_KEYS = {"file", "made_by", "how"}


@dataclass
class AnnotatorWork:
    """One pseudonymous annotator's records in a version."""

    annotations: int = 0
    timed: int = 0
    """Made in Label Studio's labelling view: the time spent is recorded."""
    untimed: int = 0
    """Imported as finished annotations (a recorded pass): no time recorded."""
    cancelled: int = 0


@dataclass
class RecordedPass:
    file: str
    made_by: str
    how: str


@dataclass
class RecordedProvenance:
    """What provenance.yaml says about the recorded passes and the recorded curation."""

    passes: list[RecordedPass] = field(default_factory=list)
    curation: RecordedPass | None = None
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Provenance:
    """Counted while the records stream past during a publish."""

    annotators: dict[str, AnnotatorWork] = field(default_factory=dict)
    deciders: dict[str, Counter] = field(default_factory=dict)
    """Per way of deciding gold (curator, ground_truth), the pseudonyms who decided, with their article counts."""

    def add_record(self, record: dict[str, Any]) -> None:
        work = self.annotators.setdefault(str(record.get("annotator")), AnnotatorWork())
        if record.get("cancelled"):
            work.cancelled += 1
            return
        work.annotations += 1
        if record.get("lead_time") is None:
            work.untimed += 1
        else:
            work.timed += 1

    def add_gold(self, record: dict[str, Any], source: str) -> None:
        """Count who decided a gold record: its provenance says so, or it is an annotator's ground truth."""
        how = record.get("provenance") or {}
        if source == "ground_truth" and not how:
            how = {"method": source, "decided_by": record.get("annotator")}
        decider = how.get("decided_by")
        if decider and how.get("method"):
            self.deciders.setdefault(str(how["method"]), Counter())[str(decider)] += 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "annotators": {name: asdict(work) for name, work in sorted(self.annotators.items())},
            "decided_by": {method: dict(sorted(who.items())) for method, who in sorted(self.deciders.items())},
        }


def _recorded_pass(value: Any, where: str, folder: Path) -> RecordedPass:
    if not isinstance(value, dict) or set(value) != _PASS_KEYS or not all(isinstance(v, str) for v in value.values()):
        raise PublishError(
            f"{where} must have exactly `file`, `made_by` and `how`, each a text. Fix it and publish again."
        )
    if not (folder / value["file"]).is_file():
        raise PublishError(f"{where} names {value['file']}, which is not in {folder}. Fix the name and publish again.")
    return RecordedPass(value["file"], value["made_by"].strip(), " ".join(value["how"].split()))


def load_recorded(workspace: Workspace) -> RecordedProvenance | None:
    """corpus/annotations/provenance.yaml, checked; None when the workspace has none."""
    path = workspace.root / PROVENANCE_FILE
    if not path.is_file():
        return None
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise PublishError(f"{PROVENANCE_FILE} is not valid YAML ({exc}). Fix it and publish again.") from None
    if not isinstance(data, dict) or set(data) - {"passes", "curation", "note"}:
        raise PublishError(f"{PROVENANCE_FILE} must be a mapping of `passes`, `curation` and `note` only.")
    passes = data.get("passes") or []
    if not isinstance(passes, list):
        raise PublishError(f"{PROVENANCE_FILE}: `passes` must be a list of passes (file, made_by, how).")
    folder = path.parent
    note = data.get("note")
    curation = data.get("curation")
    return RecordedProvenance(
        passes=[_recorded_pass(p, f"{PROVENANCE_FILE} pass {n}", folder) for n, p in enumerate(passes, 1)],
        curation=_recorded_pass(curation, f"{PROVENANCE_FILE} curation", folder) if curation else None,
        note=" ".join(str(note).split()) if note else None,
    )
