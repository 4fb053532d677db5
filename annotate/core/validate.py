"""Checking annotations: the record JSON Schema for structure, the scheme for meaning.

`validate_record` checks one canonical record and returns every problem it finds;
`validate` reads a Label Studio JSON export or a file of canonical records and checks
all of it, conversion problems included. Each problem names task, annotation and
region, so a maintainer can find the span in Label Studio.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Any, Iterable, Iterator

from annotate.core import derive
from annotate.core.errors import ExportError
from annotate.core.inputs import InputRefused, input_schema, json_path, load_json, schema_problems
from annotate.core.records import Problem, record_from_annotation
from annotate.core.scheme import EVENT_TARGET, Scheme
from annotate.core.workspace import Workspace

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
_JSON_TYPES = {dict: "object", str: "string", int: "number", float: "number", bool: "boolean", type(None): "null"}
_SHOWN = 80
"""Characters of an offending value quoted in a message."""


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


# --- one record -------------------------------------------------------------------------------

_validators: dict[str, tuple[Any, Any]] = {}
"""Validators by the scheme's repr: the same scheme loaded again (each command loads it) reuses them."""
_validators_of: dict[int, tuple[Scheme, tuple[Any, Any]]] = {}
"""The same, by the identity of a loaded scheme: what each record's check looks up."""


def schema_validators(scheme: Scheme) -> tuple[Any, Any]:
    """(reference, fast) validators of the scheme's record schema, built once per scheme.

    The reference is `jsonschema` (Draft 2020-12), whose messages users read. The fast one
    (`jsonschema-rs`, same schema) only says yes or no: a record it passes skips the reference,
    which is most of the cost of validating a large, mostly valid pull. None when not installed.
    """
    known = _validators_of.get(id(scheme))
    if known is not None and known[0] is scheme:
        return known[1]
    cached = _validators.get(repr(scheme))
    if cached is not None:
        _validators_of[id(scheme)] = (scheme, cached)
        return cached
    from jsonschema import Draft202012Validator

    schema = derive.record_schema(scheme)
    Draft202012Validator.check_schema(schema)
    reference = Draft202012Validator(schema)
    try:
        import jsonschema_rs

        fast = jsonschema_rs.Draft202012Validator(schema)
    except ImportError:
        fast = None
    _validators[repr(scheme)] = (reference, fast)
    _validators_of[id(scheme)] = (scheme, (reference, fast))
    return reference, fast


def schema_validator(scheme: Scheme):
    """The reference (`jsonschema`) validator of the scheme's record schema."""
    return schema_validators(scheme)[0]


def validate_record(record: dict[str, Any], scheme: Scheme) -> list[Problem]:
    """Every problem of one canonical record: structure (JSON Schema) and meaning (the scheme)."""
    if not isinstance(record, dict):
        return [Problem("schema", f"a record must be a JSON object, got {_show(record)}")]
    _, fast = schema_validators(scheme)
    if fast is not None and fast.is_valid(record) and _plainly_valid(record, _scheme_index(scheme)):
        return []
    checker = _RecordChecker(record, scheme)
    checker.check_schema()
    checker.check_meaning()
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
    size = len(text)
    names = index.entity_names
    labels: dict[str, str] = {}
    event_types: dict[str, str] = {}
    spans: set[tuple[int, int, str]] = set()
    for entity in entities:
        start, end, quoted = entity["start"], entity["end"], entity["text"]
        region, label = entity["id"], entity["label"]
        if type(start) is not int or type(end) is not int or type(quoted) is not str or type(label) is not str:
            return False
        if not 0 <= start < end <= size or text[start:end] != quoted or quoted[0].isspace() or quoted[-1].isspace():
            return False
        if type(region) is not str or region in labels or label not in names or (start, end, label) in spans:
            return False
        labels[region] = label
        spans.add((start, end, label))
    for event in events:
        region, kind, trigger = event["id"], event["type"], event["trigger"]
        start, end, quoted = trigger["start"], trigger["end"], trigger["text"]
        if type(start) is not int or type(end) is not int or type(quoted) is not str or type(kind) is not str:
            return False
        if not 0 <= start < end <= size or text[start:end] != quoted or quoted[0].isspace() or quoted[-1].isspace():
            return False
        if type(region) is not str or region in labels or region in event_types or kind not in index.roles:
            return False
        if (start, end, kind) in spans:
            return False
        spans.add((start, end, kind))
        event_types[region] = kind
        attributes = event.get("attributes")
        if attributes is not None:
            for name, value in attributes.items():
                allowed = index.attributes.get(name)
                if allowed is None or type(value) is not str or value not in allowed:
                    return False
    for event in events:
        roles = index.roles[event["type"]]
        for argument in event.get("arguments") or ():
            role, target = argument["role"], argument["target"]
            if type(role) is not str or type(target) is not str:
                return False
            targets = roles.get(role)
            if targets is None:
                return False
            if target in labels:
                if labels[target] not in targets:
                    return False
            elif target not in event_types or EVENT_TARGET not in targets:
                return False
    return True


