"""Small helpers shared by the tests."""

from __future__ import annotations

from typer.testing import CliRunner

from annotate.cli import app


def run_cli(*args: str, input: str | None = None):
    """Run the `annotate` CLI in-process; stdout and stderr are kept apart."""
    result = CliRunner().invoke(app, list(args), input=input, catch_exceptions=True)
    return result


def assert_no_traceback(result) -> None:
    assert "Traceback" not in result.output, result.output
    assert "Traceback" not in (result.stderr or ""), result.stderr
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
