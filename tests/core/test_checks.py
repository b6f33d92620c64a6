"""The layer lab's checks: the notebook's setups pass, broken backward passes fail loudly,
user sizes and seeds are honoured or refused with a message."""
import numpy as np
import pytest

from core import (eval_numerical_gradient_array, layers, rel_error, rnn_step_backward,
                  rnn_step_forward)
from core import broken as B
from core.checks import (LAYERS, MAX_SIZE, CheckError, CheckRow, check_sizes,
                         forward_check, gradient_check, run_checks)


@pytest.mark.parametrize("key", LAYERS)
def test_the_notebook_setup_passes_every_check(key):
    report = run_checks(key)
    assert report.seed == 231 and report.sizes == LAYERS[key].sizes          # the notebook's seed
    assert report.passed, [(r.quantity, r.value) for r in report.failures]
    gradients = [r for r in report.rows if r.check == "gradient"]
    assert gradients and all(r.measure == "relative error" for r in gradients)
    assert all(r.array_error < r.threshold for r in gradients)


@pytest.mark.parametrize("key", LAYERS)
def test_a_broken_backward_makes_the_errors_jump(key):
    good = gradient_check(key)
    bad = gradient_check(key, broken=True)
    assert [r.quantity for r in good] == [r.quantity for r in bad]
    failed = [r for r in bad if not r.passed]
    assert failed, f"{key}: the broken backward pass went unnoticed"
    assert max(r.value for r in failed) > 1e-2
    # orders of magnitude above a right gradient's error (over the array: the max over
    # entries of a right one can be noisy where the gradient is almost zero)
    assert max(r.array_error for r in failed) > 1e4 * max(r.array_error for r in good)
    # the forward pass is not what is broken: its rows are the same either way
    assert run_checks(key, broken=True).rows[:len(forward_check(key))] == tuple(forward_check(key))


@pytest.mark.parametrize("key, wrong", [("temporal_affine", {"db"}),
                                        ("model_rnn", {"W_proj", "b_proj"}),
                                        ("model_lstm", {"W_proj", "b_proj"})])
def test_the_check_points_at_the_wrong_gradient(key, wrong):
    rows = gradient_check(key, broken=True)
    assert {r.quantity for r in rows if not r.passed} == wrong


def test_the_notebook_cell_gives_the_same_numbers():
    """Seed 231 reproduces the notebook's own draws (np.random.seed, then randn in order)."""
    np.random.seed(231)
    N, D, H = 4, 5, 6
    x, h, Wx, Wh, b = (np.random.randn(*s) for s in [(N, D), (N, H), (D, H), (H, H), (H,)])
    out, cache = rnn_step_forward(x, h, Wx, Wh, b)
    dnext_h = np.random.randn(*out.shape)
    dx_num = eval_numerical_gradient_array(lambda x: rnn_step_forward(x, h, Wx, Wh, b)[0], x, dnext_h)
    dx = rnn_step_backward(dnext_h, cache)[0]
    state = np.random.get_state()[1].copy()
    rows = gradient_check("rnn_step")
    assert rows[0].quantity == "dx" and rows[0].value == rel_error(dx_num, dx)
    np.testing.assert_array_equal(np.random.get_state()[1], state)   # global state untouched


def test_user_sizes_and_seed_are_used_and_reproducible():
    sizes = {"N": 3, "T": 4, "D": 2, "H": 3}
    a = run_checks("lstm", sizes, seed=7)
    b = run_checks("lstm", sizes, seed=7)
    c = run_checks("lstm", sizes, seed=8)
    assert a.sizes == sizes and a.seed == 7 and a.passed
    assert a.rows == b.rows
    assert [r.value for r in a.rows if r.check == "gradient"] != \
           [r.value for r in c.rows if r.check == "gradient"]


def test_partial_sizes_fill_in_the_notebooks():
    assert check_sizes("rnn", {"H": 8}) == {"N": 2, "T": 10, "D": 3, "H": 8}


