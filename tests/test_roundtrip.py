"""Property tests: Label Studio results ⇄ canonical records, with non-ASCII and non-BMP text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from annotate.core.records import record_to_results, results_to_record
from annotate.core.scheme import EVENT_TARGET, load_scheme
from annotate.core.validate import validate_record

SCHEME = load_scheme(Path(__file__).resolve().parent.parent / "labels" / "scheme.yaml")
ATTRIBUTES = SCHEME.attribute_names

# Words from several scripts; emoji and other characters outside the BMP take two UTF-16 units each.
WORD = st.text(
    alphabet=st.sampled_from("abcxyzKPé中文ПхеньянŞ😀🚀🇰🇵𝔘"),
    min_size=1,
    max_size=8,
)
SEPARATOR = st.sampled_from([" ", ", ", " — ", "\n", " 🤝 ", "。"])


@st.composite
def texts(draw) -> tuple[str, list[tuple[int, int]]]:
    """A text and the code-point (start, end) of each of its words."""
    words = draw(st.lists(WORD, min_size=1, max_size=12))
    prefix = draw(st.sampled_from(["", "😀 ", "🇰🇵 ", "Пхеньян: "]))
    text, spans = prefix, []
    for word in words:
        if spans:
            text += draw(SEPARATOR)
        spans.append((len(text), len(text) + len(word)))
        text += word
    return text, spans


def _span(text: str, where: tuple[int, int]) -> dict[str, Any]:
    return {"start": where[0], "end": where[1], "text": text[where[0] : where[1]]}


@st.composite
def records(draw) -> dict[str, Any]:
    """A record that is valid for the scheme: spans on words, allowed roles, targets and attributes."""
    text, words = draw(texts())
    entity_keys = draw(
        st.lists(st.tuples(st.sampled_from(words), st.sampled_from(SCHEME.entity_names)), max_size=8, unique=True)
    )
    entities = [{"id": f"e{n}", **_span(text, w), "label": label} for n, (w, label) in enumerate(entity_keys)]
    trigger_keys = draw(
        st.lists(st.tuples(st.sampled_from(words), st.sampled_from(SCHEME.event_names)), max_size=4, unique=True)
    )
    events = []
    for n, (where, kind) in enumerate(trigger_keys):
        attributes = draw(
            st.fixed_dictionaries({}, optional={a.name: st.sampled_from(a.values) for a in SCHEME.attributes})
        )
        events.append(
            {"id": f"v{n}", "type": kind, "trigger": _span(text, where), "arguments": [], "attributes": attributes}
        )
    for event in events:
        for role in SCHEME.event(event["type"]).roles:
            targets = [e["id"] for e in entities if e["label"] in role.targets]
            if EVENT_TARGET in role.targets:
                targets += [v["id"] for v in events if v is not event]
            if targets and draw(st.booleans()):
                event["arguments"].append({"role": role.name, "target": draw(st.sampled_from(targets))})
    return {
        "article_id": draw(st.text(alphabet="abcdef0123456789-", min_size=1, max_size=12)),
        "annotation_id": str(draw(st.integers(1, 10**6))),
        "task_id": draw(st.integers(1, 10**6)),
        "annotator": draw(st.text(alphabet="0123456789abcdef", min_size=16, max_size=16)),
        "ground_truth": draw(st.booleans()),
        "cancelled": draw(st.booleans()),
        "lead_time": draw(st.none() | st.floats(0, 1e5)),
        "text": text,
        "entities": entities,
        "events": events,
    }


def _canonical(results: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(item, sort_keys=True, ensure_ascii=False) for item in results)


@settings(max_examples=150, deadline=None)
@given(records())
def test_generated_valid_records_pass_validation(record: dict[str, Any]) -> None:
    assert validate_record(record, SCHEME) == []


@settings(max_examples=150, deadline=None)
@given(records())
def test_record_to_results_and_back_is_the_same_record(record: dict[str, Any]) -> None:
    entities, events, problems = results_to_record(record_to_results(record), attribute_names=ATTRIBUTES)
    assert problems == []
    assert entities == record["entities"]
    assert events == record["events"]
    for entity in entities:
        assert record["text"][entity["start"] : entity["end"]] == entity["text"]


@settings(max_examples=150, deadline=None)
@given(records(), st.randoms(use_true_random=False))
def test_results_in_any_order_give_the_same_record_and_back(record: dict[str, Any], random) -> None:
    results = record_to_results(record)
    shuffled = list(results)
    random.shuffle(shuffled)
    entities, events, problems = results_to_record(shuffled, attribute_names=ATTRIBUTES)
    assert problems == []
    rebuilt = {**record, "entities": entities, "events": events}
    assert _canonical(record_to_results(rebuilt)) == _canonical(results)
    assert sorted(e["id"] for e in entities) == sorted(e["id"] for e in record["entities"])
    assert validate_record(rebuilt, SCHEME) == []


def _utf16(text: str, index: int) -> int:
    return len(text[:index].encode("utf-16-le")) // 2


@settings(max_examples=150, deadline=None)
@given(records())
def test_offsets_counted_in_utf16_units_are_named_as_such(record: dict[str, Any]) -> None:
    text = record["text"]
    shifted = [e for e in record["entities"] if _utf16(text, e["start"]) != e["start"]]
    for entity in shifted:
        entity["start"], entity["end"] = _utf16(text, entity["start"]), _utf16(text, entity["end"])
    problems = validate_record(record, SCHEME)
    # A repeated word can stand at the shifted offsets too; then those offsets are simply right.
    # Slicing clamps, so a shifted end past the text must count as wrong by itself.
    wrong = {e["id"] for e in shifted if e["end"] > len(text) or text[e["start"] : e["end"]] != e["text"]}
    assert {p.region for p in problems if p.code == "utf16-offsets"} == wrong
    assert {p.code for p in problems} <= {"utf16-offsets", "duplicate-span"}
