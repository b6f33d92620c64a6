"""Where Caption Lab keeps its files: the demo dataset, downloads, image cache, runs.

Everything lives under one data root, `$CAPTION_LAB_DATA` when set, else
`~/.cache/caption-lab`. The runs folder and the image cache can each be moved on their
own (`$CAPTION_LAB_RUNS`, `$CAPTION_LAB_IMAGE_CACHE`), e.g. so that tests write into a
temporary folder while sharing the demo dataset. Nothing here depends on the working
directory, and nothing is created here.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

ENV_VAR = "CAPTION_LAB_DATA"
RUNS_ENV_VAR = "CAPTION_LAB_RUNS"
IMAGE_CACHE_ENV_VAR = "CAPTION_LAB_IMAGE_CACHE"


def _from_env(name: str) -> Path | None:
    value = os.environ.get(name)
    if not value:
        return None
    path = os.path.expanduser(value)
    return _resolved(path, None if os.path.isabs(path) else os.getcwd())


@functools.lru_cache(maxsize=32)
def _resolved(path: str, cwd: str | None) -> Path:
    """`path` (`~` already expanded) made absolute with its links resolved, once per path
    (and working folder, for a relative one): every page asks for these folders several
    times, and resolving walks the path one `lstat` per part. So a link along the path
    that is pointed elsewhere while the process runs is not followed again: restart the
    app after moving a folder."""
    return Path(path).resolve()


def data_root() -> Path:
    """The folder that holds every file Caption Lab writes."""
    return _from_env(ENV_VAR) or Path.home() / ".cache" / "caption-lab"


def runs_dir() -> Path:
    """Where training runs are saved: `$CAPTION_LAB_RUNS`, else `<data root>/runs`."""
    return _from_env(RUNS_ENV_VAR) or data_root() / "runs"


def image_cache_dir() -> Path:
    """Where fetched images are cached: `$CAPTION_LAB_IMAGE_CACHE`, else `<data root>/image-cache`."""
    return _from_env(IMAGE_CACHE_ENV_VAR) or data_root() / "image-cache"
