"""What each corpus file holds (article id and text digest), kept between runs so unchanged files are not parsed.

The index lives in the private state, one entry per file name with the file's size,
inode, modification and change times; a file whose `stat` still matches is not read again. It
serves commands that need to know which articles exist, not their text (a push that
finds nothing new reads no article at all).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, NamedTuple

from annotate.core.corpus import Article, Refusal, read_article
from annotate.core.errors import CorpusError
from annotate.core.workspace import Workspace, write_private

INDEX = "corpus-index.json"


class CorpusEntry(NamedTuple):
    """One article file of the corpus: its folder and name, the article's id and the sha256 of its text.

    A tuple, and its path made when asked for: a push with nothing new makes one per file.
    """

    folder: Path
    name: str
    id: str
    text_sha256: str

    @property
    def path(self) -> Path:
        return self.folder / self.name

    def read(self) -> Article:
        """The whole article, read from its file now."""
        return read_article(self.path)


def _text_files(folder: Path) -> list[tuple[str, str]]:
    """(name, path) of each entry of `folder` named *.txt, by name: what `sorted(folder.glob("*.txt"))` lists.

    Plain strings: at ten thousand files, building and sorting `Path` objects costs more than
    the `stat` of each file.
    """
    try:
        with os.scandir(folder) as entries:
            found = [(entry.name, entry.path) for entry in entries if entry.name.endswith(".txt")]
    except (FileNotFoundError, NotADirectoryError, PermissionError):
        return []  # as glob: no folder, no files
    found.sort()
    return found


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
    seen: dict[str, str] = {}
    folder = workspace.corpus
    for name, where in _text_files(folder):
        try:
            info = os.stat(where)
            hit = saved.get(name)
            if (
                isinstance(hit, list)
                and len(hit) == 6
                and hit[0] == info.st_size
                and hit[1] == info.st_ino
                and hit[2] == info.st_mtime_ns
                and hit[3] == info.st_ctime_ns
            ):
                article_id, digest = str(hit[4]), str(hit[5])
                kept[name] = hit
            else:
                article = read_article(folder / name)
                article_id, digest = article.id, article.text_sha256
                kept[name] = [info.st_size, info.st_ino, info.st_mtime_ns, info.st_ctime_ns, article_id, digest]
        except (CorpusError, OSError, UnicodeDecodeError) as exc:
            broken.append(Refusal(where, str(exc)))
            continue
        if article_id in seen:
            reason = f"carries the article id {article_id} of {seen[article_id]}; remove one"
            broken.append(Refusal(where, reason))
            continue
        seen[article_id] = name
        entries.append(CorpusEntry(folder, name, article_id, digest))
    if kept != saved:
        write_private(index_path, json.dumps(kept))
    return entries, broken
