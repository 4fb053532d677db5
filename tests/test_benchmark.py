"""Benchmark-ready versions: sentence windows, TextEE-style files, statistics, Croissant, citation, the card."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml
from datasets import load_dataset

from annotate.core.records import iter_records
from annotate.core.scheme import current_scheme
from annotate.dataset.publish import publish
from annotate.dataset.textee import from_textee
from annotate.dataset.windows import MAX_WINDOW_TOKENS, sentence_starts
from tests.builders import REPO
from tests.helpers import run_cli, seed_version


@pytest.fixture(scope="module")
def version(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Version 1.0.0 built from the seed's gold in a throwaway copy of the project."""
    from tests.builders import copy_project_files

    workspace = copy_project_files(tmp_path_factory.mktemp("benchmark") / "project")
    return seed_version(workspace)


def _rows(folder: Path, config: str) -> list[dict]:
    return [row for path in sorted((folder / "data" / config).glob("*.parquet")) for row in pq.read_table(path).to_pylist()]


def _documents(folder: Path) -> dict[str, dict]:
    loaded = load_dataset(str(folder), "documents")
    names = loaded["train"].features["events"].feature
    out = {}
    for split in loaded.values():
        for row in split:
            for event in row["events"]:
                event["type"] = names["type"].int2str(event["type"])
                for argument in event["arguments"]:
                    argument["role"] = names["arguments"].feature["role"].int2str(argument["role"])
            out[row["id"]] = row
    return out


def test_no_window_cuts_an_entity_or_a_trigger_and_windows_rebuild_the_tokens(version: Path):
    documents = _documents(version)
    windows = _rows(version, "windows")
    tokens = {row["id"]: row for row in _rows(version, "tokens")}
    by_article: dict[str, list[dict]] = {}
    for window in windows:
        by_article.setdefault(window["article_id"], []).append(window)
    assert set(by_article) == set(documents)
    for article, parts in by_article.items():
        parts.sort(key=lambda w: w["window"])
        assert [w["window"] for w in parts] == list(range(len(parts)))
        text = documents[article]["text"]
        spans = [(e["start"], e["end"]) for e in documents[article]["entities"]]
        spans += [(ev["trigger"]["start"], ev["trigger"]["end"]) for ev in documents[article]["events"]]
        for window in parts:
            assert len(window["tokens"]) <= MAX_WINDOW_TOKENS
            assert window["text"] == text[window["start"] : window["end"]]
            assert window["id"] == f"{article}-{window['window']}"
            for start, end in spans:
                # Each span lies wholly inside or wholly outside every window.
                assert end <= window["start"] or start >= window["end"] or window["start"] <= start < end <= window["end"]
        joined = [t for w in parts for t in w["tokens"]]
        assert joined == tokens[article]["tokens"]
        assert [s for w in parts for s in w["token_starts"]] == tokens[article]["token_starts"]
        assert len(parts) > 1  # the seed articles (400-1,000 words) need several windows each


def test_windows_follow_the_sentences_sentencex_finds():
    import sentencex

    text = "Kim met Putin in Vladivostok. They discussed arms. Mr. Shoigu’s visit to Pyongyang 🚀 was in July."
    lengths = [len(s) for s in sentencex.segment("en", text)]
    starts = sentence_starts(text)
    assert starts == [lengths[0], lengths[0] + lengths[1]]
    assert text[starts[1] :].startswith("Mr. Shoigu")  # "Mr." does not end a sentence; offsets are code points


def test_textee_file_round_trips_to_the_triggers_and_arguments_of_documents(version: Path):
    documents = _documents(version)
    lines = []
    for path in sorted((version / "textee").glob("*.jsonl")):
        lines += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert {line["doc_id"] for line in lines} == set(documents)
    back = from_textee(lines)
    for article, document in documents.items():
        def entities(items):
            return sorted((e["start"], e["end"], e["label"], e["text"]) for e in items)

        def events(items, spans):
            return sorted(
                (ev["type"], ev["trigger"]["start"], ev["trigger"]["end"],
                 tuple(sorted((a["role"], spans[a["target"]]) for a in ev["arguments"])))
                for ev in items
            )

        def spans_of(record):
            found = {e["id"]: (e["start"], e["end"], e["label"]) for e in record["entities"]}
            found.update({ev["id"]: (ev["trigger"]["start"], ev["trigger"]["end"], ev["type"]) for ev in record["events"]})
            return found

        label_names = load_dataset(str(version), "documents")["train"].features["entities"].feature["label"]
        gold_entities = [{**e, "label": label_names.int2str(e["label"])} for e in document["entities"]]
        gold = {"entities": gold_entities, "events": document["events"]}
        assert entities(back[article]["entities"]) == entities(gold_entities)
        assert events(back[article]["events"], spans_of(back[article])) == events(gold["events"], spans_of(gold))
    # TextEE's own fields: token offsets end-exclusive, arguments by entity_id and role, ids resolve in the window.
    for line in lines:
        ids = {m["id"]: m for m in line["entity_mentions"]}
        for mention in line["entity_mentions"]:
            assert " ".join(line["tokens"][mention["start"] : mention["end"]]).replace(" ", "") == mention["text"].replace(" ", "")
        for event in line["event_mentions"]:
            trigger = event["trigger"]
            assert "".join(line["tokens"][trigger["start"] : trigger["end"]]) == trigger["text"].replace(" ", "")
            for argument in event["arguments"]:
                assert argument["entity_id"] in ids and ids[argument["entity_id"]]["start"] == argument["start"]


