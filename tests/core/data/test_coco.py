"""The COCO loader against real HDF5 files written to tmp_path: notebook semantics,
lazy fc7 features, URLs, decoding, minibatches, and a clear error for every bad input."""
from __future__ import annotations

import json
import pickle
import threading
from copy import deepcopy
from pathlib import Path
from urllib.parse import urlparse
from urllib.request import url2pathname

import h5py
import numpy as np
import pytest

from core.data.coco import (LazyFeatures, check_dataset, decode_captions, describe_dataset,
                            load_coco_data, row_words, sample_coco_minibatch, word_ids)
from core.data.layout import SPECIAL_WORDS
from core.data.errors import DatasetError
from tests.support.tiny_coco import write_tiny_coco

NOTEBOOK_KEYS = ["train_captions", "train_image_idxs", "val_captions", "val_image_idxs",
                 "train_features", "val_features", "idx_to_word", "word_to_idx",
                 "train_urls", "val_urls"]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return write_tiny_coco(tmp_path / "coco", num_train_images=12, num_val_images=6)


def _h5(path: Path, name: str) -> np.ndarray:
    with h5py.File(path, "r") as f:
        return f[name][()]


# ---------------------------------------------------------------------------
# The notebook's dict


def test_load_gives_the_notebook_dict(folder: Path):
    data = load_coco_data(folder)
    assert list(data) == NOTEBOOK_KEYS
    for split, images in (("train", 12), ("val", 6)):
        captions, idxs = data[f"{split}_captions"], data[f"{split}_image_idxs"]
        assert type(captions) is np.ndarray and captions.dtype == np.int32
        assert captions.shape == (images * 3, 17)
        assert type(idxs) is np.ndarray and idxs.dtype == np.int32 and idxs.shape == (images * 3,)
        assert type(data[f"{split}_features"]) is np.ndarray
        assert data[f"{split}_features"].dtype == np.float32
        assert data[f"{split}_features"].shape == (images, 8)
        assert data[f"{split}_urls"].shape == (images,) and data[f"{split}_urls"].dtype.kind == "U"
        np.testing.assert_array_equal(captions, _h5(folder / "coco2014_captions.h5", f"{split}_captions"))
        np.testing.assert_array_equal(data[f"{split}_features"],
                                      _h5(folder / f"{split}2014_vgg16_fc7_pca.h5", "features"))
    assert type(data["idx_to_word"]) is list and type(data["word_to_idx"]) is dict
    assert data["idx_to_word"][:4] == ["<NULL>", "<START>", "<END>", "<UNK>"]
    assert all(data["word_to_idx"][w] == i for i, w in enumerate(data["idx_to_word"]))
    assert data["train_urls"][3] == "http://images.invalid/train2014/tiny_000003.jpg"


def test_max_train_after_np_random_seed_picks_the_notebooks_subset(folder: Path):
    full = load_coco_data(folder)
    np.random.seed(231)
    data = load_coco_data(folder, max_train=10)
    np.random.seed(231)
    mask = np.random.randint(len(full["train_captions"]), size=10)
    np.testing.assert_array_equal(data["train_captions"], full["train_captions"][mask])
    np.testing.assert_array_equal(data["train_image_idxs"], full["train_image_idxs"][mask])
    np.testing.assert_array_equal(data["val_captions"], full["val_captions"])


def test_seed_and_rng_draw_the_same_subset_and_leave_the_global_state_alone(folder: Path):
    state = np.random.get_state()[1].copy()
    by_seed = load_coco_data(folder, max_train=20, seed=5)
    by_rng = load_coco_data(folder, max_train=20, rng=np.random.default_rng(5))
    other = load_coco_data(folder, max_train=20, seed=6)
    np.testing.assert_array_equal(by_seed["train_captions"], by_rng["train_captions"])
    assert not np.array_equal(by_seed["train_image_idxs"], other["train_image_idxs"])
    np.testing.assert_array_equal(np.random.get_state()[1], state)
    with pytest.raises(DatasetError, match="seed or an rng"):
        load_coco_data(folder, max_train=2, seed=1, rng=np.random.default_rng(1))


def test_no_base_dir_loads_the_demo_dataset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from core.data import demo  # a finished demo folder is one stamped with the version
    monkeypatch.setenv("CAPTION_LAB_DATA", str(tmp_path))
    folder = write_tiny_coco(demo.demo_dir(), num_train_images=5, relative_urls=True)
    (folder / demo.STAMP).write_text(json.dumps({"version": demo.DEMO_VERSION}))
    data = load_coco_data()
    assert data["train_features"].shape == (5, 8)
    assert data["train_urls"][0] == (folder / "images/train2014/tiny_000000.png").resolve().as_uri()


