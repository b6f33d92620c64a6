"""CaptioningRNN: the notebooks' loss values and whole-model gradient checks, init, sampling."""
import numpy as np
import pytest

from core import CaptioningRNN, eval_numerical_gradient, rel_error
from tests.core import notebook_values as nb

TOY_VOCAB = nb.MODEL_VOCAB


def notebook_loss_cell(cell):
    """The notebook's loss cell as it is written: linspace weights, features and caption ids."""
    N, D, W, H, T = (nb.MODEL_SIZES[k] for k in "NDWHT")
    V = len(nb.MODEL_VOCAB)
    model = CaptioningRNN(nb.MODEL_VOCAB, input_dim=D, wordvec_dim=W, hidden_dim=H, cell_type=cell,
                          dtype=np.float64)
    for k in model.params:
        model.params[k] = np.linspace(-1.4, 1.3, num=model.params[k].size).reshape(*model.params[k].shape)
    features = np.linspace(*nb.MODEL_FEATURES[cell], num=N * D).reshape(N, D)
    captions = (np.arange(N * T) % V).reshape(N, T)
    return model, features, captions


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_loss_matches_notebook(cell):
    model, features, captions = notebook_loss_cell(cell)
    assert model.params["W_embed"].dtype == np.float64 and captions.shape == (10, 13)
    loss, grads = model.loss(features, captions)
    assert abs(loss - nb.MODEL_LOSS[cell]) < 1e-9
    assert set(grads) == set(model.params)


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_model_gradients_match_numeric(cell):
    np.random.seed(231)
    batch_size, timesteps, input_dim, wordvec_dim, hidden_dim = 2, 3, 4, 5, 6
    captions = np.random.randint(len(TOY_VOCAB), size=(batch_size, timesteps))
    features = np.random.randn(batch_size, input_dim)
    model = CaptioningRNN(TOY_VOCAB, input_dim=input_dim, wordvec_dim=wordvec_dim,
                          hidden_dim=hidden_dim, cell_type=cell, dtype=np.float64)
    loss, grads = model.loss(features, captions)
    for name in sorted(grads):
        numeric = eval_numerical_gradient(lambda _: model.loss(features, captions)[0],
                                          model.params[name], verbose=False, h=1e-6)
        # entries near zero make the max relative error noisy for W_embed-sized values,
        # so bound each entry's error relative to its size, with a tiny absolute floor
        np.testing.assert_allclose(grads[name], numeric, rtol=1e-5, atol=1e-9, err_msg=name)
        if cell == "rnn":
            assert rel_error(numeric, grads[name]) < 1e-5, name


def test_init_follows_the_notebook_order_and_scales():
    np.random.seed(231)
    V, D, W, H = len(TOY_VOCAB), 7, 5, 6
    model = CaptioningRNN(TOY_VOCAB, input_dim=D, wordvec_dim=W, hidden_dim=H, cell_type="lstm",
                          dtype=np.float64)
    np.random.seed(231)
    expected = {"W_embed": np.random.randn(V, W) / 100,
                "W_proj": np.random.randn(D, H) / np.sqrt(D)}
    expected["Wx"] = np.random.randn(W, 4 * H) / np.sqrt(W)
    expected["Wh"] = np.random.randn(H, 4 * H) / np.sqrt(H)
    expected["W_vocab"] = np.random.randn(H, V) / np.sqrt(H)
    for name, value in expected.items():
        np.testing.assert_array_equal(model.params[name], value)
    for name in ("b_proj", "b", "b_vocab"):
        assert not model.params[name].any()
    assert model.params["b"].shape == (4 * H,)


