"""Curation in a real browser: both conflicting roles between the same two regions are shown and pickable.

Two annotators linked "docked → cargo ship", one as Artifact, the other as Vehicle. The
curator opens the curation task, finds the one relation with both roles ticked, unticks
Artifact, submits; the next `adjudicate` makes Vehicle gold and records who chose it.
"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from annotate.core.records import iter_records
from annotate.core.workspace import slugify
from annotate.labelstudio.pull import pull
from annotate.labelstudio.team import team_add
from annotate.quality.adjudicate import adjudicate, curation_title

pytest.register_assert_rewrite("tests.browser")

from .browser import (  # noqa: E402
    MODAL,
    RELATION_ITEM,
    article_text,
    log_in,
    open_project,
    region_span,
    screenshot,
    submit,
)
from .builders import annotate_in_label_studio, entity, event, new_annotators, project_with  # noqa: E402

pytest_plugins = ["tests.browser"]

DOCKING = "The cargo ship docked at Vostochny on Friday."


@pytest.mark.browser
def test_a_curator_sees_both_roles_of_one_link_picks_one_and_the_gold_takes_the_pick(
    page, screenshots, workspace, label_studio, unique_title
):
    a, b = new_annotators(workspace, label_studio, 2)
    tasks = project_with(workspace, unique_title, {"docking": DOCKING})
    text, task = tasks["docking"]["text"], tasks["docking"]["task"]
    for user, role in ((a, "Artifact"), (b, "Vehicle")):
        ship, place = entity(text, "s", "cargo ship", "VEH"), entity(text, "p", "Vostochny", "FAC")
        docked = event(text, "d", "docked", "Movement.Transport", [(role, "s"), ("Destination", "p")])
        annotate_in_label_studio(label_studio, task, user, [ship, place], [docked])
    pull(workspace, project=unique_title)
    sent = adjudicate(workspace, project=unique_title)
    assert len(sent.sent_to_curation) == 1

    (curator,) = team_add(workspace, [f"curator-{uuid.uuid4().hex[:8]}@example.org"])
    log_in(page, label_studio.url, curator.email, curator.password)
    open_project(page, curation_title(unique_title))
    page.get_by_role("button", name=re.compile("Label All Tasks")).click()
    page.locator(MODAL).filter(has_text="Labeling Instructions").wait_for()
    page.get_by_role("button", name="Close modal").click()
    article_text(page).wait_for()
    region_span(page, "cargo ship").wait_for()

    # The list at the top names the one disputed link with both candidates.
    expect(page.get_by_text(re.compile(r"In dispute \(1\): 1\. argument 'docked'"))).to_be_visible()
    expect(page.get_by_text(re.compile(r"Artifact → VEH \(1 of 2\) or Vehicle → VEH \(1 of 2\)"))).to_be_visible()
    page.get_by_text("Relations", exact=True).first.click()
    # One relation between docked and the ship, carrying both roles (its label on the arrow).
    relations = page.locator(RELATION_ITEM)
    expect(relations).to_have_count(2)
    link = relations.filter(has_text="VEH")
    expect(link).to_have_count(1)
    both = "Movement.Transport: Artifact, Movement.Transport: Vehicle"
    expect(page.get_by_text(both, exact=True)).to_be_visible()
    screenshot(page, screenshots, "both-roles-shown")

    link.hover()
    link.get_by_role("button", name="Show Relation Labels").click()
    # With roles chosen, the role list is named after them (empty, it is "Select labels").
    page.get_by_role("button", name=re.compile(r"^Movement\.Transport: Artifact\s*Movement\.Transport: Vehicle")).click()
    page.get_by_role("option", name="Movement.Transport: Artifact", exact=True).click()
    page.keyboard.press("Escape")
    expect(page.get_by_text(both, exact=True)).to_have_count(0)
    expect(page.get_by_text("Movement.Transport: Vehicle", exact=True).first).to_be_visible()
    screenshot(page, screenshots, "artifact-unticked")
    submit(page)

    decided = adjudicate(workspace, project=unique_title)
    assert [o.method.value for o in decided.gold] == ["curator"]
    (gold,) = iter_records(workspace.gold_path(slugify(unique_title)))
    spans = {e["id"]: e["text"] for e in gold["entities"]}
    (docking,) = gold["events"]
    assert sorted((arg["role"], spans[arg["target"]]) for arg in docking["arguments"]) == [
        ("Destination", "Vostochny"),
        ("Vehicle", "cargo ship"),
    ]
    (choice,) = gold["provenance"]["disputes"]
    assert choice["chosen_by"] == gold["provenance"]["decided_by"] != "gold"
    assert [(c["label"], c["kept"]) for c in choice["candidates"]] == [("Artifact → VEH", False), ("Vehicle → VEH", True)]
