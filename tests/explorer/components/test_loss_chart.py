"""The loss chart's smoothing and data: TensorBoard's debiased EMA, thinned long curves."""
import numpy as np
import pytest

from explorer.components.loss_chart import MAX_POINTS, curves_frame, ema


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
