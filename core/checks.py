"""The layer lab's checks: every forward and numeric-gradient check of the CS231n RNN and
LSTM captioning notebooks, as data a page or a test can run.

For each layer there is the notebook's fixed-input forward check (`np.linspace` inputs
and the values the notebook prints, or for the loss its sanity values), the sizes and
seed of its gradient check, its equations as LaTeX, and a deliberately broken backward
pass a teacher can swap in to show what a bug looks like.

    report = run_checks("rnn_step")                        # the notebook's sizes, seed 231
    report = run_checks("lstm", {"N": 3, "T": 5, "D": 4, "H": 7}, seed=0, broken=True)
    [(row.quantity, row.value, row.passed) for row in report.rows]

Gradient checks run in float64 with `eval_numerical_gradient(_array)` and give one
relative error per input. Inputs are drawn as the notebook draws them after
`np.random.seed(seed)`, but from a private `np.random.RandomState`, so numpy's global
state is left alone. This file never imports streamlit.

Dimension letters: N batch, T time, D input, H hidden, V vocabulary, M output, W word vector.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from . import broken as B
from .arguments import is_whole
from . import layers as L
from .equations import EQUATIONS
from .gradcheck import eval_numerical_gradient, eval_numerical_gradient_array, rel_error
from .model import CaptioningRNN, cell_name, param_shapes
from .notebook import (MODEL_LOSS_TOLERANCE, NOTEBOOK_FORWARD, NOTEBOOK_MODEL_LOSS, NOTEBOOK_SEED,
                       NOTEBOOK_VOCAB, SOFTMAX_SANITY, gradient_inputs, model_gradient_inputs,
                       notebook_model_case, softmax_gradient_inputs, softmax_sanity_inputs)
from .text import message

MAX_SIZE = 100            # every user size is a whole number from 1 to this
MAX_ENTRIES = 10_000      # numbers perturbed by one numeric gradient check, at most
MAX_WORK = 100_000        # perturbed numbers x time steps per forward pass, at most
SIZE_NAMES = {"N": message("batch size"), "T": message("time steps"), "D": message("input size"),
              "W": message("word vector size"), "H": message("hidden size"),
              "M": message("output size"), "V": message("vocabulary size")}
REL_ERROR = r"\text{rel}(a, b) = \max_i \frac{|a_i - b_i|}{\max(10^{-8},\ |a_i| + |b_i|)}"
ARRAY_ERROR = r"\text{over the array}(a, b) = \frac{\lVert a - b \rVert_2}{\lVert a \rVert_2 + \lVert b \rVert_2}"
NUMERIC_GRADIENT = (r"\frac{\partial f}{\partial x_i} \approx \frac{f(x + h\,e_i) - f(x - h\,e_i)}{2h}, "
                    r"\qquad h = 10^{-5}\ (10^{-6} \text{ for the whole model})")
# what a row checks and how it measures (shown in the lab's table, so translatable)
FORWARD, GRADIENT = message("forward"), message("gradient")
RELATIVE_ERROR, DIFFERENCE, VALUE = message("relative error"), message("difference"), message("value")


class CheckError(ValueError):
    """Sizes or a seed the lab cannot run with; the message (`args[0]`, a translatable
    `core.text.Message`) says what to change."""


@dataclass(frozen=True)
class CheckRow:
    """One line of a check's table: a measured number against what it must be."""

    check: str                     # "forward" or "gradient"
    quantity: str                  # what is compared: "next_h", "dWx", "loss (N=100, ...)"
    measure: str                   # "relative error", "difference" or "value"
    value: float
    threshold: float               # the value must be below this
    low: float | None = None       # ...and above this (sanity values only)
    array_error: float | None = None   # gradients: ||a - b|| / (||a|| + ||b||) over the array

    @property
    def passed(self) -> bool:
        if self.low is not None:
            return bool(self.low < self.value < self.threshold)
        return bool(self.value < self.threshold or self.noisy)

    @property
    def noisy(self) -> bool:
        """True when only near-zero entries push the (max) relative error over the threshold.

        The notebook's relative error is a maximum over entries, and an entry whose
        gradient is almost zero can show a large one from round-off alone; the error
        over the whole array is not fooled by that, and a wrong gradient fails both.
        """
        return bool(self.value >= self.threshold and self.array_error is not None
                    and self.array_error < self.threshold)

    @property
    def expected(self) -> str:
        if self.low is not None:
            return message("{low:g} to {high:g}", low=self.low, high=self.threshold)
        return f"< {self.threshold:.0e}"


