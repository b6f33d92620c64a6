"""How fast one training iteration and one greedy sampling pass run, against what the machine can do.

The notebook's overfit shape: N=25 captions of T=16 steps, D=512, W=256, H=512, V=1004,
float32. Prints, for rnn and lstm: the median ms per iteration (forward, backward, Adam),
the GFLOP/s that reaches and its fraction of numpy's own GEMM throughput measured in the
same run, and the median ms to sample 25 greedy captions. With `--torch-python` (an
interpreter that has torch, kept outside the project), it also times PyTorch's
`nn.RNN`/`nn.LSTM` with Adam on the same shapes and prints the ratio.

    python benchmarks/train_step.py [--iters 30] [--torch-python /path/to/python]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import describe_machine  # noqa: E402

from core import CaptioningRNN, CaptioningSolver  # noqa: E402

N, T, D, W, H, V = 25, 16, 512, 256, 512, 1004


def vocabulary(size):
    words = ["<NULL>", "<START>", "<END>", "<UNK>"] + [f"w{i}" for i in range(size - 4)]
    return {w: i for i, w in enumerate(words)}


def iteration_flops(cell):
    """Multiply-adds x 2 of every matmul in one forward + backward pass."""
    m = 4 if cell == "lstm" else 1
    fwd = N * D * H + N * T * W * m * H + N * T * H * m * H + N * T * H * V
    bwd = (2 * N * T * H * V                       # vocab: dh and dW_vocab
           + N * T * m * H * H * 2                 # dprev_h per step and dWh
           + N * T * m * H * W * 2                 # dx and dWx
           + N * D * H)                            # dW_proj
    return 2 * (fwd + bwd)


def gemm_gflops(repeats=20):
    """numpy's float32 GEMM throughput on a large square product, in GFLOP/s."""
    n = 1024
    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    b = a.T.copy()
    a @ b
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    return 2 * n ** 3 / min(times) / 1e9


def median_ms(fn, iters, warmup=3):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def training_iteration(cell, iters):
    """Median ms of one CaptioningSolver step (minibatch, loss, backward, Adam)."""
    rng = np.random.default_rng(0)
    captions = rng.integers(4, V, size=(N, T + 1)).astype(np.int32)
    captions[:, 0] = 1
    data = {"train_captions": captions, "train_image_idxs": np.arange(N, dtype=np.int32),
            "train_features": rng.standard_normal((N, D)).astype(np.float32),
            "train_urls": np.array([""] * N)}
    model = CaptioningRNN(vocabulary(V), D, W, H, cell_type=cell, rng=rng)
    solver = CaptioningSolver(model, data, update_rule="adam", optim_config={"learning_rate": 5e-3},
                              batch_size=N, verbose=False, seed=0)
    return median_ms(solver._step, iters), model


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--iters", type=int, default=30)
    parser.add_argument("--torch-python", help="a Python interpreter with torch installed")
    args = parser.parse_args()

    print(describe_machine())
    peak = gemm_gflops()
    print(f"numpy float32 GEMM (1024^3): {peak:.1f} GFLOP/s")
    torch_ms = None
    if args.torch_python:
        out = subprocess.run([args.torch_python, str(Path(__file__).with_name("torch_reference.py")),
                              *map(str, (N, T, D, W, H, V, args.iters, 3))],
                             capture_output=True, text=True, check=True)
        torch_ms = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"PyTorch {torch_ms['torch']} ({torch_ms['threads']} threads)")
    print(f"shape: N={N} T={T} D={D} W={W} H={H} V={V}, float32, Adam")
    for cell in ("rnn", "lstm"):
        ms, model = training_iteration(cell, args.iters)
        gflops = iteration_flops(cell) / (ms / 1e3) / 1e9
        feats = np.random.default_rng(1).standard_normal((N, D)).astype(np.float32)
        sample_ms = median_ms(lambda: model.sample(feats, max_length=30), args.iters)
        line = (f"{cell:4s}  train iteration {ms:7.1f} ms  ({gflops:5.1f} GFLOP/s = "
                f"{100 * gflops / peak:4.1f}% of GEMM)  greedy sample x25 {sample_ms:6.1f} ms")
        if torch_ms:
            line += f"  | torch {torch_ms[cell]:6.1f} ms, numpy/torch = {ms / torch_ms[cell]:.2f}x"
        print(line)


if __name__ == "__main__":
    main()
