"""Measure the claim: the COCO loader is cheap at full scale.

Writes a stand-in for the real CS231n folder (the real shapes and dtypes, random
content: 400,135 + 195,954 captions, 82,783 + 40,504 images, 512-d PCA and 4096-d fc7
features, about 2.5 GB) to a temporary folder, then measures, each in a fresh process
so its peak RSS is its own:

  - reference: the notebook's loader, `np.asarray` on every array (PCA, and fc7);
  - `load_coco_data` with PCA features (in memory) and with fc7 features (left on disk);
  - `sample_coco_minibatch(data, 100)` from each.

The claim holds if the PCA load is no slower and no bigger than its reference, and
the fc7 load stays under 600 MB peak. Timings are with a warm page cache (one discarded
round first); a cold disk adds read time to the references and PCA, not to fc7.

    python -m benchmarks.coco_full_scale [--dir DIR] [--repeats 3]
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

from benchmarks._machine import describe_machine

NUM_CAPTIONS = {"train": 400135, "val": 195954}
NUM_IMAGES = {"train": 82783, "val": 40504}
CAPTION_LENGTH, VOCAB_SIZE, PCA_DIM, FC7_DIM = 17, 1004, 512, 4096
REPO = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------------
# The stand-in dataset


def write_full_scale(folder: Path, seed: int = 0) -> None:
    """The real folder's files, shapes and dtypes, random content, written in blocks."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    with h5py.File(folder / "coco2014_captions.h5", "w") as f:
        for split in ("train", "val"):
            n = NUM_CAPTIONS[split]
            f[f"{split}_captions"] = rng.integers(0, VOCAB_SIZE, (n, CAPTION_LENGTH), dtype=np.int32)
            f[f"{split}_image_idxs"] = rng.integers(0, NUM_IMAGES[split], n, dtype=np.int32)
    words = ["<NULL>", "<START>", "<END>", "<UNK>"] + [f"w{i}" for i in range(4, VOCAB_SIZE)]
    (folder / "coco2014_vocab.json").write_text(json.dumps(
        {"idx_to_word": words, "word_to_idx": {w: i for i, w in enumerate(words)}}))
    for split, n in NUM_IMAGES.items():
        for name, dim in (("vgg16_fc7_pca", PCA_DIM), ("vgg16_fc7", FC7_DIM)):
            with h5py.File(folder / f"{split}2014_{name}.h5", "w") as f:
                features = f.create_dataset("features", (n, dim), dtype=np.float32)
                for start in range(0, n, 8192):  # 128 MB blocks for fc7
                    stop = min(n, start + 8192)
                    features[start:stop] = rng.random((stop - start, dim), dtype=np.float32)
        (folder / f"{split}2014_urls.txt").write_text("".join(  # 63 characters, like Flickr's
            f"http://farm{i % 9 + 1}.staticflickr.com/{i % 9000 + 1000}/{i:010d}_1234567890_z.jpg\n"
            for i in range(n)))


# ---------------------------------------------------------------------------
# One measurement, in its own process


def notebook_load(base_dir: Path, pca_features: bool) -> dict:
    """The course notebook's loader, as it was: every array read into memory."""
    data = {}
    with h5py.File(base_dir / "coco2014_captions.h5", "r") as f:
        for k, v in f.items():
            data[k] = np.asarray(v)
    suffix = "_pca" if pca_features else ""
    for split in ("train", "val"):
        with h5py.File(base_dir / f"{split}2014_vgg16_fc7{suffix}.h5", "r") as f:
            data[f"{split}_features"] = np.asarray(f["features"])
    data.update(json.loads((base_dir / "coco2014_vocab.json").read_text()))
    for split in ("train", "val"):
        with open(base_dir / f"{split}2014_urls.txt") as f:
            data[f"{split}_urls"] = np.asarray([line.strip() for line in f])
    return data


def memory_mb() -> tuple[float, float]:
    """(current, peak) resident memory of this process in MB, from /proc/self/status.

    VmHWM starts afresh at exec, unlike ru_maxrss, which a child inherits from the
    parent that forked it."""
    fields = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
    return tuple(int(fields[key].split()[0]) / 1024 for key in ("VmRSS", "VmHWM"))


def measure(name: str, base_dir: Path) -> dict:
    """Load one way, then time minibatches; returns seconds and MB."""
    from core.data.coco import load_coco_data, sample_coco_minibatch

    rss_before = memory_mb()[0]
    start = time.perf_counter()
    if name.startswith("reference"):
        data = notebook_load(base_dir, pca_features=name.endswith("pca"))
    else:
        data = load_coco_data(base_dir, pca_features=name.endswith("pca"))
    load_seconds = time.perf_counter() - start
    rng = np.random.default_rng(0)
    times = []
    for _ in range(50):
        start = time.perf_counter()
        sample_coco_minibatch(data, 100, rng=rng)
        times.append(time.perf_counter() - start)
    return {"load_s": load_seconds, "batch_first_ms": times[0] * 1e3,
            "batch_median_ms": statistics.median(times) * 1e3,
            "base_mb": rss_before,
            "peak_mb": memory_mb()[1]}


def run_measure(name: str, base_dir: Path) -> dict:
    out = subprocess.run([sys.executable, "-m", "benchmarks.coco_full_scale", "--measure", name,
                          "--dir", str(base_dir)], cwd=REPO, check=True, capture_output=True,
                         text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


# ---------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", type=Path, help="use (or write) the stand-in here and keep it")
    parser.add_argument("--repeats", type=int, default=3, help="processes per measurement")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.dir)))
        return

    print(describe_machine())
    print(f"h5py {h5py.version.version}, HDF5 {h5py.version.hdf5_version}")
    folder = args.dir or Path(tempfile.mkdtemp(prefix="coco-full-scale-"))
    try:
        if not (folder / "val2014_urls.txt").exists():
            start = time.perf_counter()
            write_full_scale(folder)
            print(f"wrote the stand-in to {folder} in {time.perf_counter() - start:.1f} s")
        sizes = {p.name: p.stat().st_size / 1e6 for p in sorted(folder.iterdir())}
        print("files: " + ", ".join(f"{name} {mb:.0f} MB" for name, mb in sizes.items()))
        print(f"\n{'measurement':<16}{'load s':>9}{'peak RSS MB':>13}{'(after imports)':>17}"
              f"{'1st batch ms':>14}{'batch ms':>10}")
        names = ("reference_pca", "load_pca", "reference_fc7", "load_fc7")
        runs: dict[str, list[dict]] = {name: [] for name in names}
        for round_ in range(args.repeats + 1):  # interleaved; round 0 warms the page cache
            for name in names:
                result = run_measure(name, folder)
                if round_:
                    runs[name].append(result)
        for name in names:
            median = {key: statistics.median(run[key] for run in runs[name]) for key in runs[name][0]}
            print(f"{name:<16}{median['load_s']:>9.3f}{median['peak_mb']:>13.0f}"
                  f"{median['peak_mb'] - median['base_mb']:>17.0f}"
                  f"{median['batch_first_ms']:>14.2f}{median['batch_median_ms']:>10.2f}")
        print(f"\nmedians of {args.repeats} fresh processes each, interleaved, after a warm-up "
              f"round. reference = the notebook's loader "
              f"(np.asarray of every array); after imports = peak RSS minus RSS just before "
              f"loading; batch = sample_coco_minibatch(data, 100), first call and median of 50")
    finally:
        if args.dir is None:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
