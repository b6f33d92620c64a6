"""New images for a model trained on the demo dataset: composed, varied or uploaded, seen exactly
as the dataset's own images are.

    lab = SceneLab.open(demo_folder)                    # None for a folder without scenes (COCO)
    scene = lab.scene("val", 17)                        # what a dataset image shows
    picture = lab.render(scene)                         # the dataset's renderer
    fc7, pca = lab.features([picture])                  # the dataset's extractor, fitted on train
    captions = lab.references(scene)                    # the dataset's grammar

A demo dataset from generator version 2 on keeps each image's scene and its fitted
feature extractor (`layout.SCENES_FILE`, `layout.EXTRACTOR_FILE`). `picture_from_upload`
turns a PNG or JPEG into a demo-sized picture, refusing what is too large or a
decompression bomb. The real COCO features came from VGG-16, which is not here: for a
COCO folder `SceneLab.open` returns None and `why_not` says so.
"""
from __future__ import annotations

import io
import json
import threading
import warnings
from functools import cached_property
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from ..text import message
from .layout import EXTRACTOR_FILE, SCENES_FILE, STAMP, is_demo_dataset
from .demo_features import Extractor
from .demo_scenes import Scene, describe_scene, render_scene, sample_scene, scene_from_dict

MAX_UPLOAD_BYTES = 10 << 20         # an uploaded picture, at most
MAX_UPLOAD_PIXELS = 40_000_000      # decoded, at most (Pillow's bomb check fires at this)
REFERENCES = 5                      # reference captions per composed scene, as the dataset has
PROBE_SEED = 99_000                 # fresh scenes for probes: streams the dataset's build never draws


class UploadError(ValueError):
    """An uploaded picture that cannot be used; the message says why."""


def why_not(folder: Path) -> str:
    """Why `folder` offers no composer: the sentence for the UI."""
    if not is_demo_dataset(folder):
        return message("These images come with features from VGG-16, which Caption Lab cannot run here, so a new "
                       "image gets no features to caption. Composing and uploading work on the demo dataset.")
    return message("This demo dataset was built before scenes were kept with it: delete its folder and Caption Lab "
                   "builds it again (about 30 s).")


class SceneLab:
    """A demo dataset's scenes, renderer, extractor and grammar (thread-safe, loaded lazily)."""

    def __init__(self, folder: Path, image_size: int):
        self.folder, self.image_size = Path(folder), int(image_size)
        self._lock = threading.Lock()

    @classmethod
    def open(cls, folder: Path) -> "SceneLab | None":
        folder = Path(folder)
        if not is_demo_dataset(folder) or not (folder / SCENES_FILE).is_file() \
                or not (folder / EXTRACTOR_FILE).is_file():
            return None
        stamp = json.loads((folder / STAMP).read_text())
        return cls(folder, stamp.get("image_size", 128))

    @cached_property
    def _scenes(self) -> dict[str, list[dict]]:
        return json.loads((self.folder / SCENES_FILE).read_text())

    @cached_property
    def _extractor(self) -> Extractor:
        return Extractor.load(self.folder / EXTRACTOR_FILE)

    def scene(self, split: str, image: int) -> Scene:
        """The scene dataset image `image` of `split` shows."""
        return scene_from_dict(self._scenes[split][int(image)])

    def render(self, scene: Scene) -> Image.Image:
        return render_scene(scene, self.image_size)

    def features(self, pictures) -> tuple[np.ndarray, np.ndarray]:
        """(fc7-like (N, 4096), PCA (N, 512)) float32 of pictures (PIL images or (N, S, S, 3) uint8)."""
        images = np.stack([np.asarray(p.convert("RGB") if isinstance(p, Image.Image) else p, dtype=np.uint8)
                           for p in pictures])
        with self._lock:                      # the first call builds the projection once
            return self._extractor(images)

    def references(self, scene: Scene, seed: int = 0) -> list[str]:
        """Reference captions of `scene` from the dataset's grammar, seeded."""
        return describe_scene(scene, np.random.default_rng([seed, 31]), REFERENCES, max_words=15)


def fresh_scenes(n: int, seed: int = 0) -> list[Scene]:
    """`n` new scenes from the generator, seeded, never the dataset's own (other random streams)."""
    return [sample_scene(np.random.default_rng([PROBE_SEED, seed, i])) for i in range(n)]


def picture_from_upload(data: bytes, size: int = 128) -> Image.Image:
    """An uploaded PNG or JPEG as a `size` x `size` RGB picture, as the demo images are: its
    EXIF orientation applied, transparency flattened onto white, the centre square cropped
    and resized. UploadError for what is too big, not a picture, or a decompression bomb."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadError(message("The file is {mb:.1f} MB; at most {most} MB, please.", mb=len(data) / 2**20,
                                  most=MAX_UPLOAD_BYTES >> 20))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in ("PNG", "JPEG"):
                raise UploadError(message("That is a {format} file: upload a PNG or a JPEG.",
                                          format=image.format or "unknown"))
            if image.width * image.height > MAX_UPLOAD_PIXELS:
                raise UploadError(message("The picture is {width} x {height} pixels: too large to open "
                                          "safely (at most {most} million pixels).", width=image.width,
                                          height=image.height, most=MAX_UPLOAD_PIXELS // 1_000_000))
            image.load()
    except UploadError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UploadError(message("The picture unpacks to far more pixels than its file size suggests (a "
                                  "decompression bomb), so it was not opened.")) from None
    except (OSError, SyntaxError, ValueError) as e:
        raise UploadError(message("This is not a PNG or JPEG that can be read ({error}).", error=str(e))) from None
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "P", "PA"):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        image = flat
    image = image.convert("RGB")
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    return image.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.LANCZOS)