@dataclass(frozen=True)
class CheckReport:
    """Every row of one layer's checks, and how they were run."""

    layer: str
    sizes: dict[str, int]
    seed: int
    broken: bool
    rows: tuple[CheckRow, ...]

    @property
    def passed(self) -> bool:
        return all(row.passed for row in self.rows)

    @property
    def failures(self) -> list[CheckRow]:
        return [row for row in self.rows if not row.passed]


# --- the notebook's fixed-input forward checks -------------------------------------

def _fixed_forward(key: str, forward: Callable, names: tuple[str, ...]) -> Callable[[], list[CheckRow]]:
    def check() -> list[CheckRow]:
        case = NOTEBOOK_FORWARD[key]
        outs = forward(*case.inputs())
        return [CheckRow(FORWARD, name, RELATIVE_ERROR, rel_error(case.expected[name], out),
                         case.tolerance) for name, out in zip(names, outs)]
    return check


def _softmax_forward(seed: int = NOTEBOOK_SEED) -> list[CheckRow]:
    rng = np.random.RandomState(seed)
    rows = []
    for N, T, V, p, low, high in SOFTMAX_SANITY:
        loss, _ = L.temporal_softmax_loss(*softmax_sanity_inputs(N, T, V, p, rng))
        rows.append(CheckRow(FORWARD, message("loss (N={N}, T={T}, V={V}, p={p:g})", N=N, T=T, V=V,
                                              p=p), VALUE, loss, high, low))
    return rows


def _model_forward(cell: str) -> Callable[[], list[CheckRow]]:
    def check() -> list[CheckRow]:
        model, features, captions = notebook_model_case(cell)
        loss, _ = model.loss(features, captions)
        expected = NOTEBOOK_MODEL_LOSS[cell]
        return [CheckRow(FORWARD, message("loss, vs {value}", value=expected), DIFFERENCE,
                         abs(loss - expected), MODEL_LOSS_TOLERANCE)]
    return check


# --- numeric gradient checks -------------------------------------------------------

def array_error(a: np.ndarray, b: np.ndarray) -> float:
    """The relative error over a whole array: ||a - b|| / (||a|| + ||b||), 0 for two zeros."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = np.linalg.norm(a) + np.linalg.norm(b)
    return float(np.linalg.norm(a - b) / scale) if scale > 0 else 0.0


def _gradient_row(name: str, numeric: np.ndarray, analytic: np.ndarray, threshold: float) -> CheckRow:
    return CheckRow(GRADIENT, name, RELATIVE_ERROR, rel_error(numeric, analytic), threshold,
                    array_error=array_error(numeric, analytic))


def _output(forward: Callable, inputs: list, k: int, j: int) -> Callable[[np.ndarray], np.ndarray]:
    """Output j of forward as a function of input k alone (the others held fixed)."""
    def f(xk):
        args = list(inputs)
        args[k] = xk
        return forward(*args)[j]
    return f


def _layer_gradients(forward, backward, broken_pair, inputs, names, n_out, rng, threshold,
                     broken, first=0):
    """One row per input from index `first` on: backward's gradient against the numeric one.

    `forward` returns n_out arrays, then a cache. The upstream gradients are drawn from
    `rng` after the forward pass, as the notebook does; the numeric gradient of input k
    is the sum over outputs j of eval_numerical_gradient_array(output j, x_k, dout_j).
    With `broken`, the analytic gradients come from `broken_pair` instead.
    """
    outs = forward(*inputs)
    douts = [rng.randn(*o.shape) for o in outs[:n_out]]
    if broken:
        broken_forward, broken_backward = broken_pair()
        grads = broken_backward(*douts, broken_forward(*inputs)[n_out])
    else:
        grads = backward(*douts, outs[n_out])
    grads = grads if isinstance(grads, tuple) else (grads,)
    rows = []
    for k, (name, grad) in enumerate(zip(names, grads), start=first):
        numeric = sum(eval_numerical_gradient_array(_output(forward, inputs, k, j), inputs[k], douts[j])
                      for j in range(n_out))
        rows.append(_gradient_row(name, numeric, grad, threshold))
    return rows


def _layer_check(key: str, forward, backward, broken_pair, names: tuple[str, ...], n_out: int = 1,
                 first: int = 0):
    """The gradient check of layer `key`: (sizes, rng, broken, threshold) -> rows, one per input
    from index `first` on (see `_layer_gradients`), on the notebook's inputs for those sizes."""
    def check(s, rng, broken, threshold):
        inputs = gradient_inputs(key, s, rng)
        return _layer_gradients(forward, backward, broken_pair, inputs, names, n_out, rng, threshold,
                                broken, first)
    return check


