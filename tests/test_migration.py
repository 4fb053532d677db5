"""Migration files and their application to records, without a server: checked, pure, never silent."""

from __future__ import annotations

import copy
import json
from collections import Counter

import pytest

from annotate.core.errors import MigrationError
from annotate.core.migration import check_migration, load_migration, migrate_record, migration_chain, parse_migration
from annotate.core.records import iter_records
from annotate.core.scheme import current_scheme
from annotate.core.scheme_versions import check_versions, undecided_path
from annotate.core.validate import validate_record
from annotate.labelstudio.instructions import instructions
from annotate.quality.migrate import MigrateResult, _migrate_files, bridging_config

from .helpers import assert_no_traceback, run_cli
from .migration_fixture import GUIDELINES_CHANGE, MIGRATION, write_scheme_1_1

CURATE_WEA = MIGRATION.replace("rename: {entity_type: WEA, to: WEAPON}", "remove: {entity_type: WEA, then: curate}")


def _passes(workspace) -> list[dict]:
    """The recorded passes and the curator's decisions: records under 1.0.0."""
    folder = workspace.corpus / "annotations"
    return [r for name in ("pass-a", "pass-b", "curation") for r in iter_records(folder / f"{name}.jsonl")]


def test_a_removal_without_then_is_refused_with_a_sentence(offline_workspace):
    bare = MIGRATION.replace("then: {relabel: Past}", "").replace(", }", "}")
    write_scheme_1_1(offline_workspace, migration=bare)
    with pytest.raises(MigrationError) as refused:
        load_migration(offline_workspace.labels / "migrations" / "1.0.0-to-1.1.0.yaml")
    message = str(refused.value)
    assert "line 7" in message and "removal of value Present" in message
    assert "then: {relabel: OTHER}" in message and message.endswith(".") and "\n" not in message

    result = run_cli("scheme", "--check")
    assert_no_traceback(result)
    assert result.exit_code == 1 and "does not say what happens to the annotations that use it" in result.stderr


def test_a_version_change_without_its_migration_is_named_with_what_is_in_use(offline_workspace):
    write_scheme_1_1(offline_workspace, migration=None)
    result = run_cli("scheme", "--check")
    assert_no_traceback(result)
    assert result.exit_code == 1
    assert "labels/migrations/1.0.0-to-1.1.0.yaml" in result.stderr
    uses = Counter(e["label"] for r in _passes(offline_workspace) for e in r["entities"])
    assert f"entity type WEA ({uses['WEA']} mention(s))" in result.stderr  # the recorded passes use it


def test_a_migration_that_forgets_a_name_in_use_is_refused_naming_it(offline_workspace):
    forgetful = MIGRATION.replace("  - rename: {entity_type: WEA, to: WEAPON}\n", "")
    write_scheme_1_1(offline_workspace, migration=forgetful)
    result = run_cli("scheme", "--check")
    assert result.exit_code == 1
    assert "use entity type WEA" in result.stderr and "no migration carries over" in result.stderr
    assert "Contact.Meet" not in result.stderr  # the merge covers it


def test_scheme_says_which_records_a_complete_migration_carries_over(offline_workspace):
    write_scheme_1_1(offline_workspace)
    result = run_cli("scheme", "--check")
    assert result.exit_code == 0, result.output
    assert "15 record(s) are under scheme 1.0.0" in result.stdout
    assert "Contact.Correspond, Contact.Meet, WEA, tense=Present" in result.stdout
    assert "annotate migrate" in result.stdout


def test_a_migration_must_fit_the_scheme_it_leads_to(offline_workspace):
    write_scheme_1_1(offline_workspace)
    scheme = current_scheme(offline_workspace)
    wrong = parse_migration(MIGRATION.replace("to: WEAPON", "to: WEAPONS"))

    problems = check_migration(wrong, scheme)
    assert problems == ["1.0.0-to-1.1.0 line 4: rename entity type WEA → WEAPONS: WEAPONS is not in the scheme"]
    kept = parse_migration(MIGRATION.replace("[Contact.Meet,", "[Contact.Meet, Agreement.Commit,"))
    assert any("Agreement.Commit is still in the scheme" in p for p in check_migration(kept, scheme))
    with pytest.raises(MigrationError) as bad:
        parse_migration("from: 1.1.0\nto: 1.0.0\nchanges: [{rename: {entity_type: A}}]\n")
    assert "must be a later version" in str(bad.value) and "needs `to: NEW`" in str(bad.value)


