"""Where Caption Lab keeps its files: the demo dataset, downloads, image cache, runs.

Everything lives under one data root, `$CAPTION_LAB_DATA` when set, else
`~/.cache/caption-lab`. Nothing here depends on the working directory.
"""
from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "CAPTION_LAB_DATA"


def data_root() -> Path:
    """The folder that holds every file Caption Lab writes (not created here)."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser().resolve()
    return Path.home() / ".cache" / "caption-lab"
