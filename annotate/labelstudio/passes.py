"""Blind double annotation: one Label Studio project per annotation pass, holding the same tasks.

The open-source Label Studio shows every annotation of a task to whoever opens it (as tabs
in the task view, as columns in the Data Manager); it has no setting that hides one
annotator's work from another. So when more than one annotator labels each article, `push`
makes one project per pass, "<title> · pass A", "<title> · pass B", ..., each holding every
article with one annotation per task. An annotator works in one pass only; two annotations
of the same article then never share a project, and nothing on the normal path (label
stream, Data Manager, task view) shows an annotator another's regions.

`pull` of the title merges the passes into the one records file of the title, so agreement
and adjudication see one project. Whether a title is done in passes is read from the server
(its pass projects exist), never from local state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from string import ascii_uppercase
from typing import TYPE_CHECKING, Any

from annotate.core.errors import UsageError
from annotate.core.records import iter_records, write_records
from annotate.core.workspace import Workspace, slugify
from annotate.labelstudio.client import Connection, find_project, list_projects
from annotate.labelstudio.projects import AnnotationsResult, ensure_account, tasks_annotated_by

if TYPE_CHECKING:
    from annotate.labelstudio.pull import PullResult
    from annotate.labelstudio.push import PushResult

PASS_MARK = " · pass "
CURATION_SUFFIX = " · curation"
TITLE_LIMIT = 50  # Label Studio's longest project title
MAX_PASSES = len(ascii_uppercase)


def pass_title(title: str, number: int) -> str:
    """The title of pass `number` (0-based) of a project: the title, shortened to fit, plus "· pass A"."""
    suffix = f"{PASS_MARK}{ascii_uppercase[number]}"
    return title[: TITLE_LIMIT - len(suffix)].rstrip() + suffix


def curation_title(title: str) -> str:
    """The curation project's title: the project's, shortened to fit Label Studio's limit, plus a suffix."""
    return title[: TITLE_LIMIT - len(CURATION_SUFFIX)].rstrip() + CURATION_SUFFIX


def pass_projects(connection: Connection, title: str) -> list[Any]:
    """The pass projects of a title on the server, in pass order (empty when it is one shared project)."""
    prefix = pass_title(title, 0)[: -len("A")]
    with connection.errors(f"looking up the passes of {title!r}"):
        listed: Iterable[Any] = connection.client.projects.list(title=prefix, page_size=100)
        return _in_pass_order(title, listed)


def _in_pass_order(title: str, projects: Iterable[Any]) -> list[Any]:
    wanted = {pass_title(title, n): n for n in range(MAX_PASSES)}
    found = {wanted[project.title]: project for project in projects if project.title in wanted}
    return [found[n] for n in sorted(found)]


def title_projects(connection: Connection, title: str, *, fields: Iterable[str]) -> tuple[Any | None, list[Any]]:
    """The project of exactly this title (None when there is none) and its pass projects in pass order,
    from one listing, with only `fields` of each (see `list_projects`).

    One listing finds both: it asks for the titles containing the title as its pass titles
    begin with (the title itself, unless a pass title has to shorten it).
    """
    title = title.strip()
    shortened = pass_title(title, 0)[: -len(f"{PASS_MARK}A")]  # a beginning of the title
    listed = list_projects(connection, shortened, fields=fields)
    exact = next((project for project in listed if (project.title or "").strip() == title), None)
    return exact, _in_pass_order(title, listed)


def check_passes(count: int) -> None:
    if not 2 <= count <= MAX_PASSES:
        raise UsageError(f"Blind annotation needs 2 to {MAX_PASSES} annotators per task, not {count}.")


def pass_count(
    connection: Connection,
    title: str,
    annotators_per_task: int | None,
    *,
    forced: bool,
    found: list[Any] | None = None,
) -> int:
    """How many passes a push of this title makes: 0 for one shared project.

    A title that has passes on the server keeps them (more can be added, none taken away);
    a new one gets a pass per annotator when more than one labels each task. `found` is
    the title's pass projects when the caller has just listed them.
    """
    existing = len(pass_projects(connection, title) if found is None else found)
    if existing:
        wanted = annotators_per_task or existing
        if wanted < existing:
            raise UsageError(
                f"{title!r} already has {existing} blind passes; a pass holds annotators' work and is never "
                f"taken away, so give --annotators-per-task {existing} or more."
            )
        return wanted
    if (annotators_per_task or 1) > 1:
        return annotators_per_task or 0
    if forced:
        raise UsageError("Blind annotation needs --annotators-per-task 2 or more.")
    return 0


