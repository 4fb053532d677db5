"""`annotate init`: a new dataset gets a project folder of its own, and commands inside it need no --project."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from annotate.core.settings import load_project_settings
from annotate.core.workspace import Workspace, find_workspace
from tests.helpers import assert_no_traceback, run_cli

from .builders import REPO

SEED_SETTINGS = yaml.safe_load((REPO / "annotate.yaml").read_text(encoding="utf-8"))


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder outside any project, with no ANNOTATE_WORKSPACE: what a maintainer starts from."""
    monkeypatch.delenv("ANNOTATE_WORKSPACE", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_init_makes_a_project_folder_with_its_own_names_and_no_seed_notes(elsewhere, monkeypatch):
    monkeypatch.setenv("ANNOTATE_WORKSPACE", str(REPO))  # "the current project": the seed
    result = run_cli("init", str(elsewhere / "ukraine-talks"))
    assert result.exit_code == 0, result.output
    root = elsewhere / "ukraine-talks"
    monkeypatch.delenv("ANNOTATE_WORKSPACE")

    assert (root / "labels" / "scheme.yaml").read_bytes() == (REPO / "labels" / "scheme.yaml").read_bytes()
    for generated in ("label_config.xml", "record.schema.json"):
        assert (root / "labels" / generated).read_text() == (REPO / "labels" / generated).read_text()
    assert sorted(p.name for p in (root / "corpus").iterdir()) == [".gitkeep"]
    assert ".annotate/" in (root / ".gitignore").read_text()

    settings = load_project_settings(Workspace(root))
    assert settings.project == "Ukraine talks" and settings.dataset.name == "ukraine-talks"
    assert settings.project != SEED_SETTINGS["project"]
    text = (root / "annotate.yaml").read_text()
    assert "machine-generated]" not in text and "language-model" not in text
    assert list(settings.dataset.annotations_creators) == ["expert-generated"]

    guidelines = (root / "guidelines" / "annotation-guidelines.md").read_text()
    assert guidelines.startswith("# Annotation guidelines: Ukraine talks\n")
    assert "| `PER` |" in guidelines and "North Korea" not in guidelines.split("<!-- generated:entities -->")[0]
    # How to work in Label Studio holds for any project of this scheme: those sections come along, first.
    seed_guidelines = (REPO / "guidelines" / "annotation-guidelines.md").read_text()
    tool = [h for h in re.findall(r"^## (.+)$", seed_guidelines, re.M) if re.search(r"label studio|label here", h, re.I)]
    assert tool, "the seed's guidelines have a section on labelling in Label Studio"
    for heading in tool:
        plain = re.sub(r"^[\d.]+\s+", "", heading)
        assert f"\n## {plain}\n\n" in guidelines
        assert guidelines.index(plain) < guidelines.index("## 1. Entities")

    # Inside the new folder every command finds it by itself, and its files are up to date.
    monkeypatch.chdir(root / "guidelines")
    assert find_workspace().root == root
    check = run_cli("scheme", "--check")
    assert check.exit_code == 0, check.output
    listing = run_cli("corpus", "list")
    assert listing.exit_code == 0 and "0 article(s)" in listing.stdout


def test_init_from_a_given_scheme_with_chosen_names(elsewhere):
    scheme = yaml.safe_load((REPO / "labels" / "scheme.yaml").read_text())
    scheme["name"], scheme["version"] = "Port calls", "0.1.0"
    source = elsewhere / "port-scheme.yaml"
    source.write_text(yaml.safe_dump(scheme, sort_keys=False))
    result = run_cli(
        "init", "ports", "--from-scheme", str(source), "--project", "Port calls 2025", "--dataset", "port-calls"
    )
    assert result.exit_code == 0, result.output
    root = elsewhere / "ports"
    settings = load_project_settings(Workspace(root))
    assert (settings.project, settings.dataset.name, settings.dataset.pretty_name) == (
        "Port calls 2025",
        "port-calls",
        "Port calls 2025",
    )
    assert yaml.safe_load((root / "labels" / "scheme.yaml").read_text())["name"] == "Port calls"
    guidelines = (root / "guidelines" / "annotation-guidelines.md").read_text()
    assert "scheme version 0.1.0" in guidelines and "Label Studio" not in guidelines.split("## 1.")[0]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["init", "taken"], "already exists and is not empty"),
        (["init", "fresh"], "--from-scheme FILE"),
        (["init", "fresh", "--from-scheme", "missing.yaml"], "is not a file"),
        (["init", "fresh", "--from-scheme", "broken.yaml"], "problem(s)"),
        (["init", "fresh", "--from-scheme", "broken.yaml", "--dataset", "raw"], "cannot be a folder under exports/"),
        (["init", "ab"], "3 to 50 characters"),
    ],
)
def test_init_refuses_what_it_cannot_make_in_one_sentence(elsewhere, args, message):
    (elsewhere / "taken").mkdir()
    (elsewhere / "taken" / "notes.txt").write_text("someone's work")
    (elsewhere / "broken.yaml").write_text("name: x\nversion: 1.0.0\nentities: [{name: PER}, {name: PER}]\n")
    result = run_cli(*args)
    assert_no_traceback(result)
    assert result.exit_code != 0
    assert message in result.stderr
    assert not (elsewhere / "fresh").exists() and not (elsewhere / "ab").exists()
    assert (elsewhere / "taken" / "notes.txt").read_text() == "someone's work"
