"""How fast one training iteration and one greedy sampling pass run, against what the machine can do.

The notebook's overfit shape: N=25 captions of T=16 steps, D=512, W=256, H=512, V=1004,
float32. Prints, for rnn and lstm: the median ms per iteration (forward, backward, Adam),
the GFLOP/s that reaches, how far it is from the GEMM limit (the iteration's GEMM FLOPs at
numpy's own sgemm throughput, measured in the same run), and the median ms to sample 25
greedy captions. With `--torch-python` (an interpreter that has torch, kept outside the
project), it also times PyTorch's `nn.RNN`/`nn.LSTM` with Adam on the same shapes, in
turns with numpy, and prints the ratio.

Each cell is measured on two kinds of captions. `random`: a random word at every one of
the 400 positions (no padding, about 330 distinct words), the worst case for the training
step. `demo`: minibatches of 25 drawn from 50 of the demo dataset's training captions
(drawn with a fixed seed), as the notebook's overfit cell draws them from its 50
(COCO-style <NULL> padding; the demo has a 97-word vocabulary, so a batch holds about 60
distinct words, fewer than a COCO batch would), against PyTorch both padded (every position through the layer, the padding
left out of the loss, as a port of the notebook would run) and packed
(`pack_padded_sequence`: the recurrent layer stops each caption after its last word and
the vocabulary layer sees only the positions it ran).

It measures twice, each in a process of its own: first as on a user's machine, with
`OPENBLAS_CORETYPE` and `OPENBLAS_L2_SIZE` unset (OpenBLAS picks its kernels for the CPU),
then pinned as these machines pin them (their values here, or `OPENBLAS_CORETYPE=Haswell`
where none are set). Each prints the BLAS kernel that ran (threadpoolctl). Only this
benchmark's own processes see the change: tests, CI and the app never touch the two.

    python -m benchmarks.train_step [--rounds 8] [--iters 5] [--torch-python /path/to/python]
                                    [--only unpinned|pinned]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks._machine import describe_machine
from core import CaptioningRNN, CaptioningSolver
from core.solver import keep_freed_memory

N, T, D, W, H, V = 25, 16, 512, 256, 512, 1004
PAUSE = 0.5   # seconds between turns: BLAS and OpenMP threads spin a while after work,
              # which would slow whichever library takes the next turn
PINS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def environments() -> dict[str, dict]:
    """The two process environments measured: unpinned (as on a user's machine) and pinned."""
    unpinned = {k: v for k, v in os.environ.items() if k not in PINS}
    pins = {k: os.environ[k] for k in PINS if k in os.environ} or {"OPENBLAS_CORETYPE": "Haswell"}
    return {"unpinned": unpinned, "pinned": {**unpinned, **pins}}


def blas_kernel() -> str:
    """numpy's BLAS as threadpoolctl sees it: library, version, kernel, threads."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "BLAS kernel: unknown (pip install threadpoolctl)"
    blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    return "; ".join(f"numpy BLAS: {i['internal_api']} {i.get('version')}, kernel {i.get('architecture')}, "
                     f"{i['num_threads']} threads" for i in blas) or "BLAS kernel: none found"


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


def timed(fn, n):
    """Seconds each of n calls of fn took."""
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def demo_captions():
    """50 of the demo dataset's training captions, (50, T+1), drawn as the notebook's overfit
    cell draws its 50 (`load_coco_data(max_train=50)`), with a fixed seed: the same every run."""
    from core.data.coco import load_coco_data
    captions = load_coco_data(max_train=50, seed=0)["train_captions"]
    assert captions.shape[1] == T + 1, captions.shape
    return captions


def solver_for(cell, captions=None):
    """A CaptioningSolver of the benchmark's shape, on random captions or on `captions`
    (minibatches of N drawn from them); its _step is one iteration."""
    rng = np.random.default_rng(0)
    if captions is None:
        captions = rng.integers(4, V, size=(N, T + 1)).astype(np.int32)
        captions[:, 0] = 1
    count = len(captions)
    data = {"train_captions": captions, "train_image_idxs": np.arange(count, dtype=np.int32),
            "train_features": rng.standard_normal((count, D)).astype(np.float32),
            "train_urls": np.array([""] * count)}
    model = CaptioningRNN(vocabulary(V), D, W, H, cell_type=cell, rng=rng)
    return CaptioningSolver(model, data, update_rule="adam", optim_config={"learning_rate": 5e-3},
                            batch_size=N, verbose=False, seed=0)


class TorchReference:
    """benchmarks/torch_reference.py in another interpreter, timing iterations on request."""

    def __init__(self, python, captions):
        self.proc = subprocess.Popen(
            [python, str(Path(__file__).with_name("torch_reference.py")), *map(str, (N, T, D, W, H, V)),
             json.dumps(captions.tolist())],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.info = json.loads(self.proc.stdout.readline())

    def times(self, cell, n, kind):
        self.proc.stdin.write(f"{cell} {n} {kind}\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self):
        self.proc.stdin.write("quit\n")
        self.proc.stdin.close()
        self.proc.wait()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=8, help="turns numpy and torch take")
    parser.add_argument("--iters", type=int, default=5, help="iterations per turn")
    parser.add_argument("--torch-python", help="a Python interpreter with torch installed")
    parser.add_argument("--only", choices=["unpinned", "pinned"], help="measure one environment")
    parser.add_argument("--child", choices=["unpinned", "pinned"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return measure(args)
    print(describe_machine())
    for name, env in environments().items():
        if args.only and name != args.only:
            continue
        pins = ", ".join(f"{k}={env[k]}" for k in PINS if k in env) or f"{' and '.join(PINS)} unset"
        print(f"\n== {name} ({pins})", flush=True)
        command = [sys.executable, "-m", "benchmarks.train_step", "--child", name,
                   "--rounds", str(args.rounds), "--iters", str(args.iters)]
        if args.torch_python:
            command += ["--torch-python", args.torch_python]
        subprocess.run(command, env=env, cwd=Path(__file__).resolve().parents[1], check=True)


def measure(args):
    """One environment's figures (run in a process whose environment main() chose)."""
    keep_freed_memory()                 # as Caption Lab's training worker does
    print(blas_kernel())
    peak = gemm_gflops()
    print(f"numpy float32 GEMM (1024^3): {peak:.1f} GFLOP/s")
    demo = demo_captions()
    reference = TorchReference(args.torch_python, demo) if args.torch_python else None
    if reference:
        print(f"PyTorch {reference.info['torch']} ({reference.info['threads']} threads, "
              f"{reference.info.get('kernel', '')}), {args.rounds} alternating turns of {args.iters} iterations each")
    print(f"shape: N={N} T={T} D={D} W={W} H={H} V={V}, float32, Adam")
    for cell in ("rnn", "lstm"):
        for captions, kinds in ((None, ["random"]), (demo, ["padded", "packed"])):
            solver = solver_for(cell, captions)
            timed(solver._step, 3)
            ours, theirs = [], {kind: [] for kind in kinds}
            ratios = {kind: [] for kind in kinds}
            for _ in range(args.rounds):
                time.sleep(PAUSE)
                mine = timed(solver._step, args.iters)
                ours += mine
                for kind in kinds if reference else []:
                    time.sleep(PAUSE)
                    other = reference.times(cell, args.iters, kind)
                    theirs[kind] += other
                    ratios[kind].append(statistics.median(mine) / statistics.median(other))
            ms = 1e3 * statistics.median(ours)
            if captions is None:
                gflops = iteration_flops(cell) / (ms / 1e3) / 1e9
                feats = np.random.default_rng(1).standard_normal((N, D)).astype(np.float32)
                sample = timed(lambda: solver.model.sample(feats, max_length=30), 3 + args.rounds)[3:]
                line = (f"{cell:4s}  random captions: train iteration {ms:6.1f} ms ({gflops:5.1f} GFLOP/s, "
                        f"{peak / gflops:4.2f}x the GEMM limit)  greedy sample x25 "
                        f"{1e3 * statistics.median(sample):5.1f} ms")
            else:
                line = f"{cell:4s}  demo captions:   train iteration {ms:6.1f} ms"
            for kind in kinds if reference else []:
                name = "torch" if kind == "random" else f"torch {kind}"
                line += (f"  | {name} {1e3 * statistics.median(theirs[kind]):6.1f} ms; numpy/torch "
                         f"{statistics.median(ratios[kind]):.2f}x (per-turn ratios "
                         f"{min(ratios[kind]):.2f}-{max(ratios[kind]):.2f})")
            print(line, flush=True)
    if reference:
        reference.close()


if __name__ == "__main__":
    main()
