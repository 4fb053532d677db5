"""`annotate score`: a system's output scored against the gold of a published version.

A system is one more annotator compared with gold: every count comes from
`annotate.quality.matching.compare`, the core `annotate agreement` uses, so a system's
figures and the annotators' figures mean the same thing. Beside the system, the report
scores the version's own annotators in the same measures on the same split: each
annotator against the gold ("annotators vs gold") and every pair of annotators against
each other ("annotator vs annotator").

Predictions are rows in the `documents` form (`id`, `entities`, `events` with their
attributes as columns) or canonical records (`article_id`, …, `attributes` per event), as
JSON Lines, a parquet file, or a folder `datasets` loads. Every row is checked before
anything is counted; one bad row refuses the whole file, with a sentence per problem
naming the row, and nothing is saved. An article of the split without a prediction counts
as predicted empty and is named in the report.

Confidence intervals: a percentile bootstrap over articles (articles drawn with
replacement, counts summed, the measure recomputed), with the seed and the number of
resamples in the report, so the figures reproduce exactly.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np

from annotate.core.errors import ScoreError
from annotate.core.inputs import InputRefused, load_json
from annotate.core.scheme import EVENT_TARGET, current_scheme
from annotate.core.settings import load_project_settings
from annotate.core.workspace import Workspace
from annotate.dataset.publish import MANIFEST, SCORES, published_versions
from annotate.dataset.textee import ONTOLOGY, ontology
from annotate.quality.agreement import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, CONFIDENCE
from annotate.quality.matching import (
    ARGUMENT_MEASURES,
    DEFINITIONS,
    ENTITY_MEASURES,
    TRIGGER_MEASURES,
    Comparison,
    compare_records,
)

MEASURES = ENTITY_MEASURES + TRIGGER_MEASURES + ARGUMENT_MEASURES
SHOWN_PROBLEMS = 20
_SYSTEM = re.compile(r"[^A-Za-z0-9._-]+")


# --- the version's gold and ontology -------------------------------------------------------


@dataclass
class Gold:
    """The gold of one split of a published version, and what its labels may be."""

    folder: Path
    manifest: dict[str, Any]
    split: str
    documents: dict[str, dict[str, Any]]
    annotations: dict[str, list[dict[str, Any]]]
    ontology: dict[str, Any]

    @property
    def defaults(self) -> dict[str, str]:
        return {name: a["default"] for name, a in self.ontology["attributes"].items()}

    def split_of(self, article_id: str) -> str | None:
        entry = self.manifest.get("articles", {}).get(article_id)
        return entry.get("split") if isinstance(entry, dict) else None


def _named(feature: Any, value: Any) -> Any:
    """A value read from parquet with its ClassLabel integers turned back into their names."""
    from datasets import ClassLabel, List, Sequence  # lazy: datasets takes a second to import

    if value is None:
        return None
    if isinstance(feature, ClassLabel):
        return feature.int2str(value) if isinstance(value, int) else value
    if isinstance(feature, dict):
        return {k: _named(feature[k], v) if k in feature else v for k, v in value.items()}
    if isinstance(feature, (List, Sequence)):
        return [_named(feature.feature, v) for v in value]
    if isinstance(feature, list):
        return [_named(feature[0], v) for v in value]
    return value


def _parquet_rows(path: Path) -> Iterator[dict[str, Any]]:
    # lazy: pyarrow and datasets take a second to import; `annotate --help` should not wait for them
    import pyarrow.parquet as pq
    from datasets import Features

    table = pq.read_table(path)
    try:
        features: Any = Features.from_arrow_schema(table.schema)
    except Exception:
        features = None
    for row in table.to_pylist():
        yield {k: _named(features[k], v) if features is not None and k in features else v for k, v in row.items()}


def resolve_version(workspace: Workspace | None, dataset: Path | None) -> Path:
    """The version folder to score against: the one given, else the newest published in the workspace."""
    if dataset is not None:
        folder = Path(dataset).expanduser()
        if not (folder / MANIFEST).is_file():
            raise ScoreError(
                f"{folder} is not a published version (it has no {MANIFEST}); give a folder `annotate publish` wrote."
            )
        return folder
    if workspace is None:
        raise ScoreError("No dataset to score against: give --dataset exports/<name>/<X.Y.Z>.")
    history = workspace.exports / load_project_settings(workspace).dataset.name
    versions = published_versions(history)
    if not versions:
        raise ScoreError(f"No version is published under {history}; run `annotate publish` or give --dataset.")
    return history / versions[-1]


def load_gold(folder: Path, split: str, workspace: Workspace | None = None) -> Gold:
    """The documents and annotations of `split` of the version in `folder`."""
    manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    documents_file = folder / "data" / "documents" / f"{split}.parquet"
    splits = sorted({str(v.get("split")) for v in manifest.get("articles", {}).values() if isinstance(v, dict)})
    if not documents_file.is_file():
        raise ScoreError(
            f"Version {manifest.get('version')} has no {split!r} split (it has {', '.join(splits)}); "
            "pick one with --split."
        )
    documents = {row["id"]: row for row in _parquet_rows(documents_file)}
    annotations: dict[str, list[dict[str, Any]]] = {}
    annotations_file = folder / "data" / "annotations" / f"{split}.parquet"
    if annotations_file.is_file():
        for row in _parquet_rows(annotations_file):
            if not row.get("cancelled"):
                annotations.setdefault(row["article_id"], []).append(row)
    return Gold(folder, manifest, split, documents, annotations, _ontology(folder, manifest, workspace))


def _ontology(folder: Path, manifest: dict[str, Any], workspace: Workspace | None) -> dict[str, Any]:
    """The version's ontology.json, or (for versions older than it) the workspace's scheme of the same version."""
    path = folder / ONTOLOGY
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    wanted = (manifest.get("scheme") or {}).get("version")
    if workspace is not None:
        scheme = current_scheme(workspace)
        if scheme.version == wanted:
            return ontology(scheme)
    raise ScoreError(
        f"{folder} has no {ONTOLOGY} and the workspace's scheme is not version {wanted}; "
        "score inside the project that published it, or against a newer version."
    )


# --- predictions --------------------------------------------------------------------------


def read_predictions(path: Path, split: str) -> list[dict[str, Any]]:
    """Prediction rows from JSON Lines, a parquet file or a folder `datasets` loads."""
    path = Path(path).expanduser()
    if not path.exists():
        raise ScoreError(f"{path} does not exist; give the file or folder of the system's predictions.")
    if path.is_dir():
        return _folder_rows(path, split)
    if path.suffix == ".parquet":
        try:
            return list(_parquet_rows(path))
        except Exception as exc:
            raise ScoreError(f"{path} cannot be read as parquet ({exc}).") from None
    rows = []
    try:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    row = load_json(line)
                except json.JSONDecodeError as exc:
                    raise ScoreError(
                        f"{path} line {number} is not JSON ({exc.msg}); predictions are JSON Lines."
                    ) from None
                except InputRefused as exc:
                    raise ScoreError(f"{path} line {number} is not JSON: {exc}; predictions are JSON Lines.") from None
                if not isinstance(row, dict):
                    raise ScoreError(
                        f"{path} line {number} is not a JSON object; each line is one article's prediction."
                    )
                rows.append(row)
    except (OSError, UnicodeDecodeError) as exc:
        raise ScoreError(f"{path} cannot be read ({exc}).") from None
    return rows


def _folder_rows(path: Path, split: str) -> list[dict[str, Any]]:
    from datasets import load_dataset  # lazy: datasets takes a second to import

    try:
        loaded = load_dataset(str(path))
    except Exception as exc:
        raise ScoreError(f"{path} cannot be loaded with `datasets` ({exc}).") from None
    # A folder laid out in splits gives the split scored; a folder of one file gives its only split.
    if split in loaded:
        data = loaded[split]
    elif len(loaded) == 1:
        data = next(iter(loaded.values()))
    else:
        raise ScoreError(f"{path} has splits {', '.join(loaded)} but no {split!r}; give the predictions of {split}.")
    return [{k: _named(data.features[k], v) for k, v in row.items()} for row in data]


def row_as_record(row: dict[str, Any], attributes: Iterable[str]) -> dict[str, Any]:
    """A prediction row (documents form or canonical record) as a canonical-record-like dict."""
    names = set(attributes)
    events = []
    for event in row.get("events") or []:
        if not isinstance(event, dict):
            events.append(event)
            continue
        given = event.get("attributes")
        own = dict(given) if isinstance(given, dict) else {}
        own.update({k: v for k, v in event.items() if k in names and v is not None})
        events.append({**{k: v for k, v in event.items() if k not in names}, "attributes": own})
    return {
        "article_id": str(row.get("id", row.get("article_id"))),
        "text": row.get("text"),
        "entities": row.get("entities") or [],
        "events": events,
    }


class _Checker:
    """Every problem of the prediction rows, each a sentence naming the row."""

    def __init__(self, gold: Gold) -> None:
        self.gold = gold
        self.problems: list[str] = []
        onto = gold.ontology
        self.entity_types = set(onto["entity_types"])
        self.roles = {name: dict(t["roles"]) for name, t in onto["event_types"].items()}
        self.attributes = {name: set(a["values"]) for name, a in onto["attributes"].items()}

    def fail(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def check(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        seen: dict[str, int] = {}
        records = []
        for number, row in enumerate(rows, 1):
            record = row_as_record(row, self.attributes)
            article = record["article_id"]
            where = f"row {number} (article {article})"
            if article in ("None", ""):
                self.fail(f"row {number}", "has no article id (`id`, or `article_id` for canonical records)")
                continue
            if article in seen:
                self.fail(where, f"duplicate article id, also on row {seen[article]}")
                continue
            seen[article] = number
            split = self.gold.split_of(article)
            if split is None:
                self.fail(where, "unknown article id: no article of this version has it")
                continue
            if split != self.gold.split:
                self.fail(where, f"the article is in the {split} split, not {self.gold.split}")
                continue
            self._check_record(where, record, self.gold.documents[article]["text"])
            records.append(record)
        return records

    def _check_record(self, where: str, record: dict[str, Any], text: str) -> None:
        if record["text"] is not None and record["text"] != text:
            self.fail(where, "its `text` differs from the article's text in this version")
        ids: Counter[str] = Counter()
        labels: dict[str, str] = {}
        for entity in record["entities"]:
            if not isinstance(entity, dict):
                self.fail(where, f"an entity is not an object: {entity!r}")
                continue
            ids[str(entity.get("id"))] += 1
            labels[str(entity.get("id"))] = str(entity.get("label"))
            self._span(where, f"entity {entity.get('id')}", entity, text)
            if entity.get("label") not in self.entity_types:
                self.fail(where, f"entity {entity.get('id')} has unknown label {entity.get('label')!r}")
        events = {str(e.get("id")): e for e in record["events"] if isinstance(e, dict)}
        for event in record["events"]:
            if not isinstance(event, dict):
                self.fail(where, f"an event is not an object: {event!r}")
                continue
            ids[str(event.get("id"))] += 1
            self._event(where, event, text, labels, events)
        for duplicate in sorted(i for i, n in ids.items() if n > 1):
            self.fail(where, f"id {duplicate!r} is used by {ids[duplicate]} entities or events")

    def _span(self, where: str, name: str, span: Any, text: str) -> None:
        if not isinstance(span, dict):
            self.fail(where, f"{name} has no span")
            return
        start, end = span.get("start"), span.get("end")
        if not isinstance(start, int) or not isinstance(end, int) or not 0 <= start < end <= len(text):
            self.fail(where, f"{name} has offsets {start}-{end} outside the text (0-{len(text)})")
        elif span.get("text") is not None and text[start:end] != span["text"]:
            self.fail(where, f"{name} says {span['text']!r} but the article has {text[start:end]!r} at {start}-{end}")

    def _event(
        self, where: str, event: dict[str, Any], text: str, labels: dict[str, str], events: dict[str, Any]
    ) -> None:
        name = f"event {event.get('id')}"
        self._span(where, name, event.get("trigger"), text)
        allowed = self.roles.get(str(event.get("type")))
        if allowed is None:
            self.fail(where, f"{name} has unknown event type {event.get('type')!r}")
        for argument in event.get("arguments") or []:
            if not isinstance(argument, dict):
                self.fail(where, f"{name} has an argument that is not an object: {argument!r}")
                continue
            role, target = argument.get("role"), str(argument.get("target"))
            if allowed is not None and role not in allowed:
                known = "an unknown role" if not any(role in r for r in self.roles.values()) else "a role"
                self.fail(where, f"{name} ({event.get('type')}) has {known} {role!r} that its type does not allow")
            if target not in labels and target not in events:
                missing = f"{name} has a {role} argument pointing at {target!r}, which is no entity or event of the row"
                self.fail(where, missing)
            elif allowed is not None and role in allowed and (EVENT_TARGET in allowed[role]) != (target in events):
                kind = "an event" if target in events else "an entity"
                takes = ", ".join(allowed[role])
                self.fail(where, f"{name}'s {role} argument points at {kind} ({target}); the role takes {takes}")
        for attribute, value in (event.get("attributes") or {}).items():
            if attribute not in self.attributes:
                self.fail(where, f"{name} has unknown attribute {attribute!r}")
            elif value not in self.attributes[attribute]:
                self.fail(where, f"{name} has {attribute} {value!r}, not one of {sorted(self.attributes[attribute])}")

    def raise_if_any(self, path: Path) -> None:
        if not self.problems:
            return
        shown = "\n".join(f"  {p}" for p in self.problems[:SHOWN_PROBLEMS])
        more = f"\n  … and {len(self.problems) - SHOWN_PROBLEMS} more" if len(self.problems) > SHOWN_PROBLEMS else ""
        raise ScoreError(
            f"Nothing was scored: {path} has {len(self.problems)} problem(s). Fix them and score again.\n{shown}{more}"
        )


# --- figures ------------------------------------------------------------------------------


@dataclass
class Scored:
    """Per-article comparisons of one hypothesis (system, or a pool of annotators) against a reference."""

    comparisons: list[Comparison] = field(default_factory=list)
    articles: list[str] = field(default_factory=list)

    def total(self) -> Comparison:
        total = Comparison()
        for comparison in self.comparisons:
            total.add(comparison)
        return total


def _attribute_figures(pairs: Counter[tuple[str | None, str | None]]) -> dict[str, Any]:
    """Accuracy and macro-F1 (over values either side uses) of one attribute on paired events."""
    total = sum(pairs.values())
    agreed = sum(n for (ref, hyp), n in pairs.items() if ref == hyp)
    values = sorted({v for pair in pairs for v in pair if v is not None})
    per_value = {}
    for value in values:
        tp = pairs.get((value, value), 0)
        predicted = sum(n for (_, hyp), n in pairs.items() if hyp == value)
        actual = sum(n for (ref, _), n in pairs.items() if ref == value)
        per_value[value] = 2 * tp / (predicted + actual) if predicted + actual else 0.0
    return {
        "accuracy": _round(agreed / total if total else None),
        "macro_f1": _round(sum(per_value.values()) / len(per_value) if per_value else None),
        "f1_per_value": {k: _round(v) for k, v in per_value.items()},
        "paired_events": total,
        "counts": {f"{ref}->{hyp}": n for (ref, hyp), n in sorted(pairs.items(), key=repr)},
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _vector(comparison: Comparison, attributes: list[str]) -> list[float]:
    """Per measure (credit, actual, possible), then per attribute (agreed, paired): what the bootstrap sums."""
    out: list[float] = []
    for name in MEASURES:
        counts = comparison.measure(name).total
        out += [counts.credit, counts.actual, counts.possible]
    for name in attributes:
        pairs = comparison.attributes.get(name, Counter())
        out += [sum(n for (r, h), n in pairs.items() if r == h), sum(pairs.values())]
    return out


def bootstrap(scored: Scored, attributes: list[str], *, seed: int, resamples: int) -> dict[str, list[float] | None]:
    """Percentile intervals over articles for each measure's F1 and each attribute's accuracy.

    The same draws and conventions as `annotate agreement`'s bootstrap (seed, resamples, confidence,
    an interval only when at least half the resamples define the figure), so a system's interval
    and the annotators' are computed alike.
    """
    if not scored.comparisons or resamples <= 0:
        return {}
    table = np.array([_vector(c, attributes) for c in scored.comparisons], dtype=float)
    rng = np.random.default_rng(seed)
    n = len(scored.comparisons)
    draws = rng.integers(0, n, size=(resamples, n))
    weights = np.zeros((resamples, n))
    np.add.at(weights, (np.repeat(np.arange(resamples), n), draws.ravel()), 1)
    sums = weights @ table
    low, high = (1 - CONFIDENCE) / 2 * 100, (1 + CONFIDENCE) / 2 * 100
    intervals: dict[str, list[float] | None] = {}
    for i, name in enumerate(MEASURES):
        credit, actual, possible = sums[:, 3 * i], sums[:, 3 * i + 1], sums[:, 3 * i + 2]
        total = actual + possible
        f1 = np.divide(2 * credit, total, out=np.full(resamples, np.nan), where=total > 0)
        intervals[name] = _interval(f1, low, high)
    base = 3 * len(MEASURES)
    for j, name in enumerate(attributes):
        agreed, paired = sums[:, base + 2 * j], sums[:, base + 2 * j + 1]
        accuracy = np.divide(agreed, paired, out=np.full(resamples, np.nan), where=paired > 0)
        intervals[f"attribute:{name}"] = _interval(accuracy, low, high)
    return intervals


def _interval(values: np.ndarray, low: float, high: float) -> list[float] | None:
    defined = values[~np.isnan(values)]
    if not len(defined) or len(defined) * 2 < len(values):
        return None
    values = defined
    return [round(float(np.percentile(values, low)), 4), round(float(np.percentile(values, high)), 4)]


def figures(scored: Scored, attributes: list[str], *, seed: int, resamples: int) -> dict[str, Any]:
    """Every measure of a pooled comparison: overall with its interval, per label and per role."""
    total = scored.total()
    intervals = bootstrap(scored, attributes, seed=seed, resamples=resamples)
    measures = {}
    for name in MEASURES:
        breakdown = total.measure(name)
        entry = breakdown.as_dict()
        entry["ci"] = intervals.get(name)
        if name in total.roles:
            entry["by_role"] = {k: v.as_dict() for k, v in sorted(total.roles[name].by_label.items())}
        measures[name] = entry
    attribute_figures = {}
    for name in attributes:
        entry = _attribute_figures(total.attributes.get(name, Counter()))
        entry["ci"] = intervals.get(f"attribute:{name}")
        attribute_figures[name] = entry
    return {"articles": len(scored.comparisons), "measures": measures, "attributes": attribute_figures}


def headline(figures_: dict[str, Any]) -> dict[str, Any]:
    """Overall precision, recall, F1 and interval of each measure: what the card's table shows."""
    return {
        name: {k: m[k] for k in ("precision", "recall", "f1", "ci")} for name, m in figures_["measures"].items()
    }


