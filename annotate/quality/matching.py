"""The one matching core: how two sets of canonical records are compared, unit by unit.

Every comparison of two annotations of the same article goes through `compare()`:
annotator against annotator (agreement), annotator against gold, system against gold
(scoring). One side is called the reference and the other the hypothesis; between two
annotators either may be the reference, and F1 does not depend on the choice (precision
and recall swap).

Units
-----
- An **entity mention**: a character span (start, end; end exclusive) with a label.
- An **event**: a trigger span with an event type, its arguments and its attributes
  (the scheme's default filled in where an attribute is not set). Two events on the same
  trigger span are two units: nothing is dropped or merged.
- An **argument**: a role of an event pointing at a target; the target is an entity
  mention (its span and label) or, for an EVENT role, another event (its trigger span,
  with the event type as its label). Arguments whose target is missing are left out
  (`annotate validate` reports them).

Every match is one-to-one: a unit of one side matches at most one unit of the other.
Where several pairings are possible the pairing is chosen by optimal assignment
(`scipy.optimize.linear_sum_assignment`), never by list or sort order.

Entity measures, named and defined as nervaluate (SemEval-2013 task 9.1) names them
------------------------------------------------------------------------------------
A reference and a hypothesis mention are candidates when their spans overlap by at least
one character. Each measure pairs candidates one-to-one, maximising first the number of
correct pairs, then the number of pairs, then closeness of boundaries. A pair is

- ``strict``: correct with the same start, end and label, otherwise incorrect;
- ``exact``: correct with the same start and end (label ignored), otherwise incorrect;
- ``partial``: correct with the same start and end, otherwise partial (label ignored);
- ``type``: correct with the same label (any overlap), otherwise incorrect
  (nervaluate's ``ent_type``).

Unpaired reference mentions are missed, unpaired hypothesis mentions spurious. With
possible = correct + incorrect + partial + missed (the reference's mentions) and
actual = correct + incorrect + partial + spurious (the hypothesis's):
precision = (correct + ½·partial) / actual, recall = (correct + ½·partial) / possible,
F1 = 2·P·R / (P + R). Per label, both sides are first reduced to that label and matched
again, as nervaluate does, so per-label counts need not sum to the overall ones.
To recompute with nervaluate, give it ``{"label", "start", "end": end - 1}`` (its ends are
inclusive). Its own matching is greedy in list order; the two agree wherever one
annotator's mentions do not overlap each other.

Event measures (TextEE / OneIE definitions, matched per event)
---------------------------------------------------------------
Events of the two sides are paired only on identical trigger spans. On each span the
events are paired one-to-one by optimal assignment, preferring first the same event type,
then the most shared arguments (role, span and target label), then the most shared
attribute values; so two events on "visit" against one are one pair and one unmatched
event, whatever their order.

- ``trigger_identification``: an event is correct when it is paired (same trigger span).
- ``trigger_classification``: correct when paired with an event of the same type; a pair
  of different types is incorrect.
- ``argument_identification``: an argument is a tuple (event type, target span); tuples
  are matched as multisets over the article, wherever their trigger is.
- ``argument_classification``: (event type, role, target span, target label).
- ``argument_identification_attached`` / ``argument_classification_attached``: the same
  tuples, matched only between the arguments of two paired events of the same type (so the
  trigger span and type must be right too: TextEE's Arg-I+ / Arg-C+).

For event and argument measures partial is always 0, so P = correct / actual and
R = correct / possible. Per-type rows count the units of that event type on both sides;
per-role rows (classification measures) those of that role.

Attributes
----------
Compared on paired events (same trigger span) only: for each attribute the pairs of
values (reference, hypothesis) are counted; agreement coefficients are computed from them
by the caller.

Confusion
---------
Entity labels on identical spans and event types on paired events, as (reference,
hypothesis) counts, with None for a unit only one side has.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
from scipy.optimize import linear_sum_assignment  # type: ignore[import-untyped]

ENTITY_MEASURES = ("strict", "exact", "partial", "type")
TRIGGER_MEASURES = ("trigger_identification", "trigger_classification")
ARGUMENT_MEASURES = (
    "argument_identification",
    "argument_classification",
    "argument_identification_attached",
    "argument_classification_attached",
)

DEFINITIONS: dict[str, str] = {
    "strict": "entity mentions: same start, end and label (nervaluate strict)",
    "exact": "entity mentions: same start and end, label ignored (nervaluate exact)",
    "partial": "entity mentions: overlapping spans, label ignored, a partial overlap counts one half "
    "(nervaluate partial)",
    "type": "entity mentions: overlapping spans with the same label (nervaluate ent_type)",
    "trigger_identification": "events: same trigger span, paired one-to-one per span",
    "trigger_classification": "events: same trigger span and event type, paired one-to-one per span",
    "argument_identification": "arguments: same event type and target span",
    "argument_classification": "arguments: same event type, role, target span and target label",
    "argument_identification_attached": "arguments of paired events of the same type: same target span",
    "argument_classification_attached": "arguments of paired events of the same type: same role, "
    "target span and target label",
}
"""One line per measure name: what counts as a match (the module docstring has the whole rule)."""

T = TypeVar("T")
U = TypeVar("U")


# --- units -------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Mention:
    """An entity mention: a span and its label."""

    start: int
    end: int
    label: str
    id: str = ""

    @property
    def span(self) -> tuple[int, int]:
        return (self.start, self.end)


@dataclass(frozen=True, order=True)
class Argument:
    """A role pointing at a target span with the target's label (entity label or event type)."""

    role: str
    start: int
    end: int
    label: str


