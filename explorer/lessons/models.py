"""The lesson's own trained models: the notebook's overfit cell, as an RNN and as an LSTM.

The Lesson page's later steps (sampling, train against val, the LSTM's gates) need a
trained model and must never wait for one, so both are trained once per dataset and kept
on disk: at set-up (`make run` and `make test` build them after the demo dataset), or, when
missing, by the page itself in a fresh background process while the first steps are read.
They are ordinary checkpoints, saved atomically, with their run settings in them:

    python -m explorer.lessons.models                      # the demo dataset's, PCA features
    python -m explorer.lessons.models --base-dir DIR --fc7

Training is the notebook's overfit cell exactly (`explorer.runs.settings.notebook_solver`),
about two seconds for the RNN and five for the LSTM. Nothing here touches streamlit.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
from pathlib import Path

from core import save_checkpoint
from core.data import demo, layout
from core.paths import data_root
from explorer.runs.settings import PRESETS, RunConfig, notebook_solver

VERSION = 1                               # bump when the recipe changes: older models are retrained
CELLS: dict[str, RunConfig] = {"rnn": PRESETS["Notebook RNN overfit"], "lstm": PRESETS["Notebook LSTM overfit"]}
LABEL = "lesson-{cell}"


def folder(base_dir, pca_features: bool = True) -> Path:
    """Where the lesson's models for one dataset live: `<data root>/lesson-models/v1-<digest>`."""
    name = f"{Path(base_dir).expanduser().resolve()}|{bool(pca_features)}"
    return data_root() / "lesson-models" / f"v{VERSION}-{hashlib.sha256(name.encode()).hexdigest()[:16]}"


def path(base_dir, pca_features: bool, cell: str) -> Path:
    """The checkpoint of the lesson's `cell` model ("rnn" or "lstm") for a dataset."""
    return folder(base_dir, pca_features) / f"{cell}.h5"


def missing(base_dir, pca_features: bool = True) -> list[str]:
    """The cells whose lesson model is not on disk yet."""
    return [cell for cell in CELLS if not path(base_dir, pca_features, cell).exists()]


def build(base_dir, pca_features: bool = True, cells=None) -> list[Path]:
    """Train and save the lesson's models that are missing (all of `cells`, default every
    cell); returns the paths written."""
    written = []
    for cell in cells or missing(base_dir, pca_features):
        config = CELLS[cell]
        solver = notebook_solver(config, base_dir, pca_features)
        solver.train()
        target = path(base_dir, pca_features, cell)
        target.parent.mkdir(parents=True, exist_ok=True)
        save_checkpoint(target, solver.model, metadata={
            "label": LABEL.format(cell=cell), "iteration": solver.num_iterations, "status": "done",
            "config": config.to_dict(),
            "dataset": {"base_dir": str(base_dir), "pca_features": bool(pca_features),
                        "is_demo": layout.is_demo_dataset(Path(base_dir))}})
        written.append(target)
    return written


def log_path(base_dir, pca_features: bool = True) -> Path:
    """Where a background build writes what it prints (its traceback, if it fails)."""
    return folder(base_dir, pca_features) / "build.log"


def start_building(base_dir, pca_features: bool = True) -> subprocess.Popen | None:
    """Build the missing models in a fresh background process (BLAS on one thread, so the
    app's own pages keep their share of the cores), its output in `log_path`; None when
    nothing is missing. The caller reaps it (`poll` or `wait`)."""
    if not missing(base_dir, pca_features):
        return None
    command = [sys.executable, "-m", "explorer.lessons.models", "--base-dir", str(base_dir)]
    if not pca_features:
        command.append("--fc7")
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    log = log_path(base_dir, pca_features)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as out:             # the child keeps its own copy of the descriptor
        return subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                cwd=Path(__file__).resolve().parents[2])


def build_log(base_dir, pca_features: bool = True, most: int = 600) -> str:
    """The end of the last background build's output ("" when there is none)."""
    try:
        return log_path(base_dir, pca_features).read_text(errors="replace")[-most:].strip()
    except OSError:
        return ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m explorer.lessons.models", description=__doc__.split("\n")[0])
    parser.add_argument("--base-dir", default=None, help="the dataset's folder (default: the demo dataset, "
                                                         "built first if missing)")
    parser.add_argument("--fc7", action="store_true", help="the 4096-d fc7 features instead of PCA's 512")
    args = parser.parse_args(argv)
    base_dir = Path(args.base_dir) if args.base_dir else demo.ensure_demo_dataset()
    written = build(base_dir, not args.fc7)
    for target in written:
        print(f"lesson model: {target}")
    if not written:
        print(f"lesson models already in {folder(base_dir, not args.fc7)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
