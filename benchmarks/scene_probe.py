"""Measure the claim: probing a model over 300 fresh demo scenes takes a few seconds.

As Compare's *What it sees* tab does it: draw 300 scenes (seeded), render them, compute
their features with the demo dataset's own extractor, caption them greedily with a model
(H=512, the notebook's size) and read every caption attribute by attribute; then the same
captioning for the two comparison models (an untrained one, a second trained one), which
reuse the features. Three repeats; the median and the spread.

    python -m benchmarks.scene_probe          (from the repository root)
"""
from __future__ import annotations

import statistics
import time

import numpy as np

from benchmarks._machine import describe_machine
from core import CaptioningRNN, load_coco_data
from core.data.demo import ensure_demo_dataset
from core.data.scene_lab import SceneLab, fresh_scenes
from core.probe import probe_model

SCENES, REPEATS = 300, 3


def main() -> None:
    print(describe_machine())
    folder = ensure_demo_dataset()
    data = load_coco_data(folder)
    lab = SceneLab.open(folder)
    lab.features([lab.render(fresh_scenes(1, seed=99)[0])])         # the extractor's one-time load
    models = [CaptioningRNN(data["word_to_idx"], input_dim=512, wordvec_dim=256, hidden_dim=512,
                            cell_type=cell, rng=np.random.default_rng(k)) for k, cell in enumerate(("rnn", "rnn", "lstm"))]
    stages = {"draw and render": [], "features": [], "caption and read, 3 models": [], "whole probe": []}
    for seed in range(REPEATS):
        t0 = time.perf_counter()
        scenes = fresh_scenes(SCENES, seed)
        pictures = [lab.render(s) for s in scenes]
        t1 = time.perf_counter()
        _, features = lab.features(pictures)
        t2 = time.perf_counter()
        for model in models:
            probe_model(model, features, scenes)
        t3 = time.perf_counter()
        for name, seconds in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t3 - t0)):
            stages[name].append(seconds)
    print(f"{SCENES} scenes, H=512 models (RNN, RNN, LSTM), {REPEATS} repeats")
    for name, times in stages.items():
        print(f"  {name:<28} {statistics.median(times):6.2f} s   (spread {max(times) - min(times):.2f} s)")


if __name__ == "__main__":
    main()
