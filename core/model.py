"""The CS231n captioning model: an image feature sets h0, a vanilla RNN or LSTM emits words.

`CaptioningRNN` keeps the notebook's constructor, parameter names, initialisation order
and `loss`/`sample` semantics, so a notebook cell runs against it unchanged. It only
composes the functions of `core.layers`; decoding strategies live in `core.decoding`
and are built on the one `step` function defined here.

Dimension letters: N batch, T time, D image feature, W word vector, H hidden, V vocab.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import layers as L
from .arguments import positive_int
from .decoding import greedy_decode
from .text import Message, message

CELL_TYPES = ("rnn", "lstm")


def cell_name(cell_type: str, short: bool = False) -> Message:
    """The cell's name for a person: "vanilla RNN" or "LSTM" ("RNN" with `short`, as in a
    run's label); the app shows it translated."""
    if cell_type not in CELL_TYPES:
        raise ValueError(f'Invalid cell_type "{cell_type}": use "rnn" or "lstm"')
    if cell_type == "lstm":
        return message("LSTM")
    return message("RNN") if short else message("vanilla RNN")
PARAM_NAMES = ("W_embed", "W_proj", "b_proj", "Wx", "Wh", "b", "W_vocab", "b_vocab")


def check_dims(input_dim, wordvec_dim, hidden_dim) -> tuple[int, int, int]:
    """The three sizes as ints; a ValueError naming the first that is not a positive integer."""
    return (positive_int("input_dim", input_dim), positive_int("wordvec_dim", wordvec_dim),
            positive_int("hidden_dim", hidden_dim))


def param_shapes(V, D, W, H, cell_type) -> dict:
    """The shape of every parameter for vocabulary V, feature D, word vector W, hidden H."""
    mul = 4 if cell_type == "lstm" else 1
    return {"W_embed": (V, W), "W_proj": (D, H), "b_proj": (H,), "Wx": (W, mul * H),
            "Wh": (H, mul * H), "b": (mul * H,), "W_vocab": (H, V), "b_vocab": (V,)}


@dataclass(frozen=True)
class StepOutput:
    """What one decoding step computes for a batch of B sequences."""

    h: np.ndarray                  # (B, H) hidden state after the step
    c: np.ndarray | None           # (B, H) LSTM cell state, None for the vanilla RNN
    gates: np.ndarray | None       # (B, 4H) LSTM activations i, f, o, g; None for the RNN
    scores: np.ndarray             # (B, V) unnormalised next-word scores
    cache: tuple = ()              # the step layer's cache, for its backward pass


