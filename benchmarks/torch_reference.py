"""PyTorch's time for the same training iteration, for benchmarks/train_step.py to compare with.

Run by train_step.py in a separate interpreter that has torch (never a project
dependency). It builds an `nn.RNN` and an `nn.LSTM` captioner of the given shape once,
then answers requests on stdin, one per line, `<cell> <iterations>`, with a JSON list of
the seconds each iteration (forward, backward, Adam) took; `quit` ends it. Taking turns
with numpy this way keeps both measured under the same machine load.
"""
import json
import sys
import time

import torch
from torch import nn


class Captioner:
    def __init__(self, cell, N, T, D, W, H, V):
        torch.manual_seed(0)
        self.cell, self.N, self.V = cell, N, V
        self.proj, self.embed, self.out = nn.Linear(D, H), nn.Embedding(V, W), nn.Linear(H, V)
        self.rnn = nn.RNN(W, H, batch_first=True) if cell == "rnn" else nn.LSTM(W, H, batch_first=True)
        params = [p for m in (self.proj, self.embed, self.rnn, self.out) for p in m.parameters()]
        self.opt = torch.optim.Adam(params, lr=5e-3)
        self.features = torch.randn(N, D)
        self.captions = torch.randint(3, V, (N, T + 1))

    def iteration(self):
        h0 = self.proj(self.features).unsqueeze(0)
        state = h0 if self.cell == "rnn" else (h0, torch.zeros_like(h0))
        hs, _ = self.rnn(self.embed(self.captions[:, :-1]), state)
        scores = self.out(hs)
        loss = nn.functional.cross_entropy(scores.reshape(-1, self.V), self.captions[:, 1:].reshape(-1),
                                           ignore_index=0, reduction="sum") / self.N
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()


def main():
    N, T, D, W, H, V = (int(a) for a in sys.argv[1:7])
    models = {cell: Captioner(cell, N, T, D, W, H, V) for cell in ("rnn", "lstm")}
    for model in models.values():
        for _ in range(3):
            model.iteration()
    kernel = (f"BLAS {'MKL' if torch.backends.mkl.is_available() else 'not MKL'}, "
              f"CPU capability {torch.backends.cpu.get_cpu_capability()}")
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "kernel": kernel}), flush=True)
    for line in sys.stdin:
        if line.strip() == "quit":
            break
        cell, n = line.split()
        times = []
        for _ in range(int(n)):
            start = time.perf_counter()
            models[cell].iteration()
            times.append(time.perf_counter() - start)
        print(json.dumps(times), flush=True)


if __name__ == "__main__":
    main()
