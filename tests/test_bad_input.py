"""Bad input: each refused with a sentence naming the file, task or line, never a traceback, good items kept.

Every test names what it feeds in. Already covered elsewhere and not repeated here:
- corpus files that are empty, binary, Latin-1, blank, of an unsupported type, a JSON Lines line that is
  not JSON or whose id climbs out with ../, a duplicate of the corpus: tests/test_corpus.py
  (test_corpus_add_takes_good_files_and_names_each_bad_one);
- four broken schemes (unknown role target, duplicate label, hotkey clash, default not a value) and invalid
  YAML: tests/test_scheme.py;
- the catalogue of broken Label Studio exports (thirteen defects, three unreadable files): tests/test_validate.py;
- version strings and dataset names that would leave exports/: tests/test_publish.py
  (test_names_and_versions_that_would_leave_the_dataset_folder_are_refused).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from annotate.core import derive
from annotate.core.corpus import MAX_ARTICLE_BYTES, load_corpus
from annotate.core.scheme import current_scheme
from annotate.core.records import iter_records
from annotate.core.workspace import Workspace, slugify
from tests.helpers import assert_no_traceback, run_cli

EXPORTS = Path(__file__).parent / "exports"
GOOD_TEXT = "Lavrov visits Pyongyang\nSergei Lavrov arrived in Pyongyang on Tuesday for talks.\n"


def _refusal(stderr: str, name: str) -> str:
    """The stderr line that names `name`."""
    return next((line for line in stderr.splitlines() if name in line), "")


# --- corpus files -------------------------------------------------------------------------------


def test_an_enormous_file_is_refused_by_name_beside_a_good_one(offline_workspace, tmp_path):
    """Feeds: a file one byte over the corpus limit (sparse, so nothing big is really written)."""
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    (incoming / "good.txt").write_text(GOOD_TEXT, encoding="utf-8")
    with (incoming / "huge.txt").open("wb") as handle:
        handle.truncate(MAX_ARTICLE_BYTES + 1)
    result = run_cli("corpus", "add", str(incoming))
    assert_no_traceback(result)
    assert result.exit_code == 1
    assert "over the" in _refusal(result.stderr, "huge.txt") and "limit" in _refusal(result.stderr, "huge.txt")
    assert "1 added" in result.stdout and len(load_corpus(offline_workspace)) == 6


def test_the_same_text_twice_in_one_add_is_added_once(offline_workspace, tmp_path):
    """Feeds: two files with the same text (one with Windows newlines) in the same `corpus add`."""
    (tmp_path / "first.txt").write_text(GOOD_TEXT, encoding="utf-8")
    (tmp_path / "second.txt").write_bytes(GOOD_TEXT.replace("\n", "\r\n").encode("utf-8"))
    result = run_cli("corpus", "add", str(tmp_path / "first.txt"), str(tmp_path / "second.txt"))
    assert_no_traceback(result)
    assert result.exit_code == 0 and "1 added, 1 duplicate" in result.stdout
    assert "second.txt" in _refusal(result.stdout, "duplicate")
    assert len(load_corpus(offline_workspace)) == 6


def test_a_utf16_file_is_named_as_utf16_not_as_binary(offline_workspace, tmp_path):
    """Feeds: an article saved as UTF-16 with a byte-order mark (what some editors call 'Unicode')."""
    (tmp_path / "unicode.txt").write_text(GOOD_TEXT, encoding="utf-16")
    result = run_cli("corpus", "add", str(tmp_path / "unicode.txt"))
    assert_no_traceback(result)
    assert result.exit_code == 1
    line = _refusal(result.stderr, "unicode.txt")
    assert "UTF-16" in line and "convert it to UTF-8" in line


SHELL_NAMES = ["a;rm -rf x$(id).txt", "two words & `touch pwned`.txt", "line\nbreak 'quoted'.txt"]


def test_file_names_with_shell_metacharacters_and_newlines_are_taken_as_plain_names(
    offline_workspace, tmp_path, monkeypatch
):
    """Feeds: good articles whose file names hold ; $() ` & quotes, spaces and a newline, and an empty one like them."""
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    (tmp_path / "x").mkdir()  # what `rm -rf x…` would remove if the name ever reached a shell
    monkeypatch.chdir(tmp_path)
    for number, name in enumerate(SHELL_NAMES):
        (incoming / name).write_text(f"Talks {number}\nDelegation {number} met in Pyongyang.\n", encoding="utf-8")
    (incoming / "empty;$(touch pwned).txt").write_bytes(b"")
    result = run_cli("corpus", "add", str(incoming))
    assert_no_traceback(result)
    assert result.exit_code == 1 and "3 added" in result.stdout
    assert "empty" in _refusal(result.stderr, "empty;$(touch pwned).txt")
    assert (tmp_path / "x").is_dir() and not list(tmp_path.rglob("pwned"))
    added = [a for a in load_corpus(offline_workspace) if a.metadata.get("original_file") in SHELL_NAMES]
    assert sorted(a.metadata["original_file"] for a in added) == sorted(SHELL_NAMES)
    for article in added:
        assert article.path.parent == offline_workspace.corpus
        assert re.fullmatch(r"[a-z0-9-]+\.txt", article.path.name), article.path.name


def test_an_article_id_that_climbs_out_or_is_absolute_is_refused_by_line(offline_workspace, tmp_path):
    """Feeds: JSON Lines articles with ids '/etc/passwd', 'a/../../b' and 'C:\\\\x', between two good ones."""
    lines = [
        {"id": "wire-ok-1", "text": "Kim inspected a factory."},
        {"id": "/etc/passwd", "text": "An absolute id."},
        {"id": "a/../../b", "text": "A climbing id."},
        {"id": "C:\\x", "text": "A drive letter."},
        {"id": "wire-ok-2", "text": "Shoigu visited Pyongyang."},
    ]
    (tmp_path / "batch.jsonl").write_text("\n".join(json.dumps(line) for line in lines) + "\n", encoding="utf-8")
    result = run_cli("corpus", "add", str(tmp_path / "batch.jsonl"))
    assert_no_traceback(result)
    assert result.exit_code == 1 and "2 added" in result.stdout
    for number in (2, 3, 4):
        assert "not allowed" in _refusal(result.stderr, f"batch.jsonl:{number}")
    ids = {a.id for a in load_corpus(offline_workspace)}
    assert {"wire-ok-1", "wire-ok-2"} <= ids
    assert sorted(p.name for p in offline_workspace.root.iterdir()) == sorted(
        ["annotate.yaml", "corpus", "exports", "guidelines", "labels"]
    )


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("---\nid: ../../outside\ntitle: x\n---\nSome text.\n", "not allowed"),
        ("Just text, no front matter.\n", "no front matter"),
        ("---\nid: [unclosed\n---\nSome text.\n", "not valid YAML"),
    ],
    ids=["id-climbing-out", "no-front-matter", "broken-front-matter"],
)
def test_a_broken_file_inside_corpus_is_named(offline_workspace, content, expected):
    """Feeds: a file put into corpus/ by hand with a bad id, no front matter or broken YAML."""
    (offline_workspace.corpus / "zz-by-hand.txt").write_text(content, encoding="utf-8")
    result = run_cli("corpus", "list")
    assert_no_traceback(result)
    assert result.exit_code == 1
    assert "zz-by-hand.txt" in result.stderr and expected in result.stderr


# --- scheme files -------------------------------------------------------------------------------

BROKEN_SCHEMES = {
    "empty file": (b"", "must be a mapping"),
    "not UTF-8": ("version: 1.0.0\nname: Caf\xe9\n".encode("latin-1"), "cannot be read"),
    "a list, not a mapping": (b"- PER\n- ORG\n", "must be a mapping"),
    "tab indentation": (b"version: 1.0.0\nentities:\n\t- name: PER\n", "not valid YAML"),
}


@pytest.mark.parametrize("case", sorted(BROKEN_SCHEMES))
def test_a_broken_scheme_file_stops_push_with_a_sentence_before_anything_is_sent(offline_workspace, case):
    """Feeds: labels/scheme.yaml that is empty, Latin-1, a YAML list, or indented with tabs."""
    content, expected = BROKEN_SCHEMES[case]
    offline_workspace.scheme_path.write_bytes(content)
    result = run_cli("push", "--project", "never created")
    assert_no_traceback(result)
    assert result.exit_code == 1
    assert "scheme.yaml" in result.stderr and expected in result.stderr


def test_a_scheme_with_several_problems_lists_each_with_its_line(offline_workspace):
    """Feeds: a scheme with a label missing its definition, a bad colour and a role without targets at once."""
    path = offline_workspace.scheme_path
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"(- name: ORG\n(?:\s+\w+: .*\n)*?)\s+definition: .*\n", r"\1", text, count=1)
    text = text.replace('color: "#4363d8"', 'color: "blue"', 1)
    text = re.sub(r"targets: \[[^\]]*\]", "targets: []", text, count=1)
    path.write_text(text, encoding="utf-8")
    result = run_cli("scheme", "--check")
    assert_no_traceback(result)
    assert result.exit_code == 1
    for expected in ("ORG needs a one-line definition", "color of GPE", "needs targets"):
        assert re.search(rf"line \d+: .*{re.escape(expected)}", result.stderr), (expected, result.stderr)
    assert "3 problem(s)" in result.stderr


# --- exports ------------------------------------------------------------------------------------


def _valid_task() -> dict:
    return json.loads((EXPORTS / "valid.json").read_text(encoding="utf-8"))[0]


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("latin1.json", '[{"data": {"text": "Caf\xe9"}}]'.encode("latin-1"), "not UTF-8"),
        ("picture.json", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not UTF-8"),
        ("truncated.json", json.dumps([_valid_task()], indent=2)[:300].encode("utf-8"), "not JSON"),
        ("bare-number.json", b"42", "single JSON number"),
    ],
    ids=["latin1", "binary", "truncated", "bare-number"],
)
def test_an_export_that_cannot_be_read_is_one_sentence_naming_it(offline_workspace, tmp_path, name, content, expected):
    """Feeds: an export that is Latin-1, a PNG, cut off half-way, or a bare number, to validate and pull."""
    path = tmp_path / name
    path.write_bytes(content)
    for command in (["validate", str(path)], ["pull", "--from-file", str(path)]):
        result = run_cli(*command)
        assert_no_traceback(result)
        assert result.exit_code == 2, (command, result.stderr)
        assert name in result.stderr and expected in result.stderr, (command, result.stderr)


def test_broken_tasks_in_an_export_are_quarantined_by_task_and_the_good_one_is_kept(offline_workspace, tmp_path):
    """Feeds: an export with a good task beside one without text, one whose annotations are not a list,
    and one with an annotation that is not an object."""
    good = _valid_task()
    no_text = {**_valid_task(), "id": 201, "data": {"title": "no text here"}}
    not_a_list = {**_valid_task(), "id": 202, "annotations": {"id": 1}}
    not_an_object = {**_valid_task(), "id": 203, "annotations": ["just a string"]}
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps([good, no_text, not_a_list, not_an_object]), encoding="utf-8")

    result = run_cli("pull", "--from-file", str(path), "--project", "mixed export")
    assert_no_traceback(result)
    assert result.exit_code == 0, result.stderr
    records = list(iter_records(offline_workspace.records_path(slugify("mixed export"))))
    assert [r["task_id"] for r in records] == [good["id"]]
    quarantined = list(iter_records(offline_workspace.quarantine_path(slugify("mixed export"))))
    codes = {(q["task_id"], q["problems"][0]["code"]) for q in quarantined}
    assert codes == {(201, "no-text"), (202, "bad-task"), (203, "bad-annotation")}
    for task in (201, 202, 203):
        assert f"task {task}" in result.stderr


def test_a_records_file_with_a_broken_line_names_it_and_checks_the_lines_after_it(offline_workspace, tmp_path):
    """Feeds: canonical records in JSON Lines with a half-written third line between good records."""
    from annotate.core.records import record_from_annotation
    from annotate.core.scheme import current_scheme

    task = _valid_task()
    names = current_scheme(offline_workspace).attribute_names
    record, _ = record_from_annotation(task, task["annotations"][0], annotator="a3f9c0d1e2b34f56", attribute_names=names)
    record["scheme_version"] = current_scheme(offline_workspace).version  # made under the current scheme
    bad = {**record, "annotation_id": "later", "entities": [{**record["entities"][0], "label": "COMPANY"}]}
    lines = [json.dumps(record), json.dumps({**record, "annotation_id": "x2"}), '{"article_id": "cut', json.dumps(bad)]
    path = tmp_path / "records.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_cli("validate", str(path))
    assert_no_traceback(result)
    assert result.exit_code == 1
    assert "line 3" in result.stdout and "not JSON" in result.stdout
    assert "COMPANY" in result.stdout  # the line after the broken one was still checked


# --- a project whose config was edited in Label Studio ---------------------------------------------


def test_pull_refuses_a_project_whose_config_was_edited_by_hand_and_push_restores_it(
    workspace: Workspace, label_studio, unique_title
):
    """Feeds: a pushed project whose label config was then changed through the API, as the UI's editor does:
    the PER label renamed PERSON and the tense choices removed."""
    pushed = run_cli("push", "--project", unique_title)
    assert pushed.exit_code == 0, pushed.stderr
    client = label_studio.connection().client
    project = next(p for p in client.projects.list(title=unique_title) if p.title == unique_title)
    config = derive.label_config(current_scheme(workspace))
    edited = config.replace('value="PER"', 'value="PERSON"')
    edited = re.sub(r"<View [^>]*>\s*<Header value=\"tense[^>]*/>\s*<Choices name=\"tense\".*?</Choices>\s*</View>",
                    "", edited, flags=re.S)
    assert 'name="tense"' not in edited
    client.projects.update(id=project.id, label_config=edited)

    refused = run_cli("pull", "--project", unique_title)
    assert_no_traceback(refused)
    assert refused.exit_code == 1
    message = refused.stderr
    assert "no longer matches labels/scheme.yaml" in message and "annotate push" in message
    assert "lacks PER" in message and "PERSON" in message and "tense is missing" in message
    assert not workspace.records_path(slugify(unique_title)).exists()

    assert run_cli("push", "--project", unique_title).exit_code == 0
    assert client.projects.get(id=project.id).label_config.strip() == config.strip()
    pulled = run_cli("pull", "--project", unique_title)
    assert pulled.exit_code == 0, pulled.stderr


def test_a_project_title_that_climbs_out_keeps_every_file_under_exports(offline_workspace):
    """Feeds: `pull --from-file` with the project titles '../../outside' and '/etc/cron.d/x'."""
    root = offline_workspace.root
    before = {p for p in root.parent.rglob("*") if p.is_file()}
    for title in ("../../outside", "/etc/cron.d/x"):
        result = run_cli("pull", "--from-file", str(EXPORTS / "valid.json"), "--project", title)
        assert_no_traceback(result)
        assert result.exit_code == 0, result.stderr
        assert offline_workspace.records_path(slugify(title)).is_file()
    written = {p for p in root.parent.rglob("*") if p.is_file()} - before
    assert written and all(
        p.is_relative_to(offline_workspace.exports) or p.is_relative_to(offline_workspace.state) for p in written
    ), sorted(map(str, written))
    assert not Path("/etc/cron.d/x").exists()


def test_a_version_or_dataset_name_given_as_an_absolute_path_is_refused(offline_workspace, tmp_path):
    """Feeds: --version /tmp/…/1.0.0 and dataset.name set to an absolute path in annotate.yaml."""
    from tests.builders import write_gold_and_records

    write_gold_and_records(offline_workspace)
    target = tmp_path / "elsewhere"
    result = run_cli("publish", "--version", f"{target}/1.0.0")
    assert_no_traceback(result)
    assert result.exit_code != 0 and "X.Y.Z" in result.stderr
    settings = offline_workspace.root / "annotate.yaml"
    settings.write_text(
        settings.read_text(encoding="utf-8").replace("name: nk-russia-events", f"name: {target}"), encoding="utf-8"
    )
    result = run_cli("publish", "--version", "1.0.0")
    assert_no_traceback(result)
    assert result.exit_code != 0 and "annotate.yaml" in result.stderr
    assert not target.exists()
    assert sorted(os.listdir(offline_workspace.exports)) == ["gold", "records"]