@dataclass(frozen=True)
class Event:
    """An event: trigger span, type, arguments and attributes (defaults filled in)."""

    start: int
    end: int
    type: str
    arguments: tuple[Argument, ...] = ()
    attributes: tuple[tuple[str, str], ...] = ()
    id: str = ""

    @property
    def span(self) -> tuple[int, int]:
        return (self.start, self.end)

    def attribute(self, name: str) -> str | None:
        return dict(self.attributes).get(name)

    def classified_arguments(self) -> Counter[tuple[str, int, int, str]]:
        return Counter((a.role, a.start, a.end, a.label) for a in self.arguments)

    def identified_arguments(self) -> Counter[tuple[int, int]]:
        return Counter((a.start, a.end) for a in self.arguments)


@dataclass(frozen=True)
class Annotation:
    """What one annotation of one article marked, as comparable units."""

    entities: tuple[Mention, ...] = ()
    events: tuple[Event, ...] = ()


def annotation_of(record: Mapping[str, Any], defaults: Mapping[str, str] | None = None) -> Annotation:
    """The units of a canonical record; `defaults` fills in attributes an event does not set."""
    raw_entities = record.get("entities") or []
    raw_events = record.get("events") or []
    targets: dict[str, tuple[int, int, str]] = {e["id"]: (e["start"], e["end"], e["label"]) for e in raw_entities}
    for event in raw_events:
        targets[event["id"]] = (event["trigger"]["start"], event["trigger"]["end"], event["type"])
    entities = tuple(sorted(Mention(e["start"], e["end"], e["label"], str(e.get("id", ""))) for e in raw_entities))
    events = []
    for event in raw_events:
        arguments = tuple(
            sorted(
                Argument(a["role"], *targets[a["target"]])
                for a in event.get("arguments") or []
                if a.get("target") in targets
            )
        )
        attributes = {**(defaults or {}), **(event.get("attributes") or {})}
        trigger = event["trigger"]
        events.append(
            Event(
                trigger["start"],
                trigger["end"],
                event["type"],
                arguments,
                tuple(sorted(attributes.items())),
                str(event.get("id", "")),
            )
        )
    return Annotation(entities, tuple(sorted(events, key=_event_order)))


def _event_order(event: Event) -> tuple[Any, ...]:
    return (event.start, event.end, event.type, event.id, event.arguments, event.attributes)


# --- counts ------------------------------------------------------------------------------


