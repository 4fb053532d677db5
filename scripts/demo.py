"""The whole flow on the seed corpus, for `make demo`: run as `python scripts/demo.py`.

It works in a scratch copy of the project (exports/scratch/workspace/, git-ignored) with
its own embedded Label Studio, so it never rewrites the committed records: start the
server → push the corpus → restore the two recorded annotation passes and the curator's
decisions as their accounts' work → pull → validate → agreement → adjudicate → publish.
It ends with a login for trying the annotator's view and the one line that loads the
dataset it built. Running it again is harmless: every step skips what is already done.
"""

from __future__ import annotations

import json
import shutil
import sys

from annotate.labelstudio import server
from annotate.quality.adjudicate import adjudicate
from annotate.quality.agreement import agreement
from annotate.quality.report import save_report
from annotate.core.errors import AnnotateError
from annotate.dataset.publish import publish
from annotate.labelstudio.pull import pull
from annotate.labelstudio.push import push
from annotate.core.settings import load_project_settings
from annotate.labelstudio.team import team_add
from annotate.core.exports import validate
from annotate.core.workspace import Workspace, find_workspace, write_private

PASSES = {"pass-a": "pass-a@seed.annotate.local", "pass-b": "pass-b@seed.annotate.local"}
CURATOR = "curator@seed.annotate.local"
TRY_ACCOUNT = "try-annotator@annotate.local"
SCRATCH_VERSION = "1.0.0"


def step(message: str) -> None:
    print(f"\n==> {message}", flush=True)


def _try_login(workspace: Workspace) -> tuple[str, str | None]:
    """A local account for trying the annotator's view; its password kept owner-only so a rerun can show it."""
    path = workspace.state / "demo-login.json"
    if path.exists():
        return TRY_ACCOUNT, json.loads(path.read_text())["password"]
    account = team_add(workspace, [TRY_ACCOUNT])[0]
    if account.password:
        write_private(path, json.dumps({"email": TRY_ACCOUNT, "password": account.password}))
    return TRY_ACCOUNT, account.password


def scratch_copy(project: Workspace) -> Workspace:
    """The demo's own workspace under exports/scratch/ (git-ignored): the project's scheme, guidelines,
    corpus and settings, refreshed on every run, so the demo never rewrites the committed records."""
    root = project.exports / "scratch" / "workspace"
    for name in ("labels", "guidelines", "corpus"):
        shutil.rmtree(root / name, ignore_errors=True)
        shutil.copytree(project.root / name, root / name)
    shutil.copy2(project.root / "annotate.yaml", root / "annotate.yaml")
    return Workspace(root)


def run(project: Workspace) -> None:
    workspace = scratch_copy(project)
    recorded = workspace.corpus / "annotations"
    step("Starting the embedded Label Studio (the first start sets up its database: about a minute)")
    state = server.start(workspace)
    print(f"Label Studio at {state.url}")

    step("Pushing the corpus, two annotators per article")
    result = push(workspace, annotators_per_task=2)
    for one in result.passes or [result]:  # blind: one project per pass, each holding every article
        print(f"{one.title}, {one.url}: {len(one.created)} tasks created, {len(one.skipped)} already there")
    for name, email in PASSES.items():
        done = push(workspace, annotations=recorded / f"{name}.jsonl", annotator=email).annotations
        print(f"{name} as {email}: {done.imported} annotations imported, {done.skipped} already there")

    step("Pulling the finished annotations and validating them")
    pulled = pull(workspace)
    print(f"{pulled.total_records} records in {pulled.records_path}")
    report = validate(pulled.records_path, workspace)
    print(f"valid: {report.valid} ({len(report.problems)} problem(s))")

    step("Agreement between the two passes")
    agreed = agreement(workspace)
    save_report(agreed, workspace.agreement_dir())
    for row in agreed.headline[:10]:
        print(f"  {row['caption']:<42} {row['value']}")

    step("Adjudicating: agreed units become gold, the curator's recorded decisions settle the disputes")
    decided = adjudicate(workspace, decisions=recorded / "curation.jsonl", curator=CURATOR)
    print(f"{len(decided.gold)} gold articles, {len(decided.awaiting_curation)} awaiting curation: {decided.gold_path}")

    step("Publishing the gold set to a scratch folder")
    shutil.rmtree(workspace.exports / load_project_settings(workspace).dataset.name, ignore_errors=True)
    published = publish(workspace, version=SCRATCH_VERSION)
    folder = published.folder.relative_to(project.root)

    email, password = _try_login(workspace)
    step("Done")
    print(f"Label Studio:  {state.url}  (project: {result.url})")
    print(f"Try the annotator's view: log in as {email} with password {password or '(printed on the first run)'}")
    print("Load the dataset just built with one line:")
    print(f'  .venv/bin/python -c \'from datasets import load_dataset; print(load_dataset("{folder}", "documents"))\'')
    print(f"The demo's workspace: {workspace.root.relative_to(project.root)} (gold, records, agreement report).")
    scratch = workspace.root.relative_to(project.root)
    print(f"Stop Label Studio: ANNOTATE_WORKSPACE={scratch} .venv/bin/annotate server stop")


def main() -> int:
    try:
        run(find_workspace())
    except AnnotateError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
