"""`annotate watch`: each submission checked, its problems written where its annotator sees them."""

from __future__ import annotations

import shutil

from annotate.core.corpus import Article, article_id_for, write_article
from annotate.labelstudio.passes import pass_projects
from annotate.labelstudio.projects import project_tasks
from annotate.labelstudio.push import push
from annotate.labelstudio.watch import FIELD

from .helpers import assert_no_traceback, run_cli
from .builders import annotate_in_label_studio, entity, event, new_annotators

TEXT = "Russia sent shells to North Korea."


def test_watch_once_names_a_wrong_role_in_the_task_and_clears_it_when_fixed(workspace, label_studio, unique_title):
    shutil.rmtree(workspace.corpus)
    write_article(workspace.corpus, Article(id=article_id_for(TEXT), text=TEXT, title="Shells"))
    push(workspace, project=unique_title, annotators_per_task=2)
    (user,) = new_annotators(workspace, label_studio, 1)
    connection = label_studio.connection()
    first, second = pass_projects(connection, unique_title)
    (task,) = project_tasks(connection, first.id).values()
    (untouched,) = project_tasks(connection, second.id).values()
    shells = entity(TEXT, "s", "shells", "WEA")
    wrong = event(TEXT, "v", "sent", "Transaction.Transfer", [("Denier", "s")])
    made = annotate_in_label_studio(label_studio, task.id, user, [shells], [wrong])

    result = run_cli("watch", "--project", unique_title, "--once")
    assert_no_traceback(result)
    assert result.exit_code == 0, result.output
    assert f"task {task.id}, annotation {made}: 1 problem(s)" in result.stdout
    assert "'sent' (Transaction.Transfer): role 'Denier' is not a role of Transaction.Transfer" in result.stdout
    shown = connection.client.tasks.get(id=task.id).data[FIELD]
    assert shown.startswith("Your last submission has 1 problem(s)") and "Denier" in shown
    assert FIELD not in connection.client.tasks.get(id=untouched.id).data  # nothing was submitted there

    right = event(TEXT, "v", "sent", "Transaction.Transfer", [("Artifact", "s")])
    from annotate.core.records import record_to_results

    connection.client.annotations.update(id=made, result=record_to_results({"entities": [shells], "events": [right]}))
    again = run_cli("watch", "--project", unique_title, "--once")
    assert f"annotation {made}: valid" in again.stdout
    assert connection.client.tasks.get(id=task.id).data[FIELD] == ""
