"""Write a small random COCO captioning dataset in exactly the real on-disk layout.

    folder = write_tiny_coco(tmp_path / "coco", num_train_images=12, num_val_images=6)
    data = load_coco_data(folder)

The files, datasets and dtypes are those of the CS231n `coco_captioning` folder:

    coco2014_captions.h5          train_captions (N, T) int32, train_image_idxs (N,) int32,
                                  val_captions, val_image_idxs
    coco2014_vocab.json           {"idx_to_word": [...], "word_to_idx": {...}}
    train2014_vgg16_fc7_pca.h5    features (num_train_images, pca_dim) float32
    train2014_vgg16_fc7.h5        features (num_train_images, fc7_dim) float32   (fc7=True)
    train2014_urls.txt            one URL (or relative image path) per image
    val2014_*                     the same for the validation split

Only the sizes are small and the content random (seeded). Tests that need a broken
dataset write a good one and then damage one file. `zip_dataset` packs a folder the
way the course's archive is packed, for download tests.
"""
from __future__ import annotations

import json
import zipfile
from pathlib import Path

import h5py
import numpy as np
from PIL import Image

SPECIALS = ["<NULL>", "<START>", "<END>", "<UNK>"]
WORDS = ["a", "man", "woman", "dog", "cat", "on", "in", "with", "the", "of", "sitting",
         "standing", "table", "street", "red", "blue", "riding", "bike", "holding", "pizza"]


def tiny_vocab(vocab_size: int) -> list[str]:
    """`idx_to_word` of `vocab_size` entries: the four specials, then plain words."""
    if vocab_size < len(SPECIALS) + 1:
        raise ValueError(f"vocab_size must be at least {len(SPECIALS) + 1}")
    words = WORDS + [f"word{i}" for i in range(len(WORDS), vocab_size)]
    return SPECIALS + words[: vocab_size - len(SPECIALS)]


def random_captions(rng: np.random.Generator, n: int, caption_length: int, vocab_size: int) -> np.ndarray:
    """(n, T) int32 captions: <START>, 1..T-2 random words, <END>, then <NULL> padding."""
    captions = np.zeros((n, caption_length), dtype=np.int32)  # <NULL> = 0
    lengths = rng.integers(1, caption_length - 1, size=n)     # words between START and END
    captions[:, 0] = 1                                         # <START>
    for i, length in enumerate(lengths):
        captions[i, 1:1 + length] = rng.integers(len(SPECIALS), vocab_size, size=length)
        captions[i, 1 + length] = 2                            # <END>
    return captions


def write_tiny_coco(
    dest: Path,
    *,
    num_train_images: int = 12,
    num_val_images: int = 6,
    captions_per_image: int = 3,
    caption_length: int = 17,
    vocab_size: int = 30,
    pca_dim: int = 8,
    fc7_dim: int = 32,
    seed: int = 0,
    pca: bool = True,
    fc7: bool = True,
    relative_urls: bool = False,
    url_base: str = "http://images.invalid",
    image_size: int = 8,
) -> Path:
    """Write the dataset files into `dest` (created if needed) and return `dest`.

    Each image gets `captions_per_image` captions, in shuffled order. With
    `relative_urls`, the URL files hold paths like `images/train2014/tiny_000003.png`
    (relative to `dest`, as the demo dataset does) and those small PNGs are written;
    otherwise they hold `{url_base}/train2014/tiny_000003.jpg`, which is never fetched
    (`.invalid` never resolves). `pca` / `fc7` choose which feature files exist.
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    idx_to_word = tiny_vocab(vocab_size)

    with h5py.File(dest / "coco2014_captions.h5", "w") as f:
        for split, num_images in (("train", num_train_images), ("val", num_val_images)):
            image_idxs = rng.permutation(np.repeat(np.arange(num_images), captions_per_image))
            f.create_dataset(f"{split}_captions",
                             data=random_captions(rng, len(image_idxs), caption_length, vocab_size))
            f.create_dataset(f"{split}_image_idxs", data=image_idxs.astype(np.int32))

    vocab = {"idx_to_word": idx_to_word, "word_to_idx": {w: i for i, w in enumerate(idx_to_word)}}
    (dest / "coco2014_vocab.json").write_text(json.dumps(vocab))

    for split, num_images in (("train", num_train_images), ("val", num_val_images)):
        fc7_features = rng.random((num_images, fc7_dim), dtype=np.float32)
        if fc7:
            with h5py.File(dest / f"{split}2014_vgg16_fc7.h5", "w") as f:
                f.create_dataset("features", data=fc7_features)
        if pca:
            pca_features = fc7_features[:, :pca_dim] - np.float32(0.5)
            with h5py.File(dest / f"{split}2014_vgg16_fc7_pca.h5", "w") as f:
                f.create_dataset("features", data=pca_features)

        names = [f"{split}2014/tiny_{i:06d}" for i in range(num_images)]
        if relative_urls:
            urls = [f"images/{name}.png" for name in names]
            for i, url in enumerate(urls):
                path = dest / url
                path.parent.mkdir(parents=True, exist_ok=True)
                pixels = rng.integers(0, 256, size=(image_size, image_size, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(path)
        else:
            urls = [f"{url_base}/{name}.jpg" for name in names]
        (dest / f"{split}2014_urls.txt").write_text("".join(url + "\n" for url in urls))
    return dest


def zip_dataset(folder: Path, archive: Path, *, top: str = "coco_captioning",
                compression: int = zipfile.ZIP_DEFLATED, skip: tuple[str, ...] = ()) -> Path:
    """Pack every file under `folder` into `archive` below one top folder `top/`.

    Like the course's `coco_captioning.zip`. Files whose name is in `skip` are left out
    (an archive missing a file). Returns `archive`.
    """
    folder = Path(folder)
    with zipfile.ZipFile(archive, "w", compression=compression) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.name not in skip:
                zf.write(path, f"{top}/{path.relative_to(folder).as_posix()}")
    return Path(archive)
