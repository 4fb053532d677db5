"""Tokens and BIO tags from character-offset entity spans, and spans back from tags.

The alignment is exact by construction: every start and end of a tagged span is made a
token boundary before the text is split into words and punctuation, so a span never
begins or ends inside a token. Tokens keep their character offsets, so a tagged span
maps back to `text[start:end]` without guessing.

BIO cannot express nested or overlapping spans: of those, the outermost (then earliest)
is tagged and the rest are counted as dropped. Whitespace at the edge of a span carries
no token, so a span is tagged as its trimmed self.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from itertools import accumulate
from dataclasses import dataclass
from collections.abc import Iterable

# A word (letters, digits, underscore) or one punctuation mark; whitespace is never a token.
_TOKEN = re.compile(r"\w+|[^\w\s]")
_PIECES = re.compile(f"({_TOKEN.pattern})")
OUTSIDE = "O"


@dataclass(frozen=True)
class Token:
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    label: str


@dataclass
class Alignment:
    tokens: list[Token]
    tags: list[str]
    tagged: list[Span]
    dropped: list[Span]


@dataclass
class TokenColumns:
    """An article's tokens as three parallel lists (what the `tokens` and `windows` configs store)."""

    texts: list[str]
    starts: list[int]
    ends: list[int]


def token_columns(text: str, *, cuts: Iterable[int] = ()) -> TokenColumns:
    """The tokens of `tokenise` as columns, made without a `Token` object per token.

    The text is split once; a word that crosses a cut is then split there. Only words can
    cross a cut (a punctuation token is one character), and the pieces of a run of word
    characters cut at an offset are the words the pattern finds on either side of it, so
    this gives exactly the tokens of splitting the text at every cut first.
    """
    # Split around the tokens: whitespace gaps and tokens alternate, so the running sum of the
    # pieces' lengths gives every token's start and end.
    pieces = _PIECES.split(text)
    texts = pieces[1::2]
    offsets = list(accumulate(map(len, pieces)))
    starts, ends = offsets[0:-1:2], offsets[1::2]
    for cut in sorted({c for c in cuts if 0 < c < len(text)}):
        index = bisect_right(starts, cut) - 1
        if index >= 0 and cut < ends[index] and starts[index] < cut:
            starts.insert(index + 1, cut)
            ends.insert(index + 1, ends[index])
            ends[index] = cut
            texts[index : index + 1] = [text[starts[index] : cut], text[cut : ends[index + 1]]]
    return TokenColumns(texts, starts, ends)


def tokenise(text: str, *, cuts: Iterable[int] = ()) -> list[Token]:
    """Words and punctuation marks of `text`, never crossing any offset in `cuts`."""
    columns = token_columns(text, cuts=cuts)
    return [Token(*token) for token in zip(columns.texts, columns.starts, columns.ends, strict=True)]


def trim(text: str, span: Span) -> Span | None:
    """The span without whitespace at either edge; None when nothing but whitespace is left."""
    start, end = span.start, span.end
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return Span(start, end, span.label) if start < end else None


def flat_spans(text: str, spans: Iterable[Span]) -> tuple[list[Span], list[Span]]:
    """(spans BIO can tag, spans it cannot): outermost first, then earliest; the rest dropped."""
    trimmed: list[Span] = []
    dropped: list[Span] = []
    for span in spans:
        clean = trim(text, span)
        (trimmed if clean else dropped).append(clean or span)
    kept: list[Span] = []
    for span in sorted(trimmed, key=lambda s: (s.start, -(s.end - s.start), s.label)):
        if kept and span.start < kept[-1].end:
            dropped.append(span)
        else:
            kept.append(span)
    return kept, dropped


@dataclass
class ColumnAlignment:
    """`Alignment` with its tokens as columns."""

    columns: TokenColumns
    tags: list[str]
    tagged: list[Span]
    dropped: list[Span]


def align_columns(text: str, spans: Iterable[Span], *, cuts: Iterable[int] = ()) -> ColumnAlignment:
    """Tokens of `text` (as columns) with one BIO tag each, from character-offset spans.

    `cuts` are further offsets that must be token boundaries (spans BIO drops, event triggers).
    """
    kept, dropped = flat_spans(text, spans)
    columns = token_columns(text, cuts=[*cuts, *(offset for span in kept for offset in (span.start, span.end))])
    starts, ends = columns.starts, columns.ends
    tags = [OUTSIDE] * len(starts)
    for span in kept:
        first = bisect_left(starts, span.start)
        # A cut at span.start and a non-space character there guarantee a token starts exactly here.
        assert starts[first] == span.start, (span, starts[first])
        tags[first] = f"B-{span.label}"
        index = first + 1
        while index < len(starts) and ends[index] <= span.end:
            tags[index] = f"I-{span.label}"
            index += 1
    return ColumnAlignment(columns, tags, kept, dropped)


def align(text: str, spans: Iterable[Span], *, cuts: Iterable[int] = ()) -> Alignment:
    """Tokens of `text` with one BIO tag each, from character-offset spans.

    `cuts` are further offsets that must be token boundaries (spans BIO drops, event triggers).
    """
    found = align_columns(text, spans, cuts=cuts)
    columns = found.columns
    tokens = [Token(*token) for token in zip(columns.texts, columns.starts, columns.ends, strict=True)]
    return Alignment(tokens, found.tags, found.tagged, found.dropped)


def spans_from_tags(tokens: list[Token], tags: list[str]) -> list[Span]:
    """Spans back from BIO tags; an I- tag that continues nothing starts a span of its own."""
    spans: list[Span] = []
    current: Span | None = None
    for token, tag in zip(tokens, tags, strict=False):
        prefix, _, label = tag.partition("-")
        if prefix == "I" and current is not None and current.label == label:
            current = Span(current.start, token.end, label)
            continue
        if current is not None:
            spans.append(current)
        current = Span(token.start, token.end, label) if prefix in ("B", "I") else None
    if current is not None:
        spans.append(current)
    return spans
