"""`annotate status`: where a labelling project stands, on one screen, without a pull.

What the workspace knows (corpus, the last pull's records and quarantine, gold, the pull
checkpoint) is read from local files. What only the server knows (tasks, annotations made
since the last pull, open disputes) comes from a few light requests: the project (or each
blind pass project, where the overlap is the number of passes), its task list without texts
or results (ids, annotation counts, who annotated, when it changed), the accounts, and the
curation project's task list. When the server does not answer, the
local half is still given and the answer says the server did not.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from annotate.core.corpus import read_corpus
from annotate.core.errors import AnnotateError
from annotate.core.records import iter_records
from annotate.core.settings import load_project_settings
from annotate.core.workspace import Workspace, slugify
from annotate.labelstudio.passes import MAX_PASSES, curation_title, pass_title
from annotate.labelstudio.pseudonyms import identity, load_key, load_mapping, pseudonym
from annotate.labelstudio.pull import Checkpoint
from annotate.labelstudio.taskquery import parse_task_page, task_query
from annotate.labelstudio.passes import pass_projects
from annotate.labelstudio.client import resolve
from annotate.labelstudio.client import find_project
from annotate.labelstudio.client import connect

PAGE_SIZE = 1000
LIGHT_FIELDS = "id,total_annotations,cancelled_annotations,annotators,updated_at"


@dataclass
class AnnotatorStatus:
    pseudonym: str
    email: str | None
    """Only from this machine's private pseudonym map or the server's accounts; never under exports/."""
    done: int = 0
    """Submitted annotations in the last pull's records."""
    skipped: int = 0
    """Skipped (cancelled) annotations in the last pull's records."""
    quarantined: int = 0
    """Annotations the last pull kept out of the records because they break the scheme."""
    tasks_on_server: int | None = None
    """Tasks holding an annotation (submitted or skipped) by this account on the server now."""


@dataclass
class ServerStatus:
    url: str | None
    answered: bool
    reason: str | None = None
    project_found: bool = False
    project_id: int | None = None
    """The project (with blind passes: the first pass's project)."""
    passes: int = 0
    """Blind passes (one project each); 0 for one shared project."""
    tasks: int = 0
    """Tasks of the project (with passes: of each pass, which all hold the same articles)."""
    overlap: int = 1
    annotations: int = 0
    """Submitted annotations on the server."""
    skipped: int = 0
    """Skipped annotations on the server."""
    done_towards_overlap: int = 0
    """Submitted annotations counted up to the overlap on each task: progress towards tasks × overlap."""
    changed_since_pull: int = 0
    """Tasks new or changed since the last pull: what the next pull would fetch."""
    disputes_open: int = 0
    disputes_settled: int = 0

    @property
    def target(self) -> int:
        return self.tasks * self.overlap


@dataclass
class Status:
    project: str
    articles: int
    records: int
    quarantined: int
    gold: int
    last_pull: str | None
    """Server time at which the last successful pull began, or None before the first."""
    server: ServerStatus
    annotators: list[AnnotatorStatus] = field(default_factory=list)
    next_step: str = ""

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["server"]["target"] = self.server.target
        return data


def status(workspace: Workspace, *, project: str | None = None) -> Status:
    """The project's state from local files and a few light requests (see the module docstring)."""
    title = project or load_project_settings(workspace).project
    slug = slugify(title)
    articles, _ = read_corpus(workspace)
    records = _lines(workspace.records_path(slug))
    quarantine = _lines(workspace.quarantine_path(slug))
    checkpoints = _checkpoints(workspace, title)
    annotators = _local_annotators(workspace, records, quarantine)
    result = Status(
        project=title,
        articles=len(articles),
        records=sum(not r.get("cancelled") for r in records),
        quarantined=len(quarantine),
        gold=len({r["article_id"] for r in _lines(workspace.gold_path(slug))}),
        last_pull=min((c.since for c in checkpoints.values()), default=None),
        server=ServerStatus(url=None, answered=False),
    )
    try:
        result.server = _server(workspace, title, checkpoints, annotators)
    except AnnotateError as exc:
        result.server = ServerStatus(url=_configured_url(workspace), answered=False, reason=str(exc))
    result.annotators = sorted(annotators.values(), key=lambda a: (a.email or "~", a.pseudonym))
    result.next_step = next_step(result)
    return result


def _lines(path: Any) -> list[dict[str, Any]]:
    return list(iter_records(path)) if path.exists() else []


def _configured_url(workspace: Workspace) -> str | None:
    try:
        return resolve(workspace)[0]
    except AnnotateError:
        return None


def _local_annotators(
    workspace: Workspace, records: list[dict[str, Any]], quarantine: list[dict[str, Any]]
) -> dict[str, AnnotatorStatus]:
    """Per pseudonym, from the last pull; e-mails from the private pseudonym map."""
    mapping = load_mapping(workspace)
    found: dict[str, AnnotatorStatus] = {}

    def of(name: str) -> AnnotatorStatus:
        who = mapping.get(name)
        email = who if who and "@" in who else None
        return found.setdefault(name, AnnotatorStatus(name, email))

    for record in records:
        row = of(str(record.get("annotator")))
        row.skipped += bool(record.get("cancelled"))
        row.done += not record.get("cancelled")
    for entry in quarantine:
        name = (entry.get("record") or {}).get("annotator")
        if name:
            of(str(name)).quarantined += 1
    return found


