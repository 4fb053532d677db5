"""Inputs at the edges: bombs refused fast in bounded memory, valid files that look odd accepted, near misses refused.

Every test names what it feeds in. Time and memory are measured loosely (seconds, tens of
megabytes), so a parser that starts expanding a bomb or recursing into it fails clearly.
"""

from __future__ import annotations

import json
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from annotate.core.corpus import MAX_ARTICLE_BYTES, load_corpus
from annotate.core.records import iter_records
from annotate.core.workspace import slugify
from tests.helpers import assert_no_traceback, run_cli

EXPORTS = Path(__file__).parent / "exports"
SECONDS = 5.0
PEAK_BYTES = 64 * 1024 * 1024


def _measured(call: Callable[[], Any]) -> tuple[Any, float, int]:
    """(result, seconds, peak bytes Python allocated) of one call."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        result = call()
        return result, time.perf_counter() - started, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _valid_task() -> dict[str, Any]:
    return json.loads((EXPORTS / "valid.json").read_text(encoding="utf-8"))[0]


# --- resource bombs -----------------------------------------------------------------------------

DEEP_JSON = "[" * 100_000 + "]" * 100_000
DEEP_OBJECT = '{"a":' * 100_000 + "1" + "}" * 100_000


def _laughs(levels: int = 9, width: int = 9) -> str:
    """The billion-laughs YAML: each anchor repeats the previous one `width` times; 9 levels stand for 9**9 strings."""
    lines = ['l0: &l0 "lol"']
    for level in range(1, levels + 1):
        lines.append(f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def _deep_yaml(depth: int = 20_000) -> str:
    return "a: " + "[" * depth + "]" * depth + "\n"


YAML_BOMBS = {
    "alias bomb": _laughs(),
    "nested 20,000 deep": _deep_yaml(),
    "nested mappings 20,000 deep": "".join("  " * 0 + "{a: " for _ in range(20_000)) + "1" + "}" * 20_000 + "\n",
}


@pytest.mark.parametrize("bomb", sorted(YAML_BOMBS))
def test_a_yaml_bomb_as_the_scheme_is_refused_fast_in_bounded_memory(offline_workspace, bomb):
    """Feeds: labels/scheme.yaml holding a YAML alias bomb, or lists or mappings nested 20,000 deep."""
    offline_workspace.scheme_path.write_text(YAML_BOMBS[bomb], encoding="utf-8")
    result, seconds, peak = _measured(lambda: run_cli("scheme", "--check"))
    assert_no_traceback(result)
    assert result.exit_code == 1 and "scheme.yaml" in result.stderr and "not valid YAML" in result.stderr
    assert "aliases" in result.stderr or "levels deep" in result.stderr, result.stderr
    assert seconds < SECONDS and peak < PEAK_BYTES, (seconds, peak)


@pytest.mark.parametrize("bomb", sorted(YAML_BOMBS))
def test_a_yaml_bomb_in_annotate_yaml_is_refused_fast(offline_workspace, bomb):
    """Feeds: annotate.yaml holding a YAML alias bomb or deep nesting, read by `publish`."""
    (offline_workspace.root / "annotate.yaml").write_text(YAML_BOMBS[bomb], encoding="utf-8")
    result, seconds, peak = _measured(lambda: run_cli("publish", "--version", "1.0.0"))
    assert_no_traceback(result)
    assert result.exit_code == 1 and "annotate.yaml" in result.stderr and "not valid YAML" in result.stderr
    assert seconds < SECONDS and peak < PEAK_BYTES, (seconds, peak)


@pytest.mark.parametrize("bomb", sorted(YAML_BOMBS))
def test_a_yaml_bomb_in_a_front_matter_is_refused_fast(offline_workspace, tmp_path, bomb):
    """Feeds: a Markdown file to `corpus add`, and an article file put into corpus/ by hand, whose front matter is a bomb."""
    front = f"---\n{YAML_BOMBS[bomb]}---\nKim Jong Un met Vladimir Putin.\n"
    (tmp_path / "bomb.md").write_text(front, encoding="utf-8")
    result, seconds, peak = _measured(lambda: run_cli("corpus", "add", str(tmp_path / "bomb.md")))
    assert_no_traceback(result)
    assert result.exit_code == 1 and "bomb.md" in result.stderr and "not valid YAML" in result.stderr
    assert seconds < SECONDS and peak < PEAK_BYTES, (seconds, peak)
    (offline_workspace.corpus / "zz-bomb.txt").write_text(front, encoding="utf-8")
    result, seconds, _ = _measured(lambda: run_cli("corpus", "list"))
    assert_no_traceback(result)
    assert result.exit_code == 1 and "zz-bomb.txt" in result.stderr and seconds < SECONDS


@pytest.mark.parametrize("content", [DEEP_JSON, DEEP_OBJECT], ids=["lists", "objects"])
def test_json_nested_100000_deep_is_refused_fast_as_export_records_and_corpus(offline_workspace, tmp_path, content):
    """Feeds: lists or objects nested 100,000 deep as an export (validate, pull --from-file), as a line of a
    records file, and as a line of a JSON Lines corpus file between two good articles."""
    export = tmp_path / "deep.json"
    export.write_text(content, encoding="utf-8")
    for command in (["validate", str(export)], ["pull", "--from-file", str(export), "--project", "deep"]):
        result, seconds, peak = _measured(lambda command=command: run_cli(*command))
        assert_no_traceback(result)
        assert result.exit_code == 2 and "deep.json" in result.stderr and "deeper" in result.stderr, result.stderr
        assert seconds < SECONDS and peak < PEAK_BYTES, (command, seconds, peak)
    records = tmp_path / "records.jsonl"
    good = json.dumps({"article_id": "x", "entities": [], "events": []})
    records.write_text(f"{good}\n{content}\n", encoding="utf-8")
    result = run_cli("validate", str(records))
    assert_no_traceback(result)
    assert result.exit_code == 1 and "line 2" in result.stdout and "deeper" in result.stdout
    corpus = tmp_path / "batch.jsonl"
    lines = [json.dumps({"text": "Kim met Putin."}), content, json.dumps({"text": "Shoigu met Kim."})]
    corpus.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_cli("corpus", "add", str(corpus))
    assert_no_traceback(result)
    assert result.exit_code == 1 and "2 added" in result.stdout and "deeper" in result.stderr
    assert "batch.jsonl:2" in result.stderr


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_in_an_export_is_refused_and_never_written_into_records(offline_workspace, tmp_path, constant):
    """Feeds: an export whose lead_time is NaN, Infinity or -Infinity (Python's json writes them, JSON has none)."""
    task = _valid_task()
    task["annotations"][0]["lead_time"] = 1.5
    path = tmp_path / "nan.json"
    path.write_text(json.dumps([task]).replace("1.5", constant), encoding="utf-8")
    for command in (["validate", str(path)], ["pull", "--from-file", str(path), "--project", "nan export"]):
        result = run_cli(*command)
        assert_no_traceback(result)
        assert result.exit_code == 2 and constant.lstrip("-") in result.stderr, result.stderr
    assert not offline_workspace.records_path(slugify("nan export")).exists()


# --- valid inputs that were refused ---------------------------------------------------------------


def test_a_6_mb_json_lines_file_of_2000_articles_is_taken_whole(offline_workspace, tmp_path):
    """Feeds: one .jsonl of 2,000 articles of about 3.2 KB each (6.4 MB, over the one-article limit as a whole)."""
    body = "Kim Jong Un met Vladimir Putin at the Vostochny spaceport to talk about arms. " * 42
    path = tmp_path / "wire.jsonl"
    with path.open("w", encoding="utf-8") as handle:
        for number in range(2000):
            handle.write(json.dumps({"id": f"wire-{number}", "title": f"Report {number}", "text": f"{number}. {body}"}) + "\n")
    assert path.stat().st_size > 6_400_000 > MAX_ARTICLE_BYTES
    result = run_cli("corpus", "add", str(path))
    assert_no_traceback(result)
    assert result.exit_code == 0, result.stderr
    assert "2000 added" in result.stdout
    assert len(load_corpus(offline_workspace)) == 2005


def test_one_json_lines_article_over_the_limit_is_refused_and_its_neighbours_kept(offline_workspace, tmp_path):
    """Feeds: a .jsonl whose second line is one article of 5 MB and more, between two good ones."""
    path = tmp_path / "mixed.jsonl"
    lines = [{"text": "Kim met Putin."}, {"text": "x" * (MAX_ARTICLE_BYTES + 1)}, {"text": "Shoigu met Kim."}]
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    result = run_cli("corpus", "add", str(path))
    assert_no_traceback(result)
    assert result.exit_code == 1 and "2 added" in result.stdout
    assert "mixed.jsonl:2" in result.stderr and "limit for one article" in result.stderr


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\u0085"], ids=["U+2028", "U+2029", "U+0085"])
def test_a_line_separator_inside_a_json_string_stays_in_the_article(offline_workspace, tmp_path, separator):
    """Feeds: a JSON Lines article whose text holds a raw U+2028, U+2029 or U+0085 (JSON allows them unescaped)."""
    text = f"Kim Jong Un arrived in Vladivostok.{separator}Putin met him at the station."
    path = tmp_path / "sep.jsonl"
    path.write_text(json.dumps({"id": "sep-1", "text": text}, ensure_ascii=False) + "\n", encoding="utf-8")
    assert separator in path.read_text(encoding="utf-8")
    result = run_cli("corpus", "add", str(path))
    assert_no_traceback(result)
    assert result.exit_code == 0 and "1 added" in result.stdout, result.stderr
    article = next(a for a in load_corpus(offline_workspace) if a.id == "sep-1")
    assert article.text == text


def test_a_byte_order_mark_at_the_start_of_a_json_lines_corpus_file_is_skipped(offline_workspace, tmp_path):
    """Feeds: a .jsonl corpus file saved 'UTF-8 with BOM' (as Windows editors do)."""
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps({"id": "bom-1", "text": "Kim met Putin."}).encode() + b"\n")
    result = run_cli("corpus", "add", str(path))
    assert_no_traceback(result)
    assert result.exit_code == 0 and "1 added" in result.stdout, result.stderr
    assert any(a.id == "bom-1" and a.text == "Kim met Putin." for a in load_corpus(offline_workspace))


