"""What each corpus file holds (article id and text digest), kept between runs so unchanged files are not parsed.

The index lives in the private state, one entry per file name with the file's size,
inode, modification and change times; a file whose `stat` still matches is not read again. It
serves commands that need to know which articles exist, not their text (a push that
finds nothing new reads no article at all).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from annotate.core.corpus import Article, Refusal, read_article
from annotate.core.errors import CorpusError
from annotate.core.workspace import Workspace, write_private

INDEX = "corpus-index.json"


@dataclass(frozen=True)
class CorpusEntry:
    """One article file of the corpus: where it is, the article's id and the sha256 of its text."""

    path: Path
    id: str
    text_sha256: str

    def read(self) -> Article:
        """The whole article, read from its file now."""
        return read_article(self.path)


def _key(path: Path) -> list[int]:
    info = path.stat()
    return [info.st_size, info.st_ino, info.st_mtime_ns, info.st_ctime_ns]


def _load(index: Path) -> dict[str, Any]:
    try:
        found = json.loads(index.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def corpus_entries(workspace: Workspace) -> tuple[list[CorpusEntry], list[Refusal]]:
    """The corpus's articles as entries (in file-name order), and each file that is not one, with the reason.

    The same files, refusals and order as `read_corpus`; only files changed since the last
    call are parsed.
    """
    index_path = workspace.private_dir() / INDEX
    saved = _load(index_path)
    kept: dict[str, Any] = {}
    entries: list[CorpusEntry] = []
    broken: list[Refusal] = []
    seen: dict[str, Path] = {}
    for path in sorted(workspace.corpus.glob("*.txt")):
        try:
            key = _key(path)
            hit = saved.get(path.name)
            if isinstance(hit, list) and len(hit) == 6 and hit[:4] == key:
                article_id, digest = str(hit[4]), str(hit[5])
            else:
                article = read_article(path)
                article_id, digest = article.id, article.text_sha256
        except (CorpusError, OSError, UnicodeDecodeError) as exc:
            broken.append(Refusal(str(path), str(exc)))
            continue
        kept[path.name] = [*key, article_id, digest]
        if article_id in seen:
            reason = f"carries the article id {article_id} of {seen[article_id].name}; remove one"
            broken.append(Refusal(str(path), reason))
            continue
        seen[article_id] = path
        entries.append(CorpusEntry(path, article_id, digest))
    if kept != saved:
        write_private(index_path, json.dumps(kept))
    return entries, broken
