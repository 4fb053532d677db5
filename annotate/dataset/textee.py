"""Formats that event-extraction code reads unchanged: TextEE/OneIE-style JSON Lines and an ontology file.

One JSON object per window (the windows of the `windows` config), with `doc_id`, `wnd_id`,
`text`, `lang`, `tokens`, `entity_mentions` and `event_mentions`; mention offsets are
token indices into the window's `tokens`, end exclusive, as TextEE's processed data has them.

What that format cannot say is kept in extra keys that TextEE's readers ignore:
- `attributes` of each event mention (polarity, modality, tense, …);
- `event_arguments`: arguments whose role points at another event (`Topic`), by event id;
- `outside_arguments`: arguments whose entity lies in another window of the same article,
  by that entity's id and window;
- `start`, `end`, `token_starts`, `token_ends`: character offsets into the article, so the
  file maps back to `documents` exactly (`from_textee`).
"""

from __future__ import annotations

import json
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import IO, Any

from annotate.core.scheme import Scheme

TEXTEE_FOLDER = "textee"
ONTOLOGY = "ontology.json"
_LINE = json.JSONEncoder(ensure_ascii=False)
"""What `json.dumps(line, ensure_ascii=False)` does, made once instead of once per line."""


def mention_id(article_id: str, local_id: str) -> str:
    """A mention id unique in the whole file: the article id, then the id within the article."""
    return f"{article_id}-{local_id}"


def textee_lines(
    document: Mapping[str, Any], windows: list[dict[str, Any]], language: str
) -> list[dict[str, Any]]:
    """The TextEE-style objects of one article, one per window (rows of the `windows` config)."""
    article = document["id"]
    placed: dict[str, tuple[str, int, int]] = {}  # entity id -> (window id, first token, last token)
    where = _token_index(windows, document["text"])
    for entity in document["entities"]:
        placed[entity["id"]] = where(entity["start"], entity["end"])
    entities = {e["id"]: e for e in document["entities"]}
    events = {ev["id"] for ev in document["events"]}
    lines = {w["id"]: _empty_line(document, w, language) for w in windows}
    for entity in document["entities"]:
        wnd, first, last = placed[entity["id"]]
        lines[wnd]["entity_mentions"].append(
            {
                "id": mention_id(article, entity["id"]),
                "entity_type": entity["label"],
                "text": entity["text"],
                "start": first,
                "end": last,
            }
        )
    for event in document["events"]:
        trigger = event["trigger"]
        wnd, first, last = where(trigger["start"], trigger["end"])
        mention: dict[str, Any] = {
            "id": mention_id(article, event["id"]),
            "event_type": event["type"],
            "trigger": {"text": trigger["text"], "start": first, "end": last},
            "arguments": [],
            "event_arguments": [],
            "outside_arguments": [],
            "attributes": {k: event[k] for k in event if k not in ("id", "type", "trigger", "arguments")},
        }
        for argument in event["arguments"]:
            target = argument["target"]
            if target in events and target not in entities:
                mention["event_arguments"].append({"event_id": mention_id(article, target), "role": argument["role"]})
                continue
            entity = entities[target]
            target_wnd, t_first, t_last = placed[target]
            if target_wnd == wnd:
                mention["arguments"].append(
                    {
                        "entity_id": mention_id(article, target),
                        "role": argument["role"],
                        "text": entity["text"],
                        "start": t_first,
                        "end": t_last,
                    }
                )
            else:
                mention["outside_arguments"].append(
                    {"entity_id": mention_id(article, target), "wnd_id": target_wnd, "role": argument["role"]}
                )
        lines[wnd]["event_mentions"].append(mention)
    return list(lines.values())


def _empty_line(document: Mapping[str, Any], window: dict[str, Any], language: str) -> dict[str, Any]:
    return {
        "doc_id": document["id"],
        "wnd_id": window["id"],
        "text": window["text"],
        "lang": language,
        "tokens": list(window["tokens"]),
        "entity_mentions": [],
        "event_mentions": [],
        "start": window["start"],
        "end": window["end"],
        "token_starts": list(window["token_starts"]),
        "token_ends": list(window["token_ends"]),
    }


