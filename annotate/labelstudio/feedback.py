"""Problems back to the annotator, inside Label Studio.

Label Studio 1.23's open-source server has no comments API, so an annotation's problems are
written into a field of its task's data, `problems`: the label config shows it above the
article in the labelling view, and the Data Manager shows it as a column that can be
filtered ("problems contains my e-mail") to list one's own tasks with problems. Each line
names whose annotation it is about, so on a task with several annotators everyone reads
only their own lines. The field is emptied once the task's annotations validate.

`task_feedback` makes the text from problems; `send_feedback` writes it to a task when it
changed. Pull calls both for every task it converts; anything else that validates a
submitted annotation (a webhook, say) can call them the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from annotate.core.derive import PROBLEMS
from annotate.core.records import Problem, iter_records
from annotate.core.workspace import Workspace, slugify
from annotate.labelstudio.client import Connection
from annotate.labelstudio.pseudonyms import Pseudonyms

FEEDBACK_FIELD = PROBLEMS
"""The task data field holding the problems of the task's annotations, in plain words."""


@dataclass(frozen=True)
class AnnotationProblems:
    """One annotation's problems and who made it (their e-mail, or a pseudonym when it is unknown)."""

    who: str
    annotation: Any
    problems: tuple[Problem, ...]
    record: Mapping[str, Any] | None = None
    """The annotation as a record, to name its regions by their text rather than their ids."""


def plain(problem: Problem, record: Mapping[str, Any] | None = None) -> str:
    """A problem as an annotator reads it: the sentence only, regions named by their text, no codes."""
    message = problem.message.strip()
    for region, words in _region_texts(record or {}).items():
        message = message.replace(f"'{region}'", repr(words))
    return message[:1].upper() + message[1:]


def _region_texts(record: Mapping[str, Any]) -> dict[str, str]:
    texts = {str(e.get("id")): str(e.get("text")) for e in record.get("entities") or [] if isinstance(e, dict)}
    for event in record.get("events") or []:
        if isinstance(event, dict) and isinstance(event.get("trigger"), dict):
            texts[str(event.get("id"))] = str(event["trigger"].get("text"))
    return texts


def task_feedback(items: Iterable[AnnotationProblems]) -> str:
    """The text of a task's feedback field: one line per problem, each naming whose annotation it is."""
    lines = []
    for item in sorted(items, key=lambda i: (i.who, str(i.annotation))):
        for problem in item.problems:
            said = plain(problem, item.record)
            lines.append(f"For {item.who}, annotation {item.annotation}: {said}. Fix it and submit again.")
    return "\n".join(lines)


def send_feedback(connection: Connection, task_id: int, data: Mapping[str, Any], text: str) -> str | None:
    """Write `text` into the task's feedback field when it differs from what the task shows.

    Returns None when nothing needed writing, else the task's new `updated_at` ("" if the server gave none).
    """
    if (data.get(FEEDBACK_FIELD) or "") == text:
        return None
    from label_studio_sdk.core.api_error import ApiError

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
    from annotate.core.scheme import current_scheme
    from annotate.core.settings import load_project_settings
    from annotate.core.validate import FileKind, read_items, task_records, validate_record

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
        kind, items = read_items(Path(path))
        for item in items:
            if kind is FileKind.records:
                if isinstance(item, Problem):
                    found.setdefault("unknown", []).append(item)
                else:
                    found.setdefault(str(item.get("annotator")), []).extend(validate_record(item, scheme))
                continue
            for record, problems in task_records(item, scheme, annotator=names):
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
