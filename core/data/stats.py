"""What the Browse page computes from the COCO captioning dict: seeded minibatch rows,
caption statistics, caption search, and one caption's tokens with its loss mask.

Everything takes the arrays of `load_coco_data`'s dict and returns numbers, small
arrays or small dataclasses, cheap enough for the full 400k-caption split (one
vectorised pass each). Nothing here draws, and nothing imports streamlit.

Dimension letters: N captions, T caption length (with <START>, <END>, <NULL> padding),
V vocabulary size, D feature size.
"""
from __future__ import annotations

import re
import string
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np

from core.data.coco import SPECIAL_WORDS, SPLITS, draw_rows, row_words
from core.data.errors import DatasetError

NULL, START, END, UNK = (SPECIAL_WORDS[w] for w in ("<NULL>", "<START>", "<END>", "<UNK>"))
MATCH_MODES = ("all", "any")       # a caption must hold every word, or at least one


def _split_arrays(data: Mapping[str, Any], split: str) -> tuple[np.ndarray, np.ndarray]:
    if split not in SPLITS or f"{split}_captions" not in data:
        raise DatasetError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    return data[f"{split}_captions"], data[f"{split}_image_idxs"]


# --- minibatches ---------------------------------------------------------------------

def minibatch_rows(data: Mapping[str, Any], split: str, batch_size: int, seed: int) -> np.ndarray:
    """The caption rows `sample_coco_minibatch(data, batch_size, split, rng=seed)` draws.

    Drawn with replacement, as the notebook does, so a row can repeat.
    """
    captions, _ = _split_arrays(data, split)
    if not 1 <= batch_size <= len(captions):
        raise DatasetError(f"batch_size must be from 1 to {len(captions)}, not {batch_size}")
    return draw_rows(len(captions), batch_size, seed)


def sample_rows(rows: np.ndarray, batch_size: int, seed: int) -> np.ndarray:
    """Up to `batch_size` of `rows`, without replacement, in a seeded random order."""
    rows = np.asarray(rows)
    if len(rows) <= batch_size:
        return np.random.default_rng(seed).permutation(rows)
    return np.random.default_rng(seed).choice(rows, batch_size, replace=False)


# --- captions as text and as tokens ----------------------------------------------------

def display_words(caption: np.ndarray, idx_to_word: Sequence[str]) -> list[str]:
    """The words of one caption row as a card shows them: no <START>, <END> or <NULL>, but
    <UNK> stays (unlike `core.evaluate.caption_words`, which scores without it)."""
    return row_words(np.asarray(caption).tolist(), idx_to_word, skip=("<NULL>", "<START>"), keep_end=False)


@dataclass(frozen=True)
class CaptionTokens:
    """One caption row as the model sees it in training.

    The model reads `inputs` (the row without its last id) and is scored on `targets`
    (the row without <START>); `mask` says which targets count in the loss: not <NULL>.
    """

    ids: np.ndarray                # (T,) the caption row
    words: tuple[str, ...]         # (T,) its words, specials included

    @property
    def inputs(self) -> np.ndarray:
        return self.ids[:-1]

    @property
    def targets(self) -> np.ndarray:
        return self.ids[1:]

    @property
    def mask(self) -> np.ndarray:
        return self.targets != NULL

    @property
    def length(self) -> int:
        """Real words: not <START>, <END> or <NULL>."""
        return int(np.sum((self.ids != NULL) & (self.ids != START) & (self.ids != END)))


def caption_tokens(caption: np.ndarray, idx_to_word: Sequence[str]) -> CaptionTokens:
    """A caption row's ids next to their words, with the loss mask."""
    ids = np.asarray(caption)
    return CaptionTokens(ids, tuple(idx_to_word[i] for i in ids.tolist()))


def image_caption_rows(data: Mapping[str, Any], split: str, image: int) -> np.ndarray:
    """Every caption row of image `image` in `split`, through `image_idxs`."""
    _, image_idxs = _split_arrays(data, split)
    return np.flatnonzero(image_idxs == image)


@dataclass(frozen=True)
class FeatureSummary:
    """A few numbers about one image's feature vector."""

    dims: int
    low: float
    high: float
    mean: float
    norm: float                    # L2 norm
    zeros: int                     # exact zeros (fc7 is a ReLU output: many; PCA: none)


def feature_summary(vector: np.ndarray) -> FeatureSummary:
    v = np.asarray(vector, dtype=np.float64).ravel()
    return FeatureSummary(v.size, float(v.min()), float(v.max()), float(v.mean()),
                          float(np.linalg.norm(v)), int(np.sum(v == 0)))


# --- statistics ------------------------------------------------------------------------

def caption_lengths(captions: np.ndarray) -> np.ndarray:
    """(N,) words per caption, not counting <START>, <END> or <NULL> (<UNK> counts)."""
    captions = np.asarray(captions)
    return np.sum((captions != NULL) & (captions != START) & (captions != END), axis=1)


