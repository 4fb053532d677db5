"""Inter-annotator agreement over canonical records: F1 per pair and overall, Krippendorff's alpha, confusion.

What is compared: every pair of annotators who both completed the same article, with
cancelled (skipped) annotations left out; when one annotator has several annotations of
an article, their latest counts. Counts are summed over articles before F1 is taken
(micro-averaging), per pair and over all pairs. F1 between two annotators is symmetric:
2·matches / (units of A + units of B), so neither side has to be called the reference.

Units and when two of them match:
- entity, exact: same start, end and label;
- entity, partial: same label and overlapping character ranges, matched one-to-one. The
  matching rule is greedy by overlap: of all same-label overlapping pairs, the one sharing
  the most characters is matched first (ties: earlier span of A, then of B), and neither
  span can be matched again;
- trigger: same start, end and event type;
- argument: same role, its trigger matched (as above), and its target's span the same
  (an entity's start and end, or for an EVENT role the target trigger's start and end).

Krippendorff's alpha (nominal) is computed over the units at least two annotators marked:
entity spans (value: the label), trigger spans (value: the event type), and for each
attribute the matched triggers (value: the attribute with the scheme's default filled in).
Alpha is None where it is undefined: no shared unit, or a single value throughout.
"""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from annotate.core.errors import AnnotateError, ExportError
from annotate.core.scheme import current_scheme
from annotate.core.records import effective_attributes, iter_records
from annotate.core.settings import load_project_settings
from annotate.core.workspace import Workspace, normalise_title, project_slug

NONE = "(none)"
"""The confusion row/column of a span one annotator marked and the other did not."""

Span = tuple[int, int]


# --- counting ----------------------------------------------------------------------------


@dataclass
class Counts:
    """Matches between two annotators and how many units each marked."""

    matched: int = 0
    a: int = 0
    b: int = 0

    def add(self, other: "Counts") -> None:
        self.matched += other.matched
        self.a += other.a
        self.b += other.b

    @property
    def f1(self) -> float | None:
        total = self.a + self.b
        return 2 * self.matched / total if total else None

    def as_dict(self) -> dict[str, Any]:
        return {"f1": _round(self.f1), "matched": self.matched, "units_a": self.a, "units_b": self.b}


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


@dataclass(frozen=True)
class Units:
    """What one annotation marked, as hashable keys."""

    entities: frozenset[tuple[int, int, str]]
    triggers: frozenset[tuple[int, int, str]]
    arguments: frozenset[tuple[int, int, str, str, int, int]]
    """(trigger start, trigger end, event type, role, target start, target end)."""
    attributes: dict[tuple[int, int, str], dict[str, str]]

    def entity_labels(self) -> dict[Span, str]:
        return _by_span(self.entities)

    def trigger_types(self) -> dict[Span, str]:
        return _by_span(self.triggers)


def _by_span(keys: Iterable[tuple[int, int, str]]) -> dict[Span, str]:
    # Two labels on one span are a validation problem; the first in sort order stands here.
    spans: dict[Span, str] = {}
    for start, end, label in sorted(keys):
        spans.setdefault((start, end), label)
    return spans


def units_of(record: dict[str, Any], defaults: dict[str, str]) -> Units:
    """The units of a canonical record; arguments whose target is missing are left out (validate reports them)."""
    spans: dict[str, Span] = {e["id"]: (e["start"], e["end"]) for e in record.get("entities", [])}
    for event in record.get("events", []):
        spans[event["id"]] = (event["trigger"]["start"], event["trigger"]["end"])
    triggers, arguments, attributes = set(), set(), {}
    for event in record.get("events", []):
        key = (event["trigger"]["start"], event["trigger"]["end"], event["type"])
        triggers.add(key)
        attributes[key] = effective_attributes(event, defaults)
        for argument in event.get("arguments", []):
            if argument.get("target") in spans:
                arguments.add((*key, argument["role"], *spans[argument["target"]]))
    entities = frozenset((e["start"], e["end"], e["label"]) for e in record.get("entities", []))
    return Units(entities, frozenset(triggers), frozenset(arguments), attributes)


