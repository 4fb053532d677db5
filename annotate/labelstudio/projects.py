"""A Label Studio project and what goes into it: its config and instructions, its tasks, and records.

`ensure_project` creates a project or brings its label config and instructions up to date
(push and adjudicate's curation project share it; `ensure_scheme_project` is the annotation
project's: the scheme's config, the guidelines as instructions); `project_tasks` lists its tasks by
article id; `push_predictions` and `import_annotations` send canonical records into its
tasks as predictions or as one account's annotations, each line checked first. No request
that stores something is retried: a retried POST whose first answer was lost would store
it twice.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from label_studio_sdk.core.api_error import ApiError
from label_studio_sdk.core.request_options import RequestOptions

from annotate.core import derive
from annotate.core.corpus import text_hash
from annotate.core.errors import AnnotateError, LabelConfigRefused, PushInterrupted, UsageError
from annotate.core.inputs import InputRefused
from annotate.core.progress import Progress, ProgressCallback
from annotate.core.records import BadLine, Problem, json_lines, record_to_results
from annotate.core.scheme import Scheme
from annotate.core.validate import validate_record
from annotate.core.workspace import Workspace
from annotate.core.scheme_versions import config_version, needs_migration
from annotate.labelstudio.client import Connection, find_project
from annotate.labelstudio.instructions import instructions
from annotate.labelstudio.team import team_add

TASK_PAGE_SIZE = 100
NO_RETRY: RequestOptions = {"max_retries": 0}  # a retried POST could store the same tasks or predictions twice


class Stage(str, Enum):
    tasks = "tasks"
    predictions = "predictions"
    annotations = "annotations"



@dataclass
class PredictionIssue:
    """A record of the predictions file that was not uploaded, and why."""

    line: int
    article_id: str | None
    reason: str

    def __str__(self) -> str:
        article = f", article {self.article_id}" if self.article_id else ""
        return f"line {self.line}{article}: {self.reason}"


@dataclass(kw_only=True)
class RecordsUpload:
    """What happened to a file of canonical records sent to the project's tasks."""

    file: str
    skipped: int = 0
    """Records whose task already had them (same model version, or an annotation by the same account)."""
    refused: list[PredictionIssue] = field(default_factory=list)
    not_in_project: list[PredictionIssue] = field(default_factory=list)


@dataclass(kw_only=True)
class PredictionsResult(RecordsUpload):
    model_version: str
    uploaded: int = 0


@dataclass(kw_only=True)
class AnnotationsResult(RecordsUpload):
    """Recorded annotations (canonical records) imported as one account's annotations."""

    annotator: str
    new_account: Any = None
    """The account created for them (with its first-login password), when it did not exist."""
    imported: int = 0



@dataclass
class Task:
    """A task of the project as push and the record uploads compare it to the corpus."""

    id: int
    text_sha256: str
    text: str | None
    model_versions: set[str]



# --- the project ----------------------------------------------------------------------------


PROJECT_FIELDS = (
    "id",
    "title",
    "label_config",
    "expert_instruction",
    "show_instruction",
    "maximum_annotations",
    "task_number",
)
"""The fields of a project that `ensure_project` compares and push reads (its task count)."""

LOOK_UP: Any = object()
"""`ensure_project(found=LOOK_UP)`: the project is looked up by its title first."""


def ensure_project(
    connection: Connection,
    title: str,
    *,
    label_config: str,
    instructions_html: str,
    annotators_per_task: int | None = None,
    found: Any = LOOK_UP,
) -> tuple[Any, bool]:
    """The project with this title, created or brought up to date; and whether it was created.

    `found` is the project of this title as the caller listed it just now (None: there is none),
    saving the look-up; when the listing carried every field of `PROJECT_FIELDS` it is not
    read again.
    """
    client = connection.client
    settings: dict[str, Any] = {"expert_instruction": instructions_html, "show_instruction": True}
    if annotators_per_task is not None:
        settings["maximum_annotations"] = annotators_per_task
    existing = find_project(connection, title) if found is LOOK_UP else found
    if existing is None:
        with connection.errors(f"creating the project {title!r}"):
            made = client.projects.create(title=title, label_config=label_config, request_options=NO_RETRY, **settings)
        return made, True
    if found is not LOOK_UP and all(getattr(existing, name, None) is not None for name in PROJECT_FIELDS):
        return _brought_up_to_date(connection, title, existing, label_config, settings), False
    with connection.errors(f"reading the project {title!r}"):
        current = client.projects.get(id=existing.id)
    return _brought_up_to_date(connection, title, current, label_config, settings), False