def _checkpoints(workspace: Workspace, title: str) -> dict[str, Checkpoint]:
    """The last pull's checkpoint of each project of the title (its one project, or each blind pass)."""
    titles = [title] + [pass_title(title, n) for n in range(MAX_PASSES)]
    found = {t: Checkpoint.load(workspace, slugify(t)) for t in titles}
    return {t: c for t, c in found.items() if c is not None}


def title_projects(connection: Any, title: str) -> tuple[list[Any], bool]:
    """The title's projects on the server, and whether they are blind passes."""
    passes = pass_projects(connection, title)
    if passes:
        return passes, True
    remote = find_project(connection, title)
    return ([remote] if remote is not None else []), False


def _server(
    workspace: Workspace, title: str, checkpoints: dict[str, Checkpoint], annotators: dict[str, AnnotatorStatus]
) -> ServerStatus:
    connection = connect(workspace)
    server = ServerStatus(url=connection.url, answered=True)
    projects, blind = title_projects(connection, title)
    if not projects:
        return server
    server.project_found, server.project_id = True, projects[0].id
    server.passes = len(projects) if blind else 0
    per_user: Counter[int] = Counter()
    for remote in projects:
        cap = max(1, int(remote.maximum_annotations or 1))  # a pass project asks for one annotation a task
        server.overlap = len(projects) if blind else cap
        tasks = _light_tasks(connection, remote.id)
        server.tasks = max(server.tasks, len(tasks))
        checkpoint = checkpoints.get(remote.title)
        pulled = checkpoint if checkpoint and checkpoint.project_id == remote.id else None
        for task in tasks:
            done = int(task.get("total_annotations") or 0)
            server.annotations += done
            server.skipped += int(task.get("cancelled_annotations") or 0)
            server.done_towards_overlap += min(done, cap)
            server.changed_since_pull += not (pulled and pulled.unchanged(task))
            per_user.update(set(task.get("annotators") or []))
    _add_accounts(workspace, connection, per_user, annotators)
    server.disputes_open, server.disputes_settled = _disputes(connection, title)
    return server


def _light_tasks(connection: Any, project_id: int) -> list[dict[str, Any]]:
    """Every task of the project with its counts and annotators only (no text, no results), paged by id."""
    tasks: list[dict[str, Any]] = []
    after = 0
    while True:
        # `review=1` makes the task list compute only who annotated each task (its "annotators"
        # column), not every column of the Data Manager; the counts are stored on the task.
        params = {
            "project": project_id,
            "page": 1,
            "page_size": PAGE_SIZE,
            "include": LIGHT_FIELDS,
            "review": 1,
            "query": task_query(after, None),
        }
        response = connection.get_raw("api/tasks/", params, "reading the project's task counts")
        page = parse_task_page(response.content, connection.url)["tasks"]
        tasks += page
        if len(page) < PAGE_SIZE:
            return tasks
        after = page[-1]["id"]


def _add_accounts(
    workspace: Workspace, connection: Any, per_user: Counter[int], annotators: dict[str, AnnotatorStatus]
) -> None:
    """Every account that has work on the server, under the pseudonym its records carry."""
    key = load_key(workspace)
    with connection.errors("listing the accounts"):
        users = list(connection.client.users.list())
    for user in users:
        if not per_user.get(user.id):
            continue
        name = pseudonym(key, identity({"id": user.id, "email": user.email}))
        row = annotators.setdefault(name, AnnotatorStatus(name, user.email or None))
        row.email = row.email or user.email or None
        row.tasks_on_server = per_user[user.id]


def _disputes(connection: Any, title: str) -> tuple[int, int]:
    """(curation tasks without a submission, curation tasks with one)."""
    curation = find_project(connection, curation_title(title))
    if curation is None:
        return 0, 0
    tasks = _light_tasks(connection, curation.id)
    settled = sum(int(t.get("total_annotations") or 0) > 0 for t in tasks)
    return len(tasks) - settled, settled


def next_step(state: Status) -> str:
    """The one command (or wait) that moves the project on from where it stands."""
    server = state.server
    if not server.answered:
        return "annotate server start (or set LABEL_STUDIO_URL and LABEL_STUDIO_API_KEY), then annotate status"
    if not server.project_found or state.articles > server.tasks:
        return "annotate push"
    if server.changed_since_pull:
        return "annotate pull"
    if state.quarantined:
        return "annotate validate --by-annotator (the annotators see their problems in Label Studio)"
    if server.disputes_open:
        return "wait: the curator settles the open disputes, then annotate adjudicate"
    if server.done_towards_overlap < server.target:
        return "wait: annotators label in Label Studio, then annotate pull"
    if state.gold < server.tasks:
        return "annotate adjudicate"
    return "annotate publish --bump minor"