def test_explicit_rng_leaves_global_state_alone():
    np.random.seed(5)
    before = np.random.get_state()[1].copy()
    a = CaptioningRNN(TOY_VOCAB, input_dim=3, wordvec_dim=4, hidden_dim=5, rng=np.random.default_rng(1))
    b = CaptioningRNN(TOY_VOCAB, input_dim=3, wordvec_dim=4, hidden_dim=5, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(np.random.get_state()[1], before)
    for name in a.params:
        np.testing.assert_array_equal(a.params[name], b.params[name])


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_float32_model_stays_float32(cell):
    vocab = {"<NULL>": 0, "<START>": 1, "<END>": 2, "<UNK>": 3, "a": 4, "b": 5}
    model = CaptioningRNN(vocab, input_dim=8, wordvec_dim=6, hidden_dim=5, cell_type=cell,
                          rng=np.random.default_rng(0))
    features = np.random.default_rng(1).standard_normal((3, 8))          # float64 in
    captions = np.array([[1, 4, 5, 2, 0], [1, 5, 2, 0, 0], [1, 4, 4, 4, 2]])
    loss, grads = model.loss(features, captions)
    assert np.isfinite(loss)
    assert all(v.dtype == np.float32 for v in model.params.values())
    assert all(g.dtype == np.float32 for g in grads.values())


@pytest.mark.parametrize("kwargs, match", [
    ({"cell_type": "gru"}, "cell_type"),
    ({"hidden_dim": 0}, "hidden_dim"),
    ({"wordvec_dim": 2.5}, "wordvec_dim"),
    ({"hidden_dim": None}, "hidden_dim"),
    ({"input_dim": float("inf")}, "input_dim"),
    ({"hidden_dim": "128"}, "hidden_dim"),
])
def test_bad_configuration_is_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        CaptioningRNN(TOY_VOCAB, **kwargs)


def test_sample_shape_and_null_after_end(tiny_model):
    features = np.random.default_rng(0).standard_normal((40, tiny_model.input_dim))
    captions = tiny_model.sample(features, max_length=12)
    assert captions.shape == (40, 12)
    assert captions.dtype.kind == "i"
    end, null = tiny_model._end, tiny_model._null
    ended = 0
    for row in captions:
        ends = np.flatnonzero(row == end)
        if ends.size:
            ended += 1
            assert np.all(row[ends[0] + 1:] == null)
        else:
            assert np.all(row != null)
    assert 0 < ended < len(captions)      # the fixture makes both kinds of rows


def composed_loss(model, features, captions):
    """The model's loss as the notebook composes it, every position through the temporal
    layers (<NULL> targets masked in the softmax): the reference for `CaptioningRNN.loss`."""
    from core import layers as L
    p, null = model.params, model.null_id
    captions_in, captions_out = captions[:, :-1], captions[:, 1:]
    h0, cache_proj = L.affine_forward(features, p["W_proj"], p["b_proj"])
    x, cache_embed = L.word_embedding_forward(captions_in, p["W_embed"])
    forward, backward = ((L.rnn_forward, L.rnn_backward) if model.cell_type == "rnn"
                         else (L.lstm_forward, L.lstm_backward))
    h, cache = forward(x, h0, p["Wx"], p["Wh"], p["b"])
    scores, cache_scores = L.temporal_affine_forward(h, p["W_vocab"], p["b_vocab"])
    loss, dscores = L.temporal_softmax_loss(scores, captions_out, captions_out != null)
    grads = {}
    dh, grads["W_vocab"], grads["b_vocab"] = L.temporal_affine_backward(dscores, cache_scores)
    dx, dh0, grads["Wx"], grads["Wh"], grads["b"] = backward(dh, cache)
    grads["W_embed"] = L.word_embedding_backward(dx, cache_embed)
    _, grads["W_proj"], grads["b_proj"] = L.affine_backward(dh0, cache_proj)
    return loss, grads


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
@pytest.mark.parametrize("ends", ["padded", "full", "all <NULL>"])
def test_loss_skipping_null_targets_equals_the_composed_layers_in_float32(cell, ends):
    """The model sends only the positions that count through its vocabulary layer; its loss
    and every gradient are those of the notebook's composition, to float32 rounding."""
    rng = np.random.default_rng(3)
    vocab = {w: i for i, w in enumerate(["<NULL>", "<START>", "<END>"] + [f"w{i}" for i in range(37)])}
    N, T, D = 25, 9, 20
    model = CaptioningRNN(vocab, input_dim=D, wordvec_dim=16, hidden_dim=24, cell_type=cell, rng=rng)
    captions = rng.integers(3, len(vocab), size=(N, T + 1))
    captions[:, 0] = vocab["<START>"]
    if ends == "padded":                                  # captions of 2 to T words, then <END>, <NULL>s
        for n, length in enumerate(rng.integers(2, T, size=N)):
            captions[n, length] = vocab["<END>"]
            captions[n, length + 1:] = vocab["<NULL>"]
    elif ends == "all <NULL>":
        captions[:, 1:] = vocab["<NULL>"]
    features = rng.standard_normal((N, D)).astype(np.float32)
    loss, grads = model.loss(features, captions)
    expected_loss, expected = composed_loss(model, features, captions)
    assert loss == pytest.approx(expected_loss, rel=1e-6, abs=1e-12)
    for name in model.params:
        assert grads[name].dtype == np.float32 and grads[name].shape == model.params[name].shape
        np.testing.assert_allclose(grads[name], expected[name], rtol=1e-4, atol=1e-6, err_msg=name)
    if ends == "all <NULL>":
        assert loss == 0 and all(not g.any() for g in grads.values())
    else:
        assert loss > 0 and grads["W_vocab"].any()
