"""Changing the scheme mid-project: `annotate migrate` against the real Label Studio.

Two annotators' work (the seed's recorded passes) and a curator's decisions are made under
scheme 1.0.0 and published; then the scheme moves to a synthetic 1.1.0 (tests/migration_fixture.py:
a renamed entity type, two event types merged, a role added, an attribute value removed).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from annotate.core import derive
from annotate.core.errors import AnnotateError, LabelConfigChanged, LabelConfigRefused, PublishError
from annotate.core.records import iter_records
from annotate.core.scheme import current_scheme
from annotate.core.exports import validate
from annotate.core.progress import Progress
from annotate.core.validate import validate_record
from annotate.core.workspace import Workspace
from annotate.dataset.publish import publish
from annotate.labelstudio import server
from annotate.labelstudio.client import find_project
from annotate.labelstudio.passes import pass_projects
from annotate.labelstudio.pull import pull
from annotate.labelstudio.push import push
from annotate.quality.adjudicate import adjudicate, curation_config, curation_title
from annotate.quality.migrate import migrate

from .builders import SEED_1_0_0, as_seed_1_0_0
from .helpers import assert_no_traceback, run_cli
from .migration_fixture import GUIDELINES_CHANGE, write_scheme_1_1

RECORDED = SEED_1_0_0
OLD_NAMES = {"WEA", "Contact.Meet", "Contact.Correspond", "Present"}


def _annotated_project(workspace: Workspace, title: str, *, curate: bool = True, blind: bool = False) -> dict:
    """Under scheme 1.0.0: the corpus pushed, two annotators' passes imported, pulled; gold with a curator."""
    as_seed_1_0_0(workspace)
    # Shared: one project holds both annotators' work; blind: one project per pass.
    push(workspace, project=title, annotators_per_task=2, blind=blind)
    accounts = {}
    for name in ("pass-a", "pass-b"):
        email = f"{name}-{title[-6:]}@example.org"
        recorded = RECORDED / f"{name}.jsonl"
        done = push(workspace, project=title, annotations=recorded, annotator=email, blind=blind)
        assert done.annotations.imported == 5
        accounts[name] = done.annotations.new_account
    pulled = pull(workspace, project=title)
    assert pulled.total_records == 10 and not pulled.quarantined
    if curate:
        curator = f"cur-{title[-6:]}@example.org"
        decided = adjudicate(workspace, project=title, decisions=RECORDED / "curation.jsonl", curator=curator)
        assert len(decided.gold) == 5
    return accounts


def _results(connection: Any, title: str) -> dict[str, list[dict[str, Any]]]:
    """Every annotation's and prediction's result items in the project (or its passes), by id, as the server has it."""
    project = find_project(connection, title)
    projects = [project] if project is not None else pass_projects(connection, title)
    assert projects, title
    found: dict[str, list[dict[str, Any]]] = {}
    tasks = [t for p in projects for t in connection.client.tasks.list(project=p.id, page_size=100, fields="all")]
    for task in tasks:
        for kind in ("annotations", "predictions"):
            for item in getattr(task, kind, None) or []:
                item = item if isinstance(item, dict) else item.dict()
                found[f"{kind}-{item['id']}"] = item["result"]
    return found


def _names(results: list[dict[str, Any]]) -> Counter:
    """How often each label, role and choice value occurs in result items."""
    names: Counter = Counter()
    for item in results:
        value = item.get("value") or {}
        names.update(value.get("labels") or [])
        names.update(value.get("choices") or [])
        names.update(item.get("labels") or [])
    return names


def _mentions(path: Path) -> Counter:
    counts: Counter = Counter()
    for record in iter_records(path):
        counts.update(f"entity {e['label']}" for e in record["entities"])
        counts.update(f"event {e['type']}" for e in record["events"])
        counts.update(f"tense {e['attributes']['tense']}" for e in record["events"] if "tense" in e["attributes"])
        counts.update(f"role {a['role']}" for e in record["events"] for a in e["arguments"])
    return counts


def _expected_after(before: Counter) -> Counter:
    """The counts the migration says: WEA → WEAPON, Meet + Correspond → Communicate, Present → Past."""
    after = Counter(before)
    after["entity WEAPON"] = after.pop("entity WEA", 0)
    after["event Contact.Communicate"] = after.pop("event Contact.Meet", 0) + after.pop("event Contact.Correspond", 0)
    after["tense Past"] += after.pop("tense Present", 0)
    return +after


