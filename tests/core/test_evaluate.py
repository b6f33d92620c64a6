"""Scoring captioners: compatibility checks, reference lookup, split scores, strategies side by side."""
import numpy as np
import pytest

from core import CaptioningRNN, beam_search, corpus_bleu, greedy_decode, notebook_bleu, sentence_bleu
from core.data.coco import decode_captions
from core.evaluate import (CaptionIndex, ModelMismatch, Strategy, caption_images, caption_words,
                           check_compatible, compare_strategies, evaluate, sample_images)

from .conftest import VOCAB, WORDS, make_model

START, END, NULL = VOCAB["<START>"], VOCAB["<END>"], VOCAB["<NULL>"]


def tiny_data(seed=0, num_train=8, num_val=5, per_image=3, T=9):
    """A data dict in load_coco_data's layout over the 12-word test vocabulary; the last val
    image has no captions."""
    rng = np.random.default_rng(seed)
    data = {"idx_to_word": list(WORDS), "word_to_idx": dict(VOCAB)}
    for split, n, captioned in (("train", num_train, num_train), ("val", num_val, num_val - 1)):
        idxs = rng.permutation(np.repeat(np.arange(captioned), per_image)).astype(np.int32)
        captions = np.full((len(idxs), T), NULL, dtype=np.int32)
        captions[:, 0] = START
        for row in captions:
            length = rng.integers(2, T - 2)
            row[1:1 + length] = rng.integers(4, len(WORDS), size=length)
            row[1 + length] = END
        data[f"{split}_captions"], data[f"{split}_image_idxs"] = captions, idxs
        data[f"{split}_features"] = rng.standard_normal((n, 10)).astype(np.float32)
        data[f"{split}_urls"] = np.array([f"{split}/{i}.png" for i in range(n)])
    return data


@pytest.fixture
def data():
    return tiny_data()


# --- compatibility ---------------------------------------------------------------------

def test_a_matching_model_passes(data, tiny_model):
    check_compatible(tiny_model, data)


def test_other_features_are_refused_with_the_setting_to_change():
    data = tiny_data()
    data["train_features"] = np.zeros((8, 4096), dtype=np.float32)
    model = CaptioningRNN(VOCAB, input_dim=512, hidden_dim=8, wordvec_dim=4, rng=np.random.default_rng(0))
    with pytest.raises(ModelMismatch, match=r"512-d image features.*fc7 4096-d.*Choose \*PCA 512-d\*"):
        check_compatible(model, data)


def test_another_vocabulary_is_refused_naming_the_difference(data):
    words = dict(VOCAB)
    words["zebra"] = words.pop("square")
    model = CaptioningRNN(words, input_dim=10, hidden_dim=8, wordvec_dim=4, rng=np.random.default_rng(0))
    with pytest.raises(ModelMismatch, match=r"12 words; the dataset has 12 \(they differ in: square, zebra\)"):
        check_compatible(model, data)
    shuffled = {w: (i + 1) % len(WORDS) for i, w in enumerate(WORDS)}
    model = CaptioningRNN(shuffled, input_dim=10, hidden_dim=8, wordvec_dim=4, rng=np.random.default_rng(0))
    with pytest.raises(ModelMismatch, match="another order"):
        check_compatible(model, data)


# --- references ------------------------------------------------------------------------

def test_caption_index_finds_every_caption_of_an_image(data):
    index = CaptionIndex(data, "val")
    for image in range(5):
        expected = np.flatnonzero(data["val_image_idxs"] == image)
        assert sorted(index.rows(image).tolist()) == expected.tolist()
        np.testing.assert_array_equal(index.captions(image), data["val_captions"][index.rows(image)])
    assert index.images_with_captions().tolist() == [0, 1, 2, 3]
    assert index.references(4) == []
    refs = index.references(0)
    assert len(refs) == 3 and all(w not in ("<START>", "<END>", "<NULL>") for r in refs for w in r)


def test_caption_words_stop_at_end_and_drop_special_tokens():
    ids = [START, VOCAB["a"], VOCAB["<UNK>"], VOCAB["red"], END, VOCAB["blue"], NULL]
    assert caption_words(np.array(ids), WORDS) == ["a", "red"]


def test_sample_images_are_distinct_captioned_and_repeatable(data):
    index = CaptionIndex(data, "val")
    a = sample_images(index, 3, seed=5)
    assert len(set(a.tolist())) == 3 and set(a.tolist()) <= {0, 1, 2, 3}
    assert (np.diff(a) > 0).all()
    np.testing.assert_array_equal(a, sample_images(index, 3, seed=5))
    assert sample_images(index, 100, seed=0).tolist() == [0, 1, 2, 3]
    data["val_image_idxs"][:] = 0
    data["val_features"] = data["val_features"][:0]
    with pytest.raises(ValueError, match="no captioned images"):
        sample_images(CaptionIndex(data, "val"), 3, seed=0)
    with pytest.raises(ValueError, match="n must be a positive integer, got 0"):
        sample_images(index, 0, seed=0)


