"""Browse's computations: minibatch rows, statistics, search, tokens and masks, per-image captions."""
import numpy as np
import pytest

from core.data.coco import load_coco_data, sample_coco_minibatch
from core.data.errors import DatasetError
from core.data.stats import (caption_lengths, caption_tokens, display_words, feature_summary,
                             histogram, image_caption_rows, minibatch_rows, parse_query,
                             sample_rows, search_captions, split_stats, top_words, word_counts)
from tests.support.tiny_coco import write_tiny_coco

WORDS = ["<NULL>", "<START>", "<END>", "<UNK>", "a", "dog", "cat", "on", "grass"]


@pytest.fixture
def data():
    """Four train captions of three images (a fourth image has none), one val caption."""
    w = {word: i for i, word in enumerate(WORDS)}
    train = [["<START>", "a", "dog", "on", "grass", "<END>"],
             ["<START>", "a", "cat", "<END>"],
             ["<START>", "a", "dog", "<UNK>", "<END>"],
             ["<START>", "cat", "on", "a", "<UNK>", "<UNK>", "<END>"]]
    rows = np.zeros((4, 8), dtype=np.int32)
    for i, words in enumerate(train):
        rows[i, :len(words)] = [w[x] for x in words]
    return {
        "train_captions": rows, "train_image_idxs": np.array([0, 0, 1, 2], dtype=np.int32),
        "val_captions": np.array([[1, 5, 2, 0, 0, 0, 0, 0]], dtype=np.int32),
        "val_image_idxs": np.array([0], dtype=np.int32),
        "train_features": np.arange(4 * 3, dtype=np.float32).reshape(4, 3),
        "val_features": np.zeros((1, 3), dtype=np.float32),
        "idx_to_word": WORDS, "word_to_idx": w,
        "train_urls": np.array([f"http://x/{i}.jpg" for i in range(4)]),
        "val_urls": np.array(["http://x/v0.jpg"]),
    }


def test_minibatch_rows_are_the_notebook_sampler_draw(tmp_path):
    data = load_coco_data(write_tiny_coco(tmp_path / "coco", num_train_images=20))
    for seed in (0, 1, 231):
        rows = minibatch_rows(data, "train", 7, seed)
        captions, features, urls = sample_coco_minibatch(data, 7, "train", rng=seed)
        np.testing.assert_array_equal(data["train_captions"][rows], captions)
        np.testing.assert_array_equal(data["train_urls"][data["train_image_idxs"][rows]], urls)
    assert not np.array_equal(minibatch_rows(data, "val", 5, 1), minibatch_rows(data, "val", 5, 2))
    np.testing.assert_array_equal(minibatch_rows(data, "val", 5, 3), minibatch_rows(data, "val", 5, 3))


def test_minibatch_rows_refuse_bad_arguments(data):
    with pytest.raises(DatasetError, match="batch_size"):
        minibatch_rows(data, "train", 0, 1)
    with pytest.raises(DatasetError, match="batch_size must be from 1 to 1"):
        minibatch_rows(data, "val", 2, 1)
    with pytest.raises(DatasetError, match="unknown split"):
        minibatch_rows(data, "test", 1, 1)


def test_sample_rows_without_replacement():
    rows = np.array([10, 20, 30])
    assert sorted(sample_rows(rows, 25, 0)) == [10, 20, 30]
    picked = sample_rows(np.arange(100), 10, 4)
    assert len(set(picked.tolist())) == 10
    np.testing.assert_array_equal(picked, sample_rows(np.arange(100), 10, 4))


def test_words_tokens_and_the_loss_mask(data):
    row = data["train_captions"][2]                       # <START> a dog <UNK> <END> <NULL>...
    assert display_words(row, WORDS) == ["a", "dog", "<UNK>"]
    tokens = caption_tokens(row, WORDS)
    assert tokens.words[:6] == ("<START>", "a", "dog", "<UNK>", "<END>", "<NULL>")
    np.testing.assert_array_equal(tokens.inputs, row[:-1])
    np.testing.assert_array_equal(tokens.targets, row[1:])
    assert tokens.mask.tolist() == [True, True, True, True, False, False, False]
    assert tokens.mask.sum() == 4 and tokens.length == 3  # the model is scored on <END> too


