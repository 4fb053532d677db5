"""The `annotate` command line: parses options, calls the library function of the same name, prints.

Nothing here decides anything about annotations; errors raised by the library are
turned into one sentence and an exit code in `_run`.
"""

from __future__ import annotations

import contextlib
import functools
import json
import signal
from dataclasses import asdict
from enum import Enum
from pathlib import Path
from typing import Annotated, Any
from collections.abc import Callable, Iterator

import typer
from rich.console import Console
from rich.progress import Progress, TaskID

from annotate.core import corpus as corpus_lib
from annotate.core import generated
from annotate.core import init as init_lib
from annotate.core import scheme_versions as migration_lib
from annotate.core import exports as exports_lib
from annotate.core.errors import AnnotateError
from annotate.core.progress import Progress as Step
from annotate.core.progress import ProgressCallback
from annotate.core.workspace import Workspace, find_workspace
from annotate.dataset import publish as publish_lib
from annotate.labelstudio import client as client_lib
from annotate.labelstudio import feedback
from annotate.labelstudio import pull as pull_lib
from annotate.labelstudio import push as push_lib
from annotate.labelstudio import server as server_lib
from annotate.labelstudio import team as team_lib
from annotate.labelstudio import watch as watch_lib
from annotate.quality import adjudicate as adjudicate_lib
from annotate.quality import migrate as migrate_lib
from annotate.quality import status as status_lib

