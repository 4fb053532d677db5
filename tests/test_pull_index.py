"""The records a pull writes do not depend on how it got there: converted aside or in place, merged through the line index or by reading every record.

A full pull of more than a page converts its pages in a second process; an incremental
pull copies the kept lines of a records file through its line index when the index matches
the file, and reads the file record by record otherwise. Each test runs both ways on the
session's real Label Studio and compares the bytes written.
"""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from annotate.core.workspace import slugify
from annotate.labelstudio import pull as pull_lib
from annotate.labelstudio.pull import STATE_FILE, pull
from tests.test_faults import _project, _records, _result, _text

TASKS = 250
"""Three pages: a full pull of them converts in a second process."""


def _scanned(monkeypatch) -> list[Path]:
    """The files the merge reads record by record, from now on."""
    seen: list[Path] = []
    real = pull_lib.scan_records

    def spy(path):
        seen.append(Path(path))
        return real(path)

    monkeypatch.setattr(pull_lib, "scan_records", spy)
    return seen


def test_a_full_pull_converted_aside_writes_the_bytes_of_one_converted_in_place(
    workspace, label_studio, unique_title, monkeypatch
):
    _project(workspace, label_studio, unique_title, tasks=TASKS)
    aside = pull(workspace, project=unique_title, full=True)
    written = aside.records_path.read_bytes()
    assert aside.records_written == aside.total_records == TASKS
    assert not multiprocessing.active_children()  # the converting process ended with the pull

    monkeypatch.setattr(pull_lib, "CONVERT_ASIDE_OVER", 10 * TASKS)  # every page converted by this process
    in_place = pull(workspace, project=unique_title, full=True)
    assert in_place.records_path.read_bytes() == written
    assert (in_place.tasks_fetched, in_place.records_written) == (aside.tasks_fetched, aside.records_written)
    assert sorted(r["article_id"] for r in _records(workspace, unique_title)) == [
        f"fault-{n:04d}" for n in range(TASKS)
    ]


def test_an_incremental_pull_through_the_line_index_writes_the_bytes_of_one_reading_every_record(
    workspace, label_studio, unique_title, monkeypatch
):
    project, _ = _project(workspace, label_studio, unique_title, tasks=TASKS)
    first = pull(workspace, project=unique_title, full=True)
    records = first.records_path
    checkpoint = workspace.project_state(slugify(unique_title)) / STATE_FILE
    before = {path: path.read_bytes() for path in (records, checkpoint)}

    client = label_studio.connection().client
    by_task = {r["task_id"]: r for r in _records(workspace, unique_title)}
    tasks = sorted(by_task)
    updated, deleted = [by_task[tasks[3]], by_task[tasks[200]]], by_task[tasks[120]]
    for record in updated:
        number = int(record["article_id"].removeprefix("fault-"))
        client.annotations.update(id=int(record["annotation_id"]), result=_result(_text(number), extra=True))
    client.annotations.delete(id=int(deleted["annotation_id"]))

    scanned = _scanned(monkeypatch)
    through_index = pull(workspace, project=unique_title)
    assert records not in scanned  # the kept lines were copied through the index, never parsed
    indexed = records.read_bytes()

    for path, content in before.items():
        path.write_bytes(content)  # the same start again; the rewritten records file no longer matches its index
    removed = records.with_name(f"{slugify(unique_title)}.removed.jsonl")
    removed.unlink()
    scanned.clear()
    by_reading = pull(workspace, project=unique_title)
    assert records in scanned  # this time every kept record was read
    assert records.read_bytes() == indexed
    for result in (through_index, by_reading):
        assert (result.tasks_fetched, result.removed, result.total_records) == (3, 1, TASKS - 1)

    now = {r["annotation_id"]: r for r in _records(workspace, unique_title)}
    assert deleted["annotation_id"] not in now
    assert all(len(now[r["annotation_id"]]["entities"]) == 2 for r in updated)
    assert [json.loads(line)["record"]["annotation_id"] for line in removed.read_text().splitlines()] == [
        deleted["annotation_id"]
    ]
    assert project.id


def test_a_records_file_edited_by_hand_is_read_in_full_and_keeps_the_edit(
    workspace, label_studio, unique_title, monkeypatch
):
    _project(workspace, label_studio, unique_title, tasks=TASKS)
    records = pull(workspace, project=unique_title, full=True).records_path
    lines = records.read_text(encoding="utf-8").splitlines(keepends=True)
    edited = json.loads(lines[7])
    edited["title"] = "Fixed by hand"  # a valid record, another length: the index no longer fits the file
    lines[7] = json.dumps(edited, ensure_ascii=False) + "\n"
    records.write_text("".join(lines), encoding="utf-8")

    scanned = _scanned(monkeypatch)
    pull(workspace, project=unique_title)
    assert records in scanned
    assert records.read_text(encoding="utf-8").splitlines(keepends=True) == lines

    scanned.clear()
    pull(workspace, project=unique_title)  # the index written by that pull matches again
    assert records not in scanned
    assert records.read_text(encoding="utf-8").splitlines(keepends=True) == lines


def test_kept_lines_copied_in_runs_are_the_lines_kept_and_a_line_not_where_its_index_says_is_refused(
    tmp_path, monkeypatch
):
    from annotate.core import line_index

    records, index = tmp_path / "records.jsonl", tmp_path / "records.index"
    lines = [
        (json.dumps({"task_id": n, "text": "é" * (n % 7) * 9}, ensure_ascii=False) + "\n").encode() for n in range(40)
    ]
    line_index.write_indexed(
        records, index, ((line, line_index.entry_line(n, f"a{n}", len(line)), 1) for n, line in enumerate(lines))
    )
    found = line_index.load(index, records)
    assert found is not None and [entry.task_id for entry in found] == list(range(40))
    gone = {0, 5, 6, 17, 39}
    monkeypatch.setattr(line_index, "BLOCK", 150)  # runs longer than this are cut into several reads
    copied = list(line_index.kept_blocks(records, found, lambda entry: entry.task_id not in gone))
    assert len(copied) > 4  # more runs than the gaps alone make
    assert b"".join(block for block, _, _ in copied) == b"".join(l for n, l in enumerate(lines) if n not in gone)
    assert "".join(text for _, text, _ in copied) == "".join(
        line_index.entry_line(n, f"a{n}", len(l)) for n, l in enumerate(lines) if n not in gone
    )
    assert sum(count for _, _, count in copied) == 35

    shifted = bytearray(records.read_bytes())
    shifted[len(lines[0]) - 1 : len(lines[0]) + 1] = b" \n"  # the first line now ends one byte late
    records.write_bytes(bytes(shifted))
    assert line_index.load(index, records) is None  # rewritten: the index no longer matches
    with pytest.raises(ValueError):
        list(line_index.kept_blocks(records, found, lambda entry: True))
