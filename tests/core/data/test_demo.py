"""The demo dataset: layout, captions, vocabulary, features from pixels, determinism,
atomic versioned builds, the loader reading it, and the notebook's overfit cell."""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
from PIL import Image

from core import CaptioningRNN, CaptioningSolver, decode_captions, load_coco_data
from core.data import demo
from core.data.demo_features import fc7_and_pca, pixel_descriptors
from core.data.demo_scenes import COLOUR_HUES, COLOUR_WORDS, render_scene, sample_scene
from core.data.errors import DatasetError
from core.paths import ENV_VAR

SMALL = dict(num_train=130, num_val=20, captions_per_image=5, fc7_dim=256, pca_dim=16)   # 2 chunks of train
NULL, START, END, UNK = 0, 1, 2, 3


# ---------------------------------------------------------------------------
# fixtures: the full demo dataset once per session, and two small builds

@pytest.fixture(scope="session")
def demo_path(tmp_path_factory) -> Path:
    """The full demo dataset: under $CAPTION_LAB_DATA when set, else in a session tmp folder."""
    root = None if os.environ.get(ENV_VAR) else tmp_path_factory.mktemp("data-root")
    return demo.ensure_demo_dataset(root)


@pytest.fixture(scope="session")
def small_builds(tmp_path_factory) -> tuple[Path, Path, list]:
    """Two small builds into two folders (one and two worker threads), and the first one's progress calls."""
    calls: list = []
    first = demo.build_demo_dataset(tmp_path_factory.mktemp("small-a") / "demo",
                                    lambda m, f: calls.append((m, f)), workers=1, **SMALL)
    second = demo.build_demo_dataset(tmp_path_factory.mktemp("small-b") / "demo", workers=2, **SMALL)
    return first, second, calls


def read_h5(path: Path, name: str) -> np.ndarray:
    with h5py.File(path, "r") as f:
        return f[name][()]


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


# ---------------------------------------------------------------------------
# layout

def test_layout_shapes_and_dtypes(demo_path):
    stamp = json.loads((demo_path / demo.STAMP).read_text())
    assert stamp["version"] == demo.DEMO_VERSION
    images = {"train": stamp["num_train_images"], "val": stamp["num_val_images"]}
    assert images == {"train": 2000, "val": 500}
    with h5py.File(demo_path / "coco2014_captions.h5", "r") as f:
        assert sorted(f) == ["train_captions", "train_image_idxs", "val_captions", "val_image_idxs"]
        for split in demo.SPLITS:
            caps, idxs = f[f"{split}_captions"], f[f"{split}_image_idxs"]
            assert caps.dtype == np.int32 and caps.shape == (images[split] * 5, 17)
            assert idxs.dtype == np.int32 and idxs.shape == (caps.shape[0],)
    for split in demo.SPLITS:
        pca = read_h5(demo_path / f"{split}2014_vgg16_fc7_pca.h5", "features")
        fc7 = read_h5(demo_path / f"{split}2014_vgg16_fc7.h5", "features")
        assert pca.dtype == np.float32 and pca.shape == (images[split], 512)
        assert fc7.dtype == np.float32 and fc7.shape == (images[split], 4096)
        assert np.isfinite(pca).all() and (fc7 >= 0).all() and fc7.std() > 0
        urls = (demo_path / f"{split}2014_urls.txt").read_text().splitlines()
        assert len(urls) == images[split]
        assert urls[0] == f"images/{split}2014/demo_{split}_000000.png"
        assert all(not Path(u).is_absolute() and (demo_path / u).is_file() for u in urls)
    with Image.open(demo_path / urls[-1]) as image:
        assert image.format == "PNG" and image.mode == "RGB" and image.size == (128, 128)


def test_vocabulary_specials_and_threshold(demo_path):
    vocab = json.loads((demo_path / "coco2014_vocab.json").read_text())
    itw, wti = vocab["idx_to_word"], vocab["word_to_idx"]
    assert itw[:4] == ["<NULL>", "<START>", "<END>", "<UNK>"]
    assert {w: i for i, w in enumerate(itw)} == wti and len(set(itw)) == len(itw)
    train_captions = read_h5(demo_path / "coco2014_captions.h5", "train_captions")
    counts = np.bincount(train_captions.ravel(), minlength=len(itw))
    assert counts[4:].min() >= demo.MIN_WORD_COUNT      # every kept word is frequent enough in train
    assert counts[UNK] > 0                              # and some rare words did fall under the threshold
    assert {"red", "circle", "circles", "left", "above", "background"} <= set(itw)