# ---------------------------------------------------------------------------
# fc7 features stay on disk


def test_fc7_features_are_lazy_and_index_like_the_array(folder: Path):
    data = load_coco_data(folder, pca_features=False)
    lazy = data["train_features"]
    full = _h5(folder / "train2014_vgg16_fc7.h5", "features")
    assert isinstance(lazy, LazyFeatures)
    assert (lazy.shape, lazy.dtype, len(lazy), lazy.ndim) == (full.shape, full.dtype, 12, 2)
    keys = [np.array([7, 2, 2, 11, 0, 7]), [3, 1], np.array([-1, -12, 5]), np.array([], int),
            np.array([[1, 2], [2, 1]]), 4, np.int64(-2), slice(2, 9), slice(None, None, 3),
            slice(10, 2, -2), slice(5, 5), full[:, 0] > 0.5,
            (np.array([9, 1, 9]), slice(3, 6)), (2, 5), (slice(1, 4), np.array([0, 0, 31]))]
    for key in keys:
        np.testing.assert_array_equal(lazy[key], full[key], err_msg=str(key))
    np.testing.assert_array_equal(np.asarray(lazy), full)
    assert np.asarray(lazy, dtype=np.float64).dtype == np.float64
    for bad in (12, -13, np.array([0, 12])):
        with pytest.raises(IndexError):
            lazy[bad]


