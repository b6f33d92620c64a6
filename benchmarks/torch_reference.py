"""PyTorch's time for the same training iteration, for benchmarks/train_step.py to compare with.

Run by train_step.py in a separate interpreter that has torch (never a project
dependency). It builds an `nn.RNN` and an `nn.LSTM` captioner of the given shape once,
then answers requests on stdin, one per line, `<cell> <iterations> <captions>`, with a
JSON list of the seconds each iteration (forward, backward, Adam) took; `quit` ends it.
Taking turns with numpy this way keeps both measured under the same machine load.

<captions> is `random` (random words at every position, as before), `padded` (a minibatch
drawn each iteration from the captions given as JSON in the 8th argument, <NULL>-padded,
every position through the recurrent layer, the padding left out of the loss: a PyTorch
port of the notebook) or `packed` (the same minibatches through `pack_padded_sequence`,
so that the recurrent layer stops each caption after its last word and the vocabulary
layer and the loss see only the positions it ran, as PyTorch users can).
"""
import json
import sys
import time

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence


class Captioner:
    def __init__(self, cell, N, T, D, W, H, V, given):
        torch.manual_seed(0)
        self.cell, self.N, self.T, self.V, self.given = cell, N, T, V, given
        self.proj, self.embed, self.out = nn.Linear(D, H), nn.Embedding(V, W), nn.Linear(H, V)
        self.rnn = nn.RNN(W, H, batch_first=True) if cell == "rnn" else nn.LSTM(W, H, batch_first=True)
        params = [p for m in (self.proj, self.embed, self.rnn, self.out) for p in m.parameters()]
        self.opt = torch.optim.Adam(params, lr=5e-3)
        self.features = torch.randn(N, D)
        self.captions = torch.randint(3, V, (N, T + 1))

    def iteration(self, kind="random"):
        captions = self.captions
        if kind != "random":                       # a minibatch, drawn with replacement as the solver does
            captions = self.given[torch.randint(len(self.given), (self.N,))]
        h0 = self.proj(self.features).unsqueeze(0)
        state = h0 if self.cell == "rnn" else (h0, torch.zeros_like(h0))
        inputs = self.embed(captions[:, :-1])
        if kind == "packed":                       # each caption up to its last word (<NULL> is 0)
            counts = captions[:, 1:] != 0
            lengths = torch.where(counts.any(1), self.T - counts.flip(1).int().argmax(1), 1)
            packed, _ = self.rnn(pack_padded_sequence(inputs, lengths, batch_first=True, enforce_sorted=False),
                                 state)
            targets = pack_padded_sequence(captions[:, 1:], lengths, batch_first=True, enforce_sorted=False)
            scores, targets = self.out(packed.data), targets.data
        else:
            scores, targets = self.out(self.rnn(inputs, state)[0]).reshape(-1, self.V), captions[:, 1:].reshape(-1)
        loss = nn.functional.cross_entropy(scores, targets, ignore_index=0, reduction="sum") / self.N
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()


def main():
    N, T, D, W, H, V = (int(a) for a in sys.argv[1:7])
    given = torch.tensor(json.loads(sys.argv[7]) if len(sys.argv) > 7 else [[1] * (T + 1)])
    models = {cell: Captioner(cell, N, T, D, W, H, V, given) for cell in ("rnn", "lstm")}
    for model in models.values():
        for kind in ("random", "padded", "packed"):
            for _ in range(3):
                model.iteration(kind)
    kernel = (f"BLAS {'MKL' if torch.backends.mkl.is_available() else 'not MKL'}, "
              f"CPU capability {torch.backends.cpu.get_cpu_capability()}")
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "kernel": kernel}), flush=True)
    for line in sys.stdin:
        if line.strip() == "quit":
            break
        cell, n, kind = line.split()
        times = []
        for _ in range(int(n)):
            start = time.perf_counter()
            models[cell].iteration(kind)
            times.append(time.perf_counter() - start)
        print(json.dumps(times), flush=True)


if __name__ == "__main__":
    main()
