"""Article metadata that holds markup reaches the dataset card as text: no tag, link or heading of its own.

The card is Markdown that the Hugging Face Hub renders to HTML; an article's `source`, `title`
or `url` comes from whoever wrote the article file. The test renders the card with the
`markdown` package, as a Markdown viewer would, and looks at the HTML it gives.
"""

from __future__ import annotations

import json
import re

import markdown

from annotate.core.corpus import load_corpus, render_article
from tests.helpers import assert_no_traceback, run_cli

SOURCE = '<script>alert("owned")</script> [click](javascript:alert(1)) | cell\n# Owned heading'
TITLE = "Talks ``` <img src=x onerror=alert(1)> **loud**"


def _plant_markup(workspace) -> None:
    for article in load_corpus(workspace)[:4]:
        article.metadata["source"] = SOURCE
        article.metadata["url"] = "javascript:alert(1)"
        article.title = TITLE
        article.path.write_text(render_article(article), encoding="utf-8")


def test_markup_in_article_metadata_is_escaped_in_the_dataset_card(offline_workspace):
    """Feeds: articles whose source holds <script>, a javascript: link, a table pipe and a heading after a
    newline, whose title holds ``` (which would close the card's code block) and an <img onerror>."""
    from tests.builders import write_gold_and_records

    _plant_markup(offline_workspace)
    write_gold_and_records(offline_workspace)
    result = run_cli("publish", "--version", "1.0.0")
    assert_no_traceback(result)
    assert result.exit_code == 0, result.stderr
    card = next(offline_workspace.exports.glob("*/1.0.0/README.md")).read_text(encoding="utf-8")
    body = card.split("\n---\n", 1)[1]
    assert "alert" in body  # the source is named in the card, as text
    html = markdown.markdown(body, extensions=["fenced_code", "tables"])
    assert not re.search(r"<script|<img|href=\"javascript:|<h1>Owned", html), html
    assert "&lt;script&gt;" in html
    fences = [line for line in body.splitlines() if line.startswith("```")]
    assert len(fences) % 2 == 0, fences
    examples = re.findall(r"^```json\n(.*?)\n```$", body, flags=re.DOTALL | re.MULTILINE)
    assert examples and json.loads(examples[0])["title"] == TITLE  # valid JSON, the title as it is, fence intact
