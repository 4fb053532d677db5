"""Canonical records (DESIGN.md) and their conversion to and from Label Studio results.

A record is one (article, annotation): entity spans, events with a trigger span,
arguments by role and attributes. Region ids from Label Studio are kept as entity and
event ids, so every problem can name the region it comes from. Conversion is
tolerant: what cannot be placed in a record is returned as a `Problem` for the
validator to report, never dropped in silence.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NotRequired, TypedDict
from collections.abc import Iterable, Iterator, Mapping

from annotate.core.derive import ENTITY, TEXT, TRIGGER, relation_label, split_relation_label
from annotate.core.errors import RecordsDamaged
from annotate.core.inputs import InputRefused, load_json
from annotate.core.workspace import atomic_writer

PSEUDONYM_LENGTH = 16
"""Hex characters of an annotator pseudonym (a shortened HMAC-SHA256); now and then all of them are digits."""
_SERVER_USER_ID = re.compile(r"[0-9]+")


def looks_like_user_id(annotator: str) -> bool:
    """True for a server user id (a short run of digits), false for a pseudonym that happens to be all digits."""
    return bool(_SERVER_USER_ID.fullmatch(annotator)) and len(annotator) != PSEUDONYM_LENGTH



# --- the shapes (as labels/record.schema.json requires them; the scheme names the values) ----------


class Span(TypedDict):
    start: int
    end: int
    text: str


class Entity(TypedDict):
    id: str
    start: int
    end: int
    text: str
    label: str


class Argument(TypedDict):
    role: str
    target: str
    """The id of an entity, or of another event for an EVENT role."""


class Event(TypedDict):
    id: str
    type: str
    trigger: Span
    arguments: list[Argument]
    attributes: dict[str, str]
    """The scheme's attributes set on the trigger; one not set takes the scheme's default."""


class Record(TypedDict):
    """A canonical record (DESIGN.md): one (article, annotation)."""

    article_id: str
    annotation_id: str
    annotator: str
    """A pseudonym, never an e-mail or a server user id."""
    ground_truth: bool
    cancelled: bool
    text: str
    entities: list[Entity]
    events: list[Event]
    task_id: NotRequired[int | str | None]
    lead_time: NotRequired[float | None]
    created_at: NotRequired[str | None]
    updated_at: NotRequired[str | None]
    title: NotRequired[str | None]
    provenance: NotRequired[dict[str, Any]]
    """Gold records only: how the record was decided, unit by unit."""
    scheme_version: NotRequired[str]
    """The scheme version the record was made or migrated under; a record without one is under 1.0.0."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an annotation, located as precisely as the data allows."""

    code: str
    message: str
    task: int | str | None = None
    annotation: int | str | None = None
    region: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "annotation": self.annotation,
            "region": self.region,
            "code": self.code,
            "message": self.message,
        }

    def __str__(self) -> str:
        where = ", ".join(
            f"{name} {value}"
            for name, value in (("task", self.task), ("annotation", self.annotation), ("region", self.region))
            if value is not None
        )
        return f"{where}: [{self.code}] {self.message}" if where else f"[{self.code}] {self.message}"


def _span(value: Mapping[str, Any]) -> Span:
    # As the annotation has them, wrong types included: the validator names what is wrong.
    return {"start": value.get("start"), "end": value.get("end"), "text": value.get("text")}  # type: ignore[typeddict-item]


