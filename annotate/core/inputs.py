"""Reading what users and servers hand the toolkit: bounded JSON and YAML, and JSON Schema checks in sentences.

Every input file (the scheme, annotate.yaml, corpus files, Label Studio exports, records)
is parsed here and checked against a schema of its own before any other code uses it, so
a value of the wrong type is a sentence naming where it is, never a traceback later on.
The parsers refuse what would take unbounded time or memory (YAML nested deeper than
`MAX_DEPTH`, YAML aliases: the "billion laughs" bomb; JSON nested deeper than the
interpreter follows) and JSON's non-standard NaN and Infinity.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Any, NamedTuple

import yaml
from jsonschema import Draft202012Validator, validators
from yaml.composer import Composer, ComposerError
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent
from yaml.resolver import Resolver

MAX_DEPTH = 64
"""Deepest nesting of lists and mappings accepted in any YAML or JSON input; real files need under ten."""
_SHOWN = 60

JSON_TYPES = ("null", "boolean", "integer", "number", "string", "array", "object")


class InputRefused(ValueError):
    """An input that is not what it should be; the message is a sentence without the file's name."""


# --- JSON ---------------------------------------------------------------------------------------


def _no_constant(name: str) -> Any:
    raise InputRefused(f"it holds {name}, which is not a JSON number (JSON has no NaN or Infinity)")


_DECODER = json.JSONDecoder(parse_constant=_no_constant)


def load_json(text: str | bytes) -> Any:
    """`json.loads` that refuses NaN and Infinity, and nesting Python cannot follow, with `InputRefused`.

    A UTF-8 byte-order mark at the start is skipped. `json.JSONDecodeError` still says where JSON syntax breaks.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    text = text.removeprefix("\ufeff")
    try:
        value = _DECODER.decode(text)  # what json.loads does, without building a decoder per call
    except RecursionError:
        raise InputRefused(
            "it nests lists or objects deeper than a file of this kind ever does (a thousand levels)"
        ) from None
    return value


# --- YAML ---------------------------------------------------------------------------------------


class _BoundedComposer(Composer):
    """Builds the YAML node tree, refusing aliases and nesting deeper than `MAX_DEPTH` before either costs anything.

    Mixed in before a parser (PyYAML's or libyaml's), which gives it `check_event` and `peek_event`.
    """

    _depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        parser: Any = self
        if parser.check_event(AliasEvent):
            raise ComposerError(
                None,
                None,
                "aliases (*name) are not allowed: write the values out in full",
                parser.peek_event().start_mark,
            )
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = parser.peek_event().start_mark
                raise ComposerError(None, None, f"nested more than {MAX_DEPTH} levels deep", mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


class BoundedLoader(_BoundedComposer, yaml.SafeLoader):
    """PyYAML's safe loader (pure Python) with the bounds above; subclass it to add constructors."""


def _fast_loader() -> type:
    """libyaml's parser under the bounded composer (most of libyaml's speed for many small front matters)."""
    try:
        # lazy and optional: PyYAML built without libyaml has no C parser
        from yaml.cyaml import CParser  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover - libyaml is part of PyYAML's wheels
        return BoundedLoader
    parser: Any = CParser

    def __init__(self: Any, stream: Any) -> None:
        parser.__init__(self, stream)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)

    return type("FastBoundedLoader", (_BoundedComposer, parser, SafeConstructor, Resolver), {"__init__": __init__})


FastBoundedLoader: type = _fast_loader()


def load_yaml(text: str, *, loader: type = FastBoundedLoader) -> Any:
    """Parse YAML safely with the bounds above; raises `yaml.YAMLError` (aliases and depth included)."""
    try:
        return yaml.load(text, Loader=loader)
    except RecursionError:
        raise ComposerError(None, None, f"nested more than {MAX_DEPTH} levels deep", None) from None


def yaml_problem(exc: yaml.YAMLError) -> str:
    """A YAML error as 'line N: problem', without PyYAML's multi-line excerpt."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f"line {mark.line + 1}: " if mark else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context, start = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context and start and mark and start.line != mark.line:
        problem += f"; {context} on line {start.line + 1}"
    return f"{where}{problem}"


# --- JSON Schema --------------------------------------------------------------------------------


def _is_integer(_checker: Any, instance: Any) -> bool:
    return isinstance(instance, int) and not isinstance(instance, bool)


def _is_number(_checker: Any, instance: Any) -> bool:
    return isinstance(instance, (int, float)) and not isinstance(instance, bool)


@cache
def strict_validator_class() -> Any:
    """Draft 2020-12 where 3.0 is not an integer: an offset or id must be a whole number as written."""
    checker = Draft202012Validator.TYPE_CHECKER.redefine_many({"integer": _is_integer, "number": _is_number})
    return validators.extend(Draft202012Validator, type_checker=checker)


@cache
def input_schema(name: str) -> dict[str, Any]:
    """One of the schemas under annotate/core/schemas/ (scheme, settings, corpus-line, export-task)."""
    text = resources.files("annotate.core").joinpath("schemas", f"{name}.schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def validator(name: str) -> Any:
    cls = strict_validator_class()
    schema = input_schema(name)
    cls.check_schema(schema)
    return cls(schema)


def json_path(path: Iterable[Any]) -> str:
    text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
    return text.lstrip(".") or "the top level"


def kind_of(value: Any) -> str:
    """The JSON type name of a Python value from a parser."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def show(value: Any) -> str:
    """A value as it would be written in JSON, cut short."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=repr)
    except (ValueError, RecursionError):
        text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


_ARTICLE = {"array": "a list", "object": "a mapping", "integer": "a whole number", "null": "null",
            "boolean": "true or false", "number": "a number", "string": "a string"}


def expected_types(schema_type: Any) -> str:
    """A JSON Schema `type` (one name or a list) as a message says it: "a whole number or null"."""
    types: list[str] = schema_type if isinstance(schema_type, list) else [schema_type]
    return " or ".join(_ARTICLE.get(t) or t for t in types)


class SchemaProblem(NamedTuple):
    path: list[Any]
    message: str
    validator: str
    """The JSON Schema keyword broken (type, required, minItems…)."""


def schema_problems(name: str, instance: Any) -> list[SchemaProblem]:
    """Every way `instance` breaks the named schema, each with its path and a sentence, shallowest first."""
    problems = []
    for error in validator(name).iter_errors(instance):
        path = list(error.absolute_path)
        where = json_path(path)
        if error.validator == "type":
            found = "null" if error.instance is None else f"{kind_of(error.instance)} {show(error.instance)}"
            message = f"{where} must be {expected_types(error.validator_value)}, not {found}"
        elif error.validator == "additionalProperties":
            message = f"{where}: {error.message}"
        elif error.validator == "propertyNames":
            message = f"{where}: the key {show(error.instance)} must be a name (a string)"
        else:
            message = f"{where}: {error.message}"
        problems.append(SchemaProblem(path, message[:300], str(error.validator)))
    return sorted(problems, key=lambda item: len(item.path))
