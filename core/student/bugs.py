"""The classic mistakes of the exercise, as code: what a function with that bug returns.

A check that finds a student's array wrong compares it with these: when it matches one
(to round-off), the bug is named in one plain sentence. Each function here takes the same
inputs as the layer it imitates and returns what the buggy version would; they are
written for clarity, not speed, and run in the checker, never in the student's sandbox.

Dimension letters: N batch, T time, D input, H hidden, V vocabulary.
"""
from __future__ import annotations

from itertools import permutations

import numpy as np

from .. import layers as L
from ..text import message

GATES = "ifog"                     # the course's order of the four blocks of a = x Wx + h Wh + b


# --- vanilla RNN ----------------------------------------------------------------------------

def rnn_step_forward_variants(x, prev_h, Wx, Wh, b) -> list[tuple[str, np.ndarray]]:
    a = x @ Wx + prev_h @ Wh + b
    return [
        (message("next_h is the pre-activation a = x·Wx + prev_h·Wh + b: the tanh is missing."), a),
        (message("next_h uses a sigmoid; the vanilla RNN uses tanh."), L.sigmoid(a)),
        (message("The bias b is not added before the tanh."), np.tanh(x @ Wx + prev_h @ Wh)),
        (message("prev_h · Wh is missing: the step does not look at the previous hidden state."),
         np.tanh(x @ Wx + b)),
    ]


def _rnn_step_grads(dz, x, prev_h, Wx, Wh):
    return dz @ Wx.T, dz @ Wh.T, x.T @ dz, prev_h.T @ dz, dz.sum(axis=0)


def rnn_step_backward_variants(dnext_h, x, prev_h, Wx, Wh, b) -> list[tuple[str, tuple]]:
    a = x @ Wx + prev_h @ Wh + b
    h = np.tanh(a)
    return [
        (message("tanh' is taken from the tanh's input a, as 1 - a²; it must come from its output: "
         "1 - tanh(a)² = 1 - next_h²."), _rnn_step_grads(dnext_h * (1 - a * a), x, prev_h, Wx, Wh)),
        (message("tanh' is taken as 1 - next_h; it is 1 - next_h²."),
         _rnn_step_grads(dnext_h * (1 - h), x, prev_h, Wx, Wh)),
        (message("tanh is applied to the output a second time: tanh' is 1 - next_h², not 1 - tanh(next_h)²."),
         _rnn_step_grads(dnext_h * (1 - np.tanh(h) ** 2), x, prev_h, Wx, Wh)),
        (message("The gradient skips the tanh: multiply dnext_h by tanh' = 1 - next_h² first."),
         _rnn_step_grads(dnext_h, x, prev_h, Wx, Wh)),
    ]


def _rnn_states(x, h0, Wx, Wh, b, carry=True):
    N, T, _ = x.shape
    hs, h = [], h0
    for t in range(T):
        h = np.tanh(x[:, t] @ Wx + (h if carry else h0) @ Wh + b)
        hs.append(h)
    return np.stack(hs, axis=1)


def rnn_forward_variants(x, h0, Wx, Wh, b) -> list[tuple[str, np.ndarray]]:
    return [
        (message("Every step starts from h0 instead of the previous step's hidden state."),
         _rnn_states(x, h0, Wx, Wh, b, carry=False)),
        (message("The hidden state is not fed back: each step sees only its input x[:, t]."),
         np.tanh(x @ Wx + b)),
    ]


def _rnn_backward(dh, x, h0, Wx, Wh, b, carry=True, weights="sum"):
    """rnn_backward written the way students write it, with two switches for two bugs."""
    N, T, D = x.shape
    H = h0.shape[1]
    h = _rnn_states(x, h0, Wx, Wh, b)
    prev = np.concatenate([h0[:, None], h[:, :-1]], axis=1)
    dx, dWx, dWh, db = np.zeros((N, T, D)), np.zeros((D, H)), np.zeros((H, H)), np.zeros(H)
    dnext = np.zeros((N, H))
    for t in reversed(range(T)):
        dz = ((dh[:, t] + dnext) if carry else dh[:, t]) * (1 - h[:, t] ** 2)
        dx[:, t] = dz @ Wx.T
        dnext = dz @ Wh.T
        parts = (x[:, t].T @ dz, prev[:, t].T @ dz, dz.sum(axis=0))
        if weights == "sum":
            dWx, dWh, db = dWx + parts[0], dWh + parts[1], db + parts[2]
        else:                                 # "=" instead of "+=": the last step written wins
            dWx, dWh, db = parts
    return dx, dnext, dWx, dWh, db