def histogram(values: np.ndarray, start: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(value, count) for every whole value from `start` (else the smallest seen) to the largest."""
    values = np.asarray(values, dtype=np.int64)
    low = start if start is not None else int(values.min()) if values.size else 0
    counts = np.bincount(values - low) if values.size else np.zeros(0, dtype=np.int64)
    return np.arange(low, low + len(counts)), counts


def word_counts(captions: np.ndarray, vocab_size: int) -> np.ndarray:
    """(V,) how often each word id occurs in the captions (padding included at id 0)."""
    return np.bincount(np.asarray(captions).ravel(), minlength=vocab_size)


def top_words(counts: np.ndarray, idx_to_word: Sequence[str], k: int = 25) -> list[tuple[str, int]]:
    """The k most frequent words, specials left out, most frequent first (ties by id)."""
    counts = np.asarray(counts).copy()
    counts[[NULL, START, END, UNK]] = -1
    order = np.argsort(-counts, kind="stable")[:k]
    return [(idx_to_word[i], int(counts[i])) for i in order if counts[i] > 0]


@dataclass(frozen=True)
class SplitStats:
    """The statistics the Browse page plots for one split."""

    split: str
    num_captions: int
    num_images: int
    lengths: tuple[np.ndarray, np.ndarray]         # caption length -> captions
    mean_length: float
    top_words: list[tuple[str, int]]               # most frequent words, specials left out
    words_used: int                                # vocabulary words seen at least once
    vocab_size: int
    word_tokens: int                               # real words in all captions
    unk_tokens: int                                # of which <UNK>
    unk_captions: int                              # captions with at least one <UNK>
    per_image: tuple[np.ndarray, np.ndarray]       # captions per image -> images

    @property
    def unk_token_rate(self) -> float:
        return self.unk_tokens / self.word_tokens if self.word_tokens else 0.0

    @property
    def unk_caption_rate(self) -> float:
        return self.unk_captions / self.num_captions if self.num_captions else 0.0


def split_stats(data: Mapping[str, Any], split: str, k: int = 25) -> SplitStats:
    """Caption lengths, most frequent words, <UNK> rate and captions per image of a split."""
    captions, image_idxs = _split_arrays(data, split)
    idx_to_word = data["idx_to_word"]
    lengths = caption_lengths(captions)
    counts = word_counts(captions, len(idx_to_word))
    specials = [NULL, START, END, UNK]
    real = np.ones(len(counts), dtype=bool)
    real[specials] = False
    num_images = len(data[f"{split}_urls"])
    return SplitStats(
        split=split, num_captions=len(captions), num_images=num_images,
        lengths=histogram(lengths), mean_length=float(lengths.mean()),
        top_words=top_words(counts, idx_to_word, k),
        words_used=int(np.sum(counts[real] > 0)), vocab_size=int(real.sum()),
        word_tokens=int(lengths.sum()), unk_tokens=int(counts[UNK]),
        unk_captions=int(np.sum(np.any(captions == UNK, axis=1))),
        per_image=histogram(np.bincount(image_idxs, minlength=num_images), start=0))


# --- search ------------------------------------------------------------------------------

_PUNCTUATION = string.punctuation.replace("<", "").replace(">", "")


def parse_query(text: str) -> tuple[str, ...]:
    """The words of a search box: split on spaces and commas, punctuation around a word
    dropped ("cat!" is "cat", "t-shirt" stays), lower-cased (but <UNK> and the other
    specials), duplicates dropped, order kept."""
    words = []
    for token in re.split(r"[\s,;]+", text.strip()):
        special = token.strip(_PUNCTUATION).upper()
        word = special if special in SPECIAL_WORDS else token.strip(string.punctuation).lower()
        if word and word not in words:
            words.append(word)
    return tuple(words)


@dataclass(frozen=True)
class SplitMatches:
    """The captions of one split that matched a search."""

    rows: np.ndarray               # caption rows that match, ascending
    images: int                    # distinct images among them
    total: int                     # captions in the split

    @property
    def count(self) -> int:
        return len(self.rows)

    @property
    def rate(self) -> float:
        return self.count / self.total if self.total else 0.0


@dataclass(frozen=True)
class SearchResult:
    """A caption search: the words asked for, which the vocabulary knows, the matches."""

    words: tuple[str, ...]                 # as parsed
    known: tuple[str, ...]                 # those in the vocabulary
    unknown: tuple[str, ...]               # those not (in COCO they became <UNK>)
    mode: str                              # "all" or "any"
    matches: dict[str, SplitMatches]       # split -> matches


def search_captions(data: Mapping[str, Any], words: Sequence[str], mode: str = "all") -> SearchResult:
    """Captions holding every word (`mode="all"`) or any of them (`"any"`), per split.

    A word the vocabulary lacks matches nothing, so with "all" it empties the result.
    """
    if mode not in MATCH_MODES:
        raise ValueError(f"mode must be one of {MATCH_MODES}, not {mode!r}")
    word_to_idx = data["word_to_idx"]
    words = tuple(words)
    known = tuple(w for w in words if w in word_to_idx)
    unknown = tuple(w for w in words if w not in word_to_idx)
    ids = [word_to_idx[w] for w in known]
    matches = {}
    for split in SPLITS:
        captions, image_idxs = _split_arrays(data, split)
        if not ids or (mode == "all" and unknown):
            hit = np.zeros(len(captions), dtype=bool)
        else:
            combine = np.logical_and if mode == "all" else np.logical_or
            hit = (captions == ids[0]).any(axis=1)
            for idx in ids[1:]:
                hit = combine(hit, (captions == idx).any(axis=1))
        rows = np.flatnonzero(hit)
        matches[split] = SplitMatches(rows, int(np.unique(image_idxs[rows]).size), len(captions))
    return SearchResult(words, known, unknown, mode, matches)
