"""The agreement report on hand-built records: every figure below is worked out by hand in the test."""

from __future__ import annotations

from typing import Any

import krippendorff
import numpy as np

from annotate.quality.agreement import alpha_from_coincidences, coincidences, compute_agreement

DEFAULTS = {"polarity": "Positive", "modality": "Asserted", "tense": "Unspecified"}
ENTITIES = ["PER", "ORG", "GPE", "LOC", "DATE"]
EVENTS = ["Contact.Meet", "Movement.Travel", "Transaction.Transfer"]
ROLES = ["Participant", "Traveler", "Destination", "Giver"]

VISIT = "Kim Jong Un will visit Moscow for talks."
TRIP = "Pyongyang sent a delegation on a trip to Moscow."


def at(text: str, words: str) -> tuple[int, int]:
    start = text.index(words)
    return start, start + len(words)


def ent(text: str, region: str, words: str, label: str) -> dict[str, Any]:
    start, end = at(text, words)
    return {"id": region, "start": start, "end": end, "text": words, "label": label}


def ev(text: str, region: str, words: str, kind: str, arguments=(), **attributes: str) -> dict[str, Any]:
    start, end = at(text, words)
    return {
        "id": region,
        "type": kind,
        "trigger": {"start": start, "end": end, "text": words},
        "arguments": [{"role": role, "target": target} for role, target in arguments],
        "attributes": attributes,
    }


def rec(article: str, text: str, annotator: str, entities=(), events=()) -> dict[str, Any]:
    return {
        "article_id": article,
        "annotation_id": f"{annotator}-{article}",
        "annotator": annotator,
        "cancelled": False,
        "text": text,
        "entities": list(entities),
        "events": list(events),
    }


def report_of(records: list[dict[str, Any]], **options: Any) -> dict[str, Any]:
    found = compute_agreement(
        records,
        defaults=DEFAULTS,
        entity_names=ENTITIES,
        event_names=EVENTS,
        role_names=ROLES,
        gamma=False,
        **options,
    )
    return found.as_dict()


def test_two_events_on_one_span_against_one():
    # Article 1: A puts Contact.Meet and Movement.Travel on "visit", B only Movement.Travel.
    # Article 2: both put Contact.Meet on "talks".
    records = [
        rec(
            "1",
            VISIT,
            "a",
            events=[
                ev(VISIT, "a1", "visit", "Contact.Meet"),
                ev(VISIT, "a2", "visit", "Movement.Travel"),
                ev(VISIT, "a3", "talks", "Contact.Meet"),
            ],
        ),
        rec(
            "1",
            VISIT,
            "b",
            events=[ev(VISIT, "b2", "visit", "Movement.Travel"), ev(VISIT, "b3", "talks", "Contact.Meet")],
        ),
    ]
    report = report_of(records)
    events = report["overall"]["events"]

    # Per event: A has 3, B 2; pairs Travel–Travel on "visit" and Meet–Meet on "talks"; A's Meet on
    # "visit" is unpaired. Identification and classification: 2 correct, 1 missed:
    # P = 2/2, R = 2/3, F1 = 2·2 / (3 + 2) = 0.8.
    for name in ("trigger_identification", "trigger_classification"):
        assert (events[name]["correct"], events[name]["missed"], events[name]["spurious"]) == (2, 1, 0)
        assert events[name]["f1"] == 0.8 and events[name]["recall"] == round(2 / 3, 4)
    # Event type alpha over the paired events: (Travel, Travel), (Meet, Meet); n = 4, no disagreement
    # and two values, so alpha = 1 - 3·0 / (16 - 8) = 1. (One unit per span with the first type in
    # sort order would have scored Meet against Travel: 1 - 3·2 / (16 - 10) = 0.)
    alpha = report["overall"]["alpha"]["event_type"]
    assert alpha["value"] == 1.0 and alpha["units"] == 2
    assert report["pairs"][0]["alpha"]["event_type_alpha"] == 1.0


def test_an_argument_whose_target_label_differs():
    def annotation(annotator: str, label: str) -> dict[str, Any]:
        return rec(
            "1",
            VISIT,
            annotator,
            [ent(VISIT, "e1", "Kim Jong Un", label), ent(VISIT, "e2", "Moscow", "GPE")],
            [ev(VISIT, "v1", "visit", "Movement.Travel", [("Traveler", "e1"), ("Destination", "e2")])],
        )

    report = report_of([annotation("a", "PER"), annotation("b", "ORG")])
    events = report["overall"]["events"]

    # Identification: (Travel, Kim's span), (Travel, Moscow's span) on both sides: 2 of 2.
    assert events["argument_identification"]["f1"] == 1.0
    assert events["argument_identification_attached"]["f1"] == 1.0
    # Classification adds role and target label: only Destination→Moscow GPE matches:
    # 2·1 / (2 + 2) = 0.5; Traveler is 0 of 1 + 1.
    assert events["argument_classification"]["f1"] == 0.5
    assert events["argument_classification_attached"]["f1"] == 0.5
    assert report["roles"]["Traveler"]["argument_classification"]["f1"] == 0.0
    assert report["roles"]["Destination"]["argument_classification"]["f1"] == 1.0