def _json_path(path: Iterable[Any]) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def _explained(path: list[Any], validator: str) -> bool:
    names = [p for p in path if isinstance(p, str)]
    if validator == "enum" and len(names) >= 2 and names[-2] == "attributes":
        return True
    return len(names) >= 2 and (names[-2], names[-1], validator) in _EXPLAINED


class _RecordChecker:
    """Collects the problems of one record; each check looks only at well-typed parts."""

    def __init__(self, record: dict[str, Any], scheme: Scheme) -> None:
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
        if fast is not None and fast.is_valid(self.record):
            return
        for error in reference.iter_errors(self.record):
            path = list(error.absolute_path)
            if _explained(path, error.validator):
                continue
            self.fail("schema", f"at {_json_path(path)}: {error.message}"[:300], self._region_at(path))

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
                self.fail("unknown-label", f"entity label {_show(label)} is not in the scheme", entity.get("id"))
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
                self.fail("duplicate-id", f"region id {_show(region)} is used by more than one region", region)
            seen.add(region)

    def _check_span(self, span: Any, region: Any, what: str) -> None:
        if not isinstance(span, dict):
            return
        start, end, quoted = span.get("start"), span.get("end"), span.get("text")
        if any(isinstance(v, float) for v in (start, end)):
            # JSON Schema counts 3.0 as an integer; a string index cannot be one.
            self.fail("offsets", f"{what} offsets {start}:{end} must be whole numbers, not decimals", region)
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
                f"{_show(quoted)} is at {shifted[0]}:{shifted[1]} (a character outside the BMP, "
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
                f"{what} text {_show(quoted)} differs from text[{start}:{end}] = {_show(found)}",
                region,
            )
        elif quoted != quoted.strip():
            self.fail("whitespace", f"{what} span {_show(quoted)} starts or ends with white space", region)

    def _check_event(self, event: dict[str, Any]) -> None:
        region = event.get("id")
        self._check_span(event.get("trigger"), region, "trigger")
        kind = event.get("type")
        event_type = self.scheme.event(kind) if isinstance(kind, str) else None
        if isinstance(kind, str) and event_type is None:
            self.fail("unknown-event-type", f"event type {_show(kind)} is not in the scheme", region)
        for argument in _list(event.get("arguments")):
            if isinstance(argument, dict):
                self._check_argument(argument, event_type, region)
        attributes = event.get("attributes")
        for name, value in (attributes.items() if isinstance(attributes, dict) else ()):
            attribute = self.scheme.attribute(name)
            if attribute is None:
                self.fail("unknown-attribute", f"attribute {_show(name)} is not in the scheme", region)
            elif value not in attribute.values:
                allowed = ", ".join(attribute.values)
                self.fail("attribute-value", f"{name} = {_show(value)} is not one of {allowed}", region)

    def _check_argument(self, argument: dict[str, Any], event_type: Any, region: Any) -> None:
        role_name, target = argument.get("role"), argument.get("target")
        if not isinstance(role_name, str) or not isinstance(target, str):
            return
        entity = next((e for e in self.entities if e.get("id") == target), None)
        trigger = next((e for e in self.events if e.get("id") == target), None)
        if target == region:
            self.fail("self-argument", f"{role_name} of event {_show(region)} points at the event itself", region)
            return
        if entity is None and trigger is None:
            self.fail("missing-target", f"{role_name} points at region {_show(target)}, which does not exist", region)
        if event_type is None:
            return
        role = event_type.role(role_name)
        if role is None:
            roles = ", ".join(r.name for r in event_type.roles)
            self.fail(
                "role-not-in-event",
                f"role {_show(role_name)} is not a role of {event_type.name} (its roles: {roles})",
                region,
            )
            return
        if entity is not None and entity.get("label") not in role.targets:
            self.fail(
                "role-target-type",
                f"{event_type.name} {role.name} may point at {', '.join(role.targets)}, "
                f"not at {_show(target)} labelled {_show(entity.get('label'))}",
                region,
            )
        elif entity is None and trigger is not None and EVENT_TARGET not in role.targets:
            self.fail(
                "role-target-type",
                f"{event_type.name} {role.name} may point at {', '.join(role.targets)}, "
                f"not at the event trigger {_show(target)}",
                region,
            )

    def _check_duplicates(self) -> None:
        seen: dict[tuple, Any] = {}
        spans = [(e.get("id"), e, e.get("label")) for e in self.entities]
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
                    f"{_show(label)} on {key[0]}:{key[1]} {_show(span.get('text'))} is also region {seen[key]}",
                    region,
                )
            else:
                seen[key] = region


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _is_int(value: Any) -> bool:
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