def _label_counts(a: frozenset, b: frozenset, label_of) -> dict[str, Counts]:
    """Exact matches per label (label_of picks the label out of a key)."""
    counts: dict[str, Counts] = defaultdict(Counts)
    for key in a:
        counts[label_of(key)].a += 1
    for key in b:
        counts[label_of(key)].b += 1
    for key in a & b:
        counts[label_of(key)].matched += 1
    return counts


def partial_matches(a: Iterable[tuple[int, int, str]], b: Iterable[tuple[int, int, str]]) -> int:
    """One-to-one matches of same-label overlapping spans, greedy by characters shared (see module doc)."""
    candidates = []
    for x in a:
        for y in b:
            overlap = min(x[1], y[1]) - max(x[0], y[0])
            if x[2] == y[2] and overlap > 0:
                candidates.append((-overlap, x, y))
    used_a, used_b, matched = set(), set(), 0
    for _, x, y in sorted(candidates):
        if x not in used_a and y not in used_b:
            used_a.add(x)
            used_b.add(y)
            matched += 1
    return matched


@dataclass
class PairCounts:
    """Every count for one pair of annotators (or summed over pairs), kept per label."""

    entities: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    partial: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    triggers: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    arguments: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    """Per event type."""
    roles: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    articles: int = 0

    def add(self, other: "PairCounts") -> None:
        for name in ("entities", "partial", "triggers", "arguments", "roles"):
            mine, theirs = getattr(self, name), getattr(other, name)
            for label, counts in theirs.items():
                mine[label].add(counts)
        self.articles += other.articles

    def total(self, name: str) -> Counts:
        result = Counts()
        for counts in getattr(self, name).values():
            result.add(counts)
        return result


def compare(a: Units, b: Units) -> PairCounts:
    """All counts between two annotations of one article."""
    result = PairCounts(articles=1)
    result.entities = _label_counts(a.entities, b.entities, lambda k: k[2])
    result.triggers = _label_counts(a.triggers, b.triggers, lambda k: k[2])
    result.arguments = _label_counts(a.arguments, b.arguments, lambda k: k[2])
    result.roles = _label_counts(a.arguments, b.arguments, lambda k: k[3])
    for label in set(result.entities):
        mine = [k for k in a.entities if k[2] == label]
        theirs = [k for k in b.entities if k[2] == label]
        result.partial[label] = Counts(partial_matches(mine, theirs), len(mine), len(theirs))
    return result


# --- alpha -------------------------------------------------------------------------------


def krippendorff_alpha(units: dict[Any, dict[str, str]], annotators: list[str]) -> float | None:
    """Nominal alpha over the units at least two of `annotators` gave a value; None where undefined."""
    import krippendorff
    import numpy as np

    shared = [values for values in units.values() if sum(name in values for name in annotators) >= 2]
    domain = sorted({values[name] for values in shared for name in annotators if name in values})
    if not shared or len(domain) < 2:
        return None
    code = {value: index for index, value in enumerate(domain)}
    matrix = np.array(
        [[code[values[name]] if name in values else np.nan for values in shared] for name in annotators],
        dtype=float,
    )
    value = krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
    return None if math.isnan(value) else float(value)


@dataclass
class Judgements:
    """For alpha: per kind of judgement, unit → {annotator: value}."""

    kinds: dict[str, dict[Any, dict[str, str]]] = field(default_factory=lambda: defaultdict(dict))

    def collect(self, article: str, annotator: str, units: Units) -> None:
        for (start, end), label in units.entity_labels().items():
            self.kinds["entity_label"].setdefault((article, start, end), {})[annotator] = label
        for (start, end), kind in units.trigger_types().items():
            self.kinds["event_type"].setdefault((article, start, end), {})[annotator] = kind
        for key, attributes in units.attributes.items():
            for name, value in attributes.items():
                self.kinds[f"attribute:{name}"].setdefault((article, *key), {})[annotator] = value

    def alphas(self, annotators: list[str], attribute_names: Iterable[str]) -> dict[str, Any]:
        return {
            "entity_label_alpha": _round(krippendorff_alpha(self.kinds["entity_label"], annotators)),
            "event_type_alpha": _round(krippendorff_alpha(self.kinds["event_type"], annotators)),
            "attribute_alpha": {
                name: _round(krippendorff_alpha(self.kinds[f"attribute:{name}"], annotators))
                for name in attribute_names
            },
        }


