"""The benchmark's surroundings: a throwaway workspace, its own Label Studio, and the bare operations.

The "bare" operations are what the toolkit wraps, called the shortest way the SDK
allows: a batched `import_tasks`, Label Studio's own JSON export, and
`Dataset.from_list(...).to_parquet(...)`. They are the denominators of the ratios.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any, Iterable, Iterator

from annotate.core import derive

from annotate.labelstudio import server
from annotate.labelstudio.client import Connection, connect
from annotate.core.corpus import Article, write_article
from annotate.core.scheme import current_scheme
from annotate.labelstudio.projects import ensure_scheme_project
from annotate.labelstudio.push import task_data
from annotate.core.records import record_to_results
from annotate.core.workspace import Workspace, slugify

from . import synthetic

REPO = Path(__file__).resolve().parent.parent
# A migrated, empty Label Studio database kept between benchmark runs on one machine,
# so only the first run pays for the migrations (about a minute).
TEMPLATE = REPO / ".annotate" / "bench-template"
IMPORT_BATCH = 100
GOLD_METHOD = "majority"


def label_studio_version() -> str:
    return version("label-studio")


# --- workspace ----------------------------------------------------------------------------------


def make_workspace(root: Path, articles: Iterable[Article]) -> Workspace:
    """A project folder with the repository's scheme, guidelines and settings, and these articles."""
    root.mkdir(parents=True)
    for name in ("labels", "guidelines"):
        shutil.copytree(REPO / name, root / name)
    shutil.copy2(REPO / "annotate.yaml", root / "annotate.yaml")
    (root / "exports").mkdir()
    workspace = Workspace(root)
    for article in articles:
        write_article(workspace.corpus, article)
    return workspace


def share_server(source: Workspace, target: Workspace) -> None:
    """Let `target`'s commands talk to the server that `source` started."""
    shutil.copy2(server.settings_path(source), target.private_dir() / "server.json")


# --- the server ---------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((server.LOOPBACK, 0))
        return sock.getsockname()[1]


def start_server(workspace: Workspace, database: str | None = None) -> Connection:
    """A real Label Studio on a free loopback port, with its data inside the workspace.

    On SQLite unless `database` is a postgresql:// URL (an empty database: Label Studio
    migrates it on this first start; the SQLite template is not used).
    """
    for name in ("LABEL_STUDIO_URL", "LABEL_STUDIO_API_KEY"):
        os.environ.pop(name, None)  # every call must reach this server, not one named outside
    port = _free_port()
    if database:
        server.start(workspace, port=port, database=database)
        return connect(workspace)
    template = TEMPLATE / label_studio_version()
    restored = server.restore_template(workspace, template, port)
    server.start(workspace, port=port, database="sqlite")
    if not restored:
        server.save_template(workspace, template)
    return connect(workspace)


# --- a throwaway PostgreSQL ---------------------------------------------------------------------

POSTGRES_SCRIPT = REPO / "tests" / "with-postgres.sh"
POSTGRES_ENV = "ANNOTATE_TEST_DATABASE"
"""The postgresql:// URL that `tests/with-postgres.sh` gives the command it runs (password included)."""


def postgres_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


def run_with_postgres(argv: list[str]) -> int:
    """Run `python -m bench.run ARGV` again under a throwaway PostgreSQL on 127.0.0.1; its exit code.

    `tests/with-postgres.sh` makes the cluster (a random password, never printed), names it
    to the command in POSTGRES_ENV, and removes it when the command ends, however it ends.
    """
    command = [str(POSTGRES_SCRIPT), sys.executable, "-m", "bench.run", *argv]
    return subprocess.run(command, cwd=REPO, check=False).returncode


# --- projects -----------------------------------------------------------------------------------


def new_project(connection: Connection, workspace: Workspace, title: str) -> int:
    """A project made as push makes it (same label config and instructions), holding no task."""
    project, _ = ensure_scheme_project(connection, workspace, current_scheme(workspace), title)
    return project.id


def delete_project(connection: Connection, title: str) -> None:
    from annotate.labelstudio.client import find_project

    found = find_project(connection, title)
    if found is not None:
        connection.client.projects.delete(id=found.id)


def create_annotators(connection: Connection) -> list[int]:
    """The two annotators' user ids, created on first use."""
    known = {user.email: user.id for user in connection.client.users.list()}
    ids = []
    for email in synthetic.ANNOTATORS:
        if email not in known:
            made = connection.client.users.create(username=email.split("@")[0], email=email)
            known[email] = made.id
        ids.append(known[email])
    return ids


