"""BLEU against published reference values (NLTK's documented examples, Papineni et al.)."""
import numpy as np
import pytest

from core import corpus_bleu, notebook_bleu, sentence_bleu
from core.metrics import common_words, ngram_matches, strip_special

HYP1 = "It is a guide to action which ensures that the military always obeys the commands of the party".split()
REF1A = "It is a guide to action that ensures that the military will forever heed Party commands".split()
REF1B = ("It is the guiding principle which guarantees the military forces always being under the "
         "command of the Party").split()
REF1C = "It is the practical guide for the army always to heed the directions of the party".split()
HYP2 = "he read the book because he was interested in world history".split()
REF2A = "he was interested in world history because he read the book".split()


def test_sentence_bleu_matches_nltk_example():
    assert sentence_bleu([REF1A, REF1B, REF1C], HYP1)[3] == pytest.approx(0.5045666840058485, rel=1e-12)


def test_corpus_bleu_matches_nltk_example():
    score = corpus_bleu([[REF1A, REF1B, REF1C], [REF2A]], [HYP1, HYP2])
    assert score[3] == pytest.approx(0.5920778868801042, rel=1e-12)
    assert score.shape == (4,) and np.all(np.diff(score) <= 0)


def test_modified_precision_clips_repeats():
    refs = ["the cat is on the mat".split(), "there is a cat on the mat".split()]
    # Papineni et al.: "the" x7 has modified unigram precision 2/7; brevity penalty 1 (7 >= 6)
    assert sentence_bleu(refs, ["the"] * 7, max_n=1)[0] == pytest.approx(2 / 7)


def test_perfect_and_disjoint_and_empty():
    ref = "a red circle on the left".split()
    np.testing.assert_allclose(sentence_bleu([ref], ref), 1.0)
    assert np.all(sentence_bleu([ref], "two blue stars".split(), smoothing=None) == 0)
    assert np.all(sentence_bleu([ref], []) == 0)


def test_smoothing_rescues_a_missing_order():
    refs = ["a red circle on the left of a blue square".split()]
    hyp = "a red circle left of blue square".split()               # shares no 4-gram with the reference
    raw = sentence_bleu(refs, hyp, smoothing=None)
    eps = sentence_bleu(refs, hyp, smoothing="epsilon")
    add1 = sentence_bleu(refs, hyp, smoothing="add1")
    assert raw[3] == 0 and eps[3] > 0 and add1[3] > 0
    np.testing.assert_allclose(raw[:2], eps[:2])
    with pytest.raises(ValueError, match="smoothing"):
        sentence_bleu(refs, hyp, smoothing="laplace")


def test_a_caption_sharing_no_word_scores_zero_whatever_the_smoothing():
    """A two-word caption with no word in common scored BLEU-1 0.011 and BLEU-2 0.016: epsilon
    smoothing stood in for the missing unigram *and* bigram, and 0.1 of one bigram is more
    than 0.1 of two unigrams. With no match at all, every order is 0 (NLTK's rule too)."""
    ref = "a red square on grass".split()
    for smoothing in ("epsilon", "add1", None):
        assert np.all(sentence_bleu([ref], "two blue".split(), smoothing=smoothing) == 0)
    assert np.all(corpus_bleu([[ref]], ["two blue".split()], smoothing="epsilon") == 0)


def test_epsilon_smoothing_can_put_a_short_captions_higher_order_above_a_lower_one():
    """Smoothed BLEU, not an error (the scores views say so): one shared word in four, no
    shared bigram, trigram or 4-gram; 0.1 of the single 4-gram is a larger precision than 0.1
    of three trigrams, so BLEU-4 > BLEU-3, while unsmoothed every order above 1 is 0."""
    ref = ["a red square on grass".split()]
    hyp = "a blue big cat".split()
    eps = sentence_bleu(ref, hyp)
    p1, p2, p3, p4 = 1 / 4, 0.1 / 3, 0.1 / 2, 0.1 / 1
    bp = np.exp(1 - 5 / 4)
    np.testing.assert_allclose(eps, bp * np.array([p1, (p1 * p2) ** 0.5, (p1 * p2 * p3) ** (1 / 3),
                                                   (p1 * p2 * p3 * p4) ** 0.25]))
    assert eps[3] > eps[2] and eps[1] < eps[0]
    assert np.all(sentence_bleu(ref, hyp, smoothing=None)[1:] == 0)


def test_brevity_penalty_uses_the_closest_reference():
    refs = ["a b c d e f g h".split(), "a b c".split()]
    # 3 words: the 3-word reference is closest, so no penalty
    assert sentence_bleu(refs, "a b c".split(), max_n=1)[0] == pytest.approx(1.0)
    # 2 words: closest is 3 -> exp(1 - 3/2)
    assert sentence_bleu(refs, "a b".split(), max_n=1)[0] == pytest.approx(np.exp(1 - 1.5))


def test_notebook_bleu():
    gt = "<START> a man riding a horse on a beach <END>"
    assert notebook_bleu(gt, gt) == pytest.approx(1.0)
    # 4 of 5 words match, no brevity penalty needed (5 < 8 -> penalty exp(1 - 8/5))
    sample = "<START> a man riding a dog <END>"
    assert notebook_bleu(gt, sample) == pytest.approx(4 / 5 * np.exp(1 - 8 / 5))
    assert notebook_bleu(gt, "<START> <UNK> <END>") == 0.0
    assert notebook_bleu(gt, "<START> purple elephants <END>") == 0.0


def test_strip_special_and_ngram_matches():
    assert strip_special("<START> a <UNK> cat <END> <NULL>") == ["a", "cat"]
    hyp = "a red circle beside a star".split()
    refs = ["a red circle on the left".split(), "a star".split()]
    assert ngram_matches(hyp, refs, max_n=4) == [3, 3, 3, 0, 2, 2]


def test_common_words_count_in_order_so_one_extra_word_shifts_nothing():
    truth = "two small green diamonds and two big blue diamonds".split()
    caption = "two green diamonds and two big blue diamonds".split()
    assert sum(a == b for a, b in zip(caption, truth)) == 1          # by position: 1 right
    assert common_words(caption, truth) == [True] * 8                # in order: all 8
    assert common_words("a b c".split(), "c b a".split()).count(True) == 1   # order matters
    assert common_words("the the cat".split(), "the cat".split()).count(True) == 2     # one "the" only
    assert common_words([], ["a"]) == [] and common_words(["a"], []) == [False]
