"""Training runs: their settings, their folders, the workers that train them, and the engines that queue them.

    settings  RunConfig, the presets, the notebook's recipe (`notebook_solver`)
    store     one run folder on disk (config.json, status.json, history.jsonl, ...)
    worker    the process that trains one run (`python -m explorer.runs.worker FOLDER`)
    base      what every engine shares: reading the folders, the refresh, deleting
    local     the default engine: a queue in the app server, worker processes on this machine
    rq_engine the RQ engine: runs queued in Redis, trained by RQ workers on any machine
              that sees the runs folder

`engine(runs_dir)` gives the engine the environment asks for: RQ when
`CAPTION_LAB_REDIS_URL` is set, else local. Pages use only what both share.
The admin command line is `python -m explorer.runs` (see `__main__`).
"""
from __future__ import annotations

import os
from pathlib import Path

from explorer.runs.base import RunEngine
from explorer.runs.local import LocalRunner
from explorer.runs.rq_engine import RQRunner

REDIS_URL = "CAPTION_LAB_REDIS_URL"


def redis_url() -> str:
    """`$CAPTION_LAB_REDIS_URL`, or "" for the local engine."""
    return os.environ.get(REDIS_URL, "").strip()


def engine(runs_dir: Path, **options) -> RunEngine:
    """The run engine for `runs_dir`: RQ on `$CAPTION_LAB_REDIS_URL` when set, else the local one.
    Creating an RQ engine does not need Redis to be up: what needs it says so when it is not."""
    url = redis_url()
    return RQRunner(runs_dir, url, **options) if url else LocalRunner(runs_dir, **options)