def test_a_byte_order_mark_at_the_start_of_an_export_or_records_file_is_skipped(offline_workspace, tmp_path):
    """Feeds: a Label Studio export and a records .jsonl, each starting with a UTF-8 BOM, to validate and pull."""
    export = tmp_path / "bom.json"
    export.write_bytes(b"\xef\xbb\xbf" + json.dumps([_valid_task()]).encode("utf-8"))
    assert run_cli("validate", str(export)).exit_code == 0
    pulled = run_cli("pull", "--from-file", str(export), "--project", "bom export")
    assert_no_traceback(pulled)
    assert pulled.exit_code == 0, pulled.stderr
    records = offline_workspace.records_path(slugify("bom export"))
    assert len(list(iter_records(records))) == 1
    with_bom = tmp_path / "records.jsonl"
    with_bom.write_bytes(b"\xef\xbb\xbf" + records.read_bytes())
    result = run_cli("validate", str(with_bom))
    assert result.exit_code == 0, result.stdout


@pytest.mark.parametrize("suffix", [".md", ".txt"])
def test_a_file_with_its_own_front_matter_takes_its_title_and_metadata_from_it(offline_workspace, tmp_path, suffix):
    """Feeds: a Markdown (or text) note with a YAML front matter: title, an unquoted date, tags, source."""
    note = tmp_path / f"note{suffix}"
    note.write_text(
        "---\ntitle: Lavrov in Pyongyang\ndate: 2024-06-14\ntags: [diplomacy, visit]\nsource: Wire\n---\n"
        "Sergei Lavrov arrived in Pyongyang on Tuesday for talks.\n",
        encoding="utf-8",
    )
    result = run_cli("corpus", "add", str(note))
    assert_no_traceback(result)
    assert result.exit_code == 0 and "1 added" in result.stdout, result.stderr
    article = next(a for a in load_corpus(offline_workspace) if a.metadata.get("original_file") == note.name)
    assert article.title == "Lavrov in Pyongyang" and "---" not in article.text
    assert article.text == "Sergei Lavrov arrived in Pyongyang on Tuesday for talks."
    assert article.metadata["date"] == "2024-06-14" and article.metadata["source"] == "Wire"
    assert article.metadata["tags"] == ["diplomacy", "visit"]


