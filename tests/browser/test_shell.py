"""Every page opens from the sidebar in a real browser, with no error box."""
import pytest

from .conftest import assert_no_errors, open_page, screenshot

pytestmark = pytest.mark.browser

PAGES = ["Home", "Browse", "Layer lab", "Train", "Inspect", "Compare", "Your code"]


def test_every_page_opens_without_errors(page):
    assert page.title() == "Caption Lab"
    for title in PAGES:
        open_page(page, title)
        assert_no_errors(page)
        assert page.title() == "Caption Lab"
        heading = page.locator("h1").first.inner_text()
        assert heading, f"{title} has no heading"
        screenshot(page, f"page-{title.lower().replace(' ', '-')}")


def test_sidebar_shows_the_dataset_health(page):
    sidebar = page.locator('[data-testid="stSidebar"]')
    text = sidebar.inner_text()
    assert "demo dataset" in text and "train: 2,000 images" in text
    assert "vocabulary:" in text
