"""A small, reproducible baseline: two CRFs on the `tokens` train split, predictions in the `documents` form.

    python examples/crf_baseline.py --dataset exports/nk-russia-events/1.0.0 --out crf-baseline.jsonl
    annotate score crf-baseline.jsonl --dataset exports/nk-russia-events/1.0.0

It needs no downloaded weights: one linear-chain CRF (sklearn-crfsuite) tags entity mentions
(the `ner_tags` of `tokens`), a second tags event triggers with their event type (BIO tags made
from the triggers of `documents`), both from word-shape features of a token and its neighbours.
Each predicted trigger gets, for every role of its type, the nearest predicted entity of an allowed
type within the same sentence window (a deliberately plain rule). Attributes take the scheme's
defaults. Training is deterministic (L-BFGS, fixed iterations), so a rerun gives the same file.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import sklearn_crfsuite
from datasets import ClassLabel, load_dataset

MAX_DISTANCE = 12
"""Tokens between a trigger and an argument the rule still attaches."""


def features(tokens: list[str], i: int) -> dict[str, Any]:
    word = tokens[i]
    found: dict[str, Any] = {
        "bias": 1.0,
        "lower": word.lower(),
        "suffix3": word[-3:].lower(),
        "prefix3": word[:3].lower(),
        "title": word.istitle(),
        "upper": word.isupper(),
        "digit": word.isdigit(),
        "shape": "".join("X" if c.isupper() else "x" if c.islower() else "d" if c.isdigit() else c for c in word)[:6],
    }
    for offset in (-2, -1, 1, 2):
        j = i + offset
        if 0 <= j < len(tokens):
            found[f"{offset}:lower"] = tokens[j].lower()
            found[f"{offset}:title"] = tokens[j].istitle()
        else:
            found[f"{offset}:edge"] = True
    return found


def sentence_features(tokens: list[str]) -> list[dict[str, Any]]:
    return [features(tokens, i) for i in range(len(tokens))]


def trigger_tags(row: dict[str, Any], document: dict[str, Any]) -> list[str]:
    """BIO tags of the event triggers of one article on the tokens of its `tokens` row."""
    tags = ["O"] * len(row["tokens"])
    for event in document["events"]:
        start, end = event["trigger"]["start"], event["trigger"]["end"]
        inside = [i for i, (s, e) in enumerate(zip(row["token_starts"], row["token_ends"], strict=False)) if s >= start and e <= end]
        for n, i in enumerate(inside):
            if tags[i] == "O":
                tags[i] = ("B-" if n == 0 else "I-") + event["type"]
    return tags


def spans(row: dict[str, Any], tags: list[str]) -> list[tuple[int, int, int, int, str]]:
    """(first token, last token, start, end, label) of each BIO span."""
    found: list[tuple[int, int, int, int, str]] = []
    for i, tag in enumerate(tags):
        prefix, _, label = tag.partition("-")
        continues = prefix == "I" and found and found[-1][1] == i - 1 and found[-1][4] == label
        if continues:
            first, _, start, _, _ = found[-1]
            found[-1] = (first, i, start, row["token_ends"][i], label)
        elif prefix in ("B", "I"):
            found.append((i, i, row["token_starts"][i], row["token_ends"][i], label))
    return found


def named(dataset: Any, column: str) -> Any:
    feature = dataset.features[column]
    inner = getattr(feature, "feature", feature)
    return inner.int2str if isinstance(inner, ClassLabel) else (lambda v: v)


def load(folder: str, split: str) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    tokens = load_dataset(folder, "tokens", split=split)
    documents = load_dataset(folder, "documents", split=split)
    to_tag = named(tokens, "ner_tags")
    rows = [{**row, "ner_tags": [to_tag(t) for t in row["ner_tags"]]} for row in tokens]
    event_names = documents.features["events"].feature["type"]
    docs = {}
    for document in documents:
        for event in document["events"]:
            event["type"] = event_names.int2str(event["type"])
        docs[document["id"]] = document
    return rows, docs


def ontology(folder: Path) -> dict[str, Any]:
    """The version's ontology.json; for a version older than it, the one the project's scheme gives."""
    path = folder / "ontology.json"
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    from annotate.core.scheme import load_scheme
    from annotate.dataset.textee import ontology as from_scheme

    return from_scheme(load_scheme(Path("labels/scheme.yaml")))


def train(rows: list[dict[str, Any]], targets: list[list[str]]) -> sklearn_crfsuite.CRF:
    crf = sklearn_crfsuite.CRF(algorithm="lbfgs", c1=0.1, c2=0.1, max_iterations=100, all_possible_transitions=True)
    crf.fit([sentence_features(r["tokens"]) for r in rows], targets)
    return crf


def attach(event: tuple[int, int, int, int, str], entities: list[dict[str, Any]], roles: dict[str, list[str]]) -> list[dict[str, str]]:
    """For each role, the nearest unused entity of an allowed type within MAX_DISTANCE tokens."""
    used: set[str] = set()
    arguments = []
    for role, allowed in roles.items():
        near = [
            (min(abs(e["_first"] - event[1]), abs(event[0] - e["_last"])), e["id"])
            for e in entities
            if e["label"] in allowed and e["id"] not in used
        ]
        near = [n for n in near if n[0] <= MAX_DISTANCE]
        if near:
            _, chosen = min(near)
            used.add(chosen)
            arguments.append({"role": role, "target": chosen})
    return arguments


def predict(
    entity_crf: sklearn_crfsuite.CRF, trigger_crf: sklearn_crfsuite.CRF, row: dict[str, Any], text: str, onto: dict[str, Any]
) -> dict[str, Any]:
    x = sentence_features(row["tokens"])
    entities = [
        {"id": f"e{n}", "start": s, "end": e, "text": text[s:e], "label": label, "_first": first, "_last": last}
        for n, (first, last, s, e, label) in enumerate(spans(row, entity_crf.predict_single(x)), 1)
    ]
    defaults = {name: a["default"] for name, a in onto["attributes"].items()}
    events = []
    for n, trigger in enumerate(spans(row, trigger_crf.predict_single(x)), 1):
        _, _, s, e, kind = trigger
        roles = {r: [t for t in ts if t != "EVENT"] for r, ts in onto["event_types"][kind]["roles"].items()}
        events.append(
            {
                "id": f"v{n}",
                "type": kind,
                "trigger": {"start": s, "end": e, "text": text[s:e]},
                "arguments": attach(trigger, entities, {r: ts for r, ts in roles.items() if ts}),
                **defaults,
            }
        )
    clean = [{k: v for k, v in entity.items() if not k.startswith("_")} for entity in entities]
    return {"id": row["id"], "entities": clean, "events": events}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True, help="a published version folder")
    parser.add_argument("--split", default="test", help="the split to predict (default: test)")
    parser.add_argument("--out", default="crf-baseline.jsonl", help="where the predictions go (JSON Lines)")
    args = parser.parse_args()
    train_rows, train_docs = load(args.dataset, "train")
    entity_crf = train(train_rows, [r["ner_tags"] for r in train_rows])
    trigger_crf = train(train_rows, [trigger_tags(r, train_docs[r["id"]]) for r in train_rows])
    rows, docs = load(args.dataset, args.split)
    onto = ontology(Path(args.dataset))
    with open(args.out, "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(predict(entity_crf, trigger_crf, row, docs[row["id"]]["text"], onto)) + "\n" for row in rows)
    print(f"wrote {len(rows)} prediction(s) to {args.out}; score them with: annotate score {args.out} --dataset {args.dataset}")


if __name__ == "__main__":
    main()
