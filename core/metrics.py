"""BLEU for captions, in pure Python: BLEU-1..4 against several references, and the notebook's score.

- `sentence_bleu(references, hypothesis)` and `corpus_bleu(list_of_references, hypotheses)`
  follow Papineni et al. (2002): clipped n-gram precisions, their geometric mean with
  uniform weights, and a brevity penalty against the closest reference length (ties go
  to the shorter one). BLEU-n uses n-grams 1..n. Both return an array [BLEU-1, …, BLEU-max_n].
- Smoothing for sentences where some n-gram order has no match: "epsilon" (Chen & Cherry
  method 1: 0.1 in place of a zero count, NLTK's method1), "add1" (their method 2: add one
  to numerator and denominator for n > 1) or None (an order with no match gives 0). A
  hypothesis that shares no word with its references scores 0 whatever the smoothing, as in
  NLTK. Epsilon smoothing can still put a short hypothesis's BLEU-n a little above its
  BLEU-(n-1): 0.1 in place of a zero count is a larger precision for an order with fewer
  n-grams (one 4-gram in a four-word caption against three trigrams), so the geometric mean
  can rise. That is smoothed BLEU, not an error, and the app's scores views say so.
- `notebook_bleu(gt_caption, sample_caption)` is the CS231n notebook's unigram BLEU against
  one reference (NLTK's `sentence_bleu` with weights [1]), for comparison with its numbers.

`common_words(hypothesis, reference)` marks the hypothesis words that a longest common
subsequence shares with the reference: "words right" in order, where one word added or left
out does not make every later word wrong (as counting by position did).

Tokens are lists of words; `strip_special` removes <NULL>, <START>, <END> and <UNK>.
"""
from __future__ import annotations

import math
from collections import Counter

import numpy as np

from .data.layout import SPECIAL_WORDS

SPECIAL = tuple(SPECIAL_WORDS)    # <NULL> <START> <END> <UNK>
SMOOTHING = ("epsilon", "add1", None)


def strip_special(words) -> list[str]:
    """Words without the special tokens (a caption string is split on spaces first)."""
    if isinstance(words, str):
        words = words.split()
    return [w for w in words if w not in SPECIAL]


def ngram_counts(tokens, n) -> Counter:
    """How often every n-gram (a tuple of n words) occurs in tokens."""
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def _clipped_counts(references, hypothesis, max_n):
    """Per order n: (clipped matches, hypothesis n-grams)."""
    out = []
    for n in range(1, max_n + 1):
        hyp = ngram_counts(hypothesis, n)
        best = Counter()
        for ref in references:
            for gram, count in ngram_counts(ref, n).items():
                best[gram] = max(best[gram], count)
        out.append((sum(min(c, best[g]) for g, c in hyp.items()), max(len(hypothesis) - n + 1, 0)))
    return out


def _closest_ref_len(references, hyp_len) -> int:
    return min((len(r) for r in references), key=lambda r: (abs(r - hyp_len), r))


def brevity_penalty(ref_len, hyp_len) -> float:
    """1 for a hypothesis at least as long as its reference, else exp(1 - r / c)."""
    if hyp_len == 0:
        return 0.0
    return 1.0 if hyp_len > ref_len else math.exp(1 - ref_len / hyp_len)


def _bleu_from_counts(counts, ref_len, hyp_len, smoothing):
    if smoothing not in SMOOTHING:
        raise ValueError(f"unknown smoothing {smoothing!r}: use one of {SMOOTHING}")
    if counts and counts[0][0] == 0:        # no word in common: no smoothing makes that a match
        return np.zeros(len(counts))      # (NLTK returns 0 here too)
    bp = brevity_penalty(ref_len, hyp_len)
    scores, log_sum = [], 0.0
    for n, (match, total) in enumerate(counts, start=1):
        if total == 0:
            p = 0.0
        elif smoothing == "add1" and n > 1:
            p = (match + 1) / (total + 1)
        elif match > 0:
            p = match / total
        elif smoothing == "epsilon":
            p = 0.1 / total
        else:
            p = 0.0
        log_sum = -math.inf if p == 0 else log_sum + math.log(p)
        scores.append(0.0 if log_sum == -math.inf else bp * math.exp(log_sum / n))
    return np.array(scores)


