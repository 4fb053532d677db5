"""The matching core on hand-built records, with the arithmetic written out, and against nervaluate."""

from __future__ import annotations

from typing import Any

from nervaluate import Evaluator

from annotate.quality.matching import (
    ENTITY_MEASURES,
    Annotation,
    Mention,
    annotation_of,
    compare,
    compare_records,
    entity_units,
    event_units,
)

TEXT = "Kim Jong Un will visit Moscow next week, Pyongyang said after talks."


def at(words: str, occurrence: int = 0) -> tuple[int, int]:
    start = -1
    for _ in range(occurrence + 1):
        start = TEXT.index(words, start + 1)
    return start, start + len(words)


def ent(region: str, words: str, label: str) -> dict[str, Any]:
    start, end = at(words)
    return {"id": region, "start": start, "end": end, "text": words, "label": label}


def ev(region: str, words: str, kind: str, arguments=(), **attributes: str) -> dict[str, Any]:
    start, end = at(words)
    return {
        "id": region,
        "type": kind,
        "trigger": {"start": start, "end": end, "text": words},
        "arguments": [{"role": role, "target": target} for role, target in arguments],
        "attributes": attributes,
    }


def record(entities=(), events=()) -> dict[str, Any]:
    return {"article_id": "x", "text": TEXT, "entities": list(entities), "events": list(events)}


DEFAULTS = {"polarity": "Positive", "modality": "Asserted", "tense": "Unspecified"}


def test_two_events_on_one_span_against_one_are_one_pair_and_one_missed_event_in_any_order():
    travel = ev("a2", "visit", "Movement.Travel", [("Traveler", "a1")], tense="Future")
    meet = ev("a3", "visit", "Contact.Meet", [("Participant", "a1")], tense="Future")
    kim = ent("a1", "Kim Jong Un", "PER")
    one = record([ent("b1", "Kim Jong Un", "PER")], [ev("b2", "visit", "Movement.Travel", [("Traveler", "b1")])])

    for order in ([travel, meet], [meet, travel]):
        result = compare_records(record([kim], order), one, DEFAULTS)
        # Triggers: Travel pairs with Travel (same type preferred), Meet stays unpaired.
        # Identification: correct 1, missed 1: P = 1/1, R = 1/2, F1 = 2·1/(1+2) = 2/3.
        ti = result.events["trigger_identification"].total
        assert (ti.correct, ti.missed, ti.spurious) == (1, 1, 0)
        assert round(ti.f1 or 0, 4) == round(2 / 3, 4) and ti.precision == 1.0 and ti.recall == 0.5
        tc = result.events["trigger_classification"].total
        assert (tc.correct, tc.incorrect, tc.missed) == (1, 0, 1)
        # Movement.Travel is never scored against Contact.Meet.
        assert result.event_confusion == {("Movement.Travel", "Movement.Travel"): 1, ("Contact.Meet", None): 1}
        # Tense is compared on the one pair only: Future against the default Unspecified.
        assert result.attributes["tense"] == {("Future", "Unspecified"): 1}
        # Arguments attached: Traveler→Kim matches under the paired Travel; Participant→Kim is missed.
        attached = result.events["argument_classification_attached"].total
        assert (attached.correct, attached.missed, attached.spurious) == (1, 1, 0)


def test_an_argument_whose_target_label_differs_is_identified_but_not_classified():
    a = record([ent("a1", "Kim Jong Un", "PER")], [ev("a2", "visit", "Movement.Travel", [("Traveler", "a1")])])
    b = record([ent("b1", "Kim Jong Un", "ORG")], [ev("b2", "visit", "Movement.Travel", [("Traveler", "b1")])])

    result = compare_records(a, b)

    # Identification: (Movement.Travel, span of Kim) on both sides: 1 of 1.
    assert result.events["argument_identification"].total.f1 == 1.0
    assert result.events["argument_identification_attached"].total.f1 == 1.0
    # Classification adds role and target label: PER ≠ ORG, so 0 correct, 1 missed, 1 spurious.
    for name in ("argument_classification", "argument_classification_attached"):
        counts = result.events[name].total
        assert (counts.correct, counts.missed, counts.spurious, counts.f1) == (0, 1, 1, 0.0)
    assert result.roles["argument_classification"].by_label["Traveler"].f1 == 0.0


