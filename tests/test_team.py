"""`annotate team` against the real Label Studio: accounts that can log in, listed with their work."""

from __future__ import annotations

import json
import re
import uuid

import httpx

from annotate.labelstudio.team import team_add, team_list

from .helpers import assert_no_traceback, run_cli
from .builders import annotate_in_label_studio, entity, project_with


def _email() -> str:
    return f"ann-{uuid.uuid4().hex[:8]}@example.org"


def logs_in(url: str, email: str, password: str) -> bool:
    """Log in through Label Studio's own login form, as a person would in the browser."""
    with httpx.Client(base_url=url, follow_redirects=False, timeout=60) as browser:
        browser.get("/user/login/")
        answer = browser.post(
            "/user/login/",
            data={"email": email, "password": password, "csrfmiddlewaretoken": browser.cookies["csrftoken"]},
            headers={"Referer": f"{url}/user/login/"},
        )
        if answer.status_code != 302:
            return False
        # Logged in: the API answers with this account.
        return browser.get("/api/current-user/whoami").json().get("email") == email


def test_team_add_prints_passwords_that_log_in_to_the_organisation(workspace, label_studio):
    first, second = _email(), _email()

    result = run_cli("team", "add", first, second.upper())

    assert result.exit_code == 0, result.output
    passwords = dict(re.findall(r"created\s+(\S+)\s+password: (\S+)", result.stdout))
    assert set(passwords) == {first, second}
    assert passwords[first] != passwords[second]
    assert logs_in(label_studio.url, first, passwords[first])
    assert logs_in(label_studio.url, second, passwords[second])
    assert not logs_in(label_studio.url, first, passwords[second])
    members = {u.email for u in label_studio.connection().client.users.list()}
    assert {first, second} <= members  # the admin's organisation sees them
    # Shown once, kept nowhere in the project.
    for path in workspace.root.rglob("*"):
        if path.is_file():
            content = path.read_bytes()
            assert not any(p.encode() in content for p in passwords.values()), path


def test_team_add_reports_existing_accounts_without_duplicating_them(workspace, label_studio):
    email = _email()
    first = team_add(workspace, [email])

    again = team_add(workspace, [email, email.upper()])

    assert not first[0].existing and first[0].password
    assert len(again) == 1 and again[0].existing and again[0].password is None
    emails = [u.email for u in label_studio.connection().client.users.list()]
    assert emails.count(email) == 1
    result = run_cli("team", "add", email)
    assert result.exit_code == 0 and "exists" in result.stdout and "password" not in result.stdout


def test_team_list_counts_each_accounts_annotations(workspace, label_studio, unique_title):
    busy, idle = _email(), _email()
    team_add(workspace, [busy, idle])
    users = {u.email: u.id for u in label_studio.connection().client.users.list()}
    tasks = project_with(workspace, unique_title, {"one": "Kim met Putin.", "two": "Putin met Kim."})
    for name in ("one", "two"):
        text = tasks[name]["text"]
        annotate_in_label_studio(label_studio, tasks[name]["task"], users[busy], [entity(text, "x", "Kim", "PER")])

    members = {m.email: m for m in team_list(workspace)}

    assert members[busy].annotations == 2 and members[idle].annotations == 0
    assert members[busy].pseudonym != members[idle].pseudonym and "@" not in members[busy].pseudonym
    result = run_cli("team", "list", "--format", "json")
    assert result.exit_code == 0
    rows = {row["email"]: row for row in json.loads(result.stdout)}
    assert rows[busy]["annotations"] == 2


def test_team_list_pseudonym_is_the_one_pulled_records_carry(workspace, label_studio, unique_title):
    from annotate.labelstudio.pull import pull
    from annotate.core.records import iter_records

    email = _email()
    team_add(workspace, [email])
    user = {u.email: u.id for u in label_studio.connection().client.users.list()}[email]
    tasks = project_with(workspace, unique_title, {"one": "Kim met Putin."})
    annotate_in_label_studio(
        label_studio, tasks["one"]["task"], user, [entity(tasks["one"]["text"], "x", "Kim", "PER")]
    )

    pulled = pull(workspace, project=unique_title)

    member = next(m for m in team_list(workspace) if m.email == email)
    assert [r["annotator"] for r in iter_records(pulled.records_path)] == [member.pseudonym]


def test_team_add_refuses_what_is_not_an_email(workspace):
    result = run_cli("team", "add", "not-an-address")

    assert result.exit_code == 2
    assert_no_traceback(result)
    assert "not-an-address" in result.stderr and "e-mail" in result.stderr