def test_ontology_file_gives_roles_allowed_types_and_plover(version: Path, offline_workspace):
    onto = json.loads((version / "ontology.json").read_text(encoding="utf-8"))
    scheme = current_scheme(offline_workspace)
    assert onto["event_types"]["Movement.Travel"]["plover"] == "CONSULT"
    assert onto["event_types"]["Movement.Travel"]["roles"]["Traveler"] == ["PER", "ORG"]
    assert onto["event_types"]["Agreement.Commit"]["roles"]["Topic"] == ["EVENT"]
    assert set(onto["event_types"]) == set(scheme.event_names)


def test_statistics_per_split_in_manifest_and_card_match_the_rows(version: Path):
    manifest = json.loads((version / "manifest.json").read_text(encoding="utf-8"))
    stats = manifest["statistics"]
    documents = _documents(version)
    splits = {a: v["split"] for a, v in manifest["articles"].items()}
    for split, figures in stats.items():
        mine = [d for a, d in documents.items() if splits[a] == split]
        assert figures["documents"] == len(mine)
        assert figures["entity_mentions"] == sum(len(d["entities"]) for d in mine)
        assert figures["event_mentions"] == sum(len(d["events"]) for d in mine)
        assert figures["arguments"] == sum(len(ev["arguments"]) for d in mine for ev in d["events"])
        assert figures["windows"] == sum(1 for w in _rows(version, "windows") if splits[w["article_id"]] == split)
        assert figures["tokens"] == sum(len(t["tokens"]) for t in _rows(version, "tokens") if splits[t["id"]] == split)
        assert sum(figures["event_mentions_per_type"].values()) == figures["event_mentions"]
    gold = [r for r in iter_records(REPO / "exports" / "gold" / "north-korea-russia-summits-and-arms-deals.jsonl")]
    assert sum(s["entity_mentions"] for s in stats.values()) == sum(len(r["entities"]) for r in gold) == 491
    assert sum(s["event_mentions"] for s in stats.values()) == sum(len(r["events"]) for r in gold) == 192
    card = (version / "README.md").read_text(encoding="utf-8")
    assert "## Statistics" in card
    assert f"| event mentions | {stats['train']['event_mentions']} | {stats['test']['event_mentions']} |" in card


def test_croissant_validates_and_loads_its_records_offline(version: Path):
    import mlcroissant as mlc

    dataset = mlc.Dataset(jsonld=str(version / "croissant.json"))
    assert not dataset.metadata.ctx.issues.errors, dataset.metadata.ctx.issues.report()
    assert not dataset.metadata.ctx.issues.warnings, dataset.metadata.ctx.issues.report()
    records = list(dataset.records("documents"))
    assert len(records) == 5
    by_id = {r["documents/id"].decode(): r for r in records}
    manifest = json.loads((version / "manifest.json").read_text(encoding="utf-8"))
    assert {a: by_id[a]["documents/split"].decode() for a in by_id} == {a: v["split"] for a, v in manifest["articles"].items()}
    windows = list(dataset.records("windows"))
    assert len(windows) == sum(s["windows"] for s in manifest["statistics"].values())
    metadata = dataset.metadata
    for field in ("data_collection", "data_annotation_protocol", "annotations_per_item", "annotator_demographics",
                  "data_biases", "personal_sensitive_information"):
        assert getattr(metadata, field), field
    assert "pseudonym" in " ".join(metadata.personal_sensitive_information)


