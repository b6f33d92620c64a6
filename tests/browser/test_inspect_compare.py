"""Inspect and Compare in a real browser: step, go back, force a word, every view, split scores;
and every page of this part of the app on a 1024 x 768 projector.

A small RNN is trained on the demo data and loaded the way a student would: by typing
its checkpoint's path in the sidebar. Screenshots of every view go to the screenshots
folder (see conftest.py).
"""
import re

import numpy as np
import pytest

from core import CaptioningRNN, CaptioningSolver, load_coco_data, save_checkpoint
from core.data.demo import ensure_demo_dataset

from .conftest import assert_no_errors, load_checkpoint_in_sidebar, open_page, screenshot, wait_idle

pytestmark = pytest.mark.browser

TALL = {"width": 1440, "height": 2300}     # Streamlit scrolls inside the page: a tall window shows it all
PROJECTOR = {"width": 1024, "height": 768}

# Everything in the main column that sticks out past its right edge, and every label cut
# short with an ellipsis ("Ran…"): what a class cannot read on a 1024-pixel projector.
# Data frames scroll inside their own canvas, and KaTeX's hidden MathML copy is no text.
OVERFLOW_JS = """() => {
  const main = document.querySelector('[data-testid="stMainBlockContainer"]');
  const edge = main.getBoundingClientRect().right;
  const found = [];
  for (const el of main.querySelectorAll('*')) {
    if (el.closest('.katex-mathml') || el.closest('[data-testid="stDataFrame"]')) continue;
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0 || getComputedStyle(el).visibility === 'hidden') continue;
    const text = (el.innerText || el.textContent || '').trim().slice(0, 50);
    if (box.right > edge + 2) found.push(`past the edge: <${el.tagName.toLowerCase()}> ${text}`);
    if (getComputedStyle(el).textOverflow === 'ellipsis' && el.scrollWidth > el.clientWidth + 1)
      found.push(`cut short: ${text}`);
  }
  return found.slice(0, 10);
}"""


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    data = load_coco_data(ensure_demo_dataset(), max_train=1000, seed=0)
    rng = np.random.default_rng(0)
    model = CaptioningRNN(data["word_to_idx"], input_dim=512, wordvec_dim=32, hidden_dim=64, rng=rng)
    solver = CaptioningSolver(model, data, update_rule="adam", optim_config={"learning_rate": 1e-2},
                              batch_size=100, num_epochs=4, verbose=False, rng=rng)
    solver.train()
    return save_checkpoint(tmp_path_factory.mktemp("browser-model") / "rnn-64.h5", model,
                           {"iteration": solver.num_iterations})


def button(page, key):
    return page.locator(f".st-key-{key.replace('.', '-')} button")


def heading(page) -> str:
    return page.locator("h3", has_text=re.compile(r"^Step \d+:")).first.inner_text()


def open_tab(page, name):
    page.get_by_role("tab", name=name).click()
    wait_idle(page)


def compute_split_scores(page):
    """Open Compare's Split scores tab, press Compute, and wait for the score table."""
    open_tab(page, "Split scores")
    button(page, "compare.compute").click()
    page.wait_for_selector('[data-testid="stDataFrame"]', timeout=120_000)
    wait_idle(page)


def charts(page) -> int:
    page.wait_for_selector('[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg')
    return page.locator('[data-testid="stVegaLiteChart"]').count()


def test_inspect_step_back_force_and_every_view(page, checkpoint):
    page.set_viewport_size(TALL)
    open_page(page, "Inspect")
    load_checkpoint_in_sidebar(page, checkpoint)
    assert_no_errors(page)
    assert page.get_by_text("RNN, 64 units · rnn-64.h5 (iteration 40)").count() == 1
    for _ in range(3):
        button(page, "inspect.step").click()
        wait_idle(page)
    assert heading(page).startswith("Step 2:")
    button(page, "inspect.back").click()
    wait_idle(page)
    assert heading(page).startswith("Step 1:")
    page.keyboard.press("ArrowRight")                       # the Step button's shortcut
    wait_idle(page)
    assert heading(page).startswith("Step 2:")
    assert charts(page) == 2                                # next-word bars and the state strip
    force = page.locator(".st-key-inspect-force button")
    word = re.search(r"“(.+)”", force.inner_text()).group(1)
    force.click()
    wait_idle(page)
    assert_no_errors(page)
    assert heading(page).endswith(f"took “{word}”")
    assert page.get_by_text("Without your forced words it said:").count() == 1
    assert page.get_by_text(f"✎ {word}").count() == 1
    screenshot(page, "inspect-step-through")

    open_tab(page, "Whole caption")
    assert_no_errors(page)
    assert charts(page) == 3                                # heatmap, ||h_t||, saturation
    assert page.get_by_text("The 6 most variable units:").count() == 1
    screenshot(page, "inspect-whole-caption")

    open_tab(page, "Teacher forcing")
    assert_no_errors(page)
    assert page.get_by_text("Caption loss").count() == 1
    assert charts(page) == 2
    assert page.locator('[data-testid="stDataFrame"]').count() == 1
    screenshot(page, "inspect-teacher-forcing")

    open_tab(page, "RNN vs LSTM gradients")
    assert_no_errors(page)
    assert charts(page) == 1
    assert page.get_by_text("B: reaches step 0").count() == 1
    screenshot(page, "inspect-rnn-vs-lstm")


