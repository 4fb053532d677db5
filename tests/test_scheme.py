"""The scheme is the single source of truth: checked, derived, and loadable by Label Studio."""

from __future__ import annotations

import json
import os
import re

import jsonschema
import pytest

from annotate.core import derive
from annotate.core.errors import SchemeError
from annotate.core.scheme import load_scheme, parse_scheme

from .builders import REPO
from .helpers import assert_no_traceback, run_cli

SCHEME = load_scheme(REPO / "labels" / "scheme.yaml")

NAMES = load_scheme(REPO / "labels" / "scheme.yaml").attribute_names


def test_committed_generated_files_match_the_scheme(offline_workspace):
    result = run_cli("scheme", "--check")
    assert result.exit_code == 0, result.output
    assert "up to date" in result.stdout


def test_check_fails_when_a_generated_file_was_edited_and_scheme_rewrites_it(offline_workspace):
    config = offline_workspace.labels / "label_config.xml"
    config.write_text(config.read_text().replace('value="PER"', 'value="PERSON"'))
    result = run_cli("scheme", "--check")
    assert result.exit_code == 1
    assert "label_config.xml" in result.stderr and "annotate scheme" in result.stderr
    assert_no_traceback(result)
    assert run_cli("scheme").exit_code == 0
    assert run_cli("scheme", "--check").exit_code == 0


def test_scheme_holds_the_contracted_types_and_roles():
    assert SCHEME.entity_names == (
        "PER", "ORG", "GPE", "LOC", "FAC", "WEA", "VEH", "COMMODITY", "DATE", "MONEY", "QUANTITY", "LAW",
    )
    assert len(SCHEME.events) == 16
    assert SCHEME.event("Contact.Meet").role("Topic").targets == ("EVENT",)
    assert SCHEME.event("Statement.Request").plover == "REQUEST"
    transfer = SCHEME.event("Transaction.Transfer")
    assert [r.name for r in transfer.roles] == ["Giver", "Recipient", "Artifact", "Price", "Place", "Time"]
    assert transfer.role("Giver").targets == ("PER", "ORG", "GPE")
    assert transfer.role("Place").targets == ("GPE", "LOC", "FAC")
    assert SCHEME.event("Statement.Deny").role("Topic").targets == ("EVENT",)
    assert SCHEME.event("Movement.Travel").role("Traveler").targets == ("PER", "ORG")
    assert all(ev.role("Time").targets == ("DATE",) for ev in SCHEME.events)
    assert SCHEME.defaults() == {"polarity": "Positive", "modality": "Asserted", "tense": "Unspecified"}
    assert all(ev.plover.isupper() for ev in SCHEME.events)


def test_label_config_uses_the_interchange_names():
    config = derive.label_config(SCHEME)
    assert '<Text name="text" value="$text"' in config
    assert '<Labels name="entity"' in config and '<Labels name="trigger"' in config
    assert '<Header value="$title"' in config
    for attribute in ("polarity", "modality", "tense"):
        assert re.search(rf'<Choices name="{attribute}" toName="text" perRegion="true"', config)
    # One relation label per role of each event type, the event type's roles together and named after it.
    values = re.findall(r'<Relation value="([^"]+)"', config)
    assert values == [derive.relation_label(e.name, r.name) for e in SCHEME.events for r in e.roles]
    assert "Transaction.Transfer: Giver" in values and "Transaction.Transfer: Denier" not in values
    assert '<Header value="$feedback"' in config  # what `annotate watch` found wrong, above the article


def test_a_role_of_another_event_type_is_named_as_such_and_bare_roles_still_parse():
    from annotate.core.records import record_to_results, results_to_record

    record = _text()
    results = record_to_results(record)
    assert [r["labels"] for r in results if r["type"] == "relation"] == [["Contact.Meet: Participant"]]
    assert results_to_record(results, attribute_names=NAMES)[1] == record["events"]  # a round trip keeps the bare role in the record
    bare = [{**r, "labels": ["Participant"]} if r["type"] == "relation" else r for r in results]
    assert results_to_record(bare, attribute_names=NAMES)[1] == record["events"]  # projects made before the prefix parse as before

    other = [{**r, "labels": ["Statement.Deny: Denier"]} if r["type"] == "relation" else r for r in results]
    _, events, problems = results_to_record(other, attribute_names=NAMES)
    assert events[0]["arguments"] == []
    assert [(p.code, p.region) for p in problems] == [("role-of-other-event", "v1")]
    assert "belongs to Statement.Deny, but this trigger is Contact.Meet" in problems[0].message


def _text(entity_label: str = "PER") -> dict:
    return {
        "article_id": "a1", "annotation_id": "1", "annotator": "p1", "ground_truth": False, "cancelled": False,
        "text": "Putin met Kim.",
        "entities": [{"id": "e1", "start": 0, "end": 5, "text": "Putin", "label": entity_label}],
        "events": [{"id": "v1", "type": "Contact.Meet", "trigger": {"start": 6, "end": 9, "text": "met"},
                    "arguments": [{"role": "Participant", "target": "e1"}], "attributes": {"modality": "Asserted"}}],
    }


