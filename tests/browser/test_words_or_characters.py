"""Compare's "Words or characters?" tab in a real browser: the notebook's question, the pair's
models offered for training, and the student's answer still there after a visit to another page.
A screenshot of the tab goes to the screenshots folder (see conftest.py)."""
import pytest

from .conftest import assert_no_errors, open_page, screenshot, wait_idle

pytestmark = pytest.mark.browser


def test_the_tab_asks_the_question_offers_the_models_and_keeps_the_answer(page):
    open_page(page, "Compare")
    page.get_by_role("tab", name="Words or characters?").click()
    wait_idle(page)
    assert_no_errors(page)
    main = page.locator('[data-testid="stMain"]')
    assert "operate over characters" in main.inner_text()            # the notebook's own words
    for model in ("word", "character"):
        assert page.get_by_role("button", name=f"Train the {model} model").is_visible()
    answer = page.get_by_label("One advantage and one disadvantage of a character-level model")
    answer.fill("Advantage: V is 29, not 97. Disadvantage: 5x the timesteps.")
    answer.press("Control+Enter")
    wait_idle(page)
    screenshot(page, "compare-words-or-characters")
    open_page(page, "Inspect")
    open_page(page, "Compare")
    page.get_by_role("tab", name="Words or characters?").click()
    wait_idle(page)
    assert page.get_by_label("One advantage and one disadvantage of a character-level model").input_value() \
        .startswith("Advantage: V is 29")
