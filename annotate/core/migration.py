"""Scheme migrations: `labels/migrations/<from>-to-<to>.yaml`, read, checked and applied to records.

A migration lists what changed between two scheme versions (add, rename, merge, remove of
entity types, event types, roles and attribute values). Applying it to a canonical record
is a pure function: it returns the migrated record, how many mentions each change touched,
and what it could not decide (a removal whose `then` is `curate`) as a named list, so
nothing is ever dropped in silence. Records carry the version they were made under in
`scheme_version`; a record without it is under 1.0.0.
"""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from annotate.core.errors import MigrationError
from annotate.core.scheme import Scheme, SchemeLoader
from annotate.core.workspace import Workspace

FIRST_VERSION = "1.0.0"
"""The version of a record that does not say which scheme version it was made under."""
VERSION_FIELD = "scheme_version"

OPS = ("add", "rename", "merge", "remove")
KINDS = ("entity_type", "event_type", "role", "attribute_value")
_PLURAL = {"entity_types": "entity_type", "event_types": "event_type"}
SEMVER_PATTERN = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")
KIND_WORDS = {"entity_type": "entity type", "event_type": "event type", "role": "role", "attribute_value": "value"}


def semver(text: str) -> tuple[int, int, int]:
    match = SEMVER_PATTERN.match(text)
    if not match:
        raise ValueError(f"not a version: {text!r}")
    return int(match[1]), int(match[2]), int(match[3])


def record_version(record: dict[str, Any]) -> str:
    """The scheme version a record was made under (1.0.0 when it does not say)."""
    version = record.get(VERSION_FIELD)
    return version if isinstance(version, str) and SEMVER_PATTERN.match(version) else FIRST_VERSION


