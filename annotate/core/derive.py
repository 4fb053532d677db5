"""Everything derived from the scheme: Label Studio config, record JSON Schema, dataset features, tables.

These are pure functions of a `Scheme`; `annotate.scheme_files` writes and checks the
committed copies.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

from annotate.core.scheme import EVENT_TARGET, EntityType, EventType, Scheme

# Names in the Label Studio config that exports are read by: an interchange contract.
TEXT = "text"
ENTITY = "entity"
TRIGGER = "trigger"
FEEDBACK = "feedback"
"""The task data field where `annotate watch` and `annotate pull` tell the annotator what is wrong with their work."""


def label_config(scheme: Scheme) -> str:
    """The Label Studio labelling config: title, entity and trigger labels, roles, per-trigger attributes."""
    view = ET.Element("View")
    # Empty until `annotate watch` or `annotate pull` finds a problem in the annotator's submission of this task.
    ET.SubElement(view, "Header", value=f"${FEEDBACK}", size="5")
    ET.SubElement(view, "Header", value="$title")
    keys = label_hotkeys(scheme)
    _labels(view, ENTITY, scheme.entities, "Entities", keys)
    _labels(view, TRIGGER, scheme.events, "Event triggers", keys)
    # The article scrolls in its own box so that the attribute choices below it stay in view
    # when a trigger is selected in a long article.
    box = ET.SubElement(view, "View", style="max-height: 55vh; overflow-y: auto")
    ET.SubElement(box, "Text", name=TEXT, value="$text")
    # Each event type's roles stand together, named after it: a role of another event type
    # reads as wrong in the list, and is reported as such at once (`annotate watch`).
    relations = ET.SubElement(view, "Relations")
    for event in scheme.events:
        for role in event.roles:
            attrs = {"value": relation_label(event.name, role.name)}
            if event.color:
                attrs["background"] = event.color
            ET.SubElement(relations, "Relation", attrs)
    triggers = ",".join(scheme.event_names)
    for attribute in scheme.attributes:
        box = ET.SubElement(view, "View", visibleWhen="region-selected", whenLabelValue=triggers)
        ET.SubElement(box, "Header", value=f"{attribute.name} (default {attribute.default})", size="6")
        choices = ET.SubElement(
            box,
            "Choices",
            name=attribute.name,
            toName=TEXT,
            perRegion="true",
            choice="single-radio",
            showInline="true",
        )
        for value in attribute.values:
            ET.SubElement(choices, "Choice", value=value)
    ET.indent(view, space="  ")
    comment = f"<!-- Generated from labels/scheme.yaml version {scheme.version} by `annotate scheme`. Do not edit. -->"
    return comment + "\n" + ET.tostring(view, encoding="unicode") + "\n"


ROLE_MARK = ": "


def relation_label(event_type: str, role: str) -> str:
    """The label of a role relation in Label Studio: the event type, then the role ("Transaction.Transfer: Giver")."""
    return f"{event_type}{ROLE_MARK}{role}"


def split_relation_label(label: str) -> tuple[str | None, str]:
    """(event type, role) of a relation label; (None, role) for a bare role, as older projects have them."""
    event_type, mark, role = label.rpartition(ROLE_MARK)
    return (event_type, role) if mark else (None, label)


HOTKEY_MODIFIERS = "shift+alt"
"""Held with a label's key in Label Studio. The editor listens for label keys on the whole page,
except in text fields, and the role list of a relation is a button with a list of ticks, not a
text field: with bare letters, typing there picks label after label. No typing holds Shift and
Alt together (Label Studio's own Alt keys are Alt alone or Alt with an arrow)."""
SPARE_KEYS = "1234567890bhjnrsuxyz"
"""Keys for the labels the scheme gives none, in order. Label Studio would otherwise give each
such label a bare key of its own choosing (1, 2, … then letters)."""


def label_hotkeys(scheme: Scheme) -> dict[str, str]:
    """Label name → the keys that pick it in Label Studio: the scheme's key (or a spare one) with Shift+Alt."""
    items: tuple[EntityType | EventType, ...] = (*scheme.entities, *scheme.events)
    taken = {str(item.hotkey) for item in items if item.hotkey}
    spare = iter(key for key in SPARE_KEYS if key not in taken)
    keys = {}
    for item in items:
        key = item.hotkey or next(spare, None)
        if key:
            keys[item.name] = f"{HOTKEY_MODIFIERS}+{key}"
    return keys


def _labels(view: ET.Element, name: str, items: tuple, title: str, keys: dict[str, str]) -> None:
    ET.SubElement(view, "Header", value=title, size="5")
    labels = ET.SubElement(view, "Labels", name=name, toName=TEXT, showInline="true")
    for item in items:
        attrs = {"value": item.name, "hint": item.definition}
        if item.color:
            attrs["background"] = item.color
        if item.name in keys:
            attrs["hotkey"] = keys[item.name]
        ET.SubElement(labels, "Label", attrs)


def record_schema(scheme: Scheme) -> dict[str, Any]:
    """JSON Schema (2020-12) of one canonical record, with the scheme's names as enums."""
    span = {
        "start": {"type": "integer", "minimum": 0},
        "end": {"type": "integer", "minimum": 1},
        "text": {"type": "string", "minLength": 1},
    }
    entity = {
        "type": "object",
        "required": ["id", "start", "end", "text", "label"],
        "additionalProperties": False,
        "properties": {"id": {"type": "string", "minLength": 1}, **span, "label": _name_of(scheme.entity_names)},
    }
    attributes = {
        "type": "object",
        "additionalProperties": False,
        "properties": {a.name: {**_name_of(a.values), "description": a.definition} for a in scheme.attributes},
    }
    argument = {
        "type": "object",
        "required": ["role", "target"],
        "additionalProperties": False,
        "properties": {"role": _name_of(scheme.role_names), "target": {"type": "string", "minLength": 1}},
    }
    event = {
        "type": "object",
        "required": ["id", "type", "trigger", "arguments", "attributes"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "string", "minLength": 1},
            "type": _name_of(scheme.event_names),
            "trigger": {"type": "object", "required": list(span), "additionalProperties": False, "properties": span},
            "arguments": {"type": "array", "items": {"$ref": "#/$defs/argument"}},
            "attributes": {"$ref": "#/$defs/attributes"},
        },
        "allOf": [_roles_of(ev.name, [r.name for r in ev.roles]) for ev in scheme.events],
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Canonical annotation record",
        "description": (
            f"One annotation of one article. Generated from labels/scheme.yaml version {scheme.version}; do not edit. "
            "Offsets are Python string indices (code points) into text; text[start:end] equals the span text."
        ),
        "type": "object",
        "required": [
            "article_id", "annotation_id", "annotator", "ground_truth", "cancelled", "text", "entities", "events"
        ],
        "additionalProperties": False,
        "properties": {
            "article_id": {"type": "string", "minLength": 1},
            "annotation_id": {"type": "string", "minLength": 1},
            "task_id": {"type": ["integer", "null"]},
            "annotator": {"type": "string", "minLength": 1, "pattern": "^[^@\\s]+$"},
            "ground_truth": {"type": "boolean"},
            "cancelled": {"type": "boolean"},
            "lead_time": {"type": ["number", "null"]},
            "created_at": {"type": ["string", "null"]},
            "updated_at": {"type": ["string", "null"]},
            "title": {"type": ["string", "null"]},
            "text": {"type": "string"},
            "entities": {"type": "array", "items": {"$ref": "#/$defs/entity"}},
            "events": {"type": "array", "items": {"$ref": "#/$defs/event"}},
            "provenance": {"type": "object"},
            "scheme_version": {"type": "string", "pattern": "^\\d+\\.\\d+\\.\\d+$"},
        },
        "$defs": {"entity": entity, "event": event, "argument": argument, "attributes": attributes},
    }