# --- a file -----------------------------------------------------------------------------------


class FileKind(str, Enum):
    export = "export"
    records = "records"


@dataclass
class Report:
    """What `validate` found in one file."""

    path: Path
    kind: FileKind
    tasks: int = 0
    annotations: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {"valid": self.valid, "problems": [p.as_dict() for p in self.problems]}


def validate(path: Path, source: Workspace | Scheme) -> Report:
    """Check a Label Studio JSON export or a canonical records file; raise `ExportError` if it is neither."""
    from annotate.core.scheme import current_scheme

    scheme = source if isinstance(source, Scheme) else current_scheme(source)
    kind, items = read_items(Path(path))
    report = Report(Path(path), kind)
    if kind is FileKind.records:
        for record in items:
            report.annotations += 1
            bad_line = isinstance(record, Problem)
            report.problems += [record] if bad_line else validate_record(record, scheme)
        return report
    seen: set[Any] = set()
    for task in items:
        report.tasks += 1
        repeated = repeated_task(task, seen)
        if repeated:
            report.problems.append(repeated)
            continue
        for _record, problems in task_records(task, scheme, annotator=lambda _user: "unchecked"):
            report.annotations += 1
            report.problems += problems
    return report


def repeated_task(task: dict[str, Any], seen: set[Any]) -> Problem | None:
    """A problem when this task's id came earlier in the same export (its annotations would count twice)."""
    task_id = task.get("id")
    if not isinstance(task_id, (int, str)) or isinstance(task_id, bool):
        return None  # the schema check names an id of the wrong type
    if task_id in seen:
        return Problem("duplicate-task", f"task {task_id} appears more than once in the export; the first is kept", task_id)
    seen.add(task_id)
    return None


