"""The captioning layers of the CS231n RNN/LSTM notebooks, as pure numpy functions.

Every `*_forward` returns `(out, cache)`; every `*_backward(dout, cache)` returns the
gradients in the order of the forward inputs. Semantics match the notebook exactly; the
sequence layers are written for speed: the input projection `x @ Wx` is hoisted out of
the time loop, the weight gradients are one matmul over all timesteps, and inside the
loop states are kept hidden-major, (H, N) per step, because BLAS multiplies the
transposed products, Wh^T (H, H) @ h^T (H, N), faster than the notebook's h @ Wh with
N = 25 rows; the sequence LSTM takes its gates from one exp rather than one tanh (faster in
numpy, equal to the step layer's to float32 rounding). Every buffer keeps the dtype of its
inputs. These functions are the reference: a float32 model trains through `core.fast`,
which computes the same numbers with compiled loops and is tested against them.

Dimension letters: N batch, T time, D input (word vector), H hidden, M output, V vocab.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np


# --- elementwise helpers -----------------------------------------------------------

def sigmoid(x):
    """A numerically stable logistic sigmoid: 0.5 * (1 + tanh(x / 2)), never overflows."""
    out = np.tanh(0.5 * x)
    out *= 0.5
    out += 0.5
    return out


def _gate(a, k, H, axis):
    """Gate block k (0 i, 1 f, 2 o, 3 g; or a slice of blocks) of a along `axis` (1: (N, 4H); 0: (4H, N))."""
    rows = slice(k * H, (k + 1) * H) if isinstance(k, int) else slice(k.start * H, k.stop * H)
    return a[:, rows] if axis == 1 else a[rows]


def _lstm_gates(a, H, axis=1):
    """Turn pre-activations a ((N, 4H), or (4H, N) with axis=0) into gate activations in
    place: i, f, o sigmoid, g tanh."""
    ifo = _gate(a, slice(0, 3), H, axis)
    ifo *= 0.5                   # sigmoid(x) = 0.5 * tanh(x / 2) + 0.5, so one tanh
    np.tanh(a, out=a)            # call covers all four gates
    ifo *= 0.5
    ifo += 0.5
    return a


def _lstm_gates_by_exp(a, H, negated):
    """`_lstm_gates(a, H, axis=0)` from one exp instead of one tanh (exp is about 1.6 times
    faster in numpy): sigmoid(x) = 1 / (1 + e^-x) and tanh(x) = 2 sigmoid(2x) - 1.
    `negated` (4H, 1) holds -1 for the i, f, o rows and -2 for the g rows."""
    a *= negated
    with np.errstate(over="ignore"):     # e^-x = inf below x = -88 (float32): sigmoid 0, tanh -1
        np.exp(a, out=a)
    a += 1
    np.divide(1, a, out=a)
    g = a[3 * H:]
    g *= 2
    g -= 1
    return a


# --- affine ------------------------------------------------------------------------

def affine_forward(x, w, b):
    """Affine layer: x (N, D), w (D, M), b (M,) -> out (N, M)."""
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w, b)


def affine_backward(dout, cache):
    """Backward of `affine_forward`: returns dx (shaped like x), dw, db."""
    x, w, b = cache
    x2 = x.reshape(x.shape[0], -1)
    dx = (dout @ w.T).reshape(x.shape)
    dw = x2.T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


# --- vanilla RNN -------------------------------------------------------------------

def rnn_step_forward(x, prev_h, Wx, Wh, b):
    """One tanh RNN step: next_h = tanh(x @ Wx + prev_h @ Wh + b).

    Inputs: x (N, D), prev_h (N, H), Wx (D, H), Wh (H, H), b (H,).
    Returns next_h (N, H) and a cache for `rnn_step_backward`.
    """
    next_h = np.tanh(x @ Wx + prev_h @ Wh + b)
    return next_h, (x, prev_h, Wx, Wh, next_h)


def rnn_step_backward(dnext_h, cache):
    """Backward of one RNN step: returns dx, dprev_h, dWx, dWh, db."""
    x, prev_h, Wx, Wh, next_h = cache
    dz = dnext_h * (1 - next_h * next_h)       # tanh' from the output, not from exp
    dx = dz @ Wx.T
    dprev_h = dz @ Wh.T
    dWx = x.T @ dz
    dWh = prev_h.T @ dz
    db = dz.sum(axis=0)
    return dx, dprev_h, dWx, dWh, db


def _columns(x):
    """x (N, T, D) as columns (D, T*N): column t*N + n holds x[n, t]."""
    N, T, D = x.shape
    return x.transpose(2, 1, 0).reshape(D, T * N)


def _input_projection(x, Wx, b):
    """Wx^T x_t^T + b for every step at once: (M, T*N), M = Wx.shape[1]."""
    xw = Wx.T @ _columns(x)
    xw += b[:, None]
    return xw


def _weight_grads(x, h0, hs, dz, Wx):
    """dx, dWx, dWh, db from the per-step gradients dz (T, M, N) at the cell's pre-activations."""
    T, M, N = dz.shape
    D = x.shape[2]
    dz_cols = dz.transpose(1, 0, 2).reshape(M, T * N)         # (M, T*N)
    dx = (Wx @ dz_cols).reshape(D, T, N).transpose(2, 1, 0)   # (N, T, D)
    dWx = _columns(x) @ dz_cols.T
    h_prev = np.concatenate([h0.T[None], hs[:-1]], axis=0)    # (T, H, N): h_{t-1}
    dWh = h_prev.transpose(1, 0, 2).reshape(-1, T * N) @ dz_cols.T
    db = dz_cols.sum(axis=1)
    return dx, dWx, dWh, db