def test_compare_examples_scores_and_strategies(page, checkpoint):
    page.set_viewport_size(TALL)
    open_page(page, "Compare")
    load_checkpoint_in_sidebar(page, checkpoint)
    assert_no_errors(page)
    assert page.get_by_text("Ground truth:").count() == 6
    assert page.get_by_text(re.compile(r"BLEU-4")).count() >= 6
    screenshot(page, "compare-train-vs-val")

    compute_split_scores(page)
    assert_no_errors(page)
    assert page.get_by_text(re.compile(r"^BLEU-4 — greedy: train")).count() == 1
    assert charts(page) == 1
    screenshot(page, "compare-split-scores")

    open_tab(page, "Strategies side by side")
    assert_no_errors(page)
    table = page.locator("table", has_text="log p / word").first
    rows = table.locator("tbody tr")
    assert rows.count() == 9                                # greedy, beams 1-5, three samples
    assert rows.nth(2).locator("td").first.inner_text() == "beam 2"
    screenshot(page, "compare-strategies")


def test_play_runs_the_caption_to_its_end_on_its_own(page, checkpoint):
    open_page(page, "Inspect")
    load_checkpoint_in_sidebar(page, checkpoint)
    button(page, "inspect.play").click()
    page.get_by_text("The caption is complete.").wait_for(timeout=60_000)
    wait_idle(page)
    assert_no_errors(page)
    assert "Play" in button(page, "inspect.play").inner_text()
    assert button(page, "inspect.step").is_disabled()
    words = page.locator("h3", has_text=re.compile(r"^Step \d+:")).first.inner_text()
    assert words.endswith("took “<END>”") or words.startswith("Step 19:")


def test_every_page_fits_a_projector(page, checkpoint):
    """At 1024 x 768 with the sidebar open, nothing sticks out and no label is cut short."""
    page.set_viewport_size(PROJECTOR)

    def fits(where):
        page.wait_for_timeout(500)                          # let the charts lay themselves out
        assert page.evaluate(OVERFLOW_JS) == [], where

    fits("Home")
    for name in ("Browse", "Layer lab"):
        open_page(page, name)
        fits(name)
    open_page(page, "Inspect")
    load_checkpoint_in_sidebar(page, checkpoint)
    for _ in range(3):
        button(page, "inspect.step").click()
        wait_idle(page)
    fits("Inspect: Step through")
    for tab in ("Whole caption", "Teacher forcing", "RNN vs LSTM gradients"):
        open_tab(page, tab)
        fits(f"Inspect: {tab}")
    open_page(page, "Compare")
    fits("Compare: Train vs val examples")
    compute_split_scores(page)
    fits("Compare: Split scores")
    open_tab(page, "Strategies side by side")
    fits("Compare: Strategies side by side")
    assert_no_errors(page)


def test_quick_start_inspects_and_compares_the_overfit_run(page):
    """The Home page's Quick start, steps 2 and 3: train the *Notebook RNN overfit* preset, use
    it in Inspect, which opens on an image it trained on, and in Compare, whose train side is
    those images, so the memorisation shows against val."""
    page.set_viewport_size(TALL)
    open_page(page, "Train")
    page.get_by_role("button", name="Start").click()
    use = page.get_by_role("button", name="Use in Inspect & Compare")
    use.wait_for(timeout=180_000)                           # the run is done
    wait_idle(page)
    use.click()
    wait_idle(page)

    open_page(page, "Inspect")
    assert_no_errors(page)
    assert page.locator(".st-key-inspect-image_trained").inner_text().startswith("Image it trained on (")
    assert page.get_by_text(re.compile(r"^train image #\d+$")).count() >= 1     # the picture's caption
    button(page, "inspect.finish").click()
    wait_idle(page)
    assert_no_errors(page)
    assert page.get_by_text("The caption is complete.").count() == 1
    screenshot(page, "quickstart-inspect-trained-image")
    page.set_viewport_size(PROJECTOR)
    page.wait_for_timeout(500)
    assert page.evaluate(OVERFLOW_JS) == [], "Inspect with a trained-on image"
    page.set_viewport_size(TALL)

    open_page(page, "Compare")
    assert_no_errors(page)
    assert page.get_by_text("Train split · trained on").count() == 1
    assert page.get_by_text(re.compile(r"the \d+ images this run trained on")).count() == 1
    screenshot(page, "quickstart-compare-examples")
    compute_split_scores(page)
    assert_no_errors(page)
    gap = page.get_by_text(re.compile(r"^BLEU-4 — greedy: train")).inner_text()
    train, val = (float(x) for x in re.search(r"greedy: train ([0-9.]+) against val ([0-9.]+)", gap).groups())
    assert train > 0.9 and val < 0.3
    screenshot(page, "quickstart-compare-split-scores")


def test_the_step_through_fits_a_projector_in_presenter_mode(page, checkpoint):
    """1280x720, presenter mode: the whole step-through, to the caption's last word, on one screen."""
    page.set_viewport_size({"width": 1280, "height": 720})
    open_page(page, "Inspect")
    load_checkpoint_in_sidebar(page, checkpoint)
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("Presenter mode", exact=True).click()
    wait_idle(page)                                            # presenting folds the sidebar away
    page.wait_for_function("() => document.querySelector('[data-testid=\"stSidebar\"]')"
                           ".getAttribute('data-collapsed') === 'true'")
    wait_idle(page)
    assert "present=1" in page.url
    button(page, "inspect.finish").click()
    wait_idle(page)
    page.wait_for_timeout(500)                                # let the bars lay themselves out
    assert page.locator("h5", has_text=re.compile(r"^Step \d+:")).count() == 1
    overflow = page.evaluate("() => { const m = document.querySelector('[data-testid=\"stMain\"]');"
                             " return m.scrollHeight - m.clientHeight; }")
    screenshot(page, "inspect-present-step-through")
    assert overflow <= 2, f"the step-through scrolls by {overflow} px"
    assert_no_errors(page)
