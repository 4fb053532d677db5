"""The labelling scheme (labels/scheme.yaml): loaded, checked line by line, and queried.

Every other description of the labels (Label Studio config, JSON Schema, dataset
features, guideline tables) is derived from a `Scheme` in `annotate.derive`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from annotate.core.errors import SchemeError, WorkspaceError
from annotate.core.inputs import BoundedLoader, schema_problems, yaml_problem
from annotate.core.workspace import Workspace

EVENT_TARGET = "EVENT"
"""A role target meaning: another event's trigger (used by `Topic`)."""

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]*$")
_SEMVER = re.compile(r"^\d+\.\d+\.\d+$")
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")
# Keys the Label Studio editor already binds; a label hotkey must not shadow them.
RESERVED_HOTKEYS = frozenset({"u", "h", "escape", "backspace", "delete", "ctrl+enter", "ctrl+space", "ctrl+z"})


@dataclass(frozen=True)
class EntityType:
    name: str
    definition: str
    hotkey: str | None = None
    color: str | None = None


@dataclass(frozen=True)
class Role:
    name: str
    targets: tuple[str, ...]
    """Allowed entity types, expanded from groups, or `EVENT` for another event's trigger."""
    written_targets: tuple[str, ...]
    """The targets as written in the scheme, groups unexpanded (for tables)."""


@dataclass(frozen=True)
class EventType:
    name: str
    definition: str
    plover: str
    roles: tuple[Role, ...]
    hotkey: str | None = None
    color: str | None = None

    def role(self, name: str) -> Role | None:
        return next((r for r in self.roles if r.name == name), None)


@dataclass(frozen=True)
class Attribute:
    name: str
    values: tuple[str, ...]
    default: str
    definition: str


@dataclass(frozen=True)
class Scheme:
    name: str
    version: str
    groups: dict[str, tuple[str, ...]]
    entities: tuple[EntityType, ...]
    events: tuple[EventType, ...]
    attributes: tuple[Attribute, ...]

    @cached_property
    def entity_names(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.entities)

    @cached_property
    def event_names(self) -> tuple[str, ...]:
        return tuple(e.name for e in self.events)

    @cached_property
    def role_names(self) -> tuple[str, ...]:
        """Every role name once, in order of first appearance."""
        return tuple(dict.fromkeys(r.name for e in self.events for r in e.roles))

    @cached_property
    def attribute_names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.attributes)

    def event(self, name: str) -> EventType | None:
        return next((e for e in self.events if e.name == name), None)

    def attribute(self, name: str) -> Attribute | None:
        return next((a for a in self.attributes if a.name == name), None)

    def defaults(self) -> dict[str, str]:
        return {a.name: a.default for a in self.attributes}


class _LineDict(dict):
    """A YAML mapping that remembers the line it started on."""

    line: int = 0


class SchemeLoader(BoundedLoader):
    """The bounded safe loader (no aliases, bounded depth) that also refuses duplicate and non-name keys."""


def _construct_mapping(loader: SchemeLoader, node: yaml.MappingNode) -> _LineDict:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            raise yaml.constructor.ConstructorError(
                None, None, "a key must be a plain name, not a list or mapping", key_node.start_mark
            )
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    mapping = _LineDict(loader.construct_mapping(node, deep=True))
    mapping.line = node.start_mark.line + 1
    return mapping


SchemeLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


_BUILT: dict[str, Scheme] = {}
"""Schemes this process built, by the text they were built from (the latest few)."""
_BUILT_KEPT = 8


