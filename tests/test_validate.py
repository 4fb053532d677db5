"""`annotate validate`: the catalogue of broken exports, records files, and the command's output."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from annotate.core.errors import ExportError
from annotate.core.scheme import current_scheme
from annotate.core.records import record_from_annotation
from annotate.core.exports import validate
from annotate.core.validate import validate_record
from annotate.core.workspace import Workspace
from annotate.core.scheme import load_scheme
from tests.builders import REPO
from tests.helpers import assert_no_traceback, run_cli

EXPORTS = Path(__file__).parent / "exports"
TASK, ANNOTATION = 101, 501

# Each file holds the valid export with ONE defect: (file, problem code, region named).
CATALOGUE = [
    ("offsets-out-of-range.json", "offsets", "e-kremlin"),
    ("span-text-mismatch.json", "span-text", "e-putin"),
    ("utf16-emoji-shift.json", "utf16-offsets", "e-moscow"),
    ("unknown-label.json", "unknown-label", "e-kremlin"),
    ("unknown-event-type.json", "unknown-event-type", "v-meet"),
    ("relation-to-missing-region.json", "missing-target", "v-visit"),
    ("relation-from-entity.json", "relation-source", "e-kim"),
    ("role-not-of-event-type.json", "role-not-in-event", "v-meet"),
    ("role-disallowed-target.json", "role-target-type", "v-visit"),
    ("attribute-on-entity.json", "attribute-off-trigger", "e-kim"),
    ("bad-attribute-value.json", "attribute-value", "v-visit"),
    ("duplicate-span.json", "duplicate-span", "e-putin-again"),
    ("whitespace-padded-span.json", "whitespace", "e-vlad"),
]
UNREADABLE = [
    ("not-json.json", "is not JSON"),
    ("empty.json", "is empty"),
    ("wrong-top-level-shape.json", "not a list of tasks or records"),
]
# What the message must quote: the offending value, so the annotator can find it.
OFFENDING = {
    "offsets-out-of-range.json": "111:118",
    "span-text-mismatch.json": "Vladimir Putn",
    "utf16-emoji-shift.json": "89:95",
    "unknown-label.json": "COMPANY",
    "unknown-event-type.json": "Contact.Greet",
    "relation-to-missing-region.json": "e-gone",
    "relation-from-entity.json": "e-kim",
    "role-not-of-event-type.json": "Traveler",
    "role-disallowed-target.json": "DATE",
    "attribute-on-entity.json": "tense",
    "bad-attribute-value.json": "Someday",
    "duplicate-span.json": "e-putin",
    "whitespace-padded-span.json": "' Vladivostok'",
}


@pytest.fixture
def scheme(offline_workspace: Workspace):
    return current_scheme(offline_workspace)


def _valid_record(scheme) -> dict:
    task = json.loads((EXPORTS / "valid.json").read_text(encoding="utf-8"))[0]
    record, problems = record_from_annotation(
        task, task["annotations"][0], annotator="a3f9c0d1e2b34f56", attribute_names=scheme.attribute_names
    )
    assert problems == []
    return record


def test_the_valid_export_passes_with_a_span_after_an_emoji(scheme) -> None:
    report = validate(EXPORTS / "valid.json", scheme)
    assert report.valid, [str(p) for p in report.problems]
    assert (report.tasks, report.annotations) == (1, 1)
    text = json.loads((EXPORTS / "valid.json").read_text(encoding="utf-8"))[0]["data"]["text"]
    assert any(ord(c) > 0xFFFF for c in text)  # the catalogue really has a non-BMP character before a span


@pytest.mark.parametrize(("name", "code", "region"), CATALOGUE, ids=[c[0].removesuffix(".json") for c in CATALOGUE])
def test_each_broken_export_is_caught_naming_task_and_region(scheme, name: str, code: str, region: str) -> None:
    report = validate(EXPORTS / name, scheme)
    assert not report.valid
    found = [(p.code, p.task, p.annotation, p.region) for p in report.problems]
    assert found == [(code, TASK, ANNOTATION, region)], [str(p) for p in report.problems]
    assert OFFENDING[name] in report.problems[0].message


@pytest.mark.parametrize(("name", "reason"), UNREADABLE, ids=[u[0].removesuffix(".json") for u in UNREADABLE])
def test_a_file_that_is_not_an_export_raises_a_sentence(scheme, name: str, reason: str) -> None:
    with pytest.raises(ExportError) as caught:
        validate(EXPORTS / name, scheme)
    assert reason in str(caught.value)
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(("name", "reason"), UNREADABLE, ids=[u[0].removesuffix(".json") for u in UNREADABLE])
def test_cli_exits_2_on_an_unreadable_file(offline_workspace: Workspace, name: str, reason: str) -> None:
    result = run_cli("validate", str(EXPORTS / name))
    assert result.exit_code == 2
    assert reason in result.stderr
    assert result.stderr.strip().endswith(".")
    assert_no_traceback(result)


def test_cli_prints_one_line_per_problem_and_exits_1(offline_workspace: Workspace) -> None:
    result = run_cli("validate", str(EXPORTS / "bad-attribute-value.json"))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith("task 101, annotation 501, region v-visit: [attribute-value]")
    assert "'Someday'" in lines[0]
    assert "1 problem(s)" in lines[-1]
    assert_no_traceback(result)


def test_cli_json_output(offline_workspace: Workspace) -> None:
    result = run_cli("validate", str(EXPORTS / "relation-to-missing-region.json"), "--format", "json")
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["valid"] is False
    assert data["problems"] == [
        {
            "task": 101,
            "annotation": 501,
            "region": "v-visit",
            "code": "missing-target",
            "message": "Origin points at region 'e-gone', which does not exist",
        }
    ]


def test_cli_valid_file_exits_0(offline_workspace: Workspace) -> None:
    result = run_cli("validate", str(EXPORTS / "valid.json"), "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"valid": True, "problems": []}


def test_cli_missing_file_is_a_sentence(offline_workspace: Workspace, tmp_path: Path) -> None:
    result = run_cli("validate", str(tmp_path / "nowhere.json"))
    assert result.exit_code == 2
    assert "does not exist" in result.stderr
    assert_no_traceback(result)


def test_every_problem_is_reported_not_only_the_first(scheme) -> None:
    record = _valid_record(scheme)
    record["entities"][4]["label"] = "COMPANY"  # the Kremlin, which no role points at
    record["entities"][1]["text"] = "Vladivostock"
    record["events"][0]["attributes"]["tense"] = "Someday"
    record["events"][1]["arguments"].append({"role": "Participant", "target": "e-nowhere"})
    codes = sorted(p.code for p in validate_record(record, scheme))
    assert codes == ["attribute-value", "missing-target", "span-text", "unknown-label"]


def test_structure_problems_name_the_json_path(scheme) -> None:
    record = _valid_record(scheme)
    record["entities"][2]["start"] = "36"
    del record["cancelled"]
    record["annotator"] = "ann1@example.org"
    problems = validate_record(record, scheme)
    messages = sorted(p.message for p in problems)
    assert any("$.entities[2].start" in m and "'36'" in m for m in messages), messages
    assert any("'cancelled' is a required property" in m for m in messages), messages
    assert any("$.annotator" in m for m in messages), messages
    start_problem = next(p for p in problems if "$.entities[2].start" in p.message)
    assert start_problem.region == "e-date"


def test_duplicate_region_ids_and_triggers_as_targets(scheme) -> None:
    record = _valid_record(scheme)
    record["entities"][1]["id"] = "e-kim"
    # Statement.Deny's Topic may point at another event's trigger; its Denier may not.
    record["events"].append(
        {
            "id": "v-deny",
            "type": "Statement.Deny",
            "trigger": {"start": 80, "end": 84, "text": record["text"][80:84]},
            "arguments": [{"role": "Topic", "target": "v-visit"}, {"role": "Denier", "target": "v-meet"}],
            "attributes": {},
        }
    )
    problems = validate_record(record, scheme)
    assert ("duplicate-id", "e-kim") in {(p.code, p.region) for p in problems}
    wrong_targets = [p for p in problems if p.code == "role-target-type"]
    assert [(p.region, "Denier" in p.message) for p in wrong_targets] == [("v-deny", True)]


def test_records_files_jsonl_and_json_list(scheme, tmp_path: Path) -> None:
    good = _valid_record(scheme)
    bad = copy.deepcopy(good)
    bad["annotation_id"] = "502"
    bad["entities"][0]["end"] = 500
    lines = tmp_path / "records.jsonl"
    lines.write_text(
        "\n".join(json.dumps(r, ensure_ascii=False) for r in (good, bad)) + "\n{not json\n", encoding="utf-8"
    )
    report = validate(lines, scheme)
    assert report.annotations == 3
    assert [(p.code, p.annotation, p.region) for p in report.problems] == [
        ("offsets", "502", "e-kim"),
        ("not-json", None, None),
    ]
    listed = tmp_path / "records.json"
    listed.write_text(json.dumps([good]), encoding="utf-8")
    assert validate(listed, scheme).valid


def test_a_utf16_shift_is_named_only_when_it_explains_the_mismatch(scheme) -> None:
    record = _valid_record(scheme)
    moscow = next(e for e in record["entities"] if e["id"] == "e-moscow")
    moscow["start"] += 3
    moscow["end"] += 3
    problems = validate_record(record, scheme)
    assert [p.code for p in problems] == ["span-text"]


def test_bytes_that_are_not_text_are_named_not_a_traceback(scheme, tmp_path: Path) -> None:
    binary = tmp_path / "records.jsonl"
    binary.write_bytes(b"\xff\xfe\x00garbage\n")
    with pytest.raises(ExportError, match="not UTF-8"):
        validate(binary, scheme)
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_bytes(json.dumps(_valid_record(scheme)).encode() + b"\n\xff\xfe\n")
    report = validate(mixed, scheme)
    assert [(p.code, p.message) for p in report.problems] == [
        ("not-json", "line 2 of the records file is not UTF-8 text")
    ]


def test_the_fast_schema_check_agrees_with_jsonschema_on_every_catalogue_and_seed_record():
    """The fast validator only decides whether jsonschema runs: it must never pass what jsonschema refuses."""
    from annotate.core.records import iter_records
    from annotate.core.exports import ExportFile, read_items, task_records
    from annotate.core.validate import schema_validators

    scheme = load_scheme(REPO / "labels" / "scheme.yaml")
    reference, fast = schema_validators(scheme)
    assert fast is not None, "jsonschema-rs is a dependency: pip install -e '.[test]'"
    records = [r for p in sorted((REPO / "corpus" / "annotations").glob("*.jsonl")) for r in iter_records(p)]
    for path in sorted(EXPORTS.glob("*.json")):
        if path.name in {name for name, _ in UNREADABLE}:
            continue
        contents = read_items(path)
        for task in contents.tasks if isinstance(contents, ExportFile) else contents.records:
            records += [record for record, _ in task_records(task, scheme, annotator=lambda a: "p1")]
    mangled = [dict(r, annotator="someone@example.org") for r in records[:3]] + [{**records[0], "entities": [{}]}]
    checked = records + mangled
    assert len(checked) > 20
    for record in checked:
        assert fast.is_valid(record) == (not list(reference.iter_errors(record))), record.get("annotation_id")


# --- a value of the wrong kind where a name or a character index belongs ---------------------------


def _first_argument(record: dict) -> dict:
    return next(e for e in record["events"] if e["arguments"])["arguments"][0]


def _label_a_number(record: dict) -> tuple[str, str]:
    record["entities"][-1]["label"] = 5
    return record["entities"][-1]["id"], f"$.entities[{len(record['entities']) - 1}].label: must be a string, not integer 5"


def _offset_a_decimal(record: dict) -> tuple[str, str]:
    entity = record["entities"][-1]
    entity["start"] = float(entity["start"])
    return entity["id"], f"entity start {entity['start']!r} must be a whole number"


def _role_a_list(record: dict) -> tuple[str, str]:
    event = next(e for e in record["events"] if e["arguments"])
    argument = event["arguments"][0]
    argument["role"] = [argument["role"]]
    index = record["events"].index(event)
    return event["id"], f"$.events[{index}].arguments[0].role: must be a string, not array {argument['role']!r}"


WRONG_KINDS = {"label-a-number": _label_a_number, "offset-3.0": _offset_a_decimal, "role-a-list": _role_a_list}
"""Each change: returns (the region it breaks, what the one problem must say: the field and what it expects)."""


@pytest.mark.parametrize("case", sorted(WRONG_KINDS))
def test_a_label_a_decimal_offset_or_a_role_of_the_wrong_kind_is_one_problem_naming_it(scheme, case) -> None:
    record = _valid_record(scheme)
    region, says = WRONG_KINDS[case](record)
    problems = validate_record(record, scheme)
    assert [(p.task, p.annotation, p.region) for p in problems] == [(TASK, str(ANNOTATION), region)], problems
    assert says in problems[0].message, problems[0].message


@pytest.mark.parametrize("case", sorted(WRONG_KINDS))
def test_validate_refuses_a_records_file_with_a_value_of_the_wrong_kind(offline_workspace, tmp_path, case) -> None:
    record = _valid_record(current_scheme(offline_workspace))
    good = copy.deepcopy(record)
    region, says = WRONG_KINDS[case](record)
    path = tmp_path / "records.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps(record) + "\n", encoding="utf-8")
    result = run_cli("validate", str(path))
    assert_no_traceback(result)
    assert result.exit_code == 1, result.stdout
    assert f"task {TASK}, annotation {ANNOTATION}, region {region}:" in result.stdout and says in result.stdout
    assert "1 problem(s)" in result.stdout


def test_a_task_id_of_3_0_in_a_record_is_refused(scheme) -> None:
    record = _valid_record(scheme) | {"task_id": float(TASK)}
    problems = validate_record(record, scheme)
    assert [p.code for p in problems] == ["schema"]
    assert "$.task_id: must be a whole number or null, not number 101.0" in problems[0].message


@pytest.mark.parametrize("case", sorted(WRONG_KINDS))
def test_publish_refuses_gold_with_a_value_of_the_wrong_kind(offline_workspace, case) -> None:
    from annotate.core.settings import load_project_settings
    from tests.builders import write_gold_and_records

    write_gold_and_records(offline_workspace)
    path = offline_workspace.gold_path(load_project_settings(offline_workspace).project_slug)
    lines = path.read_text(encoding="utf-8").splitlines()
    gold = json.loads(lines[1])
    _region, says = WRONG_KINDS[case](gold)
    path.write_text("\n".join([lines[0], json.dumps(gold), *lines[2:]]) + "\n", encoding="utf-8")
    result = run_cli("publish", "--version", "1.0.0")
    assert_no_traceback(result)
    assert result.exit_code == 1, result.stdout
    assert "Nothing was published: the records have 1 problem(s)" in result.stderr and says in result.stderr
