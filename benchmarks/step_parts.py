"""Where a training iteration's time goes, and whether numpy's GEMMs are behind PyTorch's.

Two tables, measured in a process whose environment has `OPENBLAS_CORETYPE` and
`OPENBLAS_L2_SIZE` unset (as on a user's machine; only this benchmark's own processes see
that), at the notebook's overfit shape (benchmarks/train_step.py's N, T, D, W, H, V):

1. ms per iteration in each part of the training step, for the cell given (timers wrapped
   around the functions the model calls), and the rest. The float32 step takes
   `core.fast` (numba): its compiled loops, its per-step recurrent products
   (`np.matmul`), its Adam and the solver's check that every gradient is finite; the rest
   is the whole-sequence GEMMs and numpy's glue. With `--reference`, the model runs
   `core.layers` and `core.optim.adam` instead (the readable path, as without numba), timed
   per layer function.
2. ms per call of each GEMM shape the LSTM iteration runs, numpy alone, and with
   `--torch-python` also `torch.mm` in that interpreter (both with their default threads),
   so that a gap to `nn.LSTM` can be told apart from a gap in the matrix products.

With `--captions demo`, the iterations draw their minibatches from 50 of the demo dataset's
training captions (<NULL>-padded, few distinct words; `train_step.demo_captions`) instead
of random words at every position (train_step.py's two kinds of captions).

    python -m benchmarks.step_parts [--cell lstm|rnn] [--captions random|demo] [--reference]
                                    [--torch-python /path/to/python]
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import time
import types
from pathlib import Path

from benchmarks._machine import describe_machine
from benchmarks.train_step import D, H, N, PINS, T, V, W, blas_kernel, demo_captions, solver_for

# (what it is, (m, k, n)) for an (m, k) @ (k, n) product
GEMMS = [("recurrent step  h Wh", (N, H, 4 * H)),
         ("backward step   da Wh^T", (N, 4 * H, H)),
         ("input projection", (N * T, W, 4 * H)),
         ("vocabulary forward", (N * T, H, V)),
         ("vocabulary dW", (H, N * T, V)),
         ("dWh over all steps", (H, N * T, 4 * H)),
         ("square 1024", (1024, 1024, 1024))]
LAYERS = ["affine_forward", "affine_backward", "word_embedding_forward", "word_embedding_backward",
          "rnn_forward", "rnn_backward", "lstm_forward", "lstm_backward", "temporal_affine_forward",
          "temporal_affine_backward", "temporal_softmax_loss"]
GEMM_TIMER = r'''
import json, sys, time
lib, shapes = sys.argv[1], json.loads(sys.argv[2])
if lib == "numpy":
    import numpy as np
    from threadpoolctl import threadpool_info
    info = "; ".join(f"numpy: {i['internal_api']} {i.get('architecture')}, {i['num_threads']} threads"
                     for i in threadpool_info() if i.get("user_api") == "blas")
    def make(m, k, n):
        a, b = np.random.rand(m, k).astype(np.float32), np.random.rand(k, n).astype(np.float32)
        out = np.empty((m, n), np.float32)
        return lambda: np.matmul(a, b, out=out)
else:
    import torch
    info = (f"torch {torch.__version__}: {torch.get_num_threads()} threads, "
            f"CPU capability {torch.backends.cpu.get_cpu_capability()}")
    def make(m, k, n):
        a, b, out = torch.rand(m, k), torch.rand(k, n), torch.empty(m, n)
        return lambda: torch.mm(a, b, out=out)
times = []
for m, k, n in shapes:
    f = make(m, k, n)
    for _ in range(10):
        f()
    reps = max(10, int(1e9 / (2 * m * k * n)))
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(reps):
            f()
        best = min(best, (time.perf_counter() - start) / reps)
    times.append(best)
print(json.dumps({"info": info, "times": times}))
'''


def unpinned_env() -> dict:
    return {k: v for k, v in os.environ.items() if k not in PINS}


def gemm_times(python: str, lib: str) -> dict:
    shapes = json.dumps([list(s) for _, s in GEMMS])
    done = subprocess.run([python, "-c", GEMM_TIMER, lib, shapes], env=unpinned_env(), check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout)


FAST_LOOPS = ["_rnn_step", "_rnn_step_back", "_lstm_step", "_lstm_step_back", "_softmax_loss", "_sum_by_word"]


def parts(cell: str, reference: bool, captions: str, iterations: int = 20) -> None:
    """Table 1, in this process (started unpinned by main)."""
    import numpy

    import core.fast as F
    import core.layers as L
    import core.optim as O
    from core.solver import keep_freed_memory

    keep_freed_memory()
    spent = collections.defaultdict(float)

    def timed(name, f):
        def call(*args, **kwargs):
            start = time.perf_counter()
            try:
                return f(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - start
        return call

    solver = solver_for(cell, demo_captions() if captions == "demo" else None)
    if reference:
        F.takes = lambda params: False                   # the model falls back to core.layers
        for name in LAYERS:
            setattr(L, name, timed(name, getattr(L, name)))
        solver._rule = timed("adam (core.optim)", O.adam)
        solver._finite = timed("finite check (numpy)", solver._finite)
    else:
        if F.numba is None:
            raise SystemExit("numba is not installed: the step runs core.layers (use --reference)")

        class TimedNumpy:                                # numpy, with the per-step products timed
            matmul = staticmethod(timed("recurrent GEMMs, per step", numpy.matmul))

            def __getattr__(self, name):
                return getattr(numpy, name)

        # fast.loss with globals of its own: timed loops and numpy; the module's stay as they
        # are, for numba reads them whenever it compiles a loop
        names = {**vars(F), "np": TimedNumpy(),
                 **{name: timed(f"{name} (loop)", getattr(F, name)) for name in FAST_LOOPS}}
        F.loss = types.FunctionType(F.loss.__code__, names, "loss", F.loss.__defaults__)
        solver._rule = timed("adam (core.fast)", F.adam)
        solver._finite = timed("finite check (core.fast)", solver._finite)
    for _ in range(3):
        solver._step()
    spent.clear()
    start = time.perf_counter()
    for _ in range(iterations):
        solver._step()
    total = (time.perf_counter() - start) / iterations
    print(blas_kernel())
    print(f"{cell} iteration (forward, backward, Adam), {'core.layers' if reference else 'core.fast'}, "
          f"{captions} captions: {1e3 * total:.1f} ms")
    for name, seconds in sorted(spent.items(), key=lambda kv: -kv[1]):
        print(f"  {name:38s} {1e3 * seconds / iterations:6.2f} ms")
    rest = "the rest" if reference else "the rest (whole-sequence GEMMs, glue)"
    print(f"  {rest:38s} {1e3 * (total - sum(spent.values()) / iterations):6.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cell", choices=["lstm", "rnn"], default="lstm")
    parser.add_argument("--captions", choices=["random", "demo"], default="random",
                        help="random words at every position, or the demo's padded captions")
    parser.add_argument("--reference", action="store_true",
                        help="time the readable path (core.layers, core.optim.adam), not core.fast")
    parser.add_argument("--torch-python", help="a Python interpreter with torch installed")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return parts(args.cell, args.reference, args.captions)
    print(describe_machine())
    print(f"shape: N={N} T={T} D={D} W={W} H={H} V={V}, float32; {' and '.join(PINS)} unset\n")
    subprocess.run([sys.executable, "-m", "benchmarks.step_parts", "--child", "--cell", args.cell,
                    "--captions", args.captions, *(["--reference"] if args.reference else [])],
                   env=unpinned_env(), cwd=Path(__file__).resolve().parents[1], check=True)
    ours = gemm_times(sys.executable, "numpy")
    theirs = gemm_times(args.torch_python, "torch") if args.torch_python else None
    print("\nGEMM shapes, ms per call (best of 5). " + ours["info"] + (f"; {theirs['info']}" if theirs else ""))
    ours = ours["times"]
    theirs = theirs["times"] if theirs else None
    for i, (name, (m, k, n)) in enumerate(GEMMS):
        line = f"  {name:24s} {m:5d}x{k:<5d} @ {k:5d}x{n:<5d} numpy {1e3 * ours[i]:7.3f}"
        if theirs:
            line += f"  torch {1e3 * theirs[i]:7.3f}  ratio {ours[i] / theirs[i]:.2f}x"
        print(line)


if __name__ == "__main__":
    main()