def rnn_backward_variants(dh, x, h0, Wx, Wh, b) -> list[tuple[str, tuple]]:
    return [
        (message("The gradient from the next step is not added: each step's backward gets only "
         "dh[:, t], not dh[:, t] + the dprev_h of step t + 1."),
         _rnn_backward(dh, x, h0, Wx, Wh, b, carry=False)),
        (message("The weight gradients are overwritten at every step (dWx = ... instead of dWx += ...): "
         "they must be summed over all timesteps."),
         _rnn_backward(dh, x, h0, Wx, Wh, b, weights="last")),
    ]


# --- word embedding ---------------------------------------------------------------------------

def word_embedding_backward_variants(dout, x, W) -> list[tuple[str, np.ndarray]]:
    buffered = np.zeros_like(W)
    buffered[x] += dout
    return [(message("`dW[x] += dout` adds a word's gradient once even when the word appears many "
             "times (numpy buffers the indexed add): use `np.add.at(dW, x, dout)`."), buffered)]


# --- temporal softmax loss --------------------------------------------------------------------

def _softmax_loss(x, y, mask, mask_loss=True, mask_dx=True, divide="N"):
    N, T, V = x.shape
    flat, y_flat = x.reshape(N * T, V), y.reshape(N * T)
    m = mask.reshape(N * T).astype(float)
    p = np.exp(flat - flat.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    by = {"N": N, "NT": N * T, "mask": max(m.sum(), 1.0), "none": 1.0}[divide]
    loss = -np.sum((m if mask_loss else 1.0) * np.log(p[np.arange(N * T), y_flat])) / by
    dx = p.copy()
    dx[np.arange(N * T), y_flat] -= 1
    dx = dx / by * ((m if mask_dx else np.ones_like(m))[:, None])
    return loss, dx.reshape(N, T, V)


def softmax_loss_variants(x, y, mask) -> list[tuple[str, tuple]]:
    return [
        (message("The mask is not applied: <NULL> positions count in the loss and in dx. Multiply "
         "both by the mask."), _softmax_loss(x, y, mask, mask_loss=False, mask_dx=False)),
        (message("dx is not masked: <NULL> positions get a gradient they never caused. Multiply dx "
         "by the mask too."), _softmax_loss(x, y, mask, mask_dx=False)),
        (message("The loss is averaged over all N·T positions; the course sums over time and divides "
         "by the batch size N only (dx too)."), _softmax_loss(x, y, mask, divide="NT")),
        (message("The loss is divided by the number of unmasked words; the course divides by the "
         "batch size N only (dx too)."), _softmax_loss(x, y, mask, divide="mask")),
        (message("The loss is summed over the batch but not divided by N (1/N is missing, in dx too)."),
         _softmax_loss(x, y, mask, divide="none")),
    ]


# --- LSTM ---------------------------------------------------------------------------------------

def _order_name(order: str) -> str:
    return ", ".join(order)


def gate_orders() -> list[str]:
    """Every order of the four gates but the course's, e.g. "ifgo" (PyTorch's) first."""
    orders = ["".join(p) for p in permutations(GATES) if "".join(p) != GATES]
    return sorted(orders, key=lambda o: (o != "ifgo", o))


def _lstm_step(x, prev_h, prev_c, Wx, Wh, b, order=GATES, tanh_c=True, g_sigmoid=False):
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    block = {gate: a[:, k * H:(k + 1) * H] for k, gate in enumerate(order)}
    i, f, o = (L.sigmoid(block[g]) for g in "ifo")
    g = L.sigmoid(block["g"]) if g_sigmoid else np.tanh(block["g"])
    c = f * prev_c + i * g
    return o * (np.tanh(c) if tanh_c else c), c


def lstm_step_forward_variants(x, prev_h, prev_c, Wx, Wh, b) -> list[tuple[str, tuple]]:
    found = [(message("The gates are read from a = x·Wx + prev_h·Wh + b in the order {order} (PyTorch's order); "
                      "the course's order is i, f, o, g: a[:, :H] is i, then f, o, and g last.",
                      order=_order_name(o)) if o == "ifgo" else
              message("The gates are read from a = x·Wx + prev_h·Wh + b in the order {order}; the course's "
                      "order is i, f, o, g: a[:, :H] is i, then f, o, and g last.", order=_order_name(o)),
              _lstm_step(x, prev_h, prev_c, Wx, Wh, b, order=o)) for o in gate_orders()]
    found += [(message("next_h = o · next_c: the tanh of the cell state is missing (next_h = o · tanh(next_c))."),
               _lstm_step(x, prev_h, prev_c, Wx, Wh, b, tanh_c=False)),
              (message("The candidate g uses a sigmoid; it is a tanh (i, f and o are sigmoids)."),
               _lstm_step(x, prev_h, prev_c, Wx, Wh, b, g_sigmoid=True))]
    return found


def _lstm_step_backward(dnext_h, dnext_c, x, prev_h, prev_c, Wx, Wh, b, tanh_prime=True,
                        add_dnext_c=True, times_f=True):
    H = prev_h.shape[1]
    a = x @ Wx + prev_h @ Wh + b
    i, f, o = (L.sigmoid(a[:, k * H:(k + 1) * H]) for k in range(3))
    g = np.tanh(a[:, 3 * H:])
    c = f * prev_c + i * g
    tc = np.tanh(c)
    dc = dnext_h * o * ((1 - tc * tc) if tanh_prime else 1) + (dnext_c if add_dnext_c else 0)
    da = np.hstack([dc * g * i * (1 - i), dc * prev_c * f * (1 - f), dnext_h * tc * o * (1 - o),
                    dc * i * (1 - g * g)])
    return da @ Wx.T, da @ Wh.T, dc * f if times_f else dc, x.T @ da, prev_h.T @ da, da.sum(axis=0)


def lstm_step_backward_variants(dnext_h, dnext_c, x, prev_h, prev_c, Wx, Wh, b) -> list[tuple[str, tuple]]:
    args = (dnext_h, dnext_c, x, prev_h, prev_c, Wx, Wh, b)
    return [
        (message("The cell's gradient misses tanh'(c): dc = dnext_c + dnext_h · o · (1 - tanh²(next_c))."),
         _lstm_step_backward(*args, tanh_prime=False)),
        (message("dnext_c is not added: the cell state's gradient from the next step is forgotten "
         "(dc = dnext_c + dnext_h · o · (1 - tanh²(next_c)))."), _lstm_step_backward(*args, add_dnext_c=False)),
        (message("dprev_c is dc itself; it is dc · f (the forget gate scales what reaches prev_c)."),
         _lstm_step_backward(*args, times_f=False)),
    ]


def _lstm_states(x, h0, Wx, Wh, b, carry_c=True, carry_h=True):
    N, T, _ = x.shape
    h, c, hs = h0, np.zeros_like(h0), []
    for t in range(T):
        h, c = _lstm_step(x[:, t], h if carry_h else h0, c if carry_c else np.zeros_like(h0), Wx, Wh, b)
        hs.append(h)
    return np.stack(hs, axis=1)


def lstm_forward_variants(x, h0, Wx, Wh, b) -> list[tuple[str, np.ndarray]]:
    return [(message("The cell state is not carried from step to step: each step starts from c = 0."),
             _lstm_states(x, h0, Wx, Wh, b, carry_c=False)),
            (message("Every step starts from h0 instead of the previous step's hidden state."),
             _lstm_states(x, h0, Wx, Wh, b, carry_h=False))]


def _lstm_backward(dh, x, h0, Wx, Wh, b, carry_c=True, carry_h=True, weights="sum"):
    N, T, D = x.shape
    H = h0.shape[1]
    caches, h, c = [], h0, np.zeros_like(h0)
    for t in range(T):
        h, c, cache = L.lstm_step_forward(x[:, t], h, c, Wx, Wh, b)
        caches.append(cache)
    dx, dWx, dWh, db = np.zeros((N, T, D)), np.zeros((D, 4 * H)), np.zeros((H, 4 * H)), np.zeros(4 * H)
    dnext_h, dnext_c = np.zeros((N, H)), np.zeros((N, H))
    for t in reversed(range(T)):
        up = dh[:, t] + (dnext_h if carry_h else 0)
        dx[:, t], dnext_h, dprev_c, gx, gh, gb = L.lstm_step_backward(
            up, dnext_c if carry_c else np.zeros((N, H)), caches[t])
        dnext_c = dprev_c
        if weights == "sum":
            dWx, dWh, db = dWx + gx, dWh + gh, db + gb
        else:
            dWx, dWh, db = gx, gh, gb
    return dx, dnext_h, dWx, dWh, db


def lstm_backward_variants(dh, x, h0, Wx, Wh, b) -> list[tuple[str, tuple]]:
    return [
        (message("The cell state's gradient from the next step is forgotten: every step gets dnext_c = 0 "
         "instead of the dprev_c of step t + 1."), _lstm_backward(dh, x, h0, Wx, Wh, b, carry_c=False)),
        (message("The hidden state's gradient from the next step is not added: each step gets only "
         "dh[:, t], not dh[:, t] + the dprev_h of step t + 1."),
         _lstm_backward(dh, x, h0, Wx, Wh, b, carry_h=False)),
        (message("The weight gradients are overwritten at every step (dWx = ... instead of dWx += ...): "
         "they must be summed over all timesteps."), _lstm_backward(dh, x, h0, Wx, Wh, b, weights="last")),
    ]


# --- sampling -----------------------------------------------------------------------------------

def greedy(params: dict, cell: str, features, start: int, null: int, max_length: int,
           feed: str = "word", carry: bool = True, write_start: bool = False) -> np.ndarray:
    """Greedy captions (N, max_length) the way `sample` is written, with switches for its
    bugs: `feed` "word" (right) or "start" (<START> at every step), `carry` False (every
    step from h0), `write_start` (column 0 holds <START>, the words shift right)."""
    p = params
    N = features.shape[0]
    h = features @ p["W_proj"] + p["b_proj"]
    h0, c = h, np.zeros_like(h)
    captions = np.full((N, max_length), null, dtype=np.int64)
    word = np.full(N, start)
    first = 0
    if write_start:
        captions[:, 0] = start
        first = 1
    for t in range(first, max_length):
        x = p["W_embed"][word if feed == "word" else np.full(N, start)]
        prev = h if carry else h0
        if cell == "rnn":
            h = np.tanh(x @ p["Wx"] + prev @ p["Wh"] + p["b"])
        else:
            h, c = _lstm_step(x, prev, c if carry else np.zeros_like(h0), p["Wx"], p["Wh"], p["b"])
        word = np.argmax(h @ p["W_vocab"] + p["b_vocab"], axis=1)
        captions[:, t] = word
    return captions


def sample_variants(params: dict, cell: str, features, start: int, null: int,
                    max_length: int) -> list[tuple[str, np.ndarray]]:
    args = (params, cell, features, start, null, max_length)
    return [
        (message("<START> is written into the output: column 0 must hold the first sampled word, "
         "not <START>."), greedy(*args, write_start=True)),
        (message("<START> is fed at every step; each step must be fed the word sampled at the step before."),
         greedy(*args, feed="start")),
        (message("Every step starts from h0 (and c = 0): the hidden state is not carried from step to step."),
         greedy(*args, carry=False)),
    ]
