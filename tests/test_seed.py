"""The seed corpus's gold sets: rebuilt from the recorded annotations, they give the published versions again.

1.0.0 was made from two passes that were not blind (see its card); 1.1.0 from two blind passes
under guidelines 2.0 and scheme 1.1.0, with a curator's recorded decisions. Both are replayed
through a fresh Label Studio exactly as `make demo` does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import datasets

from annotate.core.exports import validate
from annotate.core.records import iter_records
from annotate.core.settings import load_project_settings
from annotate.core.workspace import Workspace
from annotate.dataset.publish import PublishResult, publish
from annotate.labelstudio.pull import pull
from annotate.labelstudio.push import push
from annotate.quality.adjudicate import adjudicate
from annotate.quality.agreement import AgreementReport, agreement
from annotate.quality.report import save_report

from .builders import REPO, SEED_1_0_0, as_seed_1_0_0

RECORDED = REPO / "corpus" / "annotations"
DATASET = REPO / "exports" / load_project_settings(Workspace(REPO)).dataset.name
FIRST, LATEST = DATASET / "1.0.0", DATASET / "1.1.0"


def _rows(folder: Path, config: str) -> list[dict]:
    loaded = datasets.load_dataset(str(folder), config)
    # Within an article, the first pass is imported before the second in every build, so annotation
    # ids (numbers, compared as numbers) pair the rows of the same pass.
    return sorted(
        (dict(row, split=split) for split, part in loaded.items() for row in part),
        key=lambda r: (r.get("id") or r.get("article_id"), int(r.get("annotation_id") or 0)),
    )


def _same_up_to_pseudonyms(rebuilt: list[dict], published: list[dict]) -> None:
    """Pseudonyms are keyed hashes with a key local to each workspace: equal up to a one-to-one renaming."""
    assert len(rebuilt) == len(published)
    renaming: dict[str, str] = {}
    for ours, theirs in zip(rebuilt, published, strict=True):
        assert renaming.setdefault(ours["annotator"], theirs["annotator"]) == theirs["annotator"]
        strip = lambda row: {k: v for k, v in row.items() if k not in ("annotator", "annotation_id", "lead_time")}  # noqa: E731
        assert strip(ours) == strip(theirs)
    assert len(set(renaming.values())) == len(renaming)


def _data_files(manifest: dict[str, Any]) -> dict[str, str]:
    return {p: f["sha256"] for p, f in manifest["files"].items() if p.startswith("data/") and "annotations" not in p}


def _replay(
    workspace: Workspace, title: str, recorded: Path, passes: tuple[str, str], version: str, out: Path
) -> tuple[PublishResult, AgreementReport]:
    """push → the recorded passes as their accounts' work → pull → agreement → adjudicate → publish."""
    push(workspace, project=title, annotators_per_task=2)
    for name in passes:
        done = push(workspace, project=title, annotations=recorded / f"{name}.jsonl", annotator=f"{name}@seed.example")
        assert done.annotations.imported == 5 and not done.annotations.refused
    pulled = pull(workspace, project=title)
    assert pulled.total_records == 10 and not pulled.quarantined
    assert validate(pulled.records_path, workspace).valid
    before = agreement(workspace, project=title).as_dict()
    assert before["overall"]["annotators"] == 2 and before["overall"]["articles"] == 5
    assert before["against_gold"] == []

    decided = adjudicate(workspace, project=title, decisions=recorded / "curation.jsonl", curator="curator@seed.example")
    assert len(decided.gold) == 5 and not decided.awaiting_curation and not decided.invalid
    assert all(r["provenance"]["method"] in ("majority", "curator") for r in iter_records(decided.gold_path))
    with_gold = agreement(workspace, project=title)
    save_report(with_gold, workspace.agreement_dir())
    assert [row["articles"] for row in with_gold.against_gold] == [5, 5]
    return publish(workspace, version=version, out=out, project=title), with_gold


def _process(folder: Path) -> str:
    card = (folder / "README.md").read_text(encoding="utf-8")
    return card.split("### Annotation process")[1].split("Inter-annotator agreement")[0]


