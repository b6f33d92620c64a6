"""Words or characters? The notebook's closing question, measured on the demo data.

Trains Compare's pair recipe (`explorer.runs.settings.PAIR_RECIPE`: the notebook's recipe on
5,000 captions, H=128, 400 iterations) four times, a word model and a character model of
each cell, the way a run of the Train page does (`notebook_solver`), and prints
`core.tokens.measure` of each side by side: parameters per layer, timesteps per caption,
time per iteration and per caption, activation memory, loss per caption, val BLEU-1..4, the
share of sampled words not in the vocabulary (with examples), and how much of the last
word's gradient reaches the first step.

    python -m benchmarks.words_or_characters                 # the demo dataset, both cells
    python -m benchmarks.words_or_characters --cells rnn     # the vanilla RNN only
    python -m benchmarks.words_or_characters --data DIR      # any folder in the COCO layout

Prints the machine first. One process, one model at a time, one BLAS thread (as the app's
run workers train: on a shared machine more threads only fight); it takes minutes, the
character LSTM most of them.
"""
from __future__ import annotations

import argparse
import time

from threadpoolctl import threadpool_limits

from benchmarks._machine import describe_machine
from core import load_coco_data
from core.data.characters import TOKENS
from core.data.demo import ensure_demo_dataset
from core.tokens import BATCH, LAYERS, measure
from explorer.runs.settings import PAIR_RECIPE, notebook_solver, pair_config


def rows_of(measured: dict) -> list[tuple[str, list[str]]]:
    """The comparison as (label, [value per model]) rows, models in `measured`'s order."""
    ms = list(measured.values())

    def row(label, show):
        return label, [show(m) for m in ms]

    return [
        row("vocabulary V", lambda m: f"{m.vocab_size:,}"),
        *(row(f"{layer} parameters", lambda m, layer=layer: f"{m.params[layer]:,}") for layer in LAYERS),
        row("total parameters", lambda m: f"{m.params['total']:,}"),
        row("timesteps per caption, mean / max", lambda m: f"{m.steps_mean:.1f} / {m.steps_max}"),
        row(f"ms per iteration ({BATCH} captions)", lambda m: f"{m.seconds_per_iteration * 1000:,.0f}"),
        row("ms per caption (greedy)", lambda m: f"{m.seconds_per_caption * 1000:.2f}"),
        row(f"activation MB ({BATCH} captions)", lambda m: f"{m.activation_bytes / 1e6:.1f}"),
        row("val loss per caption", lambda m: f"{m.loss_per_caption:.1f}"),
        *(row(f"val BLEU-{n + 1}", lambda m, n=n: f"{m.bleu[n]:.3f}") for n in range(4)),
        row("sampled words not in vocabulary", lambda m: f"{m.invented_share:.1%}"),
        row("gradient reaching step 0 (median)", lambda m: f"x{m.reach:.2g}"),
    ]


def table(measured: dict) -> str:
    rows = rows_of(measured)
    heads = list(measured)
    width = max(len(label) for label, _ in rows)
    cols = [max(len(h), *(len(values[i]) for _, values in rows)) for i, h in enumerate(heads)]
    lines = ["  ".join([" " * width, *(h.rjust(c) for h, c in zip(heads, cols))])]
    for label, values in rows:
        lines.append("  ".join([label.ljust(width), *(v.rjust(c) for v, c in zip(values, cols))]))
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="a COCO-layout folder (default: the demo dataset)")
    parser.add_argument("--cells", nargs="+", default=["rnn", "lstm"], choices=["rnn", "lstm"])
    parser.add_argument("--images", type=int, default=100, help="val images scored per model")
    args = parser.parse_args(argv)
    base = args.data or ensure_demo_dataset()
    print(describe_machine())
    print(f"data: {base}")
    print(f"recipe: {PAIR_RECIPE.describe()}, W={PAIR_RECIPE.wordvec_dim}, {PAIR_RECIPE.max_train:,} captions, "
          f"batch {PAIR_RECIPE.batch_size}, {PAIR_RECIPE.num_epochs} epochs = {PAIR_RECIPE.num_iterations} "
          f"iterations, seed {PAIR_RECIPE.seed}")
    words = load_coco_data(base)["idx_to_word"]
    with threadpool_limits(1, user_api="blas"):
        measured = _train_and_measure(base, args.cells, words, args.images)
    print()
    print(table(measured))
    for name, m in measured.items():
        if m.invented:
            print(f"{name} invented: {', '.join(m.invented)}")


def _train_and_measure(base, cells, words, images) -> dict:
    measured = {}
    for cell in cells:
        for tokens in TOKENS:
            config = pair_config(cell, tokens)
            solver = notebook_solver(config, base)
            started = time.perf_counter()
            solver.train()
            seconds = time.perf_counter() - started
            name = f"{cell} {tokens}"               # the solver's data: its tokens, every val caption
            measured[name] = measure(solver.model, solver.data, words, n=images)
            print(f"trained {name}: {seconds:.0f} s, final training loss {solver.loss_history[-1]:.2f}",
                  flush=True)
    return measured


if __name__ == "__main__":
    main()