# --- confusion ---------------------------------------------------------------------------


def confuse(table: Counter, a: dict[Span, str], b: dict[Span, str]) -> None:
    """Add one pair's labels on the same spans; a disagreement counts in both (row, column) cells."""
    for span in set(a) | set(b):
        x, y = a.get(span, NONE), b.get(span, NONE)
        table[(x, y)] += 1
        if x != y:
            table[(y, x)] += 1


def confusion_matrix(table: Counter, order: Iterable[str]) -> dict[str, Any]:
    seen = {label for pair in table for label in pair}
    labels = [label for label in order if label in seen] + ([NONE] if NONE in seen else [])
    return {"labels": labels, "counts": [[table.get((row, col), 0) for col in labels] for row in labels]}


# --- the whole report --------------------------------------------------------------------


@dataclass
class Article:
    """One article's latest non-cancelled annotation per annotator."""

    article_id: str
    title: str | None
    task_id: int | None
    records: dict[str, dict[str, Any]]


def group_articles(records: Iterable[dict[str, Any]]) -> tuple[list[Article], int]:
    """Articles with their latest annotation per annotator, and how many cancelled ones were left out."""
    latest: dict[str, dict[str, dict]] = defaultdict(dict)
    cancelled = 0
    for record in records:
        if record.get("cancelled"):
            cancelled += 1
            continue
        mine = latest[record["article_id"]]
        current = mine.get(record["annotator"])
        if current is None or _when(record) >= _when(current):
            mine[record["annotator"]] = record
    articles = []
    for article_id, by_annotator in sorted(latest.items()):
        first = next(iter(by_annotator.values()))
        articles.append(Article(article_id, first.get("title"), first.get("task_id"), by_annotator))
    return articles, cancelled


def _when(record: dict[str, Any]) -> tuple[str, str]:
    return (str(record.get("updated_at") or record.get("created_at") or ""), str(record.get("annotation_id")))


def summary(counts: PairCounts) -> dict[str, Any]:
    return {
        "entity_f1_exact": _round(counts.total("entities").f1),
        "entity_f1_partial": _round(counts.total("partial").f1),
        "trigger_f1": _round(counts.total("triggers").f1),
        "argument_f1": _round(counts.total("arguments").f1),
    }


def article_f1(counts: PairCounts) -> float | None:
    """One figure for ranking articles: exact entities, triggers and arguments pooled."""
    pooled = Counts()
    for name in ("entities", "triggers", "arguments"):
        pooled.add(counts.total(name))
    return pooled.f1


def per_label(counts: PairCounts, names: Iterable[str], kinds: dict[str, str]) -> dict[str, Any]:
    """{label: {measure: {f1, matched, units_a, units_b}}} for labels that occur."""
    table = {}
    for label in names:
        row = {
            key: getattr(counts, name)[label].as_dict() for key, name in kinds.items() if label in getattr(counts, name)
        }
        if row:
            table[label] = row
    return table


@dataclass
class AgreementReport:
    """The agreement figures; `as_dict()` is what `--format json` prints."""

    project: str
    source: str
    overall: dict[str, Any]
    pairs: list[dict[str, Any]]
    entity_labels: dict[str, Any]
    event_types: dict[str, Any]
    roles: dict[str, Any]
    confusion: dict[str, Any]
    articles: list[dict[str, Any]]
    annotators: list[str]
    excluded: dict[str, int]
    saved: list[Path] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "project": self.project,
            "source": self.source,
            "annotators": self.annotators,
            "overall": self.overall,
            "pairs": self.pairs,
            "entity_labels": self.entity_labels,
            "event_types": self.event_types,
            "roles": self.roles,
            "confusion": self.confusion,
            "articles": self.articles,
            "excluded": self.excluded,
        }


