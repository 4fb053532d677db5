"""Checking annotations: the record JSON Schema for structure, the scheme for meaning.

`validate_record` checks one canonical record and returns every problem it finds, each
naming task, annotation and region, so a maintainer can find the span in Label Studio.
Checking a whole file (an export or records) is `annotate.core.exports.validate`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

from annotate.core import derive
from annotate.core.inputs import expected_types, kind_of, strict_validator_class
from annotate.core.records import Problem
from annotate.core.scheme import EVENT_TARGET, Scheme
from annotate.core.migration import record_version, semver

# Record fields whose schema errors (an enum, a minimum) the meaning checks below report
# with a clearer code and message; the schema would only say the same thing twice.
_EXPLAINED = {
    ("entities", "label", "enum"),
    ("events", "type", "enum"),
    ("arguments", "role", "enum"),
    ("events", "attributes", "additionalProperties"),
    ("attributes", "*", "enum"),
    ("entities", "start", "minimum"),
    ("entities", "end", "minimum"),
    ("trigger", "start", "minimum"),
    ("trigger", "end", "minimum"),
    ("entities", "text", "minLength"),
    ("trigger", "text", "minLength"),
}
_SHOWN = 80
"""Characters of an offending value quoted in a message."""

RULES_VERSION = 2
"""The version of the checks below. Raise it when a change can refuse a record an earlier version accepted:
a records file stamped valid under other rules is checked again (see `annotate.core.validated`)."""


def show_value(value: Any) -> str:
    """A value as a message quotes it: its repr, cut short."""
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


# --- one record -------------------------------------------------------------------------------

_validators: dict[str, tuple[Any, Any]] = {}
"""Validators by the scheme's repr: the same scheme loaded again (each command loads it) reuses them."""
_validators_of: dict[int, tuple[Scheme, tuple[Any, Any]]] = {}
"""The same, by the identity of a loaded scheme: what each record's check looks up."""


def schema_validators(scheme: Scheme) -> tuple[Any, Any]:
    """(reference, fast) validators of the scheme's record schema, built once per scheme.

    The reference is `jsonschema` (Draft 2020-12, where 3.0 is not an integer), whose messages
    users read. The fast one (`jsonschema-rs`, same schema) only says yes or no, and counts 3.0
    as an integer: a record it passes with no float where an integer belongs skips the
    reference, which is most of the cost of validating a large, mostly valid pull. None when
    not installed.
    """
    known = _validators_of.get(id(scheme))
    if known is not None and known[0] is scheme:
        return known[1]
    cached = _validators.get(repr(scheme))
    if cached is not None:
        _validators_of[id(scheme)] = (scheme, cached)
        return cached
    schema = derive.record_schema(scheme)
    strict = strict_validator_class()
    strict.check_schema(schema)
    reference = strict(schema)
    try:
        # lazy and optional: without it every record goes through the reference validator
        import jsonschema_rs

        fast = jsonschema_rs.Draft202012Validator(schema)
    except ImportError:
        fast = None
    _validators[repr(scheme)] = (reference, fast)
    _validators_of[id(scheme)] = (scheme, (reference, fast))
    return reference, fast


_SCHEME_NAME_CODES = frozenset(
    {"unknown-label", "unknown-event-type", "unknown-attribute", "attribute-value", "role-not-in-event",
     "role-target-type", "role-of-other-event"}
)
"""Problems that a change of the scheme explains: a name the current scheme no longer has or allows."""


