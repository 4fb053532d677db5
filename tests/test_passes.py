"""Blind double annotation: a project per pass holding the same tasks, merged again by pull."""

from __future__ import annotations

import uuid

import pytest

from annotate.core.errors import UsageError
from annotate.core.records import iter_records
from annotate.core.corpus import load_corpus
from annotate.labelstudio.passes import pass_projects, pass_title
from annotate.labelstudio.pull import pull
from annotate.labelstudio.projects import project_tasks
from annotate.labelstudio.push import push

from .builders import REPO
from .helpers import assert_no_traceback, run_cli

RECORDED = REPO / "corpus" / "annotations"


def _authors(client, project_id: int) -> set[int]:
    found = set()
    for task in client.tasks.list(project=project_id, fields="all"):
        for annotation in task.annotations or []:
            author = annotation["completed_by"] if isinstance(annotation, dict) else annotation.completed_by
            found.add(author.get("id") if isinstance(author, dict) else author)
    return found


def test_two_annotators_per_task_get_one_project_each_with_the_same_tasks(workspace, label_studio, unique_title):
    result = push(workspace, project=unique_title, annotators_per_task=2)
    connection = label_studio.connection()
    passes = pass_projects(connection, unique_title)
    assert [p.title for p in passes] == [pass_title(unique_title, 0), pass_title(unique_title, 1)]
    assert [p.title for p in result.passes] == [p.title for p in passes]
    corpus = sorted(a.id for a in load_corpus(workspace))
    for project in passes:
        assert connection.client.projects.get(id=project.id).maximum_annotations == 1
        assert sorted(project_tasks(connection, project.id)) == corpus
    # No shared project of the title exists for anyone to open.
    assert unique_title not in {p.title for p in connection.client.projects.list(title=unique_title)}

    again = push(workspace, project=unique_title)
    assert len(again.passes) == 2 and all(not p.created and len(p.skipped) == 5 for p in again.passes)


def test_recorded_passes_land_in_their_own_projects_and_pull_merges_them(workspace, label_studio, unique_title):
    push(workspace, project=unique_title, annotators_per_task=2)
    tag = uuid.uuid4().hex[:8]  # accounts of this test's own: no test order counts
    for name in ("pass-c", "pass-d"):
        done = push(workspace, project=unique_title, annotations=RECORDED / f"{name}.jsonl", annotator=f"{name}-{tag}@seed.example")
        assert done.annotations.imported == 5
    again = push(workspace, project=unique_title, annotations=RECORDED / "pass-c.jsonl", annotator=f"pass-c-{tag}@seed.example")
    assert again.annotations.imported == 0 and again.annotations.skipped == 5

    client = label_studio.connection().client
    users = {u.email: u.id for u in client.users.list()}
    first, second = pass_projects(label_studio.connection(), unique_title)
    assert _authors(client, first.id) == {users[f"pass-c-{tag}@seed.example"]}
    assert _authors(client, second.id) == {users[f"pass-d-{tag}@seed.example"]}

    pulled = pull(workspace, project=unique_title)
    records = list(iter_records(pulled.records_path))
    assert pulled.total_records == 10 == len(records) and len(pulled.passes) == 2
    assert len({r["annotator"] for r in records}) == 2
    assert {r["article_id"] for r in records} == {a.id for a in load_corpus(workspace)}
    assert pulled.records_path == workspace.records_path(pulled.slug) and pulled.project == unique_title


def test_a_shared_project_is_not_split_into_passes_behind_the_maintainers_back(workspace, label_studio, unique_title):
    push(workspace, project=unique_title, annotators_per_task=2, blind=False)
    with pytest.raises(UsageError, match="shared project"):
        push(workspace, project=unique_title, annotators_per_task=3)
    result = run_cli("push", "--project", unique_title, "--annotators-per-task", "2", "--shared")
    assert_no_traceback(result)
    assert result.exit_code == 0 and "pass A" not in result.stdout


def test_the_cli_names_every_pass(workspace, label_studio, unique_title):
    result = run_cli("push", "--project", unique_title, "--annotators-per-task", "2")
    assert_no_traceback(result)
    assert result.exit_code == 0, result.output
    assert pass_title(unique_title, 0) in result.stdout and pass_title(unique_title, 1) in result.stdout
    assert "2 passes" in result.stdout


def test_a_title_that_its_pass_titles_shorten_keeps_its_passes_and_a_shared_one_stays_shared(
    workspace, label_studio, unique_title
):
    blind = f"{unique_title} is a title pass titles shorten"
    shared = f"{unique_title} is another title they would cut"
    assert max(len(blind), len(shared)) <= 50 and not pass_title(blind, 0).startswith(blind)
    push(workspace, project=blind, annotators_per_task=2)
    push(workspace, project=shared, annotators_per_task=2, blind=False)

    again = push(workspace, project=blind)
    assert [p.title for p in again.passes] == [pass_title(blind, 0), pass_title(blind, 1)]
    assert all(not p.project_created and p.created == [] and len(p.skipped) == 5 for p in again.passes)
    same = push(workspace, project=shared)
    assert same.passes == [] and not same.project_created and same.created == [] and len(same.skipped) == 5
    with pytest.raises(UsageError, match="shared project"):
        push(workspace, project=shared, annotators_per_task=3)