# --- scoring ------------------------------------------------------------------------------


@dataclass
class ScoreReport:
    system: str
    dataset: str
    version: str
    split: str
    folder: Path
    missing: list[str]
    system_figures: dict[str, Any]
    human: dict[str, dict[str, Any]]
    gold: dict[str, str]
    seed: int
    resamples: int
    saved: Path | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "system": self.system,
            "dataset": self.dataset,
            "version": self.version,
            "split": self.split,
            "scored_on": f"{self.dataset} {self.version} {self.split}",
            "articles": self.system_figures["articles"],
            "missing": self.missing,
            "bootstrap": {"resamples": self.resamples, "seed": self.seed, "confidence": CONFIDENCE, "over": "articles"},
            "definitions": DEFINITIONS,
            "headline": headline(self.system_figures),
            **{k: v for k, v in self.system_figures.items() if k != "articles"},
            "human": {name: headline(f) | {"articles": f["articles"]} for name, f in self.human.items()},
            "human_attributes": {name: f["attributes"] for name, f in self.human.items()},
            "gold": self.gold,
        }


def _human(gold: Gold, *, seed: int, resamples: int) -> dict[str, dict[str, Any]]:
    """The version's annotators in the scorer's measures on the same split."""
    defaults = gold.defaults
    attributes = list(gold.ontology["attributes"])
    vs_gold, pairs = Scored(), Scored()
    for article, document in sorted(gold.documents.items()):
        records = [row_as_record(r, attributes) for r in gold.annotations.get(article, [])]
        reference = row_as_record(document, attributes)
        if records:
            joined = Comparison()
            for record in records:
                joined.add(compare_records(reference, record, defaults))
            vs_gold.comparisons.append(joined)
        if len(records) > 1:
            joined = Comparison()
            for left, right in combinations(records, 2):
                joined.add(compare_records(left, right, defaults))
            pairs.comparisons.append(joined)
    found = {}
    if vs_gold.comparisons:
        found["annotators vs gold"] = figures(vs_gold, attributes, seed=seed, resamples=resamples)
    if pairs.comparisons:
        found["annotator vs annotator"] = figures(pairs, attributes, seed=seed, resamples=resamples)
    return found


