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
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, NamedTuple

from label_studio_sdk.core.api_error import ApiError
from label_studio_sdk.core.request_options import RequestOptions

from annotate.core.corpus import Article, Refusal
from annotate.core.corpus_index import CorpusEntry, corpus_entries
from annotate.core.errors import AnnotateError, PushInterrupted, UsageError
from annotate.core.progress import Progress, ProgressCallback
from annotate.core.scheme import current_scheme
from annotate.core.settings import load_project_settings
from annotate.core.workspace import Workspace, locked, normalise_title, project_slug, write_private
from annotate.labelstudio import passes
from annotate.labelstudio.client import Connection, connect
from annotate.labelstudio.projects import (
    NO_RETRY,
    PROJECT_FIELDS,
    AnnotationsResult,
    PredictionsResult,
    Stage,
    Task,
    body_strings,
    ensure_scheme_project,
    import_annotations,
    project_tasks,
    push_predictions,
    read_prediction_lines,
)

DEFAULT_BATCH_SIZE = 100
TITLE_LENGTH = (3, 50)  # Label Studio's limits on a project title


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
    passes: list[PushResult] = field(default_factory=list)
    """With blind annotation, the result of each pass project (this result is the first pass's)."""

    @property
    def failed_count(self) -> int:
        return sum(len(batch.article_ids) for batch in self.failed)


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
    blind: bool | None = None,
) -> PushResult:
    """Create or update the project, import the articles it lacks, then upload predictions if given.

    `annotations` (with `annotator`, an e-mail) imports recorded canonical records as that
    account's annotations, creating the account if needed: how a recorded annotation pass
    is put back into a fresh Label Studio.

    With more than one annotator per task the push is blind (`annotate.labelstudio.passes`):
    one project per pass, unless `blind` is False (one shared project with overlap).
    """
    if (annotations is None) != (annotator is None):
        raise UsageError("--annotations and --annotator go together: the file, and the e-mail of the account.")
    title = normalise_title(project or load_project_settings(workspace).project)
    _check_options(title, annotators_per_task, batch_size, model_version)
    slug = project_slug(workspace, title)
    with locked(workspace, slug, "push"):
        result = _push(
            workspace,
            title,
            slug,
            annotators_per_task=annotators_per_task,
            predictions=predictions,
            model_version=model_version,
            annotations=annotations,
            annotator=annotator,
            batch_size=batch_size,
            on_progress=on_progress,
            blind=blind,
        )
        project_slug(workspace, title, claim=True)  # only a push that worked holds the slug for its title
    return result


def _push(
    workspace: Workspace,
    title: str,
    slug: str,
    *,
    annotators_per_task: int | None,
    predictions: Path | None,
    model_version: str | None,
    annotations: Path | None,
    annotator: str | None,
    batch_size: int,
    on_progress: ProgressCallback | None,
    blind: bool | None,
) -> PushResult:
    scheme = current_scheme(workspace)
    lines = read_prediction_lines(Path(predictions)) if predictions else None
    recorded = read_prediction_lines(Path(annotations)) if annotations else None
    connection = connect(workspace)
    # One listing finds the project and tells whether the title is pushed in passes, with only the
    # fields the checks below compare; a project it finds whole is not read again.
    found, pass_projects = passes.title_projects(connection, title, fields=PROJECT_FIELDS)
    if blind is not False:
        count = passes.pass_count(connection, title, annotators_per_task, forced=blind is True, found=pass_projects)
        if count:
            options: dict[str, Any] = {"predictions": predictions, "model_version": model_version}
            options |= {"annotations": annotations}
            options |= {"annotator": annotator, "batch_size": batch_size, "on_progress": on_progress}
            return passes.push_passes(workspace, connection, title, count, push=push, **options)
    articles, broken = corpus_entries(workspace)  # unchanged files are not parsed again
    remote, created = ensure_scheme_project(
        connection, workspace, scheme, title, annotators_per_task=annotators_per_task, found=found
    )
    result = PushResult(remote.id, title, f"{connection.url}/projects/{remote.id}", created, broken=broken)
    cache = workspace.project_state(slug) / TASK_CACHE
    task_count = None if created else getattr(remote, "task_number", None)  # read by ensure_project just now
    tasks: Mapping[str, Task | _Known]
    fingerprint: list[int] | None
    if created:  # made a moment ago by this push, under its lock: nothing to list
        tasks, fingerprint = {}, [0, 0]
    else:
        tasks, fingerprint = _known_tasks_and_fingerprint(connection, remote.id, cache, task_count)
    new = _sort_entries(articles, tasks, result)
    try:
        _import(connection, remote.id, new, batch_size=batch_size, on_progress=on_progress, result=result)
    except BaseException:
        # A batch may have been stored with its answer lost: the next push must ask the server.
        cache.unlink(missing_ok=True)
        raise
    if new or fingerprint is None:  # else the saved map and its fingerprint are still what the server has
        _remember_tasks(connection, remote.id, cache, tasks, new, result, fingerprint)
    if predictions is not None and lines is not None:
        version = model_version or Path(predictions).stem
        result.predictions = PredictionsResult(file=str(predictions), model_version=version)
        push_predictions(connection, remote.id, lines, scheme, result.predictions, on_progress)
    if annotations is not None and annotator is not None and recorded is not None:
        result.annotations = AnnotationsResult(file=str(annotations), annotator=annotator)
        import_annotations(workspace, connection, remote.id, recorded, scheme, result.annotations, on_progress)
    return result


