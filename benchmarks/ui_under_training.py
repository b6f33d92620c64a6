"""How much slower the app's pages rerun while runs train in the background.

Claim measured: training never makes the app unresponsive, because runs train in worker
processes (BLAS on one thread, lower CPU priority) and at most one per core trains at
once. For each scenario this prints the median and 90th-percentile wall time of a full
rerun of the Home page and of the Train page (which also polls the runner and draws the
live chart), through Streamlit's AppTest in this process, the way the server runs a
script for a session:

    idle                      nothing trains (one finished run is on the Train page, so that
                              page draws a chart and captions in every scenario)
    1, 2, 4 runs              started through the Runner as the app does (cap = cores,
                              so of 4 runs 2 train and 2 wait when there are 2 cores)
    4 runs, no cap            the cap lifted: all 4 train at once
    2 runs, nice 0            workers at the server's own CPU priority
    2 runs, default BLAS      workers with the BLAS library's own thread count (what not
                              setting OPENBLAS_NUM_THREADS gives)
    2 runs, server threads    the naive design: training in threads of the server process

It also prints the training throughput meanwhile (iterations per second, all runs
together), the other half of the trade-off. Each run is the LSTM preset stretched to
1,000 epochs, so it trains for the whole measurement. Every scenario gets a fresh runs
folder and fresh sessions, so the Train page always lists just its own runs. The
machine may be shared with other work: its load average is printed too.

    python -m benchmarks.ui_under_training [--reruns 60]
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from benchmarks._machine import describe_machine
from core.data.demo import ensure_demo_dataset
from explorer import state
from explorer.runs.settings import PRESETS, notebook_solver
from explorer.runs.base import RESCAN_SECONDS
from explorer.runs.local import LocalRunner

ROOT = Path(__file__).resolve().parent.parent

CONFIG = PRESETS["Notebook LSTM overfit"].replace(num_epochs=1000)


def page_app(page: str | None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "explorer" / "app.py"), default_timeout=120).run()
    if page:
        at.switch_page(f"../pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def rerun_times(at: AppTest, reruns: int) -> list[float]:
    times = []
    for _ in range(reruns):
        start = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - start)
        assert not at.exception, [e.value for e in at.exception]
    return times


def summary(times: list[float]) -> str:
    ordered = sorted(times)
    p90 = ordered[min(len(ordered) - 1, int(round(0.9 * (len(ordered) - 1))))]
    return f"{1000 * statistics.median(times):8.0f} ms {1000 * p90:3.0f} ms"


class Scenario:
    """Start some training, wait until it is really training, stop it afterwards."""

    def __init__(self, name, runs=0, cap=None, nice=10, blas_threads=1, threads=0):
        self.name, self.runs, self.cap = name, runs, cap
        self.finished = None
        self.nice, self.blas_threads, self.threads = nice, blas_threads, threads
        self.runner, self.stop_event, self.workers, self.thread_iterations = None, threading.Event(), [], [0]

    def start(self, runs_dir: Path) -> None:
        dataset = {"base_dir": str(ensure_demo_dataset()), "pca_features": True, "is_demo": True}
        finished = LocalRunner(runs_dir)
        finished.wait(finished.start(PRESETS["Notebook RNN overfit"], dataset, owner="bench-done"))
        if self.runs:
            self.runner = LocalRunner(runs_dir, max_concurrent=self.cap, max_per_owner=self.runs, nice=self.nice,
                                 blas_threads=self.blas_threads)
            ids = [self.runner.start(CONFIG, dataset, owner="bench") for _ in range(self.runs)]
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not all(
                    self.runner.get(i).iteration >= 3 for i in ids if self.runner.get(i).status == "running"):
                time.sleep(0.2)
        for _ in range(self.threads):
            solver = notebook_solver(CONFIG, dataset["base_dir"], should_stop=self.stop_event,
                                     callbacks=[self.count])
            worker = threading.Thread(target=solver.train, daemon=True)
            worker.start()
            self.workers.append(worker)
        time.sleep(1.0)                     # let the scheduler settle

    def count(self, progress) -> None:
        self.thread_iterations[0] += 1

    def iterations(self) -> int:
        if self.runner:
            return sum(i.iteration for i in self.runner.runs() if i.owner == "bench")
        return self.thread_iterations[0]

    def training(self) -> str:
        if self.runner:
            infos = [i for i in self.runner.runs() if i.owner == "bench"]
            return (f"{sum(i.status == 'running' for i in infos)} train, "
                    f"{sum(i.status == 'queued' for i in infos)} wait")
        return f"{len(self.workers)} threads" if self.workers else "-"

    def stop(self) -> None:
        self.stop_event.set()
        for worker in self.workers:
            worker.join()
        if self.runner:
            self.runner.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reruns", type=int, default=60, help="reruns timed per page and scenario")
    args = parser.parse_args()
    print(describe_machine())
    cores = os.cpu_count() or 1
    scenarios = [Scenario("idle"), Scenario("1 run", 1), Scenario("2 runs", 2), Scenario("4 runs", 4),
                 Scenario("4 runs, no cap", 4, cap=4), Scenario("2 runs, nice 0", 2, nice=0),
                 Scenario("2 runs, default BLAS", 2, blas_threads=None),
                 Scenario("2 runs, server threads", threads=2)]
    print(f"cap on concurrent runs: {cores} (cores); each page rerun {args.reruns} times\n")
    print(f"{'scenario':26} {'training':16} {'Home median':>11} {'p90':>6} {'Train median':>12} {'p90':>6}"
          f" {'vs idle':>11} {'it/s':>6} {'load':>5}")
    root = Path(tempfile.mkdtemp(prefix="caption-lab-bench-"))
    baseline = {}
    for number, scenario in enumerate(scenarios):
        os.environ["CAPTION_LAB_RUNS"] = str(root / f"runs-{number}")
        state.runner.clear()
        pages = {"Home": page_app(None), "Train": page_app("train")}
        scenario.start(root / f"runs-{number}")
        for at in pages.values():
            time.sleep(RESCAN_SECONDS)      # the page's runner looks for new run folders this often
            rerun_times(at, 3)              # the new runs appear; caches warm
        before, started = scenario.iterations(), time.perf_counter()
        results = {name: rerun_times(at, args.reruns) for name, at in pages.items()}
        rate = (scenario.iterations() - before) / (time.perf_counter() - started)
        training = scenario.training()
        load = os.getloadavg()[0]
        scenario.stop()
        medians = {name: statistics.median(t) for name, t in results.items()}
        baseline = baseline or medians
        slowdown = " ".join(f"{medians[name] / baseline[name]:.1f}x" for name in results)
        print(f"{scenario.name:26} {training:16} " + " ".join(summary(t) for t in results.values())
              + f" {slowdown:>11} {rate:6.1f} {load:5.2f}", flush=True)


if __name__ == "__main__":
    main()