def test_a_front_matter_with_a_field_of_the_wrong_type_or_left_open_is_refused(offline_workspace, tmp_path):
    """Feeds: Markdown notes whose front matter has a title that is a mapping, or is never closed."""
    (tmp_path / "typed.md").write_text("---\ntitle: {a: 1}\n---\nKim met Putin.\n", encoding="utf-8")
    (tmp_path / "open.md").write_text("---\ntitle: x\nKim met Putin.\n", encoding="utf-8")
    result = run_cli("corpus", "add", str(tmp_path / "typed.md"), str(tmp_path / "open.md"))
    assert_no_traceback(result)
    assert result.exit_code == 1 and "0 added" in result.stdout
    assert "title must be a string" in result.stderr and "no '---' line closes" in result.stderr


# --- near misses that were accepted ----------------------------------------------------------------


@pytest.mark.parametrize("version", ["01.0.0", "1.00.0", "1.0.01", "v01.0.0", "1.0", "1.0.0-rc1", "1.0.0.0"])
def test_a_version_that_is_not_semver_is_a_usage_error_and_writes_nothing(offline_workspace, version):
    """Feeds: `publish --version` with leading zeros (01.0.0 would be a second 1.0.0) or not X.Y.Z at all."""
    from tests.builders import write_gold_and_records

    write_gold_and_records(offline_workspace)
    result = run_cli("publish", "--version", version)
    assert_no_traceback(result)
    assert result.exit_code == 2 and "X.Y.Z" in result.stderr, (result.exit_code, result.stderr)
    assert sorted(p.name for p in offline_workspace.exports.iterdir()) == ["gold", "records"]