def _brought_up_to_date(
    connection: Connection, title: str, current: Any, label_config: str, settings: dict[str, Any]
) -> Any:
    """The project as read, after sending what differs from `label_config` and `settings` (nothing when all agree)."""
    if (current.label_config or "").strip() != label_config.strip():  # Label Studio drops the final newline
        _check_label_config(connection, current, label_config)
        settings["label_config"] = label_config
    if _settings_differ(current, settings):
        with connection.errors(f"updating the project {title!r}"):
            connection.client.projects.update(id=current.id, **settings)
    return current


def _settings_differ(project: Any, settings: dict[str, Any]) -> bool:
    """Whether updating the project with `settings` would change anything (a push with nothing new sends nothing)."""
    return any(getattr(project, name, None) != value for name, value in settings.items())


def ensure_scheme_project(
    connection: Connection,
    workspace: Workspace,
    scheme: Scheme,
    title: str,
    *,
    annotators_per_task: int | None = None,
    found: Any = LOOK_UP,
) -> tuple[Any, bool]:
    """`ensure_project` with the scheme's label config and the guidelines as instructions: an annotation project."""
    return ensure_project(
        connection,
        title,
        label_config=derive.label_config(scheme),
        instructions_html=instructions(workspace, scheme),
        annotators_per_task=annotators_per_task,
        found=found,
    )


def _check_label_config(connection: Connection, project: Any, label_config: str) -> None:
    """Ask Label Studio (strictly) whether the annotations already made allow the new config."""
    with connection.errors(f"checking the new label config of {project.title!r}"):
        try:
            connection.client.projects.validate_label_config(id=project.id, label_config=label_config)
        except ApiError as exc:
            if exc.status_code != 400:
                raise
            stale = needs_migration(project.label_config or "", config_version(label_config) or "")
            if stale:
                raise LabelConfigRefused(f"Label Studio kept the label config of {project.title!r}: {stale}.") from None
            raise LabelConfigRefused(_config_refusal(project.title, exc.body)) from None


_LABEL_IN_USE = re.compile(r"^(?P<label>.+?) \((?P<count>\d+ (?:annotation|draft)s?(?:, \d+ drafts?)?)\)$")
_CONTROL = re.compile(r'(?:name="|tag "|from_name=)([^",\s]+)')


def _config_refusal(title: str, body: Any) -> str:
    """One sentence naming the labels (or controls) that annotations use and the new config drops."""
    text = "\n".join(body_strings(body.get("validation_errors", body) if isinstance(body, dict) else body))
    labels = [f"{m['label']} ({m['count']})" for m in map(_LABEL_IN_USE.match, text.splitlines()) if m]
    controls = sorted(set(_CONTROL.findall(text)))
    if labels:
        at_stake = f"the label(s) {', '.join(labels)}" + (f" of {', '.join(controls)}" if controls else "")
    elif controls:
        at_stake = f"the control(s) {', '.join(controls)}"
    else:
        at_stake = f"what it removes ({' '.join(text.split())[:300]})"
    return (
        f"Label Studio refused the new label config of project {title!r} because existing annotations use "
        f"{at_stake}, which labels/scheme.yaml no longer has; put them back in the scheme, or relabel or delete "
        "those annotations in Label Studio, then push again."
    )


def body_strings(value: Any) -> list[str]:
    """Every string in an error body Label Studio sent (nested lists and objects flattened)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in body_strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in body_strings(item)]
    return [str(value)]


# --- tasks ---------------------------------------------------------------------------------


def project_tasks(connection: Connection, project_id: int, *, with_text: bool = False) -> dict[str, Task]:
    """The project's tasks by article id, every page of them (tasks without an article id are not ours)."""
    include = "id,data,predictions" if with_text else "id,data"
    found: dict[str, Task] = {}
    with connection.errors(f"listing the tasks of project {project_id}"):
        pages: Iterable[Any] = connection.client.tasks.list(
            project=project_id, page_size=TASK_PAGE_SIZE, include=include
        )
        for task in pages:
            data = task.data or {}
            if data.get("article_id") is None or not isinstance(data.get("text"), str):
                continue
            versions = {p.model_version for p in (getattr(task, "predictions", None) or []) if p.model_version}
            text = data["text"] if with_text else None
            found.setdefault(str(data["article_id"]), Task(task.id, text_hash(data["text"]), text, versions))
    return found