def _token_index(windows: list[dict[str, Any]], text: str) -> Callable[[int, int], tuple[str, int, int]]:
    """A function from a character span to (window id, first token, one past last token) in that window.

    Whitespace at a span's edge carries no token, so a span is placed as its trimmed self (as BIO tags it).
    """
    names = [window["id"] for window in windows]
    firsts: list[int] = []
    starts: list[int] = []
    ends: list[int] = []
    for window in windows:
        firsts.append(len(starts))
        starts.extend(window["token_starts"])
        ends.extend(window["token_ends"])

    def token(offsets: list[int], offset: int, past: int) -> tuple[str, int]:
        """(window id, index in that window) of the token at `offset` (`past` 1: one past the token ending there)."""
        index = bisect_left(offsets, offset)
        if index == len(offsets) or offsets[index] != offset:
            raise KeyError(offset)
        window = bisect_right(firsts, index) - 1
        return names[window], index - firsts[window] + past

    def where(start: int, end: int) -> tuple[str, int, int]:
        while start < end - 1 and text[start].isspace():
            start += 1
        while end > start + 1 and text[end - 1].isspace():
            end -= 1
        (wnd, first), (wnd_end, last) = token(starts, start, 0), token(ends, end, 1)
        assert wnd == wnd_end, (start, end, wnd, wnd_end)  # windows never cut a span
        return wnd, first, last

    return where


def from_textee(lines: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Entities and events per article, in character offsets, read back from TextEE-style objects.

    Entity and event ids are the article's own again; arguments of all three kinds are merged.
    """
    articles: dict[str, dict[str, Any]] = defaultdict(lambda: {"entities": [], "events": []})
    for line in lines:
        doc = line["doc_id"]
        prefix = f"{doc}-"
        starts, ends = line["token_starts"], line["token_ends"]
        for mention in line["entity_mentions"]:
            articles[doc]["entities"].append(
                {
                    "id": mention["id"].removeprefix(prefix),
                    "start": starts[mention["start"]],
                    "end": ends[mention["end"] - 1],
                    "text": mention["text"],
                    "label": mention["entity_type"],
                }
            )
        for mention in line["event_mentions"]:
            trigger = mention["trigger"]
            arguments = [
                {"role": a["role"], "target": a["entity_id"].removeprefix(prefix)}
                for a in mention["arguments"] + mention.get("outside_arguments", [])
            ]
            arguments += [
                {"role": a["role"], "target": a["event_id"].removeprefix(prefix)}
                for a in mention.get("event_arguments", [])
            ]
            articles[doc]["events"].append(
                {
                    "id": mention["id"].removeprefix(prefix),
                    "type": mention["event_type"],
                    "trigger": {
                        "start": starts[trigger["start"]],
                        "end": ends[trigger["end"] - 1],
                        "text": trigger["text"],
                    },
                    "arguments": arguments,
                    **mention.get("attributes", {}),
                }
            )
    return dict(articles)


class TexteeWriter:
    """The TextEE-style JSON Lines of a version, one file per split, opened on its first line."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder / TEXTEE_FOLDER
        self.handles: dict[str, IO[str]] = {}
        self.outside_arguments = 0
        self.event_arguments = 0

    def add(self, split: str, lines: list[dict[str, Any]]) -> None:
        if split not in self.handles:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.handles[split] = (self.folder / f"{split}.jsonl").open("w", encoding="utf-8")
        for line in lines:
            for mention in line["event_mentions"]:
                self.outside_arguments += len(mention["outside_arguments"])
                self.event_arguments += len(mention["event_arguments"])
            self.handles[split].write(_LINE.encode(line) + "\n")

    def close(self) -> None:
        for handle in self.handles.values():
            handle.close()


def ontology(scheme: Scheme) -> dict[str, Any]:
    """Event type → PLOVER category and roles → allowed entity types; entity types; attributes."""
    return {
        "scheme": {"name": scheme.name, "version": scheme.version},
        "entity_types": list(scheme.entity_names),
        "event_types": {
            event.name: {
                "plover": event.plover,
                "definition": event.definition,
                "roles": {role.name: list(role.targets) for role in event.roles},
            }
            for event in scheme.events
        },
        "roles": list(scheme.role_names),
        "attributes": {a.name: {"values": list(a.values), "default": a.default} for a in scheme.attributes},
        "notes": (
            "A role target EVENT means the argument is another event (its trigger), not an entity mention; "
            "in the TextEE-style files such arguments are in each event mention's `event_arguments`."
        ),
    }