def sentence_bleu(references, hypothesis, max_n=4, smoothing="epsilon") -> np.ndarray:
    """BLEU-1..max_n of one hypothesis (list of words) against its references (lists of words)."""
    references = [list(r) for r in references]
    if not references:
        raise ValueError("sentence_bleu needs at least one reference")
    hypothesis = list(hypothesis)
    counts = _clipped_counts(references, hypothesis, max_n)
    return _bleu_from_counts(counts, _closest_ref_len(references, len(hypothesis)),
                             len(hypothesis), smoothing)


def corpus_bleu(list_of_references, hypotheses, max_n=4, smoothing=None) -> np.ndarray:
    """Corpus BLEU-1..max_n: counts and lengths summed over all sentences before dividing."""
    if len(list_of_references) != len(hypotheses):
        raise ValueError(f"{len(list_of_references)} reference sets for {len(hypotheses)} hypotheses")
    if not hypotheses:
        raise ValueError("corpus_bleu needs at least one hypothesis")
    matches, totals = np.zeros(max_n, dtype=np.int64), np.zeros(max_n, dtype=np.int64)
    ref_len = hyp_len = 0
    for references, hypothesis in zip(list_of_references, hypotheses):
        references, hypothesis = [list(r) for r in references], list(hypothesis)
        for k, (m, t) in enumerate(_clipped_counts(references, hypothesis, max_n)):
            matches[k] += m
            totals[k] += t
        ref_len += _closest_ref_len(references, len(hypothesis))
        hyp_len += len(hypothesis)
    return _bleu_from_counts(list(zip(matches, totals)), ref_len, hyp_len, smoothing)


def notebook_bleu(gt_caption: str, sample_caption: str) -> float:
    """The CS231n notebook's BLEU: unigram precision times brevity penalty, one reference.

    Words containing <START>, <END> or <UNK> are dropped from both captions first.
    """
    def keep(caption):
        return [w for w in caption.split(" ")
                if w and "<END>" not in w and "<START>" not in w and "<UNK>" not in w]

    reference, hypothesis = keep(gt_caption), keep(sample_caption)
    if not hypothesis:
        return 0.0
    (match, total), = _clipped_counts([reference], hypothesis, 1)
    if match == 0:
        return 0.0
    return brevity_penalty(_closest_ref_len([reference], len(hypothesis)), len(hypothesis)) * match / total


def ngram_matches(hypothesis, references, max_n=4) -> list[int]:
    """For each hypothesis word, the longest n (up to max_n) of an n-gram that covers it and
    occurs in some reference; 0 for a word no reference shares. For highlighting."""
    hypothesis = list(hypothesis)
    ref_grams = [set().union(*(ngram_counts(list(r), n) for r in references)) for n in range(1, max_n + 1)]
    best = [0] * len(hypothesis)
    for n in range(1, max_n + 1):
        for i in range(len(hypothesis) - n + 1):
            if tuple(hypothesis[i:i + n]) in ref_grams[n - 1]:
                for j in range(i, i + n):
                    best[j] = n
    return best


def common_words(hypothesis, reference) -> list[bool]:
    """For each hypothesis word, whether it belongs to a longest common subsequence of the
    hypothesis and the reference (words in the same order, gaps allowed). Their sum is the
    subsequence's length, at most the length of either."""
    hypothesis, reference = list(hypothesis), list(reference)
    H, R = len(hypothesis), len(reference)
    longest = [[0] * (R + 1) for _ in range(H + 1)]       # longest[i][j]: of hypothesis[i:], reference[j:]
    for i in range(H - 1, -1, -1):
        for j in range(R - 1, -1, -1):
            longest[i][j] = (longest[i + 1][j + 1] + 1 if hypothesis[i] == reference[j]
                             else max(longest[i + 1][j], longest[i][j + 1]))
    shared, i, j = [False] * H, 0, 0
    while i < H and j < R:                                 # walk one longest subsequence, front to back
        if hypothesis[i] == reference[j]:
            shared[i], i, j = True, i + 1, j + 1
        elif longest[i + 1][j] >= longest[i][j + 1]:
            i += 1
        else:
            j += 1
    return shared