def rnn_forward(x, h0, Wx, Wh, b):
    """Run a tanh RNN over a whole sequence.

    Inputs: x (N, T, D), h0 (N, H), Wx (D, H), Wh (H, H), b (H,).
    Returns h (N, T, H), the hidden state at every timestep, and a cache.
    """
    N, T, D = x.shape
    H = h0.shape[1]
    dtype = np.result_type(x, h0, Wx, Wh, b)
    xw = _input_projection(x, Wx, b)                           # (H, T*N)
    WhT = Wh.T                                                 # BLAS reads it transposed
    hs = np.empty((T, H, N), dtype=dtype)                      # h_t^T, hidden-major
    prev_h = h0.T
    for t in range(T):
        np.matmul(WhT, prev_h, out=hs[t])
        hs[t] += xw[:, t * N:(t + 1) * N]
        np.tanh(hs[t], out=hs[t])
        prev_h = hs[t]
    h = hs.transpose(2, 0, 1)                                   # (N, T, H) view
    return h, (x, h0, Wx, Wh, hs)


def rnn_backward(dh, cache):
    """Backward of `rnn_forward` given upstream dh (N, T, H).

    Returns dx (N, T, D), dh0 (N, H), dWx (D, H), dWh (H, H), db (H,).
    """
    x, h0, Wx, Wh, hs = cache
    T, H, N = hs.shape
    dh_t = dh.transpose(1, 2, 0)                # (T, H, N)
    dz = np.empty_like(hs)                      # gradient at the tanh input, per step
    dprev = np.zeros((H, N), dtype=hs.dtype)
    for t in range(T - 1, -1, -1):
        np.add(dh_t[t], dprev, out=dz[t])
        dz[t] *= 1 - hs[t] * hs[t]              # tanh' from the output, not from exp
        dprev = Wh @ dz[t]
    dx, dWx, dWh, db = _weight_grads(x, h0, hs, dz, Wx)
    return dx, dprev.T, dWx, dWh, db


# --- LSTM --------------------------------------------------------------------------

class LSTMStepCache(NamedTuple):
    """What `lstm_step_forward` keeps for its backward pass (a tuple, unpacked in order;
    `gates` by name for readers such as the model's step, so a change of layout cannot
    silently hand them another array)."""

    x: np.ndarray          # (N, D)
    prev_h: np.ndarray     # (N, H)
    prev_c: np.ndarray     # (N, H)
    Wx: np.ndarray         # (D, 4H)
    Wh: np.ndarray         # (H, 4H)
    gates: np.ndarray      # (N, 4H) activations: i f o g
    tanh_c: np.ndarray     # (N, H)


