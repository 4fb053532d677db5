"""Push: the corpus into a Label Studio project, with the scheme's labels and the guidelines.

Tasks are matched to articles by `data.article_id`. The project's tasks are listed from
the server at the start of a run, unless the map of articles to tasks that the last
complete push saved (in the project's private state) still fits: the server's task count
and highest task id are what that push left. A rerun imports only what is missing. An
interrupted push forgets the map, so a batch the server stored while the client saw an
error is found on the server, not imported twice; for the same reason no import request
is ever retried within a run. An article whose text changed after it was pushed is named,
never re-imported beside the annotations of its old text. (A task's text edited inside
Label Studio changes neither count nor id: it is noticed once the map is rebuilt.)
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Callable, Iterator

from annotate.core import derive
from annotate.labelstudio.client import Connection, connect, find_project
from annotate.core.corpus import Article, Refusal, text_hash
from annotate.core.corpus_index import CorpusEntry, corpus_entries
from annotate.core.errors import AnnotateError, LabelConfigRefused, PushInterrupted, UsageError
from annotate.core.inputs import InputRefused, load_json
from annotate.core.scheme import current_scheme
from annotate.labelstudio.instructions import instructions
from annotate.core.records import Problem, record_to_results
from annotate.core.scheme import Scheme
from annotate.core.workspace import write_private
from annotate.core.settings import load_project_settings
from annotate.core.validate import validate_record
from annotate.core.workspace import Workspace, slugify

DEFAULT_BATCH_SIZE = 100
TASK_PAGE_SIZE = 100
TITLE_LENGTH = (3, 50)  # Label Studio's limits on a project title
NO_RETRY = {"max_retries": 0}  # a retried POST could store the same tasks or predictions twice


class Stage(str, Enum):
    tasks = "tasks"
    predictions = "predictions"
    annotations = "annotations"


@dataclass(frozen=True)
class Progress:
    stage: Stage
    done: int
    total: int


@dataclass
class ChangedArticle:
    """An article whose corpus text is no longer the text its task was created with."""

    article_id: str
    title: str
    task_id: int
    file: str | None

    @property
    def advice(self) -> str:
        where = self.file or "its corpus file"
        return (
            f"its text differs from task {self.task_id}, which keeps the text it was annotated on; restore the "
            f"text in {where}, or make it a new article (move the file out of corpus/ and `annotate corpus add` it)"
        )


@dataclass
class FailedBatch:
    article_ids: list[str]
    reason: str


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
class PushResult:
    project_id: int
    title: str
    url: str
    project_created: bool
    created: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    changed: list[ChangedArticle] = field(default_factory=list)
    failed: list[FailedBatch] = field(default_factory=list)
    predictions: PredictionsResult | None = None
    annotations: AnnotationsResult | None = None
    broken: list[Refusal] = field(default_factory=list)
    """Corpus files that are not articles: named, skipped, the good articles pushed."""
    task_ids: dict[str, int] = field(default_factory=dict)
    """The task id of each article this push imported."""

    @property
    def failed_count(self) -> int:
        return sum(len(batch.article_ids) for batch in self.failed)


@dataclass
class _Task:
    id: int
    text_sha256: str
    text: str | None
    model_versions: set[str]


ProgressCallback = Callable[[Progress], None]


def push(
    workspace: Workspace,
    *,
    project: str | None = None,
    annotators_per_task: int | None = None,
    predictions: Path | None = None,
    model_version: str | None = None,
    annotations: Path | None = None,
    annotator: str | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_progress: ProgressCallback | None = None,
) -> PushResult:
    """Create or update the project, import the articles it lacks, then upload predictions if given.

    `annotations` (with `annotator`, an e-mail) imports recorded canonical records as that
    account's annotations, creating the account if needed: how a recorded annotation pass
    is put back into a fresh Label Studio.
    """
    if (annotations is None) != (annotator is None):
        raise UsageError("--annotations and --annotator go together: the file, and the e-mail of the account.")
    title = project or load_project_settings(workspace).project
    _check_options(title, annotators_per_task, batch_size, model_version)
    scheme = current_scheme(workspace)
    articles, broken = corpus_entries(workspace)  # unchanged files are not parsed again
    lines = read_prediction_lines(Path(predictions)) if predictions else None
    recorded = read_prediction_lines(Path(annotations)) if annotations else None
    connection = connect(workspace)
    remote, created = ensure_project(
        connection,
        title,
        label_config=derive.label_config(scheme),
        instructions_html=instructions(workspace, scheme),
        annotators_per_task=annotators_per_task,
    )
    result = PushResult(remote.id, title, f"{connection.url}/projects/{remote.id}", created, broken=broken)
    cache = workspace.project_state(slugify(title)) / TASK_CACHE
    count = None if created else getattr(remote, "task_number", None)  # read by ensure_project just now
    tasks, fingerprint = _known_tasks_and_fingerprint(connection, remote.id, cache, count)
    new = _sort_entries(articles, tasks, result)
    try:
        _import(connection, remote.id, new, batch_size=batch_size, on_progress=on_progress, result=result)
    except BaseException:
        # A batch may have been stored with its answer lost: the next push must ask the server.
        cache.unlink(missing_ok=True)
        raise
    if new or fingerprint is None:  # else the saved map and its fingerprint are still what the server has
        _remember_tasks(connection, remote.id, cache, tasks, new, result)
    if lines is not None:
        result.predictions = PredictionsResult(file=str(predictions), model_version=model_version or Path(predictions).stem)
        _push_predictions(connection, remote.id, lines, scheme, result.predictions, on_progress)
    if recorded is not None:
        result.annotations = AnnotationsResult(file=str(annotations), annotator=annotator)
        import_annotations(workspace, connection, remote.id, recorded, scheme, result.annotations, on_progress)
    return result


def _check_options(title: str, overlap: int | None, batch_size: int, model_version: str | None) -> None:
    low, high = TITLE_LENGTH
    if not low <= len(title) <= high:
        raise UsageError(f"The project title {title!r} has {len(title)} characters; Label Studio needs {low} to {high}.")
    if overlap is not None and overlap < 1:
        raise UsageError(f"--annotators-per-task must be 1 or more, not {overlap}.")
    if batch_size < 1:
        raise UsageError(f"--batch-size must be 1 or more, not {batch_size}.")
    if model_version is not None and not model_version.strip():
        raise UsageError("--model-version must not be empty; leave it out to use the predictions file's name.")


# --- the project ----------------------------------------------------------------------------


def ensure_project(
    connection: Connection,
    title: str,
    *,
    label_config: str,
    instructions_html: str,
    annotators_per_task: int | None = None,
) -> tuple[Any, bool]:
    """The project with this title, created or brought up to date; and whether it was created."""
    client = connection.client
    settings: dict[str, Any] = {"expert_instruction": instructions_html, "show_instruction": True}
    if annotators_per_task is not None:
        settings["maximum_annotations"] = annotators_per_task
    existing = find_project(connection, title)
    if existing is None:
        with connection.errors(f"creating the project {title!r}"):
            made = client.projects.create(title=title, label_config=label_config, request_options=NO_RETRY, **settings)
        return made, True
    with connection.errors(f"reading the project {title!r}"):
        current = client.projects.get(id=existing.id)
    if (current.label_config or "").strip() != label_config.strip():  # Label Studio drops the final newline
        _check_label_config(connection, current, label_config)
        settings["label_config"] = label_config
    if _settings_differ(current, settings):
        with connection.errors(f"updating the project {title!r}"):
            client.projects.update(id=existing.id, **settings)
    return current, False


def _settings_differ(project: Any, settings: dict[str, Any]) -> bool:
    """Whether updating the project with `settings` would change anything (a push with nothing new sends nothing)."""
    return any(getattr(project, name, None) != value for name, value in settings.items())


def _check_label_config(connection: Connection, project: Any, label_config: str) -> None:
    """Ask Label Studio (strictly) whether the annotations already made allow the new config."""
    from label_studio_sdk.core.api_error import ApiError

    with connection.errors(f"checking the new label config of {project.title!r}"):
        try:
            connection.client.projects.validate_label_config(id=project.id, label_config=label_config)
        except ApiError as exc:
            if exc.status_code != 400:
                raise
            raise LabelConfigRefused(_config_refusal(project.title, exc.body)) from None


_LABEL_IN_USE = re.compile(r"^(?P<label>.+?) \((?P<count>\d+ (?:annotation|draft)s?(?:, \d+ drafts?)?)\)$")
_CONTROL = re.compile(r'(?:name="|tag "|from_name=)([^",\s]+)')


def _config_refusal(title: str, body: Any) -> str:
    """One sentence naming the labels (or controls) that annotations use and the new config drops."""
    text = "\n".join(_strings(body.get("validation_errors", body) if isinstance(body, dict) else body))
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


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return [str(value)]


# --- tasks ---------------------------------------------------------------------------------


def project_tasks(connection: Connection, project_id: int, *, with_text: bool = False) -> dict[str, _Task]:
    """The project's tasks by article id, every page of them (tasks without an article id are not ours)."""
    include = "id,data,predictions" if with_text else "id,data"
    found: dict[str, _Task] = {}
    with connection.errors(f"listing the tasks of project {project_id}"):
        pages = connection.client.tasks.list(project=project_id, page_size=TASK_PAGE_SIZE, include=include)
        for task in pages:
            data = task.data or {}
            if data.get("article_id") is None or not isinstance(data.get("text"), str):
                continue
            versions = {p.model_version for p in (getattr(task, "predictions", None) or []) if p.model_version}
            text = data["text"] if with_text else None
            found.setdefault(str(data["article_id"]), _Task(task.id, text_hash(data["text"]), text, versions))
    return found