@pytest.mark.parametrize("key, sizes, seed, match", [
    ("rnn_step", {"H": 0}, 231, "H \\(hidden size\\) must be a whole number from 1"),
    ("rnn_step", {"H": MAX_SIZE + 1}, 231, f"to {MAX_SIZE}"),
    ("rnn_step", {"D": 2.5}, 231, "D \\(input size\\)"),
    ("rnn_step", {"N": True}, 231, "N \\(batch size\\)"),
    ("rnn_step", {"T": 3}, 231, "has no size T"),
    ("model_rnn", {"T": 1}, 231, "from 2"),
    ("lstm", {"H": 60, "D": 60}, 231, "numbers to perturb"),
    ("rnn", {"T": 100, "N": 2, "D": 10}, 231, "time steps"),
    ("rnn_step", None, -1, "seed"),
    ("gru", None, 231, "Unknown layer"),
])
def test_bad_sizes_are_refused_with_a_message(key, sizes, seed, match):
    with pytest.raises(CheckError, match=match):
        run_checks(key, sizes, seed=seed)


def test_a_noisy_near_zero_entry_does_not_fail_a_row():
    noisy = CheckRow("gradient", "dWx", "relative error", 3e-4, 1e-5, array_error=2e-9)
    wrong = CheckRow("gradient", "dWx", "relative error", 3e-4, 1e-5, array_error=0.2)
    assert noisy.passed and noisy.noisy
    assert not wrong.passed and not wrong.noisy
    sanity = CheckRow("forward", "loss", "value", 2.3, 2.4, low=2.2)
    assert sanity.passed and sanity.expected == "2.2 to 2.4"
    assert not CheckRow("forward", "loss", "value", 2.1, 2.4, low=2.2).passed
    assert not CheckRow("forward", "h", "relative error", float("nan"), 1e-7).passed


def test_forward_checks_compare_with_the_notebook_values():
    assert [r.quantity for r in forward_check("lstm_step")] == ["next_h", "next_c"]
    assert forward_check("temporal_affine") == []     # the notebook has none for it
    losses = forward_check("temporal_softmax_loss")
    assert [round(r.value) for r in losses] == [2, 23, 2] and all(r.passed for r in losses)
    (model_row,) = forward_check("model_lstm")
    assert model_row.measure == "difference" and model_row.value < 1e-9


@pytest.mark.parametrize("pair, forward, inputs", [
    (B.rnn_step, layers.rnn_step_forward, [(3, 4), (3, 5), (4, 5), (5, 5), (5,)]),
    (B.rnn, layers.rnn_forward, [(3, 6, 4), (3, 5), (4, 5), (5, 5), (5,)]),
    (B.lstm_step, layers.lstm_step_forward, [(3, 4), (3, 5), (3, 5), (4, 20), (5, 20), (20,)]),
    (B.lstm, layers.lstm_forward, [(3, 6, 4), (3, 5), (4, 20), (5, 20), (20,)]),
    (B.temporal_affine, layers.temporal_affine_forward, [(3, 6, 4), (4, 7), (7,)]),
])
def test_broken_pairs_compute_the_right_forward_values(pair, forward, inputs):
    rng = np.random.default_rng(0)
    args = [rng.standard_normal(s) for s in inputs]
    broken_forward, _ = pair()
    n_out = 2 if pair is B.lstm_step else 1
    for mine, theirs in zip(broken_forward(*args)[:n_out], forward(*args)[:n_out]):
        np.testing.assert_allclose(mine, theirs, rtol=1e-12)


@pytest.mark.parametrize("key", LAYERS)
def test_every_layer_has_equations_and_a_described_bug(key):
    layer = LAYERS[key]
    assert layer.equations and layer.bug and layer.bug_equation
    for tex in (*layer.equations, layer.bug_equation):
        assert tex.count("{") == tex.count("}"), tex
        assert tex.count(r"\big(") == tex.count(r"\big)"), tex