def test_identification_and_classification_differ_on_a_type_swap():
    a = record([ent("a1", "Moscow", "GPE")], [ev("a2", "visit", "Movement.Travel", [("Destination", "a1")])])
    b = record([ent("b1", "Moscow", "GPE")], [ev("b2", "visit", "Contact.Meet", [("Place", "b1")])])

    result = compare_records(a, b)

    assert result.events["trigger_identification"].total.f1 == 1.0
    tc = result.events["trigger_classification"]
    # Overall one incorrect (P = 0/1, R = 0/1); per type Travel missed and Meet spurious.
    assert (tc.total.incorrect, tc.total.f1) == (1, 0.0)
    assert (tc.by_label["Movement.Travel"].missed, tc.by_label["Contact.Meet"].spurious) == (1, 1)
    # Arguments carry their event type: (Travel, Moscow) against (Meet, Moscow) do not match.
    assert result.events["argument_identification"].total.correct == 0
    assert result.events["argument_identification_attached"].total.correct == 0


def test_arguments_are_matched_per_event_when_two_events_of_one_type_share_a_span():
    # A: two Contact.Meet on "talks" (Participant Kim; Participant Pyongyang). B: one with both.
    a = record(
        [ent("a1", "Kim Jong Un", "PER"), ent("a2", "Pyongyang", "GPE")],
        [
            ev("a3", "talks", "Contact.Meet", [("Participant", "a1")]),
            ev("a4", "talks", "Contact.Meet", [("Participant", "a2")]),
        ],
    )
    b = record(
        [ent("b1", "Kim Jong Un", "PER"), ent("b2", "Pyongyang", "GPE")],
        [ev("b3", "talks", "Contact.Meet", [("Participant", "b1"), ("Participant", "b2")])],
    )

    result = compare_records(a, b)

    # Not attached (tuples over the article): both arguments match, 2 of 2 + 2.
    assert result.events["argument_classification"].total.f1 == 1.0
    # Attached: B's event pairs with one of A's two, sharing one argument; 2·1 / (2 + 2) = 0.5.
    assert result.events["argument_classification_attached"].total.f1 == 0.5


def test_entity_measures_on_the_nervaluate_definitions_and_against_nervaluate():
    # Reference and hypothesis, as in the SemEval-2013 scenarios:
    #   Kim Jong Un PER / Kim Jong Un PER         same span and label   strict, exact, partial, type all correct
    #   Moscow GPE      / Moscow LOC              same span, other label  strict incorrect, exact correct,
    #                                                                      partial correct, type incorrect
    #   next week DATE  / week DATE               overlap, same label   strict incorrect, exact incorrect,
    #                                                                      partial partial, type correct
    #   Pyongyang GPE   / (nothing)                                     missed in every measure
    #   (nothing)       / talks ORG                                     spurious in every measure
    reference = record(
        [
            ent("r1", "Kim Jong Un", "PER"),
            ent("r2", "Moscow", "GPE"),
            ent("r3", "next week", "DATE"),
            ent("r4", "Pyongyang", "GPE"),
        ]
    )
    hypothesis = record(
        [
            ent("h1", "Kim Jong Un", "PER"),
            ent("h2", "Moscow", "LOC"),
            ent("h3", "week", "DATE"),
            ent("h4", "talks", "ORG"),
        ]
    )

    result = compare_records(reference, hypothesis)
    outcomes = {m: result.entities[m].total for m in ENTITY_MEASURES}

    assert (outcomes["strict"].correct, outcomes["strict"].incorrect) == (1, 2)
    assert (outcomes["exact"].correct, outcomes["exact"].incorrect) == (2, 1)
    assert (outcomes["partial"].correct, outcomes["partial"].partial) == (2, 1)
    assert (outcomes["type"].correct, outcomes["type"].incorrect) == (2, 1)
    for counts in outcomes.values():
        assert (counts.missed, counts.spurious, counts.possible, counts.actual) == (1, 1, 4, 4)
    # strict: P = R = 1/4; partial: (2 + ½·1) / 4 = 0.625.
    assert outcomes["strict"].f1 == 0.25 and outcomes["partial"].f1 == 0.625

    def spans(rec: dict[str, Any]) -> list[list[dict[str, Any]]]:
        return [[{"label": e["label"], "start": e["start"], "end": e["end"] - 1} for e in rec["entities"]]]

    theirs = Evaluator(spans(reference), spans(hypothesis), tags=["PER", "GPE", "LOC", "DATE", "ORG"]).evaluate()
    for ours, their_name in (("strict", "strict"), ("exact", "exact"), ("partial", "partial"), ("type", "ent_type")):
        other = theirs["overall"][their_name]
        mine = outcomes[ours]
        assert (mine.correct, mine.incorrect, mine.partial, mine.missed, mine.spurious) == (
            other.correct,
            other.incorrect,
            other.partial,
            other.missed,
            other.spurious,
        ), ours
        assert round(mine.f1 or 0.0, 6) == round(other.f1, 6)