def test_at_least_five_captions_per_image(demo_path):
    for split, n in (("train", 2000), ("val", 500)):
        idxs = read_h5(demo_path / "coco2014_captions.h5", f"{split}_image_idxs")
        per_image = np.bincount(idxs, minlength=n)
        assert len(per_image) == n and per_image.min() >= 5


def test_captions_are_padded_like_coco(demo_path):
    for split in demo.SPLITS:
        caps = read_h5(demo_path / "coco2014_captions.h5", f"{split}_captions")
        assert (caps[:, 0] == START).all()
        assert ((caps == END).sum(axis=1) == 1).all() and (caps[:, 1:] != START).all()
        end_at = (caps == END).argmax(axis=1)
        cols = np.arange(caps.shape[1])
        words = caps[(cols > 0) & (cols < end_at[:, None])]
        assert (words > END).all()                                        # words (or <UNK>) before <END>
        assert (caps[cols > end_at[:, None]] == NULL).all()               # only <NULL> after it
        lengths = end_at - 1
        assert lengths.min() >= 3 and lengths.max() <= 15
        assert len(np.unique(lengths)) >= 8                               # a real spread of lengths


def test_captions_vary_for_one_image(demo_path):
    data = load_coco_data(demo_path)
    texts = decode_captions(data["train_captions"], data["idx_to_word"])
    by_image: dict[int, set] = {}
    for text, image in zip(texts, data["train_image_idxs"]):
        by_image.setdefault(int(image), set()).add(text)
    assert all(len(caps) == 5 for caps in by_image.values())             # five different captions each
    first_words = {t.split()[1] for t in texts}
    assert {"a", "two", "three", "there"} <= first_words                  # several word orders


def test_colour_words_name_colours_in_the_pixels(demo_path):
    """Every colour a caption names is present in the image: captions describe the pixels."""
    data = load_coco_data(demo_path)
    word_colour = {w: c for c, words in COLOUR_WORDS.items() for w in words}
    texts = decode_captions(data["train_captions"][:300], data["idx_to_word"])
    checked = 0
    for text, image_idx in zip(texts, data["train_image_idxs"][:300]):
        with Image.open(demo_path / f"images/train2014/demo_train_{image_idx:06d}.png") as image:
            pixels = np.asarray(image)
        hues = _saturated_hues(pixels)
        for word in text.split():
            if word in word_colour:
                centre = COLOUR_HUES[word_colour[word]]
                assert (np.abs((hues - centre + 180) % 360 - 180) < 10).sum() > 20, (text, image_idx)
                checked += 1
    assert checked > 300


def _saturated_hues(pixels: np.ndarray) -> np.ndarray:
    """Hues in degrees of the clearly coloured pixels, by Pillow's own HSV conversion."""
    hsv = np.asarray(Image.fromarray(pixels).convert("HSV")).reshape(-1, 3).astype(float)
    keep = (hsv[:, 1] > 0.4 * 255) & (hsv[:, 2] > 0.25 * 255)
    return hsv[keep, 0] * 360 / 256


# ---------------------------------------------------------------------------
# features come from pixels

def test_features_are_recomputed_from_the_png_files(small_builds):
    """Reading the PNGs back and running the documented extractor gives the stored features."""
    folder = small_builds[0]
    descriptors = {}
    for split in demo.SPLITS:
        urls = (folder / f"{split}2014_urls.txt").read_text().splitlines()
        descriptors[split] = pixel_descriptors(np.stack([np.asarray(Image.open(folder / u)) for u in urls]))
    features, _ = fc7_and_pca(descriptors, SMALL["fc7_dim"], SMALL["pca_dim"], demo.DEMO_SEED)
    for split in demo.SPLITS:
        fc7, pca = features[split]
        np.testing.assert_array_equal(fc7, read_h5(folder / f"{split}2014_vgg16_fc7.h5", "features"))
        np.testing.assert_array_equal(pca, read_h5(folder / f"{split}2014_vgg16_fc7_pca.h5", "features"))


