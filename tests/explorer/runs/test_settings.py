"""RunConfig: the presets, the schedule, a message for every unusable setting, and which
captions a run trains on."""
import numpy as np
import pytest

from core import load_coco_data
from core.data.demo import ensure_demo_dataset
from core.optim import format_lr
from explorer.runs.settings import MAX_ITERATIONS, PRESETS, RunConfig, notebook_solver, training_rows


def test_the_presets_are_the_notebooks_overfit_cells():
    rnn, lstm = PRESETS["Notebook RNN overfit"], PRESETS["Notebook LSTM overfit"]
    assert (rnn.cell_type, rnn.hidden_dim, rnn.wordvec_dim, rnn.update_rule, rnn.learning_rate,
            rnn.batch_size, rnn.num_epochs, rnn.lr_decay, rnn.max_train, rnn.seed, rnn.dtype) == \
        ("rnn", 512, 256, "adam", 5e-3, 25, 50, 0.95, 50, 231, "float32")
    assert lstm == rnn.replace(cell_type="lstm", lr_decay=0.995)
    assert rnn.num_iterations == 100 and rnn.validate(num_train_available=10_000) == {}
    assert lstm.describe() == "LSTM H=512 lr 5e-3"


@pytest.mark.parametrize("changes, field, words", [
    ({"batch_size": 60}, "batch_size", "more than the 50 training captions"),
    ({"batch_size": 501, "max_train": 5000}, "batch_size", "At most 500"),
    ({"learning_rate": 0.0}, "learning_rate", "positive"),
    ({"learning_rate": float("nan")}, "learning_rate", "positive"),
    ({"hidden_dim": 100_000}, "hidden_dim", "At most 2,048"),
    ({"hidden_dim": 0}, "hidden_dim", "at least 1"),
    ({"wordvec_dim": 2.5}, "wordvec_dim", "whole number"),
    ({"lr_decay": 1.5}, "lr_decay", "(0, 1]"),
    ({"max_train": 20_000}, "max_train", "At most 10,000"),
    ({"num_epochs": 10**6}, "num_epochs", f"at most {MAX_ITERATIONS:,}"),
    ({"seed": -1}, "seed", "at least 0"),
    ({"cell_type": "gru"}, "cell_type", "rnn or lstm"),
    ({"update_rule": "adagrad"}, "update_rule", "adam"),
    ({"dtype": "float16"}, "dtype", "float32 or float64"),
    ({"snapshot_every": 0}, "snapshot_every", "at least 1"),
    ({"slow_motion": -1.0}, "slow_motion", "from 0 (full speed) to 600 seconds"),
    ({"slow_motion": 3600.0}, "slow_motion", "from 0 (full speed) to 600 seconds"),
    ({"slow_motion": float("nan")}, "slow_motion", "from 0 (full speed) to 600 seconds"),
    ({"slow_motion": "slow"}, "slow_motion", "from 0 (full speed) to 600 seconds"),
    ({"tokens": "bytes"}, "tokens", "words or characters"),
])
def test_each_bad_setting_gets_a_message_on_its_own_field(changes, field, words):
    problems = PRESETS["Notebook RNN overfit"].replace(**changes).validate(num_train_available=10_000)
    assert list(problems) == [field] and words in problems[field]


def test_the_character_presets_train_the_overfit_cell_on_characters():
    """The same cell, captions as characters: the notebook's draws are untouched (the same
    captions), only their tokens change; a run saved before "tokens" existed reads as words."""
    for cell in ("RNN", "LSTM"):
        chars = PRESETS[f"Notebook {cell} overfit, characters"]
        assert chars == PRESETS[f"Notebook {cell} overfit"].replace(tokens="characters")
        assert chars.validate(num_train_available=10_000) == {}
    assert chars.describe() == "LSTM H=512 lr 5e-3, characters"
    base = ensure_demo_dataset()
    small = {"hidden_dim": 8, "wordvec_dim": 4, "num_epochs": 1}
    words = notebook_solver(PRESETS["Notebook RNN overfit"].replace(**small), base)
    letters = notebook_solver(PRESETS["Notebook RNN overfit, characters"].replace(**small), base)
    assert letters.model.idx_to_word[4] == " " and letters.model.vocab_size < words.model.vocab_size
    assert letters.data["train_captions"].shape[1] > words.data["train_captions"].shape[1]
    np.testing.assert_array_equal(letters.data["train_image_idxs"], words.data["train_image_idxs"])
    old = RunConfig().to_dict()
    del old["tokens"]
    assert RunConfig.from_dict(old).tokens == "words"


def test_unknown_settings_and_settings_of_the_wrong_type_are_named():
    with pytest.raises(ValueError, match="colour"):
        RunConfig.from_dict({**RunConfig().to_dict(), "colour": "red"})
    with pytest.raises(ValueError, match="wrong type: cell_type, hidden_dim, seed"):
        RunConfig.from_dict({"hidden_dim": "big", "seed": True, "cell_type": 3, "learning_rate": 1})
    assert RunConfig.from_dict(RunConfig().to_dict()) == RunConfig()
    assert RunConfig.from_dict({"learning_rate": 1}).learning_rate == 1        # an int stands for a float


@pytest.mark.parametrize("lr, text", [(5e-3, "5e-3"), (2.5e-4, "2.5e-4"), (0.1, "0.1"), (1e-2, "0.01"),
                                      (3, "3"), (1e20, "1e20")])
def test_learning_rates_read_as_people_write_them(lr, text):
    assert format_lr(lr) == text


@pytest.mark.parametrize("config", [PRESETS["Notebook RNN overfit"], RunConfig(seed=7, max_train=3000)])
def test_training_rows_are_the_captions_the_recipe_trains_on(config):
    base = ensure_demo_dataset()
    whole = load_coco_data(base)
    rows = training_rows(config, len(whole["train_captions"]))
    assert rows.shape == (config.max_train,)
    saved = np.random.get_state()
    try:
        solver = notebook_solver(config, base)            # what the training worker runs
        trained = solver.data
        np.random.seed(config.seed)                       # and the notebook's cell by hand
        by_hand = load_coco_data(base, max_train=config.max_train)
    finally:
        np.random.set_state(saved)
    for data in (trained, by_hand):
        np.testing.assert_array_equal(data["train_captions"], whole["train_captions"][rows])
        np.testing.assert_array_equal(data["train_image_idxs"], whole["train_image_idxs"][rows])


def test_training_rows_leave_numpys_global_state_alone_and_refuse_too_many():
    np.random.seed(5)
    expected = np.random.rand()
    np.random.seed(5)
    first = training_rows(RunConfig(seed=1, max_train=50), 10_000)
    assert np.random.rand() == expected
    np.testing.assert_array_equal(first, training_rows(RunConfig(seed=1, max_train=50), 10_000))
    assert not np.array_equal(first, training_rows(RunConfig(seed=2, max_train=50), 10_000))
    assert len(np.unique(training_rows(RunConfig(max_train=10_000), 10_000))) < 10_000   # with replacement
    with pytest.raises(ValueError, match="max_train=50 is more than the 40 training captions"):
        training_rows(RunConfig(max_train=50), 40)
