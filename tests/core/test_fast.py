"""core.fast, the training step's fast path, held to the reference layers and Adam it replaces."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core import CaptioningRNN, CaptioningSolver, fast, optim

ROOT = Path(__file__).resolve().parents[2]
WORDS = {w: i for i, w in enumerate(["<NULL>", "<START>", "<END>", "<UNK>"] + [f"w{i}" for i in range(40)])}


def test_numba_is_installed():
    """The fast path is part of the product: without numba every float32 model would
    quietly train on the slower reference layers, and the tests below would compare it
    with itself."""
    model, _, _ = batch()
    assert fast.numba is not None and fast.takes(model.params)
    assert not fast.takes(as_float64(model).params)


def batch(seed=0, N=7, T=9, D=12, W=10, H=16, cell="lstm", scale=1.0):
    """A float32 model and a minibatch with repeated words and <NULL> padding of varied length."""
    rng = np.random.default_rng(seed)
    model = CaptioningRNN(WORDS, input_dim=D, wordvec_dim=W, hidden_dim=H, cell_type=cell, rng=rng)
    for name, w in model.params.items():
        model.params[name] = (w + 0.1 * rng.standard_normal(w.shape) * scale).astype(np.float32)
    captions = rng.integers(3, 12, size=(N, T + 1))
    captions[:, 0] = WORDS["<START>"]
    for n, length in enumerate(rng.integers(2, T + 1, size=N)):
        captions[n, length] = WORDS["<END>"]
        captions[n, length + 1:] = WORDS["<NULL>"]
    return model, rng.standard_normal((N, D)).astype(np.float32) * scale, captions


def fast_loss(model, features, captions):
    """core.fast.loss called as CaptioningRNN.loss calls it."""
    return fast.loss(model.params, features, captions, model.cell_type, model.null_id)


def as_float64(model):
    twin = CaptioningRNN(model.word_to_idx, model.input_dim, model.wordvec_dim, model.hidden_dim,
                         cell_type=model.cell_type, dtype=np.float64, rng=np.random.default_rng(0))
    twin.params = {k: v.astype(np.float64) for k, v in model.params.items()}
    return twin


def worst_error(grads, exact):
    """The largest error of any gradient, relative to that gradient's largest entry."""
    return max(np.abs(grads[k] - exact[k]).max() / np.abs(exact[k]).max() for k in exact)


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
@pytest.mark.parametrize("scale", [1.0, 6.0])       # 6: saturated gates and tanh, peaked softmax
def test_fast_loss_is_as_close_to_float64_as_the_reference(cell, scale):
    model, features, captions = batch(cell=cell, scale=scale)
    exact_loss, exact = as_float64(model).layers_loss(features.astype(np.float64), captions)
    ref_loss, ref = model.layers_loss(features, captions)
    loss, grads = fast_loss(model, features, captions)
    assert set(grads) == set(model.params)
    assert all(grads[k].shape == w.shape and grads[k].dtype == np.float32 for k, w in model.params.items())
    assert abs(loss - exact_loss) <= max(4 * abs(ref_loss - exact_loss), 2e-6 * abs(exact_loss))
    assert worst_error(grads, exact) <= max(4 * worst_error(ref, exact), 2e-5)


def test_every_position_kept_and_none_kept():
    model, features, captions = batch(cell="lstm")
    full = captions.copy()
    full[full == WORDS["<NULL>"]] = 5                   # no padding: every position counts
    loss, grads = fast_loss(model, features, full)
    ref_loss, ref = model.layers_loss(features, full)
    assert abs(loss - ref_loss) < 1e-5 * ref_loss and worst_error(grads, ref) < 1e-4
    empty = captions.copy()
    empty[:, 1:] = WORDS["<NULL>"]                      # nothing to predict
    loss, grads = fast_loss(model, features, empty)
    assert loss == 0 and all(not g.any() for g in grads.values())


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_sequences_of_every_length_in_any_order(cell):
    """The fast path runs the longest sequences first and each step only over those not yet
    ended: a <NULL> target inside a caption, a caption with nothing to predict between two
    others, lengths in no order and one word in most positions give the reference's numbers."""
    model, features, captions = batch(cell=cell, N=6, T=8)
    captions[:, 1:] = 5                                 # one word everywhere: few distinct words
    captions[0, 4:] = WORDS["<NULL>"]                   # length 3
    captions[1, 1:] = WORDS["<NULL>"]                   # nothing to predict
    captions[2, 3] = WORDS["<NULL>"]                    # a hole at step 2, then words to step 7
    captions[4, 2:] = WORDS["<NULL>"]                   # length 1
    loss, grads = fast_loss(model, features, captions)
    ref_loss, ref = model.layers_loss(features, captions)
    assert abs(loss - ref_loss) < 1e-5 * ref_loss and worst_error(grads, ref) < 1e-4
    assert grads["W_embed"][5].any() and not np.delete(grads["W_embed"], [0, 1, 5], axis=0).any()
    shuffled = np.random.default_rng(1).permutation(6)  # the batch's order changes nothing
    loss2, grads2 = fast_loss(model, features[shuffled], captions[shuffled])
    assert abs(loss2 - loss) < 1e-6 * loss and worst_error(grads2, grads) < 1e-5