def _name_of(names: tuple[str, ...]) -> dict[str, Any]:
    """One of the scheme's names: a string first (5 or ["PER"] is not a name), then one of these."""
    return {"type": "string", "enum": list(names)}


def _roles_of(event_type: str, roles: list[str]) -> dict[str, Any]:
    return {
        "if": {"properties": {"type": {"const": event_type}}},
        "then": {"properties": {"arguments": {"items": {"properties": {"role": {"enum": roles}}}}}},
    }


def bio_tags(scheme: Scheme) -> list[str]:
    """Token tags in BIO form: O, then B-/I- for each entity type."""
    return ["O", *(f"{p}-{name}" for name in scheme.entity_names for p in ("B", "I"))]


def features(scheme: Scheme, config: str):
    """The `datasets.Features` of a published config (`documents`, `tokens`, `windows` or `annotations`)."""
    # lazy: `datasets` takes half a second to import and only publishing needs it
    from datasets import ClassLabel, Features, List, Value

    span = {"start": Value("int32"), "end": Value("int32"), "text": Value("string")}
    entity = {"id": Value("string"), **span, "label": ClassLabel(names=list(scheme.entity_names))}
    event = {
        "id": Value("string"),
        "type": ClassLabel(names=list(scheme.event_names)),
        "trigger": span,
        "arguments": List({"role": ClassLabel(names=list(scheme.role_names)), "target": Value("string")}),
        **{a.name: ClassLabel(names=list(a.values)) for a in scheme.attributes},
    }
    if config == "documents":
        return Features(
            {
                "id": Value("string"),
                "title": Value("string"),
                "date": Value("string"),
                "source": Value("string"),
                "url": Value("string"),
                "text": Value("string"),
                "entities": List(entity),
                "events": List(event),
                "gold_from": Value("string"),
            }
        )
    if config == "tokens":
        return Features(
            {
                "id": Value("string"),
                "tokens": List(Value("string")),
                "token_starts": List(Value("int32")),
                "token_ends": List(Value("int32")),
                "ner_tags": List(ClassLabel(names=bio_tags(scheme))),
            }
        )
    if config == "windows":
        return Features(
            {
                "id": Value("string"),
                "article_id": Value("string"),
                "window": Value("int32"),
                "start": Value("int32"),
                "end": Value("int32"),
                "text": Value("string"),
                "tokens": List(Value("string")),
                "token_starts": List(Value("int32")),
                "token_ends": List(Value("int32")),
                "ner_tags": List(ClassLabel(names=bio_tags(scheme))),
            }
        )
    if config == "annotations":
        return Features(
            {
                "article_id": Value("string"),
                "annotation_id": Value("string"),
                "annotator": Value("string"),
                "ground_truth": Value("bool"),
                "cancelled": Value("bool"),
                "lead_time": Value("float64"),
                "entities": List(entity),
                "events": List(event),
            }
        )
    raise ValueError(f"unknown config {config!r}")


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def _keys_as_pressed(keys: str | None) -> str:
    """`shift+alt+p` as an annotator reads it on a keyboard: Shift+Alt+P."""
    return "+".join(part.capitalize() if len(part) > 1 else part.upper() for part in keys.split("+")) if keys else ""