def test_record_schema_accepts_a_good_record_and_refuses_unknown_names():
    schema = derive.record_schema(SCHEME)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    assert list(validator.iter_errors(_text())) == []
    assert any("PERSON" in e.message for e in validator.iter_errors(_text("PERSON")))
    wrong_role = _text()
    wrong_role["events"][0]["arguments"][0]["role"] = "Giver"  # a role of Transfer, not of Meet
    assert list(validator.iter_errors(wrong_role))
    with_email = _text()
    with_email["annotator"] = "someone@example.com"
    assert list(validator.iter_errors(with_email))


def test_committed_schema_file_is_the_derived_one():
    committed = json.loads((REPO / "labels" / "record.schema.json").read_text())
    assert committed == derive.record_schema(SCHEME)


BROKEN = {
    "unknown role target": ("targets: [DATE]", "targets: [WEAPON]", "unknown type 'WEAPON'"),
    "duplicate label": ("- name: ORG\n", "- name: PER\n", "duplicate label 'PER'"),
    "hotkey clash": ("hotkey: o\n", "hotkey: p\n", "hotkey 'p' of ORG clashes with PER"),
    "default not a value": ("default: Asserted", "default: Maybe", "default 'Maybe'"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_scheme_is_refused_naming_the_line(case):
    original = (REPO / "labels" / "scheme.yaml").read_text()
    old, new, expected = BROKEN[case]
    broken = original.replace(old, new, 1)
    assert broken != original
    changed_line = next(i for i, (a, b) in enumerate(zip(original.splitlines(), broken.splitlines()), 1) if a != b)
    with pytest.raises(SchemeError) as caught:
        parse_scheme(broken)
    message = str(caught.value)
    assert expected in message
    assert re.search(r"line (\d+)", message)
    lines = [int(n) for n in re.findall(r"line (\d+)", message)]
    assert any(abs(n - changed_line) <= 1 for n in lines), (changed_line, message)


def test_broken_scheme_through_the_cli_is_one_sentence_not_a_traceback(offline_workspace):
    path = offline_workspace.scheme_path
    path.write_text(path.read_text().replace("targets: [DATE]", "targets: [WEAPON]", 1))
    result = run_cli("scheme", "--check")
    assert result.exit_code == 1
    assert "WEAPON" in result.stderr and "line" in result.stderr
    assert_no_traceback(result)


def test_invalid_yaml_names_the_line():
    with pytest.raises(SchemeError, match=r"not valid YAML .*flow sequence on line 3"):
        parse_scheme("version: 1.0.0\nentities:\n  - name: [PER\n")


def test_special_characters_in_definitions_are_escaped_in_the_config():
    text = (REPO / "labels" / "scheme.yaml").read_text().replace(
        "definition: A sum of money, with its currency.", 'definition: Money <b>&amp; "cash"</b>', 1
    )
    config = derive.label_config(parse_scheme(text))
    assert "<b>" not in config and "&lt;b&gt;" in config


def test_generated_config_loads_as_a_label_studio_project(label_studio, unique_title):
    connection = label_studio.connection()
    client = connection.client
    config = (REPO / "labels" / "label_config.xml").read_text()
    project = client.projects.create(title=unique_title, label_config=config)
    try:
        fetched = client.projects.get(id=project.id)
        parsed = fetched.parsed_label_config
        assert set(parsed["entity"]["labels"]) == set(SCHEME.entity_names)
        assert set(parsed["trigger"]["labels"]) == set(SCHEME.event_names)
        assert parsed["modality"]["type"] == "Choices"
    finally:
        client.projects.delete(id=project.id)


def test_a_scheme_edited_between_two_loads_is_loaded_as_edited_and_a_broken_edit_is_refused(offline_workspace):
    path = offline_workspace.scheme_path
    text = path.read_text(encoding="utf-8")
    before = load_scheme(path)
    stat = path.stat()
    path.write_text(text.replace("A person or a group", "A human or a group", 1), encoding="utf-8")  # same size
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    after = load_scheme(path)
    assert after.entities[0].definition.startswith("A human") and before.entities[0].definition.startswith("A person")
    path.write_text(text.replace("A person or a group", "A person: or a group", 1), encoding="utf-8")
    with pytest.raises(SchemeError):
        load_scheme(path)
    path.write_text(text, encoding="utf-8")
    assert load_scheme(path) == before


def test_every_label_key_in_label_studio_is_held_with_shift_and_alt():
    """No label answers a bare key (which typing in the role list would press); none is left for Label Studio
    to give a bare key of its own; no two labels share keys."""
    import xml.etree.ElementTree as ET

    config = ET.fromstring(derive.label_config(SCHEME).split("\n", 1)[1])
    keys = {label.get("value"): label.get("hotkey") for label in config.iter("Label")}
    assert set(keys) == {*SCHEME.entity_names, *SCHEME.event_names}
    assert all(key and re.fullmatch(r"shift\+alt\+[a-z0-9]", key) for key in keys.values()), keys
    assert len(set(keys.values())) == len(keys)
    assert keys["PER"] == "shift+alt+p"  # the scheme's own key, held with the two