def task_records(task: dict[str, Any], scheme: Scheme, *, annotator) -> Iterator[tuple[dict, list[Problem]]]:
    """Each submitted or cancelled annotation of an exported task as (record, every problem).

    `annotator` turns an annotation's `completed_by` into the pseudonym the record carries.
    Drafts and predictions live in other fields of the task and are not annotations.
    """
    task_id = task.get("id")
    data = task.get("data")
    if not isinstance(data, dict) or not isinstance(data.get(derive.TEXT), str):
        yield from _without_text(task, task_id)
        return
    annotations = task.get("annotations")
    if annotations is not None and not isinstance(annotations, list):
        annotations = []
        yield {}, [Problem("bad-task", "the task's annotations are not a list", task_id)]
    shape = [p for p in _shape_problems(task, task_id) if p.annotation is None]
    if shape:
        yield {}, shape
        return
    for index, annotation in enumerate(annotations or []):
        if not isinstance(annotation, dict):
            yield {}, [Problem("bad-annotation", f"an annotation is not an object: {_show(annotation)}", task_id)]
            continue
        wrong = _shape_problems(annotation, task_id, ("annotations", index), "annotation")
        if wrong:
            yield {}, wrong
            continue
        record, problems = record_from_annotation(
            task,
            annotation,
            annotator=annotator(annotation.get("completed_by")),
            attribute_names=scheme.attribute_names,
        )
        # Name the annotation by Label Studio's id as the export has it, as the conversion problems do.
        checked = [replace(p, annotation=annotation.get("id")) for p in validate_record(record, scheme)]
        yield record, problems + checked


def _shape_problems(
    item: dict[str, Any], task_id: Any, prefix: tuple[Any, ...] = (), part: str = "task"
) -> list[Problem]:
    """Where a task (or one of its annotations) breaks the export schema; annotations are checked one by one."""
    if part == "task":
        item = {k: v for k, v in item.items() if k != "annotations"}
        code = "bad-task"
    else:
        item = {"annotations": [item]}
        code = "bad-annotation"
    if _plainly_shaped(item):
        return []
    found = []
    for problem in schema_problems("export-task", item):
        message = problem.message
        if part == "annotation":
            message = message.replace("annotations[0]", json_path(prefix), 1)
        annotation = prefix and _annotation_id(item)
        found.append(Problem(code, f"does not match a Label Studio export: {message}", task_id, annotation or None))
    return found


def _plainly_shaped(item: dict[str, Any]) -> bool:
    """True only when the export schema, checked strictly, has nothing to say about `item`.

    `jsonschema-rs` answers yes or no at a fraction of the cost; it counts 3.0 as an
    integer where the strict check does not, so a float in any place the schema wants an
    integer sends the item to the strict check as well.
    """
    fast = _fast_shape_validator()
    if fast is None or not fast.is_valid(item):
        return False
    try:
        return not _float_where_integer(item)
    except (AttributeError, TypeError):
        return False


def _float_where_integer(item: dict[str, Any]) -> bool:
    """Whether a float stands where the export schema has integers: ids, article id, user, offsets."""
    data = item.get("data")
    if type(item.get("id")) is float or (isinstance(data, dict) and type(data.get("article_id")) is float):
        return True
    for annotation in item.get("annotations") or ():
        if type(annotation.get("id")) is float or type(annotation.get("completed_by")) is float:
            return True
        for region in annotation.get("result") or ():
            get = region.get
            if type(get("id")) is float or type(get("from_id")) is float or type(get("to_id")) is float:
                return True
            value = get("value")
            if isinstance(value, dict) and (type(value.get("start")) is float or type(value.get("end")) is float):
                return True
    return False


_shape_validator: list[Any] = []


def _fast_shape_validator() -> Any:
    """`jsonschema-rs` on the export schema, built once; None when it is not installed."""
    if not _shape_validator:
        try:
            import jsonschema_rs

            _shape_validator.append(jsonschema_rs.Draft202012Validator(input_schema("export-task")))
        except ImportError:
            _shape_validator.append(None)
    return _shape_validator[0]


def _annotation_id(wrapped: dict[str, Any]) -> Any:
    annotation = wrapped["annotations"][0]
    value = annotation.get("id")
    return value if isinstance(value, (int, str)) and not isinstance(value, bool) else "(no id)"


def _without_text(task: dict[str, Any], task_id: Any) -> Iterator[tuple[dict, list[Problem]]]:
    for annotation in _list(task.get("annotations")) or [None]:
        annotation_id = annotation.get("id") if isinstance(annotation, dict) else None
        message = f"the task has no data.{derive.TEXT} string to check spans against"
        yield {}, [Problem("no-text", message, task_id, annotation_id)]