def validate_record(record: Mapping[str, Any], scheme: Scheme) -> list[Problem]:
    """Every problem of one canonical record: structure (JSON Schema) and meaning (the scheme).

    A record that names another scheme version than the current one gets one `scheme-version`
    problem saying to migrate it. A record that names none (hand-made, from another tool, or
    from before versions were recorded) is checked against the current scheme; only when its
    every problem is a name the current scheme does not allow is it taken as one of the first
    scheme's records and told to migrate. An addition to the scheme leaves such records valid,
    and a record broken in other ways is shown everything that is wrong with it.
    """
    if not isinstance(record, dict):
        return [Problem("schema", f"a record must be a JSON object, got {show_value(record)}")]
    versioned = "scheme_version" in record
    if versioned:
        stale = _version_problem(record, scheme)
        if stale is not None:
            return [stale]
    _, fast = schema_validators(scheme)
    if fast is not None and fast.is_valid(record) and _plainly_valid(record, _scheme_index(scheme)):
        return []
    checker = _RecordChecker(record, scheme)
    checker.check_schema()
    checker.check_meaning()
    if not versioned and checker.problems and all(p.code in _SCHEME_NAME_CODES for p in checker.problems):
        stale = _version_problem(record, scheme)
        if stale is not None:
            return [stale]
    return checker.problems


@dataclass(frozen=True)
class _SchemeIndex:
    """The scheme as look-up tables, for checking many records quickly."""

    entity_names: frozenset[str]
    roles: dict[str, dict[str, frozenset[str]]]
    """Event type → role → allowed targets."""
    attributes: dict[str, frozenset[str]]


_indexes: dict[int, tuple[Scheme, _SchemeIndex]] = {}


def _scheme_index(scheme: Scheme) -> _SchemeIndex:
    cached = _indexes.get(id(scheme))
    if cached is not None and cached[0] is scheme:
        return cached[1]
    index = _SchemeIndex(
        frozenset(scheme.entity_names),
        {e.name: {r.name: frozenset(r.targets) for r in e.roles} for e in scheme.events},
        {a.name: frozenset(a.values) for a in scheme.attributes},
    )
    _indexes[id(scheme)] = (scheme, index)
    return index


def _plainly_valid(record: dict[str, Any], index: _SchemeIndex) -> bool:
    """True only when `_RecordChecker.check_meaning` would find nothing; False means "check it fully".

    Called on records the JSON Schema passed. The common case of a large pull, decided with
    set and dict look-ups; every doubt (a missing key, an odd type, a miss, a duplicate)
    goes to the full checker, which explains it.
    """
    try:
        return _plain_meaning(record, index)
    except (KeyError, TypeError, IndexError, AttributeError):
        return False


def _plain_meaning(record: dict[str, Any], index: _SchemeIndex) -> bool:
    text, entities, events = record["text"], record["entities"], record["events"]
    if type(text) is not str or type(entities) is not list or type(events) is not list:
        return False
    task = record.get("task_id")
    if task is not None and type(task) is not int:
        return False  # 3.0, which the fast schema check counts as an integer
    size = len(text)
    names = index.entity_names
    labels: dict[str, str] = {}
    event_types: dict[str, str] = {}
    spans: set[tuple[int, int, str]] = set()
    # Repeated region ids and spans are found by counting once every region is in (below),
    # not by a look-up per region: the answer is the same, whichever repeats. A quoted text
    # that is no string never equals a slice of the text, and a label or type that is none
    # is in no table of names (or raises TypeError), so neither needs a type check of its own.
    for entity in entities:
        start, end, quoted = entity["start"], entity["end"], entity["text"]
        region, label = entity["id"], entity["label"]
        if type(start) is not int or type(end) is not int or type(region) is not str:
            return False
        if not 0 <= start < end <= size or text[start:end] != quoted or quoted.strip() != quoted:
            return False  # `strip` takes exactly the characters `isspace` names
        if label not in names:
            return False
        labels[region] = label
        spans.add((start, end, label))
    roles = index.roles
    for event in events:
        region, kind, trigger = event["id"], event["type"], event["trigger"]
        start, end, quoted = trigger["start"], trigger["end"], trigger["text"]
        if type(start) is not int or type(end) is not int or type(region) is not str:
            return False
        if not 0 <= start < end <= size or text[start:end] != quoted or quoted.strip() != quoted or kind not in roles:
            return False
        spans.add((start, end, kind))
        event_types[region] = kind
        attributes = event.get("attributes")
        if attributes is not None:
            for name, value in attributes.items():
                allowed = index.attributes.get(name)
                if allowed is None or type(value) is not str or value not in allowed:
                    return False
    if len(labels) != len(entities) or len(event_types) != len(events) or len(spans) != len(entities) + len(events):
        return False  # a region id or a span came twice
    if not labels.keys().isdisjoint(event_types):
        return False  # an event with an entity's id
    for event in events:
        event_roles = roles[event["type"]]
        for argument in event.get("arguments") or ():
            role, target = argument["role"], argument["target"]
            if type(role) is not str or type(target) is not str or target == event["id"]:
                return False  # an event pointing at itself goes to the full check, which names it
            targets = event_roles.get(role)
            if targets is None:
                return False
            if target in labels:
                if labels[target] not in targets:
                    return False
            elif target not in event_types or EVENT_TARGET not in targets:
                return False
    return True