# --- predictions ---------------------------------------------------------------------------


def read_prediction_lines(path: Path) -> list[tuple[int, dict[str, Any] | PredictionIssue]]:
    """Each non-blank line of a JSON Lines file: its number and the record, or why it is no record."""
    lines: list[tuple[int, dict[str, Any] | PredictionIssue]] = []
    try:
        for number, item in json_lines(path):
            if isinstance(item, BadLine):
                error = item.error
                if isinstance(error, UnicodeDecodeError):
                    raise error
                reason = f"not JSON: {error}" if isinstance(error, InputRefused) else f"not JSON ({error.msg})"
                lines.append((number, PredictionIssue(number, None, reason)))
            elif not isinstance(item, dict):
                lines.append((number, PredictionIssue(number, None, "not a record object")))
            else:
                lines.append((number, item))
    except FileNotFoundError:
        raise UsageError(f"{path} does not exist. Give --predictions a JSON Lines file of canonical records.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path} cannot be read as UTF-8 text ({exc}). Give a JSON Lines file of records.") from None
    return lines


def push_predictions(
    connection: Connection,
    project_id: int,
    lines: list[tuple[int, dict[str, Any] | PredictionIssue]],
    scheme: Scheme,
    result: PredictionsResult,
    on_progress: ProgressCallback | None,
) -> None:
    tasks = project_tasks(connection, project_id, with_text=True)
    ready = _sort_records(lines, tasks, scheme, result, lambda task: result.model_version in task.model_versions)
    _upload(connection, ready, on_progress, result)


def _sort_records(
    lines: list[tuple[int, dict[str, Any] | PredictionIssue]],
    tasks: dict[str, Task],
    scheme: Scheme,
    result: RecordsUpload,
    already_there: Callable[[Task], bool],
) -> list[tuple[int, Task, dict[str, Any]]]:
    """The records to send with their tasks; the others counted in `result` as refused, not in project or skipped."""
    ready: list[tuple[int, Task, dict[str, Any]]] = []
    for number, item in lines:
        outcome = item if isinstance(item, PredictionIssue) else _prepare(number, item, tasks, scheme)
        if isinstance(outcome, PredictionIssue):
            bucket = result.not_in_project if outcome.reason == _NOT_IN_PROJECT else result.refused
            bucket.append(outcome)
        elif already_there(outcome[0]):
            result.skipped += 1
        else:
            ready.append((number, *outcome))
    return ready


_NOT_IN_PROJECT = "no task of the project carries this article id; push the article first"


def _prepare(
    number: int, record: dict[str, Any], tasks: dict[str, Task], scheme: Scheme
) -> tuple[Task, dict[str, Any]] | PredictionIssue:
    """The record completed for validation and its task, or why it cannot be uploaded."""
    article_id = record.get("article_id")
    if not isinstance(article_id, str) or not article_id:
        return PredictionIssue(number, None, "the record has no article_id")
    task = tasks.get(article_id)
    if task is None:
        return PredictionIssue(number, article_id, _NOT_IN_PROJECT)
    # A model's output need not carry what only annotations have; the offsets are checked
    # against the text the task really holds.
    defaults = {
        "annotation_id": f"line-{number}",
        "annotator": "model",
        "ground_truth": False,
        "cancelled": False,
        "scheme_version": scheme.version,
    }
    full = {**defaults, "entities": [], "events": [], "text": task.text, **record}
    if full["text"] != task.text:
        reason = f"the record's text differs from the text of task {task.id}, so its offsets would point elsewhere"
        return PredictionIssue(number, article_id, reason)
    problems = validate_record(full, scheme)
    if problems:
        return PredictionIssue(number, article_id, "; ".join(_describe(p) for p in problems))
    return task, full


def _describe(problem: Problem) -> str:
    region = f"region {problem.region}: " if problem.region else ""
    return f"{region}{problem.message} [{problem.code}]"