def lstm_step_forward(x, prev_h, prev_c, Wx, Wh, b):
    """One LSTM step with gates in the order i, f, o, g.

    Inputs: x (N, D), prev_h (N, H), prev_c (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,).
    Returns next_h (N, H), next_c (N, H) and a cache for `lstm_step_backward`.
    """
    H = prev_h.shape[1]
    gates = _lstm_gates(x @ Wx + prev_h @ Wh + b, H)          # (N, 4H): i f o g
    i, f, o, g = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
    next_c = f * prev_c + i * g
    tanh_c = np.tanh(next_c)
    next_h = o * tanh_c
    return next_h, next_c, LSTMStepCache(x, prev_h, prev_c, Wx, Wh, gates, tanh_c)


def lstm_step_backward(dnext_h, dnext_c, cache):
    """Backward of one LSTM step: returns dx, dprev_h, dprev_c, dWx, dWh, db."""
    x, prev_h, prev_c, Wx, Wh, gates, tanh_c = cache
    H = prev_h.shape[1]
    da = np.empty_like(gates)
    dprev_c = _lstm_gate_grads(dnext_h, dnext_c, prev_c, gates, tanh_c, H, da)
    dx = da @ Wx.T
    dprev_h = da @ Wh.T
    dWx = x.T @ da
    dWh = prev_h.T @ da
    db = da.sum(axis=0)
    return dx, dprev_h, dprev_c, dWx, dWh, db


def _lstm_gate_grads(dh, dc_next, prev_c, gates, tanh_c, H, da, axis=1):
    """Write dL/da (N, 4H) for one LSTM step into `da`; return dL/dprev_c.

    dh is the total gradient on this step's h, dc_next the gradient arriving on its c
    from the step after. Derivatives come from the activations (s * (1 - s), 1 - g^2).
    With axis=0 every array is hidden-major: gates and da (4H, N), the rest (H, N).
    """
    i, f, o, g = (_gate(gates, k, H, axis) for k in range(4))
    dc = dh * o
    dc *= 1 - tanh_c * tanh_c
    dc += dc_next
    np.multiply(dc, g, out=_gate(da, 0, H, axis))              # di
    np.multiply(dc, prev_c, out=_gate(da, 1, H, axis))         # df
    np.multiply(dh, tanh_c, out=_gate(da, 2, H, axis))         # do
    np.multiply(dc, i, out=_gate(da, 3, H, axis))              # dg
    s = _gate(gates, slice(0, 3), H, axis)
    _gate(da, slice(0, 3), H, axis)[...] *= s * (1 - s)
    _gate(da, 3, H, axis)[...] *= 1 - g * g
    dc *= f
    return dc


def lstm_forward(x, h0, Wx, Wh, b):
    """Run an LSTM over a whole sequence; the initial cell state is zero.

    Inputs: x (N, T, D), h0 (N, H), Wx (D, 4H), Wh (H, 4H), b (4H,).
    Returns h (N, T, H) and a cache.
    """
    N, T, D = x.shape
    H = h0.shape[1]
    dtype = np.result_type(x, h0, Wx, Wh, b)
    xw = _input_projection(x, Wx, b)                           # (4H, T*N)
    WhT = Wh.T                                                 # BLAS reads it transposed
    gates = np.empty((T, 4 * H, N), dtype=dtype)               # hidden-major, per step
    cs = np.empty((T, H, N), dtype=dtype)
    tanh_cs = np.empty((T, H, N), dtype=dtype)
    hs = np.empty((T, H, N), dtype=dtype)
    prev_h, prev_c = h0.T, np.zeros((H, N), dtype=dtype)
    ig = np.empty((H, N), dtype=dtype)                          # scratch for i * g
    negated = np.full((4 * H, 1), -1, dtype=dtype)
    negated[3 * H:] = -2
    for t in range(T):
        a = gates[t]
        np.matmul(WhT, prev_h, out=a)
        a += xw[:, t * N:(t + 1) * N]
        _lstm_gates_by_exp(a, H, negated)
        np.multiply(a[H:2 * H], prev_c, out=cs[t])
        np.multiply(a[:H], a[3 * H:], out=ig)
        cs[t] += ig
        np.tanh(cs[t], out=tanh_cs[t])
        np.multiply(a[2 * H:3 * H], tanh_cs[t], out=hs[t])
        prev_h, prev_c = hs[t], cs[t]
    h = hs.transpose(2, 0, 1)                                   # (N, T, H) view
    return h, (x, h0, Wx, Wh, gates, cs, tanh_cs, hs)