def _version_problem(record: dict[str, Any], scheme: Scheme) -> Problem | None:
    """An old record is not broken, it is under an earlier scheme: say so instead of listing what changed."""
    version = record_version(record)
    if version == scheme.version:
        return None
    task = record.get("task_id") if record.get("task_id") is not None else record.get("article_id")
    try:
        older = semver(version) < semver(scheme.version)
    except ValueError:
        older = False
    if older:
        message = (f"the record is under scheme {version}, labels/scheme.yaml is {scheme.version}: "
                   "run `annotate migrate` to bring it to the current scheme")
    else:
        message = f"the record is under scheme {version}, newer than labels/scheme.yaml ({scheme.version})"
    return Problem("scheme-version", message, task, record.get("annotation_id"))


def _json_path(path: Iterable[Any]) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def _explained(path: list[Any], validator: str) -> bool:
    names = [p for p in path if isinstance(p, str)]
    if validator == "enum" and len(names) >= 2 and names[-2] == "attributes":
        return True
    return len(names) >= 2 and (names[-2], names[-1], validator) in _EXPLAINED


class _RecordChecker:
    """Collects the problems of one record; each check looks only at well-typed parts."""

    def __init__(self, record: Mapping[str, Any], scheme: Scheme) -> None:
        self.record = record
        self.scheme = scheme
        self.problems: list[Problem] = []
        task = record.get("task_id")
        self.task = task if task is not None else record.get("article_id")
        self.annotation = record.get("annotation_id")
        text = record.get("text")
        self.text = text if isinstance(text, str) else ""
        self.entities = [e for e in _list(record.get("entities")) if isinstance(e, dict)]
        self.events = [e for e in _list(record.get("events")) if isinstance(e, dict)]

    def fail(self, code: str, message: str, region: Any = None) -> None:
        region = str(region) if region is not None else None
        self.problems.append(Problem(code, message, self.task, self.annotation, region))

    def check_schema(self) -> None:
        reference, fast = schema_validators(self.scheme)
        if fast is not None and fast.is_valid(self.record) and not _float_where_integer(self.record):
            return
        for error in reference.iter_errors(self.record):
            path = list(error.absolute_path)
            if _explained(path, error.validator) or _decimal_offset(path, error):
                continue
            if error.validator == "type":
                found = f"{kind_of(error.instance)} {show_value(error.instance)}"
                message = f"at {_json_path(path)}: must be {expected_types(error.validator_value)}, not {found}"
            else:
                message = f"at {_json_path(path)}: {error.message}"
            self.fail("schema", message[:300], self._region_at(path))

    def _region_at(self, path: list[Any]) -> Any:
        if len(path) >= 2 and path[0] in ("entities", "events") and isinstance(path[1], int):
            items = _list(self.record.get(path[0]))
            if path[1] < len(items) and isinstance(items[path[1]], dict):
                return items[path[1]].get("id")
        return None

    def check_meaning(self) -> None:
        self._check_ids()
        for entity in self.entities:
            self._check_span(entity, entity.get("id"), "entity")
            label = entity.get("label")
            if isinstance(label, str) and label not in self.scheme.entity_names:
                self.fail("unknown-label", f"entity label {show_value(label)} is not in the scheme", entity.get("id"))
        for event in self.events:
            self._check_event(event)
        self._check_duplicates()

    def _check_ids(self) -> None:
        seen: set[str] = set()
        for item in (*self.entities, *self.events):
            region = item.get("id")
            if not isinstance(region, str):
                continue
            if region in seen:
                self.fail("duplicate-id", f"region id {show_value(region)} is used by more than one region", region)
            seen.add(region)

    def _check_span(self, span: Any, region: Any, what: str) -> None:
        if not isinstance(span, dict):
            return
        start, end, quoted = span.get("start"), span.get("end"), span.get("text")
        decimals = [(name, v) for name, v in (("start", start), ("end", end)) if isinstance(v, float)]
        if decimals:
            # A string index is a whole number as written: 3.0 is not one (the schema check leaves this to here).
            named = " and ".join(f"{name} {v!r}" for name, v in decimals)
            self.fail("offsets", f"{what} {named} must be a whole number (a character index), not a decimal", region)
            return
        if not (_is_int(start) and _is_int(end) and isinstance(quoted, str)):
            return  # the schema check has named the wrong type
        in_range = 0 <= start < end <= len(self.text)
        # Only a span that does not match needs explaining; most match, so don't scan the text for them.
        matches = in_range and self.text[start:end] == quoted
        shifted = None if matches else _utf16_span(self.text, start, end)
        if (
            shifted is not None
            and self.text[shifted[0] : shifted[1]] == quoted
            and (not in_range or self.text[start:end] != quoted)
        ):
            self.fail(
                "utf16-offsets",
                f"{what} offsets {start}:{end} count UTF-16 code units, not characters: "
                f"{show_value(quoted)} is at {shifted[0]}:{shifted[1]} (a character outside the BMP, "
                "such as an emoji, comes before it); re-export or convert the offsets",
                region,
            )
            return
        if not in_range:
            self.fail(
                "offsets",
                f"{what} offsets {start}:{end} are not within 0 <= start < end <= {len(self.text)} (text length)",
                region,
            )
            return
        found = self.text[start:end]
        if found != quoted:
            self.fail(
                "span-text",
                f"{what} text {show_value(quoted)} differs from text[{start}:{end}] = {show_value(found)}",
                region,
            )
        elif quoted != quoted.strip():
            self.fail("whitespace", f"{what} span {show_value(quoted)} starts or ends with white space", region)

    def _check_event(self, event: dict[str, Any]) -> None:
        region = event.get("id")
        self._check_span(event.get("trigger"), region, "trigger")
        kind = event.get("type")
        event_type = self.scheme.event(kind) if isinstance(kind, str) else None
        if isinstance(kind, str) and event_type is None:
            self.fail("unknown-event-type", f"event type {show_value(kind)} is not in the scheme", region)
        for argument in _list(event.get("arguments")):
            if isinstance(argument, dict):
                self._check_argument(argument, event_type, region)
        attributes = event.get("attributes")
        for name, value in (attributes.items() if isinstance(attributes, dict) else ()):
            attribute = self.scheme.attribute(name)
            if attribute is None:
                self.fail("unknown-attribute", f"attribute {show_value(name)} is not in the scheme", region)
            elif isinstance(value, str) and value not in attribute.values:  # the schema check names a non-string
                allowed = ", ".join(attribute.values)
                self.fail("attribute-value", f"{name} = {show_value(value)} is not one of {allowed}", region)

    def _check_argument(self, argument: dict[str, Any], event_type: Any, region: Any) -> None:
        role_name, target = argument.get("role"), argument.get("target")
        if not isinstance(role_name, str) or not isinstance(target, str):
            return
        entity = next((e for e in self.entities if e.get("id") == target), None)
        trigger = next((e for e in self.events if e.get("id") == target), None)
        if target == region:
            self.fail("self-argument", f"{role_name} of event {show_value(region)} points at the event itself", region)
            return
        if entity is None and trigger is None:
            missing = f"{role_name} points at region {show_value(target)}, which does not exist"
            self.fail("missing-target", missing, region)
        if event_type is None:
            return
        role = event_type.role(role_name)
        if role is None:
            roles = ", ".join(r.name for r in event_type.roles)
            self.fail(
                "role-not-in-event",
                f"role {show_value(role_name)} is not a role of {event_type.name} (its roles: {roles})",
                region,
            )
            return
        if entity is not None and isinstance(entity.get("label"), str) and entity.get("label") not in role.targets:
            self.fail(
                "role-target-type",
                f"{event_type.name} {role.name} may point at {', '.join(role.targets)}, "
                f"not at {show_value(target)} labelled {show_value(entity.get('label'))}",
                region,
            )
        elif entity is None and trigger is not None and EVENT_TARGET not in role.targets:
            self.fail(
                "role-target-type",
                f"{event_type.name} {role.name} may point at {', '.join(role.targets)}, "
                f"not at the event trigger {show_value(target)}",
                region,
            )

    def _check_duplicates(self) -> None:
        seen: dict[tuple[Any, ...], Any] = {}
        spans: list[tuple[Any, Any, Any]] = [(e.get("id"), e, e.get("label")) for e in self.entities]
        spans += [(e.get("id"), e.get("trigger"), e.get("type")) for e in self.events]
        for region, span, label in spans:
            if not isinstance(span, dict) or not (_is_int(span.get("start")) and _is_int(span.get("end"))):
                continue  # the schema check names offsets of the wrong type
            if not isinstance(label, str):
                continue
            key = (span.get("start"), span.get("end"), label)
            if key in seen:
                self.fail(
                    "duplicate-span",
                    f"{show_value(label)} on {key[0]}:{key[1]} {show_value(span.get('text'))} "
                    f"is also region {seen[key]}",
                    region,
                )
            else:
                seen[key] = region


