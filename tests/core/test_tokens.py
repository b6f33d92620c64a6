"""core.tokens: one model's side of "words or characters?", on a real HDF5 dataset (tiny)."""
from __future__ import annotations

import numpy as np
import pytest

from core import CaptioningRNN, characters, load_coco_data
from core.tokens import activation_bytes, caption_steps, invented_words, measure, parameter_counts
from tests.support.tiny_coco import write_tiny_coco


@pytest.fixture(scope="module")
def words(tmp_path_factory) -> dict:
    return load_coco_data(write_tiny_coco(tmp_path_factory.mktemp("coco") / "coco", num_train_images=12,
                                          num_val_images=6, captions_per_image=5))


def model(data, cell="rnn"):
    return CaptioningRNN(data["word_to_idx"], input_dim=data["train_features"].shape[1], wordvec_dim=6,
                         hidden_dim=10, cell_type=cell, rng=np.random.default_rng(0), dtype=np.float64)


def test_parameters_per_layer_follow_the_vocabulary(words):
    chars = characters(words)
    V, C, D = len(words["idx_to_word"]), len(chars["idx_to_word"]), words["train_features"].shape[1]
    w, c = parameter_counts(model(words)), parameter_counts(model(chars))
    assert w["embedding"] == V * 6 and c["embedding"] == C * 6
    assert w["output"] == 10 * V + V and c["output"] == 10 * C + C
    assert w["image projection"] == c["image projection"] == D * 10 + 10
    assert w["recurrent"] == c["recurrent"] == 6 * 10 + 10 * 10 + 10
    assert w["total"] == sum(w[k] for k in ("embedding", "image projection", "recurrent", "output"))
    assert parameter_counts(model(words, "lstm"))["recurrent"] == 4 * (6 * 10 + 10 * 10 + 10)


def test_steps_memory_and_invented_words():
    captions = np.array([[1, 5, 6, 2, 0], [1, 7, 2, 0, 0]])
    assert caption_steps(captions).tolist() == [3, 2]                         # <END> counts, <NULL> not
    rnn = CaptioningRNN({"<NULL>": 0, "<START>": 1, "<END>": 2, "x": 3}, input_dim=4, wordvec_dim=2,
                        hidden_dim=3, rng=np.random.default_rng(0))
    assert activation_bytes(rnn, 10.0, batch=1) == 10 * (2 + 3 + 2 * 4) * 4      # float32
    share, examples = invented_words([["a", "cat", "catt"], ["catt", "doog"]], ["a", "cat", "dog"])
    assert share == pytest.approx(3 / 5) and examples == ("catt", "doog")
    assert invented_words([], ["a"]) == (0.0, ())


def test_a_word_and_a_character_model_measured_side_by_side(words):
    chars = characters(words)
    w = measure(model(words), words, words["idx_to_word"], n=4, gradient_captions=3)
    c = measure(model(chars), chars, words["idx_to_word"], n=4, gradient_captions=3)
    assert (w.tokens, c.tokens) == ("words", "characters")
    assert c.steps_mean > 3 * w.steps_mean and c.steps_max > w.steps_max
    assert c.activation_bytes > w.activation_bytes
    assert w.invented_share == 0.0 and 0.0 <= c.invented_share <= 1.0       # a word model can only say words
    assert w.bleu.shape == c.bleu.shape == (4,) and np.all(w.bleu >= 0)
    assert 0 < w.reach and 0 < c.reach and w.seconds_per_iteration > 0
    assert w.loss_per_caption > 0 and c.loss_per_caption > 0