def test_sample_images_draw_only_from_a_pool(data):
    index = CaptionIndex(data, "val")
    pool = [3, 1, 4, 1]                       # unordered, a repeat, and image 4 has no captions
    drawn = {tuple(sample_images(index, 2, seed=s, pool=pool).tolist()) for s in range(10)}
    assert drawn == {(1, 3)}
    assert sample_images(index, 100, seed=0, pool=np.array(pool)).tolist() == [1, 3]
    assert sample_images(index, 1, seed=0, pool=[2]).tolist() == [2]
    with pytest.raises(ValueError, match="the given images has no captioned images"):
        sample_images(index, 3, seed=0, pool=[4])
    # no pool: the whole split, drawn as before
    np.testing.assert_array_equal(sample_images(index, 3, seed=5, pool=None), sample_images(index, 3, seed=5))


# --- split scores ----------------------------------------------------------------------

def test_evaluate_matches_a_hand_computation(data, tiny_model):
    progress = []
    results = evaluate(tiny_model, data, [Strategy("greedy"), Strategy("beam", beam_size=2)], n=6, seed=3,
                       batch_size=4, max_length=12, progress=lambda *a: progress.append(a))
    assert [(r.strategy, r.split) for r in results] == [
        ("greedy", "train"), ("greedy", "val"), ("beam 2", "train"), ("beam 2", "val")]
    assert [r.num_images for r in results] == [6, 4, 6, 4]
    done = [p[0] for p in progress]
    assert done == sorted(done) and done[-1] == progress[-1][1] == 2 * (6 + 4)
    for result, decoder in ((results[1], lambda f: greedy_decode(tiny_model, f, 12)),
                            (results[2], lambda f: beam_search(tiny_model, f, 2, 12))):
        split = result.split
        index = CaptionIndex(data, split)
        images = sample_images(index, 6, seed=3)
        out = decoder(data[f"{split}_features"][images])
        hyps = [caption_words(c, WORDS) for c in out.captions]
        refs = [index.references(i) for i in images]
        np.testing.assert_allclose(result.bleu, corpus_bleu(refs, hyps))
        assert result.mean_logprob == pytest.approx(out.logprobs.mean())
        assert result.mean_length == pytest.approx(np.mean([len(h) for h in hyps]))
        rng = np.random.default_rng([3, 1])
        scores = []
        for image, caption in zip(images, out.captions):
            own = index.captions(image)
            one = own[rng.integers(len(own))]
            scores.append(notebook_bleu(decode_captions(one, WORDS), decode_captions(caption, WORDS)))
        assert result.notebook_bleu == pytest.approx(np.mean(scores))


def test_evaluate_refuses_a_batch_size_of_zero(data, tiny_model):
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        evaluate(tiny_model, data, [Strategy("greedy")], n=5, batch_size=0)


def test_evaluate_does_not_depend_on_the_batch_size(data, tiny_model):
    a = evaluate(tiny_model, data, [{"kind": "temperature", "temperature": 1.3, "seed": 2}], n=5, batch_size=2)
    b = evaluate(tiny_model, data, [Strategy("temperature", temperature=1.3, seed=2)], n=5, batch_size=100)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.bleu, y.bleu)
        assert x.notebook_bleu == y.notebook_bleu and x.strategy == y.strategy == "temperature 1.3 (seed 2)"


def parrot(words):
    """A model that says `words` (ids) whatever the image."""
    model = make_model("rnn")
    model.params["W_vocab"][:] = 0
    model.params["Wx"][:] = 0
    model.params["Wh"][:] = 0
    model.params["b"][:] = 0
    model.params["W_proj"][:] = 0
    model.params["b_proj"][:] = 0
    # tanh(W_embed[word]) is the state; pick embeddings and an output layer that map each word to the next
    H, W = model.hidden_dim, model.wordvec_dim
    sequence = [START, *words, END]
    model.params["W_embed"][:] = 0
    model.params["Wx"][:W, :H] = np.eye(W, H) * 5
    for k, (now, nxt) in enumerate(zip(sequence, sequence[1:])):
        model.params["W_embed"][now, k] = 1.0
        model.params["W_vocab"][k, nxt] = 10.0
    return model