def _upload(
    connection: Connection,
    ready: list[tuple[int, Task, dict[str, Any]]],
    on_progress: ProgressCallback | None,
    result: PredictionsResult,
) -> None:
    if on_progress:
        on_progress(Progress(Stage.predictions, 0, len(ready)))
    for done, (number, task, record) in enumerate(ready, 1):
        doing = f"uploading the prediction of line {number} to task {task.id}"
        try:
            with connection.errors(doing):
                try:
                    connection.client.predictions.create(
                        task=task.id,
                        result=record_to_results(record),
                        model_version=result.model_version,
                        request_options=NO_RETRY,
                    )
                    result.uploaded += 1
                except ApiError as exc:
                    status = exc.status_code or 0
                    if status in (401, 403) or not 400 <= status < 500:
                        raise
                    reason = "Label Studio refused it: " + " ".join(body_strings(exc.body))[:300]
                    result.refused.append(PredictionIssue(number, record["article_id"], reason))
        except AnnotateError as exc:
            raise PushInterrupted(
                f"The push stopped after {result.uploaded} of {len(ready)} predictions: {exc} "
                "Then run the same push again: predictions already uploaded with this model version are skipped."
            ) from None
        if on_progress:
            on_progress(Progress(Stage.predictions, done, len(ready)))


# --- recorded annotations ------------------------------------------------------------------


def ensure_account(workspace: Workspace, connection: Connection, email: str, result: AnnotationsResult) -> int:
    """The user id of the account with this e-mail, created (invite link, first-login password) if missing."""
    def find() -> int | None:
        with connection.errors("listing the accounts"):
            users = connection.client.users.list()
            return next((u.id for u in users if (u.email or "").lower() == email.lower()), None)

    found = find()
    if found is None:
        result.new_account = team_add(workspace, [email])[0]
        found = find()
    if found is None:
        raise AnnotateError(f"The account {email} could not be found after creating it; check `annotate team list`.")
    return found


def tasks_annotated_by(connection: Connection, project_id: int, user_id: int) -> set[int]:
    """Ids of the project's tasks that already hold an annotation by this account."""
    done: set[int] = set()
    with connection.errors(f"listing the annotations of project {project_id}"):
        pages: Iterable[Any] = connection.client.tasks.list(project=project_id, page_size=TASK_PAGE_SIZE, fields="all")
        for task in pages:  # annotations come only with fields="all"
            for annotation in getattr(task, "annotations", None) or []:
                author = annotation.get("completed_by") if isinstance(annotation, dict) else annotation.completed_by
                author = author.get("id") if isinstance(author, dict) else author
                if author == user_id:
                    done.add(task.id)
    return done


def import_annotations(
    workspace: Workspace,
    connection: Connection,
    project_id: int,
    lines: list[tuple[int, dict[str, Any] | PredictionIssue]],
    scheme: Scheme,
    result: AnnotationsResult,
    on_progress: ProgressCallback | None = None,
) -> None:
    """Import recorded canonical records as `result.annotator`'s annotations on the tasks of their articles."""
    user_id = ensure_account(workspace, connection, result.annotator, result)
    tasks = project_tasks(connection, project_id, with_text=True)
    already = tasks_annotated_by(connection, project_id, user_id)
    ready = _sort_records(lines, tasks, scheme, result, lambda task: task.id in already)
    if on_progress:
        on_progress(Progress(Stage.annotations, 0, len(ready)))
    for done, (number, task, record) in enumerate(ready, 1):
        try:
            with connection.errors(f"importing the annotation of line {number} into task {task.id}"):
                connection.client.annotations.create(
                    id=task.id,
                    result=record_to_results(record),
                    completed_by=user_id,
                    ground_truth=bool(record.get("ground_truth")),
                    was_cancelled=bool(record.get("cancelled")),
                    lead_time=record.get("lead_time"),
                    request_options=NO_RETRY,
                )
        except AnnotateError as exc:
            raise PushInterrupted(
                f"The push stopped after {result.imported} of {len(ready)} recorded annotations: {exc} "
                "Then run the same push again: tasks this account already annotated are skipped."
            ) from None
        result.imported += 1
        if on_progress:
            on_progress(Progress(Stage.annotations, done, len(ready)))
