"""The built-in demo dataset: generated here, deterministically, in the CS231n COCO layout.

Caption Lab works offline because its default dataset is one it makes itself: about
2,000 train and 500 val images of simple coloured shapes (`demo_scenes.py`), five
captions each from a grammar, and features computed from the pixels by a fixed numpy
extractor (`demo_features.py`). The folder it writes is laid out like the course's
`coco_captioning` folder, so `core.data.coco.load_coco_data` reads either one:

    coco2014_captions.h5            train_captions (Nc, 17) int32, train_image_idxs (Nc,)
                                    int32, val_captions, val_image_idxs
    coco2014_vocab.json             {"idx_to_word": [...], "word_to_idx": {...}}
    train2014_vgg16_fc7.h5          features (Ni, 4096) float32 (fc7-like)
    train2014_vgg16_fc7_pca.h5      features (Ni, 512) float32 (PCA fitted on train)
    train2014_urls.txt              images/train2014/demo_train_000000.png, one a line,
                                    relative to the folder; the number is the feature row
    val2014_*                       the same for val
    images/                         the PNG files
    demo_scenes.json                {"train": [scene, ...], "val": [...]}: what each image shows,
                                    as `demo_scenes.scene_to_dict` writes it (version 2 on)
    demo_extractor.h5               the feature extractor fitted on train, for new images (v2 on)
    demo.json                       generator version and counts, written last

Building twice gives the same bytes in every file. `ensure_demo_dataset` returns
`<data root>/demo-v<DEMO_VERSION>`, building it on first use; a new generator version
gets a new folder. A build writes into a hidden sibling folder and renames it into
place, so a folder with the final name is always complete; of two processes racing to
build, the one that renames second throws its copy away. The hidden folder of a build
that was killed is deleted by the next build once it is an hour old.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Callable

import h5py
import numpy as np

from .layout import (CAPTIONS_FILE, DEMO_VERSION, EXTRACTOR_FILE, SCENES_FILE, SPECIAL_WORDS, SPLITS,
                     STAMP, VOCAB_FILE, demo_dir, features_file, is_demo_dataset, urls_file)
from .demo_features import fc7_and_pca, pixel_descriptors
from .demo_scenes import describe_scene, render_scene, sample_scene, scene_to_dict
from .errors import DatasetError

DEMO_SEED = 2014             # every random draw of the build derives from this
MAX_LENGTH = 17              # <START> + at most 15 words + <END>, padded with <NULL>
MIN_WORD_COUNT = 5           # train-caption words seen fewer times become <UNK>
CHUNK = 100                  # images drawn and described per task of the build's thread pool
STALE_AFTER = 3600.0         # seconds after which an unfinished build folder counts as abandoned

Progress = Callable[[str, float], None]


def ensure_demo_dataset(root: Path | None = None, progress: Progress | None = None) -> Path:
    """The folder of the current demo dataset under `root` (default: the data root), built if missing."""
    dest = demo_dir(root)
    if is_demo_dataset(dest):
        return dest
    if dest.exists() and any(dest.iterdir()):
        raise DatasetError(f"{dest} exists but is not a finished demo dataset (no valid {STAMP}); "
                           "delete the folder and Caption Lab will build it again")
    return build_demo_dataset(dest, progress)


# ---------------------------------------------------------------------------
# building

def build_demo_dataset(dest: Path, progress: Progress | None = None, *, num_train: int = 2000,
                       num_val: int = 500, captions_per_image: int = 5, image_size: int = 128,
                       fc7_dim: int = 4096, pca_dim: int = 512, seed: int = DEMO_SEED,
                       workers: int = 2) -> Path:
    """Build the demo dataset into `dest` (which must not exist yet, or be empty) and return it.

    The size arguments are for tests and experiments; the defaults are the real demo.
    `workers` threads draw the images (the output does not depend on it).
    `progress(message, fraction)` is called as the build goes, fraction from 0 to 1.
    """
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise DatasetError(f"cannot build the demo dataset into {dest}: the folder is not empty")
    if image_size % 16:
        raise ValueError(f"image_size must be a multiple of 16, got {image_size}")
    report = progress or (lambda message, fraction: None)
    dest.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_builds(dest)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.building-", dir=dest.parent))
    tmp.chmod(0o755)                      # mkdtemp makes it private; the dataset is not
    try:
        stamp = _write_dataset(tmp, report, num_train, num_val, captions_per_image,
                               image_size, fc7_dim, pca_dim, seed, workers)
        try:
            os.rename(tmp, dest)          # atomic; fails if another build already put one there
        except OSError:
            if not is_demo_dataset(dest):
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    report(f"Demo dataset ready: {stamp['num_train_images']} train and "
           f"{stamp['num_val_images']} val images in {dest}", 1.0)
    return dest


def _remove_stale_builds(dest: Path, max_age: float = STALE_AFTER) -> None:
    """Delete what killed builds into `dest` left behind: their folders untouched for `max_age` s."""
    now = time.time()
    for folder in dest.parent.glob(f".{dest.name}.building-*"):
        try:
            if now - folder.stat().st_mtime > max_age:
                shutil.rmtree(folder)
        except OSError:
            pass                          # another process removed or renamed it first


def _write_dataset(folder: Path, report: Progress, num_train: int, num_val: int,
                   per_image: int, image_size: int, fc7_dim: int, pca_dim: int, seed: int,
                   workers: int) -> dict:
    """Write every file of the dataset into `folder`, the stamp last; returns the stamp."""
    counts = {"train": num_train, "val": num_val}
    texts, descriptors, scenes = {}, {}, {}
    done, total = 0, num_train + num_val
    pool = ThreadPoolExecutor(max_workers=workers)          # numpy, zlib and Pillow release the GIL
    try:
        for split_code, split in enumerate(SPLITS):
            (folder / "images" / f"{split}2014").mkdir(parents=True)
            texts[split], descriptors[split], scenes[split] = [], [], []
            chunks = [range(i, min(i + CHUNK, counts[split])) for i in range(0, counts[split], CHUNK)]
            work = partial(_draw_chunk, folder, split, split_code, seed, image_size, per_image)
            for caps, desc, drawn in pool.map(work, chunks):
                texts[split].extend(caps)
                descriptors[split].append(desc)
                scenes[split].extend(drawn)
                done += len(caps)
                report(f"Drawing images and computing descriptors: {done}/{total}", 0.7 * done / total)
            descriptors[split] = np.concatenate(descriptors[split], axis=0)
    finally:
        pool.shutdown(cancel_futures=True)                  # an interrupted build stops drawing at once

    report("Building the vocabulary", 0.72)
    words = Counter(w for caps in texts["train"] for c in caps for w in c.split())
    kept = sorted((w for w, n in words.items() if n >= MIN_WORD_COUNT), key=lambda w: (-words[w], w))
    idx_to_word = list(SPECIAL_WORDS) + kept
    word_to_idx = {w: i for i, w in enumerate(idx_to_word)}
    (folder / VOCAB_FILE).write_text(
        json.dumps({"idx_to_word": idx_to_word, "word_to_idx": word_to_idx}, indent=1) + "\n")
    with h5py.File(folder / CAPTIONS_FILE, "w") as f:
        for split_code, split in enumerate(SPLITS):
            order_rng = np.random.default_rng([seed, split_code, 1 << 30])
            captions, image_idxs = _encode(texts[split], word_to_idx, order_rng)
            f.create_dataset(f"{split}_captions", data=captions, track_times=False)
            f.create_dataset(f"{split}_image_idxs", data=image_idxs, track_times=False)

    features, extractor = fc7_and_pca(descriptors, fc7_dim, pca_dim, seed,
                                      progress=lambda message, fraction: report(message, 0.75 + 0.17 * fraction))
    extractor.save(folder / EXTRACTOR_FILE)
    (folder / SCENES_FILE).write_text(json.dumps({split: [scene_to_dict(sc) for sc in scenes[split]]
                                                  for split in SPLITS}, separators=(",", ":")) + "\n")
    report("Writing feature files", 0.92)
    for split in SPLITS:
        fc7, pca = features[split]
        _write_features(folder / features_file(split, pca_features=False), fc7)
        _write_features(folder / features_file(split), pca)
        urls = "".join(f"{_image_path(split, i)}\n" for i in range(counts[split]))
        (folder / urls_file(split)).write_text(urls)

    n_tokens = sum(words.values())
    n_unk = sum(n for w, n in words.items() if w not in word_to_idx)
    stamp = {"generator": "caption-lab demo", "version": DEMO_VERSION, "seed": seed,
             "num_train_images": num_train, "num_val_images": num_val,
             "num_train_captions": num_train * per_image, "num_val_captions": num_val * per_image,
             "vocab_size": len(idx_to_word), "min_word_count": MIN_WORD_COUNT,
             "train_unk_rate": round(n_unk / max(n_tokens, 1), 6),
             "image_size": image_size, "fc7_dim": fc7_dim, "pca_dim": pca_dim}
    (folder / STAMP).write_text(json.dumps(stamp, indent=1, sort_keys=True) + "\n")
    return stamp


def _draw_chunk(folder: Path, split: str, split_code: int, seed: int, image_size: int,
                per_image: int, indices: range) -> tuple[list[list[str]], np.ndarray, list]:
    """Draw, save and caption the images `indices` of a split -> (captions per image,
    descriptors, scenes)."""
    texts, pixels, scenes = [], [], []
    for i in indices:
        rng = np.random.default_rng([seed, split_code, i])     # one stream per image: order-free
        scene = sample_scene(rng)
        image = render_scene(scene, image_size)
        image.save(folder / _image_path(split, i), format="PNG")
        pixels.append(np.asarray(image))
        texts.append(describe_scene(scene, rng, per_image, MAX_LENGTH - 2))
        scenes.append(scene)
    return texts, pixel_descriptors(np.stack(pixels)), scenes


def _image_path(split: str, i: int) -> str:
    return f"images/{split}2014/demo_{split}_{i:06d}.png"


def _encode(texts: list[list[str]], word_to_idx: dict[str, int], rng: np.random.Generator):
    """Captions per image -> captions (Nc, MAX_LENGTH) int32, image_idxs (Nc,) int32; rows shuffled by rng."""
    rows, idxs = [], []
    for image_idx, caps in enumerate(texts):
        for text in caps:
            ids = [word_to_idx["<START>"]] + [word_to_idx.get(w, word_to_idx["<UNK>"]) for w in text.split()]
            ids.append(word_to_idx["<END>"])
            rows.append(ids + [word_to_idx["<NULL>"]] * (MAX_LENGTH - len(ids)))
            idxs.append(image_idx)
    order = rng.permutation(len(rows))
    return np.asarray(rows, dtype=np.int32)[order], np.asarray(idxs, dtype=np.int32)[order]


def _write_features(path: Path, features: np.ndarray) -> None:
    with h5py.File(path, "w") as f:
        f.create_dataset("features", data=features, track_times=False)
