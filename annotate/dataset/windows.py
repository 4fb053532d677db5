"""Sentence windows: an article cut into pieces short enough for encoder models, never through a span.

Sentences come from sentencex (Wikimedia's rule-based segmenter for about 300 languages, no
model to download, character offsets of its own). Whole sentences are packed
into windows of at most `MAX_WINDOW_TOKENS` tokens (the tokens of the `tokens` config:
words and single punctuation marks). A sentence boundary that falls inside an entity
mention or an event trigger is not used, so no span is ever cut; a sentence longer than
the limit is cut at the last token boundary before the limit that is outside every span.
Only a single span longer than the limit can make a window longer than it.

Each window keeps its character offsets into the article, so what a model predicts on a
window maps back to the article by adding nothing: token offsets stay article offsets.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sentencex

from annotate.dataset.tokens import Span, Token, TokenColumns, align, align_columns

MAX_WINDOW_TOKENS = 128
"""At most this many tokens per window (well under the 512 subword positions of most encoders)."""


@dataclass(frozen=True)
class Window:
    index: int
    first: int
    """Index of the window's first token among the article's tokens."""
    last: int
    """Index one past the window's last token (end exclusive)."""


def sentence_starts(text: str, language: str = "en") -> list[int]:
    """Character offsets where sentencex starts a sentence (after the first), in order."""
    starts: list[int] = []
    for boundary in sentencex.get_sentence_boundaries(language, text):
        start = boundary["start_index"]
        # Offsets are code points, as Python's; a boundary whose text does not match is not used.
        if 0 < start < len(text) and text[start : boundary["end_index"]] == boundary["text"]:
            starts.append(start)
    return sorted(set(starts))


def protected(document: Mapping[str, Any]) -> list[tuple[int, int]]:
    """Character spans no window boundary may fall inside: every entity mention and event trigger."""
    spans = [(e["start"], e["end"]) for e in document["entities"]]
    spans += [(ev["trigger"]["start"], ev["trigger"]["end"]) for ev in document["events"]]
    return spans


def article_tokens(document: Mapping[str, Any]) -> tuple[list[Token], list[str], int]:
    """Tokens of an article, their BIO tags and the number of mentions BIO could not carry.

    Every entity and trigger boundary is a token boundary, also for mentions BIO drops.
    """
    spans = [Span(e["start"], e["end"], e["label"]) for e in document["entities"]]
    cuts = [offset for start, end in protected(document) for offset in (start, end)]
    alignment = align(document["text"], spans, cuts=cuts)
    return alignment.tokens, alignment.tags, len(alignment.dropped)


def article_columns(document: Mapping[str, Any]) -> tuple[TokenColumns, list[str], int]:
    """`article_tokens` with the tokens as columns: made once per article for tokens, windows and TextEE."""
    spans = [Span(e["start"], e["end"], e["label"]) for e in document["entities"]]
    cuts = [offset for start, end in protected(document) for offset in (start, end)]
    alignment = align_columns(document["text"], spans, cuts=cuts)
    return alignment.columns, alignment.tags, len(alignment.dropped)


def _cuttable(starts: list[int], spans: Iterable[tuple[int, int]]) -> list[bool]:
    """For each token index i, whether a window may start at token i (i.e. no span covers the gap)."""
    allowed = [True] * (len(starts) + 1)
    for start, end in spans:
        # Token i may not start a window when the span began before token i and ends after it starts.
        for i in range(bisect_right(starts, start), bisect_left(starts, end)):
            allowed[i] = False
    return allowed


def windows(
    document: Mapping[str, Any], tokens: list[Token], *, limit: int = MAX_WINDOW_TOKENS, language: str = "en"
) -> list[Window]:
    """The article's windows: whole sentences packed up to `limit` tokens, no span cut."""
    return windows_of(document, [t.start for t in tokens], limit=limit, language=language)


def windows_of(
    document: Mapping[str, Any], starts: list[int], *, limit: int = MAX_WINDOW_TOKENS, language: str = "en"
) -> list[Window]:
    """`windows`, from the tokens' start offsets alone."""
    if not starts:
        return []
    allowed = _cuttable(starts, protected(document))
    firsts = {bisect_left(starts, offset) for offset in sentence_starts(document["text"], language)}
    sentence_first = sorted(firsts - {0})
    boundaries = [i for i in sentence_first if i < len(starts) and allowed[i]]
    units = list(zip([0, *boundaries], [*boundaries, len(starts)], strict=False))
    pieces: list[tuple[int, int]] = []
    for first, last in units:
        pieces += _split_long(first, last, allowed, limit)
    packed: list[tuple[int, int]] = []
    for first, last in pieces:
        if packed and last - packed[-1][0] <= limit:
            packed[-1] = (packed[-1][0], last)
        else:
            packed.append((first, last))
    return [Window(index, first, last) for index, (first, last) in enumerate(packed)]


def _split_long(first: int, last: int, allowed: list[bool], limit: int) -> list[tuple[int, int]]:
    """A run of tokens cut into pieces of at most `limit` tokens at allowed cuts (longer only if no cut)."""
    pieces = []
    while last - first > limit:
        cut = next((i for i in range(first + limit, first, -1) if allowed[i]), None)
        if cut is None:
            cut = next((i for i in range(first + limit + 1, last) if allowed[i]), last)
        pieces.append((first, cut))
        first = cut
    if last > first:
        pieces.append((first, last))
    return pieces


def window_rows(
    document: Mapping[str, Any], tokens: list[Token], tags: list[str], language: str = "en"
) -> list[dict[str, Any]]:
    """Rows of the `windows` config for one article (token offsets are offsets into the article)."""
    columns = TokenColumns([t.text for t in tokens], [t.start for t in tokens], [t.end for t in tokens])
    return window_rows_of(document, columns, tags, language)


def window_rows_of(
    document: Mapping[str, Any], columns: TokenColumns, tags: list[str], language: str = "en"
) -> list[dict[str, Any]]:
    """`window_rows`, from the article's token columns."""
    rows = []
    texts, starts, ends = columns.texts, columns.starts, columns.ends
    for window in windows_of(document, starts, language=language):
        first, last = window.first, window.last
        start, end = starts[first], ends[last - 1]
        rows.append(
            {
                "id": window_id(document["id"], window.index),
                "article_id": document["id"],
                "window": window.index,
                "start": start,
                "end": end,
                "text": document["text"][start:end],
                "tokens": texts[first:last],
                "token_starts": starts[first:last],
                "token_ends": ends[first:last],
                "ner_tags": tags[first:last],
            }
        )
    return rows


def window_id(article_id: str, index: int) -> str:
    return f"{article_id}-{index}"
