"""Typing while a relation's role list is open must not pick labels.

Label Studio listens for label keys on the whole page except in text fields, and the role list
of a relation ("Select labels") is a button with ticks, not a text field. With the bare letter
keys the scheme names (p for PER, l for LOC…), an annotator who types there to look for a role
picks one label after another, and the next span they draw gets the last of them. The generated
config holds Shift+Alt with every label's key, which typing never does.
"""

from __future__ import annotations

import shutil
import uuid

import pytest
from playwright.sync_api import expect

from annotate.core.corpus import article_from_text, write_article
from annotate.labelstudio.push import push
from annotate.labelstudio.team import team_add

pytest.register_assert_rewrite("tests.browser")

from .browser import (  # noqa: E402
    LABEL_CHIP,
    RELATION_ITEM,
    close_instructions,
    label_keys,
    label_span,
    log_in,
    open_project,
    region_span,
    screenshot,
    start_labelling,
    submit,
)

pytest_plugins = ["tests.browser"]

SELECTED_CHIP = f"{LABEL_CHIP}_selected"  # Label Studio marks the label that is on with this class
ARTICLE = "State media said Kim Jong Un will visit Vladivostok next week, an aide's note says."


def _labelling_view(page, workspace, label_studio, title: str) -> None:
    """A one-article project pushed, an annotator's account, logged in, in the labelling view."""
    shutil.rmtree(workspace.corpus)
    write_article(workspace.corpus, article_from_text(ARTICLE, title="Kim to visit Vladivostok"))
    push(workspace, project=title)
    (account,) = team_add(workspace, [f"annotator-{uuid.uuid4().hex[:8]}@example.org"])
    log_in(page, label_studio.url, account.email, account.password)
    open_project(page, title)
    start_labelling(page)
    close_instructions(page)


@pytest.mark.browser
def test_typing_in_the_role_list_leaves_the_labels_alone(page, screenshots, workspace, label_studio, unique_title):
    _labelling_view(page, workspace, label_studio, unique_title)
    label_span(page, "Kim Jong Un", label="PER")
    page.keyboard.press("Escape")
    label_span(page, "visit", label="Movement.Travel")
    region_span(page, "visit").click()
    page.get_by_role("button", name="Create Relation").click()
    region_span(page, "Kim Jong Un").click()
    page.get_by_text("Relations", exact=True).first.click()
    item = page.locator(RELATION_ITEM).last
    item.hover()
    item.get_by_role("button", name="Show Relation Labels").click()
    page.get_by_role("button", name="Select labels").click()
    expect(page.get_by_role("option", name="Movement.Travel: Traveler", exact=True)).to_be_visible()
    expect(page.locator(SELECTED_CHIP)).to_have_count(0)

    # What an annotator types looking for a role: letters and digits, among them the scheme's label keys
    # (p, l, o, c…). No space: on the list's button a space opens or closes the list.
    page.keyboard.type("Traveler")
    page.keyboard.type("Placeloc12")
    screenshot(page, screenshots, "typed-in-the-role-list")
    expect(page.locator(SELECTED_CHIP)).to_have_count(0)

    page.get_by_role("option", name="Movement.Travel: Traveler", exact=True).click()
    page.keyboard.press("Escape")
    stored = submit(page)
    labels = sorted(r["value"]["labels"][0] for r in stored["result"] if r["type"] == "labels")
    roles = [r["labels"] for r in stored["result"] if r["type"] == "relation"]
    assert labels == ["Movement.Travel", "PER"] and roles == [["Movement.Travel: Traveler"]], stored["result"]


@pytest.mark.browser
def test_each_label_key_still_picks_its_label_with_shift_and_alt(page, workspace, label_studio, unique_title):
    _labelling_view(page, workspace, label_studio, unique_title)
    from annotate.core.derive import HOTKEY_MODIFIERS, label_hotkeys
    from annotate.core.scheme import load_scheme

    keys = label_hotkeys(load_scheme(workspace.scheme_path))
    assert set(keys) == {*load_scheme(workspace.scheme_path).entity_names, *load_scheme(workspace.scheme_path).event_names}
    for name in ("PER", "LOC", "Contact.Meet", "Statement.Threaten"):
        key = keys[name].removeprefix(HOTKEY_MODIFIERS + "+")
        page.keyboard.press(label_keys(key))
        expect(page.locator(SELECTED_CHIP)).to_have_count(1)
        expect(page.locator(SELECTED_CHIP).get_by_text(name, exact=True)).to_be_visible()
        expect(page.locator(SELECTED_CHIP)).to_contain_text(keys[name])  # the chip shows the keys to press
        page.keyboard.press(label_keys(key))  # a second press turns it off again
        expect(page.locator(SELECTED_CHIP)).to_have_count(0)
    label_span(page, "Kim Jong Un", hotkey=keys["PER"].removeprefix(HOTKEY_MODIFIERS + "+"))