@dataclass
class Counts:
    """Outcomes of one measure, as nervaluate counts them."""

    correct: int = 0
    incorrect: int = 0
    partial: int = 0
    missed: int = 0
    spurious: int = 0

    def add(self, other: Counts) -> None:
        self.correct += other.correct
        self.incorrect += other.incorrect
        self.partial += other.partial
        self.missed += other.missed
        self.spurious += other.spurious

    @property
    def possible(self) -> int:
        """Units of the reference."""
        return self.correct + self.incorrect + self.partial + self.missed

    @property
    def actual(self) -> int:
        """Units of the hypothesis."""
        return self.correct + self.incorrect + self.partial + self.spurious

    @property
    def credit(self) -> float:
        return self.correct + 0.5 * self.partial

    @property
    def precision(self) -> float | None:
        return self.credit / self.actual if self.actual else None

    @property
    def recall(self) -> float | None:
        return self.credit / self.possible if self.possible else None

    @property
    def f1(self) -> float | None:
        """2·P·R / (P + R), which is 2·credit / (actual + possible); None when neither side has a unit."""
        total = self.actual + self.possible
        return 2 * self.credit / total if total else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "precision": _round(self.precision),
            "recall": _round(self.recall),
            "f1": _round(self.f1),
            "correct": self.correct,
            "incorrect": self.incorrect,
            "partial": self.partial,
            "missed": self.missed,
            "spurious": self.spurious,
            "possible": self.possible,
            "actual": self.actual,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def _multiset_counts(reference: Counter[Any], hypothesis: Counter[Any]) -> Counts:
    correct = sum((reference & hypothesis).values())
    return Counts(
        correct=correct,
        missed=sum(reference.values()) - correct,
        spurious=sum(hypothesis.values()) - correct,
    )


@dataclass
class Breakdown:
    """One measure: overall counts, and counts per label (entity label, event type or role)."""

    total: Counts = field(default_factory=Counts)
    by_label: dict[str, Counts] = field(default_factory=dict)

    def add(self, other: Breakdown) -> None:
        self.total.add(other.total)
        for label, counts in other.by_label.items():
            self.by_label.setdefault(label, Counts()).add(counts)

    def as_dict(self) -> dict[str, Any]:
        return {**self.total.as_dict(), "by_label": {k: v.as_dict() for k, v in sorted(self.by_label.items())}}


@dataclass
class Comparison:
    """Every count between a reference and a hypothesis; `add` sums comparisons (micro-averaging).

    `entities[m]` for m in ENTITY_MEASURES (by entity label); `events[m]` for the trigger
    and argument measures (by event type); `roles[m]` for the argument classification
    measures (by role); `attributes[name]` counts (reference value, hypothesis value) on
    paired events; `entity_confusion` / `event_confusion` count (reference label,
    hypothesis label) on identical spans / paired events, None for a unit one side lacks.
    """

    entities: dict[str, Breakdown] = field(default_factory=lambda: {m: Breakdown() for m in ENTITY_MEASURES})
    events: dict[str, Breakdown] = field(
        default_factory=lambda: {m: Breakdown() for m in TRIGGER_MEASURES + ARGUMENT_MEASURES}
    )
    roles: dict[str, Breakdown] = field(
        default_factory=lambda: {m: Breakdown() for m in ARGUMENT_MEASURES if "classification" in m}
    )
    attributes: dict[str, Counter[tuple[str | None, str | None]]] = field(default_factory=dict)
    entity_confusion: Counter[tuple[str | None, str | None]] = field(default_factory=Counter)
    event_confusion: Counter[tuple[str | None, str | None]] = field(default_factory=Counter)
    articles: int = 0

    def add(self, other: Comparison) -> None:
        for mine, theirs in ((self.entities, other.entities), (self.events, other.events), (self.roles, other.roles)):
            for name, breakdown in theirs.items():
                mine.setdefault(name, Breakdown()).add(breakdown)
        for name, pairs in other.attributes.items():
            self.attributes.setdefault(name, Counter()).update(pairs)
        self.entity_confusion.update(other.entity_confusion)
        self.event_confusion.update(other.event_confusion)
        self.articles += other.articles

    def measure(self, name: str) -> Breakdown:
        """The breakdown of an entity, trigger or argument measure by its name."""
        if name in self.entities:
            return self.entities[name]
        return self.events[name]


# --- optimal one-to-one assignment -------------------------------------------------------


def assign(left: Sequence[T], right: Sequence[U], weight: Callable[[T, U], float | None]) -> list[tuple[int, int]]:
    """Index pairs (i, j) of a one-to-one pairing of maximal total weight; None or ≤ 0 means "cannot pair"."""
    if not left or not right:
        return []
    matrix = np.zeros((len(left), len(right)))
    allowed = np.zeros((len(left), len(right)), dtype=bool)
    for i, x in enumerate(left):
        for j, y in enumerate(right):
            value = weight(x, y)
            if value is not None and value > 0:
                matrix[i, j], allowed[i, j] = value, True
    if not allowed.any():
        return []
    rows, cols = linear_sum_assignment(matrix, maximize=True)
    return [(int(i), int(j)) for i, j in zip(rows, cols, strict=False) if allowed[i, j]]