TASK_CACHE = "push-tasks.json"
"""Per project, the article → task map a push left, with the fingerprint of the tasks it is valid for."""


def _fingerprint(connection: Connection, project_id: int, count: int | None = None) -> list[int]:
    """(number of tasks, highest task id): changes when any task is added or deleted, by anyone.

    `count` is the task number of a project read just now, saving a request."""
    query = json.dumps({"ordering": ["-tasks:id"]})
    with connection.errors(f"reading the task count of project {project_id}"):
        if count is None:
            count = connection.client.projects.get(id=project_id).task_number or 0
        newest = connection.client.tasks.list(project=project_id, page_size=1, include="id", query=query)
        last = next(iter(newest), None)
    return [count, last.id if last else 0]


def _known_tasks_and_fingerprint(
    connection: Connection, project_id: int, cache: Path, count: int | None = None
) -> tuple[dict[str, _Task], list[int] | None]:
    """The project's tasks by article id: from the last push's map while no task was added or deleted since
    (with the fingerprint that showed it), else listed from the server, every page (with None)."""
    try:
        saved = json.loads(cache.read_text(encoding="utf-8"))
        fingerprint = _fingerprint(connection, project_id, count) if saved.get("project_id") == project_id else None
        if fingerprint is not None and saved.get("fingerprint") == fingerprint:
            return {a: _Task(t, sha, None, set()) for a, (t, sha) in saved["tasks"].items()}, fingerprint
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return project_tasks(connection, project_id), None


