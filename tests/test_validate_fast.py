"""The quick check of plainly valid records never lets through a record that the full check would fault."""

from __future__ import annotations

import copy
import json
from typing import Any, Callable

import pytest

from annotate.core.corpus import load_corpus
from annotate.core.scheme import current_scheme
from annotate.core.validate import _RecordChecker, validate_record
from annotate.core.workspace import Workspace
from tests.test_publish import make_record


def _full_check(record: dict[str, Any], scheme) -> list:
    checker = _RecordChecker(record, scheme)
    checker.check_schema()
    checker.check_meaning()
    return checker.problems


def _first_with_arguments(records: list[dict]) -> dict:
    return next(r for r in records if any(e["arguments"] for e in r["events"]) and len(r["entities"]) > 2)


def _set(path: tuple, value: Any) -> Callable[[dict], None]:
    def change(record: dict) -> None:
        target = record
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


def _delete(path: tuple) -> Callable[[dict], None]:
    def change(record: dict) -> None:
        target = record
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return change


def _duplicate_entity(record: dict) -> None:
    record["entities"].append(dict(record["entities"][0], id="e-copy"))


def _reuse_id(record: dict) -> None:
    record["events"][0]["id"] = record["entities"][0]["id"]


def _argument_to_event(record: dict) -> None:
    role = record["events"][0]["arguments"][0]["role"]
    record["events"][0]["arguments"] = [{"role": role, "target": record["events"][-1]["id"]}]


def _shift_entity(record: dict) -> None:
    entity = record["entities"][0]
    entity["start"] += 1
    entity["end"] += 1


def _pad_entity(record: dict) -> None:
    entity = record["entities"][0]
    entity["start"] -= 1
    entity["text"] = record["text"][entity["start"] : entity["end"]]


def _space_after_entity(record: dict) -> None:
    entity = next(e for e in record["entities"] if record["text"][e["end"]].isspace())
    entity["end"] += 1
    entity["text"] = record["text"][entity["start"] : entity["end"]]


def _duplicate_event(record: dict) -> None:
    record["events"].append(dict(record["events"][0], id="ev-copy"))


def _event_role(record: dict) -> str:
    return record["events"][0]["arguments"][0]["role"]


MUTATIONS: dict[str, Callable[[dict], None]] = {
    "no change": lambda record: None,
    "unknown entity label": _set(("entities", 0, "label"), "NOPE"),
    "unknown event type": _set(("events", 0, "type"), "Nope.Nope"),
    "unknown role": lambda r: r["events"][0]["arguments"][0].update(role="Nobody"),
    "missing target": lambda r: r["events"][0]["arguments"][0].update(target="nowhere"),
    "argument at an event trigger": _argument_to_event,
    "unknown attribute": lambda r: r["events"][0].setdefault("attributes", {}).update(colour="red"),
    "attribute value": lambda r: r["events"][0].setdefault("attributes", {}).update(modality="Sometimes"),
    "span text differs": _set(("entities", 0, "text"), "something else"),
    "span shifted": _shift_entity,
    "span with white space": _pad_entity,
    "offsets out of range": _set(("entities", 0, "end"), 10**7),
    "start after end": _set(("entities", 0, "start"), 10**6),
    "bool offset": _set(("entities", 0, "start"), True),
    "decimal offset": lambda r: r["entities"][0].update(start=float(r["entities"][0]["start"])),
    "decimal trigger end": lambda r: r["events"][0]["trigger"].update(end=float(r["events"][0]["trigger"]["end"])),
    "task id 3.0": lambda r: r.update(task_id=float(r["task_id"])),
    "entity label a number": _set(("entities", 0, "label"), 5),
    "event type a number": _set(("events", 0, "type"), 5),
    "role a list": lambda r: r["events"][0]["arguments"][0].update(role=[_event_role(r)]),
    "duplicate span": _duplicate_entity,
    "duplicate region id": _reuse_id,
    "duplicate event id": lambda r: r["events"][1].update(id=r["events"][0]["id"]),
    "duplicate entity id": lambda r: r["entities"][1].update(id=r["entities"][0]["id"]),
    "duplicate trigger": _duplicate_event,
    "span text ends in white space": _space_after_entity,
    "span text not a string": _set(("entities", 0, "text"), ["x"]),
    "entity id not a string": _set(("entities", 0, "id"), 3),
    "trigger missing": _delete(("events", 0, "trigger")),
    "trigger not an object": _set(("events", 0, "trigger"), "x"),
    "arguments not a list": _set(("events", 0, "arguments"), {"role": "x"}),
    "attributes not an object": _set(("events", 0, "attributes"), ["x"]),
    "entities not a list": _set(("entities",), {}),
    "text missing": _delete(("text",)),
    "text not a string": _set(("text",), 5),
    "entity not an object": lambda r: r["entities"].append("e9"),
}


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_a_changed_record_gets_the_problems_of_the_full_check(offline_workspace: Workspace, name: str) -> None:
    scheme = current_scheme(offline_workspace)
    articles = load_corpus(offline_workspace)
    records = [make_record(article, "a3f91c0d2e7b", number=n) for n, article in enumerate(articles)]
    record = copy.deepcopy(_first_with_arguments(records))
    assert _event_role(record)
    MUTATIONS[name](record)
    expected = _full_check(json.loads(json.dumps(record)), scheme)
    assert validate_record(record, scheme) == expected
    if name == "no change":
        assert expected == []
    else:
        assert expected, f"the mutation {name!r} should be a problem"
