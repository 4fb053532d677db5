"""Security: keys never shown or written where they should not be, state owner-only, nobody signs up
uninvited, nothing personal published, markup escaped or kept as text.

Covered elsewhere and not repeated here:
- the embedded server listens on 127.0.0.1 only: tests/test_server.py
  (test_session_server_answers_the_sdk_on_loopback_only);
- a wrong key or an unreachable server is one sentence without the key: tests/test_server.py, tests/test_push.py;
- raw HTML in the guidelines is escaped and unsafe links dropped: tests/test_push.py;
- markup in an article is shown as text in the labelling UI: tests/test_browser.py
  (test_markup_in_an_article_is_shown_as_text_and_runs_nothing);
- no e-mail or server user id under exports/ except the raw pulls: tests/test_pull.py.
"""

from __future__ import annotations

import json
import logging
import re
import stat
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest

from annotate.labelstudio import client as client_lib
from annotate.labelstudio import server
from annotate.core.scheme import current_scheme
from annotate.labelstudio.instructions import instructions
from annotate.labelstudio.push import push
from annotate.core.records import iter_records
from annotate.core.settings import load_project_settings
from annotate.core.workspace import Workspace, slugify
from tests.faults import FaultProxy, always
from tests.helpers import assert_no_traceback, run_cli

HF_TOKEN = "hf_" + uuid.uuid4().hex
MARKUP = 'Kim Jong Un <script>alert("owned")</script> met <b>Putin</b> &amp; aides at Vostochny.'
PERSONAL_FIELDS = {"completed_by", "email", "user", "username", "first_name", "last_name", "created_username"}


def _entity(text: str, part: str, label: str, region: str) -> dict[str, Any]:
    start = text.index(part)
    value = {"start": start, "end": start + len(part), "text": part, "labels": [label]}
    return {"id": region, "from_name": "entity", "to_name": "text", "type": "labels", "value": value}


@dataclass
class Person:
    id: int
    email: str
    username: str
    first_name: str
    last_name: str

    @property
    def identifying(self) -> list[str]:
        return [self.email, self.username, self.first_name, self.last_name]


def _annotator(client: Any, tag: str, number: int) -> Person:
    person = dict(
        email=f"annotator{number}.{tag}@example.org",
        username=f"annotator{number}-{tag}",
        first_name=f"Firstname{tag}{number}",
        last_name=f"Lastname{tag}{number}",
    )
    made = client.users.create(password=f"P-{uuid.uuid4().hex}", **person)
    return Person(made.id, **person)


def _all_output(results: list[Any]) -> str:
    return "\n".join((r.stdout or "") + "\n" + (r.stderr or "") for r in results)


def _published_content(folder: Path) -> tuple[str, list[dict[str, Any]]]:
    """Every byte of a version folder as text, and every parquet row as data."""
    text, rows = [], []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        text.append(path.read_bytes().decode("utf-8", errors="replace"))
        if path.suffix == ".parquet":
            rows += pq.read_table(path).to_pylist()
    return "\n".join(text), rows


def _keys(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list):
        return {k for v in value for k in _keys(v)}
    return set()


@dataclass
class Flow:
    workspace: Workspace
    title: str
    results: list[Any]
    people: list[Person]
    tasks: list[Any]
    logs: str


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture(scope="module")
def flow(label_studio, tmp_path_factory) -> Flow:
    """The whole flow on the CLI with a known key and HF token: corpus add, push, annotate, pull, validate,
    agreement, publish, a push to an unreachable Hub, and a pull through a failing proxy. Run once for the module."""
    import huggingface_hub.constants

    from tests.builders import copy_project_files

    root = tmp_path_factory.mktemp("security")
    workspace = copy_project_files(root / "project")
    settings = server.settings_path(label_studio.workspace).read_text(encoding="utf-8")
    server.write_private(workspace.private_dir() / "server.json", settings)
    title = f"test {uuid.uuid4().hex[:10]}"
    logs = _Collect()
    logging.getLogger().addHandler(logs)
    level = logging.getLogger().level
    logging.getLogger().setLevel(logging.DEBUG)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("ANNOTATE_WORKSPACE", str(workspace.root))
            patch.setenv(client_lib.URL_ENV, label_studio.url)
            patch.setenv(client_lib.KEY_ENV, label_studio.api_key)
            patch.setenv("HF_TOKEN", HF_TOKEN)
            patch.setattr(huggingface_hub.constants, "ENDPOINT", "http://127.0.0.1:9")  # loopback, nothing listens
            results, people, tasks = _run_flow(workspace, label_studio, title, root)
            with FaultProxy(label_studio.url, always(503, path="/api/tasks")) as proxy:
                patch.setenv(client_lib.URL_ENV, proxy.url)
                results.append(run_cli("pull", "--project", title, "--full"))
    finally:
        logging.getLogger().removeHandler(logs)
        logging.getLogger().setLevel(level)
    return Flow(workspace, title, results, people, tasks, "\n".join(logs.lines))


