"""Text from data (article metadata, settings) made safe to place into Markdown or HTML prose.

A value such as an article's `source` comes from whoever wrote the article file; in a
dataset card it must read as the text it is, never as a tag, a link, a heading or a table
cell boundary.
"""

from __future__ import annotations

import html
import re

_MARKDOWN_ACTIVE = re.compile(r"([\\`*_\[\]|~#!])")


def markdown_text(value: object) -> str:
    """`value` as one line of literal Markdown text: markup escaped, line breaks made spaces."""
    text = " ".join(str(value).split())
    text = html.escape(text, quote=False)
    return _MARKDOWN_ACTIVE.sub(r"\\\1", text)


def markdown_prose(value: object) -> str:
    """Maintainer-written Markdown (a note for the card) kept as Markdown, but with no raw HTML in it."""
    return html.escape(str(value), quote=False)


def json_in_code_block(text: str) -> str:
    """JSON text safe inside a ``` fence: a backtick is written as its JSON escape, so no value can close it."""
    return text.replace("`", "\\u0060")