def system_name(predictions: Path, system: str | None) -> str:
    name = _SYSTEM.sub("-", system or Path(predictions).stem).strip("-.")
    if not name:
        raise ScoreError("Give the system a name with --system (letters, digits, '.', '_', '-').")
    return name


def score(
    predictions: Path,
    *,
    dataset: Path | None = None,
    split: str = "test",
    system: str | None = None,
    workspace: Workspace | None = None,
    save: bool = True,
    seed: int = BOOTSTRAP_SEED,
    resamples: int = BOOTSTRAP_RESAMPLES,
) -> ScoreReport:
    """Score `predictions` against the gold of `split` of a published version; save the report in the workspace."""
    folder = resolve_version(workspace, dataset)
    name = system_name(predictions, system)
    gold = load_gold(folder, split, workspace)
    checker = _Checker(gold)
    records = {r["article_id"]: r for r in checker.check(read_predictions(predictions, split))}
    checker.raise_if_any(Path(predictions))
    defaults, attributes = gold.defaults, list(gold.ontology["attributes"])
    scored = Scored()
    for article, document in sorted(gold.documents.items()):
        hypothesis = records.get(article, {"article_id": article, "entities": [], "events": []})
        scored.comparisons.append(compare_records(row_as_record(document, attributes), hypothesis, defaults))
        scored.articles.append(article)
    report = ScoreReport(
        system=name,
        dataset=str(gold.manifest.get("name")),
        version=str(gold.manifest.get("version")),
        split=split,
        folder=folder,
        missing=sorted(set(gold.documents) - set(records)),
        system_figures=figures(scored, attributes, seed=seed, resamples=resamples),
        human=_human(gold, seed=seed, resamples=resamples),
        gold={a: gold.manifest["articles"][a]["sha256"] for a in sorted(gold.documents)},
        seed=seed,
        resamples=resamples,
    )
    if save and workspace is not None:
        report.saved = _save(workspace, report)
    return report