# --- entities ----------------------------------------------------------------------------


def _overlap(x: Mention, y: Mention) -> int:
    return min(x.end, y.end) - max(x.start, y.start)


def _entity_outcome(measure: str, x: Mention, y: Mention) -> str:
    same_span = x.span == y.span
    if measure == "strict":
        return "correct" if same_span and x.label == y.label else "incorrect"
    if measure == "exact":
        return "correct" if same_span else "incorrect"
    if measure == "partial":
        return "correct" if same_span else "partial"
    if measure == "type":
        return "correct" if x.label == y.label else "incorrect"
    raise ValueError(f"unknown entity measure {measure!r}")


def match_entities(
    measure: str, reference: Sequence[Mention], hypothesis: Sequence[Mention]
) -> tuple[Counts, list[tuple[Mention, Mention, str]]]:
    """One entity measure between two lists of mentions: counts and the pairs with their outcome."""
    size = max(len(reference), len(hypothesis)) + 1
    # Lexicographic weights: one more correct pair outweighs any number of other pairs, one more
    # pair outweighs any closeness of boundaries (each below 1), and the same label breaks last ties.
    pair_weight = float(size)
    correct_weight = pair_weight * (size + 1)

    def weight(x: Mention, y: Mention) -> float | None:
        if _overlap(x, y) <= 0:
            return None
        closeness = 1 / (2 + abs(x.start - y.start) + abs(x.end - y.end)) + (0.25 if x.label == y.label else 0.0)
        correct = _entity_outcome(measure, x, y) == "correct"
        return correct_weight * correct + pair_weight + closeness

    pairs = assign(reference, hypothesis, weight)
    counts = Counts()
    outcomes = []
    for i, j in pairs:
        outcome = _entity_outcome(measure, reference[i], hypothesis[j])
        setattr(counts, outcome, getattr(counts, outcome) + 1)
        outcomes.append((reference[i], hypothesis[j], outcome))
    counts.missed = len(reference) - len(pairs)
    counts.spurious = len(hypothesis) - len(pairs)
    return counts, outcomes


def _entity_breakdown(measure: str, reference: Sequence[Mention], hypothesis: Sequence[Mention]) -> Breakdown:
    total, _ = match_entities(measure, reference, hypothesis)
    by_label = {}
    for label in sorted({m.label for m in reference} | {m.label for m in hypothesis}):
        by_label[label], _ = match_entities(
            measure, [m for m in reference if m.label == label], [m for m in hypothesis if m.label == label]
        )
    return Breakdown(total, by_label)


def _entity_confusion(
    reference: Sequence[Mention], hypothesis: Sequence[Mention]
) -> Counter[tuple[str | None, str | None]]:
    table: Counter[tuple[str | None, str | None]] = Counter()
    for unit in align_units(
        {"reference": reference, "hypothesis": hypothesis}, key=_mention_span, weight=_label_weight
    ):
        ref, hyp = unit.get("reference"), unit.get("hypothesis")
        table[(ref.label if ref else None, hyp.label if hyp else None)] += 1
    return table


def _mention_span(mention: Mention) -> tuple[int, int]:
    return mention.span


def _label_weight(x: Mention, y: Mention) -> float:
    return 2.0 if x.label == y.label else 1.0


# --- events ------------------------------------------------------------------------------


def event_weight(x: Event, y: Event) -> float:
    """How well two events on one trigger span fit: type first, then shared arguments, then attributes.

    Scaled so that one more same-type pair outweighs any arguments, and one more shared
    argument outweighs any attributes, within one span's assignment.
    """
    shared_attributes = len(set(x.attributes) & set(y.attributes))
    shared_arguments = sum((x.classified_arguments() & y.classified_arguments()).values())
    attribute_scale = len(x.attributes) + len(y.attributes) + 1
    argument_scale = attribute_scale * (len(x.arguments) + len(y.arguments) + 1)
    type_scale = argument_scale * (len(x.arguments) + len(y.arguments) + 1) * 8
    return 1 + type_scale * (x.type == y.type) + argument_scale * shared_arguments + shared_attributes