def _remember_tasks(
    connection: Connection,
    project_id: int,
    cache: Path,
    known: dict[str, _Task],
    new: list[CorpusEntry],
    result: PushResult,
) -> None:
    """Save the article → task map for the next push; forget it when this push did not see every task arrive."""
    complete = len(result.task_ids) == len(result.created) and not result.failed
    try:
        if not complete:
            cache.unlink(missing_ok=True)
            return
        tasks = {a: [t.id, t.text_sha256] for a, t in known.items()}
        tasks.update({a.id: [result.task_ids[a.id], a.text_sha256] for a in new if a.id in result.task_ids})
        saved = {"project_id": project_id, "fingerprint": _fingerprint(connection, project_id), "tasks": tasks}
        write_private(cache, json.dumps(saved))
    except AnnotateError:
        cache.unlink(missing_ok=True)  # the server went away: the next push lists the tasks


def _sort_entries(entries: list[CorpusEntry], tasks: dict[str, _Task], result: PushResult) -> list[CorpusEntry]:
    """Entries without a task, to import; the others go to `skipped` or, if their text changed, `changed`.

    Only the files of changed articles are read (for their titles)."""
    new = []
    for entry in entries:
        task = tasks.get(entry.id)
        if task is None:
            new.append(entry)
        elif task.text_sha256 == entry.text_sha256:
            result.skipped.append(entry.id)
        else:
            title = _title_of(entry)
            result.changed.append(ChangedArticle(entry.id, title, task.id, entry.path.name))
    return new