def _check_options(title: str, overlap: int | None, batch_size: int, model_version: str | None) -> None:
    low, high = TITLE_LENGTH
    if not low <= len(title) <= high:
        raise UsageError(
            f"The project title {title!r} has {len(title)} characters; Label Studio needs {low} to {high}."
        )
    if overlap is not None and overlap < 1:
        raise UsageError(f"--annotators-per-task must be 1 or more, not {overlap}.")
    if batch_size < 1:
        raise UsageError(f"--batch-size must be 1 or more, not {batch_size}.")
    if model_version is not None and not model_version.strip():
        raise UsageError("--model-version must not be empty; leave it out to use the predictions file's name.")


TASK_CACHE = "push-tasks.json"
"""Per project, the article → task map a push left, with the fingerprint of the tasks it is valid for."""


def _fingerprint(connection: Connection, project_id: int, count: int | None = None) -> list[int]:
    """(number of tasks, highest task id): changes when any task is added or deleted, by anyone.

    `count` is the task number of a project read just now, saving a request."""
    query = json.dumps({"ordering": ["-tasks:id"]})
    with connection.errors(f"reading the task count of project {project_id}"):
        if count is None:
            # Only the task count: Label Studio then skips counting the annotations of every task.
            lean: RequestOptions = {"additional_query_parameters": {"include": "task_number"}}
            count = connection.client.projects.get(id=project_id, request_options=lean).task_number or 0
        newest: Iterable[Any] = connection.client.tasks.list(project=project_id, page_size=1, include="id", query=query)
        last = next(iter(newest), None)
    return [count, last.id if last else 0]


class _Known(NamedTuple):
    """A task as the saved map knows it (all that sorting the corpus needs; lighter than a `Task`)."""

    id: int
    text_sha256: str


def _known_tasks_and_fingerprint(
    connection: Connection, project_id: int, cache: Path, count: int | None = None
) -> tuple[Mapping[str, Task | _Known], list[int] | None]:
    """The project's tasks by article id: from the last push's map while no task was added or deleted since
    (with the fingerprint that showed it), else listed from the server, every page (with None)."""
    try:
        saved = json.loads(cache.read_text(encoding="utf-8"))
        fingerprint = _fingerprint(connection, project_id, count) if saved.get("project_id") == project_id else None
        if fingerprint is not None and saved.get("fingerprint") == fingerprint:
            return {a: _Known(t, sha) for a, (t, sha) in saved["tasks"].items()}, fingerprint
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return project_tasks(connection, project_id), None


def _remember_tasks(
    connection: Connection,
    project_id: int,
    cache: Path,
    known: Mapping[str, Task | _Known],
    new: list[CorpusEntry],
    result: PushResult,
    before: list[int] | None,
) -> None:
    """Save the article → task map for the next push; forget it when this push did not see every task arrive.

    With the fingerprint the server showed before the imports (`before`), the one saved is that
    grown by exactly the tasks this push made: a task anyone else added or deleted meanwhile makes
    the next push's check fail, and it lists the tasks. (Read from the server after the imports,
    the fingerprint would count such a task while the map lacks it.) Without `before`, it is read.
    """
    complete = len(result.task_ids) == len(result.created) and not result.failed
    try:
        if not complete:
            cache.unlink(missing_ok=True)
            return
        tasks = {a: [t.id, t.text_sha256] for a, t in known.items()}
        tasks.update({a.id: [result.task_ids[a.id], a.text_sha256] for a in new if a.id in result.task_ids})
        if before is None:
            after = _fingerprint(connection, project_id)
        else:
            made = result.task_ids.values()
            after = [before[0] + len(made), max([before[1], *made])]
        saved = {"project_id": project_id, "fingerprint": after, "tasks": tasks}
        write_private(cache, json.dumps(saved))
    except AnnotateError:
        cache.unlink(missing_ok=True)  # the server went away: the next push lists the tasks