def test_features_change_with_the_pixels_not_the_caption():
    scene = sample_scene(np.random.default_rng(5))
    base = np.asarray(render_scene(scene))
    shifted = np.asarray(render_scene(dataclasses.replace(scene, texture_phase=scene.texture_phase + 3)))
    recoloured = base.copy()
    recoloured[base.std(axis=2) > 40] = (255, 0, 255)             # repaint every coloured object
    d = pixel_descriptors(np.stack([base, base, shifted, recoloured]))
    assert np.array_equal(d[0], d[1])                              # a fixed function of the pixels
    assert not np.allclose(d[0], d[2])                             # same scene and captions, other pixels
    assert not np.allclose(d[0], d[3])


def test_val_pixels_change_only_their_own_features():
    rng = np.random.default_rng(0)
    train = np.stack([np.asarray(render_scene(sample_scene(rng))) for _ in range(30)])
    val = np.stack([np.asarray(render_scene(sample_scene(rng))) for _ in range(4)])
    edited = val.copy()
    edited[2] = edited[2][:, ::-1]                                  # mirror one val image
    desc = {"train": pixel_descriptors(train)}
    before = fc7_and_pca({**desc, "val": pixel_descriptors(val)}, 128, 8, seed=1)[0]["val"][1]
    after = fc7_and_pca({**desc, "val": pixel_descriptors(edited)}, 128, 8, seed=1)[0]["val"][1]
    changed = ~np.all(before == after, axis=1)
    assert changed.tolist() == [False, False, True, False]


# ---------------------------------------------------------------------------
# builds: deterministic, versioned, atomic

def test_building_twice_gives_identical_bytes(small_builds):
    first, second, _ = small_builds
    names = files_under(first)
    assert names == files_under(second)
    assert len(names) == 11 + SMALL["num_train"] + SMALL["num_val"]   # 9 COCO files, scenes, extractor
    different = [n for n in names if (first / n).read_bytes() != (second / n).read_bytes()]
    assert different == []


def test_progress_is_reported_in_order(small_builds):
    calls = small_builds[2]
    fractions = [f for _, f in calls]
    assert len(calls) >= 5 and all(isinstance(m, str) and m for m, _ in calls)
    assert fractions == sorted(fractions) and 0 <= fractions[0] and fractions[-1] == 1.0


def test_small_build_stamp(small_builds):
    stamp = json.loads((small_builds[0] / demo.STAMP).read_text())
    assert stamp["num_train_images"] == 130 and stamp["num_val_captions"] == 100
    assert stamp["pca_dim"] == 16 and stamp["version"] == demo.DEMO_VERSION
    assert demo.is_demo_dataset(small_builds[0])


def test_ensure_uses_a_versioned_folder_and_builds_once(demo_path):
    assert demo_path.name == f"demo-v{demo.DEMO_VERSION}"
    calls = []
    again = demo.ensure_demo_dataset(demo_path.parent, progress=lambda m, f: calls.append(m))
    assert again == demo_path and calls == []


def test_ensure_refuses_a_foreign_folder(tmp_path):
    target = demo.demo_dir(tmp_path)
    target.mkdir(parents=True)
    (target / "notes.txt").write_text("not a dataset")
    with pytest.raises(DatasetError, match="not a finished demo dataset"):
        demo.ensure_demo_dataset(tmp_path)


@pytest.mark.parametrize("when", [0.3, 0.9])
def test_interrupted_build_leaves_no_folder(tmp_path, when):
    def interrupt(message, fraction):
        if fraction >= when:
            raise KeyboardInterrupt("stopped by the user")

    with pytest.raises(KeyboardInterrupt):
        demo.build_demo_dataset(tmp_path / "demo", interrupt, **SMALL)
    assert list(tmp_path.iterdir()) == []
    assert not demo.is_demo_dataset(tmp_path / "demo")


