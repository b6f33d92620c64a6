"""Does a model trained on the demo dataset look at the image? The recipe against a blind copy.

Trains the documented recipe on the whole demo train split twice: once as is, and once
with the train features shuffled across images (each caption is paired with some other
image's features, so the model can learn only what captions look like in general).
Both are scored by corpus BLEU of their greedy captions for every val image against
its five reference captions. A gap between the two is what the image contributes.

    python -m benchmarks.demo_recipe                 # the demo dataset under the data root
    python -m benchmarks.demo_recipe --data DIR      # any folder in the COCO layout

Prints the machine (CPU, cores, versions), the recipe, and per run the wall time of
training, the final training loss, val BLEU-1..4 and a few greedy val captions.
"""
from __future__ import annotations

import argparse
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from benchmarks._machine import describe_machine
from core import CaptioningRNN, CaptioningSolver, corpus_bleu, load_coco_data
from core.data.demo import ensure_demo_dataset
from core.evaluate import caption_words


@dataclass(frozen=True)
class Recipe:
    """How the demo model is trained (every field is a CaptioningRNN or solver option)."""

    cell_type: str = "rnn"           # vanilla RNN: about 3x faster than the LSTM per step
    hidden_dim: int = 256            # H; 512 scores a little higher (BLEU-4 ~0.37) at 2-3x the time
    wordvec_dim: int = 128           # W
    update_rule: str = "adam"
    learning_rate: float = 5e-3
    lr_decay: float = 0.9            # per epoch
    batch_size: int = 100
    num_epochs: int = 10             # 100 iterations an epoch on 10,000 captions; 20 overfits
    seed: int = 0                    # weights and minibatch order (and the feature shuffle)


RECIPE = Recipe()


# ---------------------------------------------------------------------------

def train(data: dict, recipe: Recipe,
          shuffle_features: bool = False) -> tuple[CaptioningRNN, CaptioningSolver, float]:
    """Train the recipe on data's train split; with shuffle_features, on features permuted across images."""
    if shuffle_features:
        order = np.random.default_rng([recipe.seed, 1]).permutation(len(data["train_features"]))
        data = dict(data, train_features=data["train_features"][order])
    rng = np.random.default_rng(recipe.seed)              # the same weights and minibatches either way
    model = CaptioningRNN(data["word_to_idx"], input_dim=data["train_features"].shape[1],
                          wordvec_dim=recipe.wordvec_dim, hidden_dim=recipe.hidden_dim,
                          cell_type=recipe.cell_type, rng=rng)
    solver = CaptioningSolver(model, data, update_rule=recipe.update_rule,
                              optim_config={"learning_rate": recipe.learning_rate},
                              lr_decay=recipe.lr_decay, batch_size=recipe.batch_size,
                              num_epochs=recipe.num_epochs, verbose=False, rng=rng)
    started = time.perf_counter()
    solver.train()
    return model, solver, time.perf_counter() - started


def greedy_captions(model: CaptioningRNN, data: dict, split: str = "val") -> tuple[list, list]:
    """(references, hypotheses) per image of `split`: all its captions and the greedy one, as word lists."""
    itw = data["idx_to_word"]
    references: list[list[list[str]]] = [[] for _ in range(len(data[f"{split}_features"]))]
    for caption, image in zip(data[f"{split}_captions"], data[f"{split}_image_idxs"]):
        references[image].append(caption_words(caption, itw))
    sampled = model.sample(np.asarray(data[f"{split}_features"]), max_length=30)
    return references, [caption_words(row, itw) for row in sampled]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="dataset folder (default: the demo dataset)")
    parser.add_argument("--examples", type=int, default=3, help="val captions to print per run")
    for field, value in asdict(RECIPE).items():
        parser.add_argument(f"--{field.replace('_', '-')}", type=type(value), default=value)
    args = parser.parse_args(argv)
    recipe = replace(RECIPE, **{f: getattr(args, f) for f in asdict(RECIPE)})
    data = load_coco_data(args.data if args.data else ensure_demo_dataset())

    print(describe_machine())
    print(f"recipe: {recipe}")
    print(f"data: {data['train_captions'].shape[0]} train captions, {len(data['val_features'])} val images")
    for label, shuffle in (("with the image", False), ("features shuffled", True)):
        model, solver, seconds = train(data, recipe, shuffle_features=shuffle)
        references, hypotheses = greedy_captions(model, data)
        bleu = corpus_bleu(references, hypotheses, max_n=4)
        print(f"{label:>18}: {seconds:5.1f} s, final loss {solver.loss_history[-1]:.3f}, val BLEU-1..4 "
              + " ".join(f"{b:.3f}" for b in bleu), flush=True)
        for i in range(args.examples):
            hypothesis, reference = " ".join(hypotheses[i]), " ".join(references[i][0])
            print(f"{'':>20}val {i}: {hypothesis!r}  (one reference: {reference!r})")


if __name__ == "__main__":
    main()
