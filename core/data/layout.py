"""The dataset's layout on disk: file names, splits, special words, and the demo's marks.

A leaf module: it imports nothing from `core.data`, so the loader (`coco.py`), the HDF5
helpers (`h5files.py`), the demo generator (`demo.py`) and the downloader all read the
same facts from here and every import between them points one way:
`layout <- h5files <- coco <- download`, `layout <- demo <- coco`.
"""
from __future__ import annotations

import json
from pathlib import Path

from ..paths import data_root

CAPTIONS_FILE = "coco2014_captions.h5"
VOCAB_FILE = "coco2014_vocab.json"
SPLITS = ("train", "val")
SPECIAL_WORDS = {"<NULL>": 0, "<START>": 1, "<END>": 2, "<UNK>": 3}


def features_file(split: str, pca_features: bool = True) -> str:
    """The name of a split's feature file: `train2014_vgg16_fc7_pca.h5` and the like."""
    return f"{split}2014_vgg16_fc7{'_pca' if pca_features else ''}.h5"


def urls_file(split: str) -> str:
    """The name of a split's image URL list, one line per image."""
    return f"{split}2014_urls.txt"


def dataset_files(pca_features: bool = True) -> list[str]:
    """Every file `load_coco_data` reads, for one choice of features."""
    return ([CAPTIONS_FILE, VOCAB_FILE]
            + [features_file(s, pca_features) for s in SPLITS] + [urls_file(s) for s in SPLITS])


# --- the demo dataset's marks ------------------------------------------------------

DEMO_VERSION = 2             # bump whenever the generator's output changes (2: scenes, extractor)
STAMP = "demo.json"          # written last; its presence marks a finished dataset
SCENES_FILE = "demo_scenes.json"
EXTRACTOR_FILE = "demo_extractor.h5"


def demo_dir(root: Path | None = None) -> Path:
    """Where the current version's demo dataset lives (or will): `<root>/demo-v<N>`."""
    return Path(root if root is not None else data_root()) / f"demo-v{DEMO_VERSION}"


def is_demo_dataset(folder: Path) -> bool:
    """Whether `folder` holds a finished demo dataset of the current version."""
    try:
        stamp = json.loads((Path(folder) / STAMP).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(stamp, dict) and stamp.get("version") == DEMO_VERSION