def test_a_build_removes_only_stale_leftovers(tmp_path):
    stale, fresh = tmp_path / ".demo.building-killed", tmp_path / ".demo.building-running"
    for folder in (stale, fresh):
        folder.mkdir()
        (folder / "coco2014_vocab.json").write_text("{}")
    hours_ago = (stale.stat().st_mtime - 2 * 3600,) * 2
    os.utime(stale, hours_ago)
    demo.build_demo_dataset(tmp_path / "demo", **SMALL)
    assert sorted(p.name for p in tmp_path.iterdir()) == [".demo.building-running", "demo"]


def test_racing_builds_keep_the_first_finished_copy(tmp_path):
    dest = tmp_path / "demo"
    winner_stamp = {}

    def race(message, fraction):                     # the other process finishes first
        if fraction > 0.9 and not dest.exists():
            demo.build_demo_dataset(dest, **SMALL)
            winner_stamp["mtime"] = (dest / demo.STAMP).stat().st_mtime_ns

    assert demo.build_demo_dataset(dest, race, **SMALL) == dest
    assert [p.name for p in tmp_path.iterdir()] == ["demo"]       # the loser's copy is gone
    assert demo.is_demo_dataset(dest)
    assert (dest / demo.STAMP).stat().st_mtime_ns == winner_stamp["mtime"]


RACER = """
import sys, time
from pathlib import Path
from core.data.demo import build_demo_dataset
dest, go = Path(sys.argv[1]), Path(sys.argv[2])
while not go.exists():          # start both builds at the same moment
    time.sleep(0.005)
print(build_demo_dataset(dest, num_train=100, num_val=20, fc7_dim=256, pca_dim=16))
"""


def test_two_processes_building_at_once_share_one_copy(tmp_path):
    dest, go = tmp_path / "demo", tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", RACER, str(dest), str(go)], stdout=subprocess.PIPE,
                              text=True, cwd=Path(__file__).resolve().parents[3]) for _ in range(2)]
    time.sleep(0.5)
    go.write_text("go")
    outputs = [p.communicate(timeout=300)[0].strip() for p in procs]
    assert [p.returncode for p in procs] == [0, 0]
    assert outputs == [str(dest)] * 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo", "go"] and demo.is_demo_dataset(dest)


def test_build_refuses_a_non_empty_folder(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(DatasetError, match="not empty"):
        demo.build_demo_dataset(tmp_path, **SMALL)
    assert (tmp_path / "keep.txt").read_text() == "mine"


# ---------------------------------------------------------------------------
# the loader and the notebook

def test_loader_reads_the_demo_dataset(demo_path):
    data = load_coco_data(demo_path)
    assert data["train_features"].shape == (2000, 512) and data["val_features"].shape == (500, 512)
    assert data["train_captions"].shape == (10000, 17) and data["idx_to_word"][3] == "<UNK>"
    url = data["val_urls"][7]
    assert url.startswith("file://") and url.endswith("images/val2014/demo_val_000007.png")
    assert Path(url[len("file://"):]).is_file()
    text = decode_captions(data["val_captions"][0], data["idx_to_word"])
    assert text.startswith("<START> ") and text.endswith(" <END>")


@pytest.mark.slow
@pytest.mark.parametrize("cell_type, limit", [("rnn", 0.1), ("lstm", 0.5)])
def test_notebook_overfit_cell(demo_path, cell_type, limit):
    """The notebook's "overfit small data" cell, as written there, on the demo dataset."""
    np.random.seed(231)
    small_data = load_coco_data(demo_path, max_train=50)
    model = CaptioningRNN(cell_type=cell_type, word_to_idx=small_data["word_to_idx"],
                          input_dim=small_data["train_features"].shape[1], hidden_dim=512, wordvec_dim=256)
    solver = CaptioningSolver(model, small_data, update_rule="adam", num_epochs=50, batch_size=25,
                              optim_config={"learning_rate": 5e-3}, lr_decay=0.95, verbose=False)
    solver.train()
    assert len(solver.loss_history) == 100
    assert solver.loss_history[0] > 20 * limit                    # it did have something to learn
    assert solver.loss_history[-1] < limit
