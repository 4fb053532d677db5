"""Publish writes the same files however fast it builds them.

Rows go to Arrow column by column, with no per-row encoded copy, and records stamped valid by
pull are not validated again; the files must be the bytes that encoding each row through
`datasets` and `Table.from_pylist` wrote.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pyarrow as pa
import pytest

from annotate.core import validated
from annotate.core.errors import PublishError
from annotate.core.scheme import current_scheme
from annotate.core.settings import load_project_settings
from annotate.core.workspace import Workspace
from annotate.dataset import publish as publish_module
from annotate.dataset.publish import publish
from annotate.dataset.rows import BATCH_ROWS, SplitWriter
from tests.builders import REPO
from tests.test_publish import write_gold_and_records

_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?")


def _encode_each_row_through_datasets(self: SplitWriter, rows: list[dict]) -> pa.Table:
    """How batches were made before: `Features.encode_example` on every row, then `Table.from_pylist`."""
    return pa.Table.from_pylist([self.features.encode_example(row) for row in rows], schema=self.schema)


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _without_times(body: bytes, folder: Path) -> bytes:
    """The text with its timestamps, and the folder it was published to, masked."""
    text = body.decode("utf-8").replace(str(folder.parent), "<out>")
    return _TIMESTAMP.sub("<time>", text).encode("utf-8")


def _manifest_without_timed_checksums(body: bytes, timed: set[str], folder: Path) -> bytes:
    """The manifest, leaving out the checksums of files that differ only by their timestamps."""
    manifest = json.loads(body)
    for name in timed:
        manifest["files"][name].pop("sha256")
    return _without_times(json.dumps(manifest, sort_keys=True).encode("utf-8"), folder)


def _assert_same_version(new: Path, old: Path) -> None:
    ours, theirs = _files(new), _files(old)
    assert sorted(ours) == sorted(theirs)
    assert any(name.endswith(".parquet") for name in ours)
    timed = {name for name, body in ours.items() if body != theirs[name] and name != "manifest.json"}
    manifest = _manifest_without_timed_checksums(ours.pop("manifest.json"), timed, new)
    assert manifest == _manifest_without_timed_checksums(theirs["manifest.json"], timed, old)
    for name, body in ours.items():
        if name.endswith(".parquet"):
            assert body == theirs[name], f"{name} differs from what per-row encoding writes"
        else:
            same = _without_times(body, new) == _without_times(theirs[name], old)
            assert same, f"{name} differs beyond its timestamps"


def _publish_both(ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    new = publish(ws, version="1.0.0", out=tmp_path / "new").folder
    with monkeypatch.context() as patch:
        patch.setattr(SplitWriter, "table", _encode_each_row_through_datasets)
        old = publish(ws, version="1.0.0", out=tmp_path / "old").folder
    return new, old


def test_published_files_are_byte_identical_to_per_row_encoding(offline_workspace: Workspace, tmp_path, monkeypatch):
    write_gold_and_records(offline_workspace)
    new, old = _publish_both(offline_workspace, tmp_path, monkeypatch)
    _assert_same_version(new, old)


def test_rows_of_many_batches_and_every_label_are_byte_identical(offline_workspace: Workspace, tmp_path, monkeypatch):
    """Several parquet batches per split, and every entity label, event type, role and attribute value used."""
    ws = offline_workspace
    write_gold_and_records(ws)
    scheme = current_scheme(ws)
    slug = load_project_settings(ws).project_slug
    records = [json.loads(line) for line in ws.records_path(slug).read_text(encoding="utf-8").splitlines()]
    base = records[1]
    many = []
    for number in range(3 * BATCH_ROWS):
        record = json.loads(json.dumps(base))
        record["annotation_id"] = f"many-{number}"
        record["lead_time"] = None if number % 7 == 0 else number / 3
        targets = {a["target"] for event in record["events"] for a in event["arguments"]}
        for n, entity in enumerate(e for e in record["entities"] if e["id"] not in targets):
            entity["label"] = scheme.entity_names[(number + n) % len(scheme.entity_names)]
        many.append(record)
    ws.records_path(slug).write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records + many), encoding="utf-8"
    )
    new, old = _publish_both(ws, tmp_path, monkeypatch)
    _assert_same_version(new, old)


def _count_validations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls = [0]
    real = publish_module.validate_record

    def counting(record, scheme):
        calls[0] += 1
        return real(record, scheme)

    monkeypatch.setattr(publish_module, "validate_record", counting)
    return calls


def test_records_stamped_valid_are_not_validated_again(offline_workspace: Workspace, monkeypatch):
    ws = offline_workspace
    write_gold_and_records(ws)
    scheme = current_scheme(ws)
    slug = load_project_settings(ws).project_slug
    for path in (ws.records_path(slug), ws.gold_path(slug)):
        validated.mark_valid(ws, path, scheme)
    calls = _count_validations(monkeypatch)
    publish(ws, version="1.0.0")
    assert calls[0] == 0


def test_unstamped_records_are_each_validated_once(offline_workspace: Workspace, monkeypatch):
    """A ground truth is both an annotation row and a gold document: it is validated once, not twice."""
    ws = offline_workspace
    write_gold_and_records(ws)
    slug = load_project_settings(ws).project_slug
    index = publish_module.index_gold(ws.records_path(slug), ws.gold_path(slug))
    records = len(ws.records_path(slug).read_text(encoding="utf-8").splitlines())
    from_gold_file = len(set(index.adjudicated) - set(index.ground_truth))
    assert index.ground_truth and from_gold_file
    calls = _count_validations(monkeypatch)
    publish(ws, version="1.0.0")
    assert calls[0] == records + from_gold_file


def test_a_records_file_edited_after_it_was_stamped_is_validated_and_refused(offline_workspace: Workspace, monkeypatch):
    ws = offline_workspace
    write_gold_and_records(ws)
    scheme = current_scheme(ws)
    slug = load_project_settings(ws).project_slug
    path = ws.records_path(slug)
    validated.mark_valid(ws, path, scheme)
    validated.mark_valid(ws, ws.gold_path(slug), scheme)
    lines = path.read_text(encoding="utf-8").splitlines()
    broken = json.loads(lines[1])
    broken["entities"][0]["label"] = "NOT-A-LABEL"
    path.write_text("\n".join([lines[0], json.dumps(broken), *lines[2:]]) + "\n", encoding="utf-8")
    calls = _count_validations(monkeypatch)
    with pytest.raises(PublishError) as refused:
        publish(ws, version="1.0.0")
    assert "NOT-A-LABEL" in str(refused.value) and calls[0] > 0
    assert not (ws.exports / load_project_settings(ws).dataset.name / "1.0.0").exists()


def test_a_changed_scheme_voids_the_stamp(offline_workspace: Workspace):
    ws = offline_workspace
    write_gold_and_records(ws)
    scheme = current_scheme(ws)
    path = ws.records_path(load_project_settings(ws).project_slug)
    validated.mark_valid(ws, path, scheme)
    assert validated.known_valid(ws, path, scheme)
    text = ws.scheme_path.read_text(encoding="utf-8")
    ws.scheme_path.write_text(text.replace(f"version: {scheme.version}", "version: 99.0.0", 1), encoding="utf-8")
    assert current_scheme(ws).version == "99.0.0"
    assert not validated.known_valid(ws, path, current_scheme(ws))


def test_stricter_checks_void_the_stamp(offline_workspace: Workspace, monkeypatch):
    """A file stamped valid by checks that accepted, say, a label 5, is checked again once the checks refuse it."""
    ws = offline_workspace
    write_gold_and_records(ws)
    scheme = current_scheme(ws)
    path = ws.records_path(load_project_settings(ws).project_slug)
    validated.mark_valid(ws, path, scheme)
    assert validated.known_valid(ws, path, scheme)
    monkeypatch.setattr(validated, "RULES_VERSION", validated.RULES_VERSION + 1)
    assert not validated.known_valid(ws, path, scheme)


# --- the committed seed version ---------------------------------------------------------------

SEED_VERSION = "1.1.0"
_NOT_FROM_THE_GOLD = ("published_at", "source_commit", "source_has_uncommitted_changes", "guidelines_sha256")


def _seed_workspace(root: Path) -> Workspace:
    """The repository's project as committed: corpus, scheme, records, gold, agreement, scores, 1.0.0, not 1.1.0."""
    for name in ("labels", "guidelines", "corpus"):
        shutil.copytree(REPO / name, root / name)
    shutil.copy2(REPO / "annotate.yaml", root / "annotate.yaml")
    dataset = load_project_settings(Workspace(REPO)).dataset.name
    shutil.copytree(REPO / "exports", root / "exports", ignore=lambda folder, names: [
        n for n in names if Path(folder).name == dataset and n == SEED_VERSION
    ])
    return Workspace(root)