def _config(connection: Any, title: str) -> str:
    """The label config of the project, or the one config all its pass projects share."""
    project = find_project(connection, title)
    projects = [project] if project is not None else pass_projects(connection, title)
    configs = {connection.client.projects.get(id=p.id).label_config or "" for p in projects}
    assert len(configs) == 1, configs
    return configs.pop()


def test_migrate_carries_two_annotators_work_and_the_curation_over_to_the_new_scheme(
    workspace, label_studio, unique_title, tmp_path
):
    _annotated_project(workspace, unique_title)
    connection = label_studio.connection()
    published = tmp_path / "published"
    publish(workspace, version="1.0.0", out=published, project=unique_title)
    records = workspace.records_path(_slug(unique_title))
    gold = workspace.gold_path(_slug(unique_title))
    before_records, before_gold = _mentions(records), _mentions(gold)
    assert all(before_records[k] for k in ("entity WEA", "event Contact.Correspond", "tense Present"))
    ids_before = set(_results(connection, unique_title))
    curation_before = set(_results(connection, curation_title(unique_title)))
    assert any(k.startswith("predictions-") for k in curation_before)

    write_scheme_1_1(workspace)
    scheme = current_scheme(workspace)
    # The old records are not reported as broken: they are under an older scheme.
    report = validate(records, workspace)
    assert {p.code for p in report.problems} == {"scheme-version"} and "annotate migrate" in report.problems[0].message

    dry = run_cli("migrate", "--project", unique_title, "--dry-run")
    assert_no_traceback(dry)
    assert dry.exit_code == 0, dry.output
    assert "rename entity type WEA → WEAPON" in dry.stdout and "Dry run, nothing changed" in dry.stdout
    article = next(iter_records(records))["article_id"]
    assert f"article {article}" in dry.stdout
    assert _config(connection, unique_title).strip() != derive.label_config(scheme).strip()
    assert _mentions(records) == before_records

    result = migrate(workspace, project=unique_title)
    main, curation = result.projects
    assert main.found and curation.found and main.config_updated and curation.config_updated
    assert main.annotations_updated == 10 and not main.unreadable and not result.undecided
    assert result.migrations == ["1.0.0-to-1.1.0"]

    # Label Studio: the new configs, and not one old name left in any annotation or prediction.
    assert _config(connection, unique_title).strip() == derive.label_config(scheme).strip()
    assert _config(connection, curation_title(unique_title)).strip() == curation_config(scheme).strip()
    after = _results(connection, unique_title)
    assert set(after) == ids_before
    assert not OLD_NAMES & set(_names([i for r in after.values() for i in r]))
    curated = _results(connection, curation_title(unique_title))
    assert set(curated) == curation_before
    assert not OLD_NAMES & set(_names([i for r in curated.values() for i in r]))
    project = find_project(connection, unique_title)
    instructions = connection.client.projects.get(id=project.id).expert_instruction
    assert "Guidelines version 1.2" in instructions and GUIDELINES_CHANGE.split(";")[0] in instructions

    # The files under exports/ are migrated, with counts changed only where the migration says.
    assert _mentions(records) == _expected_after(before_records)
    assert _mentions(gold) == _expected_after(before_gold)
    assert validate(gold, workspace).valid

    # A pull of the migrated annotations gives records valid under 1.1.0, with the same counts.
    pulled = pull(workspace, project=unique_title)
    assert pulled.tasks_fetched == 5 and not pulled.quarantined and pulled.total_records == 10
    assert all(r["scheme_version"] == "1.1.0" and not validate_record(r, scheme) for r in iter_records(records))
    assert _mentions(records) == _expected_after(before_records)

    # A rerun changes nothing.
    configs = _config(connection, unique_title), _config(connection, curation_title(unique_title))
    again = migrate(workspace, project=unique_title)
    assert not again.articles and again.projects[0].annotations_updated == 0 and not again.migrations
    assert (_config(connection, unique_title), _config(connection, curation_title(unique_title))) == configs
    assert _results(connection, unique_title) == after

    # A push after the migration has nothing to refuse and shows the new guidelines' version and changes.
    page = workspace.guidelines / "annotation-guidelines.md"
    text = page.read_text().replace("Guidelines version 1.2", "Guidelines version 1.3")
    page.write_text(text + "- **1.3** (scheme 1.1.0): Typos.\n")
    pushed = push(workspace, project=unique_title)
    assert not pushed.created and len(pushed.skipped) == 5
    shown = connection.client.projects.get(id=project.id).expert_instruction
    assert "Guidelines version 1.3</strong> (scheme 1.1.0). What changed:" in shown and "Typos." in shown

    # Publishing: the scheme's renames and merges call for a major version, and the changelog lists them.
    adjudicate(workspace, project=unique_title)
    with pytest.raises(PublishError) as small:
        publish(workspace, bump="minor", out=published, project=unique_title)
    assert "2.0.0" in str(small.value) and "--bump major" in str(small.value)
    done = publish(workspace, bump="auto", out=published, project=unique_title)
    assert done.version == "2.0.0"
    manifest = json.loads((done.folder / "manifest.json").read_text())
    assert manifest["scheme"]["version"] == "1.1.0"
    changes = {c["description"]: c["mentions"] for c in manifest["changelog"]["scheme"]["changes"]}
    assert changes == {
        "rename entity type WEA → WEAPON": before_gold["entity WEA"],
        "merge event type Contact.Meet + Contact.Correspond → Contact.Communicate": (
            before_gold["event Contact.Meet"] + before_gold["event Contact.Correspond"]
        ),
        "add role Topic of Contact.Communicate": 0,
        "remove value Present of tense (relabel as Past)": before_gold["tense Present"],
    }
    card = (done.folder / "README.md").read_text()
    assert "from version 1.0.0 to 1.1.0" in card
    assert f"| rename entity type WEA → WEAPON | {before_gold['entity WEA']} |" in card