def _float_where_integer(record: Mapping[str, Any]) -> bool:
    """Whether a float stands where the record schema has integers: the task id and the span offsets."""
    if isinstance(record.get("task_id"), float):
        return True
    spans: list[Any] = [e for e in _list(record.get("entities")) if isinstance(e, dict)]
    spans += [e.get("trigger") for e in _list(record.get("events")) if isinstance(e, dict)]
    return any(isinstance(s, dict) and (isinstance(s.get("start"), float) or isinstance(s.get("end"), float))
               for s in spans)


def _decimal_offset(path: list[Any], error: Any) -> bool:
    """A span offset such as 3.0: `_check_span` says what is wrong with it, once."""
    return error.validator == "type" and isinstance(error.instance, float) and path[-1:] in (["start"], ["end"])


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


_ASTRAL = re.compile("[\U00010000-\U0010FFFF]")
"""A character outside the Basic Multilingual Plane: two UTF-16 code units, one code point."""


def _utf16_span(text: str, start: int, end: int) -> tuple[int, int] | None:
    """Code-point offsets of a span given in UTF-16 code units, when the text makes them differ."""
    if start < 0 or end <= start or not _ASTRAL.search(text):
        return None
    positions: dict[int, int] = {}
    units = 0
    for index, char in enumerate(text):
        positions[units] = index
        if units > end:
            break
        units += 2 if ord(char) > 0xFFFF else 1
    else:
        positions[units] = len(text)
    if start in positions and end in positions and positions[start] != start:
        return positions[start], positions[end]
    return None