def test_fc7_features_can_be_read_from_many_threads(folder: Path):
    data = load_coco_data(folder, pca_features=False)
    lazy, full = data["val_features"], _h5(folder / "val2014_vgg16_fc7.h5", "features")
    failures: list[str] = []

    def reader(seed: int) -> None:
        rng = np.random.default_rng(seed)
        for _ in range(50):
            idx = rng.integers(0, len(full), size=7)
            if not np.array_equal(lazy[idx], full[idx]):
                failures.append(f"thread {seed}: {idx}")

    threads = [threading.Thread(target=reader, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_fc7_features_survive_pickling_and_copying(folder: Path):
    data = load_coco_data(folder, pca_features=False)
    for copy in (pickle.loads(pickle.dumps(data)), deepcopy(data)):
        assert isinstance(copy["train_features"], LazyFeatures)
        np.testing.assert_array_equal(copy["train_features"][[4, 1]], data["train_features"][[4, 1]])


def test_closed_features_say_so(folder: Path):
    lazy = load_coco_data(folder, pca_features=False)["train_features"]
    lazy.close()
    with pytest.raises(DatasetError, match="train2014_vgg16_fc7.h5 was closed"):
        lazy[[0, 1]]


# ---------------------------------------------------------------------------
# URLs, decoding, minibatches


def test_relative_paths_become_file_uris_that_follow_the_folder(tmp_path: Path):
    folder = write_tiny_coco(tmp_path / "here", relative_urls=True)
    moved = folder.rename(tmp_path / "moved there")
    urls = load_coco_data(moved)["val_urls"]
    assert urls[2] == (moved / "images" / "val2014" / "tiny_000002.png").resolve().as_uri()
    assert "%20" in urls[2]
    for url in urls:
        assert url.startswith("file://") and Path(url2pathname(urlparse(url).path)).is_file()


def test_decode_captions_follows_the_notebook():
    idx_to_word = ["<NULL>", "<START>", "<END>", "<UNK>", "a", "dog", "runs"]
    caption = np.array([1, 4, 0, 5, 6, 2, 4, 4, 0], dtype=np.int32)
    assert decode_captions(caption, idx_to_word) == "<START> a dog runs <END>"
    batch = np.array([[1, 4, 5, 2, 0, 0], [1, 3, 6, 6, 6, 6], [0, 0, 0, 0, 0, 0]])
    assert decode_captions(batch, idx_to_word) == ["<START> a dog <END>",
                                                   "<START> <UNK> runs runs runs runs", ""]
    as_dict = dict(enumerate(idx_to_word))
    assert decode_captions(batch, as_dict) == decode_captions(batch, idx_to_word)
    assert decode_captions(np.zeros((0, 6), int), idx_to_word) == []
    with pytest.raises(DatasetError, match="word id 7"):
        decode_captions(np.array([1, 7, 2]), idx_to_word)
    with pytest.raises(DatasetError, match="1-D or 2-D"):
        decode_captions(np.ones((2, 2, 2), int), idx_to_word)


def test_minibatch_follows_the_notebook_with_the_global_state(folder: Path):
    data = load_coco_data(folder)
    np.random.seed(0)
    captions, features, urls = sample_coco_minibatch(data, batch_size=15, split="val")
    np.random.seed(0)
    mask = np.random.choice(len(data["val_captions"]), 15)
    image_idxs = data["val_image_idxs"][mask]
    np.testing.assert_array_equal(captions, data["val_captions"][mask])
    np.testing.assert_array_equal(features, data["val_features"][image_idxs])
    np.testing.assert_array_equal(urls, data["val_urls"][image_idxs])
    assert captions.shape == (15, 17) and features.shape == (15, 8) and urls.shape == (15,)


def test_minibatch_with_rng_is_the_same_from_lazy_fc7_features(folder: Path):
    in_memory = {**load_coco_data(folder), "train_features": _h5(folder / "train2014_vgg16_fc7.h5",
                                                                   "features")}
    lazy = load_coco_data(folder, pca_features=False)
    a = sample_coco_minibatch(in_memory, 30, rng=np.random.default_rng(9))
    b = sample_coco_minibatch(lazy, 30, rng=9)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert b[1].shape == (30, 32)


@pytest.mark.parametrize("kwargs, message", [
    ({"batch_size": 0}, "batch_size must be at least 1"),
    ({"batch_size": -5}, "batch_size must be at least 1"),
    ({"batch_size": 37}, "batch_size=37 is more than the 36 captions in the train split"),
    ({"batch_size": 2.5}, "batch_size must be a whole number"),
    ({"split": "test"}, "unknown split 'test'; choose one of train, val"),
])
def test_minibatch_rejects_bad_requests(folder: Path, kwargs: dict, message: str):
    with pytest.raises(DatasetError, match=message):
        sample_coco_minibatch(load_coco_data(folder), **kwargs)


# ---------------------------------------------------------------------------
# Summaries


def test_describe_dataset_lists_every_key_like_the_notebook_cell(folder: Path):
    rows = {row["key"]: row for row in describe_dataset(load_coco_data(folder, pca_features=False))}
    assert list(rows) == NOTEBOOK_KEYS
    assert rows["train_captions"] == {"key": "train_captions", "type": "ndarray", "shape": (36, 17),
                                      "dtype": "int32", "in_memory": True}
    assert rows["val_features"]["type"] == "LazyFeatures" and not rows["val_features"]["in_memory"]
    assert rows["val_features"]["shape"] == (6, 32)
    assert rows["idx_to_word"]["shape"] == (30,) and rows["idx_to_word"]["dtype"] is None


def test_check_dataset_summarizes_a_good_folder(folder: Path):
    summary = check_dataset(folder)
    assert summary.num_images == {"train": 12, "val": 6}
    assert summary.num_captions == {"train": 36, "val": 18}
    assert (summary.caption_length, summary.feature_dim, summary.vocab_size) == (17, 8, 30)
    assert summary.has_fc7 and not summary.local_images
    assert check_dataset(folder, pca_features=False).feature_dim == 32
    assert any("12 images, 36 captions" in line for line in summary.lines())


# ---------------------------------------------------------------------------
# Bad input: one DatasetError naming the file and what to do


def _set_h5(path: Path, name: str, value: np.ndarray | None) -> None:
    """Replace (or, with None, delete) dataset `name` in an existing HDF5 file."""
    with h5py.File(path, "a") as f:
        if name in f:
            del f[name]
        if value is not None:
            f[name] = value


def _edit_vocab(folder: Path, edit) -> None:
    path = folder / "coco2014_vocab.json"
    vocab = json.loads(path.read_text())
    edit(vocab)
    path.write_text(json.dumps(vocab))


def _captions(folder: Path, name: str) -> np.ndarray:
    return _h5(folder / "coco2014_captions.h5", name)


CAPTIONS, TRAIN_PCA, VAL_PCA = "coco2014_captions.h5", "train2014_vgg16_fc7_pca.h5", "val2014_vgg16_fc7_pca.h5"
BAD_DATASETS = {
    "garbage h5": (lambda d: (d / CAPTIONS).write_bytes(np.random.default_rng(0).bytes(4096)),
                   CAPTIONS, "not an HDF5 file"),
    "truncated h5": (lambda d: (d / TRAIN_PCA).write_bytes((d / TRAIN_PCA).read_bytes()[:(
                         d / TRAIN_PCA).stat().st_size // 2]),
                     TRAIN_PCA, "truncated"),
    "missing dataset": (lambda d: _set_h5(d / CAPTIONS, "val_image_idxs", None),
                        CAPTIONS, "no dataset 'val_image_idxs'"),
    "features under another name": (lambda d: (_set_h5(d / VAL_PCA, "features", None),
                                               _set_h5(d / VAL_PCA, "feats", np.zeros((6, 8), "f4"))),
                                    VAL_PCA, "holds: feats"),
    "captions 1-D": (lambda d: _set_h5(d / CAPTIONS, "train_captions", np.ones(36, np.int32)),
                     CAPTIONS, "'train_captions' must be a 2-D integer array"),
    "captions float": (lambda d: _set_h5(d / CAPTIONS, "val_captions", np.ones((18, 17), "f4")),
                       CAPTIONS, "'val_captions' must be a 2-D integer array"),
    "idxs not matching captions": (lambda d: _set_h5(d / CAPTIONS, "train_image_idxs",
                                                     np.zeros(35, np.int32)),
                                   CAPTIONS, "35 entries but 'train_captions' has 36 rows"),
    "idxs beyond features": (lambda d: _set_h5(d / CAPTIONS, "val_image_idxs",
                                               np.full(18, 6, np.int32)),
                             CAPTIONS, "image 6, outside the 6 images"),
    "negative idxs": (lambda d: _set_h5(d / CAPTIONS, "train_image_idxs", np.full(36, -1, np.int32)),
                      CAPTIONS, "image -1"),
    "features int": (lambda d: _set_h5(d / TRAIN_PCA, "features", np.ones((12, 8), np.int32)),
                     TRAIN_PCA, "must be a 2-D float array"),
    "features 3-D": (lambda d: _set_h5(d / VAL_PCA, "features", np.ones((6, 2, 4), "f4")),
                     VAL_PCA, "must be a 2-D float array"),
    "dims differ": (lambda d: _set_h5(d / VAL_PCA, "features", np.ones((6, 9), "f4")),
                    VAL_PCA, "val features have 9 dimensions but train features have 8"),
    "too few urls": (lambda d: (d / "val2014_urls.txt").write_text("http://x.invalid/a.jpg\n" * 5),
                     "val2014_urls.txt", "5 URLs for 6 images"),
    "blank url line": (lambda d: (d / "train2014_urls.txt").write_text(
                           "".join(f"http://x.invalid/{i}.jpg\n" for i in range(11)) + "\n"),
                       "train2014_urls.txt", "line 12 is empty"),
    "word id too big": (lambda d: _set_h5(d / CAPTIONS, "train_captions",
                                          np.where(_captions(d, "train_captions") == 2, 30,
                                                   _captions(d, "train_captions"))),
                        CAPTIONS, "word id 30, outside the vocabulary of 30 words"),
    "negative word id": (lambda d: _set_h5(d / CAPTIONS, "val_captions",
                                           -_captions(d, "val_captions")),
                         CAPTIONS, "word id -"),
    "empty split": (lambda d: (_set_h5(d / CAPTIONS, "val_captions", np.zeros((0, 17), np.int32)),
                               _set_h5(d / CAPTIONS, "val_image_idxs", np.zeros(0, np.int32))),
                    CAPTIONS, "the val split is empty"),
    "no images": (lambda d: (_set_h5(d / VAL_PCA, "features", np.zeros((0, 8), "f4"))),
                  VAL_PCA, "the val split has no images"),
    "vocab not json": (lambda d: (d / "coco2014_vocab.json").write_text("{'idx_to_word': ["),
                       "coco2014_vocab.json", "not valid JSON"),
    "vocab wrong keys": (lambda d: (d / "coco2014_vocab.json").write_text('{"words": []}'),
                         "coco2014_vocab.json", "'idx_to_word' and 'word_to_idx'"),
    "vocab missing specials": (lambda d: _edit_vocab(d, lambda v: v.update(
                                   idx_to_word=v["idx_to_word"][1:],
                                   word_to_idx={w: i for i, w in enumerate(v["idx_to_word"][1:])})),
                               "coco2014_vocab.json", "id 0 should be <NULL>"),
    "vocab swapped specials": (lambda d: _edit_vocab(d, lambda v: v["idx_to_word"].__setitem__(
                                   slice(2, 4), ["<UNK>", "<END>"])),
                               "coco2014_vocab.json", "id 2 should be <END>"),
    "word_to_idx inconsistent": (lambda d: _edit_vocab(d, lambda v: v["word_to_idx"].update(dog=1)),
                                 "coco2014_vocab.json", "'word_to_idx' does not invert 'idx_to_word'"),
    "idx_to_word not a list": (lambda d: _edit_vocab(d, lambda v: v.update(idx_to_word="abc")),
                               "coco2014_vocab.json", "'idx_to_word' must be a list of words"),
}


@pytest.mark.parametrize("name", list(BAD_DATASETS))
def test_bad_dataset_gives_one_clear_error(folder: Path, name: str):
    damage, filename, problem = BAD_DATASETS[name]
    damage(folder)
    for pca_features in (True, False):
        if not pca_features and "pca" in filename:
            continue
        with pytest.raises(DatasetError) as caught:
            load_coco_data(folder, pca_features=pca_features)
        message = str(caught.value)
        assert str(folder / filename) in message and problem in message
        assert "python -m core.data download" in message
        error = caught.value  # no chained traceback from inside h5py or json
        assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)


def test_missing_folder_says_how_to_get_the_data(tmp_path: Path):
    with pytest.raises(DatasetError) as caught:
        load_coco_data(tmp_path / "nowhere")
    message = str(caught.value)
    assert f"{tmp_path / 'nowhere'} does not exist" in message
    assert f"python -m core.data download --dest {tmp_path / 'nowhere'}" in message


def test_a_file_given_as_the_folder_is_named_as_such(folder: Path):
    with pytest.raises(DatasetError, match=f"{folder / 'coco2014_captions.h5'} is a file, not a "
                                           f"dataset folder"):
        load_coco_data(folder / "coco2014_captions.h5")


def test_an_unreadable_text_file_is_named(folder: Path, monkeypatch: pytest.MonkeyPatch):
    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Path, "read_text", refuse)       # root reads anything, so pretend
    with pytest.raises(DatasetError, match=f"{folder / 'coco2014_vocab.json'} cannot be read "
                                           r"\(Permission denied\)"):
        load_coco_data(folder)


def test_missing_files_are_all_listed(folder: Path):
    (folder / "coco2014_vocab.json").unlink()
    (folder / "val2014_urls.txt").unlink()
    with pytest.raises(DatasetError, match="lacks coco2014_vocab.json, val2014_urls.txt. Get a "
                                           "good copy with `python -m core.data download --dest"):
        load_coco_data(folder)


def test_a_damaged_demo_dataset_says_to_rebuild_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from core.data import demo
    monkeypatch.setenv("CAPTION_LAB_DATA", str(tmp_path))
    folder = write_tiny_coco(demo.demo_dir())
    (folder / demo.STAMP).write_text(json.dumps({"version": demo.DEMO_VERSION}))
    (folder / "val2014_urls.txt").write_text("http://x.invalid/0.jpg\n")
    with pytest.raises(DatasetError, match=f"1 URLs for 6 images .*Delete {folder}; the demo "
                                           f"dataset is rebuilt on next use"):
        load_coco_data()


def test_missing_pca_files_point_at_the_fc7_ones(tmp_path: Path):
    folder = write_tiny_coco(tmp_path / "coco", pca=False)
    with pytest.raises(DatasetError, match=r"lacks train2014_vgg16_fc7_pca.h5, "
                                           r"val2014_vgg16_fc7_pca.h5 \(the fc7 features are "
                                           r"there: pass pca_features=False\)"):
        load_coco_data(folder)
    assert load_coco_data(folder, pca_features=False)["val_features"].shape == (6, 32)


@pytest.mark.parametrize("max_train, message", [
    (0, "max_train must be at least 1"), (-3, "max_train must be at least 1"),
    (37, "max_train=37 is more than the 36 training captions"),
    (2.0, "max_train must be a whole number"), (True, "max_train must be a whole number"),
])
def test_bad_max_train_is_refused(folder: Path, max_train, message: str):
    with pytest.raises(DatasetError, match=message):
        load_coco_data(folder, max_train=max_train)


def test_row_words_is_the_one_reading_of_a_caption_row():
    itw = ["<NULL>", "<START>", "<END>", "<UNK>", "a", "cat"]
    row = [1, 4, 3, 5, 2, 4, 0]
    assert row_words(row, itw) == ["<START>", "a", "<UNK>", "cat", "<END>"]       # as printed
    assert row_words(row, itw, skip=("<NULL>", "<START>"), keep_end=False) == ["a", "<UNK>", "cat"]
    assert row_words(row, itw, skip=tuple(SPECIAL_WORDS), keep_end=False) == ["a", "cat"]
    assert row_words([0, 0, 4, 0, 5], itw) == ["a", "cat"]                           # no <END>: all
    assert row_words(row, dict(enumerate(itw)), keep_end=False) == ["<START>", "a", "<UNK>", "cat"]
    with pytest.raises(DatasetError, match="word id 9"):
        row_words([4, 9], itw)
    with pytest.raises(DatasetError, match="1-D array of word ids"):
        word_ids([[1, 2]])