def test_a_migration_stopped_by_the_server_going_down_finishes_on_rerun_without_losing_or_doubling(
    own_workspace, own_label_studio, unique_title
):
    """Injects: the test's own Label Studio stopped after the migration has rewritten its first tasks."""
    workspace, label_studio = own_workspace, own_label_studio
    _annotated_project(workspace, unique_title, curate=False, blind=True)
    assert len(pass_projects(label_studio.connection(), unique_title)) == 2
    connection = label_studio.connection()
    before = _results(connection, unique_title)
    counts_before = Counter()
    for results in before.values():
        counts_before.update(_names(results))
    write_scheme_1_1(workspace)
    # Before the migration, pull and push say what to do instead of what broke.
    with pytest.raises(LabelConfigChanged) as stale:
        pull(workspace, project=unique_title)
    assert "made under scheme 1.0.0" in str(stale.value) and "run `annotate migrate`" in str(stale.value)
    with pytest.raises(LabelConfigRefused) as refused:
        push(workspace, project=unique_title)
    assert "run `annotate migrate`" in str(refused.value)
    settings = server.load_settings(label_studio.workspace)
    seen: list[int] = []

    def stop_the_server_after_two_tasks(step: Progress) -> None:
        seen.append(step.done)
        if step.done == 2:
            server.stop(label_studio.workspace)

    try:
        with pytest.raises(AnnotateError) as stopped:
            migrate(workspace, project=unique_title, on_progress=stop_the_server_after_two_tasks)
    finally:
        server.start(label_studio.workspace, port=settings.port, database=settings.database)
    message = str(stopped.value)
    assert "cannot be reached" in message and "annotate migrate" in message and settings.api_key not in message
    halfway = _results(label_studio.connection(), unique_title)
    migrated = [k for k, r in halfway.items() if r != before[k]]
    assert 0 < len(migrated) < len(before)

    result = migrate(workspace, project=unique_title)
    assert sum(p.annotations_updated for p in result.projects) == len(before) - len(migrated)
    after = _results(label_studio.connection(), unique_title)
    assert set(after) == set(before)  # nothing duplicated, nothing lost
    counts_after = Counter()
    for results in after.values():
        counts_after.update(_names(results))
    assert not OLD_NAMES & set(counts_after)
    assert counts_after["WEAPON"] == counts_before["WEA"]
    assert counts_after["Contact.Communicate"] == counts_before["Contact.Meet"] + counts_before["Contact.Correspond"]
    assert counts_after["Past"] == counts_before["Past"] + counts_before["Present"]
    expected = derive.label_config(current_scheme(workspace)).strip()
    assert _config(label_studio.connection(), unique_title).strip() == expected
    pulled = pull(workspace, project=unique_title)
    assert pulled.total_records == 10 and not pulled.quarantined


def _slug(title: str) -> str:
    from annotate.core.workspace import slugify

    return slugify(title)
