"""The guidelines are general rules: they carry to unseen articles and quote none of the corpus."""

from __future__ import annotations

import re
from pathlib import Path

from annotate.core.corpus import load_corpus
from annotate.core.workspace import Workspace

REPO = Path(__file__).resolve().parent.parent
RUN = 8  # words; a run this long shared with an article is a quotation, not a coincidence


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower().replace("’", "'"))


def _runs(words: list[str], n: int = RUN) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def copied_runs(guidelines: str, articles: list[str]) -> list[str]:
    """Every run of RUN words of the guidelines that also stands in one of the articles."""
    corpus: set[tuple[str, ...]] = set()
    for text in articles:
        corpus |= _runs(_words(text))
    return [" ".join(run) for run in sorted(_runs(_words(guidelines)) & corpus)]


def test_the_guidelines_quote_no_run_of_eight_words_from_the_corpus():
    articles = [article.text for article in load_corpus(Workspace(REPO))]
    assert len(articles) >= 5
    guidelines = (REPO / "guidelines" / "annotation-guidelines.md").read_text(encoding="utf-8")
    assert copied_runs(guidelines, articles) == []


def test_the_check_finds_a_quotation():
    article = "The two ministers met in the northern port city on a cold Tuesday morning in March."
    quoting = "For example: the two ministers met in the northern port city on a cold day."
    # "the two ministers met in the northern port city on a cold": 12 shared words, 5 runs of 8
    assert len(copied_runs(quoting, [article])) == 5
    assert "the two ministers met in the northern port" in copied_runs(quoting, [article])
    assert copied_runs("Ministers met in a port.", [article]) == []
