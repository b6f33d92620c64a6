"""How fast Inspect steps and Compare scores: the two speed claims of those pages.

1. One Step on the Inspect page with a 512-unit model (vanilla RNN and LSTM): the time of
   the whole app rerun a click causes, measured with Streamlit's AppTest (the server's
   work: router, sidebar, page, charts' data), and, with --browser, in headless Chromium
   from the click until the new step's heading shows (server plus websocket plus React).
   Target: under 300 ms.
2. Split-level scores over 500 val images with beam size 3: corpus BLEU-1..4 and the
   notebook's BLEU, `core.evaluate.evaluate`, for an RNN (H=512, W=256) trained briefly
   on the demo data. Target: under 30 s.
3. A caption's teacher-forced trace (`core.decoding.teacher_forced_trace`: states, p(true
   word), and the gradient through time twice), which Inspect's *Teacher forcing* and
   *RNN vs LSTM gradients* tabs compute for every new image or caption, and the Lesson's
   unrolled and LSTM steps for their model: the median over 10 train captions, H=512.

    python -m benchmarks.inspect_compare_speed [--steps 20] [--iterations 100] [--browser]

Prints the machine first. Runs and the image cache go to a temporary folder.
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks._machine import describe_machine
from core import CaptioningRNN, CaptioningSolver, load_coco_data, save_checkpoint
from core.data.demo import ensure_demo_dataset
from core.decoding import teacher_forced_trace
from core.evaluate import Strategy, evaluate

ROOT = Path(__file__).resolve().parent.parent


def train(data, cell: str, iterations: int, seed: int = 0) -> tuple[CaptioningRNN, float]:
    """The demo recipe's model (H=512, W=256, Adam 5e-3) trained for `iterations` minibatches of 100."""
    rng = np.random.default_rng(seed)
    model = CaptioningRNN(data["word_to_idx"], input_dim=data["train_features"].shape[1],
                          wordvec_dim=256, hidden_dim=512, cell_type=cell, rng=rng)
    small = dict(data, train_captions=data["train_captions"][:iterations * 100],
                 train_image_idxs=data["train_image_idxs"][:iterations * 100])
    solver = CaptioningSolver(model, small, update_rule="adam", optim_config={"learning_rate": 5e-3},
                              batch_size=100, num_epochs=1, verbose=False, rng=rng)
    started = time.perf_counter()
    solver.train()
    return model, time.perf_counter() - started


def summary(times: list[float]) -> str:
    ms = sorted(1000 * t for t in times)
    return (f"median {statistics.median(ms):.0f} ms, p90 {ms[int(0.9 * (len(ms) - 1))]:.0f} ms, "
            f"max {ms[-1]:.0f} ms over {len(ms)} steps")


def apptest_steps(checkpoint: Path, steps: int) -> list[float]:
    """Seconds per Step click, as whole-app AppTest reruns, after two warm-up steps."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "explorer" / "app.py"), default_timeout=120).run()
    at.switch_page("../pages/inspect.py").run()
    at.radio(key="model.source").set_value("Checkpoint file").run()
    at.text_input(key="model.file").input(str(checkpoint)).run()
    assert not at.exception and not at.error, (at.exception, at.error)
    times = []
    for k in range(steps + 2):
        if at.session_state["inspect.decoder"].finished:
            at.button(key="inspect.reset").click().run()
        button = at.button(key="inspect.step").click()
        started = time.perf_counter()
        button.run()
        if k >= 2:
            times.append(time.perf_counter() - started)
        assert not at.exception, at.exception
    return times


def browser_steps(checkpoint: Path, steps: int, tmp: Path) -> list[float]:
    """Seconds from a Step click until the new step's heading is on screen, in headless Chromium."""
    from playwright.sync_api import sync_playwright

    from tests.browser.conftest import load_checkpoint_in_sidebar, open_page, start_app, wait_idle
    from tests.conftest import CHROMIUM_FLAGS, chromium_path

    process, url = start_app(tmp)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_FLAGS)
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.set_default_timeout(60_000)
            page.goto(url)
            wait_idle(page)
            open_page(page, "Inspect")
            load_checkpoint_in_sidebar(page, checkpoint)
            step = page.locator(".st-key-inspect-step button")
            times, t = [], 0
            for k in range(steps + 2):
                if step.is_disabled():
                    page.locator(".st-key-inspect-reset button").click()
                    wait_idle(page)
                    t = 0
                started = time.perf_counter()
                step.click()
                page.wait_for_function(
                    "t => [...document.querySelectorAll('h3')].some(h => h.innerText.startsWith(`Step ${t}:`))", arg=t)
                if k >= 2:
                    times.append(time.perf_counter() - started)
                t += 1
                wait_idle(page)
            browser.close()
    finally:
        process.terminate()
        process.wait(timeout=10)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=20, help="timed Step clicks per model")
    parser.add_argument("--iterations", type=int, default=100, help="training minibatches for the BLEU model")
    parser.add_argument("--browser", action="store_true", help="also time Steps in headless Chromium")
    args = parser.parse_args()
    print(describe_machine())
    tmp = Path(tempfile.mkdtemp(prefix="caption-lab-bench-"))
    os.environ["CAPTION_LAB_RUNS"] = str(tmp / "runs")
    os.environ["CAPTION_LAB_IMAGE_CACHE"] = str(tmp / "image-cache")
    data = load_coco_data(ensure_demo_dataset())

    print("\n1. One Step on the Inspect page (H=512), target < 300 ms")
    for cell in ("rnn", "lstm"):
        model, _ = train(data, cell, iterations=5)
        path = save_checkpoint(tmp / f"{cell}-512.h5", model, {"iteration": 5})
        print(f"   {cell.upper():4s} AppTest rerun:   {summary(apptest_steps(path, args.steps))}")
        if args.browser:
            print(f"   {cell.upper():4s} real browser:   {summary(browser_steps(path, args.steps, tmp))}")

    print("\n2. Split-level scores, 500 val images, beam size 3, target < 30 s")
    model, seconds = train(data, "rnn", args.iterations)
    print(f"   model: RNN H=512 W=256, {args.iterations} iterations of Adam on 100 captions ({seconds:.1f} s)")
    started = time.perf_counter()
    score, = evaluate(model, data, [Strategy("beam", beam_size=3)], splits=("val",), n=500, seed=0)
    elapsed = time.perf_counter() - started
    print(f"   {score.num_images} val images in {elapsed:.1f} s: corpus BLEU-1..4 "
          f"{' '.join(f'{b:.3f}' for b in score.bleu)}, notebook BLEU {score.notebook_bleu:.3f}, "
          f"mean log p {score.mean_logprob:.2f}")

    print("\n3. A caption's teacher-forced trace (H=512, W=256), median over 10 train captions")
    for dtype in (np.float32, np.float64):
        for cell in ("rnn", "lstm"):
            model = CaptioningRNN(data["word_to_idx"], input_dim=data["train_features"].shape[1], wordvec_dim=256,
                                  hidden_dim=512, cell_type=cell, dtype=dtype, rng=np.random.default_rng(0))
            times, lengths = [], []
            for row in range(10):
                caption = data["train_captions"][row]
                feature = data["train_features"][data["train_image_idxs"][row]]
                started = time.perf_counter()
                trace = teacher_forced_trace(model, feature, caption)
                times.append(time.perf_counter() - started)
                lengths.append(len(trace.target_tokens))
            print(f"   {cell.upper():4s} {np.dtype(dtype).name}: {1000 * statistics.median(times):6.1f} ms "
                  f"(captions of {min(lengths)} to {max(lengths)} steps)")


if __name__ == "__main__":
    main()