def test_citation_cff_and_bibtex_come_from_annotate_yaml(version: Path):
    from pybtex.database import parse_string

    cff = yaml.safe_load((version / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff["cff-version"] == "1.2.0" and cff["type"] == "dataset"
    assert cff["version"] == "1.0.0" and cff["license"] == "CC-BY-4.0"
    assert cff["authors"] == [{"name": "annotate project maintainers"}]
    assert cff["title"] == "North Korea - Russia summits and arms deals - entities and events"
    card = (version / "README.md").read_text(encoding="utf-8")
    entry = card.split("```bibtex\n", 1)[1].split("```", 1)[0]
    parsed = parse_string(entry, "bibtex")
    ((_, item),) = parsed.entries.items()
    assert item.fields["version"] == "1.0.0"
    assert "North Korea - Russia summits" in item.fields["title"]
    assert "CITATION.cff" in card and "croissant.json" in card


def test_card_load_lines_name_the_hub_only_when_set(version: Path, offline_workspace):
    card = (version / "README.md").read_text(encoding="utf-8")
    assert "ORG/NAME" not in card
    assert 'load_dataset("exports/nk-russia-events/1.0.0", "windows")' in card
    settings = offline_workspace.root / "annotate.yaml"
    settings.write_text(settings.read_text(encoding="utf-8").replace("hub_repo: null", "hub_repo: example-org/nk-events"))
    hub = seed_version(offline_workspace, "2.0.0")
    card = (hub / "README.md").read_text(encoding="utf-8")
    assert 'load_dataset("example-org/nk-events", "documents", revision="v2.0.0")' in card
    assert "ORG/NAME" not in card
    cff = yaml.safe_load((hub / "CITATION.cff").read_text(encoding="utf-8"))
    assert cff["url"] == "https://huggingface.co/datasets/example-org/nk-events"


def test_card_says_what_textee_cannot_carry(version: Path):
    card = (version / "README.md").read_text(encoding="utf-8")
    manifest = json.loads((version / "manifest.json").read_text(encoding="utf-8"))
    assert "`event_arguments`" in card and "`outside_arguments`" in card and "`attributes`" in card
    topic = manifest["label_counts"]["roles"]["Topic"]
    assert manifest["textee"]["arguments_pointing_at_events"] == topic
    assert f"by the other event's id ({topic} in this version)" in card


def test_next_seed_version_card_has_statistics_citation_and_the_baseline_row(offline_workspace, tmp_path: Path):
    """The researcher's path: publish, train the baseline, predict, score; the next version's card shows it."""
    first = seed_version(offline_workspace, "1.0.0")
    predictions = tmp_path / "crf-baseline.jsonl"
    env_path = f"{REPO}"
    done = subprocess.run(
        [sys.executable, str(REPO / "examples" / "crf_baseline.py"), "--dataset", str(first), "--out", str(predictions)],
        check=False, capture_output=True, text=True, timeout=600, cwd=offline_workspace.root,
        env={**os.environ, "PYTHONPATH": env_path},
    )
    assert done.returncode == 0, done.stderr
    result = run_cli("score", str(predictions), "--dataset", str(first), "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["system"] == "crf-baseline" and report["missing"] == []
    assert 0 < report["headline"]["strict"]["f1"] < 1
    assert (offline_workspace.exports / "scores" / "crf-baseline.json").is_file()
    again = subprocess.run(
        [sys.executable, str(REPO / "examples" / "crf_baseline.py"), "--dataset", str(first), "--out", str(tmp_path / "b.jsonl")],
        check=False, capture_output=True, text=True, timeout=600, cwd=offline_workspace.root,
        env={**os.environ, "PYTHONPATH": env_path},
    )
    assert again.returncode == 0 and (tmp_path / "b.jsonl").read_text() == predictions.read_text()  # reproducible

    second = publish(offline_workspace, bump="patch").folder
    card = (second / "README.md").read_text(encoding="utf-8")
    assert "## Statistics" in card and "## Citation" in card and "@misc{" in card
    benchmark = card.split("## Benchmark", 1)[1].split("\n## ", 1)[0]
    strict = report["headline"]["strict"]["f1"]
    human = report["human"]["annotators vs gold"]["strict"]["f1"]
    assert "| F1 on `test` | crf-baseline | annotators vs gold | annotator vs annotator |" in benchmark
    assert f"| entities, strict | {strict:.3f}" in benchmark and f"{human:.3f}" in benchmark
    manifest = json.loads((second / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["scores"][0]["system"] == "crf-baseline"


@pytest.mark.parametrize("limit", [5, 17, 40])
def test_small_window_limits_still_cut_no_span(limit: int):
    """Sentences longer than the limit are cut between tokens, never inside a mention or a trigger."""
    from annotate.core.records import iter_records
    from annotate.dataset.windows import article_tokens, windows

    for record in iter_records(next((REPO / "exports" / "gold").glob("*.jsonl"))):
        document = {"id": record["article_id"], "text": record["text"], "entities": record["entities"],
                    "events": record["events"]}
        tokens, _, _ = article_tokens(document)
        found = windows(document, tokens, limit=limit)
        assert [w.first for w in found] == [0, *(w.last for w in found[:-1])] and found[-1].last == len(tokens)
        spans = [(e["start"], e["end"]) for e in record["entities"]]
        spans += [(ev["trigger"]["start"], ev["trigger"]["end"]) for ev in record["events"]]
        for window in found:
            start, end = tokens[window.first].start, tokens[window.last - 1].end
            assert all(e <= start or s >= end or start <= s < e <= end for s, e in spans)
            if window.last - window.first > limit:  # only a single span longer than the limit may do this
                inside = [(s, e) for s, e in spans if start <= s and e <= end]
                assert any(sum(1 for t in tokens if s <= t.start < e) > limit for s, e in inside)
