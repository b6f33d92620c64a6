"""`python -m core.student check PATH [--json]`: check a student's assignment folder.

PATH is the assignment's root, the folder that holds `cs231n/` (or a course's own
package, such as `daseCV/`). The plain output is a table of every function's verdict,
then what went wrong, where, and the likely cause; `--json` prints one object

    {"package": ..., "functions": {NAME: {"status": ..., "checks": [...], "hint": ...}}, ...}

with the statuses passed, wrong, not_implemented, missing, crashed, timeout, memory. It
exits 0 when it could check the folder, whatever the verdicts, and 2 with a message when
PATH is not an assignment folder (or the check could not run).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .client import CheckFailed, check
from .report import plain_text
from .source import NotAnAssignment, find_bundle


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m core.student",
                                     description="Check a student's own implementation of the captioning exercise.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("check", help="check every function of an assignment folder")
    run.add_argument("path", type=Path, help="the assignment's root (the folder that holds cs231n/)")
    run.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    run.add_argument("--seconds", type=float, default=10.0, help="time limit per function (default 10)")
    run.add_argument("--memory-mb", type=int, default=2048, help="memory cap per function (default 2048)")
    args = parser.parse_args(argv)
    if args.seconds <= 0 or args.memory_mb <= 0:
        parser.error("--seconds and --memory-mb must be positive")
    try:
        bundle = find_bundle(args.path)
    except NotAnAssignment as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    try:
        report = check(bundle, seconds=args.seconds, memory_mb=args.memory_mb,
                       progress=None if args.json else _progress)
    except CheckFailed as e:
        print(f"error: the check could not run: {e}", file=sys.stderr)
        return 2
    if not args.json:
        print("\r" + " " * 60 + "\r", end="", file=sys.stderr)
    print(json.dumps(report.to_dict(), indent=1) if args.json else plain_text(report))
    return 0


def _progress(event: dict) -> None:
    if sys.stderr.isatty():
        print(f"\rchecking: {event['done']}/{event['total']} {event.get('name') or ''}".ljust(60),
              end="", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
