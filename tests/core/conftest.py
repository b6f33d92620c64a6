"""Small models shared by the core tests."""
import numpy as np
import pytest

from core import CaptioningRNN, StepDecoder

WORDS = ["<NULL>", "<START>", "<END>", "<UNK>", "a", "red", "blue", "circle", "square", "on", "left", "right"]
VOCAB = {w: i for i, w in enumerate(WORDS)}


def make_model(cell="rnn", dtype=np.float32, seed=0, end_bias=None, hidden_dim=16):
    """An untrained model on a 12-word vocabulary whose greedy captions end at varied lengths."""
    model = CaptioningRNN(VOCAB, input_dim=10, wordvec_dim=8, hidden_dim=hidden_dim, cell_type=cell,
                          dtype=dtype, rng=np.random.default_rng(seed))
    model.params["W_vocab"] *= 3                      # sharper distributions: fewer near-ties
    if end_bias is None:                              # tuned so captions end after 1 to 12+ words
        end_bias = {"rnn": 0.0, "lstm": 0.05}[cell]
    model.params["b_vocab"][VOCAB["<END>"]] += end_bias
    # like a trained model, never emit <NULL> or <START> (they are never training targets)
    model.params["b_vocab"][[VOCAB["<NULL>"], VOCAB["<START>"]]] -= 20
    return model


@pytest.fixture(params=["rnn", "lstm"])
def tiny_model(request):
    return make_model(request.param)


def feature(seed=0):
    return np.random.default_rng(seed).standard_normal(10)


def long_decoder(cell="rnn", **options):
    """A decoder whose greedy caption runs the full max_length (no early <END>)."""
    return StepDecoder(make_model(cell, end_bias=-5.0), feature(), max_length=8, **options)
