"""Watching submissions: each annotation checked as it arrives, its problems shown to its annotator.

`watch` polls the title's projects (its passes, or its one project, and its curation
project) every few seconds for tasks changed since the last look, checks each new or
updated annotation the way `pull` does (conversion, JSON Schema, the scheme: a role the
event type does not have, a role pointing at the wrong entity type, ...) and writes what
is wrong into the task's `feedback` data field. The labelling config shows that field
above the article, so the annotator sees it in the labelling view seconds after Submit;
once the annotation is fixed and updated, the field is emptied again.

Why polling rather than Label Studio's webhooks: the server refuses webhooks to loopback
addresses while its SSRF protection is on, and turning that off for the whole server to
reach a receiver on the same machine is the worse trade. A poll asks for changed tasks
only (one small request per project when nothing changed) and works the same against a
team server reached through LABEL_STUDIO_URL.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from annotate.core import derive
from annotate.core.scheme import Scheme, current_scheme
from annotate.core.settings import load_project_settings
from annotate.core.exports import task_records
from annotate.core.workspace import Workspace
from annotate.labelstudio.client import Connection, connect, find_project
from annotate.labelstudio.passes import curation_title, pass_projects
from annotate.labelstudio.feedback import describe_problem, feedback_message
from annotate.labelstudio.taskquery import FILTER_TIME, task_query

FIELD = derive.FEEDBACK
PAGE_SIZE = 100


@dataclass(frozen=True)
class Checked:
    """One annotation checked: where it is, and what is wrong with it (nothing when it is valid)."""

    project: str
    task_id: int
    annotation_id: int
    problems: tuple[str, ...]


def watched_projects(connection: Connection, title: str) -> list[Any]:
    """The projects whose submissions are checked: the passes (or the one project), and the curation project."""
    found = pass_projects(connection, title) or [p for p in [find_project(connection, title)] if p is not None]
    curation = find_project(connection, curation_title(title))
    return found + ([curation] if curation is not None else [])


def watch(
    workspace: Workspace,
    *,
    project: str | None = None,
    interval: float = 2.0,
    rounds: int | None = None,
    stop: threading.Event | None = None,
) -> Iterator[Checked]:
    """Check every annotation submitted or updated in the title's projects, for `rounds` polls (None: until `stop`)."""
    title = project or load_project_settings(workspace).project
    scheme = current_scheme(workspace)
    connection = connect(workspace)
    stop = stop or threading.Event()
    watchers: dict[int, _Project] = {}
    done = 0
    while not stop.is_set() and (rounds is None or done < rounds):
        for remote in watched_projects(connection, title):
            watcher = watchers.setdefault(remote.id, _Project(remote.id, remote.title))
            yield from watcher.poll(connection, scheme)
        done += 1
        if rounds is None or done < rounds:
            stop.wait(interval)


class _Project:
    """What has been checked in one project: each task's last checked annotation, and the newest change seen."""

    def __init__(self, project_id: int, title: str) -> None:
        self.id = project_id
        self.title = title
        self.since: str | None = None
        self.checked: dict[int, tuple[Any, Any]] = {}

    def poll(self, connection: Connection, scheme: Scheme) -> Iterator[Checked]:
        for task in self._changed(connection):
            annotation = _latest(task)
            if annotation is None:
                continue
            stamp = (annotation.get("id"), annotation.get("updated_at"))
            if self.checked.get(task["id"]) == stamp:
                continue  # a change of the task itself (our own feedback, say), not of its annotation
            problems = _problems(task, annotation, scheme)
            _show(connection, task, feedback_message(annotation, problems))
            self.checked[task["id"]] = stamp
            yield Checked(self.title, task["id"], annotation["id"], tuple(problems))

    def _changed(self, connection: Connection) -> Iterator[dict[str, Any]]:
        """Tasks updated since the newest change seen (every task on the first poll), with annotations."""
        after, newest = 0, self.since
        while True:
            params = {"project": self.id, "fields": "all", "page": 1, "page_size": PAGE_SIZE}
            params["query"] = task_query(after, self.since)
            response = connection.get_raw("api/tasks/", params, f"checking new annotations in {self.title!r}")
            tasks = json.loads(response.content).get("tasks") or []
            for task in tasks:
                newest = max(newest or "", str(task.get("updated_at") or ""))
                yield task
            if len(tasks) < PAGE_SIZE:
                break
            after = tasks[-1]["id"]
        self.since = _filter_time(newest) if newest else self.since


def _filter_time(stamp: str) -> str:
    """A task's `updated_at` in the form the Data Manager's datetime filter reads."""

    when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return when.astimezone(UTC).strftime(FILTER_TIME)


def _latest(task: dict[str, Any]) -> dict[str, Any] | None:
    annotations = [a for a in task.get("annotations") or [] if isinstance(a, dict) and not a.get("was_cancelled")]
    return max(annotations, key=lambda a: (str(a.get("updated_at") or ""), a.get("id") or 0), default=None)


def _problems(task: dict[str, Any], annotation: dict[str, Any], scheme: Scheme) -> list[str]:
    one = {**task, "annotations": [annotation]}
    for record, problems in task_records(one, scheme, annotator=lambda _: "checking"):
        return [describe_problem(p, record) for p in problems]
    return []


def _show(connection: Connection, task: dict[str, Any], message: str) -> None:
    """Write the message into the task's feedback field, when it changes (an empty one clears it)."""
    data = dict(task.get("data") or {})
    if data.get(FIELD, "") == message:
        return
    data[FIELD] = message
    with connection.errors(f"showing the check of task {task['id']} to its annotator"):
        connection.client.tasks.update(id=task["id"], data=data)