def _sort_entries(
    entries: list[CorpusEntry], tasks: Mapping[str, Task | _Known], result: PushResult
) -> list[CorpusEntry]:
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


class _Batch(NamedTuple):
    """One import request, made ready while the one before it is in flight."""

    articles: list[Article]
    body: bytes
    """The tasks as the request's JSON, encoded as the SDK would encode them."""


def _read_ahead(entries: list[CorpusEntry], size: int, result: PushResult) -> Iterator[_Batch]:
    """The articles in batches of `size`, the next batch read and encoded while the caller sends this one.

    Reading and parsing the files and encoding the tasks take the CPU while a batch's request
    waits on the server, so both go at once. A file that stopped being an article since it was
    indexed is named in `result.broken` and left out.
    """
    def read(batch: list[CorpusEntry]) -> _Batch:
        articles, tasks = [], []
        for entry in batch:
            try:
                article = entry.read()
            except (AnnotateError, OSError, UnicodeDecodeError) as exc:
                result.broken.append(Refusal(str(entry.path), str(exc)))
                continue
            articles.append(article)
            tasks.append(_encode({"data": task_data(article)}))
            # Let the sending thread run the moment it can: it waits on the interpreter lock
            # each time it comes back from the network, up to 5 ms while this thread computes.
            time.sleep(0)
        return _Batch(articles, b"[" + b",".join(tasks) + b"]")

    chunks = [entries[start : start + size] for start in range(0, len(entries), size)]
    with ThreadPoolExecutor(max_workers=1) as reader:
        coming = reader.submit(read, chunks[0]) if chunks else None
        for number in range(len(chunks)):
            assert coming is not None
            batch = coming.result()
            coming = reader.submit(read, chunks[number + 1]) if number + 1 < len(chunks) else None
            yield batch


def _encode(value: Any) -> bytes:
    """JSON as httpx encodes a request's `json=` (what the SDK's `import_tasks` sends); compact, so a list
    of encoded items joined by commas inside brackets is the list encoded."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


def task_data(article: Article) -> dict[str, Any]:
    """What a task carries: the article's metadata (made JSON-safe), then its text, title and ids.

    JSON has no NaN or infinity: such a metadata value (YAML's `.nan`, `.inf`) goes as its name."""
    metadata = json.loads(json.dumps(article.metadata, default=str), parse_constant=str)
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
    for ready in _read_ahead(articles, batch_size, result):
        batch = ready.articles
        if not batch:
            continue
        doing = f"importing articles {start + 1}-{start + len(batch)} of {total}"
        try:
            refusal, task_ids = _import_batch(connection, project_id, ready.body, doing)
        except AnnotateError as exc:
            raise PushInterrupted(
                f"The push stopped after {len(result.created)} of {total} new articles: {exc} "
                "Then run `annotate push` again: it imports only what is missing."
            ) from None
        if refusal:
            result.failed.append(FailedBatch([a.id for a in batch], refusal))
        else:
            result.created.extend(a.id for a in batch)
            result.task_ids.update(zip((a.id for a in batch), task_ids, strict=False))
        start += len(batch)
        if on_progress:
            on_progress(Progress(Stage.tasks, start, total))


def _import_batch(connection: Connection, project_id: int, body: bytes, doing: str) -> tuple[str | None, list[int]]:
    """Import one batch: (Label Studio's reason when it refuses the batch as such, else None; the new task ids).

    The body goes as it was encoded beside the previous request: the SDK's `import_tasks` would
    walk every task through its encoder again, on this thread, while the server waits.
    """
    with connection.errors(doing):
        try:
            answer = connection.post_raw(
                f"api/projects/{project_id}/import", {"return_task_ids": "true"}, body, request_options=NO_RETRY
            )
        except ApiError as exc:
            status = exc.status_code or 0
            if status in (401, 403) or not 400 <= status < 500:
                raise  # not this batch's fault: stop, the next run lists what arrived
            return connection.redact(" ".join(body_strings(exc.body)))[:300], []
    task_ids = answer.get("task_ids") if isinstance(answer, dict) else None
    return None, [t for t in task_ids or [] if isinstance(t, int)]


