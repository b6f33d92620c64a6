"""Every check of the CS231n RNN and LSTM captioning notebooks, as assertions.

The fixed-input forward checks use the notebooks' `np.linspace` inputs and expected
values; the backward checks compare each layer's gradients with centred differences in
float64, through one helper parametrized over the layers.
"""
import numpy as np
import pytest

from core import (eval_numerical_gradient, eval_numerical_gradient_array, lstm_backward,
                  lstm_forward, lstm_step_backward, lstm_step_forward, rel_error, rnn_backward,
                  rnn_forward, rnn_step_backward, rnn_step_forward, sigmoid,
                  temporal_affine_backward, temporal_affine_forward, temporal_softmax_loss,
                  word_embedding_backward, word_embedding_forward)


def lin(lo, hi, *shape):
    return np.linspace(lo, hi, num=int(np.prod(shape))).reshape(*shape)


# --- forward checks with the notebooks' values ------------------------------------

def test_rnn_step_forward_matches_notebook():
    N, D, H = 3, 10, 4
    next_h, _ = rnn_step_forward(lin(-0.4, 0.7, N, D), lin(-0.2, 0.5, N, H), lin(-0.1, 0.9, D, H),
                                 lin(-0.3, 0.7, H, H), lin(-0.2, 0.4, H))
    expected = np.asarray([[-0.58172089, -0.50182032, -0.41232771, -0.31410098],
                           [0.66854692, 0.79562378, 0.87755553, 0.92795967],
                           [0.97934501, 0.99144213, 0.99646691, 0.99854353]])
    assert rel_error(expected, next_h) < 1e-8


def test_rnn_forward_matches_notebook():
    N, T, D, H = 2, 3, 4, 5
    h, _ = rnn_forward(lin(-0.1, 0.3, N, T, D), lin(-0.3, 0.1, N, H), lin(-0.2, 0.4, D, H),
                       lin(-0.4, 0.1, H, H), lin(-0.7, 0.1, H))
    expected = np.asarray([
        [[-0.42070749, -0.27279261, -0.11074945, 0.05740409, 0.22236251],
         [-0.39525808, -0.22554661, -0.0409454, 0.14649412, 0.32397316],
         [-0.42305111, -0.24223728, -0.04287027, 0.15997045, 0.35014525]],
        [[-0.55857474, -0.39065825, -0.19198182, 0.02378408, 0.23735671],
         [-0.27150199, -0.07088804, 0.13562939, 0.33099728, 0.50158768],
         [-0.51014825, -0.30524429, -0.06755202, 0.17806392, 0.40333043]]])
    assert rel_error(expected, h) < 1e-7


def test_word_embedding_forward_matches_notebook():
    V, D = 5, 3
    x = np.asarray([[0, 3, 1, 2], [2, 1, 0, 3]])
    out, _ = word_embedding_forward(x, lin(0, 1, V, D))
    expected = np.asarray([
        [[0., 0.07142857, 0.14285714], [0.64285714, 0.71428571, 0.78571429],
         [0.21428571, 0.28571429, 0.35714286], [0.42857143, 0.5, 0.57142857]],
        [[0.42857143, 0.5, 0.57142857], [0.21428571, 0.28571429, 0.35714286],
         [0., 0.07142857, 0.14285714], [0.64285714, 0.71428571, 0.78571429]]])
    assert rel_error(expected, out) < 1e-7


def test_lstm_step_forward_matches_notebook():
    N, D, H = 3, 4, 5
    next_h, next_c, _ = lstm_step_forward(
        lin(-0.4, 1.2, N, D), lin(-0.3, 0.7, N, H), lin(-0.4, 0.9, N, H),
        lin(-2.1, 1.3, D, 4 * H), lin(-0.7, 2.2, H, 4 * H), lin(0.3, 0.7, 4 * H))
    expected_h = np.asarray([[0.24635157, 0.28610883, 0.32240467, 0.35525807, 0.38474904],
                             [0.49223563, 0.55611431, 0.61507696, 0.66844003, 0.7159181],
                             [0.56735664, 0.66310127, 0.74419266, 0.80889665, 0.858299]])
    expected_c = np.asarray([[0.32986176, 0.39145139, 0.451556, 0.51014116, 0.56717407],
                             [0.66382255, 0.76674007, 0.87195994, 0.97902709, 1.08751345],
                             [0.74192008, 0.90592151, 1.07717006, 1.25120233, 1.42395676]])
    assert rel_error(expected_h, next_h) < 1e-7
    assert rel_error(expected_c, next_c) < 1e-7


def test_lstm_forward_matches_notebook():
    N, D, H, T = 2, 5, 4, 3
    h, _ = lstm_forward(lin(-0.4, 0.6, N, T, D), lin(-0.4, 0.8, N, H), lin(-0.2, 0.9, D, 4 * H),
                        lin(-0.3, 0.6, H, 4 * H), lin(0.2, 0.7, 4 * H))
    expected = np.asarray([
        [[0.01764008, 0.01823233, 0.01882671, 0.0194232],
         [0.11287491, 0.12146228, 0.13018446, 0.13902939],
         [0.31358768, 0.33338627, 0.35304453, 0.37250975]],
        [[0.45767879, 0.4761092, 0.4936887, 0.51041945],
         [0.6704845, 0.69350089, 0.71486014, 0.7346449],
         [0.81733511, 0.83677871, 0.85403753, 0.86935314]]])
    assert rel_error(expected, h) < 1e-7


@pytest.mark.parametrize("N, T, V, p, lo, hi", [
    (100, 1, 10, 1.0, 2.2, 2.4),       # the notebook: "should be about 2.3"
    (100, 10, 10, 1.0, 22.5, 23.5),    # "should be about 23"
    (5000, 10, 10, 0.1, 2.2, 2.4),     # "should be within 2.2-2.4"
])
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
