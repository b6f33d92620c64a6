"""Scoring a captioner: one image against all its references, or a whole split.

- `check_compatible(model, data)`: refuse a model built for other features or words;
- `CaptionIndex`: every image's reference captions, found without scanning the split;
- `Strategy`: greedy, beam search (size k) or temperature sampling, with a label;
- `evaluate`: corpus BLEU-1..4 over N images of each split for each strategy, and the
  CS231n notebook's unigram BLEU, with a progress callback;
- `caption_images`: a few images captioned and scored one by one, for showing;
- `compare_strategies`: every strategy's caption for one image with its log-probability.

The notebook's score (`evaluate_model`) draws captions at random and scores each
image's sample against that one caption with unigram BLEU. Here N images are drawn
without replacement, each is captioned once, and its notebook score uses one of its
references drawn with the same seed: the same estimate, without repeated images.

Dimension letters: N images, D feature, T caption length.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .arguments import positive_int
from .data.characters import decode_length
from .data.coco import decode_captions, row_words, word_ids
from .decoding import decode
from .metrics import SPECIAL, corpus_bleu, notebook_bleu, sentence_bleu
from .text import message

FEATURE_KINDS = {512: "PCA 512-d", 4096: "fc7 4096-d"}

Progress = Callable[[int, int, str], None]       # (images done, images in total, what now)
SPLITS = {"train": message("train"), "val": message("val")}   # the splits' names, to show


class ModelMismatch(ValueError):
    """A model that cannot read this dataset; the message (`args[0]`, a translatable
    `core.text.Message`) says why and what to do."""


def check_compatible(model, data) -> None:
    """Raise `ModelMismatch` unless `model` reads data's features and speaks its vocabulary."""
    D = data["train_features"].shape[1]
    if model.input_dim != D:
        want = FEATURE_KINDS.get(model.input_dim, f"{model.input_dim}-d")
        have = FEATURE_KINDS.get(D, f"{D}-d")
        raise ModelMismatch(message(
            "This model reads {dim}-d image features, but the dataset gives {have} features. "
            "Choose *{want}* under Features in the sidebar, or another model.",
            dim=model.input_dim, have=have, want=want))
    words = list(data["idx_to_word"])
    if [model.idx_to_word.get(i) for i in range(model.vocab_size)] != words:
        ours, theirs = set(model.word_to_idx), set(words)
        detail = ", ".join(sorted(ours ^ theirs)[:5]) or message("the same words in another order")
        raise ModelMismatch(message(
            "This model was trained with a vocabulary of {ours:,} words; the dataset has "
            "{theirs:,} (they differ in: {detail}). A model only works on the dataset it was "
            "trained on: choose that dataset in the sidebar, or another model.",
            ours=model.vocab_size, theirs=len(words), detail=detail))


# --- references ----------------------------------------------------------------------

class CaptionIndex:
    """Which caption rows of a split belong to which image (built once, in O(N log N))."""

    def __init__(self, data, split: str):
        image_idxs = np.asarray(data[f"{split}_image_idxs"])
        self.split = split
        self.num_images = len(data[f"{split}_features"])
        self._rows = np.argsort(image_idxs, kind="stable")
        self._bounds = np.searchsorted(image_idxs[self._rows], np.arange(self.num_images + 1))
        self._captions = data[f"{split}_captions"]
        self._idx_to_word = data["idx_to_word"]

    def rows(self, image: int) -> np.ndarray:
        """Caption rows of `image` (possibly none)."""
        return self._rows[self._bounds[image]:self._bounds[image + 1]]

    def captions(self, image: int) -> np.ndarray:
        """Its captions as ids (k, T), <START> … <END> with <NULL> padding."""
        return self._captions[self.rows(image)]

    def references(self, image: int) -> list[list[str]]:
        """Its captions as word lists without special tokens, for BLEU."""
        return [caption_words(c, self._idx_to_word) for c in self.captions(image)]

    def images_with_captions(self) -> np.ndarray:
        return np.flatnonzero(np.diff(self._bounds) > 0)