def _softmax_gradients(s, rng, broken, threshold):
    x, y, mask = softmax_gradient_inputs(s, rng)
    # the bug: dx is taken as if every position counted, <NULL> padding included
    _, dx = L.temporal_softmax_loss(x, y, np.ones_like(mask) if broken else mask)
    dx_num = eval_numerical_gradient(lambda x: L.temporal_softmax_loss(x, y, mask)[0], x,
                                     verbose=False)
    return [_gradient_row("dx", dx_num, dx, threshold)]


def _model_gradients(cell: str):
    def check(s, rng, broken, threshold):
        D, W, H = s["D"], s["W"], s["H"]
        captions, features = model_gradient_inputs(s, rng)
        model = CaptioningRNN(NOTEBOOK_VOCAB, input_dim=D, wordvec_dim=W, hidden_dim=H,
                              cell_type=cell, dtype=np.float64, rng=rng)
        _, grads = model.loss(features, captions)
        if broken:   # the bug: dh0 is never passed back, so the image projection learns nothing
            grads["W_proj"], grads["b_proj"] = (np.zeros_like(grads[k]) for k in ("W_proj", "b_proj"))
        rows = []
        for name in sorted(grads):
            numeric = eval_numerical_gradient(lambda _: model.loss(features, captions)[0],
                                              model.params[name], verbose=False, h=1e-6)
            rows.append(_gradient_row(name, numeric, grads[name], threshold))
        return rows
    return check


# --- the layers ------------------------------------------------------------------------

@dataclass(frozen=True)
class Layer:
    """One entry of the lab: what it checks, how, and what its equations are."""

    key: str
    title: str                                   # "RNN step"
    functions: str                               # the notebook functions it checks
    sizes: dict[str, int]                        # the notebook's gradient-check sizes
    threshold: float                             # gradient relative errors must stay below
    equations: tuple[str, str]                   # LaTeX blocks: forward, backward
    bug: str                                     # what the broken backward gets wrong (Markdown)
    bug_equation: str                            # the wrong line, LaTeX
    forward: Callable[[], list[CheckRow]] | None # the notebook's fixed-input check, if any
    gradient: Callable                           # (sizes, rng, broken, threshold) -> rows
    entries: Callable[[dict], int]               # how many numbers the gradient check perturbs
    steps: str | None = None                     # the size letter that counts time steps
    min_sizes: dict[str, int] = field(default_factory=dict)


def _model_layer(cell: str) -> Layer:
    name = cell_name(cell, short=True)
    return Layer(
        key=f"model_{cell}", title=message("Whole model ({name})", name=name),
        functions=f"CaptioningRNN(cell_type='{cell}').loss",
        sizes={"N": 2, "T": 3, "D": 4, "W": 5, "H": 6}, threshold=1e-5,
        equations=EQUATIONS[f"model_{cell}"],
        bug=message("`dh0` is never passed back to the image projection, so `W_proj` and `b_proj` "
                    "get no gradient."),
        bug_equation=r"dh_0 := 0 \quad\Rightarrow\quad dW_{proj} = 0,\ \ db_{proj} = 0",
        forward=_model_forward(cell), gradient=_model_gradients(cell),
        entries=lambda s: sum(math.prod(shape) for shape in param_shapes(
            len(NOTEBOOK_VOCAB), s["D"], s["W"], s["H"], cell).values()),
        steps="T", min_sizes={"T": 2})


