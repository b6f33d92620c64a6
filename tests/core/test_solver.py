"""CaptioningSolver: notebook schedule, callbacks, stop, seeding, divergence, bad options."""
import threading

import numpy as np
import pytest

from core import CaptioningRNN, CaptioningSolver

from .conftest import VOCAB


def toy_data(num_captions=40, seed=0):
    """Captions that depend on the image: feature k>0 says which colour word appears."""
    rng = np.random.default_rng(seed)
    feats = rng.standard_normal((10, 10)).astype(np.float32)
    image_idxs = rng.integers(10, size=num_captions).astype(np.int32)
    colour = np.where(feats[image_idxs, 0] > 0, VOCAB["red"], VOCAB["blue"])
    captions = np.zeros((num_captions, 6), dtype=np.int32)
    captions[:, 0] = VOCAB["<START>"]
    captions[:, 1] = VOCAB["a"]
    captions[:, 2] = colour
    captions[:, 3] = VOCAB["circle"]
    captions[:, 4] = VOCAB["<END>"]
    return {"train_captions": captions, "train_image_idxs": image_idxs, "train_features": feats,
            "train_urls": np.array([f"img{i}" for i in range(10)]), "word_to_idx": VOCAB,
            "idx_to_word": list(VOCAB)}


def model(cell="rnn", seed=0):
    return CaptioningRNN(VOCAB, input_dim=10, wordvec_dim=8, hidden_dim=16, cell_type=cell,
                         rng=np.random.default_rng(seed))


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_schedule_decay_and_learning(cell):
    data = toy_data()
    solver = CaptioningSolver(model(cell), data, update_rule="adam", optim_config={"learning_rate": 2e-2},
                              lr_decay=0.9, batch_size=8, num_epochs=30, verbose=False, seed=0)
    assert solver.train() == "done"
    assert len(solver.loss_history) == solver.num_iterations == 30 * (40 // 8)
    assert solver.epoch == 30
    assert solver.optim_configs["Wx"]["learning_rate"] == pytest.approx(2e-2 * 0.9 ** 30)
    assert np.mean(solver.loss_history[-5:]) < 0.2 * np.mean(solver.loss_history[:5])


def test_batch_larger_than_data_gives_one_iteration_per_epoch_as_in_the_notebook():
    data = toy_data(num_captions=40)
    solver = CaptioningSolver(model(), data, batch_size=40, num_epochs=3, verbose=False)
    assert solver.num_iterations == 3


def test_callbacks_hear_every_iteration():
    heard = []
    solver = CaptioningSolver(model(), toy_data(), update_rule="adam", batch_size=10, num_epochs=2,
                              verbose=False, callbacks=[heard.append], seed=1)
    solver.train()
    assert [p.iteration for p in heard] == list(range(1, 9))
    assert all(p.total == 8 for p in heard)
    assert [p.loss for p in heard] == solver.loss_history
    assert all(b.elapsed >= a.elapsed for a, b in zip(heard, heard[1:]))
    assert heard[-1].epoch == 2


def test_stop_signal_is_honoured_between_iterations():
    stop = threading.Event()
    solver = CaptioningSolver(model(), toy_data(), update_rule="adam", batch_size=10, num_epochs=50,
                              verbose=False, should_stop=stop,
                              callbacks=[lambda p: stop.set() if p.iteration == 7 else None])
    assert solver.train() == "stopped"
    assert len(solver.loss_history) == 7
    assert solver.status == "stopped"


def test_seeded_order_is_reproducible_and_global_state_is_the_default():
    runs = []
    for _ in range(2):
        s = CaptioningSolver(model(), toy_data(), update_rule="adam", batch_size=10, num_epochs=3,
                             verbose=False, seed=42)
        s.train()
        runs.append(s.loss_history)
    assert runs[0] == runs[1]
    global_runs = []
    for _ in range(2):
        np.random.seed(231)
        s = CaptioningSolver(model(), toy_data(), update_rule="adam", batch_size=10, num_epochs=3,
                             verbose=False)
        s.train()
        global_runs.append(s.loss_history)
    assert global_runs[0] == global_runs[1] != runs[0]
    for rng in (42, np.random.default_rng(42)):       # an rng may be given as a seed too
        s = CaptioningSolver(model(), toy_data(), update_rule="adam", batch_size=10, num_epochs=3,
                             verbose=False, rng=rng)
        s.train()
        assert s.loss_history == runs[0]


def test_divergence_is_reported_not_trained_on():
    solver = CaptioningSolver(model(), toy_data(), update_rule="sgd", optim_config={"learning_rate": 1e38},
                              batch_size=10, num_epochs=20, verbose=False, seed=0)
    assert solver.train() == "diverged"
    k = solver.diverged_at
    assert k is not None and 1 <= k <= solver.num_iterations
    assert len(solver.loss_history) == k - 1
    assert all(np.isfinite(solver.loss_history))
    assert f"diverged at iteration {k}" in solver.divergence_message
    assert "learning rate" in solver.divergence_message


def test_verbose_prints_like_the_notebook(capsys):
    CaptioningSolver(model(), toy_data(), batch_size=10, num_epochs=3, print_every=5).train()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("(Iteration 1 / 12) loss: ")
    assert lines[1].startswith("(Iteration 6 / 12) loss: ")


@pytest.mark.parametrize("kwargs, match", [
    ({"learning_rate": 1e-3}, '"learning_rate"'),
    ({"update_rule": "adagrad"}, "adagrad"),
    ({"batch_size": 0}, "batch_size"),
    ({"batch_size": 1000}, "batch_size"),
    ({"num_epochs": -1}, "num_epochs"),
    ({"lr_decay": 0}, "lr_decay"),
    ({"optim_config": {"learning_rate": float("nan")}}, "learning_rate"),
    ({"optim_config": {"learning_rte": 1e-3}}, "learning_rte"),
    ({"optim_config": None}, "optim_config must be a dict"),
    ({"update_rule": "adam", "optim_config": {"beta1": 1.0}}, r"beta1 must be in \[0, 1\)"),
    ({"update_rule": "adam", "optim_config": {"beta2": 1.5}}, "beta2"),
    ({"update_rule": "adam", "optim_config": {"epsilon": 0}}, "epsilon must be a positive number"),
    ({"update_rule": "sgd_momentum", "optim_config": {"momentum": "0.9"}}, "momentum"),
    ({"lr_decay": "0.9"}, "lr_decay"),
    ({"batch_size": None}, "batch_size"),
    ({"num_epochs": float("inf")}, "num_epochs"),
    ({"seed": 1, "rng": np.random.default_rng(1)}, "seed or an rng"),
])
def test_bad_options_are_named(kwargs, match):
    options = {"batch_size": 10, **kwargs}
    with pytest.raises(ValueError, match=match):
        CaptioningSolver(model(), toy_data(), **options)


def test_one_definition_of_divergence():
    from core.solver import EXPLODED, diverged
    assert diverged(float("nan"), 80.0) and diverged(float("inf"), None) and diverged(-np.inf, 80.0)
    assert not diverged(80.0, None) and not diverged(EXPLODED * 80.0, 80.0)
    assert diverged(EXPLODED * 80.0 + 1e-6, 80.0)
    assert not diverged(1e9, 0.0)           # no positive start to compare with


def test_an_exploding_but_finite_loss_ends_the_run_with_its_figures():
    """sgd at 1e3 on the toy data: the loss climbs far past its start while staying finite."""
    solver = CaptioningSolver(model(), toy_data(), update_rule="sgd", optim_config={"learning_rate": 1e3},
                              batch_size=10, num_epochs=20, verbose=False, seed=0)
    seen = []
    solver.callbacks.append(seen.append)
    assert solver.train() == "diverged"
    k, first = solver.diverged_at, solver.loss_history[0]
    assert np.isfinite(solver.diverged_loss) and solver.diverged_loss > 10 * first
    assert solver.loss_history[-1] == solver.diverged_loss and len(solver.loss_history) == k
    assert seen[-1].iteration == k and seen[-1].loss == solver.diverged_loss    # reported, then stopped
    assert all(loss <= 10 * first for loss in solver.loss_history[:-1])
    text = solver.divergence_message
    assert f"diverged at iteration {k}" in text and "times its starting value" in text
    assert "(1e3)" in text and "sgd" in text
    default = CaptioningSolver(model(), toy_data(), update_rule="sgd", batch_size=10, verbose=False)
    default.diverged_at, default.diverged_loss, default.loss_history = 3, 900.0, [80.0, 85.0, 900.0]
    assert "(0.01)" in default.divergence_message            # sgd's own default learning rate


@pytest.mark.parametrize("rule", ["adam", "sgd"])     # adam: core.fast's compiled check; sgd: numpy's
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_gradient_that_is_not_finite_updates_nothing(rule, bad):
    """A finite loss whose gradients hold one NaN or infinity (here in the last entry of the
    last gradient, past any vectorized block) ends the run at that iteration, every weight as it was."""
    net = model("lstm")
    real_loss = net.loss

    def spoiled(features, captions):
        loss, grads = real_loss(features, captions)
        grads["b_vocab"] = grads["b_vocab"].copy()
        grads["b_vocab"][-1] = bad
        return loss, grads

    net.loss = spoiled
    before = {k: w.copy() for k, w in net.params.items()}
    solver = CaptioningSolver(net, toy_data(), update_rule=rule, batch_size=8, num_epochs=1, verbose=False, seed=0)
    assert solver.train() == "diverged" and solver.diverged_at == 1
    assert all(np.array_equal(net.params[k], before[k]) for k in before)