def entity_table(scheme: Scheme) -> str:
    keys = label_hotkeys(scheme)
    rows = ["| type | definition | keys |", "|---|---|---|"]
    rows += [
        f"| `{e.name}` | {_md_escape(e.definition)} | {_keys_as_pressed(keys.get(e.name))} |" for e in scheme.entities
    ]
    return "\n".join(rows)


def event_table(scheme: Scheme) -> str:
    groups = {name: f"{name} ({', '.join(members)})" for name, members in scheme.groups.items()}
    groups[EVENT_TARGET] = "another event's trigger"
    rows = ["| event type | PLOVER | definition | roles (what each may point at) |", "|---|---|---|---|"]
    for ev in scheme.events:
        roles = "; ".join(f"{r.name}: {', '.join(groups.get(t, t) for t in r.written_targets)}" for r in ev.roles)
        rows.append(f"| `{ev.name}` | {ev.plover} | {_md_escape(ev.definition)} | {_md_escape(roles)} |")
    return "\n".join(rows)


def attribute_table(scheme: Scheme) -> str:
    rows = ["| attribute | values | default | meaning |", "|---|---|---|---|"]
    rows += [
        f"| `{a.name}` | {', '.join(a.values)} | {a.default} | {_md_escape(a.definition)} |" for a in scheme.attributes
    ]
    return "\n".join(rows)


TABLES = {"entities": entity_table, "events": event_table, "attributes": attribute_table}


def record_schema_text(scheme: Scheme) -> str:
    return json.dumps(record_schema(scheme), indent=2, ensure_ascii=False) + "\n"
