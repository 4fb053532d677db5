"""Type confusion: every field of every input fed a value of every JSON type it must not have.

The cases are generated from the inputs' own JSON Schemas (annotate/core/schemas/ and the
record schema derived from the scheme): for each field the schema names, each JSON type the
schema does not allow for it is put into an otherwise valid document, and the command that
reads that input must refuse it in a sentence that names the field, never a traceback and
never by reading 5 as "5" or "false" as true. A schema that stopped naming a field would drop
its cases, so the tests also pin the number of fields each schema covers.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from annotate.core import derive
from annotate.core.corpus import corpus_add, load_corpus
from annotate.core.errors import WorkspaceError
from annotate.core.inputs import JSON_TYPES, input_schema
from annotate.core.records import record_from_annotation
from annotate.core.scheme import load_scheme
from annotate.core.settings import load_project_settings
from tests.helpers import assert_no_traceback, run_cli

REPO = Path(__file__).resolve().parent.parent
EXPORTS = Path(__file__).parent / "exports"
SAMPLES: dict[str, Any] = {
    "null": None,
    "boolean": True,
    "integer": 5,
    "number": 2.5,
    "string": "false",
    "array": [5],
    "object": {"five": 5},
    "decimal": 3.0,
}
"""One value of each JSON type; the string is "false", which must never be read as a boolean. "decimal" is
3.0, a number that is not an integer as written: fed to every field that wants a whole number."""

Path_ = tuple[Any, ...]


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = root["$defs"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _fields(schema: dict[str, Any], root: dict[str, Any], base: Any, path: Path_ = ()) -> Iterator[tuple[Path_, set[str]]]:
    """(path, allowed JSON types) of every typed field the base document has, depth first."""
    schema = _resolve(schema, root)
    if "type" in schema and path:
        allowed = {schema["type"]} if isinstance(schema["type"], str) else set(schema["type"])
        if "number" in allowed:
            allowed.add("integer")
        yield path, allowed
    if isinstance(base, dict):
        properties = schema.get("properties", {})
        for key, sub in properties.items():
            if key in base:
                yield from _fields(sub, root, base[key], (*path, key))
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            for key in [k for k in base if k not in properties][:1]:
                yield from _fields(extra, root, base[key], (*path, key))
    elif isinstance(base, list) and "items" in schema and base:
        yield from _fields(schema["items"], root, base[0], (*path, 0))


def _cases(name: str, schema: dict[str, Any], base: Any) -> list[Any]:
    return [
        pytest.param(name, path, kind, id=f"{name}:{'.'.join(map(str, path))}={kind}")
        for path, allowed in _fields(schema, schema, base)
        for kind in (*JSON_TYPES, "decimal")
        if kind not in allowed and (kind != "decimal" or "integer" in allowed and "number" not in allowed)
    ]


def _with(base: Any, path: Path_, value: Any) -> Any:
    document = copy.deepcopy(base)
    target = document
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return document


def _named(output: str, path: Path_) -> bool:
    """The message points at the field: its name (or, for a list item, its list's name) appears."""
    name = next(str(step) for step in reversed(path) if isinstance(step, str))
    return name in output or name.rstrip("s") in output


# --- base documents, each valid as it stands ----------------------------------------------------


def _scheme_base() -> dict[str, Any]:
    return yaml.safe_load((REPO / "labels" / "scheme.yaml").read_text(encoding="utf-8"))


def _settings_base() -> dict[str, Any]:
    return yaml.safe_load((REPO / "annotate.yaml").read_text(encoding="utf-8"))


CORPUS_BASE = {
    "id": "wire-types-1",
    "title": "Shoigu in Pyongyang",
    "text": "Sergei Shoigu arrived in Pyongyang on Friday for talks on military cooperation.",
    "source": "Wire service",
    "url": "https://example.org/a",
    "author": "A. Writer",
    "date": "2024-06-14",
    "section": "World",
    "desk": "Asia",
}


def _export_base() -> dict[str, Any]:
    task = json.loads((EXPORTS / "valid.json").read_text(encoding="utf-8"))[0]
    annotation = task["annotations"][0]
    annotation.update(ground_truth=False, was_cancelled=False, lead_time=12.5,
                      created_at="2024-06-14T10:00:00Z", updated_at="2024-06-14T10:05:00Z")
    relation = next(r for r in annotation["result"] if r.get("type") == "relation")
    choice = next(r for r in annotation["result"] if r.get("type") == "choices")
    # The first result item carries every field a result item can have, so each gets its cases.
    first = annotation["result"][0]
    annotation["result"].remove(relation)
    annotation["result"].remove(choice)
    first_value = dict(first["value"], choices=choice["value"]["choices"])
    annotation["result"][:1] = [
        dict(first, value=first_value, from_id=relation["from_id"], to_id=relation["to_id"],
             direction=relation["direction"], labels=relation["labels"]),
        relation,
        choice,
    ]
    return task


def _record_base() -> dict[str, Any]:
    task = json.loads((EXPORTS / "valid.json").read_text(encoding="utf-8"))[0]
    names = load_scheme(REPO / "labels" / "scheme.yaml").attribute_names
    record, problems = record_from_annotation(
        task, task["annotations"][0], annotator="a3f9c0d1e2b34f56", attribute_names=names
    )
    assert not problems
    return {**record, "lead_time": 12.5, "created_at": "2024-06-14T10:00:00Z", "updated_at": "2024-06-14T10:05:00Z"}


def _record_schema() -> dict[str, Any]:
    return derive.record_schema(load_scheme(REPO / "labels" / "scheme.yaml"))


INPUTS = {
    "scheme": (input_schema("scheme"), _scheme_base()),
    "settings": (input_schema("settings"), _settings_base()),
    "corpus-line": (input_schema("corpus-line"), CORPUS_BASE),
    "export-task": (input_schema("export-task"), _export_base()),
    "record": (_record_schema(), _record_base()),
}
CASES = [case for name, (schema, base) in INPUTS.items() for case in _cases(name, schema, base)]


def test_every_input_has_a_schema_whose_fields_the_cases_reach():
    """The generated table covers each input's fields (a schema losing a field would lose its cases silently)."""
    fields = {name: {p for p, _ in _fields(schema, schema, base)} for name, (schema, base) in INPUTS.items()}
    counts = {name: len(paths) for name, paths in fields.items()}
    assert counts == {"scheme": 29, "settings": 12, "corpus-line": 9, "export-task": 33, "record": 33}, counts
    assert len(CASES) >= 500, len(CASES)


def test_the_base_documents_are_accepted(offline_workspace, tmp_path):
    """Feeds: each base document unchanged; what the wrong-type cases change is the only fault."""
    offline_workspace.scheme_path.write_text(yaml.safe_dump(_scheme_base(), sort_keys=False), encoding="utf-8")
    assert run_cli("scheme", "--check").exit_code == 0
    (offline_workspace.root / "annotate.yaml").write_text(yaml.safe_dump(_settings_base()), encoding="utf-8")
    assert load_project_settings(offline_workspace).dataset.language == ("en",)
    (tmp_path / "one.jsonl").write_text(json.dumps(CORPUS_BASE) + "\n", encoding="utf-8")
    added = corpus_add(offline_workspace, [tmp_path / "one.jsonl"])
    assert [a.title for a in added.added] == ["Shoigu in Pyongyang"] and not added.refused
    (tmp_path / "export.json").write_text(json.dumps([_export_base()]), encoding="utf-8")
    checked = run_cli("validate", str(tmp_path / "export.json"))
    assert checked.exit_code == 0, checked.stdout
    (tmp_path / "records.jsonl").write_text(json.dumps(_record_base()) + "\n", encoding="utf-8")
    checked = run_cli("validate", str(tmp_path / "records.jsonl"))
    assert checked.exit_code == 0, checked.stdout


@pytest.mark.parametrize(("name", "path", "kind"), CASES)
def test_a_field_of_the_wrong_type_is_refused_naming_it(offline_workspace, tmp_path, name, path, kind):
    """Feeds: one input with one field set to a value of a JSON type its schema does not allow."""
    _schema, base = INPUTS[name]
    document = _with(base, path, SAMPLES[kind])
    if name == "scheme":
        offline_workspace.scheme_path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
        result = run_cli("scheme", "--check")
        assert_no_traceback(result)
        assert result.exit_code == 1 and "scheme.yaml" in result.stderr, result.stderr
        assert _named(result.stderr, path), result.stderr
    elif name == "settings":
        (offline_workspace.root / "annotate.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
        with pytest.raises(WorkspaceError) as refused:
            load_project_settings(offline_workspace)
        assert "annotate.yaml" in str(refused.value) and _named(str(refused.value), path), str(refused.value)
    elif name == "corpus-line":
        before = len(load_corpus(offline_workspace))
        (tmp_path / "batch.jsonl").write_text(json.dumps(document) + "\n", encoding="utf-8")
        result = run_cli("corpus", "add", str(tmp_path / "batch.jsonl"))
        assert_no_traceback(result)
        assert result.exit_code == 1 and "batch.jsonl:1" in result.stderr, (result.stdout, result.stderr)
        assert _named(result.stderr, path), result.stderr
        assert len(load_corpus(offline_workspace)) == before
    else:
        suffix = ".json" if name == "export-task" else ".jsonl"
        file = tmp_path / f"input{suffix}"
        file.write_text(json.dumps([document]) if name == "export-task" else json.dumps(document) + "\n", encoding="utf-8")
        result = run_cli("validate", str(file))
        assert_no_traceback(result)
        assert result.exit_code in (1, 2), result.stdout
        assert _named(result.stdout + result.stderr, path), result.stdout + result.stderr


# --- the probe's own instances, by name ---------------------------------------------------------


def test_a_single_language_is_one_language_not_its_letters(offline_workspace):
    """Feeds: annotate.yaml with `dataset.language: en` (a string, not a list), read by publish's settings."""
    path = offline_workspace.root / "annotate.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("language: [en]", "language: en"), encoding="utf-8")
    assert load_project_settings(offline_workspace).dataset.language == ("en",)


def test_annotate_yaml_in_latin1_is_one_sentence(offline_workspace):
    """Feeds: annotate.yaml saved as Latin-1 with an accented project title, read by `push`."""
    (offline_workspace.root / "annotate.yaml").write_bytes("project: Caf\xe9 talks\n".encode("latin-1"))
    result = run_cli("push")
    assert_no_traceback(result)
    assert result.exit_code == 1 and "annotate.yaml" in result.stderr and "not UTF-8" in result.stderr


@pytest.mark.parametrize(
    "key", ["? [PER, ORG]\n: 1\n", "? {a: 1}\n: 1\n"], ids=["list-key", "mapping-key"]
)
def test_a_complex_yaml_key_in_the_scheme_is_one_sentence(offline_workspace, key):
    """Feeds: labels/scheme.yaml with a list or a mapping used as a key (YAML's `? ` syntax)."""
    path = offline_workspace.scheme_path
    path.write_text(key + path.read_text(encoding="utf-8"), encoding="utf-8")
    result = run_cli("scheme", "--check")
    assert_no_traceback(result)
    assert result.exit_code == 1 and "line 1" in result.stderr and "plain name" in result.stderr


def test_the_same_task_twice_in_an_export_gives_its_records_once(offline_workspace, tmp_path):
    """Feeds: an export holding the same task (same id, same annotations) twice, to validate and pull --from-file."""
    task = json.loads((EXPORTS / "valid.json").read_text(encoding="utf-8"))[0]
    path = tmp_path / "twice.json"
    path.write_text(json.dumps([task, task]), encoding="utf-8")
    checked = run_cli("validate", str(path))
    assert checked.exit_code == 1 and "duplicate-task" in checked.stdout and f"task {task['id']}" in checked.stdout
    pulled = run_cli("pull", "--from-file", str(path), "--project", "twice")
    assert_no_traceback(pulled)
    assert pulled.exit_code == 0, pulled.stderr
    from annotate.core.records import iter_records
    from annotate.core.workspace import slugify

    records = list(iter_records(offline_workspace.records_path(slugify("twice"))))
    assert len(records) == len(task["annotations"])
    assert len({r["annotation_id"] for r in records}) == len(records)


def test_an_event_whose_topic_is_itself_is_refused(offline_workspace, tmp_path):
    """Feeds: an export where a Statement event's Topic relation goes from its trigger to the same trigger."""
    task = json.loads((EXPORTS / "valid.json").read_text(encoding="utf-8"))[0]
    text = task["data"]["text"]
    start = text.index("said")
    result = task["annotations"][0]["result"]
    result += [
        {"id": "v-said", "from_name": "trigger", "to_name": "text", "type": "labels",
         "value": {"start": start, "end": start + 4, "text": "said", "labels": ["Statement.Deny"]}},
        {"from_id": "v-said", "to_id": "v-said", "type": "relation", "direction": "right", "labels": ["Topic"]},
    ]
    path = tmp_path / "self.json"
    path.write_text(json.dumps([task]), encoding="utf-8")
    checked = run_cli("validate", str(path))
    assert_no_traceback(checked)
    assert checked.exit_code == 1 and "self-argument" in checked.stdout and "points at the event itself" in checked.stdout
