"""The CS231n COCO captioning data: the notebook's loader, minibatches and caption decoding.

`load_coco_data` returns the dict the course notebooks use, with the same keys, types
and dtypes and the same random draws, and checks every file on the way so a bad
dataset gives one `DatasetError` naming the file and what to do. Two things differ
from the notebook's loader, both invisible to code written for it: the 4096-d fc7
features stay on disk behind `LazyFeatures` (they are 2 GB), and relative image
paths (the demo dataset's) become `file://` URIs.

Dimension letters: N captions, T caption length, D feature size, V vocabulary size.
This file does not download or generate data (see `download.py` and `demo.py`).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Collection, Mapping, Sequence

import numpy as np

from core.arguments import is_whole
from core.data.characters import is_characters, join_characters
from core.data.demo import ensure_demo_dataset
from core.data.errors import DatasetError
from core.data.h5files import LazyFeatures, fix_hint, h5_dataset, open_h5, read_array, replace_hint
from core.data.layout import (CAPTIONS_FILE, SPECIAL_WORDS, SPLITS, VOCAB_FILE,  # noqa: F401 (names of the loader's API)
                               dataset_files, features_file, urls_file)
from core.text import message

_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


# ---------------------------------------------------------------------------
# Reading and checking the files


def _require(ok: bool, path: Path, problem: str) -> None:
    if not ok:
        raise DatasetError(message("{path}: {problem}. {hint}", path=path, problem=problem, hint=replace_hint(path)))


def _check_files(base_dir: Path, pca_features: bool) -> None:
    if base_dir.exists() and not base_dir.is_dir():
        raise DatasetError(message("{folder} is a file, not a dataset folder. Pass the folder that "
                                   "holds {captions}, or no base_dir for the demo dataset.",
                                   folder=base_dir, captions=CAPTIONS_FILE))
    if not base_dir.is_dir():
        raise DatasetError(message(
            "Dataset folder {folder} does not exist. Get the COCO data with "
            "`python -m core.data download --dest {folder}`, or call "
            "load_coco_data() without base_dir for the demo dataset.", folder=base_dir))
    missing = [name for name in dataset_files(pca_features) if not (base_dir / name).is_file()]
    if missing:
        values = dict(folder=base_dir, files=", ".join(missing), hint=fix_hint(base_dir))
        if all((base_dir / name).is_file() for name in dataset_files(not pca_features)):
            raise DatasetError(message(
                "Dataset folder {folder} lacks {files} (the {other} features are there: "
                "pass pca_features={switch}). {hint}",
                other="fc7" if pca_features else "PCA", switch=not pca_features, **values))
        raise DatasetError(message("Dataset folder {folder} lacks {files}. {hint}", **values))


def _read_vocab(path: Path) -> tuple[list[str], dict[str, int]]:
    try:
        vocab = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DatasetError(message("{path} is not valid JSON ({error}). {hint}", path=path, error=str(err),
                                   hint=replace_hint(path))) from None
    except OSError as err:
        raise DatasetError(message("{path} cannot be read ({error}).", path=path,
                                   error=str(err.strerror or err))) from None
    _require(isinstance(vocab, dict) and "idx_to_word" in vocab and "word_to_idx" in vocab,
             path, message("expected an object with 'idx_to_word' and 'word_to_idx'"))
    idx_to_word, word_to_idx = vocab["idx_to_word"], vocab["word_to_idx"]
    _require(isinstance(idx_to_word, list) and all(isinstance(w, str) for w in idx_to_word),
             path, message("'idx_to_word' must be a list of words"))
    _require(isinstance(word_to_idx, dict), path, message("'word_to_idx' must map words to ids"))
    for word, idx in SPECIAL_WORDS.items():
        _require(len(idx_to_word) > idx and idx_to_word[idx] == word, path,
                 message("'idx_to_word' must start with <NULL>, <START>, <END>, <UNK> "
                         "(id {idx} should be {word})", idx=idx, word=word))
    consistent = len(word_to_idx) == len(idx_to_word) and all(
        type(word_to_idx.get(w)) is int and word_to_idx[w] == i for i, w in enumerate(idx_to_word))
    _require(consistent, path, message("'word_to_idx' does not invert 'idx_to_word'"))
    return idx_to_word, word_to_idx


def _read_urls(path: Path, base_dir: Path) -> np.ndarray:
    """The notebook's `np.asarray([line.strip() for line in f])`, with relative paths
    turned into file:// URIs against `base_dir` (http(s) URLs are checked vectorised)."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = [line.strip() for line in f]
    except UnicodeDecodeError as err:
        raise DatasetError(message("{path} is not UTF-8 text ({error}). {hint}", path=path, error=str(err),
                                   hint=replace_hint(path))) from None
    except OSError as err:
        raise DatasetError(message("{path} cannot be read ({error}).", path=path,
                                   error=str(err.strerror or err))) from None
    if "" in lines:
        _require(False, path, message("line {line} is empty", line=lines.index("") + 1))
    urls = np.asarray(lines, dtype=str)
    web = np.char.startswith(urls, "http://") | np.char.startswith(urls, "https://")
    if web.all():
        return urls
    base = base_dir.resolve()
    for i in np.flatnonzero(~web):
        if not _URL_SCHEME.match(lines[i]):
            lines[i] = (base / lines[i]).as_uri()
    return np.asarray(lines, dtype=str)


