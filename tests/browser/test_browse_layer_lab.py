"""Browse and Layer lab in a real browser: re-sample, a card's details, the statistics,
a gradient check passing, then failing with the backward pass broken."""
import re
import time

import pytest
from playwright.sync_api import expect

from .conftest import SCREENSHOTS, assert_no_errors, open_page, screenshot, wait_idle

pytestmark = pytest.mark.browser

CARD_TITLE = re.compile(r"row [\d,]+ · image [\d,]+")


def card_buttons(page):
    """Each card's title button (Streamlit also keeps hidden copies, hence :visible)."""
    return page.locator("button:visible", has_text=CARD_TITLE)


def card_titles(page, count: int = 10) -> list[str]:
    """The cards' titles once `count` cards are drawn (the grid streams in after the page
    says it is idle; fewer after 30 s fails here, naming how many there were)."""
    expect(card_buttons(page)).to_have_count(count, timeout=30_000)
    return [CARD_TITLE.search(t).group(0) for t in card_buttons(page).all_inner_texts()]


def wait_for_images(page, count: int) -> None:
    """Until `count` card images are in the page and every one has decoded (the demo's travel
    inline in their cards' Markdown: `image_grid.CARD_PICTURE`)."""
    page.wait_for_function(
        "(n) => { const imgs = [...document.querySelectorAll('img.caption-lab-card')];"
        " return imgs.length === n && imgs.every(i => i.complete && i.naturalWidth > 0); }",
        arg=count)


def test_browse_resample_details_and_statistics(page):
    open_page(page, "Browse")
    assert_no_errors(page)
    first = card_titles(page)
    assert len(first) == 10
    wait_for_images(page, 10)

    page.get_by_role("button", name="Re-sample").click()
    wait_idle(page)
    second = card_titles(page)
    assert len(second) == 10 and second != first
    assert page.locator('[data-testid="stNumberInput"] input').first.input_value() == "232"
    wait_for_images(page, 10)
    assert_no_errors(page)
    screenshot(page, "browse-resampled")

    card_buttons(page).first.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("ground-truth captions of this image").wait_for()
    dialog.locator('[data-testid="stImage"] img').nth(1).wait_for()      # the feature strip
    wait_idle(page)
    text = dialog.inner_text()
    assert "this row" in text and "Tokens and the loss mask" in text and "Feature vector" in text
    assert dialog.locator('[data-testid="stDataFrame"]').count() == 1
    assert dialog.locator('[data-testid="stImage"] img').count() == 2   # the photo, the strip
    assert_no_errors(page)
    page.screenshot(path=str(SCREENSHOTS / "browse-details.png"))
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")

    page.get_by_role("tab", name="Statistics").click()
    wait_idle(page)
    page.locator('[data-testid="stVegaLiteChart"]').nth(2).wait_for()
    assert page.locator('[data-testid="stMetric"]').count() == 4
    assert_no_errors(page)
    time.sleep(0.5)                                    # let the charts finish drawing
    screenshot(page, "browse-statistics")


def test_layer_lab_gradient_check_passes_then_breaks(page):
    open_page(page, "Layer lab")
    assert_no_errors(page)
    success = page.locator('[data-testid="stAlertContentSuccess"]')
    assert "All 6 checks passed" in success.inner_text()
    screenshot(page, "layer-lab")

    page.get_by_test_id("stCheckbox").get_by_text("Break the backward pass").click()
    wait_idle(page)
    failure = page.locator('[data-testid="stAlertContentError"]')
    assert "5 of 6 checks failed" in failure.inner_text()
    screenshot(page, "layer-lab-broken")

    page.get_by_test_id("stCheckbox").get_by_text("Break the backward pass").click()
    page.get_by_role("radio", name="LSTM sequence").click()
    wait_idle(page)
    assert_no_errors(page)
    assert "checks passed" in success.inner_text()
    assert page.locator("h3", has_text="LSTM sequence").count() == 1
    screenshot(page, "layer-lab-lstm")
