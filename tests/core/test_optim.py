"""Update rules: the course's fixed-input checks, and the in-place contract."""
import numpy as np
import pytest

from core import adam, rel_error, rmsprop, sgd, sgd_momentum

N, D = 4, 5


def lin(lo, hi):
    return np.linspace(lo, hi, num=N * D).reshape(N, D)


def test_sgd_momentum_matches_course_values():
    config = {"learning_rate": 1e-3, "velocity": lin(0.6, 0.9)}
    next_w, config = sgd_momentum(lin(-0.4, 0.6), lin(-0.6, 0.4), config=config)
    expected_next_w = np.asarray([
        [0.1406, 0.20738947, 0.27417895, 0.34096842, 0.40775789],
        [0.47454737, 0.54133684, 0.60812632, 0.67491579, 0.74170526],
        [0.80849474, 0.87528421, 0.94207368, 1.00886316, 1.07565263],
        [1.14244211, 1.20923158, 1.27602105, 1.34281053, 1.4096]])
    expected_velocity = np.asarray([
        [0.5406, 0.55475789, 0.56891579, 0.58307368, 0.59723158],
        [0.61138947, 0.62554737, 0.63970526, 0.65386316, 0.66802105],
        [0.68217895, 0.69633684, 0.71049474, 0.72465263, 0.73881053],
        [0.75296842, 0.76712632, 0.78128421, 0.79544211, 0.8096]])
    assert rel_error(next_w, expected_next_w) < 1e-8
    assert rel_error(config["velocity"], expected_velocity) < 1e-8


def test_rmsprop_matches_course_values():
    config = {"learning_rate": 1e-2, "cache": lin(0.6, 0.9)}
    next_w, config = rmsprop(lin(-0.4, 0.6), lin(-0.6, 0.4), config=config)
    expected_next_w = np.asarray([
        [-0.39223849, -0.34037513, -0.28849239, -0.23659121, -0.18467247],
        [-0.132737, -0.08078555, -0.02881884, 0.02316247, 0.07515774],
        [0.12716641, 0.17918792, 0.23122175, 0.28326742, 0.33532447],
        [0.38739248, 0.43947102, 0.49155973, 0.54365823, 0.59576619]])
    expected_cache = np.asarray([
        [0.5976, 0.6126277, 0.6277108, 0.64284931, 0.65804321],
        [0.67329252, 0.68859723, 0.70395734, 0.71937285, 0.73484377],
        [0.75037008, 0.7659518, 0.78158892, 0.79728144, 0.81302936],
        [0.82883269, 0.84469141, 0.86060554, 0.87657507, 0.8926]])
    assert rel_error(next_w, expected_next_w) < 1e-7
    assert rel_error(config["cache"], expected_cache) < 1e-8


def test_adam_matches_course_values():
    config = {"learning_rate": 1e-2, "m": lin(0.6, 0.9), "v": lin(0.7, 0.5), "t": 5}
    next_w, config = adam(lin(-0.4, 0.6), lin(-0.6, 0.4), config=config)
    expected_next_w = np.asarray([
        [-0.40094747, -0.34836187, -0.29577703, -0.24319299, -0.19060977],
        [-0.1380274, -0.08544591, -0.03286534, 0.01971428, 0.0722929],
        [0.1248705, 0.17744702, 0.23002243, 0.28259667, 0.33516969],
        [0.38774145, 0.44031188, 0.49288093, 0.54544852, 0.59801459]])
    expected_v = np.asarray([
        [0.69966, 0.68908382, 0.67851319, 0.66794809, 0.65738853],
        [0.64683452, 0.63628604, 0.6257431, 0.61520571, 0.60467385],
        [0.59414753, 0.58362676, 0.57311152, 0.56260183, 0.55209767],
        [0.54159906, 0.53110598, 0.52061845, 0.51013645, 0.49966]])
    expected_m = np.asarray([
        [0.48, 0.49947368, 0.51894737, 0.53842105, 0.55789474],
        [0.57736842, 0.59684211, 0.61631579, 0.63578947, 0.65526316],
        [0.67473684, 0.69421053, 0.71368421, 0.73315789, 0.75263158],
        [0.77210526, 0.79157895, 0.81105263, 0.83052632, 0.85]])
    assert rel_error(next_w, expected_next_w) < 2e-7      # the notebook shows 1.14e-07 here
    assert rel_error(config["v"], expected_v) < 1e-7
    assert rel_error(config["m"], expected_m) < 1e-7
    assert config["t"] == 6


@pytest.mark.parametrize("rule", [sgd, sgd_momentum, rmsprop, adam])
def test_rules_fill_defaults_keep_dtype_and_descend(rule):
    """Minimising ||w||^2 with the defaults: float32 stays float32 and the loss falls."""
    w = np.linspace(-1, 1, 50, dtype=np.float32)
    start = float(np.sum(w * w))
    config = None
    for _ in range(1000):
        w, config = rule(w, 2 * w, config)
    assert w.dtype == np.float32
    assert float(np.sum(w * w)) < 0.5 * start
    assert "learning_rate" in config


def test_adam_in_chunks_equals_the_textbook_update_on_any_layout():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((300, 400)).astype(np.float32)   # 120,000 entries: two chunks
    dw = rng.standard_normal((300, 400)).astype(np.float32)
    expected_w, m, v = w.astype(np.float64), np.zeros(w.shape), np.zeros(w.shape)
    config, fortran = None, np.asfortranarray(w.copy())
    fconfig = None
    for t in range(1, 4):
        m = 0.9 * m + 0.1 * dw
        v = 0.999 * v + 0.001 * dw.astype(np.float64) ** 2
        expected_w = expected_w - 1e-3 * (m / (1 - 0.9 ** t)) / (np.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
        w, config = adam(w, dw, config)
        fortran, fconfig = adam(fortran, dw, fconfig)
    np.testing.assert_allclose(w, expected_w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fortran, expected_w, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(config["v"], v, rtol=1e-5)