def test_all_captions_of_an_image_through_image_idxs(data):
    assert image_caption_rows(data, "train", 0).tolist() == [0, 1]
    assert image_caption_rows(data, "train", 3).tolist() == []
    assert image_caption_rows(data, "val", 0).tolist() == [0]


def test_split_statistics(data):
    stats = split_stats(data, "train", k=3)
    assert caption_lengths(data["train_captions"]).tolist() == [4, 2, 3, 5]
    values, counts = stats.lengths
    assert values.tolist() == [2, 3, 4, 5] and counts.tolist() == [1, 1, 1, 1]
    assert stats.mean_length == 3.5
    assert stats.top_words == [("a", 4), ("dog", 2), ("cat", 2)]   # ties in id order
    assert (stats.unk_tokens, stats.word_tokens, stats.unk_captions) == (3, 14, 2)
    assert stats.unk_token_rate == pytest.approx(3 / 14) and stats.unk_caption_rate == 0.5
    per_image, images = stats.per_image                    # image 3 has no caption
    assert per_image.tolist() == [0, 1, 2] and images.tolist() == [1, 2, 1]
    assert (stats.num_captions, stats.num_images, stats.words_used, stats.vocab_size) == (4, 4, 5, 5)


def test_histogram_and_word_counts_helpers():
    values, counts = histogram(np.array([5, 5, 7]))
    assert values.tolist() == [5, 6, 7] and counts.tolist() == [2, 0, 1]
    values, counts = histogram(np.array([5, 5, 7]), start=3)
    assert values.tolist() == [3, 4, 5, 6, 7] and counts.tolist() == [0, 0, 2, 0, 1]
    assert word_counts(np.array([[1, 4, 4, 2]]), 6).tolist() == [0, 1, 1, 0, 2, 0]
    assert top_words(np.array([9, 9, 9, 9, 0, 3]), ["<NULL>", "<START>", "<END>", "<UNK>", "x", "y"]) \
        == [("y", 3)]


def test_search_counts_by_split_and_rows(data):
    result = search_captions(data, parse_query("Dog, a"))
    assert result.words == ("dog", "a") and result.unknown == ()
    assert result.matches["train"].rows.tolist() == [0, 2]
    assert result.matches["train"].images == 2 and result.matches["train"].rate == 0.5
    assert result.matches["val"].count == 0                # val's "dog" caption has no "a"
    either = search_captions(data, ("dog", "cat"), mode="any")
    assert either.matches["train"].rows.tolist() == [0, 1, 2, 3] and either.matches["val"].count == 1


def test_search_for_unknown_words_and_specials(data):
    result = search_captions(data, parse_query("dog zebra"))
    assert result.unknown == ("zebra",) and result.matches["train"].count == 0
    assert search_captions(data, ("dog", "zebra"), mode="any").matches["train"].count == 2
    unk = search_captions(data, parse_query("<unk>"))
    assert unk.words == ("<UNK>",) and unk.matches["train"].rows.tolist() == [2, 3]
    assert search_captions(data, ()).matches["train"].count == 0
    with pytest.raises(ValueError, match="mode"):
        search_captions(data, ("dog",), mode="most")


def test_parse_query_splits_and_deduplicates():
    assert parse_query("  a  Dog,dog;<end> ") == ("a", "dog", "<END>")
    assert parse_query("") == ()


def test_parse_query_drops_punctuation_around_words(data):
    assert parse_query("dog, cat!") == ("dog", "cat")
    assert parse_query('"Dog"... (grass)? <unk>! (<End>).') == ("dog", "grass", "<UNK>", "<END>")
    assert parse_query("t-shirt don't") == ("t-shirt", "don't")      # punctuation inside stays
    assert parse_query("!! , ?") == ()
    found = search_captions(data, parse_query("Dog, cat!"), mode="any")
    assert found.unknown == () and found.matches["train"].rows.tolist() == [0, 1, 2, 3]


def test_feature_summary():
    summary = feature_summary(np.array([3.0, 0.0, -4.0, 0.0]))
    assert (summary.dims, summary.low, summary.high, summary.zeros) == (4, -4.0, 3.0, 2)
    assert summary.norm == 5.0 and summary.mean == pytest.approx(-0.25)
