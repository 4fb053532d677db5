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


def seed_version(workspace, version: str = "1.0.0"):
    """Publish the seed's committed gold and records in a throwaway workspace; return the version folder."""
    import shutil

    from annotate.dataset.publish import publish
    from tests.builders import REPO

    for name in ("records", "gold"):
        if not (workspace.exports / name).exists():
            shutil.copytree(REPO / "exports" / name, workspace.exports / name)
    return publish(workspace, version=version).folder
