"""The guidelines as HTML for Label Studio's instructions panel.

Label Studio shows a project's `expert_instruction` as HTML, so the Markdown is rendered
with raw HTML switched off: a `<` or `&` in a guideline or a scheme definition reaches
the annotator as text, never as markup, and links may only lead to web or mail
addresses.
"""

from __future__ import annotations

import re
from pathlib import Path
from xml.etree.ElementTree import Element

import markdown
from markdown.treeprocessors import Treeprocessor

from annotate.core.generated import fill_tables
from annotate.core.guidelines import guidelines_version
from annotate.core.scheme import Scheme
from annotate.core.workspace import Workspace

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
    sections = []
    for page in guideline_pages(workspace):
        body = markdown_to_html(fill_tables(page.read_text(encoding="utf-8"), scheme))
        sections.append(f"<section>\n{_what_changed(page)}{body}\n</section>")
    return "\n".join(sections)


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

