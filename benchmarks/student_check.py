"""Measure the claim: checking a student's whole assignment folder takes a few seconds.

The whole check as the app and `python -m core.student check` run it (a checker process,
one confined child per function, two at a time): on a correct implementation, the
course's unfinished template, one folder with a bug, and a folder of hostile code (an
endless loop among them, so its time is bound by the per-function limit, here 10 s, the
default). Each is timed three times; the median and the spread are printed.

    python -m benchmarks.student_check          (from the repository root)
"""
from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from benchmarks._machine import describe_machine
from core.student import check, find_bundle
from tests.support.student_corpus import CORRECT, TEMPLATE, make_bug, make_hostile

REPEATS = 3


def timed(folder: Path, **options) -> tuple[float, float, str]:
    times, counts = [], ""
    for _ in range(REPEATS):
        started = time.perf_counter()
        report = check(find_bundle(folder), **options)
        times.append(time.perf_counter() - started)
        counts = ", ".join(f"{n} {s}" for s, n in report.counts().items() if n)
    return statistics.median(times), max(times) - min(times), counts


def main() -> None:
    print(describe_machine())
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cases = [("correct implementation", CORRECT, {}),
                 ("the course's template", TEMPLATE, {}),
                 ("one bug (rnn_backward)", make_bug(root, "rnn_backward_no_carry"), {}),
                 ("hostile code (an endless loop, 10 s limit)",
                  make_hostile(root, "hostile_a", root / "outside.txt", 9), {})]
        print(f"{'folder':<46} {'whole check':>12} {'spread':>8}  verdicts")
        for name, folder, options in cases:
            median, spread, counts = timed(folder, **options)
            print(f"{name:<46} {median:>10.2f} s {spread:>6.2f} s  {counts}")


if __name__ == "__main__":
    main()