def _title_of(entry: CorpusEntry) -> str:
    try:
        return entry.read().display_title
    except (AnnotateError, OSError, UnicodeDecodeError):
        return entry.path.name


def _read_ahead(entries: list[CorpusEntry], size: int, result: PushResult) -> Iterator[list[Article]]:
    """The articles in batches of `size`, the next batch read while the caller sends this one.

    Reading and parsing a file takes the CPU while a batch's request waits on the server,
    so both go at once. A file that stopped being an article since it was indexed is named
    in `result.broken` and left out.
    """
    from concurrent.futures import ThreadPoolExecutor

    def read(batch: list[CorpusEntry]) -> list[Article]:
        articles = []
        for entry in batch:
            try:
                articles.append(entry.read())
            except (AnnotateError, OSError, UnicodeDecodeError) as exc:
                result.broken.append(Refusal(str(entry.path), str(exc)))
        return articles

    chunks = [entries[start : start + size] for start in range(0, len(entries), size)]
    with ThreadPoolExecutor(max_workers=1) as reader:
        coming = reader.submit(read, chunks[0]) if chunks else None
        for number in range(len(chunks)):
            assert coming is not None
            batch = coming.result()
            coming = reader.submit(read, chunks[number + 1]) if number + 1 < len(chunks) else None
            yield batch


def task_data(article: Article) -> dict[str, Any]:
    """What a task carries: the article's metadata (made JSON-safe), then its text, title and ids."""
    metadata = json.loads(json.dumps(article.metadata, default=str))
    return {
        **metadata,
        "text": article.text,
        "title": article.display_title,
        "article_id": article.id,
        "text_sha256": article.text_sha256,
    }


def _import(
    connection: Connection,
    project_id: int,
    articles: list[CorpusEntry],
    *,
    batch_size: int,
    on_progress: ProgressCallback | None,
    result: PushResult,
) -> None:
    total, start = len(articles), 0
    if on_progress:
        on_progress(Progress(Stage.tasks, 0, total))
    for batch in _read_ahead(articles, batch_size, result):
        if not batch:
            continue
        doing = f"importing articles {start + 1}-{start + len(batch)} of {total}"
        try:
            refusal, task_ids = _import_batch(connection, project_id, batch, doing)
        except AnnotateError as exc:
            raise PushInterrupted(
                f"The push stopped after {len(result.created)} of {total} new articles: {exc} "
                "Then run `annotate push` again: it imports only what is missing."
            ) from None
        if refusal:
            result.failed.append(FailedBatch([a.id for a in batch], refusal))
        else:
            result.created.extend(a.id for a in batch)
            result.task_ids.update(zip((a.id for a in batch), task_ids))
        start += len(batch)
        if on_progress:
            on_progress(Progress(Stage.tasks, start, total))


def _import_batch(
    connection: Connection, project_id: int, batch: list[Article], doing: str
) -> tuple[str | None, list[int]]:
    """Import one batch: (Label Studio's reason when it refuses the batch as such, else None; the new task ids)."""
    from label_studio_sdk.core.api_error import ApiError

    with connection.errors(doing):
        try:
            answer = connection.client.projects.import_tasks(
                id=project_id,
                request=[{"data": task_data(article)} for article in batch],
                return_task_ids=True,
                request_options=NO_RETRY,
            )
        except ApiError as exc:
            if exc.status_code in (401, 403) or not 400 <= exc.status_code < 500:
                raise  # not this batch's fault: stop, the next run lists what arrived
            return connection.redact(" ".join(_strings(exc.body)))[:300], []
    return None, list(getattr(answer, "task_ids", None) or [])


# --- predictions ---------------------------------------------------------------------------