def _run_flow(workspace: Workspace, label_studio, title: str, scratch: Path) -> tuple[list, list[Person], list]:
    (scratch / "markup.txt").write_text(f"Markup in the text\n{MARKUP}\n", encoding="utf-8")
    results = [run_cli("corpus", "add", str(scratch / "markup.txt")), run_cli("push", "--project", title)]
    client = label_studio.connection().client
    tag = uuid.uuid4().hex[:8]
    people = [_annotator(client, tag, 1), _annotator(client, tag, 2)]
    tasks = list(client.tasks.list(project=_project_id(client, title), page_size=100))
    for task in tasks:
        text = task.data["text"]
        result = [_entity(text, "Kim Jong Un", "PER", "e1")] if "Kim Jong Un" in text else []
        for number, person in enumerate(people):
            client.annotations.create(id=task.id, result=result, completed_by=person.id, ground_truth=number == 0)
    results += [
        run_cli("pull", "--project", title),
        run_cli("validate", str(workspace.records_path(slugify(title)))),
        run_cli("agreement", "--project", title),
        run_cli("adjudicate", "--project", title),  # publish takes gold from the gold file only
        run_cli("publish", "--version", "1.0.0", "--project", title),
        run_cli("publish", "--version", "1.0.0", "--project", title, "--push-to-hub", "acme/nk-test"),
    ]
    return results, people, tasks


def _project_id(client: Any, title: str) -> int:
    return next(p.id for p in client.projects.list(title=title) if p.title == title)


def test_the_api_key_and_hf_token_appear_in_no_output_log_or_file_under_exports(flow, label_studio):
    workspace, results, logs = flow.workspace, flow.results, flow.logs
    for result in results:
        assert_no_traceback(result)
    assert [r.exit_code for r in results[:-2]] == [0, 0, 0, 0, 0, 0, 0]
    assert "Hugging Face Hub" in results[-2].stderr and "answered 503" in results[-1].stderr  # the failures ran
    secrets = [label_studio.api_key, HF_TOKEN]
    output = _all_output(results)
    for secret in secrets:
        assert secret not in output and secret not in logs
    files = [p for p in workspace.exports.rglob("*") if p.is_file()]
    assert any(p.suffix == ".parquet" for p in files) and any("raw" in p.parts for p in files)
    for path in files:
        content = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in content, path


def test_label_studio_does_not_write_the_key_or_admin_password_to_its_log(flow, label_studio):
    settings = server.load_settings(label_studio.workspace)
    log = server.status(label_studio.workspace).log
    assert log.is_file() and log.stat().st_size > 0
    content = log.read_text(encoding="utf-8", errors="replace")
    assert settings.api_key not in content and settings.admin_password not in content


def test_private_state_is_owner_only(flow, label_studio):
    workspace = flow.workspace
    for ws in (workspace, label_studio.workspace):
        assert stat.S_IMODE(ws.state.stat().st_mode) == 0o700
        # Label Studio's own folders inside its data folder are guarded by that folder's 0700.
        folders = [p for p in ws.state.rglob("*") if p.is_dir()]
        for folder in (f for f in folders if "label-studio" not in f.relative_to(ws.state).parts[:-1]):
            assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
    secrets = [server.settings_path(workspace), workspace.state / "pseudonym.key", workspace.state / "pseudonyms.json"]
    secrets += list(workspace.state.glob("projects/*/pull.json"))
    secrets.append(server.settings_path(label_studio.workspace))
    for path in secrets:
        assert path.is_file() and stat.S_IMODE(path.stat().st_mode) == 0o600, path
    raw = workspace.exports / "raw"
    assert stat.S_IMODE(raw.stat().st_mode) == 0o700
    for path in (p for p in raw.rglob("*") if p.name != ".gitignore"):
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path


