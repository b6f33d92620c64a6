"""Command line for Caption Lab's data: download the real COCO data, build the demo, check a folder.

    python -m core.data download [--dest DIR] [--url URL] [--force]
    python -m core.data demo [--root DIR]
    python -m core.data check DIR [--fc7]

The library functions report through callbacks; this file is where they get printed.
Errors are shown as one message (no traceback) and exit with status 1.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from core.data.coco import check_dataset
from core.data.demo import ensure_demo_dataset
from core.data.download import DownloadProgress, download_coco, resolve_url
from core.data.errors import DatasetError


class _ProgressLine:
    """Prints progress on one line that rewrites itself, ending it when the stage changes."""

    def __init__(self) -> None:
        self.stage: str | None = None
        self.width = 0

    def show(self, stage: str, message: str) -> None:
        if self.stage is not None and stage != self.stage:
            print(file=sys.stderr)
            self.width = 0
        self.stage = stage
        print("\r" + message.ljust(self.width), end="", file=sys.stderr, flush=True)
        self.width = len(message)

    def end(self) -> None:
        if self.stage is not None:
            print(file=sys.stderr)
            self.stage = None


def _download(args: argparse.Namespace) -> int:
    line = _ProgressLine()

    def progress(report: DownloadProgress) -> None:
        line.show(report.stage, report.message)

    print(f"Fetching {resolve_url(args.url)}", file=sys.stderr)
    try:
        dest = download_coco(args.dest, args.url, progress=progress, force=args.force)
    except KeyboardInterrupt:
        line.end()
        print("Interrupted; run the same command again to resume.", file=sys.stderr)
        return 130
    finally:
        line.end()
    print("\n".join(check_dataset(dest).lines()))
    return 0


def _demo(args: argparse.Namespace) -> int:
    line = _ProgressLine()
    try:
        folder = ensure_demo_dataset(root=args.root,
                                     progress=lambda message, fraction: line.show(
                                         "demo", f"[{fraction:4.0%}] {message}"))
    finally:
        line.end()
    print("\n".join(check_dataset(folder).lines()))
    return 0


def _check(args: argparse.Namespace) -> int:
    print("\n".join(check_dataset(args.dir, pca_features=not args.fc7).lines()))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m core.data", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    download = commands.add_parser("download", help="download the CS231n COCO captioning data")
    download.add_argument("--dest", type=Path, default=None,
                          help="folder to create (default: <data root>/coco_captioning)")
    download.add_argument("--url", default=None,
                          help="archive to fetch (default: $CAPTION_LAB_COCO_URL or the course's)")
    download.add_argument("--force", action="store_true",
                          help="download again even if DEST holds a dataset, and replace it")
    download.set_defaults(run=_download)

    demo = commands.add_parser("demo", help="build the demo dataset (if not built yet)")
    demo.add_argument("--root", type=Path, default=None,
                      help="data root to build under (default: $CAPTION_LAB_DATA or ~/.cache/caption-lab)")
    demo.set_defaults(run=_demo)

    check = commands.add_parser("check", help="check a dataset folder and summarize it")
    check.add_argument("dir", type=Path, help="the dataset folder")
    check.add_argument("--fc7", action="store_true", help="check the fc7 features, not the PCA ones")
    check.set_defaults(run=_check)

    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except DatasetError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
