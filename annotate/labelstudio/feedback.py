"""Problems back to the annotator, inside Label Studio: what `annotate pull` found, in the one feedback field.

Label Studio 1.23's open-source server has no comments API, so problems are written into the
task data field `feedback` (`derive.FEEDBACK`), the same field `annotate watch` writes within
seconds of a submission: the label config shows it above the article in the labelling view,
and the Data Manager shows it as a column, filterable ("feedback is not empty") to list one's
tasks with problems. Pull writes it for every task it converts whose annotations it
quarantines, in watch's words (regions named by their text and label); on a shared project,
where one task holds several annotators' work, each part is addressed to its annotator by
e-mail. The field is emptied once the task's annotations validate.

`task_feedback` makes the text; `send_feedback` writes it when it changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from label_studio_sdk.core.api_error import ApiError

from annotate.core.derive import FEEDBACK
from annotate.core.exports import RecordsFile, read_items, task_records
from annotate.core.scheme import current_scheme
from annotate.core.settings import load_project_settings
from annotate.core.validate import validate_record
from annotate.core.records import Problem, iter_records
from annotate.core.workspace import Workspace, slugify
from annotate.labelstudio.client import Connection
from annotate.labelstudio.pseudonyms import Pseudonyms

FEEDBACK_FIELD = FEEDBACK
"""The task data field holding the problems of the task's annotations, in plain words."""


@dataclass(frozen=True)
class AnnotationProblems:
    """One annotation's problems and who made it (their e-mail, or a pseudonym when it is unknown)."""

    who: str
    annotation: Any
    problems: tuple[Problem, ...]
    record: Mapping[str, Any] | None = None
    """The annotation as a record, to name its regions by their text rather than their ids."""


def describe_problem(problem: Problem, record: Mapping[str, Any]) -> str:
    """A problem as the annotator sees their regions: by text and label, not by region id."""
    names = {e["id"]: f"{e.get('text')!r} ({e.get('label')})" for e in record.get("entities", [])}
    names.update({v["id"]: f"{v['trigger'].get('text')!r} ({v.get('type')})" for v in record.get("events", [])})
    where = names.get(str(problem.region)) if problem.region is not None else None
    return f"{where}: {problem.message}" if where else problem.message


def feedback_message(annotation: dict[str, Any], problems: list[str]) -> str:
    if not problems:
        return ""
    numbered = "; ".join(f"{n}. {text}" for n, text in enumerate(problems, 1))
    return f"Your last submission has {len(problems)} problem(s) - fix them and press Update: {numbered}"


def task_feedback(items: Iterable[AnnotationProblems]) -> str:
    """The feedback field's text for a task: watch's message, addressed by e-mail when several annotators erred."""
    described = [
        (item, [_by_text(describe_problem(p, dict(item.record or {})), item.record or {}) for p in item.problems])
        for item in sorted(items, key=lambda i: (i.who, str(i.annotation)))
        if item.problems
    ]
    if len(described) == 1:
        return feedback_message({}, described[0][1])
    return " ".join(f"For {item.who}: {feedback_message({}, problems)}" for item, problems in described)


def _by_text(message: str, record: Mapping[str, Any]) -> str:
    """Region ids inside a message ('a2') replaced by the region's words ('shells'), which the annotator sees."""
    names = {str(e.get("id")): str(e.get("text")) for e in record.get("entities") or [] if isinstance(e, dict)}
    for event in record.get("events") or []:
        if isinstance(event, dict) and isinstance(event.get("trigger"), dict):
            names[str(event.get("id"))] = str(event["trigger"].get("text"))
    for region, words in names.items():
        message = message.replace(f"'{region}'", repr(words))
    return message


def send_feedback(connection: Connection, task_id: int, data: Mapping[str, Any], text: str) -> str | None:
    """Write `text` into the task's feedback field when it differs from what the task shows.

    Returns None when nothing needed writing, else the task's new `updated_at` ("" if the server gave none).
    """
    if (data.get(FEEDBACK_FIELD) or "") == text:
        return None
    # Through the SDK's authenticated client but read raw: `updated_at` as the task list spells it.
    http = connection.client._client_wrapper.httpx_client
    with connection.errors(f"writing the problems of task {task_id} into its data"):
        response = http.request(f"api/tasks/{task_id}/", method="PATCH", json={"data": {**data, FEEDBACK_FIELD: text}})
        if not 200 <= response.status_code < 300:
            raise ApiError(status_code=response.status_code, body=response.text, headers=dict(response.headers))
    try:
        return str(response.json().get("updated_at") or "")
    except ValueError:
        return ""


# --- for a maintainer: every problem, per annotator ---------------------------------------


@dataclass
class AnnotatorProblems:
    """One annotator's problems: pseudonym, e-mail where this machine knows it, and each problem."""

    pseudonym: str
    email: str | None
    problems: list[Problem]

    def as_dict(self) -> dict[str, Any]:
        return {"pseudonym": self.pseudonym, "email": self.email, "problems": [p.as_dict() for p in self.problems]}


def problems_by_annotator(
    workspace: Workspace, path: Path | None = None, *, project: str | None = None
) -> list[AnnotatorProblems]:
    """Problems grouped by annotator: of a file (export or records), or of the last pull's quarantine."""
    scheme = current_scheme(workspace)
    names = Pseudonyms(workspace)
    found: dict[str, list[Problem]] = {}
    if path is None:
        title = project or load_project_settings(workspace).project
        quarantine = workspace.quarantine_path(slugify(title))
        for entry in iter_records(quarantine) if quarantine.exists() else []:
            who = str((entry.get("record") or {}).get("annotator") or "unknown")
            found.setdefault(who, []).extend(_problem(p) for p in entry.get("problems") or [])
    else:
        items = read_items(Path(path))
        if isinstance(items, RecordsFile):
            for item in items.records:
                if isinstance(item, Problem):
                    found.setdefault("unknown", []).append(item)
                elif isinstance(item, dict):
                    found.setdefault(str(item.get("annotator")), []).extend(validate_record(item, scheme))
        else:
            for task in items.tasks:
                for record, problems in task_records(task, scheme, annotator=names):
                    found.setdefault(str(record.get("annotator") or "unknown"), []).extend(problems)
    rows = []
    for name, problems in found.items():
        who = names.mapping.get(name, "")
        if problems:
            rows.append(AnnotatorProblems(name, who if "@" in who else None, problems))
    return sorted(rows, key=lambda r: (-len(r.problems), r.email or "~", r.pseudonym))


def _problem(data: Mapping[str, Any]) -> Problem:
    return Problem(
        str(data.get("code")), str(data.get("message")), data.get("task"), data.get("annotation"), data.get("region")
    )
