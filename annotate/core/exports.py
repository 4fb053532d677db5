"""Reading annotations from files: Label Studio JSON exports and canonical record files.

`read_items` tells an export from a records file and gives its tasks or records without
holding a large JSON Lines file in memory; `task_records` turns an exported task into
canonical records with every problem; `validate` checks a whole file; `records_from_file`
keeps the valid records of either kind; `group_articles` puts records together by article,
each annotator's latest annotation only.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Any

from annotate.core import derive
from annotate.core.errors import ExportError
from annotate.core.inputs import InputRefused, input_schema, json_path, load_json, schema_problems
from annotate.core.records import BadLine, Problem, json_lines, record_from_annotation
from annotate.core.scheme import Scheme, current_scheme
from annotate.core.validate import show_value, validate_record
from annotate.core.workspace import Workspace

_JSON_TYPES = {dict: "object", str: "string", int: "number", float: "number", bool: "boolean", type(None): "null"}

Annotator = Callable[[Any], str]
"""Turns an annotation's `completed_by` (a user id or object) into the pseudonym its record carries."""


class FileKind(str, Enum):
    export = "export"
    records = "records"


@dataclass
class ExportFile:
    """A Label Studio JSON export: its tasks, each an object."""

    tasks: Iterator[dict[str, Any]]
    kind: FileKind = FileKind.export


@dataclass
class RecordsFile:
    """A file of canonical records: each line's JSON value (a record, normally), or the `Problem` of a bad line."""

    records: Iterator[Any]
    kind: FileKind = FileKind.records


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
    scheme = source if isinstance(source, Scheme) else current_scheme(source)
    contents = read_items(Path(path))
    report = Report(Path(path), contents.kind)
    if isinstance(contents, RecordsFile):
        for record in contents.records:
            report.annotations += 1
            report.problems += [record] if isinstance(record, Problem) else validate_record(record, scheme)
        return report
    seen: set[Any] = set()
    for task in contents.tasks:
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
        return Problem(
            "duplicate-task", f"task {task_id} appears more than once in the export; the first is kept", task_id
        )
    seen.add(task_id)
    return None


def task_records(
    task: dict[str, Any], scheme: Scheme, *, annotator: Annotator
) -> Iterator[tuple[Mapping[str, Any], list[Problem]]]:
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
            yield {}, [Problem("bad-annotation", f"an annotation is not an object: {show_value(annotation)}", task_id)]
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
        record["scheme_version"] = scheme.version
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
            import jsonschema_rs  # optional, as for the record schema: without it every item gets the strict check

            _shape_validator.append(jsonschema_rs.Draft202012Validator(input_schema("export-task")))
        except ImportError:
            _shape_validator.append(None)
    return _shape_validator[0]


def _annotation_id(wrapped: dict[str, Any]) -> Any:
    annotation = wrapped["annotations"][0]
    value = annotation.get("id")
    return value if isinstance(value, (int, str)) and not isinstance(value, bool) else "(no id)"


def _without_text(task: dict[str, Any], task_id: Any) -> Iterator[tuple[Mapping[str, Any], list[Problem]]]:
    annotations = task.get("annotations")
    for annotation in (annotations if isinstance(annotations, list) else []) or [None]:
        annotation_id = annotation.get("id") if isinstance(annotation, dict) else None
        message = f"the task has no data.{derive.TEXT} string to check spans against"
        yield {}, [Problem("no-text", message, task_id, annotation_id)]


def read_items(path: Path) -> ExportFile | RecordsFile:
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
        return RecordsFile(_json_lines(path))  # read line by line, however long the file
    try:
        data = load_json(path.read_bytes())
    except UnicodeDecodeError:
        raise ExportError(f"{path} is not UTF-8 text, so not a JSON export. Export it again as JSON.") from None
    except InputRefused as exc:
        raise ExportError(
            f"{path} is not a JSON export Label Studio writes: {exc}. Export it again as JSON."
        ) from None
    except json.JSONDecodeError:
        return RecordsFile(_json_lines(path))
    if isinstance(data, dict) and _looks_like_record(data):
        data = [data]  # a JSON Lines file with a single record
    elif isinstance(data, dict) and isinstance(data.get("tasks"), list):
        data = data["tasks"]  # a page of the task list API, as `pull` keeps it under exports/raw/
    if not isinstance(data, list):
        raise ExportError(
            f"{path} holds a single JSON {_JSON_TYPES.get(type(data), 'value')}, not a list of tasks or records. "
            "Use the JSON (not JSON-MIN or CSV) export of Label Studio, or a records .jsonl file."
        )
    if _kind_of(path, data) is FileKind.records:
        return RecordsFile(iter(data))
    return ExportFile(iter(data))