def test_validating_an_old_record_against_the_new_scheme_says_to_migrate_it(offline_workspace):
    write_scheme_1_1(offline_workspace)
    result = run_cli("validate", str(offline_workspace.corpus / "annotations" / "pass-a.jsonl"))
    assert result.exit_code == 1
    lines = [line for line in result.stdout.splitlines() if "[scheme-version]" in line]
    assert len(lines) == 5 and all("under scheme 1.0.0" in line and "annotate migrate" in line for line in lines)
    assert "unknown-label" not in result.stdout


def test_migrating_a_record_is_pure_idempotent_and_gives_a_valid_record(offline_workspace):
    write_scheme_1_1(offline_workspace)
    scheme = current_scheme(offline_workspace)
    chain = migration_chain(offline_workspace, "1.0.0", "1.1.0")
    for record in _passes(offline_workspace):
        kept = copy.deepcopy(record)
        outcome = migrate_record(record, chain)
        assert record == kept
        assert outcome.record["scheme_version"] == "1.1.0" and not validate_record(outcome.record, scheme)
        assert len(outcome.record["entities"]) == len(record["entities"])
        assert len(outcome.record["events"]) == len(record["events"])
        again = migrate_record(outcome.record, chain)
        assert again.record == outcome.record and not again.changed and not again.undecided


def test_a_removal_left_to_a_person_is_listed_once_with_everything_it_held(offline_workspace):
    write_scheme_1_1(offline_workspace, migration=CURATE_WEA)
    scheme = current_scheme(offline_workspace)
    weapons = sum(e["label"] == "WEA" for r in _passes(offline_workspace) for e in r["entities"])
    result = MigrateResult(scheme.version, dry_run=False)
    _migrate_files(offline_workspace, scheme, result)
    assert len(result.undecided) == weapons
    item = result.undecided[0]
    assert item.item["label"] == "WEA" and item.item["text"] and "relabel or delete" in item.reason
    listed = undecided_path(offline_workspace, migration_chain(offline_workspace, "1.0.0", "1.1.0")[-1])
    lines = [json.loads(line) for line in listed.read_text().splitlines()]
    assert len(lines) == len(result.undecided)
    # The arguments that pointed at a removed entity go with it, into the list.
    pointing = sum(len(i.item["arguments_pointing_here"]) for i in result.undecided)
    assert pointing > 0
    for record in _passes(offline_workspace):
        assert not validate_record(record, scheme)  # the files were rewritten, valid under 1.1.0

    rerun = MigrateResult(scheme.version, dry_run=False)
    _migrate_files(offline_workspace, scheme, rerun)
    assert not rerun.undecided and not rerun.articles
    assert len(listed.read_text().splitlines()) == len(lines)


def test_a_merge_that_puts_two_events_on_one_trigger_keeps_one_with_both_arguments():
    migration = parse_migration(
        "from: 1.0.0\nto: 1.1.0\nchanges:\n  - merge: {event_types: [A, B], into: C}\n"
    )
    span = {"start": 0, "end": 3, "text": "met"}
    record = {
        "article_id": "x",
        "annotation_id": "1",
        "entities": [{"id": "e1", "start": 4, "end": 7, "text": "Kim", "label": "PER"}],
        "events": [
            {"id": "v1", "type": "A", "trigger": span, "arguments": [{"role": "P", "target": "e1"}],
             "attributes": {"tense": "Past"}},
            {"id": "v2", "type": "B", "trigger": span, "arguments": [{"role": "T", "target": "e1"}],
             "attributes": {"tense": "Future"}},
        ],
    }
    outcome = migrate_record(record, [migration])
    (event,) = outcome.record["events"]
    assert event["type"] == "C" and event["arguments"] == [{"role": "P", "target": "e1"}, {"role": "T", "target": "e1"}]
    assert event["attributes"] == {"tense": "Past"}
    (undecided,) = outcome.undecided
    assert "disagree on tense" in undecided.reason and undecided.item == {"event": "v2", "tense": "Future"}


def test_the_bridging_config_holds_old_and_new_names():
    old = (
        '<View><Labels name="entity" toName="text"><Label value="WEA"/></Labels>'
        '<Relations><Relation value="X"/></Relations></View>'
    )
    new = '<!-- c -->\n<View><Labels name="entity" toName="text"><Label value="WEAPON"/></Labels><Relations/></View>\n'
    bridge = bridging_config(old, new, "1.0.0", "1.1.0")
    assert 'value="WEA"' in bridge and 'value="WEAPON"' in bridge and 'value="X"' in bridge
    assert "version 1.0.0, being migrated to 1.1.0" in bridge