def _save(workspace: Workspace, report: ScoreReport) -> Path:
    """Write the report whole (temporary file, then rename), where publish finds it for the card."""
    folder = workspace.exports / SCORES
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{report.system}.json"
    partial = folder / f".{report.system}.json.{os.getpid()}.partial"
    partial.write_text(json.dumps(report.as_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(partial, target)
    return target


# --- rendering ----------------------------------------------------------------------------

_NAMES = {
    "strict": "entities strict",
    "exact": "entities exact",
    "partial": "entities partial",
    "type": "entities type",
    "trigger_identification": "trigger identification",
    "trigger_classification": "trigger classification",
    "argument_identification": "argument identification",
    "argument_classification": "argument classification",
    "argument_identification_attached": "argument identification, attached",
    "argument_classification_attached": "argument classification, attached",
}


def _cell(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _ci(interval: Any) -> str:
    return "n/a" if not interval else f"[{interval[0]:.3f}, {interval[1]:.3f}]"


def table_rows(report: ScoreReport) -> list[list[str]]:
    """measure, P, R, F1, interval, then F1 of each human comparison: one row per measure and attribute."""
    human = list(report.human)
    rows = [["measure", "P", "R", "F1 or accuracy", f"{int(CONFIDENCE * 100)}% CI", *human]]
    for name in MEASURES:
        m = report.system_figures["measures"][name]
        rows.append(
            [_NAMES[name], _cell(m["precision"]), _cell(m["recall"]), _cell(m["f1"]), _ci(m["ci"]),
             *[_cell(report.human[h]["measures"][name]["f1"]) for h in human]]
        )
    for name, a in report.system_figures["attributes"].items():
        rows.append(
            [f"{name}: accuracy (macro-F1 {_cell(a['macro_f1'])})", "", "", _cell(a["accuracy"]), _ci(a["ci"]),
             *[_cell(report.human[h]["attributes"][name]["accuracy"]) for h in human]]
        )
    return rows


def render_text(report: ScoreReport) -> str:
    rows = table_rows(report)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        (
            f"{report.system} on {report.dataset} {report.version}, split {report.split}: "
            f"{report.system_figures['articles']} article(s)"
        )
    ]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)).rstrip() for row in rows]
    lines += _notes(report)
    return "\n".join(lines)


def render_markdown(report: ScoreReport) -> str:
    rows = table_rows(report)
    out = [f"**{report.system}** on `{report.dataset}` {report.version}, split `{report.split}`", ""]
    out += ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    out += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return "\n".join(out + [""] + _notes(report))


def _notes(report: ScoreReport) -> list[str]:
    notes = [
        (
            f"Intervals: bootstrap over articles, {report.resamples} resamples, seed {report.seed}. "
            "Attributes are compared on events paired by trigger span."
        )
    ]
    if report.missing:
        notes.append(
            f"No prediction for {len(report.missing)} article(s) of the split, counted as predicted empty: "
            + ", ".join(report.missing)
        )
    return notes
