"""The loss chart's smoothing and data: TensorBoard's debiased EMA, thinned long curves."""
import numpy as np
import pandas as pd
import pytest

from explorer.components.loss_chart import MAX_POINTS, _curves_frame, curves_frame, ema


def tensorboard_ema(values, weight):
    """TensorBoard's smoothing loop, written out."""
    out, last, debias = [], 0.0, 1.0
    for v in values:
        last = weight * last + (1 - weight) * v
        debias *= weight
        out.append(last / (1 - debias))
    return out


@pytest.mark.parametrize("weight", [0.01, 0.6, 0.99])
def test_ema_is_tensorboards_debiased_smoothing(weight):
    values = np.linspace(50.0, 0.1, 400) + np.sin(np.arange(400))
    smoothed = ema(values, weight)
    np.testing.assert_allclose(smoothed, tensorboard_ema(values, weight), rtol=1e-12)
    assert smoothed[0] == values[0]                          # it starts at the first loss, not at 0


def test_ema_of_weight_zero_is_the_raw_loss():
    values = np.array([3.0, 1.0, 2.0])
    np.testing.assert_array_equal(ema(values, 0.0), values)
    assert ema(np.array([]), 0.6).shape == (0,)


def test_a_long_curve_is_thinned_after_smoothing():
    n = 20_000
    curves = [("run", np.arange(1, n + 1), np.linspace(50, 1, n)), ("empty", np.arange(0), np.zeros(0))]
    frame = curves_frame(curves, smoothing=0.9).to_pandas()
    assert MAX_POINTS // 2 <= len(frame) <= MAX_POINTS and set(frame["run"]) == {"run"}
    assert frame["iteration"].iloc[0] == 1
    np.testing.assert_allclose(frame["smoothed"], ema(np.linspace(50, 1, n), 0.9)[frame["iteration"] - 1])


def test_curves_with_one_label_share_it_and_no_curve_is_an_empty_table():
    curves = [("run", np.arange(1, 4), np.ones(3)), ("reference", np.arange(1, 3), np.ones(2)),
              ("run", np.arange(4, 6), np.ones(2))]
    frame = curves_frame(curves, smoothing=0.0).to_pandas()
    assert list(frame["run"]) == ["run"] * 3 + ["reference"] * 2 + ["run"] * 2
    assert list(frame["iteration"]) == [1, 2, 3, 1, 2, 4, 5]
    empty = curves_frame([("none", np.arange(0), np.zeros(0))], smoothing=0.5)
    assert empty.num_rows == 0 and empty.column_names == ["run", "iteration", "loss", "smoothed"]


def test_the_same_curves_give_the_same_table_once_and_any_change_a_new_one():
    """Every session on the Train page draws the followed run's curve every second: the table is
    made once per curves and smoothing (`curves_frame` keeps it), and a curve that grew, or
    differs anywhere, or another smoothing, makes another."""
    rng = np.random.default_rng(0)
    losses = 50 * np.exp(-np.arange(300) / 80) + rng.random(300)
    iterations = np.arange(300)
    first = curves_frame([("run a", iterations, losses)], 0.6)
    again = curves_frame([("run a", iterations.copy(), losses.copy())], 0.6)
    assert again is first                                      # kept: not made again
    assert first.equals(_curves_frame([("run a", iterations, losses)], 0.6))
    middle = losses.copy()
    middle[150] += 1.0                                         # the same ends and length, one loss apart
    others = [[("run a", iterations[:-1], losses[:-1])], [("run b", iterations, losses)],
              [("run a", iterations, middle)]]
    for curves in others:
        made = curves_frame(curves, 0.6)
        assert made is not first and made.equals(_curves_frame(curves, 0.6))
    assert not curves_frame([("run a", iterations, middle)], 0.6).equals(first)
    assert curves_frame([("run a", iterations, losses)], 0.5) is not first


@pytest.mark.parametrize("weight", [0.01, 0.6, 0.9, 0.99])
def test_ema_over_many_blocks_is_pandas_adjusted_ewm(weight):
    """Long curves go in blocks (for weight 0.6, 676 values each) whose sums carry on: the same
    smoothing as pandas' adjusted EWM, which the chart used before, over 20,000 losses."""
    values = 60 * np.exp(-np.arange(20_000) / 3000) + np.random.default_rng(1).random(20_000)
    expected = pd.Series(values).ewm(alpha=1 - weight, adjust=True).mean().to_numpy()
    np.testing.assert_allclose(ema(values, weight), expected, rtol=1e-9)


def test_ema_of_a_diverged_curve_skips_what_is_missing_as_before():
    values = np.array([5.0, 4.0, np.nan, 3.0, np.inf])
    expected = pd.Series(values).ewm(alpha=0.4, adjust=True).mean().to_numpy()
    np.testing.assert_array_equal(ema(values, 0.6), expected)


def test_ema_of_astronomical_losses_does_not_overflow():
    values = np.array([1e60, 1e200, 3.0] * 400)
    expected = pd.Series(values).ewm(alpha=0.4, adjust=True).mean().to_numpy()
    np.testing.assert_allclose(ema(values, 0.6), expected, rtol=1e-12)