LAYERS: dict[str, Layer] = {layer.key: layer for layer in (
    Layer(key="rnn_step", title=message("RNN step"), functions="rnn_step_forward / rnn_step_backward",
          sizes={"N": 4, "D": 5, "H": 6}, threshold=1e-7, equations=EQUATIONS["rnn_step"],
          bug=message("tanh' is taken as 1 - h instead of 1 - h²."),
          bug_equation=r"dz = dh_t \odot (1 - h_t)",
          forward=_fixed_forward("rnn_step", L.rnn_step_forward, ("next_h",)),
          gradient=_layer_check("rnn_step", L.rnn_step_forward, L.rnn_step_backward, B.rnn_step,
                                ("dx", "dprev_h", "dWx", "dWh", "db")),
          entries=lambda s: s["N"] * (s["D"] + s["H"]) + s["H"] * (s["D"] + s["H"] + 1)),
    Layer(key="rnn", title=message("RNN sequence"), functions="rnn_forward / rnn_backward",
          sizes={"N": 2, "T": 10, "D": 3, "H": 5}, threshold=1e-5, equations=EQUATIONS["rnn"],
          bug=message("The gradient arriving from step t + 1 is dropped: each step sees only its own "
                      "`dh[:, t]`."),
          bug_equation=r"dh_t = dh_t^{\,\text{up}} \quad (\text{no } dz_{t+1} W_h^\top)",
          forward=_fixed_forward("rnn", L.rnn_forward, ("h",)),
          gradient=_layer_check("rnn", L.rnn_forward, L.rnn_backward, B.rnn,
                                ("dx", "dh0", "dWx", "dWh", "db")),
          entries=lambda s: s["N"] * (s["T"] * s["D"] + s["H"]) + s["H"] * (s["D"] + s["H"] + 1),
          steps="T"),
    Layer(key="lstm_step", title=message("LSTM step"), functions="lstm_step_forward / lstm_step_backward",
          sizes={"N": 4, "D": 5, "H": 6}, threshold=1e-7, equations=EQUATIONS["lstm_step"],
          bug=message("`dc` misses tanh'(c_t): the path through h_t = o · tanh(c_t) is taken as linear."),
          bug_equation=r"dc = dc_t + dh_t \odot o",
          forward=_fixed_forward("lstm_step", L.lstm_step_forward, ("next_h", "next_c")),
          gradient=_layer_check("lstm_step", L.lstm_step_forward, L.lstm_step_backward, B.lstm_step,
                                ("dx", "dprev_h", "dprev_c", "dWx", "dWh", "db"), n_out=2),
          entries=lambda s: s["N"] * (s["D"] + 2 * s["H"]) + 4 * s["H"] * (s["D"] + s["H"] + 1)),
    Layer(key="lstm", title=message("LSTM sequence"), functions="lstm_forward / lstm_backward",
          sizes={"N": 2, "T": 10, "D": 3, "H": 6}, threshold=1e-5, equations=EQUATIONS["lstm"],
          bug=message("The cell's gradient is not carried back: every step gets `dnext_c = 0` from the "
                      "next one."),
          bug_equation=r"dc_t^{\,(t+1)} := 0 \quad \text{at every step}",
          forward=_fixed_forward("lstm", L.lstm_forward, ("h",)),
          gradient=_layer_check("lstm", L.lstm_forward, L.lstm_backward, B.lstm,
                                ("dx", "dh0", "dWx", "dWh", "db")),
          entries=lambda s: s["N"] * (s["T"] * s["D"] + s["H"]) + 4 * s["H"] * (s["D"] + s["H"] + 1),
          steps="T"),
    Layer(key="word_embedding", title=message("Word embedding"),
          functions="word_embedding_forward / word_embedding_backward",
          sizes={"N": 50, "T": 3, "V": 5, "D": 6}, threshold=1e-7, equations=EQUATIONS["word_embedding"],
          bug=message("`dW[x] += dout`: numpy buffers the indexed add, so a word used many times adds "
                      "once."),
          bug_equation=r"dW[\,x_{n,t}\,] = d\text{out}_{n,t} \ \text{ (the last write wins)}",
          forward=_fixed_forward("word_embedding", L.word_embedding_forward, ("out",)),
          gradient=_layer_check("word_embedding", L.word_embedding_forward, L.word_embedding_backward,
                                B.word_embedding, ("dW",), first=1),
          entries=lambda s: s["V"] * s["D"]),
    Layer(key="temporal_affine", title=message("Temporal affine"),
          functions="temporal_affine_forward / temporal_affine_backward",
          sizes={"N": 2, "T": 3, "D": 4, "M": 5}, threshold=1e-7, equations=EQUATIONS["temporal_affine"],
          bug=message("`db` is averaged over the N·T positions instead of summed."),
          bug_equation=r"db = \frac{1}{NT} \sum_{n,t} d\text{out}_{n,t}",
          forward=None,
          gradient=_layer_check("temporal_affine", L.temporal_affine_forward, L.temporal_affine_backward,
                                B.temporal_affine, ("dx", "dw", "db")),
          entries=lambda s: s["N"] * s["T"] * s["D"] + s["M"] * (s["D"] + 1)),
    Layer(key="temporal_softmax_loss", title=message("Temporal softmax loss"),
          functions="temporal_softmax_loss",
          sizes={"N": 7, "T": 8, "V": 9}, threshold=1e-7, equations=EQUATIONS["temporal_softmax_loss"],
          bug=message("The mask is forgotten in `dx`: `<NULL>` padding gets a gradient it never caused."),
          bug_equation=r"dx_{n,t} = \frac{1}{N} \big(p_{n,t} - \mathbb{1}_{y_{n,t}}\big)",
          forward=_softmax_forward, gradient=_softmax_gradients,
          entries=lambda s: s["N"] * s["T"] * s["V"]),
    _model_layer("rnn"),
    _model_layer("lstm"),
)}


