"""Which record is gold: the one rule that adjudicate and publish both follow.

An article's gold record is, in this order:

1. its ground-truth annotation, when every ground-truth annotation of the article says the
   same (the latest of them, which may differ only in ids and times);
2. otherwise the record `annotate adjudicate` wrote to the gold file for it (a curator's
   decision, the majority of the annotators, or a ground truth it took as in rule 1).

Several ground-truth annotations that say different things (Label Studio marks imported
annotations as ground truth, so an export can carry two) are a dispute for a curator, never
settled by taking the latest. Cancelled annotations are never gold.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

Ref = TypeVar("Ref")


def is_ground_truth(record: dict[str, Any]) -> bool:
    return bool(record.get("ground_truth")) and not record.get("cancelled")


def when(record: dict[str, Any]) -> tuple[str, str]:
    """The order of an article's annotations: last updated (or created), then annotation id."""
    return (str(record.get("updated_at") or record.get("created_at") or ""), str(record.get("annotation_id")))


def content_digest(record: dict[str, Any]) -> str:
    """What an annotation says, without its ids: spans and labels, triggers, attributes, arguments by target span.

    Only compared with other digests made here (never stored), so the canonical form is the
    `repr` of plain values, which tells apart exactly the values JSON does and costs far less.
    """
    spans: dict[str, list[Any]] = {}
    for entity in record.get("entities") or []:
        spans[str(entity.get("id"))] = ["entity", entity.get("start"), entity.get("end"), entity.get("label")]
    for event in record.get("events") or []:
        trigger = event.get("trigger") or {}
        spans[str(event.get("id"))] = ["event", trigger.get("start"), trigger.get("end"), event.get("type")]
    events = []
    for event in record.get("events") or []:
        arguments = sorted(repr([a.get("role"), spans.get(str(a.get("target")))]) for a in event.get("arguments") or [])
        events.append([spans[str(event.get("id"))], sorted((event.get("attributes") or {}).items()), arguments])
    entities = sorted(repr(spans[str(e.get("id"))]) for e in record.get("entities") or [])
    body = repr([entities, sorted(repr(e) for e in events)])
    return hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class GroundTruths(Generic[Ref]):
    """An article's ground-truth annotations, gathered one at a time; says which one is gold (rule 1).

    `Ref` is whatever the caller needs back: the record itself, or its line in a file.
    """

    latest: dict[str, tuple[tuple[str, str], Ref]] = field(default_factory=dict)
    """For each distinct content, its latest annotation (order key, reference)."""

    def add(self, record: dict[str, Any], ref: Ref) -> None:
        if not is_ground_truth(record):
            return
        digest, key = content_digest(record), when(record)
        if digest not in self.latest or key >= self.latest[digest][0]:
            self.latest[digest] = (key, ref)

    @property
    def disputed(self) -> bool:
        """Ground truths that say different things: a curator decides, not the latest."""
        return len(self.latest) > 1

    @property
    def gold(self) -> Ref | None:
        """The gold ground truth, or None when there is none or they are disputed."""
        if len(self.latest) != 1:
            return None
        return next(iter(self.latest.values()))[1]

    @property
    def distinct(self) -> int:
        """How many different things the article's ground truths say."""
        return len(self.latest)
