"""Driving Label Studio's web interface in Chromium, as an annotator does.

A pytest plugin (test modules load it with `pytest_plugins`): a session-wide Chromium,
a fresh browser context and `page` per test, the dialogs a page opened, and screenshots
under test-output/screenshots/<test>/. A test's own steps are saved with `screenshot`;
at the end the fixture saves `final.png`, or `FAILED.png` when the test failed, so the
state of the page at the failure stays behind for whoever debugs it.

Debian's Chromium is launched from its path: Playwright cannot download a browser here.
A missing Chromium fails the test with the command that installs it; it never skips.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from pathlib import Path
from typing import Iterator

import pytest
from playwright.sync_api import Browser, Dialog, Locator, Page, Playwright, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from annotate.core.derive import HOTKEY_MODIFIERS

CHROMIUM = Path(os.environ.get("ANNOTATE_CHROMIUM", "/usr/bin/chromium"))
# No sandbox: CI containers run as root, where Chromium's sandbox refuses to start.
# The rest keeps the browser from calling home while the tests run.
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORT = {"width": 1400, "height": 1000}
SCREENSHOTS = Path("test-output") / "screenshots"
LOOPBACK_ONLY = re.compile(r"^(?!https?://(127\.0\.0\.1|localhost)[:/])")
"""Every request leaving loopback (Label Studio's analytics, fonts): aborted, so tests need no network."""

# Label Studio 1.23 gives these parts of the editor no role, label or test id, so they are
# found by class name. They are kept here, in one place, for the next Label Studio upgrade.
LOGIN_EMAIL = "input[name=email]"  # the login form's <label>s are not tied to their inputs
LOGIN_PASSWORD = "input[name=password]"
MODAL = ".lsf-modal-ls__content"  # a modal window (the instructions), which has no dialog role
TEXT_OBJECT = ".lsf-htx-richtext"  # the article text rendered by the config's <Text>
REGION_SPAN = ".htx-highlight"  # a labelled span inside that text
LABEL_CHIP = ".lsf-label"  # one label of a <Labels> control above the text
RELATION_ITEM = ".lsf-relations__item"  # one relation in the Relations panel; its buttons show on hover

_REPORTS = pytest.StashKey[dict]()


# --- the plugin ----------------------------------------------------------------------------------


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """Keep each phase's report on the test item, so the `page` fixture knows whether the test failed."""
    outcome = yield
    report = outcome.get_result()
    item.stash.setdefault(_REPORTS, {})[report.when] = report


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, for the whole session."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}; the browser tests need it. "
            "Run `make browser` (apt-get install chromium), or set ANNOTATE_CHROMIUM to its path.",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        yield _launch(playwright)


def _launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)


