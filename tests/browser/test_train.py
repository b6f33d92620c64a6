"""The Train page in a real browser: a run started from the form trains in the background,
its loss chart visibly advances without any click, a refresh keeps it (and the right to
stop it), and Stop ends it, keeping its model; then the page stops polling.

While a run trains the page's fragment reruns every second, so these tests wait for
what they expect to see rather than for the app to be idle.
"""
import time

import pytest
from playwright.sync_api import Error as PlaywrightError

from .conftest import assert_no_errors, open_page, screenshot, wait_idle
from tests.support.waiting import wait_for

pytestmark = pytest.mark.browser

# counts the messages the page sends the server (a polling fragment sends one per tick);
# Playwright's own websocket frame events miss them here
COUNT_SENDS = """
window.sentToServer = 0;
const send = WebSocket.prototype.send;
WebSocket.prototype.send = function (...args) { window.sentToServer += 1; return send.apply(this, args); };
"""


def iteration(page) -> int:
    """The followed run's iteration, read from its progress bar ("Iteration 86 / 2,000 · …")."""
    text = page.locator('[data-testid="stProgress"]').first.inner_text()
    words = text.replace(",", "").split()
    return int(words[1]) if words[:1] == ["Iteration"] else 0


def chart_picture(page) -> bytes:
    """A screenshot of the loss chart. The fragment redraws it every second, so an element
    can be replaced in the middle of a screenshot: then take it again."""
    for _ in range(10):
        try:
            chart = page.locator('[data-testid="stVegaLiteChart"]').first
            chart.scroll_into_view_if_needed()
            return chart.screenshot()
        except PlaywrightError as e:
            if "not attached" not in str(e):
                raise
            time.sleep(0.2)
    raise AssertionError("the loss chart never held still for a screenshot")


def stop_button(page):
    """The run panel's Stop button (not the Stop in Streamlit's toolbar while a script runs)."""
    return page.locator('[data-testid="stMain"]').get_by_role("button", name="Stop", exact=True)


def test_a_run_started_from_the_page_advances_its_chart_live_and_stops(page):
    open_page(page, "Train")
    assert_no_errors(page)
    page.get_by_role("radiogroup", name="Settings").get_by_text("Custom").click()
    wait_idle(page)
    epochs = page.get_by_label("Epochs")
    epochs.fill("5000")                                     # 10,000 iterations: it never ends by itself
    epochs.press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Start").click()
    try:
        chart = page.locator('[data-testid="stVegaLiteChart"]').first
        chart.wait_for(state="visible")
        wait_for(lambda: iteration(page) >= 20, timeout=120, what="the run to train 20 iterations")
        first, at_first = chart_picture(page), iteration(page)
        time.sleep(3)                                       # a few seconds, and at least 10 iterations
        wait_for(lambda: iteration(page) >= at_first + 10, timeout=120, what="10 more iterations")
        second = chart_picture(page)
        screenshot(page, "train-running")
        assert first != second, "the loss chart looked the same seconds later"
        assert "words right" in page.locator('[data-testid="stMain"]').inner_text()
        assert_no_errors(page)
        page.reload()                                       # a refresh keeps the run, and the right to stop it
        wait_for(lambda: iteration(page) > at_first + 10, timeout=120, what="the run to show again after a refresh")
        assert stop_button(page).is_enabled()
    finally:
        stop = stop_button(page)
        if stop.count():
            stop.click()
    wait_for(lambda: "stopped" in page.locator('[data-testid="stMain"]').inner_text(), timeout=120, what="the stop")
    wait_idle(page)
    text = page.locator('[data-testid="stMain"]').inner_text()
    assert "what it learned so far is saved" in text and "Use in Inspect & Compare" in text
    screenshot(page, "train-stopped")
    assert_no_errors(page)
    # nothing polls once the run has ended: the browser sends the server nothing more
    page.add_init_script(COUNT_SENDS)
    page.reload()
    wait_idle(page)
    assert "stopped" in page.locator('[data-testid="stMain"]').inner_text()
    before = page.evaluate("window.sentToServer")
    time.sleep(4)                                           # longer than the runs table's 3 s poll
    assert page.evaluate("window.sentToServer") == before, "the page kept asking for reruns"