# --- push ------------------------------------------------------------------------------------


def push_passes(
    workspace: Workspace,
    connection: Connection,
    title: str,
    count: int,
    *,
    push: Callable[..., PushResult],
    **options: Any,
) -> PushResult:
    """Push the corpus to each of `count` pass projects with `push` (push's own, for one project);
    recorded annotations go to one pass only.

    Returns the first pass's result with every pass's result in `passes`. `push` is handed in by
    the push module, so this module, below it, never imports it.
    """
    check_passes(count)
    if find_project(connection, title) is not None:
        raise UsageError(
            f"The project {title!r} was pushed as one shared project, where annotators see each other's work. "
            f"Keep it with `annotate push --shared`, or give a new title with --project for blind passes."
        )
    annotations, annotator = options.pop("annotations", None), options.pop("annotator", None)
    results = [
        push(workspace, project=pass_title(title, n), annotators_per_task=1, blind=False, **options)
        for n in range(count)
    ]
    if annotations is not None:
        chosen = _pass_for(workspace, connection, results, annotator)
        done = push(
            workspace, project=results[chosen].title, blind=False, annotations=annotations, annotator=annotator
        )
        results[chosen].annotations = done.annotations
        results[0].annotations = done.annotations
    first = results[0]
    first.passes = results
    return first


def _pass_for(workspace: Workspace, connection: Connection, results: list[PushResult], email: str) -> int:
    """The pass a recorded annotation pass by this account goes to: where the account already works,
    else the first pass nobody has annotated in."""

    user_id = ensure_account(workspace, connection, email, AnnotationsResult(file="", annotator=email))
    untouched = None
    for number, result in enumerate(results):
        with connection.errors(f"reading the project {result.title!r}"):
            annotations = connection.client.projects.get(id=result.project_id).total_annotations_number or 0
        if annotations and tasks_annotated_by(connection, result.project_id, user_id):
            return number
        if not annotations and untouched is None:
            untouched = number
    if untouched is None:
        raise UsageError(
            f"Every pass of this project already holds other annotators' work, so {email}'s recorded pass "
            "has no pass of its own; push with a higher --annotators-per-task to add one."
        )
    return untouched


# --- pull ------------------------------------------------------------------------------------


@dataclass
class PassPull:
    """What pulling one pass gave."""

    title: str
    result: PullResult


def pull_passes(
    workspace: Workspace, title: str, passes: list[Any], *, pull: Callable[..., PullResult], **options: Any
) -> PullResult:
    """Pull each pass as its own project with `pull` (handed in by the pull module, which this module
    never imports), then write the title's records and quarantine as their union."""
    pulled = [PassPull(p.title, pull(workspace, project=p.title, passes=False, **options)) for p in passes]
    slug = slugify(title)
    records, quarantine = workspace.records_path(slug), workspace.quarantine_path(slug)
    total = write_records(records, (r for p in pulled for r in _records(p.result.records_path)))
    write_records(quarantine, (r for p in pulled for r in _records(p.result.quarantine_path)))
    first = pulled[0].result
    merged = replace(
        first,
        project=title,
        slug=slug,
        full=all(p.result.full for p in pulled),
        records_path=records,
        quarantine_path=quarantine,
        tasks_fetched=sum(p.result.tasks_fetched for p in pulled),
        unchanged=sum(p.result.unchanged for p in pulled),
        records_written=sum(p.result.records_written for p in pulled),
        cancelled=sum(p.result.cancelled for p in pulled),
        removed=sum(p.result.removed for p in pulled),
        total_records=total,
        quarantined=[q for p in pulled for q in p.result.quarantined],
        warnings=[w for p in pulled for w in p.result.warnings],
        feedback_written=sum(p.result.feedback_written for p in pulled),
        feedback_error=next((p.result.feedback_error for p in pulled if p.result.feedback_error), None),
    )
    merged.passes = [p.result for p in pulled]
    return merged


def _records(path: Path) -> Any:
    return iter_records(path) if path.exists() else iter(())