def test_published_files_carry_no_email_name_or_server_user_id(flow):
    workspace, people = flow.workspace, flow.people
    name = load_project_settings(workspace).dataset.name
    text, rows = _published_content(workspace.exports / name / "1.0.0")
    assert rows
    for person in people:
        for value in person.identifying:
            assert value not in text
    assert not _keys(rows) & PERSONAL_FIELDS
    annotators = {row["annotator"] for row in rows if "annotator" in row}
    assert len(annotators) == 2
    assert all(re.fullmatch(r"[0-9a-f]{16}", a) for a in annotators), annotators  # a pseudonym, never a user id
    assert not annotators & {str(p.id) for p in people}


def test_article_markup_is_stored_as_literal_text(flow):
    stored = [t.data["text"] for t in flow.tasks if "<script>" in t.data["text"]]
    assert stored == [MARKUP]
    records = list(iter_records(flow.workspace.records_path(slugify(flow.title))))
    marked = [r for r in records if r["text"] == MARKUP]
    assert len(marked) == 2 and all(r["entities"][0]["text"] == "Kim Jong Un" for r in marked)


# --- sign-up --------------------------------------------------------------------------------------


def _try_signup(url: str, email: str, token: str | None) -> int:
    page = f"{url}/user/signup/" + (f"?token={token}" if token is not None else "")
    with httpx.Client(timeout=60) as browser:
        browser.get(page)
        answer = browser.post(
            page,
            data={
                "email": email,
                "password": f"Pw-{uuid.uuid4().hex}",
                "csrfmiddlewaretoken": browser.cookies.get("csrftoken", ""),
            },
            headers={"Referer": page},
        )
    return answer.status_code


def test_signup_without_the_invite_link_creates_no_account(label_studio):
    client = label_studio.connection().client
    uninvited = f"uninvited.{uuid.uuid4().hex[:8]}@example.org"
    wrong_token = f"guessed.{uuid.uuid4().hex[:8]}@example.org"
    assert _try_signup(label_studio.url, uninvited, None) == 403
    assert _try_signup(label_studio.url, wrong_token, "0" * 40) == 403
    emails = {u.email for u in client.users.list()}
    assert uninvited not in emails and wrong_token not in emails
    # The same form with the organisation's invite link does create an account: the refusal above is real.
    invited = f"invited.{uuid.uuid4().hex[:8]}@example.org"
    token = client.organizations.invites.get_invite_link().token
    assert _try_signup(label_studio.url, invited, token) in (301, 302, 303)
    assert invited in {u.email for u in client.users.list()}


# --- markup in the scheme ---------------------------------------------------------------------------


HOSTILE = 'A person <img src=x onerror="alert(1)"> & co, \'quoted\' </Label><Label value="EVIL"/>'


def test_a_definition_with_markup_is_escaped_in_the_config_and_the_instructions(
    workspace, label_studio, unique_title
):
    path = workspace.scheme_path
    text = path.read_text(encoding="utf-8")
    start = text.index("definition:", text.index("- name: PER"))
    end = text.index("\n", start)
    path.write_text(text[:start] + f"definition: {json.dumps(HOSTILE)}" + text[end:], encoding="utf-8")
    assert run_cli("scheme").exit_code == 0
    scheme = current_scheme(workspace)

    result = push(workspace, project=unique_title)
    project = label_studio.connection().client.projects.get(id=result.project_id)
    root = ET.fromstring(project.label_config)
    labels = {label.get("value"): label.get("hint") for label in root.iter("Label")}
    assert labels["PER"] == HOSTILE and "EVIL" not in labels
    assert set(labels) == set(scheme.entity_names) | set(scheme.event_names)
    html = project.expert_instruction
    assert html == instructions(workspace, scheme)
    assert "<img" not in html and "&lt;img" in html and "&lt;/Label&gt;" in html
    committed = (workspace.labels / "label_config.xml").read_text(encoding="utf-8")
    assert "<img" not in committed and "&lt;img" in committed


def test_the_embedded_server_is_not_given_the_hf_token(label_studio, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", HF_TOKEN)
    monkeypatch.setenv("HUGGING_FACE_HUB_TOKEN", HF_TOKEN)
    settings = server.load_settings(label_studio.workspace)
    env = server._server_env(settings, server.data_dir(label_studio.workspace))
    assert HF_TOKEN not in env.values()
    assert env["LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK"] == "true" and env["LABEL_STUDIO_USER_TOKEN"]
