"""Feedback in a real browser: a wrong role is shown to its annotator in the labelling view within seconds.

`watch` runs beside the annotator (as `annotate watch` does); nobody runs `pull`.
"""

from __future__ import annotations

import re
import shutil
import threading
import time
import uuid

import pytest
from playwright.sync_api import expect

from annotate.core.corpus import Article, article_id_for, write_article
from annotate.labelstudio.passes import pass_title
from annotate.labelstudio.push import push
from annotate.labelstudio.team import team_add
from annotate.labelstudio.watch import FIELD, Checked, watch

pytest.register_assert_rewrite("tests.browser")

from .browser import (  # noqa: E402
    article_text,
    close_instructions,
    label_span,
    link,
    log_in,
    open_project,
    region_span,
    screenshot,
    start_labelling,
    submit,
)

pytest_plugins = ["tests.browser"]

ARTICLE = "Russia sent artillery shells to North Korea last year, officials said."
PROBLEM = re.compile(r"'sent' \(Transaction\.Transfer\): the role 'Statement\.Deny: Denier' belongs to Statement\.Deny")


@pytest.fixture
def watching(workspace, unique_title):
    """`watch` on the project in the background for the test's length; what it checked."""
    stop, seen = threading.Event(), []
    failures: list[BaseException] = []

    def run() -> None:
        try:
            seen.extend(watch(workspace, project=unique_title, interval=1.0, stop=stop))
        except BaseException as exc:  # noqa: BLE001 - handed to the test, which fails on it
            failures.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    yield thread, seen
    stop.set()
    thread.join(timeout=30)
    assert not failures, failures


@pytest.mark.browser
def test_a_wrong_role_is_shown_to_its_annotator_in_the_labelling_view_without_a_pull(
    page, screenshots, workspace, label_studio, unique_title, watching
):
    shutil.rmtree(workspace.corpus)
    write_article(workspace.corpus, Article(id=article_id_for(ARTICLE), text=ARTICLE, title="Shells sent"))
    push(workspace, project=unique_title, annotators_per_task=2)
    thread, checked = watching
    thread.start()
    (account,) = team_add(workspace, [f"feedback-{uuid.uuid4().hex[:8]}@example.org"])

    log_in(page, label_studio.url, account.email, account.password)
    open_project(page, pass_title(unique_title, 0))
    start_labelling(page)
    close_instructions(page)
    label_span(page, "Russia", hotkey="g")
    label_span(page, "artillery shells", hotkey="w")
    label_span(page, "sent", label="Transaction.Transfer")
    link(page, "sent", "Russia", "Transaction.Transfer: Giver")
    link(page, "sent", "artillery shells", "Statement.Deny: Denier")  # not a role of a transfer
    stored = submit(page)
    submitted = time.monotonic()
    screenshot(page, screenshots, "submitted-with-a-wrong-role")

    # The annotator opens the task again from the Data Manager, as they would to check their work.
    task_view = f"{label_studio.url}/projects/{stored['project']}/data?task={stored['task']}"
    shown = page.get_by_role("heading", name=PROBLEM)  # above the article (the task list shows it too)
    for _ in range(20):
        page.goto(task_view)
        article_text(page).wait_for()
        if shown.count():
            break
        time.sleep(0.5)
    expect(shown).to_be_visible()
    waited = time.monotonic() - submitted
    screenshot(page, screenshots, "problem-shown")
    print(f"problem shown in the labelling view {waited:.1f} s after Submit")
    assert waited < 20, f"the problem took {waited:.1f} s to reach the labelling view"
    assert any(isinstance(c, Checked) and c.annotation_id == stored["id"] and c.problems for c in checked)

    # Fixed and updated, the message goes away.
    page.get_by_text("Relations", exact=True).first.click()
    region_span(page, "sent").click()
    _set_role(page, "Statement.Deny: Denier", "Transaction.Transfer: Artifact")
    with page.expect_response(lambda r: r.request.method == "PATCH" and "/api/annotations/" in r.url) as answer:
        page.get_by_text("Update", exact=True).click()
    assert answer.value.ok
    connection = label_studio.connection()
    for _ in range(40):
        if not connection.client.tasks.get(id=stored["task"]).data.get(FIELD):
            break
        time.sleep(0.5)
    assert connection.client.tasks.get(id=stored["task"]).data.get(FIELD) == ""
    page.goto(task_view)
    article_text(page).wait_for()
    expect(page.get_by_role("heading", name=PROBLEM)).to_have_count(0)


def _set_role(page, old: str, new: str) -> None:
    """Change a relation's role in the Relations panel: open its role list, untick the old, tick the new."""
    from .browser import RELATION_ITEM

    item = page.locator(RELATION_ITEM).filter(has_text="WEA")
    item.hover()
    item.get_by_role("button", name="Show Relation Labels").click()
    page.get_by_role("button", name=re.compile(f"^{re.escape(old)}")).click()
    page.get_by_role("option", name=old, exact=True).click()
    page.get_by_role("option", name=new, exact=True).click()
    page.keyboard.press("Escape")
