"""Captions as characters: the dict's layout, the round trip back to words, the special
tokens, scoring by words, and the notebook's overfit cell trained on characters."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from core import CaptioningRNN, CaptioningSolver, characters, decode_captions, load_coco_data
from core.data.characters import (CHARACTER_DECODE_LENGTH, SPACE, SPACE_ID, WORD_DECODE_LENGTH,
                                  decode_length, is_characters, join_tokens, tokens_kind)
from core.data.coco import row_words
from core.data.layout import SPECIAL_WORDS
from core.evaluate import CaptionIndex, Strategy, caption_words, evaluate
from tests.support.tiny_coco import write_tiny_coco


@pytest.fixture(scope="module")
def words(tmp_path_factory) -> dict:
    folder = write_tiny_coco(tmp_path_factory.mktemp("coco") / "coco", num_train_images=12, num_val_images=6)
    data = load_coco_data(folder)
    data["train_captions"][0, 1:4] = [SPECIAL_WORDS["<UNK>"], 4, SPECIAL_WORDS["<UNK>"]]
    return data


@pytest.fixture(scope="module")
def chars(words) -> dict:
    return characters(words)


def test_layout_is_the_loaders(words, chars):
    assert list(chars) == list(words)
    for split in ("train", "val"):
        captions = chars[f"{split}_captions"]
        assert captions.ndim == 2 and captions.dtype == words[f"{split}_captions"].dtype
        assert len(captions) == len(words[f"{split}_captions"])
        assert chars[f"{split}_image_idxs"] is words[f"{split}_image_idxs"]
        assert chars[f"{split}_features"] is words[f"{split}_features"]
        assert (captions[:, 0] == SPECIAL_WORDS["<START>"]).all()
    assert chars["train_captions"].shape[1] == chars["val_captions"].shape[1]
    # wide enough for the longest caption, no wider: some row ends in <END> with no padding
    last = np.concatenate([chars["train_captions"][:, -1], chars["val_captions"][:, -1]])
    assert (last == SPECIAL_WORDS["<END>"]).any()
    assert chars["train_captions"].shape[1] > words["train_captions"].shape[1]


def test_vocabulary_is_characters(words, chars):
    itw, wti = chars["idx_to_word"], chars["word_to_idx"]
    assert itw[:5] == ["<NULL>", "<START>", "<END>", "<UNK>", SPACE]
    assert all(len(token) == 1 for token in itw[4:]) and itw[5:] == sorted(itw[5:])
    assert {i: w for w, i in wti.items()} == dict(enumerate(itw))
    assert set("".join(words["idx_to_word"][4:])) == set(itw[5:])
    assert is_characters(itw) and is_characters(dict(enumerate(itw))) and tokens_kind(itw) == "characters"
    assert not is_characters(words["idx_to_word"]) and tokens_kind(words["idx_to_word"]) == "words"
    assert decode_length(itw) == CHARACTER_DECODE_LENGTH and decode_length(words["idx_to_word"]) == WORD_DECODE_LENGTH


def test_round_trip_gives_the_same_words(words, chars):
    for split in ("train", "val"):
        for w_row, c_row in zip(words[f"{split}_captions"], chars[f"{split}_captions"]):
            assert row_words(c_row.tolist(), chars["idx_to_word"]) == row_words(w_row.tolist(), words["idx_to_word"])
    assert decode_captions(chars["val_captions"], chars["idx_to_word"]) == \
        decode_captions(words["val_captions"], words["idx_to_word"])


def test_specials_are_one_token_each(words, chars):
    itw = chars["idx_to_word"]
    row = chars["train_captions"][0]
    first_word = words["idx_to_word"][4]
    # <START> <UNK> ' ' letters of word 4 ' ' <UNK> ' ' …
    assert row[:3].tolist() == [SPECIAL_WORDS["<START>"], SPECIAL_WORDS["<UNK>"], SPACE_ID]
    assert [itw[i] for i in row[3:3 + len(first_word)]] == list(first_word)
    assert row[3 + len(first_word):5 + len(first_word)].tolist() == [SPACE_ID, SPECIAL_WORDS["<UNK>"]]
    end = int(np.flatnonzero(row == SPECIAL_WORDS["<END>"])[0])
    assert (row[end + 1:] == SPECIAL_WORDS["<NULL>"]).all() and row[end - 1] != SPACE_ID
    assert caption_words(row, itw)[:2] == [first_word, words["idx_to_word"][int(words["train_captions"][0, 4])]]
    assert join_tokens(["<START>", "a", " ", "c", "a", "t", "<END>"], itw) == "<START> a cat <END>"
    assert join_tokens(["a", " ", "cat"], words["idx_to_word"]) == "a   cat"


def test_characters_of_characters_is_the_same(chars):
    again = characters(chars)
    assert again["idx_to_word"] == chars["idx_to_word"]
    assert again["train_captions"] is chars["train_captions"]


def test_a_character_model_decodes_and_scores_by_words(words, chars):
    model = CaptioningRNN(chars["word_to_idx"], input_dim=chars["train_features"].shape[1], wordvec_dim=8,
                          hidden_dim=16, rng=np.random.default_rng(0))
    out = Strategy("greedy").decode(model, chars["val_features"][:2])
    assert out.captions.shape == (2, CHARACTER_DECODE_LENGTH)
    score, = evaluate(model, chars, [Strategy("greedy")], splits=("val",), n=3)
    assert score.num_images == 3 and score.bleu.shape == (4,)
    ours, theirs = CaptionIndex(chars, "val"), CaptionIndex(words, "val")
    assert [ours.references(i) for i in range(6)] == [theirs.references(i) for i in range(6)]
    assert any(len(w) > 1 for w in ours.references(0)[0])


def test_the_notebook_overfit_cell_on_characters_reaches_a_low_loss():
    """The notebook's overfit cell (Adam 5e-3, batch 25), on characters; half its size and 25
    captions so it takes seconds: a character caption is ~55 tokens, so from ~170 nats a caption
    it must reach below 10 (under 0.2 a character)."""
    np.random.seed(231)
    data = characters(load_coco_data(max_train=25))
    model = CaptioningRNN(cell_type="rnn", word_to_idx=data["word_to_idx"],
                          input_dim=data["train_features"].shape[1], hidden_dim=256, wordvec_dim=128)
    solver = CaptioningSolver(model, data, update_rule="adam", num_epochs=100, batch_size=25,
                              optim_config={"learning_rate": 5e-3}, lr_decay=0.995, verbose=False)
    with threadpool_limits(1, user_api="blas"):       # as the run workers train: on a shared machine
        solver.train()                                  # a second BLAS thread only fights for the core
    assert solver.loss_history[0] > 100
    assert solver.loss_history[-1] < 10
    tokens = (data["train_captions"][:, 1:] != 0).sum(axis=1).mean()
    assert solver.loss_history[-1] / tokens < 0.2
