"""Numeric gradients by centred differences, as in the CS231n notebooks' `gradient_check`.

These are for checking a backward pass against its forward pass on small float64
inputs; they perturb `x` in place, one entry at a time, and restore it.
"""
from __future__ import annotations

import numpy as np


def _perturbed(f, x, h):
    """For each index ix of x, in order: (ix, f(x + h e_ix), f(x - h e_ix)); x is restored
    after each pair."""
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    while not it.finished:
        ix = it.multi_index
        oldval = x[ix]
        x[ix] = oldval + h
        plus = f(x)
        x[ix] = oldval - h
        minus = f(x)
        x[ix] = oldval
        yield ix, plus, minus
        it.iternext()


def eval_numerical_gradient(f, x, verbose=True, h=1e-5):
    """The numeric gradient of a scalar function f at x (modified in place, then restored).

    Returns an array shaped like x with (f(x + h e_i) - f(x - h e_i)) / 2h at each i.
    With `verbose`, prints each index and its gradient, as the notebook did.
    """
    grad = np.zeros_like(x)
    for ix, fxph, fxmh in _perturbed(f, x, h):
        grad[ix] = (fxph - fxmh) / (2 * h)
        if verbose:
            print(ix, grad[ix])
    return grad


def eval_numerical_gradient_array(f, x, df, h=1e-5):
    """The numeric gradient of sum(f(x) * df) at x, for a function f returning an array."""
    grad = np.zeros_like(x)
    for ix, pos, neg in _perturbed(lambda x: np.array(f(x), copy=True), x, h):
        grad[ix] = np.sum((pos - neg) * df) / (2 * h)
    return grad


def rel_error(x, y):
    """The notebooks' maximum relative error between two arrays (or numbers)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))