def test_publish_given_both_version_and_bump_is_a_usage_error(offline_workspace):
    """Feeds: `publish --version 1.0.0 --bump minor`."""
    result = run_cli("publish", "--version", "1.0.0", "--bump", "minor")
    assert_no_traceback(result)
    assert result.exit_code == 2 and "not both" in result.stderr


def test_an_attribute_listed_twice_is_refused_by_scheme_check(offline_workspace):
    """Feeds: labels/scheme.yaml with the attribute `tense` defined a second time."""
    path = offline_workspace.scheme_path
    path.write_text(
        path.read_text(encoding="utf-8")
        + "  - name: tense\n    default: Past\n    definition: Again.\n    values: [Past, Future]\n",
        encoding="utf-8",
    )
    result = run_cli("scheme", "--check")
    assert_no_traceback(result)
    assert result.exit_code == 1 and "duplicate attribute 'tense'" in result.stderr, result.stderr


@pytest.mark.parametrize("where", ["text file after 8 KB", "markdown file", "json lines escape"])
def test_a_nul_character_anywhere_in_an_article_is_refused(offline_workspace, tmp_path, where):
    """Feeds: a NUL byte past the first 8 KB of a .txt, inside a .md, and as \\u0000 in a JSON Lines text."""
    if where == "text file after 8 KB":
        path = tmp_path / "late.txt"
        path.write_bytes(b"Kim met Putin.\n" + b"Talks went on. " * 700 + b"\x00 hidden\n")
    elif where == "markdown file":
        path = tmp_path / "note.md"
        path.write_bytes(b"# Talks\n\nKim\x00 met Putin.\n")
    else:
        path = tmp_path / "nul.jsonl"
        path.write_text(json.dumps({"text": "Kim\u0000 met Putin."}) + "\n", encoding="utf-8")
    before = len(load_corpus(offline_workspace))
    result = run_cli("corpus", "add", str(path))
    assert_no_traceback(result)
    assert result.exit_code == 1 and path.name in result.stderr and "NUL" in result.stderr, result.stderr
    assert len(load_corpus(offline_workspace)) == before


# --- predictions files (push --predictions, score) --------------------------------------------------


def test_prediction_lines_split_on_newlines_only_and_refuse_nan_and_bombs_by_line(tmp_path):
    """Feeds: a predictions .jsonl for `push --predictions` whose first record's text holds U+2028, then a line
    with NaN, a line nested 100,000 deep and a last good line."""
    from annotate.labelstudio.projects import PredictionIssue, read_prediction_lines

    first = {"article_id": "a1", "text": "Kim arrived.\u2028Putin met him.", "entities": [], "events": []}
    lines = [json.dumps(first, ensure_ascii=False), '{"article_id": "a2", "lead_time": NaN}', DEEP_JSON,
             json.dumps({"article_id": "a3", "entities": [], "events": []})]
    path = tmp_path / "model.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    read = read_prediction_lines(path)
    assert [number for number, _ in read] == [1, 2, 3, 4]
    assert read[0][1] == first and read[3][1]["article_id"] == "a3"
    issues = {number: item for number, item in read if isinstance(item, PredictionIssue)}
    assert sorted(issues) == [2, 3]
    assert "NaN" in issues[2].reason and "deeper" in issues[3].reason


@pytest.mark.parametrize("line", ['{"id": "a1", "lead_time": NaN}', DEEP_JSON], ids=["nan", "deep"])
def test_a_scored_predictions_file_with_nan_or_a_bomb_is_one_sentence_naming_the_line(tmp_path, line):
    """Feeds: predictions for `score` whose second line holds NaN, or lists nested 100,000 deep."""
    from annotate.core.errors import ScoreError
    from annotate.quality.score import read_predictions

    path = tmp_path / "system.jsonl"
    path.write_text(json.dumps({"id": "a0", "entities": []}) + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(ScoreError, match=r"line 2 is not JSON: it (holds NaN|nests lists)"):
        read_predictions(path, "test")