def pair_events(reference: Sequence[Event], hypothesis: Sequence[Event]) -> list[tuple[Event | None, Event | None]]:
    """Events of two sides aligned per trigger span by optimal assignment; None where one side has no event."""
    return [
        (unit.get("reference"), unit.get("hypothesis"))
        for unit in align_units(
            {"reference": reference, "hypothesis": hypothesis}, key=_event_span, weight=event_weight
        )
    ]


def _event_span(event: Event) -> tuple[int, int]:
    return event.span


def _count_event(breakdown: Breakdown, label: str, outcome: str) -> None:
    counts = breakdown.by_label.setdefault(label, Counts())
    setattr(counts, outcome, getattr(counts, outcome) + 1)
    setattr(breakdown.total, outcome, getattr(breakdown.total, outcome) + 1)


def _trigger_measures(pairs: list[tuple[Event | None, Event | None]]) -> dict[str, Breakdown]:
    identification, classification = Breakdown(), Breakdown()
    for ref, hyp in pairs:
        if ref is not None and hyp is not None:
            _count_event(identification, ref.type, "correct")
            if ref.type == hyp.type:
                _count_event(classification, ref.type, "correct")
            else:
                # Overall a type swap is one incorrect; per type it is missed for one type and spurious for the other.
                classification.total.incorrect += 1
                classification.by_label.setdefault(ref.type, Counts()).missed += 1
                classification.by_label.setdefault(hyp.type, Counts()).spurious += 1
        elif ref is not None:
            _count_event(identification, ref.type, "missed")
            _count_event(classification, ref.type, "missed")
        elif hyp is not None:
            _count_event(identification, hyp.type, "spurious")
            _count_event(classification, hyp.type, "spurious")
    # Identification ignores the type, so its rows are kept only overall.
    identification.by_label = {}
    return {"trigger_identification": identification, "trigger_classification": classification}


ArgumentKey = tuple[Any, ...]


def _by_label(
    reference: Counter[ArgumentKey], hypothesis: Counter[ArgumentKey], label_of: Callable[[ArgumentKey], str]
) -> Breakdown:
    total = _multiset_counts(reference, hypothesis)
    labels = {label_of(k) for k in reference} | {label_of(k) for k in hypothesis}
    by_label = {
        label: _multiset_counts(
            Counter({k: n for k, n in reference.items() if label_of(k) == label}),
            Counter({k: n for k, n in hypothesis.items() if label_of(k) == label}),
        )
        for label in sorted(labels)
    }
    return Breakdown(total, by_label)


def _argument_keys(events: Iterable[Event]) -> tuple[Counter[ArgumentKey], Counter[ArgumentKey]]:
    """(identification keys, classification keys) of every argument, wherever its trigger is."""
    identified: Counter[ArgumentKey] = Counter()
    classified: Counter[ArgumentKey] = Counter()
    for event in events:
        for a in event.arguments:
            identified[(event.type, a.start, a.end)] += 1
            classified[(event.type, a.role, a.start, a.end, a.label)] += 1
    return identified, classified


def _attached_keys(
    pairs: list[tuple[Event | None, Event | None]], side: int
) -> tuple[Counter[ArgumentKey], Counter[ArgumentKey]]:
    """Argument keys tagged with the index of their event pair, so only arguments of one pair can match.

    A pair of events of different types gets different tags on its two sides: their arguments never match.
    """
    identified: Counter[ArgumentKey] = Counter()
    classified: Counter[ArgumentKey] = Counter()
    for index, pair in enumerate(pairs):
        event = pair[side]
        if event is None:
            continue
        other = pair[1 - side]
        tag: tuple[int, int] = (index, 0 if other is not None and other.type == event.type else side + 1)
        for a in event.arguments:
            identified[(tag, event.type, a.start, a.end)] += 1
            classified[(tag, event.type, a.role, a.start, a.end, a.label)] += 1
    return identified, classified