def test_a_perfect_captioner_scores_one():
    """A model that always says the one caption every image has scores BLEU 1 on both splits."""
    data = tiny_data(per_image=1)
    words = [VOCAB[w] for w in ["a", "red", "circle", "on", "left"]]
    for split in ("train", "val"):
        data[f"{split}_captions"][:] = NULL
        data[f"{split}_captions"][:, :7] = [START, *words, END]
    model = parrot(words)
    results = evaluate(model, data, [Strategy("greedy")], n=3)
    for r in results:
        np.testing.assert_allclose(r.bleu, 1.0)
        assert r.notebook_bleu == pytest.approx(1.0) and r.mean_length == 5


def test_a_pool_scores_the_train_side_on_the_images_a_model_memorised(data):
    """A model that learned the captions of train images 0-2 by heart: on those it scores 1,
    on any train images it scores about what it scores on val."""
    learned = [VOCAB[w] for w in ["a", "red", "circle", "on", "left"]]
    other = [START, VOCAB["blue"], VOCAB["square"], END]
    for split in ("train", "val"):
        data[f"{split}_captions"][:] = NULL
        data[f"{split}_captions"][:, :len(other)] = other
    memorised = np.isin(data["train_image_idxs"], [0, 1, 2])
    data["train_captions"][memorised, :7] = [START, *learned, END]
    model = parrot(learned)
    pooled = evaluate(model, data, [Strategy("greedy")], n=8, seed=1, pools={"train": [0, 1, 2]})
    whole = evaluate(model, data, [Strategy("greedy")], n=8, seed=1)
    assert [(r.split, r.num_images) for r in pooled] == [("train", 3), ("val", 4)]
    np.testing.assert_allclose(pooled[0].bleu, 1.0)
    assert pooled[0].notebook_bleu == pytest.approx(1.0)
    np.testing.assert_allclose(pooled[1].bleu, 0.0)
    np.testing.assert_array_equal(pooled[1].bleu, whole[1].bleu)        # val is as it was
    assert whole[0].num_images == 8 and whole[0].bleu[0] < 0.5          # 3 of 8 images right


def test_a_pool_is_the_same_images_a_hand_computation_uses(data, tiny_model):
    pooled = evaluate(tiny_model, data, [Strategy("greedy")], n=2, seed=4, max_length=12,
                      pools={"train": [1, 5, 6]})
    index = CaptionIndex(data, "train")
    images = sample_images(index, 2, seed=4, pool=[1, 5, 6])
    assert set(images.tolist()) <= {1, 5, 6} and pooled[0].num_images == 2
    out = greedy_decode(tiny_model, data["train_features"][images], 12)
    np.testing.assert_allclose(pooled[0].bleu, corpus_bleu([index.references(i) for i in images],
                                                           [caption_words(c, WORDS) for c in out.captions]))


# --- a few images, several strategies ----------------------------------------------------

def test_caption_images_scores_each_image_against_its_references(data, tiny_model):
    index = CaptionIndex(data, "train")
    rows = caption_images(tiny_model, data, index, [2, 5], Strategy("greedy"), max_length=12)
    out = greedy_decode(tiny_model, data["train_features"][[2, 5]], 12)
    for row, caption, logprob in zip(rows, out.captions, out.logprobs):
        assert row.words == caption_words(caption, WORDS)
        assert row.references == index.references(row.image)
        np.testing.assert_allclose(row.bleu, sentence_bleu(row.references, row.words))
        assert row.logprob == pytest.approx(logprob)


def test_compare_strategies_gives_each_caption_its_log_probability(tiny_model):
    feature = np.random.default_rng(1).standard_normal(10)
    refs = [["a", "red", "circle"], ["a", "blue", "square", "on", "left"]]
    strategies = ([Strategy("greedy")] + [Strategy("beam", beam_size=k) for k in (1, 3)]
                  + [Strategy("temperature", temperature=2.0, seed=s) for s in (0, 0, 1)])
    rows = compare_strategies(tiny_model, feature, refs, strategies, max_length=12)
    assert [r.strategy for r in rows] == ["greedy", "beam 1", "beam 3", "temperature 2 (seed 0)",
                                          "temperature 2 (seed 0)", "temperature 2 (seed 1)"]
    assert rows[0].words == rows[1].words and rows[0].logprob == pytest.approx(rows[1].logprob)
    assert rows[3].words == rows[4].words                     # the same seed draws the same words
    beam3 = beam_search(tiny_model, feature[None], 3, 12)
    assert rows[2].logprob == pytest.approx(beam3.logprobs[0])
    assert rows[2].logprob_per_word == pytest.approx(beam3.logprobs[0] / beam3.lengths[0])
    for r in rows:
        np.testing.assert_allclose(r.bleu, sentence_bleu(refs, r.words))
    assert np.isnan(compare_strategies(tiny_model, feature, [], [Strategy()])[0].bleu).all()