def test_identification_and_classification_differ():
    records = [
        rec(
            "1",
            TRIP,
            "a",
            [ent(TRIP, "e1", "Moscow", "GPE")],
            [ev(TRIP, "v1", "trip", "Movement.Travel", [("Destination", "e1")])],
        ),
        rec(
            "1",
            TRIP,
            "b",
            [ent(TRIP, "e1", "Moscow", "GPE")],
            [ev(TRIP, "v1", "trip", "Contact.Meet", [("Participant", "e1")])],
        ),
    ]
    events = report_of(records)["overall"]["events"]

    # Same trigger span: identified (1 of 1); types differ: classification 0, one incorrect.
    assert events["trigger_identification"]["f1"] == 1.0
    assert events["trigger_classification"]["f1"] == 0.0 and events["trigger_classification"]["incorrect"] == 1
    # Arguments carry the event type, so even identification fails: (Travel, Moscow) vs (Meet, Moscow).
    assert events["argument_identification"]["f1"] == 0.0


def test_three_annotators_with_a_missing_annotation():
    # Article 1 by a, b, c; article 2 by a and b only.
    records = [
        rec("1", VISIT, "a", [ent(VISIT, "1", "Kim Jong Un", "PER"), ent(VISIT, "2", "Moscow", "GPE")]),
        rec("1", VISIT, "b", [ent(VISIT, "1", "Kim Jong Un", "PER"), ent(VISIT, "2", "Moscow", "GPE")]),
        rec("1", VISIT, "c", [ent(VISIT, "1", "Kim Jong Un", "PER"), ent(VISIT, "2", "Moscow", "LOC")]),
        rec("2", TRIP, "a", [ent(TRIP, "1", "Pyongyang", "GPE")]),
        rec("2", TRIP, "b", [ent(TRIP, "1", "Pyongyang", "ORG")]),
    ]
    report = report_of(records)

    # The reliability matrix (annotators × units Kim, Moscow, Pyongyang), c missing on Pyongyang.
    matrix = np.array([[0, 1, 1], [0, 1, 2], [0, 3, np.nan]])  # PER 0, GPE 1, ORG 2, LOC 3
    by_package = krippendorff.alpha(reliability_data=matrix, level_of_measurement="nominal")
    # By hand: coincidences o(PER,PER) = 6 ordered pairs · 1/2 = 3; Moscow o(GPE,GPE) = 1,
    # o(GPE,LOC) = o(LOC,GPE) = 1; Pyongyang o(GPE,ORG) = o(ORG,GPE) = 1. n = 8;
    # n_PER = 3, n_GPE = 3, n_LOC = 1, n_ORG = 1, Σ n_c² = 20; disagreement 8 - 4 = 4.
    # alpha = 1 - 7·4 / (64 - 20) = 16/44.
    assert round(by_package, 4) == round(16 / 44, 4)
    assert report["overall"]["alpha"]["entity_label"]["value"] == round(16 / 44, 4)
    assert report["overall"]["annotators"] == 3 and report["overall"]["pairs"] == 3

    # Pairs: a·b on both articles, a·c and b·c on article 1 only.
    pairs = {tuple(p["annotators"]): p for p in report["pairs"]}
    assert {k: p["articles"] for k, p in pairs.items()} == {("a", "b"): 2, ("a", "c"): 1, ("b", "c"): 1}
    # Strict entities pooled over the three pairs: a·b 2 of 3+3, a·c 1 of 2+2, b·c 1 of 2+2:
    # 2·4 / (6 + 4 + 4) = 8/14.
    assert report["overall"]["entities"]["strict"]["f1"] == round(8 / 14, 4)
    # a·b alone: Kim, Moscow agree, Pyongyang GPE/ORG: n = 6, n_PER 2, n_GPE 3, n_ORG 1;
    # alpha = 1 - 5·2 / (36 - 14) = 12/22.
    assert pairs[("a", "b")]["alpha"]["entity_label_alpha"] == round(12 / 22, 4)