def results_to_record(
    results: list[dict[str, Any]],
    *,
    attribute_names: Iterable[str],
    task: int | str | None = None,
    annotation: int | str | None = None,
) -> tuple[list[Entity], list[Event], list[Problem]]:
    """Label Studio result items → (entities, events, problems); `attribute_names` are the scheme's."""
    attributes = set(attribute_names)
    entities: list[Entity] = []
    events: dict[str, Event] = {}
    problems: list[Problem] = []

    def problem(code: str, message: str, region: str | None) -> None:
        problems.append(Problem(code, message, task, annotation, region))

    relations, choices = [], []
    for item in results or []:
        if not isinstance(item, dict):
            problem("bad-result", f"a result item is not an object: {item!r}"[:200], None)
            continue
        kind, source, region = item.get("type"), item.get("from_name"), item.get("id")
        value: dict[str, Any] = item["value"] if isinstance(item.get("value"), dict) else {}
        if kind == "relation":
            relations.append(item)
        elif kind == "choices" and source in attributes:
            choices.append(item)
        elif kind == "labels" and source in (ENTITY, TRIGGER):
            labels = value.get("labels") or []
            if len(labels) != 1:
                problem("label-count", f"a region needs exactly one label, it has {labels!r}", region)
                if not labels:
                    continue
            if item.get("to_name", TEXT) != TEXT:
                problem("unknown-object", f"region labels {item.get('to_name')!r}, not the article text", region)
            if source == ENTITY:
                entities.append({"id": str(region), **_span(value), "label": labels[0]})
            elif str(region) in events:
                problem("duplicate-region-id", f"two triggers share the region id {region}", region)
            else:
                events[str(region)] = {
                    "id": str(region),
                    "type": labels[0],
                    "trigger": _span(value),
                    "arguments": [],
                    "attributes": {},
                }
        else:
            problem("unknown-control", f"result from {source!r} of type {kind!r} is not part of the scheme", region)

    for item in choices:
        region, name = str(item.get("id")), item["from_name"]
        picked = (item.get("value") or {}).get("choices") or []
        if region not in events:
            problem("attribute-off-trigger", f"{name} is set on region {region}, which is not an event trigger", region)
        elif len(picked) != 1:
            problem("attribute-value", f"{name} needs exactly one value, got {picked!r}", region)
        else:
            events[region]["attributes"][name] = picked[0]

    for item in relations:
        source, target = str(item.get("from_id")), str(item.get("to_id"))
        labels = item.get("labels") or []
        if source not in events:
            problem("relation-source", f"relation {source}→{target} does not start at an event trigger", source)
            continue
        if len(labels) != 1:
            problem("role-count", f"relation {source}→{target} needs exactly one role label, has {labels!r}", source)
            if not labels:
                continue
        event_type, role = split_relation_label(str(labels[0]))
        if event_type is not None and event_type != events[source]["type"]:
            kind = events[source]["type"]
            problem(
                "role-of-other-event",
                f"the role {labels[0]!r} belongs to {event_type}, but this trigger is {kind}; "
                f"pick one of the {kind}: roles",
                source,
            )
            continue
        events[source]["arguments"].append({"role": role, "target": target})
    return entities, list(events.values()), problems


