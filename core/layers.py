"""The captioning layers of the CS231n RNN/LSTM notebooks, as pure numpy functions.

Every `*_forward` returns `(out, cache)`; every `*_backward(dout, cache)` returns the
gradients in the order of the forward inputs. Semantics match the notebook exactly; the
sequence layers are written for speed (the input projection `x @ Wx` is hoisted out of
the time loop and the weight gradients are one matmul over all timesteps), and every
buffer keeps the dtype of its inputs.

Dimension letters: N batch, T time, D input (word vector), H hidden, M output, V vocab.
"""
from __future__ import annotations

import numpy as np


# --- elementwise helpers -----------------------------------------------------------

def sigmoid(x):
    """A numerically stable logistic sigmoid: 0.5 * (1 + tanh(x / 2)), never overflows."""
    out = np.tanh(0.5 * x)
    out *= 0.5
    out += 0.5
    return out


def _lstm_gates(a, H):
    """Turn pre-activations a (N, 4H) into gate activations in place: i, f, o sigmoid, g tanh."""
    a[:, :3 * H] *= 0.5          # sigmoid(x) = 0.5 * tanh(x / 2) + 0.5, so one tanh
    np.tanh(a, out=a)            # call covers all four gates
    a[:, :3 * H] *= 0.5
    a[:, :3 * H] += 0.5
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


def rnn_forward(x, h0, Wx, Wh, b):
    """Run a tanh RNN over a whole sequence.

    Inputs: x (N, T, D), h0 (N, H), Wx (D, H), Wh (H, H), b (H,).
    Returns h (N, T, H), the hidden state at every timestep, and a cache.
    """
    N, T, D = x.shape
    H = h0.shape[1]
    dtype = np.result_type(x, h0, Wx, Wh, b)
    xw = (x.reshape(N * T, D) @ Wx + b).reshape(N, T, H).transpose(1, 0, 2)  # (T, N, H)
    hs = np.empty((T, N, H), dtype=dtype)
    prev_h = h0
    for t in range(T):
        np.matmul(prev_h, Wh, out=hs[t])
        hs[t] += xw[t]
        np.tanh(hs[t], out=hs[t])
        prev_h = hs[t]
    h = hs.transpose(1, 0, 2)                   # (N, T, H) view of the time-major buffer
    return h, (x, h0, Wx, Wh, hs)


def rnn_backward(dh, cache):
    """Backward of `rnn_forward` given upstream dh (N, T, H).

    Returns dx (N, T, D), dh0 (N, H), dWx (D, H), dWh (H, H), db (H,).
    """
    x, h0, Wx, Wh, hs = cache
    N, T, D = x.shape
    H = h0.shape[1]
    dh_t = dh.transpose(1, 0, 2)                # (T, N, H)
    dz = np.empty_like(hs)                      # gradient at the tanh input, per step
    dprev = np.zeros((N, H), dtype=hs.dtype)
    for t in range(T - 1, -1, -1):
        np.add(dh_t[t], dprev, out=dz[t])
        dz[t] *= 1 - hs[t] * hs[t]
        dprev = dz[t] @ Wh.T
    dz_flat = dz.transpose(1, 0, 2).reshape(N * T, H)        # (N*T, H), batch-major
    dx = (dz_flat @ Wx.T).reshape(N, T, D)
    dWx = x.reshape(N * T, D).T @ dz_flat
    h_prev = np.concatenate([h0[None], hs[:-1]], axis=0)    # (T, N, H): h_{t-1}
    dWh = h_prev.reshape(T * N, H).T @ dz.reshape(T * N, H)
    db = dz.sum(axis=(0, 1))
    return dx, dprev, dWx, dWh, db


# --- LSTM --------------------------------------------------------------------------

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
    return next_h, next_c, (x, prev_h, prev_c, Wx, Wh, gates, tanh_c)


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


