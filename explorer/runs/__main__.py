"""The admin's command line for training runs: `python -m explorer.runs COMMAND`.

    worker                        start an RQ worker on this machine (the RQ engine only)
    list [--json]                 every run; with --json one object per line per run
    stop RUN_ID                   stop a run, whoever started it
    delete RUN_ID                 delete an ended run, whoever started it
    delete --older-than DAYS      delete every run that ended more than DAYS days ago
    submit --preset NAME          queue a run of a preset (the RQ engine only), e.g. before a lesson

The engine is the app's: RQ when `CAPTION_LAB_REDIS_URL` is set, else local; the runs
folder is `$CAPTION_LAB_RUNS` (else `<data root>/runs`). With the local engine runs train
inside the app server, so `worker` and `submit` say so and exit 2. Exit codes: 0 done,
1 the engine refused (no such run, still training, Redis down), 2 a wrong command.
"""
from __future__ import annotations

import argparse
import json
import sys

from rq import Worker

from core.data.demo import ensure_demo_dataset
from core.paths import runs_dir
from explorer.runs import engine, redis_url
from explorer.runs.base import EngineUnavailable, RunLimitError
from explorer.runs.rq_engine import QUEUE, RQRunner
from explorer.runs.settings import PRESETS

LOCAL_ONLY = ("The local engine trains runs inside the app server, so there is no separate {what} here. "
              "Set CAPTION_LAB_REDIS_URL (and start Redis) to use RQ workers.")


def _line(info) -> dict:
    return {"run_id": info.run_id, "status": info.status, "owner": info.owner, "label": info.label,
            "iteration": info.iteration, "total": info.total, "final_loss": info.final_loss,
            "created": info.created, "finished": info.finished, "code": bool(info.code),
            "message": info.message}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m explorer.runs", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("worker", help="start an RQ worker on this machine")
    listing = commands.add_parser("list", help="every run")
    listing.add_argument("--json", action="store_true", help="one JSON object per line per run")
    stop = commands.add_parser("stop", help="stop a run, whoever started it")
    stop.add_argument("run_id")
    delete = commands.add_parser("delete", help="delete ended runs, whoever started them")
    delete.add_argument("run_id", nargs="?")
    delete.add_argument("--older-than", type=float, metavar="DAYS", help="every run that ended more than DAYS ago")
    submit = commands.add_parser("submit", help="queue a run of a preset (RQ only)")
    submit.add_argument("--preset", required=True, choices=list(PRESETS), metavar="NAME",
                        help="one of: " + "; ".join(PRESETS))
    submit.add_argument("--owner", default="admin", help="whose run it is (default: admin)")
    args = parser.parse_args(argv)
    rq = bool(redis_url())

    if args.command == "worker":
        if not rq:
            print(LOCAL_ONLY.format(what="worker to start"), file=sys.stderr)
            return 2
        runner = RQRunner(runs_dir(), redis_url(), refresh_thread=False)
        print(f"RQ worker on {runner.where}, queue {QUEUE!r}, runs in {runner.runs_dir}", flush=True)
        try:
            Worker([runner.queue], connection=runner.redis).work()
        except Exception as e:                    # Redis down at start: say where, not a traceback
            print(f"error: the RQ worker stopped: {e}", file=sys.stderr)
            return 1
        return 0
    if args.command == "submit" and not rq:
        print(LOCAL_ONLY.format(what="queue to submit to"), file=sys.stderr)
        return 2
    if args.command == "delete" and (args.run_id is None) == (args.older_than is None):
        parser.error("delete takes a RUN_ID or --older-than DAYS")

    runner = engine(runs_dir(), refresh_thread=False)
    try:
        if args.command == "list":
            infos = runner.runs()
            if args.json:
                for info in infos:
                    print(json.dumps(_line(info)))
            else:
                for info in infos:
                    print(f"{info.run_id}  {info.status:<11} {info.iteration:>6,}/{info.total:<6,} "
                          f"{info.owner[:12]:<12}  {info.label}")
                print(f"{len(infos)} run{'s' * (len(infos) != 1)} in {runner.runs_dir}")
        elif args.command == "stop":
            runner.stop(args.run_id, owner=None)
            print(f"Asked {args.run_id} to stop: it stops at its next iteration and keeps what it learned.")
        elif args.command == "delete" and args.run_id:
            runner.delete(args.run_id, owner=None)
            print(f"Deleted {args.run_id}.")
        elif args.command == "delete":
            gone = runner.delete_older_than(args.older_than)
            print(f"Deleted {len(gone)} run{'s' * (len(gone) != 1)} that ended more than {args.older_than:g} days ago.")
        elif args.command == "submit":
            dataset = {"base_dir": str(ensure_demo_dataset()), "pca_features": True, "is_demo": True}
            run_id = runner.start(PRESETS[args.preset], dataset, owner=args.owner)
            print(run_id)
    except KeyError as e:
        print(f"error: {e.args[0] if e.args else e}", file=sys.stderr)
        return 1
    except (ValueError, PermissionError, RunLimitError, EngineUnavailable, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        runner.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