def read_prediction_lines(path: Path) -> list[tuple[int, dict[str, Any] | PredictionIssue]]:
    """Each non-blank line of a JSON Lines file: its number and the record, or why it is no record."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"{path} does not exist. Give --predictions a JSON Lines file of canonical records.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path} cannot be read as UTF-8 text ({exc}). Give a JSON Lines file of records.") from None
    lines: list[tuple[int, dict[str, Any] | PredictionIssue]] = []
    # Lines end at \n only: U+2028 and U+0085, which str.splitlines also splits at, may sit inside a JSON string.
    for number, line in enumerate(raw.split("\n"), 1):
        if not line.strip():
            continue
        try:
            item = load_json(line)
        except json.JSONDecodeError as exc:
            lines.append((number, PredictionIssue(number, None, f"not JSON ({exc.msg})")))
            continue
        except InputRefused as exc:
            lines.append((number, PredictionIssue(number, None, f"not JSON: {exc}")))
            continue
        if not isinstance(item, dict):
            lines.append((number, PredictionIssue(number, None, "not a record object")))
        else:
            lines.append((number, item))
    return lines


def _push_predictions(
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
    tasks: dict[str, _Task],
    scheme: Scheme,
    result: RecordsUpload,
    already_there: Callable[[_Task], bool],
) -> list[tuple[int, _Task, dict[str, Any]]]:
    """The records to send with their tasks; the others counted in `result` as refused, not in project or skipped."""
    ready: list[tuple[int, _Task, dict[str, Any]]] = []
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
    number: int, record: dict[str, Any], tasks: dict[str, _Task], scheme: Scheme
) -> tuple[_Task, dict[str, Any]] | PredictionIssue:
    """The record completed for validation and its task, or why it cannot be uploaded."""
    article_id = record.get("article_id")
    if not isinstance(article_id, str) or not article_id:
        return PredictionIssue(number, None, "the record has no article_id")
    task = tasks.get(article_id)
    if task is None:
        return PredictionIssue(number, article_id, _NOT_IN_PROJECT)
    # A model's output need not carry what only annotations have; the offsets are checked
    # against the text the task really holds.
    defaults = {"annotation_id": f"line-{number}", "annotator": "model", "ground_truth": False, "cancelled": False}
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
    ready: list[tuple[int, _Task, dict[str, Any]]],
    on_progress: ProgressCallback | None,
    result: PredictionsResult,
) -> None:
    from label_studio_sdk.core.api_error import ApiError

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
                    if exc.status_code in (401, 403) or not 400 <= exc.status_code < 500:
                        raise
                    reason = "Label Studio refused it: " + " ".join(_strings(exc.body))[:300]
                    result.refused.append(PredictionIssue(number, record["article_id"], reason))
        except AnnotateError as exc:
            raise PushInterrupted(
                f"The push stopped after {result.uploaded} of {len(ready)} predictions: {exc} "
                "Then run the same push again: predictions already uploaded with this model version are skipped."
            ) from None
        if on_progress:
            on_progress(Progress(Stage.predictions, done, len(ready)))


# --- recorded annotations ------------------------------------------------------------------


def _account_id(workspace: Workspace, connection: Connection, email: str, result: AnnotationsResult) -> int:
    """The user id of the account with this e-mail, created (invite link, first-login password) if missing."""
    from annotate.labelstudio.team import team_add

    def find() -> int | None:
        with connection.errors("listing the accounts"):
            return next((u.id for u in connection.client.users.list() if (u.email or "").lower() == email.lower()), None)

    found = find()
    if found is None:
        result.new_account = team_add(workspace, [email])[0]
        found = find()
    if found is None:
        raise AnnotateError(f"The account {email} could not be found after creating it; check `annotate team list`.")
    return found


def _annotated_by(connection: Connection, project_id: int, user_id: int) -> set[int]:
    """Ids of the project's tasks that already hold an annotation by this account."""
    done: set[int] = set()
    with connection.errors(f"listing the annotations of project {project_id}"):
        pages = connection.client.tasks.list(project=project_id, page_size=TASK_PAGE_SIZE, fields="all")
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
    """Import recorded canonical records as `result.annotator`'s annotations on the project's tasks of their articles."""
    user_id = _account_id(workspace, connection, result.annotator, result)
    tasks = project_tasks(connection, project_id, with_text=True)
    already = _annotated_by(connection, project_id, user_id)
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