SAME_BITS = """
import hashlib, sys
import numpy as np
from core import CaptioningRNN, fast, load_coco_data
data = load_coco_data(max_train=50, seed=0)
rng = np.random.default_rng(231)
held = [np.empty(int(size), np.uint8) for size in rng.integers(1, 5000, size=int(sys.argv[1]))]
digest = hashlib.sha256()
for cell in ("rnn", "lstm"):
    model = CaptioningRNN(data["word_to_idx"], 512, 256, 512, cell_type=cell, rng=np.random.default_rng(231))
    rows = np.random.default_rng(7).integers(0, 50, 25)
    features = data["train_features"][data["train_image_idxs"][rows]].astype(np.float32)
    for turn in range(6):                      # the heap moves on between calls
        held.append(np.empty(int(rng.integers(1, 5000)), np.uint8))
        loss, grads = fast.loss(model.params, features, data["train_captions"][rows], cell, model.null_id)
        digest.update(np.float64(loss).tobytes() + b"".join(grads[k].tobytes() for k in sorted(grads)))
print(digest.hexdigest())
"""


def test_the_same_batch_gives_the_same_bits_wherever_the_arrays_lie():
    """A run and the notebook's cell must agree bit for bit (tests/explorer/runs/test_local.py),
    so no sum may depend on where the allocator put an array: with the bias gradient summed
    inside the vectorized backward loops, the same batch at the notebook's shape gave other
    last bits in one process of a few. Fresh processes, each with its heap shifted another
    way and moving on between calls, must all give the same bits."""
    digests = {subprocess.run([sys.executable, "-c", SAME_BITS, str(shift)], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout for shift in (0, 3, 11, 29, 57)}
    assert len(digests) == 1, digests


def test_model_loss_takes_the_fast_path_for_float32_only():
    model, features, captions = batch(cell="rnn")
    loss, grads = model.loss(features, captions)
    loss_fast, grads_fast = fast_loss(model, features, captions)
    assert loss == loss_fast and all(np.array_equal(grads[k], grads_fast[k]) for k in grads)
    twin = as_float64(model)
    loss64, grads64 = twin.loss(features, captions)
    ref64, ref_grads64 = twin.layers_loss(features, captions)
    assert loss64 == ref64 and all(np.array_equal(grads64[k], ref_grads64[k]) for k in grads64)
    assert all(g.dtype == np.float64 for g in grads64.values())


def test_weights_of_another_dtype_fall_back_to_the_layers():
    model, features, captions = batch(cell="lstm")
    model.params["Wh"] = model.params["Wh"].astype(np.float64)      # as a careless assignment would
    assert not fast.takes(model.params)
    loss, grads = model.loss(features, captions)
    ref_loss, ref = model.layers_loss(features, captions)
    assert loss == ref_loss and all(np.array_equal(grads[k], ref[k]) for k in grads)


@pytest.mark.parametrize("where", ["input", "target"])
def test_a_word_id_outside_the_vocabulary_is_an_index_error(where):
    """The compiled loops do not check indices: the ids are checked before them, as numpy would."""
    model, features, captions = batch(cell="lstm")
    captions[2, 3 if where == "input" else -1] = len(WORDS) + 5
    if where == "target":
        captions[2, 1:-1] = 5
    with pytest.raises(IndexError):
        fast_loss(model, features, captions)


def test_a_negative_id_counts_as_the_reference_counts_it():
    """The reference masks the targets by the ids as given, so `-V`, numpy's alias of
    <NULL>, is predicted and scored like any word; the fast path does the same."""
    model, features, captions = batch(cell="lstm")
    captions[2, 1:] = 5
    captions[2, -1] = -len(WORDS)                      # a target only (the last column is no input)
    loss, grads = fast_loss(model, features, captions)
    ref_loss, ref = model.layers_loss(features, captions)
    assert abs(loss - ref_loss) < 1e-5 * ref_loss and worst_error(grads, ref) < 1e-4


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_a_nan_reaches_the_loss(cell):
    """Fast-math must not promise away NaN and infinity: the solver stops a diverging run on them."""
    model, features, captions = batch(cell=cell)
    model.params["Wh"][3, 1] = np.nan
    with np.errstate(all="ignore"):                    # as the solver runs it
        loss, grads = fast_loss(model, features, captions)
    assert np.isnan(loss)
    model, features, captions = batch(cell=cell)
    model.params["W_vocab"][:, 4] = np.inf
    with np.errstate(all="ignore"):
        loss, _ = fast_loss(model, features, captions)
    assert not np.isfinite(loss)


def test_tanh_and_exp_across_their_range():
    """The rational tanh (through the RNN step: h = tanh(z)) and the softmax's exp, against float64."""
    x = np.concatenate([np.linspace(-30, 30, 200_001), [-1e30, 1e30, 0.0, -0.0, 1e-30]]).astype(np.float32)
    hs = np.zeros((2, 1, x.size), np.float32)          # one sequence whose hidden state is x.size wide
    fast._rnn_step(x[None, :], np.zeros((1, x.size), np.float32), np.zeros((1, 1), np.intp),
                   np.zeros(x.size, np.float32), 0, 1, hs)
    assert np.abs(hs[1, 0] - np.tanh(x.astype(np.float64))).max() < 5e-7
    assert np.abs(hs[1, 0]).max() <= 1
    rng = np.random.default_rng(3)
    scores = (rng.standard_normal((50, 300)) * np.linspace(0.1, 40, 50)[:, None]).astype(np.float32)
    targets = rng.integers(0, 300, size=50)
    bias = rng.standard_normal(300).astype(np.float32)
    exact = (scores + bias).astype(np.float64)          # the loop's own float32 sums
    exact -= exact.max(axis=1, keepdims=True)
    log_p = exact - np.log(np.exp(exact).sum(axis=1, keepdims=True))
    grad = np.exp(log_p)
    grad[np.arange(50), targets] -= 1
    work = scores.copy()
    dbias = np.full(300, np.nan, np.float32)
    loss = fast._softmax_loss(work, bias, targets, np.float32(0.5), dbias)
    assert abs(loss - 0.5 * -log_p[np.arange(50), targets].sum()) < 1e-6 * abs(loss)
    assert np.abs(work - 0.5 * grad).max() < 1e-6
    assert np.abs(dbias - 0.5 * grad.sum(axis=0)).max() < 1e-5


@pytest.mark.parametrize("size", [1, 7, 8, 9, 1003])
def test_all_finite_finds_a_nan_or_an_infinity_anywhere(size):
    """The solver's check of every gradient: any one NaN or infinity, at the first, a middle or
    the last entry of any array, makes it False; large but finite entries do not (a float32
    sum of them overflows, which `np.isfinite(a.sum())`, the check for other dtypes, takes for
    an infinity)."""
    clean = [np.linspace(-1, 1, size, dtype=np.float32).reshape(-1, 1), np.ones((3, 4), np.float32)]
    assert fast.all_finite(clean)
    for bad in (np.nan, np.inf, -np.inf):
        for at in {0, size // 2, size - 1}:
            spoiled = clean[0].copy()
            spoiled[at] = bad
            assert not fast.all_finite([clean[1], spoiled])
    huge = np.full(size + 1, 3e38, np.float32)
    with np.errstate(over="ignore"):
        assert fast.all_finite([huge]) and not np.isfinite(huge.sum())
    assert not fast.all_finite([np.array([1.0, np.nan])])                      # float64: numpy's way
    strided = np.ones((4, 6), np.float32).T
    strided[2, 3] = np.inf
    assert not fast.all_finite([strided])                                      # not C-contiguous: numpy's way


def test_fast_adam_follows_optim_adam():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((30, 20)).astype(np.float32)
    ours, theirs = w.copy(), w.copy()
    ours_config, theirs_config = {"learning_rate": 5e-3}, {"learning_rate": 5e-3}
    for step in range(6):
        dw = rng.standard_normal(w.shape).astype(np.float32) * (10 if step == 3 else 1)
        ours, ours_config = fast.adam(ours, dw, ours_config)
        theirs, theirs_config = optim.adam(theirs, dw, theirs_config)
        ours_config["learning_rate"] *= 0.9
        theirs_config["learning_rate"] *= 0.9
    assert ours_config["t"] == theirs_config["t"] == 6
    for key in ("m", "v"):
        np.testing.assert_allclose(ours_config[key], theirs_config[key], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-6)
    assert not np.allclose(ours, w)


@pytest.mark.parametrize("case", ["float64", "fortran", "float64 moments"])
def test_fast_adam_leaves_what_it_cannot_take_to_optim_adam(case):
    rng = np.random.default_rng(1)
    w = rng.standard_normal((6, 4)).astype(np.float32)
    dw = rng.standard_normal((6, 4)).astype(np.float32)
    config = {"learning_rate": 1e-2}
    if case == "float64":
        w, dw = w.astype(np.float64), dw.astype(np.float64)
    elif case == "fortran":
        w, dw = np.asfortranarray(w), np.asfortranarray(dw)
    elif case == "float64 moments":                     # as an old checkpoint may hold them
        config.update(m=np.full(w.shape, 0.1), v=np.full(w.shape, 0.2), t=3)
    expected_config = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in config.items()}
    expected, expected_config = optim.adam(w.copy(), dw, expected_config)
    got, config = fast.adam(w.copy(), dw, config)
    assert np.array_equal(got, expected) and config["t"] == expected_config["t"]


def test_fast_adam_refuses_a_gradient_of_another_shape():
    """The compiled loop would read past a smaller gradient: the call goes to optim.adam,
    which raises as numpy does."""
    w = np.zeros((6, 4), np.float32)
    with pytest.raises(ValueError):
        fast.adam(w, np.ones((6, 1), np.float32), {})


def test_training_with_the_fast_path_overfits():
    """A small float32 run (fast loss and fast Adam) learns its five captions as the reference does."""
    model, features, captions = batch(cell="lstm", N=5, T=6)
    data = {"train_captions": captions, "train_image_idxs": np.arange(5), "train_features": features,
            "train_urls": np.array([""] * 5)}
    losses = {}
    for name, rule in (("fast", None), ("reference", optim.adam)):
        net = CaptioningRNN(WORDS, 12, 10, 16, cell_type="lstm", rng=np.random.default_rng(7))
        solver = CaptioningSolver(net, data, update_rule="adam", optim_config={"learning_rate": 2e-2},
                                  batch_size=5, num_epochs=100, verbose=False, seed=0)
        if rule is not None:                            # the reference: layers and optim.adam
            solver._rule = rule
            net.loss = net.layers_loss
        assert solver.train() == "done"
        losses[name] = solver.loss_history
    assert losses["fast"][-1] < 0.03 * losses["fast"][0]
    np.testing.assert_allclose(losses["fast"], losses["reference"], rtol=2e-3)


def test_the_compiled_loops_load_from_numba_s_cache():
    """A second process finds every loop in the cache the first one filled (as `make setup`
    does), so a training run never waits for the compiler."""
    probe = ("import json; from core import fast; fast.compile_all(); print(json.dumps("
             "{n: [sum(d.stats.cache_hits.values()), sum(d.stats.cache_misses.values())]"
             " for n, d in vars(fast).items() if hasattr(d, 'stats') and d.stats.cache_path}))")
    for _ in range(2):
        done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    stats = json.loads(done.stdout)
    assert {"_lstm_step", "_lstm_step_back", "_rnn_step", "_rnn_step_back", "_softmax_loss", "_adam",
            "_sum_by_word"} <= set(stats)
    assert all(hits > 0 and misses == 0 for hits, misses in stats.values()), stats


def test_a_training_step_needs_no_loop_compile_all_did_not_compile():
    """compile_all covers the argument types a real step passes (padded or not, any batch
    size down to one caption, one hidden unit, either cell): in a fresh process, steps after
    it compile nothing more, so a walled worker never needs the compiler."""
    probe = """
import json, sys
import numpy as np
sys.path.insert(0, "tests/core")
from core import CaptioningSolver, fast
from test_fast import WORDS, batch
fast.compile_all()
count = lambda: {n: len(d.signatures) for n, d in vars(fast).items() if hasattr(d, "signatures")}
before = count()
for cell in ("rnn", "lstm"):
    for padded, N, H in ((True, 11, 16), (False, 11, 16), (True, 1, 16), (True, 4, 1)):
        model, features, captions = batch(cell=cell, N=N, T=13, H=H)
        if not padded:
            captions[captions == WORDS["<NULL>"]] = 5
        data = {"train_captions": captions.astype(np.int32), "train_image_idxs": np.arange(N),
                "train_features": features, "train_urls": np.array([""] * N)}
        solver = CaptioningSolver(model, data, update_rule="adam", batch_size=N, verbose=False, seed=0)
        assert np.isfinite(solver._step())
print(json.dumps([before, count()]))
"""
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    before, after = json.loads(done.stdout)
    assert after == before and before["_lstm_step"] >= 1 and before["_sum_by_word"] >= 1


def test_features_and_captions_of_different_batch_sizes_are_refused():
    """The fast path reorders the rows by caption length; a mismatch must not pass unseen."""
    model, features, captions = batch(cell="lstm")
    with pytest.raises(ValueError):
        model.layers_loss(np.vstack([features, features[:1]]), captions)
    with pytest.raises(ValueError, match="feature rows"):
        model.loss(np.vstack([features, features[:1]]), captions)