@dataclass
class _Tally:
    overall: PairCounts = field(default_factory=PairCounts)
    pairs: dict[tuple[str, str], PairCounts] = field(default_factory=lambda: defaultdict(PairCounts))
    judgements: Judgements = field(default_factory=Judgements)
    entity_confusion: Counter = field(default_factory=Counter)
    event_confusion: Counter = field(default_factory=Counter)
    articles: list[dict[str, Any]] = field(default_factory=list)


def _tally_article(tally: _Tally, article: Article, defaults: dict[str, str], task_url) -> None:
    units = {name: units_of(record, defaults) for name, record in sorted(article.records.items())}
    for name, mine in units.items():
        tally.judgements.collect(article.article_id, name, mine)
    here = PairCounts()
    for (x, ux), (y, uy) in itertools.combinations(units.items(), 2):
        counts = compare(ux, uy)
        tally.pairs[(x, y)].add(counts)
        here.add(counts)
        confuse(tally.entity_confusion, ux.entity_labels(), uy.entity_labels())
        confuse(tally.event_confusion, ux.trigger_types(), uy.trigger_types())
    tally.overall.add(here)
    tally.articles.append(
        {
            "article_id": article.article_id,
            "title": article.title,
            "task_id": article.task_id,
            "url": task_url(article.task_id),
            "annotators": len(units),
            "f1": _round(article_f1(here)),
            **summary(here),
        }
    )


def _pair_rows(tally: _Tally, attribute_names: tuple[str, ...]) -> list[dict[str, Any]]:
    rows = []
    for (x, y), counts in sorted(tally.pairs.items()):
        rows.append(
            {
                "annotators": [x, y],
                "articles": counts.articles,
                **summary(counts),
                **tally.judgements.alphas([x, y], attribute_names),
            }
        )
    return rows


def compute_agreement(
    records: Iterable[dict[str, Any]],
    *,
    defaults: dict[str, str],
    entity_names: Iterable[str],
    event_names: Iterable[str],
    role_names: Iterable[str] = (),
    project: str = "",
    source: str = "",
    task_url=lambda task_id: None,
) -> AgreementReport:
    """The agreement report of a set of canonical records (no I/O; `agreement()` finds the records)."""
    articles, cancelled = group_articles(records)
    compared = [a for a in articles if len(a.records) >= 2]
    tally = _Tally()
    for article in compared:
        _tally_article(tally, article, defaults, task_url)
    annotators = sorted({name for a in compared for name in a.records})
    attribute_names = tuple(defaults)
    overall = {
        **summary(tally.overall),
        **tally.judgements.alphas(annotators, attribute_names),
        "articles": len(compared),
        "pairs": len(tally.pairs),
        "annotators": len(annotators),
    }
    entity_names, event_names = list(entity_names), list(event_names)
    return AgreementReport(
        project=project,
        source=source,
        overall=overall,
        pairs=_pair_rows(tally, attribute_names),
        entity_labels=per_label(tally.overall, entity_names, {"exact": "entities", "partial": "partial"}),
        event_types=per_label(tally.overall, event_names, {"trigger": "triggers", "argument": "arguments"}),
        roles=per_label(tally.overall, list(role_names), {"argument": "roles"}),
        confusion={
            "entities": confusion_matrix(tally.entity_confusion, entity_names),
            "events": confusion_matrix(tally.event_confusion, event_names),
        },
        articles=sorted(tally.articles, key=lambda row: (row["f1"] is None, row["f1"] or 0.0, row["article_id"])),
        annotators=annotators,
        excluded={
            "cancelled_annotations": cancelled,
            "articles_with_one_annotator": len(articles) - len(compared),
        },
    )


# --- the command -------------------------------------------------------------------------


def _project_title(workspace: Workspace, project: str | None) -> str:
    return normalise_title(project or load_project_settings(workspace).project)