def test_guidelines_name_their_scheme_version_and_say_what_changed(offline_workspace):
    write_scheme_1_1(offline_workspace)
    html = instructions(offline_workspace, current_scheme(offline_workspace))
    assert "Guidelines version 1.2</strong> (scheme 1.1.0)" in html and GUIDELINES_CHANGE.split(";")[0] in html

    page = offline_workspace.guidelines / "annotation-guidelines.md"
    page.write_text(page.read_text().replace("scheme version 1.1.0", "scheme version 1.0.0"))
    result = run_cli("scheme", "--check")
    assert result.exit_code == 1
    assert "guidelines/annotation-guidelines.md says guidelines version 1.2 is for scheme 1.0.0" in result.stderr


def test_the_repository_scheme_needs_no_migration(offline_workspace):
    versions = check_versions(offline_workspace, current_scheme(offline_workspace))
    assert versions.to_migrate == []


def test_migrate_files_only_needs_no_server_and_a_dry_run_changes_nothing(offline_workspace):
    write_scheme_1_1(offline_workspace)
    passes = offline_workspace.corpus / "annotations" / "pass-a.jsonl"
    before = passes.read_bytes()
    dry = run_cli("migrate", "--files-only", "--dry-run")
    assert_no_traceback(dry)
    assert dry.exit_code == 0, dry.output
    first = next(iter_records(passes))["article_id"]
    assert f"article {first}" in dry.stdout
    lines = [line for line in dry.stdout.splitlines() if line.startswith("  corpus/annotations/pass-a.jsonl: ")]
    assert len(lines) == 5 and all("rename entity type WEA → WEAPON ×" in line for line in lines)
    assert passes.read_bytes() == before
    done = run_cli("migrate", "--files-only")
    assert done.exit_code == 0, done.output
    assert all(r["scheme_version"] == "1.1.0" for r in iter_records(passes))
    assert run_cli("validate", str(passes)).exit_code == 0
    again = run_cli("migrate", "--files-only")
    assert "0 annotation(s) or record(s) changed" in again.stdout


def test_a_role_rename_scoped_to_an_event_type_follows_it_through_a_rename_in_the_same_step():
    migration = parse_migration(
        "from: 1.0.0\nto: 2.0.0\nchanges:\n"
        "  - rename: {event_type: Contact.Meet, to: Contact.Summit}\n"
        "  - rename: {role: Participant, to: Attendee, event_type: Contact.Meet}\n"
    )
    trigger = {"start": 0, "end": 3, "text": "met"}
    record = {
        "article_id": "x",
        "entities": [],
        "events": [
            {"id": "v1", "type": "Contact.Meet", "trigger": trigger, "attributes": {},
             "arguments": [{"role": "Participant", "target": "e1"}]},
            {"id": "v2", "type": "Contact.Correspond", "trigger": {**trigger, "start": 4}, "attributes": {},
             "arguments": [{"role": "Participant", "target": "e1"}]},
        ],
    }
    outcome = migrate_record(record, [migration])
    summit, letter = outcome.record["events"]
    assert summit["type"] == "Contact.Summit" and summit["arguments"][0]["role"] == "Attendee"
    assert letter["arguments"][0]["role"] == "Participant"
    assert outcome.changed == Counter({
        "rename event type Contact.Meet → Contact.Summit": 1,
        "rename role Participant of Contact.Meet → Attendee": 1,
    })


def test_a_definitions_only_step_has_an_empty_migration_and_moves_the_records_version(offline_workspace):
    scheme_text = offline_workspace.scheme_path.read_text().replace("version: 1.0.0", "version: 1.0.1")
    offline_workspace.scheme_path.write_text(scheme_text.replace("A sum of money", "An amount of money"))
    page = offline_workspace.guidelines / "annotation-guidelines.md"
    page.write_text(page.read_text().replace("scheme version 1.0.0", "scheme version 1.0.1", 1)
                    .replace("**Guidelines version 1.1**", "**Guidelines version 1.1.1**")
                    + "- **1.1.1** (scheme 1.0.1): MONEY's definition reworded.\n")
    assert run_cli("scheme").exit_code == 1  # no migration file yet
    (offline_workspace.labels / "migrations").mkdir()
    step = offline_workspace.labels / "migrations" / "1.0.0-to-1.0.1.yaml"
    step.write_text("from: 1.0.0\nto: 1.0.1\nchanges: []\n")
    checked = run_cli("scheme")
    assert checked.exit_code == 0, checked.output
    assert "no name in use changes" in checked.stdout
    assert run_cli("migrate", "--files-only").exit_code == 0
    passes = offline_workspace.corpus / "annotations" / "pass-a.jsonl"
    assert {r["scheme_version"] for r in iter_records(passes)} == {"1.0.1"}
    from annotate.core.scheme_versions import scheme_changes

    assert scheme_changes(offline_workspace, "1.0.0", current_scheme(offline_workspace)).bump is None