def load_scheme(path: Path) -> Scheme:
    """Read and check a scheme file; raise `SchemeError` listing every problem with its line.

    The file is read every time; a text this process already built a scheme from is not
    parsed and checked again (a `Scheme` is never changed once built).
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SchemeError([f"file not found: {path}"], str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SchemeError([f"cannot be read: {exc}"], str(path)) from None
    scheme = _BUILT.get(text)
    if scheme is None:
        scheme = parse_scheme(text, source=str(path))
        while len(_BUILT) >= _BUILT_KEPT:
            _BUILT.pop(next(iter(_BUILT)), None)
        _BUILT[text] = scheme
    return scheme


def parse_scheme(text: str, *, source: str = "labels/scheme.yaml") -> Scheme:
    try:
        data = yaml.load(text, Loader=SchemeLoader)
    except yaml.YAMLError as exc:
        raise SchemeError([_located(yaml_problem(exc))], source) from None
    if not isinstance(data, _LineDict):
        raise SchemeError(["line 1: the scheme must be a mapping with entities, events and attributes"], source)
    shape = [
        f"line {_line_of(data, p.path)}: {p.message}"
        for p in schema_problems("scheme", data)
        if p.validator not in _BUILDER_EXPLAINS
    ]
    if shape:
        raise SchemeError(shape, source)
    builder = _Builder(data)
    scheme = builder.build()
    if builder.problems:
        raise SchemeError(builder.problems, source)
    return scheme


_BUILDER_EXPLAINS = {"required", "minItems"}
"""Schema keywords whose breaches the builder below names in the scheme's own words ("PER needs a definition")."""


def _located(problem: str) -> str:
    """'line N: problem' → 'line N: not valid YAML (problem)'."""
    if not problem.startswith("line "):
        return f"not valid YAML ({problem})"
    where, _, rest = problem.partition(": ")
    return f"{where}: not valid YAML ({rest})"


def _line_of(data: Any, path: list[Any]) -> int:
    """The line of the deepest mapping on `path` (mappings remember where they start)."""
    line = getattr(data, "line", 1)
    for step in path:
        try:
            data = data[step]
        except (KeyError, IndexError, TypeError):
            break
        line = getattr(data, "line", line)
    return line