@pytest.fixture
def screenshots(request: pytest.FixtureRequest) -> Path:
    """This test's screenshot folder, emptied of an earlier run's pictures."""
    folder = request.config.rootpath / SCREENSHOTS / _safe_name(request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


@pytest.fixture
def page(browser: Browser, screenshots: Path, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh page in its own browser context; its last state is saved as final.png or FAILED.png."""
    context = browser.new_context(viewport=VIEWPORT)
    context.route(LOOPBACK_ONLY, lambda route: route.abort())
    tab = context.new_page()
    try:
        yield tab
    finally:
        call = request.node.stash.get(_REPORTS, {}).get("call")
        name = "final.png" if call is not None and call.passed else "FAILED.png"
        # A page that crashed cannot be photographed; that must not hide the test's own failure.
        with contextlib.suppress(PlaywrightError):
            tab.screenshot(path=str(screenshots / name), full_page=True)
        context.close()


@pytest.fixture
def dialogs(page: Page) -> list[str]:
    """Messages of every alert, confirm or prompt the page opens (each dismissed)."""
    seen: list[str] = []

    def record(dialog: Dialog) -> None:
        seen.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    return seen


def _safe_name(name: str) -> str:
    return re.sub(r"[^\w.-]+", "_", name)[:120]


def screenshot(page: Page, folder: Path, step: str) -> Path:
    """Save one step of a test, numbered in the order taken."""
    number = len(list(folder.glob("*.png"))) + 1
    path = folder / f"{number:02d}-{_safe_name(step)}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# --- what an annotator does ----------------------------------------------------------------------


def log_in(page: Page, url: str, email: str, password: str) -> None:
    """Fill in Label Studio's login form and wait until it has let us in."""
    page.goto(f"{url}/user/login/")
    page.locator(LOGIN_EMAIL).fill(email)
    page.locator(LOGIN_PASSWORD).fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/user/login" not in url)


def open_project(page: Page, title: str) -> None:
    """From the project list, open the project with this title."""
    page.get_by_text(title, exact=True).click()
    page.wait_for_url(re.compile(r"/projects/\d+"))


def start_labelling(page: Page) -> Locator:
    """Press "Label All Tasks"; return the instructions window Label Studio shows first."""
    page.get_by_role("button", name=re.compile("Label All Tasks")).click()
    instructions = page.locator(MODAL).filter(has_text="Labeling Instructions")
    instructions.wait_for()
    return instructions


def close_instructions(page: Page) -> None:
    """Close the instructions and wait for the article's text, which may still be loading behind them."""
    page.get_by_role("button", name="Close modal").click()
    article_text(page).wait_for()


def article_text(page: Page) -> Locator:
    return page.locator(TEXT_OBJECT)


def label_chip(page: Page, label: str) -> Locator:
    return page.locator(LABEL_CHIP).get_by_text(label, exact=True)


# Where a piece of the article sits on screen (scrolled into view first, as a reader
# scrolls to it): the rectangles of its first and last characters, found through DOM
# ranges. Only the mouse then selects it.
_FIND_ON_SCREEN = """([selector, needle]) => {
  const walker = document.createTreeWalker(document.querySelector(selector), NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const at = node.data.indexOf(needle);
    if (at < 0) continue;
    const box = (from) => {
      const range = document.createRange();
      range.setStart(node, from);
      range.setEnd(node, from + 1);
      return range.getBoundingClientRect();
    };
    node.parentElement.scrollIntoView({block: "center"});
    const first = box(at), last = box(at + needle.length - 1);
    return {x1: first.left + 1, y1: first.top + first.height / 2, x2: last.right - 1, y2: last.top + last.height / 2};
  }
  return null;
}"""


def drag_over(page: Page, needle: str) -> None:
    """Select the first `needle` in the article with the mouse, from before its first character to after its last."""
    box = page.evaluate(_FIND_ON_SCREEN, [TEXT_OBJECT, needle])
    assert box is not None, f"{needle!r} is not shown in the article text"
    page.mouse.move(box["x1"], box["y1"])
    page.mouse.down()
    page.mouse.move(box["x2"], box["y2"], steps=8)
    page.mouse.up()


def label_keys(key: str) -> str:
    """What an annotator presses for the label whose key in the scheme is `key`: it, with the modifiers held."""
    held = "+".join(name.capitalize() for name in HOTKEY_MODIFIERS.split("+"))
    return f"{held}+{'Digit' + key if key.isdigit() else 'Key' + key.upper()}"


def label_span(page: Page, needle: str, *, hotkey: str | None = None, label: str | None = None) -> Locator:
    """Pick a label (the scheme's key for it, pressed as `label_keys` says, or a click), then drag over the words."""
    if hotkey:
        page.keyboard.press(label_keys(hotkey))
    else:
        label_chip(page, label).click()
    drag_over(page, needle)
    region = region_span(page, needle)
    region.wait_for()
    return region


def region_span(page: Page, text: str) -> Locator:
    """The labelled span showing exactly this text in the article."""
    return page.locator(f"{TEXT_OBJECT} {REGION_SPAN}").filter(has_text=re.compile(f"^{re.escape(text)}$"))


def link(page: Page, source: str, target: str, role: str) -> None:
    """Relate two regions as an annotator does: select the source, "Create Relation", click the target, set the role."""
    region_span(page, source).click()
    page.get_by_role("button", name="Create Relation").click()
    region_span(page, target).click()
    page.get_by_text("Relations", exact=True).first.click()
    # The relation just made is the newest; its buttons appear only while the pointer is over it.
    item = page.locator(RELATION_ITEM).last
    item.hover()
    item.get_by_role("button", name="Show Relation Labels").click()
    page.get_by_role("button", name="Select labels").click()
    page.get_by_role("option", name=role, exact=True).click()
    page.keyboard.press("Escape")


def choose(page: Page, value: str) -> None:
    """Tick one of the per-region choices shown for the selected region."""
    page.get_by_role("radio", name=re.compile(f"^{re.escape(value)}\\b")).check()


def submit(page: Page) -> dict:
    """Press Submit and wait for Label Studio to store the annotation; return what it stored."""
    with page.expect_response(_is_new_annotation) as answer:
        page.get_by_role("button", name="Submit current annotation").click()
    response = answer.value
    assert response.ok, f"Label Studio refused the annotation: {response.status} {response.text()[:300]}"
    return response.json()


def _is_new_annotation(response) -> bool:
    return response.request.method == "POST" and re.search(r"/api/tasks/\d+/annotations", response.url) is not None