def _read_dataset(base_dir: Path, pca_features: bool, lazy: bool) -> dict[str, Any]:
    """Every file of the dataset, checked; features in memory or, with `lazy`, on disk."""
    _check_files(base_dir, pca_features)
    data: dict[str, Any] = {}
    path = base_dir / CAPTIONS_FILE
    with open_h5(path) as f:
        for split in SPLITS:
            for name in (f"{split}_captions", f"{split}_image_idxs"):
                data[name] = read_array(h5_dataset(f, name, path), path)

    opened: list[LazyFeatures] = []  # closed again if a later check fails
    try:
        for split in SPLITS:
            path = base_dir / features_file(split, pca_features)
            if lazy:
                opened.append(LazyFeatures.open(path))
                data[f"{split}_features"] = opened[-1]
            else:
                with open_h5(path) as f:
                    data[f"{split}_features"] = read_array(h5_dataset(f, "features", path), path)
        data["idx_to_word"], data["word_to_idx"] = _read_vocab(base_dir / VOCAB_FILE)
        for split in SPLITS:
            data[f"{split}_urls"] = _read_urls(base_dir / urls_file(split), base_dir)
        _check_consistency(data, base_dir, pca_features)
    except BaseException:
        for features in opened:
            features.close()
        raise
    return data


