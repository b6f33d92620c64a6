"""The Lesson in a real browser, as on a projector: presenter mode at 1280x720, every step on
one screen with no vertical scroll, and the keys a presentation clicker sends."""
from urllib.parse import parse_qs, urlparse

import pytest

from explorer.lessons import DEFAULT, LESSONS

from .conftest import assert_no_errors, screenshot, wait_idle

pytestmark = pytest.mark.browser

LESSON = LESSONS[DEFAULT]


def step_in_address(page) -> str:
    return parse_qs(urlparse(page.url).query).get("step", [""])[0]


def main_overflow(page) -> int:
    """How many pixels the main area would have to scroll (0: it all fits)."""
    return page.evaluate("() => { const m = document.querySelector('[data-testid=\"stMain\"]');"
                         " return m.scrollHeight - m.clientHeight; }")


def test_every_step_fits_a_projector_and_the_keys_move_through_them(browser, app_url):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{app_url}/lesson?present=1&lesson=captioning&step=1")
    wait_idle(page)
    sidebar = page.locator('[data-testid="stSidebar"]')
    assert sidebar.get_attribute("data-collapsed") == "true"      # presenter mode: folded away
    font = page.evaluate("() => parseFloat(getComputedStyle(document.documentElement).fontSize)")
    assert font >= 1.25 * 16 - 0.01                                 # type 1.25 times larger
    for k, step in enumerate(LESSON.steps):
        assert step_in_address(page) == str(k + 1)
        assert page.locator("h2").first.inner_text().startswith(step.title), step.key
        assert_no_errors(page)
        overflow = main_overflow(page)
        screenshot(page, f"lesson-present-{k + 1:02d}-{step.key}")
        assert overflow <= 2, f"step {k + 1} ({step.key}) scrolls by {overflow} px"
        if k < len(LESSON.steps) - 1:
            page.keyboard.press("ArrowRight" if k % 2 == 0 else "PageDown")   # arrows and clicker keys alike
            wait_idle(page)
    page.keyboard.press("PageUp")
    wait_idle(page)
    assert step_in_address(page) == str(len(LESSON.steps) - 1)
    page.keyboard.press("ArrowLeft")
    wait_idle(page)
    assert step_in_address(page) == str(len(LESSON.steps) - 2)
    context.close()


def test_a_link_to_a_step_opens_it_in_a_fresh_browser(browser, app_url):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{app_url}/lesson?lesson=captioning&step=7")
    wait_idle(page)
    assert page.locator("h2").first.inner_text().startswith(LESSON.steps[6].title)
    page.reload()                                                     # F5 keeps the step
    wait_idle(page)
    assert page.locator("h2").first.inner_text().startswith(LESSON.steps[6].title)
    assert step_in_address(page) == "7"
    context.close()
