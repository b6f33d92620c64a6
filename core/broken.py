"""Deliberately broken backward passes, one per layer, for the layer lab's "what a bug
looks like" toggle.

Each function returns a (forward, backward) pair with the contract of `core.layers`:
the forward values are right and the pair keeps its own cache (so nothing here depends
on the layout of `core.layers`' caches); one derivative in the backward pass is wrong,
in a way students really get wrong, and a comment marks the line. `core.checks` runs
them against the numeric gradient of the correct forward pass. Not for anything else.
"""
from __future__ import annotations

import numpy as np

from . import layers as L


def rnn_step():
    """rnn_step_forward / backward with tanh' taken as 1 - h instead of 1 - h²."""
    def forward(x, prev_h, Wx, Wh, b):
        next_h, _ = L.rnn_step_forward(x, prev_h, Wx, Wh, b)
        return next_h, (x, prev_h, Wx, Wh, next_h)

    def backward(dnext_h, cache):
        x, prev_h, Wx, Wh, next_h = cache
        dz = dnext_h * (1 - next_h)                  # the bug: tanh' is 1 - h², not 1 - h
        return dz @ Wx.T, dz @ Wh.T, x.T @ dz, prev_h.T @ dz, dz.sum(axis=0)
    return forward, backward


def rnn():
    """rnn_forward / backward where each step ignores the gradient from the step after it."""
    def forward(x, h0, Wx, Wh, b):
        h, caches, hs = h0, [], []
        for t in range(x.shape[1]):
            h, cache = L.rnn_step_forward(x[:, t], h, Wx, Wh, b)
            caches.append(cache)
            hs.append(h)
        return np.stack(hs, axis=1), (x.shape, caches)

    def backward(dh, cache):
        shape, caches = cache
        dx, dWx, dWh, db = np.zeros(shape), 0, 0, 0
        for t in reversed(range(shape[1])):
            # the bug: the gradient arriving from step t + 1 (dprev_h) is dropped
            dx[:, t], dprev_h, dWx_t, dWh_t, db_t = L.rnn_step_backward(dh[:, t], caches[t])
            dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
        return dx, dprev_h, dWx, dWh, db
    return forward, backward


def lstm_step():
    """lstm_step_forward / backward whose cell gradient misses tanh'(c_t)."""
    def forward(x, prev_h, prev_c, Wx, Wh, b):
        H = prev_h.shape[1]
        a = x @ Wx + prev_h @ Wh + b
        i, f, o = (L.sigmoid(a[:, k * H:(k + 1) * H]) for k in range(3))
        g = np.tanh(a[:, 3 * H:])
        next_c = f * prev_c + i * g
        next_h = o * np.tanh(next_c)
        return next_h, next_c, (x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c)

    def backward(dnext_h, dnext_c, cache):
        x, prev_h, prev_c, Wx, Wh, i, f, o, g, next_c = cache
        dc = dnext_c + dnext_h * o                   # the bug: misses tanh'(c) = 1 - tanh²(c)
        da = np.hstack([dc * g * i * (1 - i), dc * prev_c * f * (1 - f),
                        dnext_h * np.tanh(next_c) * o * (1 - o), dc * i * (1 - g * g)])
        return da @ Wx.T, da @ Wh.T, dc * f, x.T @ da, prev_h.T @ da, da.sum(axis=0)
    return forward, backward


def lstm():
    """lstm_forward / backward that never carries the cell's gradient back in time."""
    def forward(x, h0, Wx, Wh, b):
        h, c, caches, hs = h0, np.zeros_like(h0), [], []
        for t in range(x.shape[1]):
            h, c, cache = L.lstm_step_forward(x[:, t], h, c, Wx, Wh, b)
            caches.append(cache)
            hs.append(h)
        return np.stack(hs, axis=1), (x.shape, caches)

    def backward(dh, cache):
        shape, caches = cache
        dx, dprev_h, dWx, dWh, db = np.zeros(shape), 0, 0, 0, 0
        for t in reversed(range(shape[1])):
            dnext_c = np.zeros_like(dh[:, t])        # the bug: the cell's gradient is not carried back
            dx[:, t], dprev_h, _, dWx_t, dWh_t, db_t = L.lstm_step_backward(
                dh[:, t] + dprev_h, dnext_c, caches[t])
            dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
        return dx, dprev_h, dWx, dWh, db
    return forward, backward


def word_embedding():
    """word_embedding_forward / backward with `dW[x] += dout` in place of np.add.at."""
    def forward(x, W):
        return W[x], (x, W)

    def backward(dout, cache):
        x, W = cache
        dW = np.zeros_like(W)
        dW[x] += dout                                # the bug: a repeated word adds only once
        return dW
    return forward, backward


def temporal_affine():
    """temporal_affine_forward / backward whose db is a mean instead of a sum."""
    def forward(x, w, b):
        return L.temporal_affine_forward(x, w, b)[0], (x, w, b)

    def backward(dout, cache):
        x, w, b = cache
        N, T, D = x.shape
        dout2 = dout.reshape(N * T, -1)
        db = dout2.mean(axis=0)                      # the bug: averaged over N·T, not summed
        return dout @ w.T, x.reshape(N * T, D).T @ dout2, db
    return forward, backward
