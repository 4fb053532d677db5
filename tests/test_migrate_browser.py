"""The annotator's view of migrated work: their annotation opens in the browser under the new names."""

from __future__ import annotations

import json
import re
import shutil
import uuid

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from annotate.core.corpus import Article, article_id_for, write_article
from annotate.labelstudio.client import find_project
from annotate.labelstudio.push import push
from annotate.quality.migrate import migrate

from .migration_fixture import write_scheme_1_1

pytest.register_assert_rewrite("tests.browser")

from .browser import REGION_SPAN, TEXT_OBJECT, log_in, screenshot  # noqa: E402

pytest_plugins = ["tests.browser"]

TEXT = "Kim Jong Un met Vladimir Putin and promised artillery shells now."


def _record(article_id: str) -> dict:
    def span(part: str) -> dict:
        start = TEXT.index(part)
        return {"start": start, "end": start + len(part), "text": part}

    return {
        "article_id": article_id,
        "entities": [
            {"id": "e1", **span("Kim Jong Un"), "label": "PER"},
            {"id": "e2", **span("artillery shells"), "label": "WEA"},
        ],
        "events": [
            {"id": "v1", "type": "Contact.Meet", "trigger": span("met"),
             "arguments": [{"role": "Participant", "target": "e1"}], "attributes": {"tense": "Present"}},
        ],
    }


@pytest.mark.browser
def test_an_annotator_sees_their_migrated_annotation_under_the_new_names(
    page, screenshots, workspace, label_studio, unique_title, tmp_path
):
    shutil.rmtree(workspace.corpus)
    article = Article(id=article_id_for(TEXT), text=TEXT, title="Summit")
    write_article(workspace.corpus, article)
    push(workspace, project=unique_title)
    recorded = tmp_path / "recorded.jsonl"
    recorded.write_text(json.dumps(_record(article.id)) + "\n")
    email = f"annotator-{uuid.uuid4().hex[:8]}@example.org"
    done = push(workspace, project=unique_title, annotations=recorded, annotator=email)
    assert done.annotations.imported == 1
    write_scheme_1_1(workspace)
    migrate(workspace, project=unique_title)

    client = label_studio.connection().client
    project = find_project(label_studio.connection(), unique_title)
    (task,) = list(client.tasks.list(project=project.id, fields="all"))
    (annotation,) = task.annotations
    annotation = annotation if isinstance(annotation, dict) else annotation.dict()
    labels = sorted(label for item in annotation["result"] for label in (item.get("value") or {}).get("labels", []))
    assert labels == ["Contact.Communicate", "PER", "WEAPON"]  # the server has it; now what the annotator sees
    log_in(page, label_studio.url, email, done.annotations.new_account.password)
    page.goto(f"{label_studio.url}/projects/{project.id}/data?task={task.id}&annotation={annotation['id']}")
    regions = page.locator(f"{TEXT_OBJECT} {REGION_SPAN}")
    try:
        regions.first.wait_for(timeout=45_000)
    except PlaywrightError:
        # On a heavily loaded machine the editor has been seen to open the task without drawing its
        # regions; a reader would reload the page once.
        screenshot(page, screenshots, "before reload")
        page.reload()
        regions.first.wait_for(timeout=90_000)
    screenshot(page, screenshots, "migrated")
    expect(regions).to_have_count(3)
    expect(page.locator(f'{TEXT_OBJECT} {REGION_SPAN}[data-label$=":WEAPON"]')).to_have_text("artillery shells")
    meeting = page.locator(f'{TEXT_OBJECT} {REGION_SPAN}[data-label$=":Contact.Communicate"]')
    expect(meeting).to_have_text("met")
    for old in ("WEA", "Contact.Meet"):
        expect(page.locator(f'{REGION_SPAN}[data-label$=":{old}"]')).to_have_count(0)
    meeting.click()
    expect(page.get_by_role("radio", name=re.compile("^Past"))).to_be_checked()
    screenshot(page, screenshots, "trigger selected")
    author = annotation["completed_by"]
    users = {u.id: u.email for u in client.users.list()}
    assert users[author.get("id") if isinstance(author, dict) else author] == email  # still the annotator's work