def batches(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def bare_import(connection: Connection, project_id: int, payload: list[dict], batch_size: int) -> None:
    """The denominator of push: the same tasks, in the same batches, with nothing around them."""
    for batch in batches(payload, batch_size):
        connection.client.projects.import_tasks(id=project_id, request=batch, return_task_ids=True)


# --- the annotated project ----------------------------------------------------------------------


def _annotated_task(article: Article, contents: list[dict], users: list[int]) -> dict[str, Any]:
    annotations = [
        {"result": record_to_results(content), "completed_by": user, "lead_time": 60.0 + 30 * n}
        for n, (content, user) in enumerate(zip(contents, users))
    ]
    return {"data": task_data(article), "annotations": annotations}


def _gold(article: Article, content: dict[str, Any]) -> dict[str, Any]:
    made = synthetic.record(article, content, annotator="adjudicated", annotation_id=f"gold-{article.id}")
    return {**made, "provenance": {"method": GOLD_METHOD}}


def load_annotated(connection: Connection, workspace: Workspace, title: str, articles: list[Article]) -> int:
    """A project whose tasks carry two annotators' annotations, and the gold file of its slug.

    The annotations are imported with their tasks (one batched request per 100 tasks):
    adding 2N annotations to tasks that push made would take 2N single requests, which at
    N = 10,000 costs more than the whole benchmark. So pull, validate and publish read a
    project of their own, with the same task data push sends, and push is measured on
    fresh projects, as a first push of a corpus happens.
    """
    scheme = current_scheme(workspace)
    users = create_annotators(connection)
    project_id = new_project(connection, workspace, title)
    rng = random.Random(synthetic.SEED + 1)
    gold_path = workspace.gold_path(slugify(title))
    gold_path.parent.mkdir(parents=True, exist_ok=True)
    with gold_path.open("w", encoding="utf-8") as gold:
        for batch in batches(articles, IMPORT_BATCH):
            tasks = []
            for article in batch:
                first = synthetic.annotation(article, scheme, rng)
                second = synthetic.second_opinion(first, scheme, rng)
                tasks.append(_annotated_task(article, [first, second], users))
                gold.write(json.dumps(_gold(article, first), ensure_ascii=False) + "\n")
            connection.client.projects.import_tasks(id=project_id, request=tasks, return_task_ids=True)
    return project_id


def change_annotations(connection: Connection, records_path: Path, share: float, seed: int) -> int:
    """Update `share` of the pulled annotations through the API (a polarity flipped); return how many."""
    rng = random.Random(seed)
    records = [json.loads(line) for line in records_path.open(encoding="utf-8") if line.strip()]
    chosen = rng.sample(records, max(1, round(share * len(records))))
    for record in chosen:
        event = record["events"][0]
        flipped = "Negative" if event["attributes"].get("polarity") != "Negative" else "Positive"
        event["attributes"]["polarity"] = flipped
        connection.client.annotations.update(id=int(record["annotation_id"]), result=record_to_results(record))
    return len(chosen)


# --- Label Studio's own export ------------------------------------------------------------------


def label_studio_export(connection: Connection, project_id: int, destination: Path) -> int:
    """Create an export, wait for it, download it as JSON to a file; return its size in bytes."""
    exports = connection.client.projects.exports
    # Label Studio builds the export inside this one request: at 50,000 articles it outlasts the
    # toolkit's 120 s request timeout, so the bare operation is given an hour and no retry.
    patient: Any = {"timeout_in_seconds": 3600, "max_retries": 0}
    made = exports.create(id=project_id, title="benchmark", request_options=patient)
    while (status := exports.get(id=project_id, export_pk=made.id).status) not in ("completed", "failed"):
        time.sleep(0.05)
    if status == "failed":
        raise RuntimeError(f"Label Studio could not export project {project_id}; see its log.")
    size = 0
    with destination.open("wb") as handle:
        for chunk in exports.download(id=project_id, export_pk=made.id, export_type="JSON", request_options=patient):
            handle.write(chunk)
            size += len(chunk)
    return size


# --- the bare publish ---------------------------------------------------------------------------


def dataset_rows(workspace: Workspace, slug: str, articles: list[Article]) -> dict[str, list[dict[str, Any]]]:
    """The rows publish writes for each config, made with publish's own row functions."""
    from annotate.dataset.rows import annotation_row, document_row, token_row
    from annotate.dataset.windows import article_tokens, window_rows
    from annotate.core.records import iter_records

    scheme = current_scheme(workspace)
    kept = ("date", "source", "url")
    meta = {a.id: {"title": a.title, **{k: str(a.metadata[k]) for k in kept if k in a.metadata}} for a in articles}
    documents = [
        document_row(gold, meta.get(gold["article_id"], {}), scheme, gold["provenance"]["method"])
        for gold in iter_records(workspace.gold_path(slug))
    ]
    return {
        "documents": documents,
        "tokens": [token_row(document)[0] for document in documents],
        "windows": [w for d in documents for w in window_rows(d, *article_tokens(d)[:2])],
        "annotations": [annotation_row(r, scheme) for r in iter_records(workspace.records_path(slug))],
    }


def bare_parquet(workspace: Workspace, rows: dict[str, list[dict[str, Any]]], folder: Path) -> None:
    """The denominator of publish: each config's rows to one parquet file, with the same features."""
    from datasets import Dataset, disable_progress_bars

    disable_progress_bars()  # publish draws no bar either
    scheme = current_scheme(workspace)
    folder.mkdir(parents=True, exist_ok=True)
    for config, config_rows in rows.items():
        dataset = Dataset.from_list(config_rows, features=derive.features(scheme, config))
        dataset.to_parquet(str(folder / f"{config}.parquet"))