app = typer.Typer(
    help=(
        "Turn news articles into a gold-standard, versioned Hugging Face dataset of entities and events.\n\n"
        "The flow: corpus add → push (to Label Studio) → annotators label in the browser → pull → validate → "
        "agreement → adjudicate → publish."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
server_app = typer.Typer(help="Run the embedded Label Studio on this machine (loopback only).", no_args_is_help=True)
corpus_app = typer.Typer(help="Add articles to the corpus and list them.", no_args_is_help=True)
app.add_typer(server_app, name="server")
app.add_typer(corpus_app, name="corpus")
team_app = typer.Typer(help="Annotator accounts on Label Studio: create them and see their work.", no_args_is_help=True)
app.add_typer(team_app, name="team")


class Format(str, Enum):
    text = "text"
    json = "json"


class ReportFormat(str, Enum):
    text = "text"
    json = "json"
    html = "html"


# Options several commands share, declared once.
ProjectOption = Annotated[
    str | None, typer.Option("--project", help="Label Studio project title (default: `project` in annotate.yaml).")
]
FormatOption = Annotated[Format, typer.Option("--format", help="text or json")]


def err(message: str) -> None:
    typer.echo(message, err=True)


def _run(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn library errors into a sentence on stderr and a non-zero exit, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except AnnotateError as exc:
            err(f"Error: {exc}")
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            err("Interrupted. What was finished is kept and nothing half-written is; run the command again to finish.")
            raise typer.Exit(130) from None

    return wrapper


def _workspace() -> Workspace:
    return find_workspace()


@contextlib.contextmanager
def _progress(verb: str, *, keep: bool = False) -> Iterator[ProgressCallback]:
    """Progress bars on stderr, one per stage the library reports ("Pushing tasks"); yields the callback.

    `keep` leaves the finished bars on screen (push: each stage's count is worth seeing), else they go.
    """
    bars: dict[str, TaskID] = {}
    with Progress(console=Console(stderr=True), transient=not keep) as progress:

        def update(step: Step) -> None:
            if not step.total:
                return
            if step.stage not in bars:
                bars[step.stage] = progress.add_task(f"{verb} {step.stage}", total=step.total)
            progress.update(bars[step.stage], completed=step.done, total=step.total)

        yield update


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


# --- init --------------------------------------------------------------------------------


@app.command()
@_run
def init(
    directory: Annotated[Path, typer.Argument(help="The new project folder (it must not exist yet, or be empty).")],
    from_scheme: Annotated[
        Path | None,
        typer.Option(
            "--from-scheme",
            help="The scheme.yaml to start from (default: the current project's labels/scheme.yaml).",
        ),
    ] = None,
    project: Annotated[
        str | None,
        typer.Option("--project", help="Title of its Label Studio project (default: the folder's name in words)."),
    ] = None,
    dataset: Annotated[
        str | None,
        typer.Option("--dataset", help="Name of its dataset, the folder under exports/ (default: the folder's name)."),
    ] = None,
) -> None:
    """Create a new project folder for a new dataset: scheme, guidelines skeleton, empty corpus, its own annotate.yaml.

    Commands run inside the new folder use its project and dataset, so they need no --project.
    """
    result = init_lib.init(directory, from_scheme=from_scheme, project=project, dataset=dataset)
    root = result.workspace.root
    for path in result.written:
        typer.echo(f"wrote {path.relative_to(root)}")
    typer.echo(
        f"New project at {root}: Label Studio project {result.project!r}, dataset {result.dataset!r}, "
        f"scheme copied from {result.scheme_from}."
    )
    typer.echo(f"Next: cd {root}, write guidelines/, then `annotate corpus add ARTICLES` and `annotate push`.")


# --- server ------------------------------------------------------------------------------


@server_app.command("start")
@_run
def server_start(
    port: Annotated[int | None, typer.Option(help="Port on 127.0.0.1 (default 8080, or the last one used).")] = None,
    database: Annotated[
        str | None,
        typer.Option(
            help="postgresql://user:password@host:5432/name to keep Label Studio's data in PostgreSQL, or 'sqlite'. "
            "Default: the backend of the last start (SQLite the first time).",
        ),
    ] = None,
) -> None:
    """Start the embedded Label Studio and wait until it answers; harmless when it already runs."""
    workspace = _workspace()
    shown = {"done": False}

    def waiting(seconds: float) -> None:
        if not shown["done"]:
            err("Starting Label Studio (the first start sets up its database and takes about a minute)…")
            shown["done"] = True
        elif int(seconds) % 10 == 0:
            err(f"  still starting ({seconds:.0f} s)")

    state = server_lib.start(workspace, port=port, database=database, on_wait=waiting)
    settings = server_lib.load_settings(workspace)
    verb = "started" if state.started else "already running"
    typer.echo(f"Label Studio {verb} at {state.url}")
    if settings:
        where = server_lib.settings_path(workspace)
        typer.echo(f"Admin login: {settings.admin_email} (password in {where}, owner-only)")


@server_app.command("stop")
@_run
def server_stop() -> None:
    """Stop the embedded Label Studio; its data stays in .annotate/label-studio/."""
    server_lib.stop(_workspace())
    typer.echo("Label Studio stopped.")


@server_app.command("status")
@_run
def server_status(format: FormatOption = Format.text) -> None:
    """Say whether the embedded Label Studio runs, and whether the Label Studio the commands talk to accepts the key.

    Exit 0 when the Label Studio the commands talk to answers and accepts the API key, 1 otherwise.
    """
    workspace = _workspace()
    state = server_lib.status(workspace)
    embedded = f"running at {state.url} (pid {state.pid}); log: {state.log}" if state.running else "not running"
    if format is Format.text:
        typer.echo(f"embedded server: {embedded}")
    connection = client_lib.connect(workspace)
    if format is Format.json:
        _print_json({"embedded": {"running": state.running, "url": state.url, "pid": state.pid},
                     "commands_use": connection.url, "key_accepted": True})
    else:
        typer.echo(f"commands use:    Label Studio at {connection.url} (key accepted)")


# --- corpus ------------------------------------------------------------------------------


@corpus_app.command("add")
@_run
def corpus_add(
    paths: Annotated[list[Path], typer.Argument(help="Article files (.txt, .md, .jsonl) or folders of them.")],
) -> None:
    """Add articles; duplicates are reported, bad files named with the reason (exit 1 if any was refused)."""
    result = corpus_lib.corpus_add(_workspace(), paths)
    for article in result.added:
        typer.echo(f"added    {article.id}  {article.display_title}")
    for item in result.duplicates:
        typer.echo(f"skipped  {item.source}: duplicate, {item.reason}")
    for item in result.refused:
        err(f"refused  {item.source}: {item.reason}")
    typer.echo(f"{len(result.added)} added, {len(result.duplicates)} duplicate(s), {len(result.refused)} refused.")
    if result.refused:
        raise typer.Exit(1)


@corpus_app.command("list")
@_run
def corpus_list(format: FormatOption = Format.text) -> None:
    """List the corpus: id, title and length of each article. Exit 1 when a corpus file is not an article."""
    listing = corpus_lib.corpus_list(_workspace())
    if format is Format.json:
        _print_json(listing.rows)
    else:
        for row in listing.rows:
            typer.echo(f"{row['id']}  {row['characters']:>7,} chars  {row['title']}")
        typer.echo(f"{len(listing.rows)} article(s)")
    _report_broken(listing.broken)


def _report_broken(broken: list[Any]) -> None:
    """Name each corpus file that is not an article; exit 1 after the good ones were handled."""
    for item in broken:
        err(f"not an article  {item.source}: {item.reason}")
    if broken:
        err(f"{len(broken)} corpus file(s) skipped; fix or remove them.")
        raise typer.Exit(1)


# --- scheme ------------------------------------------------------------------------------


@app.command()
@_run
def scheme(
    check: Annotated[
        bool, typer.Option("--check", help="Only compare; exit 1 when a generated file is stale.")
    ] = False,
) -> None:
    """Regenerate labels/label_config.xml, labels/record.schema.json and the guideline tables from labels/scheme.yaml.

    Also checks the scheme's version: records under an older version need the migrations in labels/migrations/
    that carry over every name they use that changed, and the guidelines must name the scheme version.
    """
    workspace = _workspace()
    result = generated.scheme(workspace, check=check)
    s = result.scheme
    summary = (
        f"scheme {s.version}: {len(s.entities)} entity types, {len(s.events)} event types, {len(s.role_names)} roles"
    )
    if check:
        typer.echo(f"{summary}; {len(result.unchanged)} generated file(s) up to date.")
    else:
        for path in result.written:
            typer.echo(f"wrote {path}")
        typer.echo(f"{summary}; {len(result.written)} file(s) written, {len(result.unchanged)} unchanged.")
    versions = migration_lib.check_versions(workspace, s)
    for version in versions.to_migrate:
        carried = ", ".join(versions.covered.get(version, [])) or "no name in use changes"
        typer.echo(
            f"{versions.in_use[version]} record(s) are under scheme {version}; its migration to {s.version} "
            f"carries over what they use that changed ({carried}). Run `annotate migrate`."
        )


# --- push, pull, validate ----------------------------------------------------------------


@app.command()
@_run
def push(
    project: ProjectOption = None,
    annotators_per_task: Annotated[
        int | None, typer.Option(help="Overlap: how many different annotators label each article.")
    ] = None,
    predictions: Annotated[
        Path | None, typer.Option(help="JSON Lines file of canonical records to upload as pre-annotations.")
    ] = None,
    model_version: Annotated[
        str | None,
        typer.Option(help="Model version of the predictions (default: the predictions file's name without suffix)."),
    ] = None,
    annotations: Annotated[
        Path | None,
        typer.Option(help="JSON Lines file of canonical records to import as finished annotations (a recorded pass)."),
    ] = None,
    annotator: Annotated[
        str | None,
        typer.Option(
            help="E-mail of the account the --annotations are by; created (password printed once) if missing."
        ),
    ] = None,
    batch_size: Annotated[int, typer.Option(help="Articles per import request.")] = 100,
    shared: Annotated[
        bool,
        typer.Option("--shared", help="One project where annotators see each other's work, instead of blind passes."),
    ] = False,
) -> None:
    """Put the corpus into Label Studio with the scheme's labels and the guidelines.

    With more than one annotator per task the annotation is blind: one project per pass ("<title> · pass A", ...),
    each annotator working in one pass. A rerun imports only new articles; changed ones are named, not
    re-imported. Exit 1 if anything was refused.
    """
    with _progress("Pushing", keep=True) as update:
        result = push_lib.push(
            _workspace(),
            project=project,
            annotators_per_task=annotators_per_task,
            predictions=predictions,
            model_version=model_version,
            annotations=annotations,
            annotator=annotator,
            batch_size=batch_size,
            on_progress=update,
            blind=False if shared else None,
        )
    for one in result.passes or [result]:
        verb = "created" if one.project_created else "updated"
        typer.echo(f"Project {one.title!r} {verb}: {one.url}")
    if result.passes:
        typer.echo(f"Blind annotation: {len(result.passes)} passes; give each annotator one pass to work in.")
    for item in result.changed:
        err(f"changed  {item.article_id}  {item.title}: {item.advice}")
    for batch in result.failed:
        err(f"failed   {len(batch.article_ids)} article(s) from {batch.article_ids[0]}: {batch.reason}")
    typer.echo(
        f"Tasks: {len(result.created)} created, {len(result.skipped)} skipped (already there), "
        f"{len(result.changed)} changed, {result.failed_count} failed."
    )
    bad = bool(result.failed)
    if result.broken:
        for refusal in result.broken:
            err(f"not an article  {refusal.source}: {refusal.reason}")
        err(f"{len(result.broken)} corpus file(s) skipped; fix or remove them and push again.")
        bad = True
    if result.predictions:
        bad = _report_predictions(result.predictions) or bad
    if result.annotations:
        bad = _report_annotations(result.annotations) or bad
    if bad:
        raise typer.Exit(1)


def _report_annotations(report: Any) -> bool:
    """Print what happened to recorded annotations; True when some record was not imported."""
    if report.new_account and report.new_account.password:
        password = report.new_account.password
        typer.echo(f"Created account {report.annotator}; first-login password (shown once): {password}")
    return _report_upload(report, f"Annotations by {report.annotator}", f"{report.imported} imported")


def _report_predictions(report: Any) -> bool:
    """Print what happened to the predictions; True when some record was not uploaded."""
    return _report_upload(report, f"Predictions ({report.model_version})", f"{report.uploaded} uploaded")


def _report_upload(report: Any, heading: str, done: str) -> bool:
    for issue in report.refused:
        err(f"refused  {issue}")
    for issue in report.not_in_project:
        err(f"not in project  {issue}")
    typer.echo(
        f"{heading}: {done}, {report.skipped} skipped (already there), "
        f"{len(report.refused)} refused, {len(report.not_in_project)} not in the project."
    )
    return bool(report.refused or report.not_in_project)


@app.command()
@_run
def migrate(
    project: ProjectOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print, per article, what would change; change nothing.")
    ] = False,
    files_only: Annotated[
        bool,
        typer.Option(
            "--files-only", help="Migrate only the records, gold and recorded passes; no Label Studio needed."
        ),
    ] = False,
) -> None:
    """Carry every annotation over to the scheme's new version, following labels/migrations/.

    Migrates the Label Studio project's config and annotations, the curation project, and the records, gold
    and recorded passes. A rerun changes nothing; a run that stopped is finished by running it again. What
    the migration cannot decide is listed in exports/migrations/, never dropped.
    """
    with _progress("Migrating tasks") as update:
        result = migrate_lib.migrate(
            _workspace(), project=project, dry_run=dry_run, label_studio=not files_only, on_progress=update
        )
    _print_migration(result)


def _print_migration(result: Any) -> None:
    by_article: dict[str, list[Any]] = {}
    for change in result.articles:
        by_article.setdefault(change.article_id, []).append(change)
    verb = "would change" if result.dry_run else "changed"
    for article, changes in sorted(by_article.items()):
        typer.echo(f"article {article}")
        for change in changes:
            what = "; ".join(f"{name} ×{count}" for name, count in sorted(change.changed.items()))
            undecided = f"; {change.undecided} left to a person" if change.undecided else ""
            typer.echo(f"  {change.where}: {what or 'scheme version only'}{undecided}")
    for project in result.projects:
        if not project.found:
            continue
        state = f"from scheme {project.config_version}" if project.config_version != result.version else "up to date"
        typer.echo(
            f"Project {project.title!r} ({state}): {project.annotations_updated} of {project.annotations} "
            f"annotation(s) and {project.predictions_updated} prediction(s) {verb}"
            + ("; label config set to the new scheme." if project.config_updated else ".")
        )
        for item in project.unreadable:
            err(f"left as it is  {item}")
    for file in result.files:
        if file.migrated:
            typer.echo(f"{file.path}: {file.migrated} of {file.records} record(s) {verb}.")
    for item in result.undecided:
        where = f"article {item.article_id}, annotation {item.annotation_id}, region {item.region}"
        err(f"undecided  {where}: {item.reason}")
    steps = ", ".join(result.migrations) or "none needed"
    prefix = "Dry run, nothing changed. " if result.dry_run else ""
    typer.echo(
        f"{prefix}Scheme {result.version}; migrations {steps}; {len(result.articles)} annotation(s) or record(s) "
        f"{verb}, {len(result.undecided)} item(s) left to a person."
    )
    if result.undecided_path:
        typer.echo(f"Left to a person: {result.undecided_path}")


@app.command()
@_run
def pull(
    project: ProjectOption = None,
    full: Annotated[bool, typer.Option("--full", help="Fetch every task again instead of only those changed.")] = False,
    from_file: Annotated[
        Path | None,
        typer.Option(
            "--from-file", help="Read a JSON export downloaded from Label Studio instead of asking the server."
        ),
    ] = None,
    new_project: Annotated[
        bool,
        typer.Option(
            "--new-project",
            help="The project is knowingly not the one the records came from (a new server): rebuild the records "
            "from it; the old ones go to the .removed.jsonl file.",
        ),
    ] = False,
) -> None:
    """Bring finished annotations back from Label Studio as canonical records.

    After the first pull only tasks changed since the last one are fetched. The raw pages are kept
    under exports/raw/; invalid annotations go to a quarantine file beside the records and are listed.
    """
    with _progress("Pulling") as update:
        result = pull_lib.pull(
            _workspace(), project=project, full=full, from_file=from_file, new_project=new_project, on_progress=update
        )
    for warning in result.warnings:
        err(f"Warning: {warning}")
    for item in result.quarantined:
        for problem in item.problems:
            err(f"quarantined  {problem}")
    kind = "full" if result.full else "incremental"
    typer.echo(
        f"Pulled {result.project!r} ({kind}): {result.tasks_fetched} task(s) fetched, {result.unchanged} unchanged; "
        f"{result.records_written} record(s) written ({result.cancelled} cancelled), {result.removed} removed, "
        f"{len(result.quarantined)} quarantined."
    )
    typer.echo(f"Records: {result.records_path} ({result.total_records} in all); raw: {result.raw}")
    if result.quarantined:
        typer.echo(f"Quarantined annotations: {result.quarantine_path}")
    if result.removed_path:
        typer.echo(f"Removed records are kept in {result.removed_path}")
    if result.feedback_written:
        typer.echo(
            f"Problems shown to (or cleared for) the annotators of {result.feedback_written} task(s) in Label Studio."
        )
    if result.feedback_error:
        err(
            f"The records are written, but the problems could not be shown in Label Studio: {result.feedback_error} "
            "The checkpoint did not move, so the next pull fetches the same tasks and tries again."
        )


@app.command()
@_run
def validate(
    path: Annotated[
        Path | None,
        typer.Argument(
            help="A Label Studio JSON export, or canonical records (.jsonl or a JSON list). "
            "With --by-annotator it may be left out: the last pull's quarantined annotations."
        ),
    ] = None,
    format: FormatOption = Format.text,
    by_annotator: Annotated[
        bool,
        typer.Option("--by-annotator", help="List the problems per annotator (pseudonym, and the e-mail known here)."),
    ] = False,
    project: ProjectOption = None,
) -> None:
    """Check a Label Studio export or canonical records against the JSON Schema and the scheme.

    Exit 0 when valid, 1 when a problem was found, 2 when the file cannot be read as an export.
    """
    if by_annotator:
        _validate_by_annotator(path, project, format)
        return
    if path is None:
        raise typer.BadParameter("give the file to check (or --by-annotator for the last pull)", param_hint="PATH")
    report = exports_lib.validate(path, _workspace())
    if format is Format.json:
        _print_json(report.as_dict())
    else:
        for problem in report.problems:
            typer.echo(str(problem))
        verdict = "valid" if report.valid else f"{len(report.problems)} problem(s)"
        tasks = f"{report.tasks} task(s), " if report.kind is exports_lib.FileKind.export else ""
        typer.echo(f"{path}: {verdict} in {tasks}{report.annotations} annotation(s).")
    if not report.valid:
        raise typer.Exit(1)


def _validate_by_annotator(path: Path | None, project: str | None, format: Format) -> None:

    rows = feedback.problems_by_annotator(_workspace(), path, project=project)
    if format is Format.json:
        _print_json([row.as_dict() for row in rows])
    else:
        for row in rows:
            typer.echo(f"{row.pseudonym}  {row.email or '(e-mail not known here)'}: {len(row.problems)} problem(s)")
            for problem in row.problems:
                typer.echo(f"  {problem}")
        source = path or "the last pull's quarantined annotations"
        typer.echo(f"{source}: {sum(len(r.problems) for r in rows)} problem(s) by {len(rows)} annotator(s).")
    if rows:
        raise typer.Exit(1)


# --- day to day --------------------------------------------------------------------------


def _bar(done: int, total: int, width: int = 30) -> str:
    filled = round(width * done / total) if total else 0
    share = f"{100 * done / total:.0f} %" if total else "-"
    return f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} ({share})"


@app.command()
@_run
def status(project: ProjectOption = None, format: FormatOption = Format.text) -> None:
    """Where the project stands, on one screen: articles, tasks, progress against the overlap, each annotator's
    work, disputes, gold, the last pull and what changed since, and the next command to run.

    Read-only and light (a few requests, no pull). When Label Studio does not answer it says so and shows what
    the local files know; exit 1 then.
    """

    state = status_lib.status(_workspace(), project=project)
    if format is Format.json:
        _print_json(state.as_dict())
    else:
        typer.echo(_status_text(state))
    if not state.server.answered:
        raise typer.Exit(1)


def _status_text(state: Any) -> str:
    server = state.server
    lines = [f"project      {state.project!r}", f"corpus       {state.articles} article(s)"]
    if not server.answered:
        lines.append(f"server       did not answer ({server.url or 'none configured'}): {server.reason}")
        lines.append("             the figures below come from local files only")
    elif not server.project_found:
        lines.append(f"server       {server.url}: no project of this title yet")
    else:
        lines += [
            f"tasks        {server.tasks} in Label Studio ({server.url}/projects/{server.project_id}), "
            f"overlap {server.overlap}"
            + (f" ({server.passes} blind passes, one project each)" if server.passes else ""),
            f"annotations  {_bar(server.done_towards_overlap, server.target)}; "
            f"{server.annotations} submitted, {server.skipped} skipped",
            f"disputes     {server.disputes_open} open, {server.disputes_settled} settled",
        ]
    lines.append(f"gold         {state.gold} article(s)")
    pulled = f"last pull    {state.last_pull or 'never'}: {state.records} record(s), {state.quarantined} quarantined"
    if server.answered and server.project_found:
        pulled += f"; {server.changed_since_pull} task(s) new or changed since"
    lines.append(pulled)
    if state.annotators:
        lines.append("annotators   (done / skipped / quarantined in the last pull; tasks touched on the server)")
        for row in state.annotators:
            touched = "-" if row.tasks_on_server is None else row.tasks_on_server
            who = f"{row.pseudonym}  {row.email or ''}"
            lines.append(f"  {who:<56} {row.done:>4} / {row.skipped:>3} / {row.quarantined:>3}   {touched}")
    lines.append(f"next         {state.next_step}")
    return "\n".join(lines)


# --- team, agreement, adjudicate ---------------------------------------------------------


@team_app.command("add")
@_run
def team_add(
    emails: Annotated[list[str], typer.Argument(help="E-mail addresses of the annotators.")],
    reset: Annotated[
        bool, typer.Option("--reset", help="Give accounts that exist already a new password (embedded server only).")
    ] = False,
) -> None:
    """Create annotator accounts, each with a random first-login password shown once here."""
    login = None
    try:
        for account in team_lib.iter_team_add(_workspace(), emails, reset=reset):
            if account.reset:
                typer.echo(f"reset    {account.email}  password: {account.password}")
            elif account.existing:
                note = "already has an account; left as it is; rerun with `--reset` for new login details"
                typer.echo(f"exists   {account.email}  ({note})")
            else:
                typer.echo(f"created  {account.email}  password: {account.password}")
            login = login or (account.login_url if account.password else None)
    finally:
        if login:
            typer.echo(f"Log in at {login}. The passwords are not kept anywhere: pass each one on privately now.")


@team_app.command("list")
@_run
def team_list(format: FormatOption = Format.text) -> None:
    """List the accounts with how many annotations each has done and the pseudonym their work carries."""
    members = team_lib.team_list(_workspace())
    if format is Format.json:
        _print_json([asdict(m) for m in members])
        return
    for member in members:
        typer.echo(f"{member.email:<36} {member.annotations:>6} annotation(s)  pseudonym {member.pseudonym}")
    typer.echo(f"{len(members)} account(s)")


@app.command()
@_run
def watch(
    project: ProjectOption = None,
    interval: Annotated[float, typer.Option(help="Seconds between two looks at the server.")] = 2.0,
    once: Annotated[bool, typer.Option("--once", help="Check what is there now, then stop.")] = False,
) -> None:
    """Check each annotation as it is submitted and show its problems to its annotator in the labelling view.

    Looks every few seconds at the project's passes (or its one project) and its curation project; what is
    wrong with a submission (a role its event type does not have, say) appears above the article of that
    task, and goes away once the annotation is fixed. Runs until Ctrl-C.
    """
    if not once:
        typer.echo("Watching for new annotations; Ctrl-C to stop.")
    for checked in watch_lib.watch(_workspace(), project=project, interval=interval, rounds=1 if once else None):
        verdict = f"{len(checked.problems)} problem(s)" if checked.problems else "valid"
        typer.echo(f"{checked.project}: task {checked.task_id}, annotation {checked.annotation_id}: {verdict}")
        for problem in checked.problems:
            typer.echo(f"  {problem}")


@app.command()
@_run
def agreement(
    project: ProjectOption = None,
    from_file: Annotated[
        Path | None,
        typer.Option("--from-file", help="A Label Studio JSON export (or records .jsonl) instead of the last pull."),
    ] = None,
    format: Annotated[ReportFormat, typer.Option("--format", help="text, json or html")] = ReportFormat.text,
) -> None:
    """Report inter-annotator agreement: per pair, over all annotators, and each annotator against the gold.

    Compares the annotators who completed the same article (cancelled annotations left out): entity F1
    (nervaluate's strict, exact, partial, type), trigger and argument identification and classification F1,
    Krippendorff's alpha over all annotators for labels, event types and attributes, gamma for entity spans,
    bootstrap intervals over articles, label confusion. The JSON and the HTML report are also saved under
    exports/agreement/.
    """
    # lazy: agreement (and its report) import numpy and scipy, which `annotate --help` must not wait for
    from annotate.quality import agreement as agreement_lib
    from annotate.quality.report import render_text, save_report

    workspace = _workspace()
    report = agreement_lib.agreement(workspace, project=project, from_file=from_file)
    saved = save_report(report, workspace.agreement_dir())
    if format is ReportFormat.json:
        _print_json(report.as_dict())
    elif format is ReportFormat.html:
        typer.echo(f"wrote {saved[-1]}")
    else:
        typer.echo(render_text(report))
        typer.echo(f"Saved: {', '.join(str(p) for p in saved)}")


@app.command()
@_run
def adjudicate(
    project: ProjectOption = None,
    allow_single: Annotated[
        bool,
        typer.Option("--allow-single", help="Make gold of articles with fewer annotations than --min-annotators too."),
    ] = False,
    min_annotators: Annotated[
        int, typer.Option("--min-annotators", help="Annotations an article needs before it is merged.")
    ] = 2,
    decisions: Annotated[
        Path | None,
        typer.Option(
            help="JSON Lines file of a curator's recorded decisions (whole-article records) to submit to curation."
        ),
    ] = None,
    curator: Annotated[
        str | None,
        typer.Option(
            help="E-mail of the curator's account for --decisions; created (password printed once) if missing."
        ),
    ] = None,
) -> None:
    """Merge several annotators' work into gold; send disagreements to a curator.

    Ground-truth annotations are gold as they stand; otherwise units most annotators agree on are
    accepted, and articles with units in dispute go to the curation project in Label Studio. A curator's
    submission becomes gold the next time this runs. Writes exports/gold/<project>.jsonl.
    """
    result = adjudicate_lib.adjudicate(
        _workspace(),
        project=project,
        allow_single=allow_single,
        min_annotators=min_annotators,
        decisions=decisions,
        curator=curator,
    )
    if result.decisions is not None:
        _report_annotations(result.decisions)
    for item in result.gold:
        method = item.method.value if item.method else "?"
        typer.echo(f"gold       {item.article_id}  by {method} ({item.annotators} annotation(s))")
    for item in result.sent_to_curation:
        typer.echo(
            f"curation   {item.article_id}  {item.disputes} unit(s) in dispute{_between_truths(item)} "
            f"(agreement {item.agreement:.2f}; {', '.join(item.disagreement)}) → new task {item.curation_task}"
        )
    for item in result.awaiting_curation:
        typer.echo(
            f"waiting    {item.article_id}  {item.disputes} unit(s) in dispute{_between_truths(item)}, "
            f"task {item.curation_task} not submitted yet"
        )
    for item in result.too_few:
        typer.echo(
            f"too few    {item.article_id}  {item.annotators} annotation(s), needs {min_annotators} (or --allow-single)"
        )
    for item in result.invalid:
        err(f"invalid    {item.article_id}  " + "; ".join(item.problems))
    typer.echo(
        f"{len(result.gold)} gold, {len(result.sent_to_curation)} sent to curation, "
        f"{len(result.awaiting_curation)} awaiting curation, {len(result.too_few)} with too few annotations. "
        f"Gold: {result.gold_path}"
    )
    if result.curation_url:
        typer.echo(f"Curation project {result.curation_project!r}: {result.curation_url}")


def _between_truths(item: Any) -> str:
    if not item.ground_truths:
        return ""
    return f" between {item.ground_truths} ground-truth annotations that differ (none is taken as gold)"


@app.command()
@_run
def publish(
    version: Annotated[str | None, typer.Option("--version", help="The version to publish, X.Y.Z.")] = None,
    bump: Annotated[
        publish_lib.Bump | None,
        typer.Option(
            "--bump",
            help="major, minor or patch: the next version after the last one published; auto: the one the "
            "scheme's changes call for (major after a rename or removal).",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Folder holding the versions (default exports/<dataset name>/); writes OUT/X.Y.Z."
        ),
    ] = None,
    push_to_hub: Annotated[
        str | None,
        typer.Option(
            "--push-to-hub", help="ORG/NAME: upload to this Hub dataset and tag it vX.Y.Z (token from HF_TOKEN)."
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Build and list every file and the tag; write and send nothing.")
    ] = False,
    project: ProjectOption = None,
) -> None:
    """Write a versioned Hugging Face dataset from the gold set.

    Builds exports/<dataset name>/X.Y.Z/ (parquet per config and split, README.md card, manifest.json).
    A published version is never rewritten; with --push-to-hub an existing version is uploaded as it stands.
    """
    with _progress("Writing articles") as update:
        result = publish_lib.publish(
            _workspace(),
            version=version,
            bump=bump,
            out=out,
            push_to_hub=push_to_hub,
            dry_run=dry_run,
            project=project,
            on_progress=update,
        )
    rows = result.rows.get("documents", {})
    splits = ", ".join(f"{name} {count}" for name, count in rows.items())
    summary = (
        f"{result.articles} article(s) ({splits}), {result.entities} entities, {result.events} events; "
        f"{result.left_out} corpus article(s) without gold left out."
    )
    if result.dry_run:
        typer.echo(f"Dry run: nothing written or sent. {result.name} {result.version} would hold {summary}")
        for entry in result.files:
            typer.echo(f"  {entry.path}  ({entry.bytes:,} bytes)")
        typer.echo(f"would write {result.folder}")
        if push_to_hub:
            typer.echo(f"would upload these files to {push_to_hub} (Hugging Face dataset) and create tag {result.tag}")
        return
    if result.written:
        typer.echo(f"Published {result.name} {result.version} at {result.folder}: {summary}")
        log = result.changelog
        if log.get("previous"):
            typer.echo(
                f"Since {log['previous']}: {len(log['added'])} added, {len(log['removed'])} removed, "
                f"{len(log['changed'])} changed."
            )
    if result.pushed_url:
        typer.echo(f"Uploaded to {push_to_hub} and tagged {result.tag}: {result.pushed_url}")
    typer.echo(f"Load it: {result.load_local}")
    if result.load_hub:
        typer.echo(f"From the Hub: {result.load_hub}")


class ScoreFormat(str, Enum):
    text = "text"
    json = "json"
    markdown = "markdown"


@app.command()
@_run
def score(
    predictions: Annotated[
        Path,
        typer.Argument(
            help="The system's output: JSON Lines of `documents` rows or canonical records, a parquet file or a folder."
        ),
    ],
    dataset: Annotated[
        Path | None,
        typer.Option("--dataset", help="A published version folder (default: the newest under exports/<dataset>/)."),
    ] = None,
    split: Annotated[
        str, typer.Option("--split", help="The split whose gold the predictions are scored against.")
    ] = "test",
    system: Annotated[
        str | None, typer.Option("--system", help="The system's name (default: the file's name).")
    ] = None,
    format: Annotated[ScoreFormat, typer.Option("--format", help="text, json or markdown")] = ScoreFormat.text,
) -> None:
    """Score a system's predictions against the gold of a published version.

    Entity strict / exact / partial / type, trigger and argument identification and classification
    (and attached), attribute accuracy and macro-F1, each with a bootstrap interval over articles, beside
    the version's annotators in the same measures. Bad predictions are refused row by row; the report is
    saved under exports/scores/ for the next version's card.
    """
    from annotate.quality import score as score_lib  # lazy: it imports numpy and scipy

    try:
        workspace: Workspace | None = _workspace()
    except AnnotateError:
        workspace = None
    report = score_lib.score(predictions, dataset=dataset, split=split, system=system, workspace=workspace)
    if format is ScoreFormat.json:
        _print_json(report.as_dict())
    elif format is ScoreFormat.markdown:
        typer.echo(score_lib.render_markdown(report))
    else:
        typer.echo(score_lib.render_text(report))
    if report.saved and format is not ScoreFormat.json:
        typer.echo(f"Saved: {report.saved}")


@app.command()
@_run
def suggest(
    project: ProjectOption = None,
    dataset: Annotated[
        Path | None,
        typer.Option(
            "--dataset", help="The published version to learn from (default: the newest under exports/<dataset>/)."
        ),
    ] = None,
    held_out: Annotated[str, typer.Option("--held-out", help="The split left out of learning and scored on.")] = "test",
) -> None:
    """Pre-annotate the tasks nobody has labelled yet with a string matcher learnt from the gold.

    Entities from the gold's mentions (longest match first, whole words, the label the gold gives most often,
    ambiguous strings left out) and triggers whose gold words are unambiguous, pushed as Label Studio
    predictions with a model version. Its precision and recall are measured with `annotate score` on the
    held-out split it did not learn from. Tasks with an annotation, or already holding this model version's
    suggestion, are left alone.
    """
    from annotate.quality import suggest as suggest_lib  # lazy: it imports numpy and scipy through score

    result = suggest_lib.suggest(_workspace(), project=project, dataset=dataset, held_out=held_out)
    learnt = ", ".join(f"{split} {count}" for split, count in sorted(result.learnt_from.items()))
    typer.echo(
        f"{result.model_version}: learnt from {learnt} gold article(s): {result.strings} string(s), "
        f"{result.trigger_words} trigger word(s), {result.left_out} left out as ambiguous."
    )
    for measure, name in (("strict", "entities (strict)"), ("trigger_classification", "triggers (classification)")):
        p, r, f = (result.figure(measure, k) for k in ("precision", "recall", "f1"))
        figures = f"precision {_cell(p)}  recall {_cell(r)}  F1 {_cell(f)}"
        typer.echo(f"  {name:<27} {figures}  on {result.held_out} (held out)")
    if result.report.saved:
        typer.echo(f"Score report: {result.report.saved}")
    for line in result.invalid:
        err(f"not sent  {line}")
    typer.echo(
        f"Project {result.project!r}: {len(result.uploaded)} task(s) got suggestions, "
        f"{result.already} had them already, "
        f"{result.annotated} left alone (annotated)."
    )


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _stop_on_sigterm(signum: int, frame: Any) -> None:
    # A SIGTERM (a service manager, `kill`) takes the same clean-up path as Ctrl-C.
    raise KeyboardInterrupt


def main() -> None:
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    app()


if __name__ == "__main__":
    main()