def record_to_results(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A canonical record → Label Studio result items (regions, per-trigger choices, relations)."""
    results: list[dict[str, Any]] = []
    for entity in record.get("entities", []):
        value = {**_span(entity), "labels": [entity["label"]]}
        results.append({"id": entity["id"], "from_name": ENTITY, "to_name": TEXT, "type": "labels", "value": value})
    for event in record.get("events", []):
        span = _span(event["trigger"])
        value = {**span, "labels": [event["type"]]}
        results.append({"id": event["id"], "from_name": TRIGGER, "to_name": TEXT, "type": "labels", "value": value})
        for name, choice in (event.get("attributes") or {}).items():
            results.append(
                {
                    "id": event["id"],
                    "from_name": name,
                    "to_name": TEXT,
                    "type": "choices",
                    "value": {**span, "choices": [choice]},
                }
            )
        for argument in event.get("arguments", []):
            results.append(
                {
                    "from_id": event["id"],
                    "to_id": argument["target"],
                    "type": "relation",
                    "direction": "right",
                    "labels": [relation_label(event["type"], argument["role"])],
                }
            )
    return results


def record_from_annotation(
    task: dict[str, Any],
    annotation: dict[str, Any],
    *,
    annotator: str,
    attribute_names: Iterable[str],
) -> tuple[Record, list[Problem]]:
    """One task and one of its annotations from a Label Studio export → (record, conversion problems).

    `attribute_names` are the scheme's: a choice named otherwise is reported, not kept.
    """
    data = task.get("data") or {}
    entities, events, problems = results_to_record(
        annotation.get("result") or [],
        attribute_names=attribute_names,
        task=task.get("id"),
        annotation=annotation.get("id"),
    )
    record: Record = {
        "article_id": str(data.get("article_id") or f"task-{task.get('id')}"),
        "annotation_id": str(annotation.get("id")),
        "task_id": task.get("id"),
        "annotator": annotator,
        "ground_truth": bool(annotation.get("ground_truth", False)),
        "cancelled": bool(annotation.get("was_cancelled", False)),
        "lead_time": annotation.get("lead_time"),
        "created_at": annotation.get("created_at"),
        "updated_at": annotation.get("updated_at"),
        "title": data.get("title"),
        "text": data.get("text", ""),
        "entities": entities,
        "events": events,
    }
    return record, problems


def effective_attributes(event: Mapping[str, Any], defaults: dict[str, str]) -> dict[str, str]:
    """An event's attributes with the scheme's defaults filled in where none was set."""
    return {**defaults, **(event.get("attributes") or {})}


# --- record files (JSON Lines) -----------------------------------------------------------------


@dataclass(frozen=True)
class BadLine:
    """A line of a JSON Lines file that is not UTF-8 JSON."""

    number: int
    error: UnicodeDecodeError | json.JSONDecodeError | InputRefused
    raw: bytes = b""


def json_lines(path: Path) -> Iterator[tuple[int, Any]]:
    """(line number, JSON value) of each non-blank line, one at a time; a line that is no UTF-8 JSON gives a `BadLine`.

    The one reader of JSON Lines: records, predictions and curator decisions alike. Lines end at \\n only
    (U+2028 may sit inside a string); NaN, Infinity and absurd nesting are refused (`InputRefused`).
    """
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            if not raw.strip():
                continue
            try:
                yield number, load_json(raw)
            except (UnicodeDecodeError, json.JSONDecodeError, InputRefused) as exc:
                yield number, BadLine(number, exc, raw)


# What git leaves in a file whose merge was not finished (built here so this file never holds one).
_CONFLICT_MARKERS = tuple(mark * 7 for mark in (b"<", b"=", b">", b"|"))


@dataclass(frozen=True)
class DamagedLine:
    """A line of a records file that is not a record, and why."""

    line: int
    reason: str


def _damage(bad: BadLine) -> str:
    if bad.raw.startswith(_CONFLICT_MARKERS):
        return "a git conflict marker (an unfinished merge)"
    if isinstance(bad.error, json.JSONDecodeError):
        if not bad.raw.endswith(b"\n"):
            return "cut short (the file ends in the middle of a record)"
        return f"not JSON ({bad.error.msg})"
    if isinstance(bad.error, UnicodeDecodeError):
        return "not UTF-8 text"
    return f"refused: {bad.error}"


def scan_records(path: Path) -> Iterator[tuple[int, dict[str, Any] | DamagedLine]]:
    """(line number, record or what is wrong with the line) for each non-blank line, nothing raised."""
    for number, value in json_lines(path):
        if isinstance(value, BadLine):
            yield number, DamagedLine(number, _damage(value))
        elif not isinstance(value, dict):
            yield number, DamagedLine(number, "not a JSON object")
        else:
            yield number, value


def iter_records(path: Path, *, remedy: str | None = None) -> Iterator[dict[str, Any]]:
    """The records of a JSON Lines file, one at a time (bounded memory).

    A line that is not a JSON object (cut short, a git conflict marker) raises
    `RecordsDamaged` naming the file and the line, and `remedy`, the command that
    writes the file again (by default the full pull that rebuilds records).
    """
    for _, record in scan_records(path):
        if isinstance(record, DamagedLine):
            raise RecordsDamaged(path, record, remedy=remedy)
        yield record


def write_records(path: Path, records: Iterable[dict[str, Any]]) -> int:
    """Write records as JSON Lines atomically (a temporary file moved into place); return the count."""
    return write_lines(path, (json.dumps(record, ensure_ascii=False, sort_keys=False) + "\n" for record in records))


def write_lines(path: Path, lines: Iterable[str]) -> int:
    """Write lines (each ending in a newline) atomically, as `write_records` writes records; return the count.

    For lines already in the form `write_records` gives them, so records read from one
    file go into another without being parsed and written again.
    """
    count = 0
    with atomic_writer(path) as handle:
        for line in lines:
            handle.write(line)
            count += 1
    return count
