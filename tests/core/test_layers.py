"""Every check of the CS231n RNN and LSTM captioning notebooks, as assertions.

The fixed-input forward checks use the notebooks' `np.linspace` inputs and printed values,
copied into `tests/core/notebook_values.py` (the tests' own oracle, never read from the
code under test); the backward checks compare each layer's gradients with centred
differences in float64, through one helper parametrized over the layers.
"""
import numpy as np
import pytest

from core import (eval_numerical_gradient, eval_numerical_gradient_array, lstm_backward,
                  lstm_forward, lstm_step_backward, lstm_step_forward, rel_error, rnn_backward,
                  rnn_forward, rnn_step_backward, rnn_step_forward, sigmoid,
                  temporal_affine_backward, temporal_affine_forward, temporal_softmax_loss,
                  word_embedding_backward, word_embedding_forward)
from tests.core import notebook_values as nb


# --- forward checks with the notebooks' values ------------------------------------

@pytest.mark.parametrize("forward, cell, names, shape, tolerance", [
    (rnn_step_forward, nb.RNN_STEP, ("next_h",), (3, 4), 1e-8),
    (rnn_forward, nb.RNN, ("h",), (2, 3, 5), 1e-7),
    (word_embedding_forward, nb.WORD_EMBEDDING, ("out",), (2, 4, 3), 1e-7),
    (lstm_step_forward, nb.LSTM_STEP, ("next_h", "next_c"), (3, 5), 1e-7),
    (lstm_forward, nb.LSTM, ("h",), (2, 3, 4), 1e-7),
], ids=["rnn_step", "rnn", "word_embedding", "lstm_step", "lstm"])
def test_forward_matches_notebook(forward, cell, names, shape, tolerance):
    outputs = forward(*cell["inputs"]())
    for name, out in zip(names, outputs):
        assert out.shape == shape
        assert rel_error(cell[name], out) < tolerance, name


@pytest.mark.parametrize("N, T, V, p, lo, hi", nb.SOFTMAX_SANITY)
def test_temporal_softmax_loss_values_match_notebook(N, T, V, p, lo, hi):
    rng = np.random.default_rng(0)
    x = 0.001 * rng.standard_normal((N, T, V))
    y = rng.integers(V, size=(N, T))
    mask = rng.random((N, T)) <= p
    loss, _ = temporal_softmax_loss(x, y, mask)
    assert lo < loss < hi


def test_temporal_softmax_loss_ignores_masked_positions():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((4, 5, 7))
    y = rng.integers(7, size=(4, 5))
    mask = rng.random((4, 5)) < 0.5
    loss, dx = temporal_softmax_loss(x, y, mask)
    x2 = x.copy()
    x2[~mask] = 1e3 * rng.standard_normal(((~mask).sum(), 7))    # garbage where masked
    loss2, dx2 = temporal_softmax_loss(x2, y, mask)
    assert loss == pytest.approx(loss2, rel=1e-12)
    assert np.all(dx[~mask] == 0) and np.all(dx2[~mask] == 0)
    np.testing.assert_allclose(dx[mask], dx2[mask])


def test_softmax_loss_and_sigmoid_stay_finite_on_extreme_inputs():
    x = np.array([[[1e4, -1e4, 0.0], [-1e4, 1e4, 3.0]]])
    loss, dx = temporal_softmax_loss(x, np.array([[1, 0]]), np.array([[True, True]]))
    assert np.isfinite(loss) and loss == pytest.approx(4e4, rel=1e-6)
    assert np.isfinite(dx).all()
    s = sigmoid(np.array([-1e4, -50.0, 0.0, 50.0, 1e4]))
    np.testing.assert_allclose(s, [0, 1.9287e-22, 0.5, 1, 1], atol=1e-20)


# --- numeric gradient checks, one helper over all layers ---------------------------

def _rnn_step(rng):
    N, D, H = 4, 5, 6
    return rnn_step_forward, rnn_step_backward, [rng.standard_normal(s) for s in
                                                 [(N, D), (N, H), (D, H), (H, H), (H,)]], 1


def _rnn_seq(rng):
    N, D, T, H = 2, 3, 10, 5
    return rnn_forward, rnn_backward, [rng.standard_normal(s) for s in
                                       [(N, T, D), (N, H), (D, H), (H, H), (H,)]], 1


def _lstm_step(rng):
    N, D, H = 4, 5, 6
    return lstm_step_forward, lstm_step_backward, [rng.standard_normal(s) for s in
                                                   [(N, D), (N, H), (N, H), (D, 4 * H), (H, 4 * H), (4 * H,)]], 2


def _lstm_seq(rng):
    N, D, T, H = 2, 3, 10, 6
    return lstm_forward, lstm_backward, [rng.standard_normal(s) for s in
                                         [(N, T, D), (N, H), (D, 4 * H), (H, 4 * H), (4 * H,)]], 1


def _temporal_affine(rng):
    N, T, D, M = 2, 3, 4, 5
    return temporal_affine_forward, temporal_affine_backward, [rng.standard_normal(s) for s in
                                                               [(N, T, D), (D, M), (M,)]], 1


