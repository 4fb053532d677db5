"""The corpus: seed articles with metadata, stable ids, and `corpus add` refusing bad files by name."""

from __future__ import annotations

import json
import unicodedata

from annotate.core.corpus import article_from_text, load_corpus, read_article

from .builders import REPO
from .helpers import assert_no_traceback, run_cli



def test_corpus_list_json_lists_the_five_seed_articles(offline_workspace):
    result = run_cli("corpus", "list", "--format", "json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 5
    assert {"id", "title", "characters"} <= set(rows[0])
    titles = {r["title"] for r in rows}
    assert "Putin set to visit North Korea for strategic arms talks" in titles
    assert "Kim Jong-un heads to Russia for arms talks with Putin" in titles
    assert all(r["characters"] > 2000 for r in rows)


def test_seed_articles_are_normalised_and_free_of_site_furniture():
    for article in load_corpus_from_repo():
        assert unicodedata.is_normalized("NFC", article.text)
        assert "\r" not in article.text
        for furniture in ("Related Article", "Editors Picks", "provides the latest news", "https://"):
            assert furniture not in article.text, (article.id, furniture)


def load_corpus_from_repo():
    from annotate.core.workspace import Workspace

    return load_corpus(Workspace(REPO))


def test_seed_metadata_comes_from_the_text():
    by_title = {a.title: a for a in load_corpus_from_repo()}
    putin = by_title["Putin set to visit North Korea for strategic arms talks"]
    assert putin.metadata["date"] == "2024-06-14T13:01"
    assert not putin.text.startswith("Putin set to visit")
    kim = by_title["Kim Jong-un heads to Russia for arms talks with Putin"]
    assert kim.metadata["source"] == "Daily Global Times"
    assert by_title["Kim Meets Putin As Russia Seeks Closer Military Ties With North-Korea."].metadata["author"] == (
        "Caroline Ameh"
    )


def test_article_id_survives_renaming_the_file(offline_workspace):
    path = next(offline_workspace.corpus.glob("*.txt"))
    before = read_article(path).id
    renamed = path.rename(path.with_name("renamed.txt"))
    assert read_article(renamed).id == before
    assert before in {a.id for a in load_corpus(offline_workspace)}


def test_normalisation_unifies_newlines_and_composes_characters():
    article = article_from_text("Title here\r\nKim Jong Un met Putin in Vladivostok, Russia.\r\nCafe\u0301 owners watched.  \n")
    assert article.title == "Title here"
    assert article.text == "Kim Jong Un met Putin in Vladivostok, Russia.\nCafé owners watched."


def test_corpus_add_takes_good_files_and_names_each_bad_one(offline_workspace, tmp_path):
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    (incoming / "good.txt").write_text("Lavrov visits Pyongyang\nSergei Lavrov arrived in Pyongyang on Tuesday.\n")
    (incoming / "notes.md").write_text("# Drills announced\n\nSouth Korea and the United States held drills.\n")
    (incoming / "empty.txt").write_bytes(b"")
    (incoming / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    (incoming / "latin1.txt").write_bytes("Caf\xe9 in Pyongyang".encode("latin-1"))
    (incoming / "blank.txt").write_text("   \n\n  \n")
    (incoming / "picture.pdf").write_bytes(b"%PDF-1.4")
    (incoming / "batch.jsonl").write_text(
        json.dumps({"id": "wire-1", "text": "Kim inspected a munitions factory.", "title": "Factory visit"}) + "\n"
        + "{not json\n"
        + json.dumps({"id": "../../etc/passwd", "text": "An escape attempt."}) + "\n"
    )
    # The first seed article as it arrived (title line, then the text), under its original name.
    seed = read_article(next(REPO.glob("corpus/putin-set-to-visit-*.txt")))
    duplicate = tmp_path / "000_46fd117d21220e7f.txt"
    duplicate.write_text(f"{seed.title}\n{seed.text}\n", encoding="utf-8")
    result = run_cli("corpus", "add", str(incoming), str(duplicate), str(incoming / "picture.pdf"))
    assert result.exit_code == 1
    assert_no_traceback(result)
    assert result.stdout.count("added ") == 3
    for name, reason in [
        ("empty.txt", "empty"),
        ("binary.txt", "binary"),
        ("latin1.txt", "not UTF-8"),
        ("blank.txt", "no article text"),
        ("picture.pdf", "unsupported file type"),
        ("batch.jsonl:2", "not valid JSON"),
        ("batch.jsonl:3", "not allowed"),
    ]:
        line = next((l for l in result.stderr.splitlines() if name in l), "")
        assert reason in line, (name, result.stderr)
    assert "duplicate" in result.stdout and "000_" in result.stdout
    ids = {a.id for a in load_corpus(offline_workspace)}
    assert "wire-1" in ids and len(ids) == 8


def test_adding_the_same_files_twice_adds_nothing(offline_workspace, tmp_path):
    article = tmp_path / "a.txt"
    article.write_text("Shoigu in Pyongyang\nSergei Shoigu visited Pyongyang in July.\n")
    assert run_cli("corpus", "add", str(article)).exit_code == 0
    again = run_cli("corpus", "add", str(article))
    assert again.exit_code == 0
    assert "0 added, 1 duplicate" in again.stdout
    assert len(load_corpus(offline_workspace)) == 6