def caption_words(ids, idx_to_word) -> list[str]:
    """Ids (T,) to words up to <END>, without <NULL>, <START>, <END> or <UNK>."""
    return row_words(word_ids(ids).tolist(), idx_to_word, skip=SPECIAL, keep_end=False)


# --- strategies ----------------------------------------------------------------------

@dataclass(frozen=True)
class Strategy:
    """How to turn a model's distributions into one caption."""

    kind: str = "greedy"          # "greedy", "beam" or "temperature"
    beam_size: int = 3            # for "beam": hypotheses kept per step
    temperature: float = 1.0      # for "temperature": >1 flatter, <1 sharper
    seed: int = 0                 # for "temperature": the draws

    @property
    def label(self) -> str:
        """Its name, to show (translatable) and to key by: "greedy", "beam 3", "temperature 0.7 (seed 0)"."""
        if self.kind == "beam":
            return message("beam {size}", size=self.beam_size)
        if self.kind == "temperature":
            return message("temperature {t:g} (seed {seed})", t=self.temperature, seed=self.seed)
        return message("greedy") if self.kind == "greedy" else self.kind

    def decode(self, model, features, max_length=None, keys=None):
        """Caption features (N, D); `keys` are the images' indices (temperature draws depend on them).
        With no max_length, the model's vocabulary decides it (30 words, or 180 characters)."""
        if max_length is None:
            max_length = decode_length(model.idx_to_word)
        return decode(model, features, self.kind, max_length=max_length, temperature=self.temperature,
                      seed=self.seed, beam_size=self.beam_size, keys=keys)


# --- split-level scores --------------------------------------------------------------

@dataclass(frozen=True)
class SplitScore:
    """One strategy's scores on N images of one split."""

    split: str
    strategy: str                 # Strategy.label
    num_images: int
    bleu: np.ndarray              # (4,) corpus BLEU-1..4 against all references
    notebook_bleu: float          # the notebook's mean unigram BLEU against one reference
    mean_logprob: float           # mean log-probability of a caption
    mean_length: float            # mean words per caption, <END> excluded
    seconds: float                # time to decode and score


def sample_images(index: CaptionIndex, n: int, seed: int, pool=None) -> np.ndarray:
    """n distinct images with at least one caption, drawn with `seed` (all if n is larger);
    only from `pool` (image indices of the split, e.g. those a model trained on) when given."""
    captioned = index.images_with_captions()
    if pool is not None:
        captioned = np.intersect1d(captioned, np.asarray(pool, dtype=np.int64))
    n = min(positive_int("n", n), len(captioned))
    if n < 1:
        where = "the given images" if pool is not None else f"the {index.split} split"
        raise ValueError(f"{where} has no captioned images to score")
    return np.sort(np.random.default_rng(seed).choice(captioned, size=n, replace=False))


def evaluate(model, data, strategies, splits=("train", "val"), n=100, seed=0, *,
             batch_size=100, max_length=None, progress: Progress | None = None,
             indexes: dict | None = None, pools: dict | None = None) -> list[SplitScore]:
    """Score every strategy on n images of every split; one `SplitScore` each, splits inner.

    The same images are used for every strategy. `progress(done, total, message)` hears
    after every batch of `batch_size` images (temperature draws are keyed by image index,
    so batching does not change them); `indexes` may hold ready `CaptionIndex` objects
    by split; `pools` may restrict a split to some of its images (e.g. {"train": the
    images a model trained on}), from which its n are drawn.
    """
    check_compatible(model, data)
    batch_size = positive_int("batch_size", batch_size)
    strategies = [s if isinstance(s, Strategy) else Strategy(**s) for s in strategies]
    indexes, pools = dict(indexes or {}), dict(pools or {})
    plans = []
    for split in splits:
        index = indexes.get(split) or CaptionIndex(data, split)
        plans.append((split, index, sample_images(index, n, seed, pools.get(split))))
    total = sum(len(images) for _, _, images in plans) * len(strategies)
    done = 0
    results = []
    for strategy in strategies:
        for split, index, images in plans:
            started = time.perf_counter()
            captions, logprobs = [], []
            for lo in range(0, len(images), batch_size):
                batch = images[lo:lo + batch_size]
                out = strategy.decode(model, data[f"{split}_features"][batch], max_length, keys=batch)
                captions.append(out.captions)
                logprobs.append(out.logprobs)
                done += len(batch)
                if progress is not None:
                    progress(done, total, message("{strategy} on {split}: {done} of {total} images",
                                                  strategy=strategy.label, split=SPLITS.get(split, split),
                                                  done=lo + len(batch), total=len(images)))
            results.append(_score(data, index, images, np.concatenate(captions),
                                  np.concatenate(logprobs), split, strategy.label, seed,
                                  time.perf_counter() - started))
    return results