def test_publishing_the_committed_seed_gold_gives_the_committed_files_byte_for_byte(tmp_path, monkeypatch):
    """Every data file of 1.1.0 (parquet of all four configs, TextEE), the ontology, citation, Croissant and
    agreement files, and what the manifest says of the data.

    The annotations parquet carries the records' pseudonyms; published from the committed
    records they are the committed ones, so it is compared too. (Replayed through a fresh
    Label Studio, as tests/test_seed.py does, pseudonyms are keyed per workspace and differ.)
    The card is prose that follows the code and quotes the guidelines as they are now (both
    move on after a version is published), so it is left out here; the tests above compare
    it with what the per-row path writes.
    """
    monkeypatch.delenv("LABEL_STUDIO_URL", raising=False)
    ws = _seed_workspace(tmp_path / "project")
    committed = REPO / "exports" / load_project_settings(ws).dataset.name / SEED_VERSION
    result = publish(ws, version=SEED_VERSION, project=load_project_settings(ws).project)
    ours, theirs = _files(result.folder), _files(committed)
    assert sorted(ours) == sorted(theirs)
    data = [name for name in ours if name.startswith(("data/", "textee/"))]
    assert len([n for n in data if n.endswith(".parquet")]) == 8 and any("annotations" in n for n in data)
    for name in data:
        assert ours[name] == theirs[name], f"{name} differs from the committed {SEED_VERSION}"
    manifests = [json.loads(body) for body in (ours["manifest.json"], theirs["manifest.json"])]
    # The day of publishing is in the citation and Croissant: masked as the timestamps are.
    days = [manifest["published_at"][:10] for manifest in manifests]
    for name in sorted(set(ours) - {"manifest.json", "README.md"} - set(data)):
        texts = [body.decode("utf-8").replace(day, "<day>") for body, day in zip((ours[name], theirs[name]), days)]
        assert texts[0] == texts[1], f"{name} differs from the committed {SEED_VERSION} beyond the day"
    for manifest in manifests:
        for key in _NOT_FROM_THE_GOLD:
            manifest.pop(key)
        manifest["files"].pop("README.md")
    assert manifests[0] == manifests[1]
