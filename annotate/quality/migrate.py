"""`annotate migrate`: carry every annotation over to the scheme's new version, wherever it lives.

The Label Studio project (or each of its blind-pass projects) and its curation project
first get a label config holding both the old and the new names (Label Studio refuses a
config that drops a name annotations use), then every annotation and prediction is
rewritten through the API, then the config becomes the new scheme's alone. The canonical
records, gold and recorded passes are migrated file by file, each written whole. Every step
is idempotent: a migrated annotation or record has nothing left to change, so a run that
stopped part-way is finished by running it again. What the migration cannot decide goes to
a named list (exports/migrations/<from>-to-<to>.undecided.jsonl), written before the
annotation it comes from is changed.

It sits beside adjudication because it reaches the curation project, which adjudication owns.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from label_studio_sdk.core.api_error import ApiError

from annotate.core import derive
from annotate.core.errors import AnnotateError, LabelConfigRefused, MigrationInterrupted
from annotate.core.migration import FIRST_VERSION, Migration, Undecided, migrate_record, migration_chain, record_version
from annotate.core.records import record_to_results, results_to_record, write_records
from annotate.core.scheme import Scheme, current_scheme
from annotate.core.scheme_versions import (
    check_versions,
    config_version,
    iter_file_records,
    record_files,
    report_path,
    undecided_path,
)
from annotate.core.settings import load_project_settings
from annotate.core.workspace import Workspace
from annotate.core.progress import Progress, ProgressCallback
from annotate.labelstudio.client import Connection, connect, find_project
from annotate.labelstudio.instructions import instructions
from annotate.labelstudio.passes import curation_title, pass_projects
from annotate.quality.adjudicate import CURATION_HELP, curation_config

PAGE_SIZE = 100
NO_RETRY = {"max_retries": 0}
_MIGRATING = "being migrated to"


@dataclass
class ArticleChange:
    """What the migration changes (or would change) in one annotation or record of an article."""

    article_id: str
    where: str
    changed: dict[str, int]
    undecided: int = 0


@dataclass
class ProjectMigration:
    title: str
    found: bool = False
    config_version: str | None = None
    """The scheme version the project's label config was made from, before this run."""
    config_updated: bool = False
    annotations: int = 0
    annotations_updated: int = 0
    predictions_updated: int = 0
    unreadable: list[str] = field(default_factory=list)
    """Annotations that are not readable as records: left as they are, named."""


@dataclass
class FileMigration:
    path: Path
    records: int = 0
    migrated: int = 0


@dataclass
class MigrateResult:
    version: str
    dry_run: bool
    migrations: list[str] = field(default_factory=list)
    projects: list[ProjectMigration] = field(default_factory=list)
    files: list[FileMigration] = field(default_factory=list)
    articles: list[ArticleChange] = field(default_factory=list)
    undecided: list[Undecided] = field(default_factory=list)
    undecided_path: Path | None = None
    counts: Counter = field(default_factory=Counter)

    @property
    def changes(self) -> int:
        return len(self.articles)




def migrate(
    workspace: Workspace,
    *,
    project: str | None = None,
    dry_run: bool = False,
    label_studio: bool = True,
    on_progress: ProgressCallback | None = None,
) -> MigrateResult:
    """Migrate the project, its curation project and the record files to the scheme's version.

    With `label_studio` False only the files are migrated, without a server; a later run
    migrates the projects.
    """
    scheme = current_scheme(workspace)
    check_versions(workspace, scheme)  # a migration that does not fit the scheme is refused before anything moves
    title = project or load_project_settings(workspace).project
    result = MigrateResult(scheme.version, dry_run)
    if not label_studio:
        _migrate_files(workspace, scheme, result)
        return result
    connection = connect(workspace)
    guidelines = instructions(workspace, scheme)
    # A title annotated blind lives in one project per pass; each is migrated like the shared one.
    titles = [title] + [p.title for p in pass_projects(connection, title)]
    targets = [(name, derive.label_config(scheme), guidelines) for name in titles]
    targets.append((curation_title(title), curation_config(scheme), CURATION_HELP + guidelines))
    for name, config, html in targets:
        _migrate_project(workspace, connection, scheme, name, config, html, result, on_progress)
    _migrate_files(workspace, scheme, result)
    return result


# --- the undecided list and the counts -------------------------------------------------------


