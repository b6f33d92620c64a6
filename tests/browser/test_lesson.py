"""The Lesson in a real browser, as on a projector: presenter mode at 1280x720, every step on
one screen with no vertical scroll, and the keys a presentation clicker sends."""
from urllib.parse import parse_qs, urlparse

import pytest

from explorer.components.evolution import SAMPLE_ROW
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
    overflows = {}
    for k, step in enumerate(LESSON.steps):
        assert step_in_address(page) == str(k + 1)
        assert page.locator("h2").first.inner_text().startswith(step.title), step.key
        assert_no_errors(page)
        if step.question is not None:                                  # measured with its answer shown
            page.locator(f".st-key-lesson_reveal_{step.key} button").click()
            wait_idle(page)
        overflows[step.key] = main_overflow(page)
        screenshot(page, f"lesson-present-{k + 1:02d}-{step.key}")
        if k < len(LESSON.steps) - 1:
            page.keyboard.press("ArrowRight" if k % 2 == 0 else "PageDown")   # arrows and clicker keys alike
            wait_idle(page)
    assert all(px <= 2 for px in overflows.values()), f"steps that scroll with their answer shown (px): {overflows}"
    page.keyboard.press("PageUp")
    wait_idle(page)
    assert step_in_address(page) == str(len(LESSON.steps) - 1)
    page.keyboard.press("ArrowLeft")
    wait_idle(page)
    assert step_in_address(page) == str(len(LESSON.steps) - 2)
    context.close()


def test_the_last_step_links_to_the_measured_answer_on_compare(browser, app_url):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{app_url}/lesson?lesson=captioning&step={len(LESSON.steps)}")
    wait_idle(page)
    page.locator(".st-key-lesson_reveal_words-or-characters button").click()
    wait_idle(page)
    page.get_by_text("Measure it on two trained models").click()           # a page link naming a tab
    wait_idle(page)
    assert "/compare?" in page.url and "tab=words-or-characters" in page.url, page.url
    assert page.locator('[role="tab"][aria-selected="true"]').inner_text() == "Words or characters?"
    assert page.get_by_text("The notebook's question").count() >= 1
    assert_no_errors(page)
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


def test_a_class_watches_a_slow_run_with_start_chart_and_captions_on_one_screen(browser, app_url):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{app_url}/train?present=1")
    wait_idle(page)
    page.get_by_text("30 s", exact=True).first.click()
    wait_idle(page)
    page.get_by_role("button", name="Start").first.click()
    # the evolution's four captions appear once the run has loaded its data; the run takes 30 s
    page.wait_for_function(f"() => document.querySelectorAll('.{SAMPLE_ROW} img').length >= 4", timeout=60_000)
    page.wait_for_timeout(1500)
    start = page.get_by_role("button", name="Start").first.bounding_box()
    chart = page.locator('[data-testid="stVegaLiteChart"]').first.bounding_box()
    pictures = [page.locator(f".{SAMPLE_ROW} img").nth(k).bounding_box() for k in range(4)]
    scores = page.locator(f".{SAMPLE_ROW}", has_text="words right")
    assert scores.count() == 4
    assert all(page.locator(f".{SAMPLE_ROW} img").nth(k).evaluate("i => i.complete && i.naturalWidth > 0")
               for k in range(4))                                  # the inline pictures decode
    last_caption = scores.nth(3).bounding_box()
    screenshot(page, "train-present-slow-motion")
    for name, box in [("Start", start), ("the loss chart", chart), ("the last caption", last_caption)] + [
            (f"picture {k + 1}", b) for k, b in enumerate(pictures)]:
        assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= 720, (name, box)
    progress = page.locator('[data-testid="stProgress"]').first.inner_text()
    assert "Iteration" in progress and "/ 100" in progress
    context.close()


def test_a_chart_downloads_under_the_name_of_what_it_shows(browser, app_url):
    """Streamlit names every chart download `<date>_chart.png`; ours carry the chart's slide name."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.goto(f"{app_url}/layer_lab")
    wait_idle(page)
    page.locator('[data-testid="stVegaLiteChart"]').first.hover()
    with page.expect_download() as download:
        page.locator('[data-testid="stElementToolbar"] button[aria-label="Download as PNG"]').first.click()
    assert download.value.suggested_filename == "layer-lab-gradient-check_rnn-step.png"
    path = download.value.path()
    assert open(path, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    context.close()


def test_pictures_are_larger_in_presenter_mode(browser, app_url):
    """The same pictures at the same window size, normal and presenting: 1.25 times as wide or more."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    widths = {}
    for mode, query in (("normal", ""), ("presenting", "present=1&")):
        for where in ("lesson?step=1&", "browse?"):
            page.goto(f"{app_url}/{where}{query}lang=en")
            wait_idle(page)
            # the page's first picture: an st.image, or a Browse card's inline one (image_grid.CARD_PICTURE)
            picture = '[data-testid="stMain"] [data-testid="stImage"] img, [data-testid="stMain"] img.caption-lab-card'
            page.wait_for_selector(picture)
            widths[mode, where] = page.evaluate("(s) => document.querySelector(s).getBoundingClientRect().width",
                                                picture)
    for where in ("lesson?step=1&", "browse?"):
        assert widths["presenting", where] >= 1.25 * widths["normal", where], (where, widths)
    context.close()