def _lstm_gate_grads(dh, dc_next, prev_c, gates, tanh_c, H, da):
    """Write dL/da (N, 4H) for one LSTM step into `da`; return dL/dprev_c.

    dh is the total gradient on this step's h, dc_next the gradient arriving on its c
    from the step after. Derivatives come from the activations (s * (1 - s), 1 - g^2).
    """
    i, f, o, g = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
    dc = dh * o
    dc *= 1 - tanh_c * tanh_c
    dc += dc_next
    np.multiply(dc, g, out=da[:, :H])                    # di
    np.multiply(dc, prev_c, out=da[:, H:2 * H])          # df
    np.multiply(dh, tanh_c, out=da[:, 2 * H:3 * H])      # do
    np.multiply(dc, i, out=da[:, 3 * H:])                # dg
    s = gates[:, :3 * H]
    da[:, :3 * H] *= s * (1 - s)
    da[:, 3 * H:] *= 1 - g * g
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
    xw = (x.reshape(N * T, D) @ Wx + b).reshape(N, T, 4 * H).transpose(1, 0, 2)  # (T, N, 4H)
    gates = np.empty((T, N, 4 * H), dtype=dtype)
    cs = np.empty((T, N, H), dtype=dtype)
    tanh_cs = np.empty((T, N, H), dtype=dtype)
    hs = np.empty((T, N, H), dtype=dtype)
    prev_h, prev_c = h0, np.zeros((N, H), dtype=dtype)
    for t in range(T):
        a = gates[t]
        np.matmul(prev_h, Wh, out=a)
        a += xw[t]
        _lstm_gates(a, H)
        np.multiply(a[:, H:2 * H], prev_c, out=cs[t])
        cs[t] += a[:, :H] * a[:, 3 * H:]
        np.tanh(cs[t], out=tanh_cs[t])
        np.multiply(a[:, 2 * H:3 * H], tanh_cs[t], out=hs[t])
        prev_h, prev_c = hs[t], cs[t]
    h = hs.transpose(1, 0, 2)                   # (N, T, H) view of the time-major buffer
    return h, (x, h0, Wx, Wh, gates, cs, tanh_cs, hs)


def lstm_backward(dh, cache):
    """Backward of `lstm_forward` given upstream dh (N, T, H).

    Returns dx (N, T, D), dh0 (N, H), dWx (D, 4H), dWh (H, 4H), db (4H,).
    """
    x, h0, Wx, Wh, gates, cs, tanh_cs, hs = cache
    N, T, D = x.shape
    H = h0.shape[1]
    dh_t = dh.transpose(1, 0, 2)                # (T, N, H)
    da = np.empty_like(gates)                   # (T, N, 4H)
    dprev_h = np.zeros((N, H), dtype=hs.dtype)
    dprev_c = np.zeros((N, H), dtype=hs.dtype)
    zero_c = dprev_c
    for t in range(T - 1, -1, -1):
        prev_c = cs[t - 1] if t > 0 else zero_c
        dprev_c = _lstm_gate_grads(dh_t[t] + dprev_h, dprev_c, prev_c, gates[t], tanh_cs[t], H, da[t])
        dprev_h = da[t] @ Wh.T
    da_flat = da.transpose(1, 0, 2).reshape(N * T, 4 * H)    # (N*T, 4H), batch-major
    dx = (da_flat @ Wx.T).reshape(N, T, D)
    dWx = x.reshape(N * T, D).T @ da_flat
    h_prev = np.concatenate([h0[None], hs[:-1]], axis=0)    # (T, N, H): h_{t-1}
    dWh = h_prev.reshape(T * N, H).T @ da.reshape(T * N, 4 * H)
    db = da.sum(axis=(0, 1))
    return dx, dprev_h, dWx, dWh, db


# --- word embedding, temporal affine, temporal softmax loss -----------------------

def word_embedding_forward(x, W):
    """Look up word vectors: x (N, T) integer ids, W (V, D) -> out (N, T, D)."""
    out = W[x]
    return out, (x, W)


def word_embedding_backward(dout, cache):
    """Backward of `word_embedding_forward`: returns dW (V, D) only (ids have no gradient)."""
    x, W = cache
    dW = np.zeros_like(W)
    np.add.at(dW, x.reshape(-1), dout.reshape(-1, W.shape[1]))
    return dW


def temporal_affine_forward(x, w, b):
    """An affine layer at every timestep: x (N, T, D), w (D, M), b (M,) -> out (N, T, M)."""
    N, T, D = x.shape
    M = b.shape[0]
    out = (x.reshape(N * T, D) @ w + b).reshape(N, T, M)
    return out, (x, w, b, out)


def temporal_affine_backward(dout, cache):
    """Backward of `temporal_affine_forward`: returns dx (N, T, D), dw (D, M), db (M,)."""
    x, w, b, out = cache
    N, T, D = x.shape
    M = b.shape[0]
    dout2 = dout.reshape(N * T, M)
    dx = (dout2 @ w.T).reshape(N, T, D)
    dw = x.reshape(N * T, D).T @ dout2
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
    shifted = x_flat - x_flat.max(axis=1, keepdims=True)
    probs = np.exp(shifted)
    sums = probs.sum(axis=1, keepdims=True)
    rows = np.arange(N * T)
    log_p_true = shifted[rows, y_flat] - np.log(sums[:, 0])   # log-softmax, never log(0)
    loss = -float(np.sum(mask_flat * log_p_true, dtype=np.float64)) / N
    probs /= sums
    dx_flat = probs
    dx_flat[rows, y_flat] -= 1
    dx_flat *= (mask_flat / N).astype(x.dtype, copy=False)[:, None]
    if verbose:
        print("dx_flat: ", dx_flat.shape)
    return loss, dx_flat.reshape(N, T, V)