def _check_consistency(data: dict[str, Any], base_dir: Path, pca_features: bool) -> None:
    """Shapes, dtypes and id ranges: one min/max pass over the integer arrays."""
    vocab_size = len(data["idx_to_word"])
    dims = {}
    for split in SPLITS:
        captions_path = base_dir / CAPTIONS_FILE
        features_path = base_dir / features_file(split, pca_features)
        captions, image_idxs = data[f"{split}_captions"], data[f"{split}_image_idxs"]
        features, urls = data[f"{split}_features"], data[f"{split}_urls"]

        _require(captions.ndim == 2 and np.issubdtype(captions.dtype, np.integer), captions_path,
                 message("'{split}_captions' must be a 2-D integer array (N, T), not "
                         "{dtype} of shape {shape}", split=split, dtype=captions.dtype, shape=captions.shape))
        _require(captions.shape[0] > 0 and captions.shape[1] > 0, captions_path,
                 message("the {split} split is empty: '{split}_captions' has shape {shape}",
                         split=split, shape=captions.shape))
        _require(image_idxs.ndim == 1 and np.issubdtype(image_idxs.dtype, np.integer),
                 captions_path, message("'{split}_image_idxs' must be a 1-D integer array, not "
                                        "{dtype} of shape {shape}", split=split, dtype=image_idxs.dtype,
                                        shape=image_idxs.shape))
        _require(len(image_idxs) == len(captions), captions_path,
                 message("'{split}_image_idxs' has {entries} entries but '{split}_captions' "
                         "has {rows} rows", split=split, entries=len(image_idxs), rows=len(captions)))
        _require(features.ndim == 2 and np.issubdtype(features.dtype, np.floating), features_path,
                 message("'features' must be a 2-D float array (images, D), not {dtype} "
                         "of shape {shape}", dtype=features.dtype, shape=features.shape))
        _require(features.shape[0] > 0, features_path, message("the {split} split has no images", split=split))
        _require(len(urls) == features.shape[0], base_dir / urls_file(split),
                 message("{urls} URLs for {images} images in {file}", urls=len(urls),
                         images=features.shape[0], file=features_path.name))

        low, high = int(captions.min()), int(captions.max())
        _require(low >= 0 and high < vocab_size, captions_path,
                 message("'{split}_captions' holds word id {idx}, outside the "
                         "vocabulary of {size} words in {file}", split=split, idx=low if low < 0 else high,
                         size=vocab_size, file=VOCAB_FILE))
        low, high = int(image_idxs.min()), int(image_idxs.max())
        _require(low >= 0 and high < features.shape[0], captions_path,
                 message("'{split}_image_idxs' holds image {image}, outside the "
                         "{images} images of {file}", split=split, image=low if low < 0 else high,
                         images=features.shape[0], file=features_path.name))
        dims[split] = features.shape[1]
    _require(dims["train"] == dims["val"], base_dir / features_file("val", pca_features),
             message("val features have {val} dimensions but train features have {train}",
                     val=dims["val"], train=dims["train"]))


# ---------------------------------------------------------------------------
# The notebook API


def _generator(rng: np.random.Generator | int) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def draw_rows(split_size: int, batch_size: int, rng=None) -> np.ndarray:
    """The minibatch draw: batch_size of range(split_size), with replacement, as the
    notebook draws; from numpy's global state when rng is None, else a Generator or seed."""
    if rng is None:
        return np.random.choice(split_size, batch_size)
    return _generator(rng).choice(split_size, batch_size)


def _count(name: str, value: Any) -> int:
    if not is_whole(value):
        raise DatasetError(f"{name} must be a whole number, not {value!r}")
    if not is_whole(value, 1):
        raise DatasetError(f"{name} must be at least 1, not {value}")
    return int(value)


def load_coco_data(base_dir: str | Path | None = None, max_train: int | None = None,
                   pca_features: bool = True, *, seed: int | None = None,
                   rng: np.random.Generator | None = None) -> dict[str, Any]:
    """Load the COCO captioning folder into the notebook's dict.

    Keys: `{train,val}_captions` (N, T) int, `{train,val}_image_idxs` (N,) int,
    `{train,val}_features` (images, D) float, `idx_to_word` list, `word_to_idx` dict,
    `{train,val}_urls` (images,) str. With `pca_features=False` the features are the
    4096-d fc7 ones as `LazyFeatures` (read on indexing); otherwise 512-d arrays.
    With no `base_dir`, the demo dataset (built on first use). `max_train` keeps that
    many training captions drawn with replacement; with neither `seed` nor `rng` the
    draw is the notebook's `np.random.randint` on numpy's global state.
    Raises `DatasetError` for anything wrong with the files or the arguments.
    """
    if seed is not None and rng is not None:
        raise DatasetError("give load_coco_data a seed or an rng, not both")
    if max_train is not None:
        max_train = _count("max_train", max_train)
    if base_dir is None:
        base_dir = ensure_demo_dataset()
    data = _read_dataset(Path(base_dir).expanduser(), pca_features, lazy=not pca_features)

    if max_train is not None:
        num_train = data["train_captions"].shape[0]
        if max_train > num_train:
            raise DatasetError(f"max_train={max_train} is more than the {num_train} "
                               f"training captions in {base_dir}")
        if seed is None and rng is None:
            mask = np.random.randint(num_train, size=max_train)
        else:
            mask = _generator(rng if rng is not None else seed).integers(num_train, size=max_train)
        data["train_captions"] = data["train_captions"][mask]
        data["train_image_idxs"] = data["train_image_idxs"][mask]
    return data


