"""The corpus index: what push knows of the corpus without reading it, always what reading it would say."""

from __future__ import annotations

import os

from annotate.core.corpus import read_corpus
from annotate.core.corpus_index import corpus_entries


def _as_read(workspace) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    articles, broken = read_corpus(workspace)
    return [(a.id, a.text_sha256) for a in articles], [(r.source, r.reason) for r in broken]


def _as_indexed(workspace) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    entries, broken = corpus_entries(workspace)
    return [(e.id, e.text_sha256) for e in entries], [(r.source, r.reason) for r in broken]


def test_the_index_lists_the_files_refusals_and_order_that_reading_the_corpus_gives(offline_workspace):
    corpus = offline_workspace.corpus
    first = sorted(corpus.glob("*.txt"))[0]
    (corpus / "0-copy.txt").write_bytes(first.read_bytes())  # the same article id as `first`
    hidden = first.read_text(encoding="utf-8").replace("\nid: ", "\nid: hidden-", 1)
    (corpus / ".hidden.txt").write_text(hidden, encoding="utf-8")
    (corpus / "broken.txt").write_bytes(b"\xff\xfe not text")
    (corpus / "folder.txt").mkdir()
    (corpus / "notes.md").write_text("not an article", encoding="utf-8")
    (corpus / "missing.txt").symlink_to(corpus / "nowhere")

    expected = _as_read(offline_workspace)
    assert len(expected[0]) == 6 and len(expected[1]) == 4  # the copy for the seed after it, the hidden one
    assert _as_indexed(offline_workspace) == expected  # every file parsed
    assert _as_indexed(offline_workspace) == expected  # from the index
    entries, _ = corpus_entries(offline_workspace)
    assert [e.path.name for e in entries] == sorted(e.path.name for e in entries)
    assert all(e.path.parent == corpus and e.read().id == e.id for e in entries)


def test_a_file_edited_in_place_to_the_same_size_is_read_again(offline_workspace):
    before, _ = corpus_entries(offline_workspace)
    path = before[0].path
    text = path.read_text(encoding="utf-8")
    stat = path.stat()
    index = text.rindex("a")
    path.write_text(text[:index] + "o" + text[index + 1 :], encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # even with its old modification time

    after, _ = corpus_entries(offline_workspace)
    assert after[0].id == before[0].id and after[0].text_sha256 != before[0].text_sha256
    assert _as_indexed(offline_workspace) == _as_read(offline_workspace)


def test_files_added_and_removed_since_the_last_push_are_seen(offline_workspace):
    corpus_entries(offline_workspace)
    files = sorted(offline_workspace.corpus.glob("*.txt"))
    files[0].rename(offline_workspace.corpus / "renamed.txt")
    files[1].unlink()
    assert _as_indexed(offline_workspace) == _as_read(offline_workspace)
    assert len(_as_indexed(offline_workspace)[0]) == 4