def _score(data, index, images, captions, logprobs, split, label, seed, seconds) -> SplitScore:
    idx_to_word = data["idx_to_word"]
    rng = np.random.default_rng([seed, 1])            # which reference the notebook score uses
    hypotheses, references, notebook = [], [], []
    for image, caption in zip(images, captions):
        refs = index.captions(image)
        hypotheses.append(caption_words(caption, idx_to_word))
        references.append(index.references(image))
        one = refs[rng.integers(len(refs))]
        notebook.append(notebook_bleu(decode_captions(one, idx_to_word),
                                      decode_captions(caption, idx_to_word)))
    return SplitScore(split=split, strategy=label, num_images=len(images),
                      bleu=corpus_bleu(references, hypotheses),
                      notebook_bleu=float(np.mean(notebook)), mean_logprob=float(np.mean(logprobs)),
                      mean_length=float(np.mean([len(h) for h in hypotheses])), seconds=seconds)


# --- a few images, one strategy ------------------------------------------------------

@dataclass(frozen=True)
class ImageCaption:
    """One image's sampled caption with its references and scores."""

    image: int
    words: list[str]              # the sampled caption, special tokens removed
    references: list[list[str]]   # every ground-truth caption, special tokens removed
    bleu: np.ndarray              # (4,) sentence BLEU-1..4 against all references
    logprob: float                # log p(caption)


def caption_images(model, data, index: CaptionIndex, images, strategy: Strategy,
                   max_length=None) -> list[ImageCaption]:
    """Caption `images` of index's split in one batch and score each against its references."""
    images = np.asarray(images, dtype=np.int64)
    out = strategy.decode(model, data[f"{index.split}_features"][images], max_length, keys=images)
    rows = []
    for image, caption, logprob in zip(images, out.captions, out.logprobs):
        words, refs = caption_words(caption, data["idx_to_word"]), index.references(int(image))
        rows.append(ImageCaption(image=int(image), words=words, references=refs,
                                 bleu=sentence_bleu(refs, words) if refs else np.full(4, np.nan),
                                 logprob=float(logprob)))
    return rows


# --- one image, several strategies ---------------------------------------------------

@dataclass(frozen=True)
class StrategyCaption:
    """One strategy's caption of one image."""

    strategy: str                 # Strategy.label
    words: list[str]              # the caption, special tokens removed
    logprob: float                # log p(caption), <END> included when generated
    length: int                   # generated words, <END> included
    bleu: np.ndarray              # (4,) sentence BLEU-1..4 against the references

    @property
    def logprob_per_word(self) -> float:
        return self.logprob / max(self.length, 1)


def compare_strategies(model, feature, references, strategies, max_length=None,
                       key=0) -> list[StrategyCaption]:
    """Caption one image (feature (D,), its index `key`) with every strategy; references are word lists."""
    feature = np.asarray(feature).reshape(1, -1)
    rows = []
    for strategy in strategies:
        strategy = strategy if isinstance(strategy, Strategy) else Strategy(**strategy)
        out = strategy.decode(model, feature, max_length, keys=[key])
        words = caption_words(out.captions[0], model.idx_to_word)
        rows.append(StrategyCaption(
            strategy=strategy.label, words=words, logprob=float(out.logprobs[0]),
            length=int(out.lengths[0]),
            bleu=sentence_bleu(references, words) if references else np.full(4, np.nan)))
    return rows