def _read_records(workspace: Workspace, title: str, from_file: Path | None) -> tuple[list[dict], int, str, Any]:
    """(records, invalid ones left out, where they came from, project id or None): a file or the last pull."""
    if from_file is not None:
        records, invalid, project_id = records_from_file(Path(from_file), workspace)
        return records, invalid, str(from_file), project_id
    path = workspace.records_path(project_slug(workspace, title))
    if not path.exists():
        raise ExportError(
            f"No pulled records for the project {title!r} ({path} is missing). "
            "Run `annotate pull` first, or give a Label Studio export with --from-file."
        )
    try:
        return list(iter_records(path)), 0, str(path.relative_to(workspace.root)), None
    except ValueError as exc:
        raise ExportError(f"{path} is not canonical records ({exc}). Run `annotate pull` again.") from None


def records_from_file(path: Path, workspace: Workspace) -> tuple[list[dict], int, Any]:
    """(valid records, how many were left out as invalid, project id) of an export or a records file.

    A Label Studio export is converted and checked the way pull does it, but nothing is
    written: agreement on a file must not replace the last pull's records.
    """
    from annotate.labelstudio.pseudonyms import Pseudonyms
    from annotate.core.validate import FileKind, read_items, task_records, validate_record

    scheme = current_scheme(workspace)
    kind, items = read_items(Path(path))
    records, invalid, project_ids = [], 0, set()
    if kind is FileKind.records:
        for item in items:
            good = isinstance(item, dict) and not validate_record(item, scheme)
            records += [item] if good else []
            invalid += not good
        return records, invalid, None
    annotator = Pseudonyms(workspace)
    for task in items:
        project_ids.add(task.get("project"))
        for record, problems in task_records(task, scheme, annotator=annotator):
            records += [] if problems else [record]
            invalid += bool(problems)
    project_ids.discard(None)
    return records, invalid, project_ids.pop() if len(project_ids) == 1 else None


def _task_links(workspace: Workspace, title: str, project_id: Any):
    """A function task id → its Label Studio page, or → None when the project cannot be found.

    The last pull's checkpoint names the server and project, so no request is needed;
    only for an export file without one does this ask the server.
    """
    from annotate.labelstudio.client import connect, find_project, resolve
    from annotate.labelstudio.pull import Checkpoint

    checkpoint = Checkpoint.load(workspace, project_slug(workspace, title))
    url = None
    if project_id is None and checkpoint is not None:
        url, project_id = checkpoint.server, checkpoint.project_id
    try:
        url = url or resolve(workspace)[0]
        if project_id is None:
            found = find_project(connect(workspace), title)
            project_id = found.id if found else None
    except AnnotateError:
        project_id = None
    if project_id is None:
        return lambda task_id: None
    return lambda task_id: None if task_id is None else f"{url}/projects/{project_id}/data?task={task_id}"


def agreement(workspace: Workspace, *, project: str | None = None, from_file: Path | None = None) -> AgreementReport:
    """Agreement over the last pull of `project` (or an export file), also saved as JSON and HTML.

    The files go to exports/agreement/<project slug>.json and .html.
    """
    from annotate.quality.report import render_html

    title = _project_title(workspace, project)
    scheme = current_scheme(workspace)
    records, invalid, source, project_id = _read_records(workspace, title, from_file)
    report = compute_agreement(
        records,
        defaults=scheme.defaults(),
        entity_names=scheme.entity_names,
        event_names=scheme.event_names,
        role_names=scheme.role_names,
        project=title,
        source=source,
        task_url=_task_links(workspace, title, project_id),
    )
    report.excluded["invalid_annotations"] = invalid
    folder = workspace.agreement_dir()
    folder.mkdir(parents=True, exist_ok=True)
    slug = project_slug(workspace, title)
    json_path, html_path = folder / f"{slug}.json", folder / f"{slug}.html"
    json_path.write_text(json.dumps(report.as_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    html_path.write_text(render_html(report), encoding="utf-8")
    report.saved = [json_path, html_path]
    return report
