"""PyTorch's time for the same training iteration, for benchmarks/train_step.py to compare with.

Run by train_step.py in a separate interpreter that has torch (never a project
dependency): `--torch-python /path/to/venv/bin/python`. Prints one JSON line with the
median milliseconds per iteration for each cell type.
"""
import json
import statistics
import sys
import time

import torch
from torch import nn


def time_iteration(cell, N, T, D, W, H, V, iters, warmup):
    torch.manual_seed(0)
    proj, embed, out = nn.Linear(D, H), nn.Embedding(V, W), nn.Linear(H, V)
    rnn = nn.RNN(W, H, batch_first=True) if cell == "rnn" else nn.LSTM(W, H, batch_first=True)
    params = [*proj.parameters(), *embed.parameters(), *rnn.parameters(), *out.parameters()]
    opt = torch.optim.Adam(params, lr=5e-3)
    features = torch.randn(N, D)
    captions = torch.randint(3, V, (N, T + 1))
    times = []
    for i in range(warmup + iters):
        start = time.perf_counter()
        h0 = proj(features).unsqueeze(0)
        state = h0 if cell == "rnn" else (h0, torch.zeros_like(h0))
        hs, _ = rnn(embed(captions[:, :-1]), state)
        scores = out(hs)
        loss = nn.functional.cross_entropy(scores.reshape(-1, V), captions[:, 1:].reshape(-1),
                                           ignore_index=0, reduction="sum") / N
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


if __name__ == "__main__":
    N, T, D, W, H, V, iters, warmup = (int(a) for a in sys.argv[1:9])
    result = {"torch": torch.__version__, "threads": torch.get_num_threads()}
    for cell in ("rnn", "lstm"):
        result[cell] = time_iteration(cell, N, T, D, W, H, V, iters, warmup)
    print(json.dumps(result))
