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

REDIS_URL = "CAPTION_LAB_REDIS_URL"


def engine(runs_dir: Path, **options):
    """The run engine for `runs_dir`: RQ on `$CAPTION_LAB_REDIS_URL` when set, else the local one."""
    url = os.environ.get(REDIS_URL, "").strip()
    if url:
        from explorer.runs.rq_engine import RQRunner        # only a server that asks for RQ needs Redis
        return RQRunner(runs_dir, url, **options)
    from explorer.runs.local import LocalRunner
    return LocalRunner(runs_dir, **options)
