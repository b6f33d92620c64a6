"""Words or characters? The notebook's closing question, measured on a pair of models.

`measure(model, data, words)` gives one model's side of the answer: its parameters per
layer, the timesteps a caption takes, the time an iteration and a caption take, the memory
of a minibatch's activations, its loss per caption, BLEU-1..4 on val, the share of its
sampled words that are not words of the vocabulary (invented or misspelt), and how much
of a caption's last-word gradient reaches its first step. Run it on a word model (on the
loader's dict) and on a character model of the same cell and size (on `characters(data)`)
and the two `Measured` side by side are the answer. The app's Compare tab and
`benchmarks/words_or_characters.py` both print this; nothing here draws anything.

Dimension letters: N captions, T timesteps, D feature, W word vector, H hidden, V vocabulary.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .analysis import GradientReach
from .data.characters import tokens_kind
from .decoding import teacher_forced_trace
from .evaluate import CaptionIndex, Strategy, caption_words, check_compatible, sample_images
from .metrics import corpus_bleu

LAYERS = ("embedding", "image projection", "recurrent", "output")   # parameter groups, in model order
BATCH = 100              # captions per minibatch for the timing and memory figures


@dataclass(frozen=True)
class Measured:
    """One model's answer to "words or characters?" (see the module)."""

    tokens: str                     # "words" or "characters"
    cell_type: str
    hidden_dim: int                 # H
    wordvec_dim: int                # W
    vocab_size: int                 # V
    params: dict                    # {layer: parameter count} for LAYERS, and "total"
    steps_mean: float               # timesteps per val caption (<END> included)
    steps_max: int
    seconds_per_iteration: float    # forward and backward on a minibatch of BATCH captions
    seconds_per_caption: float      # greedy decoding, per image
    activation_bytes: int           # what a minibatch of BATCH captions keeps for its backward pass
    loss_per_caption: float         # −log p(caption), mean over val captions: the same text either way
    bleu: np.ndarray                # (4,) corpus BLEU-1..4 of greedy captions on val images
    invented_share: float           # sampled words that are not words of the vocabulary
    invented: tuple[str, ...]       # a few of them
    reach: float                    # median ||dL_T/dx_0|| / ||dL_T/dx_T-1|| over val captions


def parameter_counts(model) -> dict:
    """{layer: parameters} for `LAYERS` and "total": the embedding is V x W, the output H x V + V."""
    p = model.params
    counts = {"embedding": p["W_embed"].size, "image projection": p["W_proj"].size + p["b_proj"].size,
              "recurrent": p["Wx"].size + p["Wh"].size + p["b"].size,
              "output": p["W_vocab"].size + p["b_vocab"].size}
    counts["total"] = sum(counts.values())
    return {k: int(v) for k, v in counts.items()}


def caption_steps(captions) -> np.ndarray:
    """Timesteps per caption (N,): the tokens a model predicts, <END> included."""
    captions = np.asarray(captions)
    return (captions[:, 1:] != 0).sum(axis=1)


def activation_bytes(model, steps: float, batch: int = BATCH) -> int:
    """What the forward pass keeps for backward on `batch` captions of `steps` timesteps: the
    word vectors (W), the states (H; an LSTM also its cell, tanh of it and four gates: 7H) and
    the scores and their softmax (2V) at every step."""
    H, W, V = model.hidden_dim, model.wordvec_dim, model.vocab_size
    per_step = W + (7 * H if model.cell_type == "lstm" else H) + 2 * V
    return int(round(batch * steps * per_step * model.dtype.itemsize))


def invented_words(sampled: list[list[str]], vocabulary) -> tuple[float, tuple[str, ...]]:
    """The share of sampled words not in `vocabulary`, and up to eight of them (most common first)."""
    known = set(vocabulary)
    words = [w for caption in sampled for w in caption]
    if not words:
        return 0.0, ()
    unknown = [w for w in words if w not in known]
    counts: dict[str, int] = {}
    for w in unknown:
        counts[w] = counts.get(w, 0) + 1
    return len(unknown) / len(words), tuple(sorted(counts, key=lambda w: (-counts[w], w))[:8])


def _rows(features, idx) -> np.ndarray:
    """features[idx] (len(idx), D), reading each row once and in order: fc7 features stay on
    disk (`LazyFeatures`), where a read must be sorted and without repeats."""
    unique, back = np.unique(np.asarray(idx, dtype=np.int64), return_inverse=True)
    return np.asarray(features[unique])[back]


def measure(model, data, words, *, n: int = 100, seed: int = 0, gradient_captions: int = 20) -> Measured:
    """One model's side of the answer, on `data` (the dict its tokens fit); `words` is the word
    vocabulary (`idx_to_word` of the word dict) against which sampled words count as invented.
    Scores n val images; times a minibatch of BATCH val captions (the best of five: the least
    disturbed by a shared machine)."""
    rng = np.random.default_rng(seed)
    val = np.asarray(data["val_captions"])
    steps = caption_steps(val)
    rows = rng.choice(len(val), size=min(BATCH, len(val)), replace=False)
    image_of = np.asarray(data["val_image_idxs"])
    features = _rows(data["val_features"], image_of[rows])
    times = []
    for _ in range(5):
        started = time.perf_counter()
        loss, _grads = model.loss(features, val[rows])
        times.append(time.perf_counter() - started)

    check_compatible(model, data)
    index = CaptionIndex(data, "val")
    images = sample_images(index, n, seed)
    started = time.perf_counter()
    sampled = Strategy("greedy").decode(model, _rows(data["val_features"], images)).captions
    per_caption = (time.perf_counter() - started) / len(images)
    hypotheses = [caption_words(c, data["idx_to_word"]) for c in sampled]
    bleu = corpus_bleu([index.references(int(i)) for i in images], hypotheses)
    share, invented = invented_words(hypotheses, [w for w in words if w != "<UNK>"])

    reaches = []
    for row, feature in zip(rows[:gradient_captions], features):
        trace = teacher_forced_trace(model, feature, val[row])
        reaches.append(GradientReach.of(trace, model.cell_type).reach)
    return Measured(
        tokens=tokens_kind(model.idx_to_word), cell_type=model.cell_type, hidden_dim=model.hidden_dim,
        wordvec_dim=model.wordvec_dim, vocab_size=model.vocab_size, params=parameter_counts(model),
        steps_mean=float(steps.mean()), steps_max=int(steps.max()), seconds_per_iteration=min(times),
        seconds_per_caption=per_caption, activation_bytes=activation_bytes(model, float(steps.mean())),
        loss_per_caption=float(loss), bleu=bleu, invented_share=share, invented=invented,
        reach=float(np.median(reaches)))
