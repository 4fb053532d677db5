"""Statistics of a published version per split: the table event-extraction papers print."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from collections.abc import Mapping
from typing import Any


@dataclass
class SplitStatistics:
    documents: int = 0
    windows: int = 0
    tokens: int = 0
    entity_mentions: Counter = field(default_factory=Counter)
    event_mentions: Counter = field(default_factory=Counter)
    arguments: Counter = field(default_factory=Counter)

    def add(self, document: Mapping[str, Any], tokens: int, windows: int) -> None:
        self.documents += 1
        self.windows += windows
        self.tokens += tokens
        self.entity_mentions.update(e["label"] for e in document["entities"])
        self.event_mentions.update(ev["type"] for ev in document["events"])
        self.arguments.update(a["role"] for ev in document["events"] for a in ev["arguments"])

    def as_dict(self) -> dict[str, Any]:
        return {
            "documents": self.documents,
            "windows": self.windows,
            "tokens": self.tokens,
            "entity_mentions": sum(self.entity_mentions.values()),
            "event_mentions": sum(self.event_mentions.values()),
            "arguments": sum(self.arguments.values()),
            "event_types_occurring": len(self.event_mentions),
            "roles_occurring": len(self.arguments),
            "entity_mentions_per_type": dict(sorted(self.entity_mentions.items())),
            "event_mentions_per_type": dict(sorted(self.event_mentions.items())),
            "arguments_per_role": dict(sorted(self.arguments.items())),
        }


@dataclass
class Statistics:
    """Counted while the gold rows stream past; one `SplitStatistics` per split that has articles."""

    splits: dict[str, SplitStatistics] = field(default_factory=dict)

    def add(self, split: str, document: Mapping[str, Any], tokens: int, windows: int) -> None:
        self.splits.setdefault(split, SplitStatistics()).add(document, tokens, windows)

    def as_dict(self, order: tuple[str, ...]) -> dict[str, dict[str, Any]]:
        return {name: self.splits[name].as_dict() for name in order if name in self.splits}