# --- the file -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One entry of `changes`."""

    op: str
    kind: str
    names: tuple[str, ...]
    """The names the change is about, as the older scheme has them (one, or several for a merge)."""
    to: str | None = None
    event_type: str | None = None
    attribute: str | None = None
    then: str | None = None
    """For a removal: relabel, drop or curate."""
    relabel: str | None = None
    line: int = 0

    @property
    def target(self) -> str | None:
        """What the names become: a rename's or merge's `to`, a removal's relabel target."""
        return self.to if self.to is not None else self.relabel

    @property
    def breaking(self) -> bool:
        """Whether annotations made under the older scheme stop being valid (rename, merge, remove)."""
        return self.op != "add"

    def describe(self) -> str:
        what = KIND_WORDS[self.kind]
        scope = f" of {self.event_type}" if self.event_type else ""
        scope += f" of {self.attribute}" if self.attribute else ""
        names = " + ".join(self.names)
        if self.op == "add":
            return f"add {what} {names}{scope}"
        if self.op in ("rename", "merge"):
            return f"{self.op} {what} {names}{scope} → {self.to}"
        then = f"relabel as {self.relabel}" if self.then == "relabel" else self.then
        return f"remove {what} {names}{scope} ({then})"

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"change": self.op, "kind": self.kind, "names": list(self.names)}
        for key in ("to", "event_type", "attribute", "then", "relabel"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        data["description"] = self.describe()
        return data


@dataclass(frozen=True)
class Migration:
    source: str
    """`from` of the file."""
    target: str
    """`to` of the file."""
    changes: tuple[Change, ...]
    path: Path | None = None

    @property
    def name(self) -> str:
        return f"{self.source}-to-{self.target}"

    @property
    def breaking(self) -> bool:
        return any(c.breaking for c in self.changes)


def migrations_dir(workspace: Workspace) -> Path:
    return workspace.labels / "migrations"


def migration_file(workspace: Workspace, source: str, target: str) -> Path:
    return migrations_dir(workspace) / f"{source}-to-{target}.yaml"


def load_migration(path: Path) -> Migration:
    """Read and check one migration file; `MigrationError` lists every problem with its line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MigrationError([f"cannot be read ({exc})"], str(path)) from None
    migration = parse_migration(text, source=str(path))
    expected = f"{migration.source}-to-{migration.target}.yaml"
    if path.name != expected:
        raise MigrationError([f"the file goes from {migration.source} to {migration.target}, so name it {expected}"],
                             str(path))
    return Migration(migration.source, migration.target, migration.changes, path)


def parse_migration(text: str, *, source: str = "migration") -> Migration:
    try:
        data = yaml.load(text, Loader=SchemeLoader)  # bounded, and refusing duplicate keys, as the scheme is read
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark else ""
        raise MigrationError([f"{where}not valid YAML ({getattr(exc, 'problem', None) or exc})"], source) from None
    if not isinstance(data, dict):
        raise MigrationError(["line 1: a migration is a mapping with from, to and changes"], source)
    problems: list[str] = []
    line = getattr(data, "line", 1)
    versions = []
    for key in ("from", "to"):
        value = str(data.get(key, ""))
        if not SEMVER_PATTERN.match(value):
            problems.append(f"line {line}: `{key}` must be a version like 1.0.0, got {value!r}")
        versions.append(value)
    if not problems and semver(versions[1]) <= semver(versions[0]):
        problems.append(f"line {line}: `to` ({versions[1]}) must be a later version than `from` ({versions[0]})")
    unknown = sorted(set(map(str, data)) - {"from", "to", "changes", "notes"})
    if unknown:
        problems.append(f"line {line}: unknown key(s) {', '.join(unknown)} (a migration has from, to, changes)")
    raw = data.get("changes")
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        problems.append(f"line {line}: `changes` must be a list (it may be empty: `changes: []`)")
        raw = []
    changes = []
    for item in raw:
        change = _change(item, getattr(item, "line", line), problems)
        if change is not None:
            changes.append(change)
    if problems:
        raise MigrationError(problems, source)
    return Migration(versions[0], versions[1], tuple(changes))


def _change(item: Any, line: int, problems: list[str]) -> Change | None:
    def fail(message: str) -> None:
        problems.append(f"line {line}: {message}")

    if not isinstance(item, dict) or len(item) != 1 or next(iter(item)) not in OPS:
        fail(f"each change is one of {', '.join(OPS)} with its mapping, got {item!r}")
        return None
    op, body = next(iter(item.items()))
    if not isinstance(body, dict):
        fail(f"`{op}` needs a mapping such as {{entity_type: NAME}}, got {body!r}")
        return None
    kinds = [k for k in body if k in KINDS or k in _PLURAL]
    if "role" in kinds and "event_type" in kinds:
        kinds.remove("event_type")  # with a role, event_type says which event type's role it is
    if len(kinds) != 1:
        fail(f"`{op}` must name exactly one of entity_type, event_type, role, attribute_value (merge: event_types or "
             f"entity_types), got {sorted(map(str, body))}")
        return None
    key = kinds[0]
    kind = _PLURAL.get(key, key)
    allowed = {key, "to", "into", "event_type", "attribute", "then"}
    extra = sorted(set(map(str, body)) - allowed)
    if extra:
        fail(f"`{op}` of a {KIND_WORDS[kind]} does not take {', '.join(extra)}")
    value = body[key]
    if op == "merge":
        if key not in _PLURAL or not isinstance(value, list) or len(value) < 2:
            fail("`merge` takes event_types (or entity_types): a list of two or more names, and `into`")
            return None
        names = tuple(str(v) for v in value)
        target = body.get("into")
        if not isinstance(target, str):
            fail(f"the merge of {', '.join(names)} needs `into: NAME`")
            return None
    else:
        if key in _PLURAL or not isinstance(value, str):
            fail(f"`{op}` takes one name in {key}, got {value!r}")
            return None
        names, target = (value,), body.get("to")
    scope = body.get("event_type") if kind == "role" else None
    attribute = body.get("attribute")
    if kind == "attribute_value" and not isinstance(attribute, str):
        fail(f"`{op}` of attribute value {names[0]} needs `attribute: NAME`")
    if kind == "role" and op == "add" and not isinstance(scope, str):
        fail(f"adding role {names[0]} needs `event_type: TYPE` (the event type that gets it)")
    if op == "rename" and not isinstance(target, str):
        fail(f"renaming {KIND_WORDS[kind]} {names[0]} needs `to: NEW`")
    then, relabel = None, None
    if op == "remove":
        then, relabel = _then(body.get("then"), kind, names[0], fail)
    elif "then" in body:
        fail(f"`then` belongs to a removal, not to `{op}`")
    return Change(op, kind, names, target if op in ("rename", "merge") else None,
                  scope if isinstance(scope, str) else None,
                  attribute if isinstance(attribute, str) else None, then, relabel, line)


def _then(value: Any, kind: str, name: str, fail: Any) -> tuple[str | None, str | None]:
    if value is None:
        fail(f"the removal of {KIND_WORDS[kind]} {name} does not say what happens to the annotations that use it; "
             "add `then: {relabel: OTHER}`, `then: drop` or `then: curate`")
        return None, None
    if value in ("drop", "curate"):
        return str(value), None
    if isinstance(value, dict) and list(value) == ["relabel"] and isinstance(value["relabel"], str):
        return "relabel", value["relabel"]
    fail(f"`then` of the removal of {name} must be drop, curate or {{relabel: OTHER}}, got {value!r}")
    return None, None


def load_migrations(workspace: Workspace) -> dict[str, Migration]:
    """Every migration file of the workspace by its `from` version; `MigrationError` for a broken one."""
    found: dict[str, Migration] = {}
    folder = migrations_dir(workspace)
    for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
        migration = load_migration(path)
        if migration.source in found:
            raise MigrationError([f"{found[migration.source].path} also starts at {migration.source}; keep one"],
                                 str(path))
        found[migration.source] = migration
    return found


def migration_chain(workspace: Workspace, source: str, target: str) -> list[Migration]:
    """The migrations that lead from scheme version `source` to `target`, in order."""
    if source == target:
        return []
    if semver(source) > semver(target):
        newer = (f"records say scheme {source}, newer than labels/scheme.yaml ({target}); "
                 "update the scheme (or the toolkit's copy of it) first")
        raise MigrationError([newer], "labels/scheme.yaml")
    steps, at = [], source
    by_source = load_migrations(workspace)
    while at != target:
        step = by_source.get(at)
        if step is None or semver(step.target) > semver(target):
            missing = migration_file(workspace, at, target).relative_to(workspace.root)
            problem = (f"no migration leads from scheme {at} towards {target}: write {missing} "
                       "(its changes may be `[]` when only definitions changed)")
            raise MigrationError([problem], "labels/migrations")
        steps.append(step)
        at = step.target
    return steps


# --- checking a migration against the scheme it leads to ------------------------------------


def _names(scheme: Scheme, kind: str, change: Change) -> set[str]:
    if kind == "entity_type":
        return set(scheme.entity_names)
    if kind == "event_type":
        return set(scheme.event_names)
    if kind == "role":
        event = scheme.event(change.event_type) if change.event_type else None
        return {r.name for r in event.roles} if event else set(scheme.role_names)
    attribute = scheme.attribute(change.attribute or "")
    return set(attribute.values) if attribute else set()


def check_migration(migration: Migration, scheme: Scheme) -> list[str]:
    """What in the migration does not fit the scheme it leads to (which must be its `to` version)."""
    where = migration.path.name if migration.path else migration.name
    if migration.target != scheme.version:
        return [f"{where} leads to {migration.target}, but labels/scheme.yaml is {scheme.version}"]
    problems = []
    for change in migration.changes:
        at = f"{where} line {change.line}: {change.describe()}"
        if change.kind == "attribute_value" and scheme.attribute(change.attribute or "") is None:
            problems.append(f"{at}: the scheme has no attribute {change.attribute}")
            continue
        unknown_type = change.kind == "role" and change.event_type and scheme.event(change.event_type) is None
        if unknown_type and change.op == "add":
            problems.append(f"{at}: the scheme has no event type {change.event_type}")
            continue
        names = _names(scheme, change.kind, change)
        if change.op == "add":
            problems += [f"{at}: {n} is not in the scheme" for n in change.names if n not in names]
            continue
        kept = [n for n in change.names if n in names and n != change.target]
        if kept:
            problems.append(f"{at}: {', '.join(kept)} is still in the scheme, so annotations need no change for it")
        target = change.target
        if target is not None and target not in _names(scheme, change.kind, _scoped(change, scheme)):
            problems.append(f"{at}: {target} is not in the scheme")
    return problems


def _scoped(change: Change, scheme: Scheme) -> Change:
    """A role change whose event type was renamed in the same step is checked against every role."""
    if change.kind == "role" and change.event_type and scheme.event(change.event_type) is None:
        return Change(change.op, change.kind, change.names)
    return change


# --- applying a migration to a record --------------------------------------------------------


@dataclass(frozen=True)
class Undecided:
    """Something of an annotation the migration could not carry over on its own: for a person to decide."""

    article_id: str | None
    annotation_id: str | None
    region: str | None
    change: str
    item: dict[str, Any]
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "article_id": self.article_id,
            "annotation_id": self.annotation_id,
            "region": self.region,
            "change": self.change,
            "item": self.item,
            "reason": self.reason,
        }

    def key(self) -> str:
        return json.dumps([self.article_id, self.annotation_id, self.region, self.change], ensure_ascii=False)


@dataclass
class Outcome:
    """A record after one or more migrations."""

    record: dict[str, Any]
    changed: Counter = field(default_factory=Counter)
    """Mentions (entities, events, arguments, attribute values) each change touched, by its description."""
    undecided: list[Undecided] = field(default_factory=list)
    version_moved: bool = False

    @property
    def touched(self) -> bool:
        return bool(self.changed) or bool(self.undecided) or self.version_moved


def migrate_record(record: dict[str, Any], migrations: Iterable[Migration]) -> Outcome:
    """The record under the last migration's scheme version; the input is left as it was."""
    applier = _Applier(copy.deepcopy(record))
    steps = list(migrations)
    for migration in steps:
        for change in migration.changes:
            applier.apply(change)
        applier.merge_duplicates(migration)
    outcome = Outcome(applier.record, applier.changed, applier.undecided)
    if steps:
        outcome.version_moved = record_version(record) != steps[-1].target
        applier.record[VERSION_FIELD] = steps[-1].target
    return outcome


class _Applier:
    def __init__(self, record: dict[str, Any]) -> None:
        self.record = record
        self.entities: list[dict[str, Any]] = [e for e in record.get("entities") or [] if isinstance(e, dict)]
        self.events: list[dict[str, Any]] = [e for e in record.get("events") or [] if isinstance(e, dict)]
        self.record["entities"], self.record["events"] = self.entities, self.events
        # A role change scoped to an event type names it as the older scheme did, even if a rename came first.
        self.original = {str(e.get("id")): e.get("type") for e in self.events}
        self.changed: Counter = Counter()
        self.undecided: list[Undecided] = []

    def apply(self, change: Change) -> None:
        if change.op == "add":
            return
        if change.kind == "entity_type":
            self._regions(change, self.entities, "label")
        elif change.kind == "event_type":
            self._regions(change, self.events, "type")
        elif change.kind == "role":
            self._roles(change)
        else:
            self._values(change)

    def _set_aside(self, change: Change, region: Any, item: dict[str, Any]) -> None:
        if change.then == "curate":
            reason = f"{change.describe()}: the migration leaves it to a person to relabel or delete"
            self.undecided.append(Undecided(self.record.get("article_id"), _str(self.record.get("annotation_id")),
                                            _str(region), change.describe(), item, reason))

    def _regions(self, change: Change, regions: list[dict[str, Any]], key: str) -> None:
        target = change.target
        gone: list[dict[str, Any]] = []
        for region in regions:
            if region.get(key) not in change.names:
                continue
            self.changed[change.describe()] += 1
            if target is not None:
                region[key] = target
            else:
                gone.append(region)
        for region in gone:
            regions.remove(region)
            pointing = self._drop_arguments_to(str(region.get("id")))
            self._set_aside(change, region.get("id"), {**region, "arguments_pointing_here": pointing})

    def _drop_arguments_to(self, region_id: str) -> list[dict[str, Any]]:
        dropped = []
        for event in self.events:
            keep = []
            for argument in event.get("arguments") or []:
                if argument.get("target") == region_id:
                    dropped.append({"event": event.get("id"), **argument})
                else:
                    keep.append(argument)
            event["arguments"] = keep
        return dropped

    def _in_scope(self, change: Change, event: dict[str, Any]) -> bool:
        scope = change.event_type
        return scope is None or scope in (event.get("type"), self.original.get(str(event.get("id"))))

    def _roles(self, change: Change) -> None:
        for event in self.events:
            if not self._in_scope(change, event):
                continue
            keep = []
            for argument in event.get("arguments") or []:
                if argument.get("role") not in change.names:
                    keep.append(argument)
                    continue
                self.changed[change.describe()] += 1
                if change.target is not None:
                    argument["role"] = change.target
                    keep.append(argument)
                else:
                    self._set_aside(change, event.get("id"), {"event": event.get("id"), **argument})
            event["arguments"] = keep

    def _values(self, change: Change) -> None:
        for event in self.events:
            attributes = event.get("attributes")
            if not isinstance(attributes, dict) or attributes.get(change.attribute) not in change.names:
                continue
            self.changed[change.describe()] += 1
            if change.target is not None:
                attributes[str(change.attribute)] = change.target
            else:
                value = attributes.pop(str(change.attribute))
                self._set_aside(change, event.get("id"), {"event": event.get("id"), str(change.attribute): value})

    def merge_duplicates(self, migration: Migration) -> None:
        """Two regions a merge gave the same span and label become one; arguments follow the one kept."""
        if not any(c.op in ("merge", "rename") or c.relabel for c in migration.changes):
            return
        moved: dict[str, str] = {}
        self.entities[:] = self._unique(self.entities, lambda e: (e.get("start"), e.get("end"), e.get("label")), moved)
        self.events[:] = self._unique(self.events, _trigger_key, moved)
        if moved:
            for event in self.events:
                seen, kept = set(), []
                for argument in event.get("arguments") or []:
                    argument["target"] = moved.get(argument.get("target"), argument.get("target"))
                    key = (argument.get("role"), argument.get("target"))
                    if key not in seen:
                        seen.add(key)
                        kept.append(argument)
                event["arguments"] = kept

    def _unique(self, regions: list[dict[str, Any]], key: Any, moved: dict[str, str]) -> list[dict[str, Any]]:
        first: dict[Any, dict[str, Any]] = {}
        kept = []
        for region in regions:
            found = first.get(key(region))
            if found is None:
                first[key(region)] = region
                kept.append(region)
                continue
            moved[str(region.get("id"))] = str(found.get("id"))
            if "type" in found:
                found["arguments"] = (found.get("arguments") or []) + (region.get("arguments") or [])
                self._merge_attributes(found, region)
        return kept

    def _merge_attributes(self, kept: dict[str, Any], other: dict[str, Any]) -> None:
        mine, theirs = kept.setdefault("attributes", {}), other.get("attributes") or {}
        for name, value in theirs.items():
            if name not in mine:
                mine[name] = value
            elif mine[name] != value:
                reason = (f"two events merged into one {kept.get('type')} on the same trigger disagree on {name} "
                          f"({mine[name]} kept, {value} was the other's)")
                self.undecided.append(Undecided(self.record.get("article_id"), _str(self.record.get("annotation_id")),
                                                _str(kept.get("id")), "merge", {"event": other.get("id"), name: value},
                                                reason))


def _trigger_key(event: dict[str, Any]) -> tuple[Any, ...]:
    trigger: dict[str, Any] = event["trigger"] if isinstance(event.get("trigger"), dict) else {}
    return trigger.get("start"), trigger.get("end"), event.get("type")


def _str(value: Any) -> str | None:
    return None if value is None else str(value)