class _Ledger:
    """The named list of undecided items and the per-change counts, kept as the migration goes."""

    def __init__(self, workspace: Workspace, chain: list[Migration], result: MigrateResult) -> None:
        self.workspace = workspace
        self.chain = chain
        self.result = result
        self.path = undecided_path(workspace, chain[-1])
        self.attributes = current_scheme(workspace).attribute_names
        self.keys = set()
        if self.path.exists():
            for item in iter_file_records(self.path):
                item.pop("where", None)
                self.keys.add(Undecided(**item).key())

    def note(self, where: str, undecided: list[Undecided]) -> None:
        """Keep the undecided items (appended and flushed before the change they come from is made)."""
        for item in undecided:
            if item.key() in self.keys and not self.result.dry_run:
                continue
            self.result.undecided.append(item)
            if self.result.dry_run:
                continue
            self.keys.add(item.key())
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(json.dumps({**item.as_dict(), "where": where}, ensure_ascii=False) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            self.result.undecided_path = self.path

    def count(self, section: str, source: str, counts: Counter) -> None:
        """Add the mentions a source's migration touched to the report (before the source is rewritten)."""
        self.result.counts.update(counts)
        if self.result.dry_run or not counts:
            return
        for migration in self.chain:
            path = report_path(self.workspace, migration)
            try:
                report = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                report = {"from": migration.source, "to": migration.target, "files": {}, "label_studio": {}}
            entries = report.setdefault(section, {})
            if section == "files":
                entries[source] = dict(counts)  # a file is migrated whole: its counts replace any earlier ones
            else:
                entries[source] = dict(Counter(entries.get(source, {})) + counts)
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_text(json.dumps(report, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8")
            tmp.replace(path)


# --- Label Studio ------------------------------------------------------------------------------


def bridging_config(current: str, new: str, source: str, target: str) -> str:
    """The new config with every label, role and choice value of the current one added back.

    Label Studio accepts it (it only adds), and annotations under either name stay valid
    while they are rewritten one by one.
    """
    try:
        old_root = ET.fromstring(current)
    except ET.ParseError:
        return new
    body = new.split("\n", 1)[1] if new.startswith("<!--") else new
    root = ET.fromstring(body)
    old_values: dict[tuple[str, str | None], list[str]] = {}
    for element in old_root.iter():
        if element.tag in ("Labels", "Choices", "Relations"):
            old_values[(element.tag, element.get("name"))] = [c.get("value", "") for c in element]
    child = {"Labels": "Label", "Choices": "Choice", "Relations": "Relation"}
    for element in root.iter():
        values = old_values.get((element.tag, element.get("name")))
        if values is None:
            continue
        have = {c.get("value") for c in element}
        for value in values:
            if value and value not in have:
                ET.SubElement(element, child[element.tag], value=value)
    ET.indent(root, space="  ")
    comment = (f"<!-- Generated from labels/scheme.yaml version {source}, {_MIGRATING} {target} "
               "by `annotate migrate`. Do not edit. -->")
    return comment + "\n" + ET.tostring(root, encoding="unicode") + "\n"


def _get(item: Any, key: str) -> Any:
    return item.get(key) if isinstance(item, dict) else getattr(item, key, None)


def _migrate_project(
    workspace: Workspace,
    connection: Connection,
    scheme: Scheme,
    title: str,
    config: str,
    html: str,
    result: MigrateResult,
    on_progress: ProgressCallback | None,
) -> None:
    report = ProjectMigration(title)
    result.projects.append(report)
    remote = find_project(connection, title)
    if remote is None:
        return
    report.found = True
    client = connection.client
    with connection.errors(f"reading the project {title!r}"):
        current = client.projects.get(id=remote.id).label_config or ""
    version = config_version(current) or FIRST_VERSION
    report.config_version = version
    chain = migration_chain(workspace, version, scheme.version)
    if not chain:
        return  # made from this scheme version already: nothing of it needs to move
    _note_chain(result, chain)
    ledger = _Ledger(workspace, chain, result)
    try:
        if not result.dry_run and _MIGRATING not in current:
            bridge = bridging_config(current, config, version, scheme.version)
            with connection.errors(f"adding the new scheme's names to the label config of {title!r}"):
                client.projects.update(id=remote.id, label_config=bridge)
        _migrate_tasks(connection, remote.id, title, chain, ledger, report, on_progress)
        if not result.dry_run:
            _final_config(connection, remote.id, title, config, html)
            report.config_updated = True
    except MigrationInterrupted:
        raise
    except AnnotateError as exc:
        if isinstance(exc, LabelConfigRefused):
            raise
        raise MigrationInterrupted(
            f"The migration of {title!r} stopped after {report.annotations_updated} annotation(s) were migrated: "
            f"{exc} Then run `annotate migrate` again: it carries on where it stopped and changes nothing twice."
        ) from None


def _note_chain(result: MigrateResult, chain: list[Migration]) -> None:
    for migration in chain:
        if migration.name not in result.migrations:
            result.migrations.append(migration.name)


def _migrate_tasks(
    connection: Connection,
    project_id: int,
    title: str,
    chain: list[Migration],
    ledger: _Ledger,
    report: ProjectMigration,
    on_progress: ProgressCallback | None,
) -> None:
    client = connection.client
    with connection.errors(f"listing the tasks of {title!r}"):
        total = client.projects.get(id=project_id).task_number or 0
        tasks: Any = client.tasks.list(project=project_id, page_size=PAGE_SIZE, fields="all")
        for done, task in enumerate(tasks, 1):
            data = _get(task, "data") or {}
            for annotation in _get(task, "annotations") or []:
                report.annotations += 1
                if _migrate_item(connection, "annotation", task, data, annotation, title, chain, ledger, report):
                    report.annotations_updated += 1
            for prediction in _get(task, "predictions") or []:
                if _migrate_item(connection, "prediction", task, data, prediction, title, chain, ledger, report):
                    report.predictions_updated += 1
            if on_progress:
                on_progress(Progress("tasks", done, max(total, done)))


def _migrate_item(
    connection: Connection,
    kind: str,
    task: Any,
    data: dict[str, Any],
    item: Any,
    title: str,
    chain: list[Migration],
    ledger: _Ledger,
    report: ProjectMigration,
) -> bool:
    """Rewrite one annotation (or prediction) under the new names; True when it changed."""
    item_id, results = _get(item, "id"), _get(item, "result") or []
    entities, events, problems = results_to_record(
        results, attribute_names=ledger.attributes, task=_get(task, "id"), annotation=item_id
    )
    if problems:
        report.unreadable.append(f"{kind} {item_id} of task {_get(task, 'id')} in {title!r}: {problems[0]}")
        return False
    article = str(data.get("article_id") or f"task-{_get(task, 'id')}")
    record = {"article_id": article, "annotation_id": str(item_id), "entities": entities, "events": events}
    outcome = migrate_record(record, chain)
    if not outcome.changed and not outcome.undecided:
        return False
    where = f"{title!r} {kind} {item_id}"
    ledger.result.articles.append(ArticleChange(article, where, dict(outcome.changed), len(outcome.undecided)))
    ledger.note(where, outcome.undecided)
    ledger.count("label_studio", title, outcome.changed)
    if ledger.result.dry_run:
        return True
    new_results = _keep_extras(results, record_to_results(outcome.record))
    with connection.errors(f"updating {kind} {item_id} of {title!r}"):
        if kind == "annotation":
            connection.client.annotations.update(id=item_id, result=new_results, request_options=NO_RETRY)
        else:
            connection.client.predictions.update(id=item_id, result=new_results, request_options=NO_RETRY)
    return True


def _keep_extras(old: list[Any], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep what the migration does not touch (origin, meta, the relation's direction) from the old items."""

    def key(item: Any) -> tuple[Any, ...]:
        if _get(item, "type") == "relation":
            return ("relation", _get(item, "from_id"), _get(item, "to_id"))
        return (_get(item, "type"), _get(item, "id"), _get(item, "from_name"))

    before = {key(item): item for item in old if isinstance(item, dict)}
    kept = []
    for item in new:
        found = before.get(key(item))
        extras = {k: v for k, v in (found or {}).items() if k not in item and k != "value"}
        kept.append({**extras, **item})
    return kept


def _final_config(connection: Connection, project_id: int, title: str, config: str, html: str) -> None:
    """The new scheme's config alone; Label Studio checks that no annotation still uses an old name."""
    client = connection.client
    with connection.errors(f"setting the new label config of {title!r}"):
        try:
            client.projects.validate_label_config(id=project_id, label_config=config)
        except ApiError as exc:
            if exc.status_code != 400:
                raise
            raise LabelConfigRefused(
                f"Label Studio refused the new label config of {title!r}: some annotation or draft still uses an "
                f"old name ({' '.join(str(exc.body).split())[:300]}). Submit or delete the drafts in Label Studio, "
                "then run `annotate migrate` again."
            ) from None
        client.projects.update(id=project_id, label_config=config, expert_instruction=html, show_instruction=True)


# --- files under exports/ and corpus/annotations/ ---------------------------------------------


def _migrate_files(workspace: Workspace, scheme: Scheme, result: MigrateResult) -> None:
    for path in record_files(workspace):
        report = FileMigration(path)
        result.files.append(report)
        records = list(iter_file_records(path))
        report.records = len(records)
        versions = {record_version(r) for r in records} - {scheme.version}
        if not versions:
            continue
        chains = {v: migration_chain(workspace, v, scheme.version) for v in versions}
        where = path.relative_to(workspace.root).as_posix()
        migrated: list[dict[str, Any]] = []
        counts: Counter = Counter()
        undecided: list[Undecided] = []
        for record in records:
            chain = chains.get(record_version(record))
            if not chain:
                migrated.append(record)
                continue
            _note_chain(result, chain)
            outcome = migrate_record(record, chain)
            migrated.append(outcome.record)
            report.migrated += 1
            counts.update(outcome.changed)
            undecided += outcome.undecided
            if outcome.changed or outcome.undecided:
                result.articles.append(ArticleChange(str(record.get("article_id")), where, dict(outcome.changed),
                                                     len(outcome.undecided)))
        last = max(chains.values(), key=len)
        ledger = _Ledger(workspace, last, result)
        ledger.note(where, undecided)
        ledger.count("files", where, counts)
        if not result.dry_run:
            write_records(path, migrated)