def test_the_bootstrap_is_reproducible_under_its_seed():
    records = []
    for article, label in enumerate(["GPE", "GPE", "LOC", "GPE", "ORG", "GPE"]):
        text = f"{VISIT} ({article})"
        records += [
            rec(str(article), text, "a", [ent(text, "1", "Moscow", "GPE"), ent(text, "2", "Kim Jong Un", "PER")]),
            rec(str(article), text, "b", [ent(text, "1", "Moscow", label), ent(text, "2", "Kim Jong Un", "PER")]),
        ]

    first = report_of(records, seed=7, resamples=300)
    again = report_of(records, seed=7, resamples=300)
    other = report_of(records, seed=8, resamples=300)

    assert first["bootstrap"] == {
        "definition": "ci",
        "seed": 7,
        "resamples": 300,
        "confidence": 0.95,
        "unit": "article",
    }
    assert first["headline"] == again["headline"]
    strict = first["overall"]["entities"]["strict"]
    # Strict F1: 10 of 12 + 12 → 20/24; the interval lies around it and within [0, 1].
    assert strict["f1"] == round(20 / 24, 4)
    low, high = strict["ci"]
    assert 0 <= low < strict["f1"] < high <= 1
    assert [row["ci"] for row in other["headline"]] != [row["ci"] for row in first["headline"]]


def test_alpha_from_summed_coincidences_is_the_package_alpha():
    # The bootstrap sums coincidence matrices of resampled articles; on all articles that sum must
    # give the package's alpha, or the interval would not be about the reported figure.
    units = [{"a": "x", "b": "x", "c": "y"}, {"a": "y", "b": "y"}, {"a": "x", "c": "x"}, {"b": "z", "c": "x"}]
    table = coincidences(units)
    domain = sorted({v for pair in table for v in pair})
    matrix = np.array([[table.get((r, c), 0.0) for c in domain] for r in domain])
    reliability = np.array(
        [[domain.index(u[n]) if n in u else np.nan for u in units] for n in ("a", "b", "c")], dtype=float
    )
    expected = krippendorff.alpha(reliability_data=reliability, level_of_measurement="nominal")
    assert abs((alpha_from_coincidences(matrix) or 0.0) - expected) < 1e-9


def test_a_low_attribute_alpha_on_rare_values_is_flagged():
    # 40 paired events, all Positive but one that A calls Negative and B Positive.
    text = " ".join(f"w{i}" for i in range(40))
    events_a = [
        ev(text, f"v{i}", f"w{i}", "Contact.Meet", polarity="Negative" if i == 0 else "Positive") for i in range(40)
    ]
    events_b = [ev(text, f"v{i}", f"w{i}", "Contact.Meet") for i in range(40)]
    report = report_of([rec("1", text, "a", events=events_a), rec("1", text, "b", events=events_b)])
    polarity = report["overall"]["attributes"]["polarity"]

    # n = 80 values, 1 Negative: alpha = 1 - 79·2 / (6400 - 79² - 1) = 1 - 158/158 = 0; raw agreement 39/40.
    assert polarity["alpha"] == 0.0 and polarity["raw_agreement"] == round(39 / 40, 4)
    assert polarity["values"] == {"Positive": 79, "Negative": 1}
    assert polarity["rare_values"].startswith("1 of 80 values are Negative")
    assert report["overall"]["attributes"]["modality"]["rare_values"] is None


def test_each_annotator_against_the_gold():
    gold = rec(
        "1",
        VISIT,
        "gold",
        [ent(VISIT, "1", "Kim Jong Un", "PER"), ent(VISIT, "2", "Moscow", "GPE")],
        [ev(VISIT, "3", "visit", "Movement.Travel", [("Traveler", "1")])],
    )
    a = rec(
        "1",
        VISIT,
        "a",
        [ent(VISIT, "1", "Kim Jong Un", "PER"), ent(VISIT, "2", "Moscow", "GPE")],
        [ev(VISIT, "3", "visit", "Movement.Travel", [("Traveler", "1")])],
    )
    b = rec("1", VISIT, "b", [ent(VISIT, "1", "Kim Jong Un", "PER")], [ev(VISIT, "3", "visit", "Contact.Meet")])

    rows = {row["annotator"]: row for row in report_of([a, b], gold=[gold])["against_gold"]}

    assert rows["a"]["entities"]["strict"]["f1"] == 1.0 and rows["a"]["events"]["trigger_classification"]["f1"] == 1.0
    # b: 1 of 2 gold mentions (P = 1/1, R = 1/2, F1 = 2/3); its trigger is identified, not classified.
    assert rows["b"]["entities"]["strict"]["recall"] == 0.5
    assert rows["b"]["entities"]["strict"]["f1"] == round(2 / 3, 4)
    assert rows["b"]["events"]["trigger_identification"]["f1"] == 1.0
    assert rows["b"]["events"]["trigger_classification"]["f1"] == 0.0