def lstm_backward(dh, cache):
    """Backward of `lstm_forward` given upstream dh (N, T, H).

    Returns dx (N, T, D), dh0 (N, H), dWx (D, 4H), dWh (H, 4H), db (4H,).
    """
    x, h0, Wx, Wh, gates, cs, tanh_cs, hs = cache
    T, H, N = hs.shape
    dh_t = dh.transpose(1, 2, 0)                # (T, H, N)
    da = np.empty_like(gates)                   # (T, 4H, N)
    dprev_h = np.zeros((H, N), dtype=hs.dtype)
    dprev_c = np.zeros((H, N), dtype=hs.dtype)
    zero_c = dprev_c
    dh_step = np.empty((H, N), dtype=hs.dtype)
    for t in range(T - 1, -1, -1):
        prev_c = cs[t - 1] if t > 0 else zero_c
        np.add(dh_t[t], dprev_h, out=dh_step)
        dprev_c = _lstm_gate_grads(dh_step, dprev_c, prev_c, gates[t], tanh_cs[t], H, da[t], axis=0)
        dprev_h = Wh @ da[t]
    dx, dWx, dWh, db = _weight_grads(x, h0, hs, da, Wx)
    return dx, dprev_h.T, dWx, dWh, db


# --- word embedding, temporal affine, temporal softmax loss -----------------------

def word_embedding_forward(x, W):
    """Look up word vectors: x (N, T) integer ids, W (V, D) -> out (N, T, D)."""
    out = W[x]
    return out, (x, W)


def word_embedding_backward(dout, cache):
    """Backward of `word_embedding_forward`: returns dW (V, D) only (ids have no gradient).

    The same sums as `np.add.at(dW, x, dout)` (up to float rounding), grouped by a sort
    and `np.add.reduceat`, which is about twice as fast.
    """
    x, W = cache
    ids = x.reshape(-1)
    rows = dout.reshape(-1, W.shape[1])
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    starts = np.flatnonzero(np.r_[True, sorted_ids[1:] != sorted_ids[:-1]])
    dW = np.zeros_like(W)
    if ids.size:
        dW[sorted_ids[starts]] = np.add.reduceat(rows[order], starts, axis=0)
    return dW


def temporal_affine_forward(x, w, b):
    """An affine layer at every timestep: x (N, T, D), w (D, M), b (M,) -> out (N, T, M)."""
    N, T, D = x.shape
    M = b.shape[0]
    x2 = x.reshape(N * T, D)                    # a copy when x is a transposed view: keep it
    out = x2 @ w
    out += b
    return out.reshape(N, T, M), (x2, x.shape, w, b)


def temporal_affine_backward(dout, cache):
    """Backward of `temporal_affine_forward`: returns dx (N, T, D), dw (D, M), db (M,)."""
    x2, x_shape, w, b = cache
    dout2 = dout.reshape(-1, b.shape[0])
    dx = (dout2 @ w.T).reshape(x_shape)
    dw = x2.T @ dout2
    db = dout2.sum(axis=0)
    return dx, dw, db


def temporal_softmax_loss(x, y, mask, verbose=False):
    """Softmax loss at every timestep, summed over time and averaged over the batch.

    Inputs: x (N, T, V) scores, y (N, T) target ids, mask (N, T) booleans saying which
    targets count (masked positions add nothing to the loss or the gradient).
    Returns loss (a float) and dx (N, T, V).
    """
    N, T, V = x.shape
    x_flat = x.reshape(N * T, V)
    y_flat = y.reshape(N * T)
    mask_flat = mask.reshape(N * T)
    rows = np.arange(N * T)
    dx_flat = x_flat - x_flat.max(axis=1, keepdims=True)      # shifted scores; then, in place,
    log_p_true = dx_flat[rows, y_flat]                        # e^scores, then the gradient
    np.exp(dx_flat, out=dx_flat)
    sums = dx_flat.sum(axis=1)
    log_p_true -= np.log(sums)                                # log-softmax, never log(0)
    loss = -float(np.sum(mask_flat * log_p_true, dtype=np.float64)) / N
    weight = mask_flat / N                                    # each row's share of the loss
    dx_flat *= (weight / sums).astype(x.dtype, copy=False)[:, None]   # probabilities, weighted
    dx_flat[rows, y_flat] -= weight.astype(x.dtype, copy=False)
    if verbose:
        print("dx_flat: ", dx_flat.shape)
    return loss, dx_flat.reshape(N, T, V)