def read_items(path: Path) -> tuple[FileKind, Iterator[dict[str, Any]]]:
    """What the file holds (export or records) and its items; `ExportError` when it is neither."""
    try:
        with path.open("rb") as handle:
            head = handle.read(4096)
    except FileNotFoundError:
        raise ExportError(
            f"{path} does not exist. Give the path of a Label Studio JSON export or records file."
        ) from None
    except OSError as exc:
        raise ExportError(f"{path} cannot be read ({exc.strerror}). Check its permissions.") from None
    if not head.strip():
        raise ExportError(f"{path} is empty. Export the project again from Label Studio (JSON format).")
    if path.suffix == ".jsonl":
        return FileKind.records, _json_lines(path)  # read line by line, however long the file
    try:
        data = load_json(path.read_bytes())
    except UnicodeDecodeError:
        raise ExportError(f"{path} is not UTF-8 text, so not a JSON export. Export it again as JSON.") from None
    except InputRefused as exc:
        raise ExportError(f"{path} is not a JSON export Label Studio writes: {exc}. Export it again as JSON.") from None
    except json.JSONDecodeError:
        return FileKind.records, _json_lines(path)
    if isinstance(data, dict) and _looks_like_record(data):
        data = [data]  # a JSON Lines file with a single record
    elif isinstance(data, dict) and isinstance(data.get("tasks"), list):
        data = data["tasks"]  # a page of the task list API, as `pull` keeps it under exports/raw/
    if not isinstance(data, list):
        raise ExportError(
            f"{path} holds a single JSON {_JSON_TYPES.get(type(data), 'value')}, not a list of tasks or records. "
            "Use the JSON (not JSON-MIN or CSV) export of Label Studio, or a records .jsonl file."
        )
    kind = _kind_of(path, data)
    return kind, iter(data)


def _kind_of(path: Path, items: list) -> FileKind:
    if not all(isinstance(item, dict) for item in items):
        bad = next(item for item in items if not isinstance(item, dict))
        raise ExportError(
            f"{path} is a list, but holds {_show(bad)} where a task or record object should be. "
            "Use the JSON export of Label Studio, or a records .jsonl file."
        )
    if items and all(_looks_like_record(item) for item in items):
        return FileKind.records
    if all("data" in item or "annotations" in item for item in items):
        return FileKind.export
    raise ExportError(
        f"{path} is a list of objects that are neither Label Studio tasks (with data and annotations) "
        "nor canonical records (with article_id, entities and events). Check that it is the right file."
    )


def _looks_like_record(item: dict[str, Any]) -> bool:
    return "article_id" in item or ("entities" in item and "events" in item)


def _json_lines(path: Path) -> Iterator[dict[str, Any]]:
    """Records of a JSON Lines file, checked before the first is given out so a non-JSON file fails early."""
    first = next(_iter_lines(path), None)
    if isinstance(first, Problem):
        raise ExportError(
            f"{path} cannot be read as JSON or JSON Lines: {first.message}. "
            "Give a Label Studio JSON export or a records .jsonl file."
        )
    if not isinstance(first, dict):
        raise ExportError(f"{path} holds {_show(first)} on its first line, not a record object.")
    return _iter_lines(path)


def _iter_lines(path: Path) -> Iterator[dict[str, Any] | Problem]:
    """Each line's JSON value; a line that is not UTF-8 JSON becomes a Problem and the lines after it are still read."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, 1):
            if not raw.strip():
                continue
            try:
                yield load_json(raw)
            except UnicodeDecodeError:
                yield Problem("not-json", f"line {number} of the records file is not UTF-8 text")
            except json.JSONDecodeError as exc:
                yield Problem("not-json", f"line {number} is not JSON ({exc.msg} at column {exc.colno})")
            except InputRefused as exc:
                yield Problem("not-json", f"line {number} is not JSON: {exc}")
