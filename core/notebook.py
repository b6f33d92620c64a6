"""The CS231n captioning notebooks' own numbers: their fixed inputs, the values they print,
and the random draws of their gradient checks.

This is data, shared by the layer lab (`core.checks`) and the checker of a student's own
code (`core.student`), so both run exactly the notebook's cells. Every draw takes a
`np.random.RandomState` seeded as the notebook seeds numpy (`NOTEBOOK_SEED`), so numpy's
global state is left alone. This file never imports streamlit.

Dimension letters: N batch, T time, D input, H hidden, V vocabulary, M output, W word vector.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .model import CaptioningRNN

NOTEBOOK_SEED = 231


def lin(lo: float, hi: float, *shape: int) -> np.ndarray:
    """The notebooks' fixed inputs: `np.linspace(lo, hi, num=prod(shape)).reshape(shape)`."""
    return np.linspace(lo, hi, num=int(np.prod(shape))).reshape(*shape)


# --- the notebook's fixed-input forward checks -------------------------------------

@dataclass(frozen=True)
class ForwardCase:
    """A notebook cell's fixed inputs and the outputs it prints."""

    inputs: Callable[[], tuple]              # fresh inputs, in the forward function's order
    expected: dict[str, np.ndarray]          # output name -> the notebook's values
    tolerance: float                         # the relative error allowed


NOTEBOOK_FORWARD = {
    "rnn_step": ForwardCase(
        lambda: (lin(-0.4, 0.7, 3, 10), lin(-0.2, 0.5, 3, 4), lin(-0.1, 0.9, 10, 4),
                 lin(-0.3, 0.7, 4, 4), lin(-0.2, 0.4, 4)),
        {"next_h": np.asarray([[-0.58172089, -0.50182032, -0.41232771, -0.31410098],
                               [0.66854692, 0.79562378, 0.87755553, 0.92795967],
                               [0.97934501, 0.99144213, 0.99646691, 0.99854353]])}, 1e-8),
    "rnn": ForwardCase(
        lambda: (lin(-0.1, 0.3, 2, 3, 4), lin(-0.3, 0.1, 2, 5), lin(-0.2, 0.4, 4, 5),
                 lin(-0.4, 0.1, 5, 5), lin(-0.7, 0.1, 5)),
        {"h": np.asarray([
            [[-0.42070749, -0.27279261, -0.11074945, 0.05740409, 0.22236251],
             [-0.39525808, -0.22554661, -0.0409454, 0.14649412, 0.32397316],
             [-0.42305111, -0.24223728, -0.04287027, 0.15997045, 0.35014525]],
            [[-0.55857474, -0.39065825, -0.19198182, 0.02378408, 0.23735671],
             [-0.27150199, -0.07088804, 0.13562939, 0.33099728, 0.50158768],
             [-0.51014825, -0.30524429, -0.06755202, 0.17806392, 0.40333043]]])}, 1e-7),
    "lstm_step": ForwardCase(
        lambda: (lin(-0.4, 1.2, 3, 4), lin(-0.3, 0.7, 3, 5), lin(-0.4, 0.9, 3, 5),
                 lin(-2.1, 1.3, 4, 20), lin(-0.7, 2.2, 5, 20), lin(0.3, 0.7, 20)),
        {"next_h": np.asarray([[0.24635157, 0.28610883, 0.32240467, 0.35525807, 0.38474904],
                               [0.49223563, 0.55611431, 0.61507696, 0.66844003, 0.7159181],
                               [0.56735664, 0.66310127, 0.74419266, 0.80889665, 0.858299]]),
         "next_c": np.asarray([[0.32986176, 0.39145139, 0.451556, 0.51014116, 0.56717407],
                               [0.66382255, 0.76674007, 0.87195994, 0.97902709, 1.08751345],
                               [0.74192008, 0.90592151, 1.07717006, 1.25120233, 1.42395676]])},
        1e-7),
    "lstm": ForwardCase(
        lambda: (lin(-0.4, 0.6, 2, 3, 5), lin(-0.4, 0.8, 2, 4), lin(-0.2, 0.9, 5, 16),
                 lin(-0.3, 0.6, 4, 16), lin(0.2, 0.7, 16)),
        {"h": np.asarray([
            [[0.01764008, 0.01823233, 0.01882671, 0.0194232],
             [0.11287491, 0.12146228, 0.13018446, 0.13902939],
             [0.31358768, 0.33338627, 0.35304453, 0.37250975]],
            [[0.45767879, 0.4761092, 0.4936887, 0.51041945],
             [0.6704845, 0.69350089, 0.71486014, 0.7346449],
             [0.81733511, 0.83677871, 0.85403753, 0.86935314]]])}, 1e-7),
    "word_embedding": ForwardCase(
        lambda: (np.asarray([[0, 3, 1, 2], [2, 1, 0, 3]]), lin(0, 1, 5, 3)),
        {"out": np.asarray([
            [[0., 0.07142857, 0.14285714], [0.64285714, 0.71428571, 0.78571429],
             [0.21428571, 0.28571429, 0.35714286], [0.42857143, 0.5, 0.57142857]],
            [[0.42857143, 0.5, 0.57142857], [0.21428571, 0.28571429, 0.35714286],
             [0., 0.07142857, 0.14285714], [0.64285714, 0.71428571, 0.78571429]]])}, 1e-7),
}