LAYERS = {"rnn_step": _rnn_step, "rnn": _rnn_seq, "lstm_step": _lstm_step, "lstm": _lstm_seq,
          "temporal_affine": _temporal_affine}


def check_layer_gradients(forward, backward, inputs, n_outputs, rng, tol=1e-7):
    """Compare backward(dout) with numeric gradients of sum(forward(...) * dout) for every input."""
    outs = forward(*inputs)[:n_outputs]
    douts = [rng.standard_normal(o.shape) for o in outs]
    grads = backward(*douts, forward(*inputs)[n_outputs])
    assert len(grads) == len(inputs)
    for k, (x, dx) in enumerate(zip(inputs, grads)):
        def f(xk, k=k):
            args = list(inputs)
            args[k] = xk
            return np.concatenate([o.ravel() for o in forward(*args)[:n_outputs]])
        dflat = np.concatenate([d.ravel() for d in douts])
        numeric = eval_numerical_gradient_array(f, x, dflat)
        assert dx.shape == x.shape
        assert rel_error(numeric, dx) < tol, f"input {k}: relative error {rel_error(numeric, dx):.2e}"


@pytest.mark.parametrize("name", LAYERS)
def test_layer_gradients(name):
    rng = np.random.default_rng(231)
    forward, backward, inputs, n_outputs = LAYERS[name](rng)
    check_layer_gradients(forward, backward, inputs, n_outputs, rng)


def test_word_embedding_gradient():
    rng = np.random.default_rng(231)
    N, T, V, D = 50, 3, 5, 6
    x = rng.integers(V, size=(N, T))
    W = rng.standard_normal((V, D))
    out, cache = word_embedding_forward(x, W)
    dout = rng.standard_normal(out.shape)
    dW = word_embedding_backward(dout, cache)
    dW_num = eval_numerical_gradient_array(lambda W: word_embedding_forward(x, W)[0], W, dout)
    assert rel_error(dW, dW_num) < 1e-9


def test_temporal_softmax_loss_gradient():
    rng = np.random.default_rng(231)
    N, T, V = 7, 8, 9
    x = 0.001 * rng.standard_normal((N, T, V))
    y = rng.integers(V, size=(N, T))
    mask = rng.random((N, T)) > 0.5
    loss, dx = temporal_softmax_loss(x, y, mask, verbose=False)
    dx_num = eval_numerical_gradient(lambda x: temporal_softmax_loss(x, y, mask)[0], x, verbose=False)
    assert rel_error(dx, dx_num) < 1e-7


def test_a_wrong_backward_is_caught():
    """The gradient check itself can fail: a backward pass with a bug gives a large error."""
    rng = np.random.default_rng(0)
    forward, backward, inputs, n = _rnn_step(rng)

    def broken(dnext_h, cache):
        x, prev_h, Wx, Wh, next_h = cache
        dx, dprev_h, dWx, dWh, db = backward(dnext_h, cache)
        return dx, dprev_h, dWx, dWh, db * 2
    with pytest.raises(AssertionError, match="input 4"):
        check_layer_gradients(forward, broken, inputs, n, rng)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_sequence_layers_keep_their_dtype(dtype, cell):
    rng = np.random.default_rng(0)
    N, T, D, H = 3, 4, 5, 6
    mul = 4 if cell == "lstm" else 1
    args = [rng.standard_normal(s).astype(dtype) for s in [(N, T, D), (N, H), (D, mul * H), (H, mul * H), (mul * H,)]]
    forward, backward = (rnn_forward, rnn_backward) if cell == "rnn" else (lstm_forward, lstm_backward)
    h, cache = forward(*args)
    assert h.dtype == dtype
    assert all(g.dtype == dtype for g in backward(np.ones_like(h), cache))


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_sequence_layers_agree_with_their_step_layers_in_float32(cell):
    """The sequence layers are written for speed (hidden-major, the LSTM's gates from one exp);
    the step layers, the notebook's code, are their reference: in float32, at a training-like
    shape, with pre-activations large enough to saturate (e^-x overflows), the same states."""
    rng = np.random.default_rng(2)
    N, T, D, H = 25, 6, 32, 40
    mul = 4 if cell == "lstm" else 1
    x, h0, Wx, Wh, b = (rng.standard_normal(s).astype(np.float32)
                        for s in [(N, T, D), (N, H), (D, mul * H), (H, mul * H), (mul * H,)])
    b[:H] = 100.0                                   # pre-activations of +-100 and more
    x[0, 0] = -50.0
    h, _ = (rnn_forward if cell == "rnn" else lstm_forward)(x, h0, Wx, Wh, b)
    state, c = h0, np.zeros_like(h0)
    for t in range(T):
        if cell == "rnn":
            state, _ = rnn_step_forward(x[:, t], state, Wx, Wh, b)
        else:
            state, c, _ = lstm_step_forward(x[:, t], state, c, Wx, Wh, b)
        np.testing.assert_allclose(h[:, t], state, rtol=1e-5, atol=1e-5, err_msg=f"step {t}")
    assert np.abs(h).max() > 0.999                  # saturated somewhere: the extremes were reached