def test_the_blind_passes_and_curation_rebuild_the_published_1_1_0(workspace, label_studio, unique_title, tmp_path):
    rebuilt, with_gold = _replay(workspace, unique_title, RECORDED, ("pass-c", "pass-d"), "1.1.0", tmp_path / "out")
    for config in ("documents", "tokens", "windows"):
        assert _rows(rebuilt.folder, config) == _rows(LATEST, config), config
    _same_up_to_pseudonyms(_rows(rebuilt.folder, "annotations"), _rows(LATEST, "annotations"))
    ours = json.loads((rebuilt.folder / "manifest.json").read_text())
    theirs = json.loads((LATEST / "manifest.json").read_text())
    assert _data_files(ours) == _data_files(theirs)
    assert ours["scheme"]["version"] == theirs["scheme"]["version"] == "1.1.0"

    # The figures the repository states (exports/agreement/, the version's agreement.json, the
    # README, the card) come out again from a fresh Label Studio.
    committed = json.loads(next((REPO / "exports" / "agreement").glob("*.json")).read_text())
    published = json.loads((LATEST / "agreement.json").read_text())
    fresh = {row["name"]: row for row in with_gold.headline}
    for row in committed["headline"]:
        assert row in published["headline"]
        if row["name"] == "entity_gamma":  # sampled; the annotators' pseudonyms order the sampling
            assert abs(fresh[row["name"]]["value"] - row["value"]) < 0.01
        else:
            assert fresh[row["name"]] == row, row["name"]

    process = _process(rebuilt.folder)
    assert "10 annotation(s) by 2 pseudonymous annotator(s)" in process
    for name in ("pass-c", "pass-d"):
        assert f"`{name}.jsonl`: made by " in process
    assert process.count("blind (saw only the scheme, the guidelines and the article text)") == 2
    assert "guidelines 2.0; scheme 1.1.0" in process
    assert "no human has annotated or reviewed it" in process
    assert "pass-a" not in process and "pass-b" not in process


def test_the_passes_of_1_0_0_still_rebuild_it(workspace, label_studio, unique_title, tmp_path):
    as_seed_1_0_0(workspace)
    rebuilt, _ = _replay(workspace, unique_title, SEED_1_0_0, ("pass-a", "pass-b"), "1.0.0", tmp_path / "out")
    for config in ("documents", "tokens"):
        assert _rows(rebuilt.folder, config) == _rows(FIRST, config), config
    _same_up_to_pseudonyms(_rows(rebuilt.folder, "annotations"), _rows(FIRST, "annotations"))
    ours = json.loads((rebuilt.folder / "manifest.json").read_text())
    theirs = json.loads((FIRST / "manifest.json").read_text())
    # Every data file of 1.0.0 is rebuilt byte for byte; later code adds configs (windows) beside them.
    assert {p: h for p, h in _data_files(ours).items() if p in _data_files(theirs)} == _data_files(theirs)
    assert set(_data_files(ours)) - set(_data_files(theirs)) == {"data/windows/test.parquet", "data/windows/train.parquet"}
    process = _process(rebuilt.folder)
    assert "`pass-a.jsonl`: made by a language-model annotator" in process
    assert "No human annotator has reviewed" in process


def test_the_latest_seed_version_loads_in_one_line_and_its_card_quotes_its_agreement_json():
    documents = datasets.load_dataset(str(LATEST), "documents")
    assert sum(len(part) for part in documents.values()) == 5
    card = (LATEST / "README.md").read_text(encoding="utf-8")
    report = json.loads((LATEST / "agreement.json").read_text())
    for row in report["headline"]:
        if row.get("value") is not None:
            assert f"{row['value']:.3f}" in card, row["name"]
    # 1.0.0 is immutable: its card keeps the figures of the definitions it was published with.
    first = (FIRST / "README.md").read_text(encoding="utf-8")
    assert "| Entity span F1, exact (same start, end and label) | 0.995 |" in first
    assert not (FIRST / "agreement.json").exists()


def test_gold_of_the_seed_validates_without_problems():
    files = sorted((REPO / "exports" / "gold").glob("*.jsonl"))
    assert files, "the seed gold set is committed under exports/gold/"
    for path in files:
        report = validate(path, Workspace(REPO))
        assert report.valid, [str(p) for p in report.problems[:5]]
