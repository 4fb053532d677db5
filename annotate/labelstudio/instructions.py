"""The guidelines as HTML for Label Studio's instructions panel.

Label Studio shows a project's `expert_instruction` as HTML, so the Markdown is rendered
with raw HTML switched off: a `<` or `&` in a guideline or a scheme definition reaches
the annotator as text, never as markup, and links may only lead to web or mail
addresses.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from xml.etree.ElementTree import Element

import markdown
from markdown.treeprocessors import Treeprocessor

from annotate.core.generated import fill_tables
from annotate.core.guidelines import guidelines_version
from annotate.core.scheme import Scheme
from annotate.core.workspace import Workspace, write_private

_COMMENT = re.compile(r"<!--.*?-->", re.S)
_SAFE_URL = re.compile(r"^(https?:|mailto:|#|/|\./|\.\./|[\w.-]+(/|$))", re.I)


class _SafeLinks(Treeprocessor):
    """Drop link and image addresses with other schemes (javascript:, data:)."""

    def run(self, root: Element) -> None:
        for element in root.iter():
            for attribute in ("href", "src"):
                value = element.get(attribute)
                if value is not None and not _SAFE_URL.match(value.strip()):
                    del element.attrib[attribute]


def _renderer() -> markdown.Markdown:
    md = markdown.Markdown(extensions=["tables", "fenced_code", "sane_lists"], output_format="html")
    # Without these, raw HTML blocks and inline tags are kept as text and escaped on output.
    md.preprocessors.deregister("html_block")
    md.inlinePatterns.deregister("html")
    md.treeprocessors.register(_SafeLinks(md), "safe_links", 0)
    return md


def markdown_to_html(text: str) -> str:
    """One Markdown text as HTML, raw HTML escaped; comments (generated-table markers) left out."""
    return _renderer().convert(_COMMENT.sub("", text))


def guideline_pages(workspace: Workspace) -> list[Path]:
    return sorted(workspace.guidelines.glob("*.md"))


def instructions(workspace: Workspace, scheme: Scheme) -> str:
    """Every guidelines/*.md page, in file-name order, as one HTML document for Label Studio.

    The scheme's tables are filled in first, so annotators see the labels the project
    really has even when `annotate scheme` has not been run since the scheme changed.
    """
    pages = guideline_pages(workspace)
    bodies = _rendered(workspace, [fill_tables(page.read_text(encoding="utf-8"), scheme) for page in pages])
    sections = [f"<section>\n{_what_changed(page)}{body}\n</section>" for page, body in zip(pages, bodies, strict=True)]
    return "\n".join(sections)


RENDERED = "instructions-html.json"
"""Private state: the HTML of each guidelines text last rendered, by the sha256 of renderer and text."""


def _cached(saved: dict[str, object], key: str) -> str | None:
    found = saved.get(key)
    return found if isinstance(found, str) else None


def _rendered(workspace: Workspace, texts: list[str]) -> list[str]:
    """Each text as HTML; a text rendered before (the usual push) is not rendered again."""
    path = workspace.private_dir() / RENDERED
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        saved = {}
    saved = saved if isinstance(saved, dict) else {}
    # The renderer is part of the key: this module's code and the markdown package's version.
    renderer = Path(__file__).read_bytes() + markdown.__version__.encode("utf-8")
    keys = [hashlib.sha256(renderer + text.encode("utf-8")).hexdigest() for text in texts]
    bodies = [_cached(saved, key) or markdown_to_html(text) for key, text in zip(keys, texts, strict=True)]
    current = dict(zip(keys, bodies, strict=True))
    if current != saved:
        write_private(path, json.dumps(current))
    return bodies


def _what_changed(page: Path) -> str:
    """A note above a page that states its version: which version this is, and what it changed."""
    found = guidelines_version(page)
    if found is None:
        return ""
    changes = found.changes or ""
    note = markdown_to_html(
        f"**Guidelines version {found.version}** (scheme {found.scheme_version}). What changed:\n\n{changes}"
    )
    return f'<aside class="guidelines-version">\n{note}\n</aside>\n'