# --- running ---------------------------------------------------------------------------

def check_sizes(key: str, sizes: dict | None = None, seed: int = NOTEBOOK_SEED) -> dict[str, int]:
    """The full sizes for a gradient check of layer `key`; `CheckError` saying what to fix.

    Sizes not given are the notebook's. Every size is a whole number from 1 (2 for the
    model's T) to MAX_SIZE, and the check must stay small enough to run in seconds.
    """
    if key not in LAYERS:
        raise CheckError(message("Unknown layer {key}; choose one of {layers}.",
                                 key=repr(key), layers=", ".join(LAYERS)))
    layer = LAYERS[key]
    sizes = dict(sizes or {})
    unknown = sorted(set(sizes) - set(layer.sizes))
    if unknown:
        raise CheckError(message("{layer} has no size {unknown}; its sizes are {sizes}.",
                                 layer=layer.title, unknown=", ".join(unknown),
                                 sizes=", ".join(layer.sizes)))
    full = {**layer.sizes, **sizes}
    for letter, value in full.items():
        low = layer.min_sizes.get(letter, 1)
        if not is_whole(value, low, MAX_SIZE, integral_floats=True):
            raise CheckError(message("{letter} ({name}) must be a whole number from {low} to {high}, "
                                     "not {value}.", letter=letter, name=SIZE_NAMES[letter], low=low,
                                     high=MAX_SIZE, value=repr(value)))
        full[letter] = int(value)
    if not is_whole(seed, 0, 2 ** 32 - 1):
        raise CheckError(message("The seed must be a whole number from 0 to {high:,}, not {seed}.",
                                 high=2 ** 32 - 1, seed=repr(seed)))
    entries = layer.entries(full)
    work = entries * (full[layer.steps] if layer.steps else 1)
    if entries > MAX_ENTRIES or work > MAX_WORK:
        if entries > MAX_ENTRIES:
            raise CheckError(message(
                "These sizes mean {entries:,} numbers to perturb (the lab allows {limit:,}): the "
                "numeric gradient would take too long. Use smaller sizes.",
                entries=entries, limit=MAX_ENTRIES))
        raise CheckError(message(
            "These sizes mean {entries:,} numbers to perturb, each through {steps} time steps (the "
            "lab allows {limit:,} number-steps): the numeric gradient would take too long. Use "
            "smaller sizes.", entries=entries, steps=full[layer.steps], limit=MAX_WORK))
    return full


def forward_check(key: str) -> list[CheckRow]:
    """The notebook's fixed-input forward check of layer `key` (empty if it has none)."""
    layer = LAYERS[key]
    return layer.forward() if layer.forward is not None else []


def _gradient_rows(key: str, full: dict[str, int], seed: int, broken: bool) -> list[CheckRow]:
    """The gradient check with sizes and seed already checked by `check_sizes`."""
    layer = LAYERS[key]
    return layer.gradient(full, np.random.RandomState(seed), broken, layer.threshold)


def gradient_check(key: str, sizes: dict | None = None, seed: int = NOTEBOOK_SEED,
                   broken: bool = False) -> list[CheckRow]:
    """Layer `key`'s numeric gradient check in float64: one row per input's gradient."""
    return _gradient_rows(key, check_sizes(key, sizes, seed), seed, broken)


def run_checks(key: str, sizes: dict | None = None, seed: int = NOTEBOOK_SEED,
               broken: bool = False) -> CheckReport:
    """Both checks of layer `key`; `broken` swaps in its deliberately wrong backward pass."""
    full = check_sizes(key, sizes, seed)
    rows = forward_check(key) + _gradient_rows(key, full, seed, broken)
    return CheckReport(key, full, int(seed), bool(broken), tuple(rows))