class _Builder:
    """Turns the parsed YAML into a Scheme, collecting every problem instead of stopping at the first."""

    def __init__(self, data: _LineDict) -> None:
        self.data = data
        self.problems: list[str] = []
        self.labels: dict[str, int] = {}
        self.attributes: dict[str, int] = {}
        self.hotkeys: dict[str, tuple[str, int]] = {}

    def fail(self, line: int, message: str) -> None:
        self.problems.append(f"line {line}: {message}")

    def build(self) -> Scheme:
        version = str(self.data.get("version", ""))
        if not _SEMVER.match(version):
            self.fail(self.data.line, f"version must look like 1.0.0, got {version!r}")
        groups = self._groups()
        entities = tuple(self._entity(item) for item in self._list("entities"))
        known = {e.name for e in entities}
        for group, members in groups.items():
            for member in members:
                if member not in known:
                    self.fail(self.data.line, f"group {group} names unknown entity type {member!r}")
        events = tuple(self._event(item, groups, known) for item in self._list("events"))
        attributes = tuple(self._attribute(item) for item in self._list("attributes"))
        return Scheme(
            name=str(self.data.get("name", "")),
            version=version,
            groups=groups,
            entities=entities,
            events=events,
            attributes=attributes,
        )

    def _list(self, key: str) -> list[_LineDict]:
        items = self.data.get(key)
        if not isinstance(items, list) or not items:
            self.fail(self.data.line, f"{key} must be a non-empty list")
            return []
        good: list[_LineDict] = []
        for item in items:
            if isinstance(item, _LineDict):
                good.append(item)
            else:
                self.fail(self.data.line, f"every item of {key} must be a mapping, got {item!r}")
        return good

    def _groups(self) -> dict[str, tuple[str, ...]]:
        raw = self.data.get("groups") or {}
        if not isinstance(raw, dict):
            self.fail(self.data.line, "groups must map a group name to a list of entity types")
            return {}
        return {str(k): tuple(str(m) for m in (v or [])) for k, v in raw.items()}

    def _name(self, item: _LineDict, kind: str) -> str:
        name = item.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            self.fail(item.line, f"{kind} name {name!r} must start with a letter and use letters, digits, . _ -")
            return str(name)
        if name == EVENT_TARGET:
            self.fail(item.line, f"{name} is reserved for roles that point at another event")
        elif name in self.labels:
            self.fail(item.line, f"duplicate label {name!r} (first defined on line {self.labels[name]})")
        else:
            self.labels[name] = item.line
        return name

    def _definition(self, item: _LineDict, name: str) -> str:
        definition = item.get("definition")
        if not isinstance(definition, str) or not definition.strip():
            self.fail(item.line, f"{name} needs a one-line definition")
            return ""
        return " ".join(definition.split())

    def _look(self, item: _LineDict, name: str) -> tuple[str | None, str | None]:
        hotkey = item.get("hotkey")
        if hotkey is not None:
            hotkey = str(hotkey).lower()
            if hotkey in RESERVED_HOTKEYS:
                self.fail(item.line, f"hotkey {hotkey!r} of {name} clashes with a Label Studio editor key")
            elif hotkey in self.hotkeys:
                other, line = self.hotkeys[hotkey]
                self.fail(item.line, f"hotkey {hotkey!r} of {name} clashes with {other} (line {line})")
            else:
                self.hotkeys[hotkey] = (name, item.line)
        color = item.get("color")
        if color is not None and not _COLOR.match(str(color)):
            self.fail(item.line, f"color of {name} must look like #1a2b3c, got {color!r}")
        return hotkey, color

    def _entity(self, item: _LineDict) -> EntityType:
        name = self._name(item, "entity type")
        hotkey, color = self._look(item, name)
        return EntityType(name, self._definition(item, name), hotkey, color)

    def _event(self, item: _LineDict, groups: dict[str, tuple[str, ...]], known: set[str]) -> EventType:
        name = self._name(item, "event type")
        hotkey, color = self._look(item, name)
        plover = item.get("plover")
        if not isinstance(plover, str) or not plover.isupper():
            self.fail(item.line, f"{name} needs its PLOVER category in capitals, got {plover!r}")
        roles: list[Role] = []
        for raw in item.get("roles") or []:
            role = self._role(raw, name, item.line, groups, known)
            if role.name in {r.name for r in roles}:
                self.fail(getattr(raw, "line", item.line), f"{name} has role {role.name} twice")
            roles.append(role)
        if not roles:
            self.fail(item.line, f"{name} needs at least one role")
        return EventType(name, self._definition(item, name), str(plover), tuple(roles), hotkey, color)

    def _role(self, raw: Any, event: str, line: int, groups: dict[str, tuple[str, ...]], known: set[str]) -> Role:
        line = getattr(raw, "line", line)
        if not isinstance(raw, dict):
            self.fail(line, f"a role of {event} must be a mapping with name and targets, got {raw!r}")
            return Role(str(raw), (), ())
        name = str(raw.get("name", ""))
        if not _NAME.match(name):
            self.fail(line, f"role name {name!r} of {event} must start with a letter")
        written = tuple(str(t) for t in (raw.get("targets") or []))
        if not written:
            self.fail(line, f"role {name} of {event} needs targets")
        targets: list[str] = []
        for target in written:
            if target in groups:
                targets.extend(groups[target])
            elif target in known or target == EVENT_TARGET:
                targets.append(target)
            else:
                self.fail(line, f"role {name} of {event} points at unknown type {target!r}")
        return Role(name, tuple(dict.fromkeys(targets)), written)

    def _attribute(self, item: _LineDict) -> Attribute:
        name = str(item.get("name", ""))
        if not _NAME.match(name) or name in ("entity", "trigger", "text"):
            self.fail(item.line, f"attribute name {name!r} is not allowed")
        elif name in self.attributes:
            self.fail(item.line, f"duplicate attribute {name!r} (first defined on line {self.attributes[name]})")
        else:
            self.attributes[name] = item.line
        values = tuple(str(v) for v in (item.get("values") or []))
        if len(values) < 2:
            self.fail(item.line, f"attribute {name} needs at least two values")
        if len(set(values)) != len(values):
            self.fail(item.line, f"attribute {name} lists a value twice")
        default = str(item.get("default", ""))
        if default not in values:
            self.fail(item.line, f"default {default!r} of attribute {name} is not one of its values {list(values)}")
        return Attribute(name, values, default, self._definition(item, name))

def current_scheme(workspace: Workspace) -> Scheme:
    """The workspace's scheme, checked."""
    if not workspace.scheme_path.exists():
        raise WorkspaceError(f"{workspace.scheme_path} is missing.")
    return load_scheme(workspace.scheme_path)