class CaptioningRNN:
    """Maps an image feature to a caption with a vanilla RNN or an LSTM.

    Arguments are the notebook's: word_to_idx (dict word -> id, with `<NULL>`; `<START>`
    and `<END>` are needed for sampling), input_dim D, wordvec_dim W, hidden_dim H,
    cell_type 'rnn' or 'lstm', dtype (float32 to train, float64 for gradient checks).
    Weights are drawn from `rng` when given, else from numpy's global random state in
    the notebook's order, so `np.random.seed(231)` reproduces a notebook run.
    """

    def __init__(self, word_to_idx, input_dim=512, wordvec_dim=128, hidden_dim=128,
                 cell_type="rnn", dtype=np.float32, rng=None):
        if cell_type not in CELL_TYPES:
            raise ValueError(f'Invalid cell_type "{cell_type}": use "rnn" or "lstm"')
        dims = check_dims(input_dim, wordvec_dim, hidden_dim)
        if "<NULL>" not in word_to_idx:
            raise ValueError("word_to_idx has no <NULL> token")
        self.cell_type = cell_type
        self.dtype = np.dtype(dtype)
        self.word_to_idx = word_to_idx
        self.idx_to_word = {i: w for w, i in word_to_idx.items()}
        self.input_dim, self.wordvec_dim, self.hidden_dim = dims
        self._null = word_to_idx["<NULL>"]
        self._start = word_to_idx.get("<START>", None)
        self._end = word_to_idx.get("<END>", None)

        randn = np.random.randn if rng is None else (lambda *shape: rng.standard_normal(shape))
        V, D, W, H = len(word_to_idx), self.input_dim, self.wordvec_dim, self.hidden_dim
        shape = param_shapes(V, D, W, H, cell_type)
        self.params = {}                                  # drawn in the notebook's order
        self.params["W_embed"] = randn(*shape["W_embed"]) / 100
        self.params["W_proj"] = randn(*shape["W_proj"]) / np.sqrt(D)
        self.params["b_proj"] = np.zeros(shape["b_proj"])
        self.params["Wx"] = randn(*shape["Wx"]) / np.sqrt(W)
        self.params["Wh"] = randn(*shape["Wh"]) / np.sqrt(H)
        self.params["b"] = np.zeros(shape["b"])
        self.params["W_vocab"] = randn(*shape["W_vocab"]) / np.sqrt(H)
        self.params["b_vocab"] = np.zeros(shape["b_vocab"])
        for k, v in self.params.items():
            self.params[k] = v.astype(self.dtype)

    @property
    def config(self) -> dict:
        """The constructor arguments (but the vocabulary) as plain values."""
        return {"cell_type": self.cell_type, "input_dim": self.input_dim,
                "wordvec_dim": self.wordvec_dim, "hidden_dim": self.hidden_dim,
                "dtype": self.dtype.name}

    @property
    def vocab_size(self) -> int:
        return len(self.word_to_idx)

    @property
    def null_id(self) -> int:
        """The id of <NULL>, the padding after a caption's <END>."""
        return self._null

    @property
    def start_id(self) -> int | None:
        """The id of <START> (None when the vocabulary has none)."""
        return self._start

    @property
    def end_id(self) -> int | None:
        """The id of <END> (None when the vocabulary has none)."""
        return self._end

    def _features(self, features):
        features = np.asarray(features, dtype=self.dtype)
        if features.ndim != 2 or features.shape[1] != self.input_dim:
            raise ValueError(f"features must have shape (N, {self.input_dim}), got {features.shape}")
        return features

    # --- training ----------------------------------------------------------------

    def loss(self, features, captions):
        """The training loss and gradients for a minibatch.

        Inputs: features (N, D), captions (N, T) integer ids starting with <START>.
        Returns loss (float) and grads, a dict keyed like self.params.
        A float32 model computes them with `core.fast.loss` when numba is installed (and
        no one has set a weight to another dtype): the same numbers to float32 rounding,
        faster; anything else with `layers_loss`.
        """
        if self.dtype == np.float32:
            from . import fast                    # imports numba: only a model that trains pays
            if fast.takes(self.params):
                return fast.loss(self.params, self._features(features), captions, self.cell_type, self._null)
        return self.layers_loss(features, captions)

    def layers_loss(self, features, captions):
        """`loss` composed from the layer functions of `core.layers`: the notebook's
        computation, which the fast path is tested against."""
        features = self._features(features)
        captions_in = captions[:, :-1]
        captions_out = captions[:, 1:]
        mask = captions_out != self._null
        N, T = captions_out.shape
        p = self.params

        h0, cache_proj = L.affine_forward(features, p["W_proj"], p["b_proj"])      # (N, H)
        x, cache_embed = L.word_embedding_forward(captions_in, p["W_embed"])       # (N, T, W)
        if self.cell_type == "rnn":
            h, cache_rnn = L.rnn_forward(x, h0, p["Wx"], p["Wh"], p["b"])          # (N, T, H)
        else:
            h, cache_rnn = L.lstm_forward(x, h0, p["Wx"], p["Wh"], p["b"])
        # A <NULL> target adds nothing to the loss or the gradients, so only the K positions
        # that count reach the vocabulary layer (about 70% of them on COCO), as one sequence
        # whose loss is divided by N here rather than by its batch of 1
        h_kept = h[mask][None]                                                     # (1, K, H)
        scores, cache_scores = L.temporal_affine_forward(h_kept, p["W_vocab"], p["b_vocab"])  # (1, K, V)
        loss, dscores = L.temporal_softmax_loss(scores, captions_out[mask][None], np.ones(h_kept.shape[:2], bool))
        loss /= N
        dscores *= np.asarray(1 / N, dtype=dscores.dtype)

        grads = {}
        dh_kept, grads["W_vocab"], grads["b_vocab"] = L.temporal_affine_backward(dscores, cache_scores)
        if dh_kept.shape[1] == N * T:                                              # every position counts
            dh = dh_kept.reshape(N, T, -1)
        else:
            dh = np.zeros(h.shape, dtype=dh_kept.dtype)                            # (N, T, H)
            dh[mask] = dh_kept[0]
        backward = L.rnn_backward if self.cell_type == "rnn" else L.lstm_backward
        dx, dh0, grads["Wx"], grads["Wh"], grads["b"] = backward(dh, cache_rnn)
        grads["W_embed"] = L.word_embedding_backward(dx, cache_embed)
        _, grads["W_proj"], grads["b_proj"] = L.affine_backward(dh0, cache_proj)
        return loss, grads

    # --- decoding ----------------------------------------------------------------

    def init_state(self, features):
        """The decoder's initial state for features (B, D): h0 (B, H) and c0 (zeros or None)."""
        features = self._features(features)
        h0 = features @ self.params["W_proj"] + self.params["b_proj"]
        c0 = np.zeros_like(h0) if self.cell_type == "lstm" else None
        return h0, c0

    def step(self, words, h, c=None) -> StepOutput:
        """Advance B sequences one timestep: feed `words` (B,) ids from state (h, c)."""
        p = self.params
        x = p["W_embed"][np.asarray(words)]                                   # (B, W)
        if self.cell_type == "rnn":
            h, cache = L.rnn_step_forward(x, h, p["Wx"], p["Wh"], p["b"])
            c = gates = None
        else:
            h, c, cache = L.lstm_step_forward(x, h, c, p["Wx"], p["Wh"], p["b"])
            gates = cache.gates
        scores = h @ p["W_vocab"] + p["b_vocab"]                               # (B, V)
        return StepOutput(h=h, c=c, gates=gates, scores=scores, cache=cache)

    def sample(self, features, max_length=30):
        """Greedy captions for features (N, D), starting from <START>.

        Returns an (N, max_length) int array: column 0 holds the first generated word,
        and every position after a row's <END> holds <NULL>.
        """
        return greedy_decode(self, features, max_length=max_length).captions
