"""Tokens and BIO tags from character offsets: exact both ways, on crafted cases, random ones and the seed corpus."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from annotate.core.corpus import load_corpus
from annotate.dataset.tokens import Span, align, spans_from_tags, token_columns, tokenise
from annotate.core.workspace import Workspace
from tests.builders import REPO, seed_entity_spans


def test_tokens_keep_their_offsets_and_skip_whitespace() -> None:
    text = "Kim Jong Un’s train, 2023."
    tokens = tokenise(text)
    assert [t.text for t in tokens] == ["Kim", "Jong", "Un", "’", "s", "train", ",", "2023", "."]
    assert all(text[t.start : t.end] == t.text for t in tokens)


def test_a_span_inside_a_word_is_split_out_exactly() -> None:
    text = "The pro-Russian outlet and U.S.-led drills."
    spans = [Span(8, 14, "GPE"), Span(27, 31, "GPE")]  # "Russia" inside "Russian", "U.S."
    result = align(text, spans)
    tagged = [(t.text, tag) for t, tag in zip(result.tokens, result.tags) if tag != "O"]
    assert tagged == [("Russia", "B-GPE"), ("U", "B-GPE"), (".", "I-GPE"), ("S", "I-GPE"), (".", "I-GPE")]
    assert spans_from_tags(result.tokens, result.tags) == spans


def test_nested_spans_keep_the_outermost_and_count_the_rest() -> None:
    text = "the Russian Defense Ministry said"
    outer, inner = Span(4, 28, "ORG"), Span(4, 10, "GPE")
    result = align(text, [inner, outer])
    assert result.tagged == [outer] and result.dropped == [inner]
    assert result.tags == ["O", "B-ORG", "I-ORG", "I-ORG", "O"]


def test_whitespace_at_a_span_edge_is_trimmed() -> None:
    text = "met  Putin  today"
    result = align(text, [Span(4, 11, "PER")])
    assert spans_from_tags(result.tokens, result.tags) == [Span(5, 10, "PER")]


@st.composite
def text_and_spans(draw):
    text = draw(st.text(alphabet="ab ’.-é1\n", min_size=1, max_size=60))
    cuts = sorted(draw(st.sets(st.integers(0, len(text)), max_size=8)))
    spans = []
    for start, end in zip(cuts[::2], cuts[1::2]):
        if text[start:end].strip():
            spans.append(Span(start, end, draw(st.sampled_from(["PER", "GPE"]))))
    return text, spans


@settings(max_examples=300, deadline=None)
@given(text_and_spans())
def test_round_trip_on_random_text(case) -> None:
    text, spans = case
    result = align(text, spans)
    assert not result.dropped  # the spans drawn never overlap
    back = spans_from_tags(result.tokens, result.tags)
    assert back == result.tagged
    assert [text[s.start : s.end] for s in back] == [text[s.start : s.end].strip() for s in spans]


def test_round_trip_on_the_seed_articles() -> None:
    articles = load_corpus(Workspace(REPO))
    assert len(articles) >= 5
    total = 0
    for article in articles:
        spans = seed_entity_spans(article.text)
        result = align(article.text, spans)
        assert spans_from_tags(result.tokens, result.tags) == spans, article.id
        total += len(spans)
    assert total > 50


def _split_at_every_cut_first(text: str, cuts: list[int]) -> list[tuple[str, int, int]]:
    """The tokens by their definition: the text cut at every offset, then each piece split into tokens."""
    import re
    from itertools import pairwise

    points = sorted({0, len(text), *(c for c in cuts if 0 < c < len(text))})
    pattern = re.compile(r"\w+|[^\w\s]")
    return [(m.group(), m.start(), m.end()) for a, b in pairwise(points) for m in pattern.finditer(text, a, b)]


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet="ab1_ .,-’\nКимé\u00a0", max_size=40),
    st.lists(st.integers(min_value=-3, max_value=45), max_size=8),
)
def test_tokens_split_once_then_at_cuts_are_the_tokens_of_cutting_first(text: str, cuts: list[int]) -> None:
    """Publish splits the text once and then splits words at the cuts; that must be the same tokens."""
    columns = token_columns(text, cuts=cuts)
    assert list(zip(columns.texts, columns.starts, columns.ends, strict=True)) == _split_at_every_cut_first(text, cuts)
    assert [(t.text, t.start, t.end) for t in tokenise(text, cuts=cuts)] == _split_at_every_cut_first(text, cuts)


def test_a_word_cut_twice_gives_three_tokens() -> None:
    columns = token_columns("Pyongyang, 2024", cuts=[3, 6, 6, 9, 11])
    assert columns.texts == ["Pyo", "ngy", "ang", ",", "2024"]
    assert (columns.starts, columns.ends) == ([0, 3, 6, 9, 11], [3, 6, 9, 10, 15])