def _argument_measures(
    reference: Sequence[Event], hypothesis: Sequence[Event], pairs: list[tuple[Event | None, Event | None]]
) -> tuple[dict[str, Breakdown], dict[str, Breakdown]]:
    """(per event type, per role) breakdowns of the four argument measures."""
    ref_id, ref_cls = _argument_keys(reference)
    hyp_id, hyp_cls = _argument_keys(hypothesis)
    att_ref_id, att_ref_cls = _attached_keys(pairs, 0)
    att_hyp_id, att_hyp_cls = _attached_keys(pairs, 1)
    by_type = {
        "argument_identification": _by_label(ref_id, hyp_id, lambda k: k[0]),
        "argument_classification": _by_label(ref_cls, hyp_cls, lambda k: k[0]),
        "argument_identification_attached": _by_label(att_ref_id, att_hyp_id, lambda k: k[1]),
        "argument_classification_attached": _by_label(att_ref_cls, att_hyp_cls, lambda k: k[1]),
    }
    by_role = {
        "argument_classification": _by_label(ref_cls, hyp_cls, lambda k: k[1]),
        "argument_classification_attached": _by_label(att_ref_cls, att_hyp_cls, lambda k: k[2]),
    }
    return by_type, by_role


def _attribute_pairs(
    pairs: list[tuple[Event | None, Event | None]],
) -> dict[str, Counter[tuple[str | None, str | None]]]:
    table: dict[str, Counter[tuple[str | None, str | None]]] = {}
    for ref, hyp in pairs:
        if ref is None or hyp is None:
            continue
        for name in sorted({n for n, _ in ref.attributes} | {n for n, _ in hyp.attributes}):
            table.setdefault(name, Counter())[(ref.attribute(name), hyp.attribute(name))] += 1
    return table


# --- comparing two annotations -----------------------------------------------------------


def compare(reference: Annotation, hypothesis: Annotation) -> Comparison:
    """Every measure between two annotations of one article (see the module docstring)."""
    pairs = pair_events(reference.events, hypothesis.events)
    by_type, by_role = _argument_measures(reference.events, hypothesis.events, pairs)
    event_confusion: Counter[tuple[str | None, str | None]] = Counter(
        (ref.type if ref else None, hyp.type if hyp else None) for ref, hyp in pairs
    )
    return Comparison(
        entities={m: _entity_breakdown(m, reference.entities, hypothesis.entities) for m in ENTITY_MEASURES},
        events={**_trigger_measures(pairs), **by_type},
        roles=by_role,
        attributes=_attribute_pairs(pairs),
        entity_confusion=_entity_confusion(reference.entities, hypothesis.entities),
        event_confusion=event_confusion,
        articles=1,
    )


def compare_records(
    reference: Mapping[str, Any], hypothesis: Mapping[str, Any], defaults: Mapping[str, str] | None = None
) -> Comparison:
    """`compare` on two canonical records of the same article."""
    return compare(annotation_of(reference, defaults), annotation_of(hypothesis, defaults))


# --- units across any number of annotators -----------------------------------------------


def align_units(
    sides: Mapping[str, Sequence[T]], *, key: Callable[[T], Any], weight: Callable[[T, T], float]
) -> list[dict[str, T]]:
    """Units shared across any number of sides: items with equal `key` grouped, then paired one-to-one.

    Sides are taken in the order given; each side's items on a key are assigned optimally to
    the units built so far, by the summed `weight` to the unit's members, and what stays
    unpaired starts a unit of its own. With two sides this is exactly one optimal
    assignment per key. A unit maps side name → item; a side without an item is missing.
    """
    groups: dict[Any, dict[str, list[T]]] = {}
    for name, items in sides.items():
        for item in items:
            groups.setdefault(key(item), {}).setdefault(name, []).append(item)
    units: list[dict[str, T]] = []
    for group_key in sorted(groups, key=repr):
        here: list[dict[str, T]] = []
        for name, items in groups[group_key].items():
            pairs = assign(here, items, lambda unit, item: sum(weight(member, item) for member in unit.values()))
            taken = set()
            for i, j in pairs:
                here[i][name] = items[j]
                taken.add(j)
            here += [{name: item} for j, item in enumerate(items) if j not in taken]
        units += here
    return units


def entity_units(annotations: Mapping[str, Annotation]) -> list[dict[str, Mention]]:
    """Entity mentions across annotators on identical spans (same-label pairs preferred)."""
    return align_units({n: a.entities for n, a in annotations.items()}, key=_mention_span, weight=_label_weight)


def event_units(annotations: Mapping[str, Annotation]) -> list[dict[str, Event]]:
    """Events across annotators on identical trigger spans, paired as `pair_events` pairs them."""
    return align_units({n: a.events for n, a in annotations.items()}, key=_event_span, weight=event_weight)
