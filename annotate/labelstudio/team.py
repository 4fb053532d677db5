"""Annotator accounts on Label Studio: create them with a first-login password, list them with their work.

Why accounts are made through the sign-up form and not `client.users.create`: in the
open-source server the public users API (`/api/users/`, `BaseUserSerializer`) has no
password field, so a user it creates has no usable password and cannot log in to the
browser interface; the SDK's `password=` argument is silently dropped. The route the
server itself offers for this is the organisation's invite link: `/user/signup/?token=…`
creates the user with the password given, adds them to the organisation and works even
when sign-up without a link is disabled (as it is on the embedded server). The token comes
from the API (`organizations.invites.get_invite_link`), so the admin's key is all we need.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from collections.abc import Iterable, Iterator

import httpx

from annotate.labelstudio.client import Connection, connect
from annotate.core.errors import LabelStudioError, UsageError
from annotate.core.workspace import Workspace
from annotate.labelstudio.pseudonyms import identity, load_key, pseudonym
from annotate.labelstudio.server import load_settings, reset_password

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SIGNUP_PATH = "/user/signup/"


@dataclass(frozen=True)
class NewAccount:
    """One e-mail given to `team add`: created now (with its password) or found already there."""

    email: str
    password: str | None
    """The first-login password, only for an account created by this call; never stored."""
    existing: bool
    login_url: str
    reset: bool = False
    """True when the account existed and `--reset` gave it this new password."""


@dataclass(frozen=True)
class TeamMember:
    email: str
    user_id: int
    annotations: int
    """Annotations this account has completed in the organisation's projects (skipped ones included)."""
    pseudonym: str
    """The name this account's work carries in records, agreement and gold."""


def _check_emails(emails: Iterable[str]) -> list[str]:
    cleaned = list(dict.fromkeys(e.strip().lower() for e in emails))
    bad = [e for e in cleaned if not _EMAIL.match(e)]
    if bad:
        raise UsageError(f"Not an e-mail address: {', '.join(bad)}. Give addresses like ana@example.org.")
    if not cleaned:
        raise UsageError("No e-mail address given. Run `annotate team add ana@example.org …`.")
    return cleaned


def _existing_emails(connection: Connection) -> set[str]:
    with connection.errors("listing the accounts"):
        return {(user.email or "").lower() for user in connection.client.users.list()}


def _invite_token(connection: Connection) -> str:
    with connection.errors("reading the organisation's invite link"):
        return connection.client.organizations.invites.get_invite_link().token


def _sign_up(connection: Connection, email: str, password: str, token: str) -> None:
    """Submit the sign-up form as a browser would (Django's CSRF cookie and field included)."""
    page = f"{connection.base_url}{SIGNUP_PATH}?token={token}"
    with connection.errors(f"creating the account {email}"), httpx.Client(timeout=60) as browser:
        browser.get(page).raise_for_status()
        answer = browser.post(
            page,
            data={"email": email, "password": password, "csrfmiddlewaretoken": browser.cookies.get("csrftoken", "")},
            headers={"Referer": page},
        )
    # Success is a redirect into the app; the form coming back (200) means it was refused.
    if answer.status_code not in (301, 302, 303):
        raise LabelStudioError(
            f"Label Studio at {connection.url} did not create the account {email} (its sign-up form answered "
            f"{answer.status_code}). Check that the address is not taken and that the server allows invite links."
        )


def team_add(workspace: Workspace, emails: Iterable[str], *, reset: bool = False) -> list[NewAccount]:
    """Create an annotator account for each new e-mail, each with its own random first-login password.

    E-mails that already have an account are returned with `existing=True` and left alone,
    unless `reset` gives them a new password. See `iter_team_add` to see each account as it is made.
    """
    return list(iter_team_add(workspace, emails, reset=reset))


def iter_team_add(workspace: Workspace, emails: Iterable[str], *, reset: bool = False) -> Iterator[NewAccount]:
    """`team_add` one account at a time: each is yielded as soon as it exists, with its password.

    A refused address stops the run with an error, but every account made before it has
    been yielded already, so its password can still be passed on.
    """
    wanted = _check_emails(emails)
    connection = connect(workspace)
    if reset:
        _check_embedded(workspace, connection)
    known = _existing_emails(connection)
    token = _invite_token(connection) if set(wanted) - known else ""
    login = f"{connection.url}/user/login/"
    for email in wanted:
        password = secrets.token_urlsafe(12)
        if email not in known:
            _sign_up(connection, email, password, token)
            yield NewAccount(email, password, False, login)
        elif reset:
            reset_password(workspace, email, password)
            yield NewAccount(email, password, True, login, reset=True)
        else:
            yield NewAccount(email, None, True, login)


def _check_embedded(workspace: Workspace, connection: Connection) -> None:
    """A password can be reset only on the embedded server: Label Studio's API has no way to set one."""
    settings = load_settings(workspace)
    if settings is None or settings.url.rstrip("/") != connection.url:
        raise UsageError(
            f"--reset works only for the embedded Label Studio, not for {connection.url}: its API cannot set a "
            "password. Ask that server's administrator to reset it (`label-studio reset_password` on the server)."
        )


def team_list(workspace: Workspace) -> list[TeamMember]:
    """Every account of the organisation with how many annotations it has done and its pseudonym, by e-mail."""
    key = load_key(workspace)
    connection = connect(workspace)
    client = connection.client
    with connection.errors("listing the team"):
        organization = client.users.whoami().active_organization
        members = []
        for user in client.users.list():
            detail = client.organizations.members.get(id=organization, user_pk=user.id)
            name = pseudonym(key, identity({"id": user.id, "email": user.email}))
            members.append(TeamMember(user.email or "", user.id, detail.annotations_count or 0, name))
    return sorted(members, key=lambda m: m.email)
