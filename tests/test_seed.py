"""The seed corpus's gold set: rebuilt from the recorded annotations, it gives the published 1.0.0 again."""

from __future__ import annotations

import json

import datasets

from annotate.quality.adjudicate import adjudicate
from annotate.quality.agreement import agreement
from annotate.quality.report import save_report
from annotate.dataset.publish import publish
from annotate.labelstudio.pull import pull
from annotate.labelstudio.push import push
from annotate.core.records import iter_records
from annotate.core.settings import load_project_settings
from annotate.core.exports import validate
from annotate.core.workspace import Workspace

from .builders import REPO

RECORDED = REPO / "corpus" / "annotations"
PUBLISHED = REPO / "exports" / load_project_settings(Workspace(REPO)).dataset.name / "1.0.0"
CONFIGS = ("documents", "tokens", "annotations")


def _rows(folder, config: str) -> list[dict]:
    loaded = datasets.load_dataset(str(folder), config)
    # Within an article, pass-a is imported before pass-b in every build, so annotation ids
    # (numbers, compared as numbers) pair the rows of the same pass.
    return sorted(
        (dict(row, split=split) for split, part in loaded.items() for row in part),
        key=lambda r: (r.get("id") or r.get("article_id"), int(r.get("annotation_id") or 0)),
    )


def _same_up_to_pseudonyms(rebuilt: list[dict], published: list[dict]) -> None:
    """Pseudonyms are keyed hashes with a key local to each workspace: equal up to a one-to-one renaming."""
    assert len(rebuilt) == len(published)
    renaming: dict[str, str] = {}
    for ours, theirs in zip(rebuilt, published):
        assert renaming.setdefault(ours["annotator"], theirs["annotator"]) == theirs["annotator"]
        strip = lambda row: {k: v for k, v in row.items() if k not in ("annotator", "annotation_id", "lead_time")}  # noqa: E731
        assert strip(ours) == strip(theirs)
    assert len(set(renaming.values())) == len(renaming)


def test_recorded_passes_and_curation_rebuild_the_published_version(workspace, label_studio, unique_title, tmp_path):
    push(workspace, project=unique_title, annotators_per_task=2)
    for name in ("pass-a", "pass-b"):
        done = push(workspace, project=unique_title, annotations=RECORDED / f"{name}.jsonl", annotator=f"{name}@seed.example")
        assert done.annotations.imported == 5 and not done.annotations.refused
    pulled = pull(workspace, project=unique_title)
    assert pulled.total_records == 10 and not pulled.quarantined
    assert validate(pulled.records_path, workspace).valid

    report = agreement(workspace, project=unique_title).as_dict()
    assert report["overall"]["annotators"] == 2 and report["overall"]["articles"] == 5
    assert report["against_gold"] == []

    decided = adjudicate(
        workspace, project=unique_title, decisions=RECORDED / "curation.jsonl", curator="curator@seed.example"
    )
    assert len(decided.gold) == 5 and not decided.awaiting_curation and not decided.invalid
    # With gold, each annotator is also scored against it; the figures the repository states
    # (exports/agreement/, the README) come out again from a fresh Label Studio.
    with_gold = agreement(workspace, project=unique_title)
    save_report(with_gold, workspace.agreement_dir())
    assert [row["articles"] for row in with_gold.against_gold] == [5, 5]
    committed = json.loads(next((REPO / "exports" / "agreement").glob("*.json")).read_text())
    fresh = {row["name"]: row for row in with_gold.headline}
    for row in committed["headline"]:
        if row["name"] == "entity_gamma":  # sampled; the annotators' pseudonyms order the sampling
            assert abs(fresh[row["name"]]["value"] - row["value"]) < 0.01
        else:
            assert fresh[row["name"]] == row, row["name"]
    gold = list(iter_records(decided.gold_path))
    assert all(r["provenance"]["method"] in ("majority", "curator") for r in gold)

    rebuilt = publish(workspace, version="1.0.0", out=tmp_path / "out", project=unique_title)
    for config in ("documents", "tokens"):
        assert _rows(rebuilt.folder, config) == _rows(PUBLISHED, config), config
    _same_up_to_pseudonyms(_rows(rebuilt.folder, "annotations"), _rows(PUBLISHED, "annotations"))

    assert json.loads((rebuilt.folder / "agreement.json").read_text())["headline"] == with_gold.as_dict()["headline"]
    ours = json.loads((rebuilt.folder / "manifest.json").read_text())
    theirs = json.loads((PUBLISHED / "manifest.json").read_text())
    data_files = lambda m: {p: f["sha256"] for p, f in m["files"].items() if p.startswith("data/") and "annotations" not in p}  # noqa: E731
    # Every data file of 1.0.0 is rebuilt byte for byte; later code adds configs (windows) beside them.
    assert {p: h for p, h in data_files(ours).items() if p in data_files(theirs)} == data_files(theirs)
    assert set(data_files(ours)) - set(data_files(theirs)) == {"data/windows/test.parquet", "data/windows/train.parquet"}

    # The card says how the seed was made from what the workspace records, not from a fixed note.
    process = (rebuilt.folder / "README.md").read_text(encoding="utf-8").split("### Annotation process")[1]
    process = process.split("Inter-annotator agreement")[0]
    assert "10 annotation(s) by 2 pseudonymous annotator(s)" in process
    assert sorted(ours["annotation"]["annotators"].values(), key=str) == [
        {"annotations": 5, "timed": 0, "untimed": 5, "cancelled": 0}
    ] * 2
    assert "`pass-a.jsonl`: made by a language-model annotator" in process
    assert "curation, `curation.jsonl`: made by a curator, also a language-model annotator" in process
    assert "No human annotator has reviewed" in process
    (curator,) = ours["annotation"]["decided_by"]["curator"]
    assert f"Curator decisions by 1 pseudonymous account(s): `{curator}`" in process


def test_published_seed_dataset_loads_in_one_line_with_its_agreement_in_the_card():
    documents = datasets.load_dataset(str(PUBLISHED), "documents")
    assert sum(len(part) for part in documents.values()) == 5
    card = (PUBLISHED / "README.md").read_text(encoding="utf-8")
    # 1.0.0 is immutable: its card keeps the figures of the definitions it was published with
    # (before per-event matching and target labels); later versions carry agreement.json.
    assert "| Entity span F1, exact (same start, end and label) | 0.995 |" in card
    assert "| Event argument F1 (same role, trigger and argument) | 0.965 |" in card
    assert "Annotators compared | 2 |" in card
    assert not (PUBLISHED / "agreement.json").exists()


def test_gold_of_the_seed_validates_without_problems():
    gold = PUBLISHED.parent.parent / "gold"
    files = sorted(gold.glob("*.jsonl"))
    assert files, "the seed gold set is committed under exports/gold/"
    for path in files:
        report = validate(path, Workspace(REPO))
        assert report.valid, [str(p) for p in report.problems[:5]]