def _kind_of(path: Path, items: list[Any]) -> FileKind:
    if not all(isinstance(item, dict) for item in items):
        bad = next(item for item in items if not isinstance(item, dict))
        raise ExportError(
            f"{path} is a list, but holds {show_value(bad)} where a task or record object should be. "
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


def _json_lines(path: Path) -> Iterator[Any]:
    """Records of a JSON Lines file, checked before the first is given out so a non-JSON file fails early."""
    first = next(_iter_lines(path), None)
    if isinstance(first, Problem):
        raise ExportError(
            f"{path} cannot be read as JSON or JSON Lines: {first.message}. "
            "Give a Label Studio JSON export or a records .jsonl file."
        )
    if not isinstance(first, dict):
        raise ExportError(f"{path} holds {show_value(first)} on its first line, not a record object.")
    return _iter_lines(path)


def _iter_lines(path: Path) -> Iterator[Any]:
    """Each line's JSON value; a line that is not UTF-8 JSON becomes a Problem and the lines after it are still read."""
    for number, value in json_lines(path):
        if not isinstance(value, BadLine):
            yield value
        elif isinstance(value.error, UnicodeDecodeError):
            yield Problem("not-json", f"line {number} of the records file is not UTF-8 text")
        elif isinstance(value.error, InputRefused):
            yield Problem("not-json", f"line {number} is not JSON: {value.error}")
        else:
            yield Problem("not-json", f"line {number} is not JSON ({value.error.msg} at column {value.error.colno})")


def records_from_file(path: Path, scheme: Scheme, *, annotator: Annotator) -> tuple[list[dict[str, Any]], int, Any]:
    """(valid records, how many were left out as invalid, project id) of an export or a records file.

    A Label Studio export is converted and checked the way pull does it, but nothing is
    written: reading a file must not replace the last pull's records.
    """
    contents = read_items(Path(path))
    records: list[dict[str, Any]] = []
    invalid = 0
    if isinstance(contents, RecordsFile):
        for item in contents.records:
            good = isinstance(item, dict) and not validate_record(item, scheme)
            records += [item] if good else []
            invalid += not good
        return records, invalid, None
    project_ids: set[Any] = set()
    for task in contents.tasks:
        project_ids.add(task.get("project"))
        for record, problems in task_records(task, scheme, annotator=annotator):
            records += [] if problems else [dict(record)]
            invalid += bool(problems)
    project_ids.discard(None)
    return records, invalid, project_ids.pop() if len(project_ids) == 1 else None


# --- records by article ------------------------------------------------------------------


@dataclass
class AnnotatedArticle:
    """One article's latest non-cancelled annotation per annotator."""

    article_id: str
    title: str | None
    task_id: int | str | None
    records: dict[str, dict[str, Any]]


def group_articles(records: Iterable[dict[str, Any]]) -> tuple[list[AnnotatedArticle], int]:
    """Articles with their latest annotation per annotator, and how many cancelled ones were left out."""
    latest: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    cancelled = 0
    for record in records:
        if record.get("cancelled"):
            cancelled += 1
            continue
        mine = latest[record["article_id"]]
        current = mine.get(record["annotator"])
        if current is None or recency(record) >= recency(current):
            mine[record["annotator"]] = record
    articles = []
    for article_id, by_annotator in sorted(latest.items()):
        first = next(iter(by_annotator.values()))
        articles.append(AnnotatedArticle(article_id, first.get("title"), first.get("task_id"), by_annotator))
    return articles, cancelled


def recency(record: Mapping[str, Any]) -> tuple[str, str]:
    """Orders one annotator's records of an article: the last updated (or created), then the highest id, is latest."""
    return (str(record.get("updated_at") or record.get("created_at") or ""), str(record.get("annotation_id")))
