"""`annotate score`: a system's predictions against a version's gold, through the matching core."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from annotate.quality.matching import ARGUMENT_MEASURES, ENTITY_MEASURES, TRIGGER_MEASURES
from annotate.quality.score import _parquet_rows, score
from tests.helpers import assert_no_traceback, run_cli, seed_version

TEST_ARTICLE = "f5d89058319349cd"
ALL_MEASURES = ENTITY_MEASURES + TRIGGER_MEASURES + ARGUMENT_MEASURES


@pytest.fixture
def version(offline_workspace) -> Path:
    return seed_version(offline_workspace)


def _gold(version: Path, split: str = "test") -> list[dict]:
    return list(_parquet_rows(version / "data" / "documents" / f"{split}.parquet"))


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def _counts(report, name: str) -> dict:
    m = report.system_figures["measures"][name]
    return {k: m[k] for k in ("correct", "incorrect", "partial", "missed", "spurious")}


@pytest.mark.parametrize("split", ["test", "train"])
def test_gold_against_itself_is_one_everywhere(version: Path, offline_workspace, tmp_path: Path, split: str):
    report = score(_write(tmp_path / "gold.jsonl", _gold(version, split)), dataset=version, split=split,
                   workspace=offline_workspace)
    for name in ALL_MEASURES:
        m = report.system_figures["measures"][name]
        assert (m["precision"], m["recall"], m["f1"]) == (1.0, 1.0, 1.0), name
        assert m["ci"] == [1.0, 1.0], name
        for label, row in m["by_label"].items():
            assert row["f1"] == 1.0, (name, label)
    for name, a in report.system_figures["attributes"].items():
        assert a["accuracy"] == 1.0 and a["macro_f1"] == 1.0, name
    assert report.missing == []


def test_hand_perturbed_predictions_give_the_counts_written_out(version: Path, offline_workspace, tmp_path: Path):
    (gold,) = _gold(version)
    entities, events = gold["entities"], gold["events"]
    N, E, A = len(entities), len(events), sum(len(ev["arguments"]) for ev in events)
    assert (N, E, A) == (81, 40, 64)  # the seed's test article
    targets = {a["target"] for ev in events for a in ev["arguments"]}
    spans = [(ev["trigger"]["start"], ev["trigger"]["end"]) for ev in events]
    prediction = copy.deepcopy(gold)
    # 1. One trigger moved: an event alone on its span, not the target of another event's Topic, with arguments.
    moved = next(ev for ev in prediction["events"] if spans.count((ev["trigger"]["start"], ev["trigger"]["end"])) == 1
                 and ev["id"] not in targets and len(ev["arguments"]) >= 1)
    k = len(moved["arguments"])
    taken = {i for e in entities for i in range(e["start"], e["end"])} | {i for s, e in spans for i in range(s, e)}
    text = gold["text"]
    free = next(m for m in re.finditer(r"\b[a-z]{4,}\b", text) if not taken & set(range(m.start(), m.end())))
    moved["trigger"] = {"start": free.start(), "end": free.end(), "text": free.group()}
    others = [ev for ev in prediction["events"] if ev is not moved and ev["arguments"]]
    # 2. One role changed, to another role its type allows (so the row is valid).
    onto = json.loads((version / "ontology.json").read_text())
    changed = next(ev for ev in others if len(onto["event_types"][ev["type"]]["roles"]) > 1
                   and onto["event_types"][ev["type"]]["roles"][ev["arguments"][0]["role"]] != ["EVENT"])
    old_role = changed["arguments"][0]["role"]
    changed["arguments"][0]["role"] = next(r for r, t in onto["event_types"][changed["type"]]["roles"].items()
                                           if r != old_role and t != ["EVENT"])
    # 3. One entity label swapped, on an entity no argument points at.
    swapped = next(e for e in prediction["entities"] if e["id"] not in targets)
    swapped["label"] = "ORG" if swapped["label"] != "ORG" else "PER"
    # 4. One argument dropped, from yet another event (an entity argument).
    entity_ids = {e["id"] for e in entities}
    dropped_from = next(ev for ev in others if ev is not changed and ev["arguments"][-1]["target"] in entity_ids)
    dropped_from["arguments"].pop()

    report = score(_write(tmp_path / "perturbed.jsonl", [prediction]), dataset=version, workspace=offline_workspace)
    zero = {"correct": 0, "incorrect": 0, "partial": 0, "missed": 0, "spurious": 0}
    assert _counts(report, "strict") == {**zero, "correct": N - 1, "incorrect": 1}
    assert _counts(report, "type") == {**zero, "correct": N - 1, "incorrect": 1}
    assert _counts(report, "exact") == {**zero, "correct": N}
    assert _counts(report, "partial") == {**zero, "correct": N}
    assert _counts(report, "trigger_identification") == {**zero, "correct": E - 1, "missed": 1, "spurious": 1}
    assert _counts(report, "trigger_classification") == {**zero, "correct": E - 1, "missed": 1, "spurious": 1}
    # Identification ignores roles and where the trigger is: only the dropped argument is missed.
    assert _counts(report, "argument_identification") == {**zero, "correct": A - 1, "missed": 1}
    # Classification: the dropped one is missed, the changed role is one missed and one spurious.
    assert _counts(report, "argument_classification") == {**zero, "correct": A - 2, "missed": 2, "spurious": 1}
    # Attached: the moved event's k arguments hang on an unpaired trigger, so they are missed and spurious too.
    assert _counts(report, "argument_identification_attached") == {**zero, "correct": A - 1 - k, "missed": 1 + k, "spurious": k}
    assert _counts(report, "argument_classification_attached") == {
        **zero, "correct": A - 2 - k, "missed": 2 + k, "spurious": 1 + k
    }
    strict = report.system_figures["measures"]["strict"]
    assert strict["precision"] == round((N - 1) / N, 4) and strict["f1"] == round((N - 1) / N, 4)
    assert report.system_figures["attributes"]["polarity"]["paired_events"] == E - 1


def test_attribute_accuracy_and_macro_f1_agree_with_scikit_learn(version: Path, offline_workspace, tmp_path: Path):
    from sklearn.metrics import accuracy_score, f1_score

    (gold,) = _gold(version)
    prediction = copy.deepcopy(gold)
    for event in prediction["events"][:3]:
        event["tense"] = "Past" if event["tense"] != "Past" else "Future"
    prediction["events"][3]["polarity"] = "Negative" if prediction["events"][3]["polarity"] != "Negative" else "Positive"
    report = score(_write(tmp_path / "p.jsonl", [prediction]), dataset=version, workspace=offline_workspace)
    for name in ("tense", "polarity", "modality"):
        truth = [ev[name] for ev in gold["events"]]
        guess = [ev[name] for ev in prediction["events"]]
        figures = report.system_figures["attributes"][name]
        assert figures["accuracy"] == round(accuracy_score(truth, guess), 4)
        assert figures["macro_f1"] == round(f1_score(truth, guess, average="macro"), 4)


def test_missing_articles_count_as_empty_and_are_named(version: Path, offline_workspace, tmp_path: Path):
    report = score(_write(tmp_path / "none.jsonl", []), dataset=version, workspace=offline_workspace)
    assert report.missing == [TEST_ARTICLE]
    assert _counts(report, "strict")["missed"] == 81
    result = run_cli("score", str(tmp_path / "none.jsonl"), "--dataset", str(version))
    assert result.exit_code == 0
    assert f"No prediction for 1 article(s) of the split, counted as predicted empty: {TEST_ARTICLE}" in result.stdout


def test_canonical_records_and_parquet_are_accepted(version: Path, offline_workspace, tmp_path: Path):
    gold = [json.loads(line) for line in (offline_workspace.exports / "gold").glob("*.jsonl").__next__().read_text().splitlines()]
    records = [r for r in gold if r["article_id"] == TEST_ARTICLE]
    report = score(_write(tmp_path / "records.jsonl", records), dataset=version, workspace=offline_workspace)
    assert report.system_figures["measures"]["argument_classification_attached"]["f1"] == 1.0
    folder = tmp_path / "predictions"
    folder.mkdir()
    _write(folder / "system-output.jsonl", _gold(version))
    report = score(folder, dataset=version, workspace=offline_workspace, system="from-folder")
    assert report.system_figures["measures"]["trigger_classification"]["f1"] == 1.0
    parquet = version / "data" / "documents" / "test.parquet"
    report = score(parquet, dataset=version, workspace=offline_workspace, system="from-parquet")
    assert report.system_figures["measures"]["strict"]["f1"] == 1.0


def test_bootstrap_is_reproducible_under_its_seed(version: Path, offline_workspace, tmp_path: Path):
    rows = _gold(version, "train")
    for number, row in enumerate(rows):
        row["entities"], row["events"] = row["entities"][: len(row["entities"]) // (1 + number)], []
    path = _write(tmp_path / "half.jsonl", rows)
    first = score(path, dataset=version, split="train", workspace=offline_workspace, save=False)
    second = score(path, dataset=version, split="train", workspace=offline_workspace, save=False)
    other = score(path, dataset=version, split="train", workspace=offline_workspace, save=False, seed=7)
    ci = first.system_figures["measures"]["strict"]["ci"]
    assert first.as_dict()["bootstrap"] == {"resamples": 1000, "seed": 15, "confidence": 0.95, "over": "articles"}
    assert ci == second.system_figures["measures"]["strict"]["ci"]
    # Articles recalled in different shares: the interval has width and holds the figure itself.
    assert ci[0] < first.system_figures["measures"]["strict"]["f1"] < ci[1]
    assert other.as_dict()["bootstrap"]["seed"] == 7


def test_bootstrap_draws_as_agreement_does(version: Path, offline_workspace, tmp_path: Path):
    """The system's intervals and the annotators' come from one convention: same draws, same figures."""
    from annotate.quality import agreement
    from annotate.quality.matching import compare_records
    from annotate.quality.score import Scored, bootstrap

    rows = _gold(version, "train")
    half = copy.deepcopy(rows)
    for number, row in enumerate(half):
        row["entities"], row["events"] = row["entities"][: len(row["entities"]) // (1 + number)], []
    scored = Scored([compare_records(g, h) for g, h in zip(rows, half)])
    tallies = [agreement.ArticleTally(None, {}, {}, c, {}) for c in scored.comparisons]  # type: ignore[arg-type]
    theirs = agreement.bootstrap(tallies, [], seed=agreement.BOOTSTRAP_SEED, resamples=agreement.BOOTSTRAP_RESAMPLES)
    mine = bootstrap(scored, [], seed=agreement.BOOTSTRAP_SEED, resamples=agreement.BOOTSTRAP_RESAMPLES)
    assert mine == theirs
    assert mine["strict"] is not None and mine["strict"][0] < mine["strict"][1]


def _bad(version: Path) -> dict:
    (gold,) = _gold(version)
    return copy.deepcopy(gold)


def _train_id(version: Path) -> str:
    manifest = json.loads((version / "manifest.json").read_text())
    return next(a for a, v in manifest["articles"].items() if v["split"] == "train")


BAD = {
    "unknown article": (lambda r, v: r.update(id="0000000000000000"), "unknown article id"),
    "other split": (lambda r, v: r.update(id=_train_id(v), text=None), "is in the train split, not test"),
    "offsets outside": (lambda r, v: r["entities"][0].update(start=10_000_000, end=10_000_005), "outside the text"),
    "text differs": (lambda r, v: r["entities"][0].update(text="Nothing like it"), "says 'Nothing like it' but the article has"),
    "unknown label": (lambda r, v: r["entities"][0].update(label="ANIMAL"), "unknown label 'ANIMAL'"),
    "unknown type": (lambda r, v: r["events"][0].update(type="Contact.Dance"), "unknown event type 'Contact.Dance'"),
    "unknown role": (lambda r, v: r["events"][0]["arguments"][0].update(role="Dancer"), "an unknown role 'Dancer'"),
    "role not allowed": (lambda r, v: r["events"][0]["arguments"][0].update(role="Weapon"),
                         "a role 'Weapon' that its type does not allow"),
    "argument pointing nowhere": (lambda r, v: r["events"][0]["arguments"][0].update(target="e999"),
                                  "pointing at 'e999', which is no entity or event of the row"),
    "duplicate ids": (lambda r, v: r["entities"][1].update(id=r["entities"][0]["id"]), "is used by 2 entities or events"),
    "article text differs": (lambda r, v: r.update(text="another text"), "its `text` differs"),
}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_bad_predictions_are_refused_naming_the_row_and_nothing_is_saved(version: Path, tmp_path: Path, kind: str):
    change, sentence = BAD[kind]
    row = _bad(version)
    change(row, version)
    path = _write(tmp_path / "bad.jsonl", [row])
    result = run_cli("score", str(path), "--dataset", str(version))
    assert_no_traceback(result)
    assert result.exit_code == 2, result.output
    assert "Nothing was scored" in result.stderr and "row 1 (article " in result.stderr, result.stderr
    assert sentence in result.stderr, result.stderr
    assert not (version.parent.parent / "scores").exists()  # nothing half-written


def test_duplicate_article_rows_are_refused(version: Path, tmp_path: Path):
    row = _bad(version)
    path = _write(tmp_path / "twice.jsonl", [row, row])
    result = run_cli("score", str(path), "--dataset", str(version))
    assert result.exit_code == 2
    assert f"row 2 (article {TEST_ARTICLE}): duplicate article id, also on row 1" in result.stderr


def test_score_cli_formats(version: Path, tmp_path: Path):
    path = _write(tmp_path / "gold.jsonl", _gold(version))
    markdown = run_cli("score", str(path), "--dataset", str(version), "--format", "markdown")
    assert markdown.exit_code == 0
    assert "| measure | P | R | F1 or accuracy | 95% CI | annotators vs gold | annotator vs annotator |" in markdown.stdout
    assert "| entities strict | 1.000 | 1.000 | 1.000 |" in markdown.stdout
    as_json = json.loads(run_cli("score", str(path), "--dataset", str(version), "--format", "json").stdout)
    assert as_json["headline"]["trigger_classification"]["f1"] == 1.0
    assert set(as_json["definitions"]) >= set(ALL_MEASURES)
    missing = run_cli("score", str(tmp_path / "nope.jsonl"), "--dataset", str(version))
    assert missing.exit_code == 2 and "does not exist" in missing.stderr


def test_a_split_the_version_lacks_is_refused_by_name(version: Path, tmp_path: Path):
    path = _write(tmp_path / "gold.jsonl", _gold(version))
    result = run_cli("score", str(path), "--dataset", str(version), "--split", "validation")
    assert_no_traceback(result)
    assert result.exit_code == 2
    assert "has no 'validation' split (it has test, train); pick one with --split." in result.stderr
    nowhere = run_cli("score", str(path), "--dataset", str(tmp_path))
    assert nowhere.exit_code == 2 and "is not a published version" in nowhere.stderr
