"""Docs that check themselves: every command has help text and a line in the README's command reference."""

from __future__ import annotations

import re

import typer.main

from annotate.cli import app

from .builders import REPO
from .helpers import run_cli


def _commands(group=None, prefix=""):
    group = group or typer.main.get_command(app)
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        if hasattr(command, "commands"):
            yield path, command
            yield from _commands(command, prefix=f"{path} ")
        else:
            yield path, command


def _reference() -> str:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    match = re.search(r"^## Command reference\n(.*?)(?=^## )", readme, re.S | re.M)
    assert match, "README.md needs a '## Command reference' section"
    return match.group(1)


def test_every_command_has_help_text():
    missing = [path for path, command in _commands() if not (command.help or "").strip()]
    assert missing == []


def test_every_command_is_in_the_readme_reference():
    reference = _reference()
    missing = [path for path, _ in _commands() if f"annotate {path}" not in reference]
    assert missing == []


def test_help_runs_for_every_command():
    for path, _ in _commands():
        result = run_cli(*path.split(), "--help")
        assert result.exit_code == 0, (path, result.output)
        assert "Usage" in result.stdout