def test_partial_matching_is_optimal_not_greedy():
    # Reference "Kim Jong Un" [0, 11) and "Kim" [0, 3); hypothesis "Kim J" [0, 5) and "ng Un" [6, 11).
    # Pairing in list order (as nervaluate does) gives "Kim J" to "Kim Jong Un" and leaves "ng Un"
    # spurious and "Kim" missed; the optimal assignment pairs both: 2 partial, nothing missed.
    reference = [Mention(0, 11, "PER"), Mention(0, 3, "PER")]
    hypothesis = [Mention(0, 5, "PER"), Mention(6, 11, "PER")]

    result = compare(Annotation(tuple(reference)), Annotation(tuple(hypothesis)))

    counts = result.entities["partial"].total
    assert (counts.partial, counts.missed, counts.spurious) == (2, 0, 0)
    spans = [[{"label": m.label, "start": m.start, "end": m.end - 1} for m in side] for side in (reference, hypothesis)]
    greedy = Evaluator([spans[0]], [spans[1]], tags=["PER"]).evaluate()["overall"]["partial"]
    assert (greedy.partial, greedy.missed, greedy.spurious) == (1, 1, 1)


def test_units_across_three_annotators_with_one_missing():
    a = annotation_of(
        record([ent("a1", "Moscow", "GPE")], [ev("a2", "visit", "Movement.Travel"), ev("a3", "visit", "Contact.Meet")])
    )
    b = annotation_of(record([ent("b1", "Moscow", "LOC")], [ev("b2", "visit", "Contact.Meet")]))
    c = annotation_of(record([], [ev("c2", "visit", "Movement.Travel")]))

    events = event_units({"a": a, "b": b, "c": c})
    entities = entity_units({"a": a, "b": b, "c": c})

    as_types = sorted(sorted((name, e.type) for name, e in unit.items()) for unit in events)
    assert as_types == [
        [("a", "Contact.Meet"), ("b", "Contact.Meet")],
        [("a", "Movement.Travel"), ("c", "Movement.Travel")],
    ]
    assert [sorted((n, m.label) for n, m in unit.items()) for unit in entities] == [[("a", "GPE"), ("b", "LOC")]]


def test_comparisons_add_up_over_articles():
    a = record([ent("a1", "Moscow", "GPE")])
    b = record([ent("b1", "Moscow", "GPE"), ent("b2", "Pyongyang", "GPE")])
    total = compare_records(a, b)
    total.add(compare_records(b, b))

    strict = total.entities["strict"].total
    # Article 1: 1 correct, 1 spurious; article 2: 2 correct. Micro: 2·3 / (3 + 4) = 6/7.
    assert (strict.correct, strict.spurious, total.articles) == (3, 1, 2)
    assert strict.f1 == 6 / 7