# temporal_softmax_loss on tiny random scores: (N, T, V, fraction of positions kept,
# and the range the notebook says the loss should fall in)
SOFTMAX_SANITY = ((100, 1, 10, 1.0, 2.2, 2.4),       # "should be about 2.3"
                  (100, 10, 10, 1.0, 22.5, 23.5),    # "should be about 23"
                  (5000, 10, 10, 0.1, 2.2, 2.4))     # "should be within 2.2-2.4"

# the whole model's loss with every parameter set to np.linspace(-1.4, 1.3)
NOTEBOOK_VOCAB = {"<NULL>": 0, "cat": 2, "dog": 3}
NOTEBOOK_MODEL_LOSS = {"rnn": 9.83235591003, "lstm": 9.82445935443}
MODEL_LOSS_TOLERANCE = 1e-9
_MODEL_FEATURE_RANGE = {"rnn": (-1.5, 0.3), "lstm": (-0.5, 1.7)}


MODEL_CASE = {"N": 10, "D": 20, "W": 30, "H": 40, "T": 13}   # the loss check's sizes


def linspace_params(params: dict) -> None:
    """Set every array of a model's `params` to `np.linspace(-1.4, 1.3)` in place, as the
    notebook's loss check does."""
    for k, v in params.items():
        params[k] = np.linspace(-1.4, 1.3, num=v.size).reshape(*v.shape)


def model_case_inputs(cell: str) -> tuple[np.ndarray, np.ndarray]:
    """The loss check's features (N, D) and captions (N, T) for cell "rnn" or "lstm"."""
    N, D, T = MODEL_CASE["N"], MODEL_CASE["D"], MODEL_CASE["T"]
    features = np.linspace(*_MODEL_FEATURE_RANGE[cell], num=N * D).reshape(N, D)
    captions = (np.arange(N * T) % len(NOTEBOOK_VOCAB)).reshape(N, T)
    return features, captions


def notebook_model_case(cell: str) -> tuple[CaptioningRNN, np.ndarray, np.ndarray]:
    """The notebook's loss check: a float64 model with linspace weights, features, captions."""
    model = CaptioningRNN(NOTEBOOK_VOCAB, input_dim=MODEL_CASE["D"], wordvec_dim=MODEL_CASE["W"],
                          hidden_dim=MODEL_CASE["H"], cell_type=cell, dtype=np.float64,
                          rng=np.random.RandomState(0))
    linspace_params(model.params)
    return (model, *model_case_inputs(cell))


# --- the gradient checks' random inputs ----------------------------------------------

def gradient_inputs(key: str, s: dict, rng: np.random.RandomState) -> list:
    """The inputs a layer's gradient-check cell draws after `np.random.seed`, in the order
    of its forward function's arguments; `s` holds its sizes (N, T, D, H, V, M)."""
    randn = rng.randn
    if key == "rnn_step":
        N, D, H = s["N"], s["D"], s["H"]
        return [randn(N, D), randn(N, H), randn(D, H), randn(H, H), randn(H)]
    if key == "rnn":
        N, T, D, H = s["N"], s["T"], s["D"], s["H"]
        return [randn(N, T, D), randn(N, H), randn(D, H), randn(H, H), randn(H)]
    if key == "lstm_step":
        N, D, H = s["N"], s["D"], s["H"]
        return [randn(N, D), randn(N, H), randn(N, H), randn(D, 4 * H), randn(H, 4 * H), randn(4 * H)]
    if key == "lstm":
        N, T, D, H = s["N"], s["T"], s["D"], s["H"]
        return [randn(N, T, D), randn(N, H), randn(D, 4 * H), randn(H, 4 * H), randn(4 * H)]
    if key == "word_embedding":
        return [rng.randint(s["V"], size=(s["N"], s["T"])), randn(s["V"], s["D"])]
    if key == "temporal_affine":
        N, T, D, M = s["N"], s["T"], s["D"], s["M"]
        return [randn(N, T, D), randn(D, M), randn(M)]
    raise KeyError(key)


def softmax_gradient_inputs(s: dict, rng: np.random.RandomState) -> tuple[np.ndarray, ...]:
    """The softmax loss's gradient check: scores x (N, T, V), targets y (N, T), mask (N, T)."""
    N, T, V = s["N"], s["T"], s["V"]
    x = 0.001 * rng.randn(N, T, V)
    y = rng.randint(V, size=(N, T))
    mask = rng.rand(N, T) > 0.5
    return x, y, mask


def softmax_sanity_inputs(N: int, T: int, V: int, p: float, rng: np.random.RandomState):
    """One of the softmax loss's sanity cells: x (N, T, V) near zero, y (N, T), a mask keeping about p."""
    x = 0.001 * rng.randn(N, T, V)
    y = rng.randint(V, size=(N, T))
    mask = rng.rand(N, T) <= p
    return x, y, mask


def model_gradient_inputs(s: dict, rng: np.random.RandomState) -> tuple[np.ndarray, np.ndarray]:
    """The whole model's gradient check: captions (N, T) over NOTEBOOK_VOCAB, then features
    (N, D); the notebook builds the model right after these draws."""
    captions = rng.randint(len(NOTEBOOK_VOCAB), size=(s["N"], s["T"]))
    features = rng.randn(s["N"], s["D"])
    return captions, features