def sample_coco_minibatch(data: Mapping[str, Any], batch_size: int = 100, split: str = "train",
                          *, rng: np.random.Generator | int | None = None
                          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw `batch_size` captions (with replacement) from a split.

    Returns (captions (B, T), features (B, D), urls (B,)), where features and urls
    belong to each caption's image. With no `rng`, the draw is the notebook's
    `np.random.choice` on numpy's global state; `rng` may be a Generator or a seed.
    """
    keys = [f"{split}_{name}" for name in ("captions", "image_idxs", "features", "urls")]
    if not all(key in data for key in keys):
        known = [s for s in SPLITS if f"{s}_captions" in data]
        if split not in SPLITS:
            raise DatasetError(f"unknown split {split!r}; choose one of {', '.join(known)}")
        missing = ", ".join(key for key in keys if key not in data)
        raise DatasetError(f"the data has no {missing}; pass the dict load_coco_data returns")
    split_size = data[keys[0]].shape[0]
    batch_size = _count("batch_size", batch_size)
    if batch_size > split_size:
        raise DatasetError(f"batch_size={batch_size} is more than the {split_size} "
                           f"captions in the {split} split")
    mask = draw_rows(split_size, batch_size, rng)
    captions = data[keys[0]][mask]
    image_idxs = data[keys[1]][mask]
    features = data[keys[2]][image_idxs]
    urls = data[keys[3]][image_idxs]
    return captions, features, urls


def decode_captions(captions: np.ndarray | Sequence, idx_to_word: Sequence[str] | Mapping
                    ) -> str | list[str]:
    """Word ids to text as the notebook prints it: a string for (T,), a list for (N, T).

    `<NULL>` is skipped and a caption stops after its `<END>`; `<START>` and `<END>`
    are kept. `idx_to_word` is a list or a dict from id to word.
    """
    captions = word_ids(captions, ndims=(1, 2))
    decoded = [" ".join(row_words(row, idx_to_word)) for row in np.atleast_2d(captions).tolist()]
    return decoded[0] if captions.ndim == 1 else decoded


def word_ids(captions, ndims: tuple[int, ...] = (1,)) -> np.ndarray:
    """`captions` as an integer array of one of the numbers of dimensions `ndims`, else a
    `DatasetError` saying what it got."""
    captions = np.asarray(captions)
    if captions.ndim not in ndims or (captions.size and not np.issubdtype(captions.dtype, np.integer)):
        wanted = " or ".join(f"{n}-D" for n in ndims)
        raise DatasetError(f"captions must be a {wanted} array of word ids, not "
                           f"{captions.dtype} of shape {captions.shape}")
    return captions


def row_words(row: Sequence[int], idx_to_word: Sequence[str] | Mapping, *,
              skip: Collection[str] = ("<NULL>",), keep_end: bool = True) -> list[str]:
    """One caption row's word ids as words, up to its first `<END>` (kept with `keep_end`),
    leaving out the words in `skip`: the one rule for reading a caption, whether printed as
    the notebook does (`decode_captions`), shown on a card or scored. With a character
    vocabulary (`core.data.characters`) the letters are joined back into words first, so
    `<UNK>`, `<START>` and `<END>` are words of their own there too."""
    if is_characters(idx_to_word):
        return row_words_of_characters(row, idx_to_word, skip=skip, keep_end=keep_end)
    words = []
    for idx in row:
        word = _word(idx_to_word, idx)
        if word == "<END>":
            if keep_end and word not in skip:
                words.append(word)
            break
        if word not in skip:
            words.append(word)
    return words


def row_words_of_characters(row: Sequence[int], idx_to_word: Sequence[str] | Mapping, *,
                            skip: Collection[str] = ("<NULL>",), keep_end: bool = True) -> list[str]:
    """`row_words` for a character vocabulary: the tokens up to `<END>`, joined into words."""
    tokens = []
    for idx in row:
        token = _word(idx_to_word, idx)
        tokens.append(token)
        if token == "<END>":
            break
    words = [w for w in join_characters(tokens) if w not in skip]
    if words and words[-1] == "<END>" and not keep_end:
        words.pop()
    return words


def _word(idx_to_word: Sequence[str] | Mapping, idx: int) -> str:
    if isinstance(idx_to_word, Mapping):
        word = idx_to_word.get(idx, idx_to_word.get(str(idx)))
    else:
        word = idx_to_word[idx] if 0 <= idx < len(idx_to_word) else None
    if word is None:
        raise DatasetError(f"word id {idx} is not in the vocabulary of {len(idx_to_word)} words")
    return word


# ---------------------------------------------------------------------------
# Summaries for the app and the command line


def describe_dataset(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per key: the notebook's "print every key with its type, shape and dtype".

    Rows are dicts with `key`, `type` (class name), `shape` (a tuple; `(len,)` for
    lists and dicts), `dtype` (str, or None for lists and dicts) and `in_memory`
    (False for features left on disk).
    """
    rows = []
    for key, value in data.items():
        is_array = hasattr(value, "shape") and hasattr(value, "dtype")
        rows.append({
            "key": key,
            "type": type(value).__name__,
            "shape": tuple(value.shape) if is_array else (len(value),),
            "dtype": str(value.dtype) if is_array else None,
            "in_memory": not isinstance(value, LazyFeatures),
        })
    return rows


@dataclass(frozen=True)
class DatasetSummary:
    """What `check_dataset` found in a valid dataset folder."""

    base_dir: Path                # the folder checked
    pca_features: bool            # which features were checked (PCA 512-d or fc7 4096-d)
    num_images: dict[str, int]    # split -> images (feature rows, URLs)
    num_captions: dict[str, int]  # split -> captions
    caption_length: int           # T, words per caption row including <START>/<END>/<NULL>
    feature_dim: int              # D
    vocab_size: int               # V, including the four special words
    has_fc7: bool                 # whether the fc7 feature files are there too
    local_images: bool            # whether the URLs point at files in the folder
    total_bytes: int              # size of the files checked

    def lines(self) -> list[str]:
        """The summary as a few lines of text for a terminal."""
        kind = "PCA" if self.pca_features else "fc7"
        return [
            f"COCO captioning dataset in {self.base_dir}",
            *(f"  {split}: {self.num_images[split]} images, {self.num_captions[split]} captions"
              for split in SPLITS),
            f"  captions: {self.caption_length} word ids each, vocabulary of {self.vocab_size}",
            f"  features: {kind}, {self.feature_dim} dims; fc7 files "
            f"{'present' if self.has_fc7 else 'absent'}",
            f"  images: {'local files' if self.local_images else 'web URLs'}",
            f"  {self.total_bytes / 1e6:.1f} MB checked",
        ]


def check_dataset(base_dir: str | Path, pca_features: bool = True) -> DatasetSummary:
    """Check every file of a dataset folder and summarize it; `DatasetError` if bad.

    Reads captions, vocabulary and URLs, but features only as far as their headers.
    """
    base_dir = Path(base_dir).expanduser()
    data = _read_dataset(base_dir, pca_features, lazy=True)
    try:
        return DatasetSummary(
            base_dir=base_dir,
            pca_features=pca_features,
            num_images={s: len(data[f"{s}_features"]) for s in SPLITS},
            num_captions={s: len(data[f"{s}_captions"]) for s in SPLITS},
            caption_length=data["train_captions"].shape[1],
            feature_dim=data["train_features"].shape[1],
            vocab_size=len(data["idx_to_word"]),
            has_fc7=all((base_dir / features_file(s, False)).is_file() for s in SPLITS),
            local_images=str(data["train_urls"][0]).startswith("file://"),
            total_bytes=sum((base_dir / name).stat().st_size for name in dataset_files(pca_features)),
        )
    finally:
        for split in SPLITS:
            data[f"{split}_features"].close()
