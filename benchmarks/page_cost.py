"""What one run of each page costs the app server, this build against another, side by side.

Claim measured: the server CPU a page run takes, page by page: what a class clicking at
once pays thirty times over (`classroom_load`'s burst), measured where one session alone
makes it readable. Each build is served by its own `python -m explorer.serve`, both on the
same core with nothing training, and one session per server goes round the pages, each
click opening the next page as a class's clicks do (`--block` runs of a page in a row,
default 1), the two servers taking turns page by page (which one goes first alternates
from round to round). A machine whose speed drifts during the run then drifts for both,
so the ratio holds where two runs of `classroom_load` a minute apart differ by more than
the change measured. The other build is a git revision (`--against REV`), checked out
into a temporary worktree and served from there with this interpreter, or
(`--without-performance`) the working tree itself with what `streamlit[performance]` adds
(uvloop, httptools, orjson) hidden from its server, so that Streamlit runs asyncio's own
loop and uvicorn parses HTTP with h11; without either, the working tree alone is
measured. Prints, per page and build, the server's CPU per page run (user and system time
from /proc), the part of it in the event loop's thread (the rest is the page's script
thread), and the ratio of this build to the other.

`--views` measures other views than each page's first: a page's address path with the query
its link carries, e.g. `inspect?tab=teacher-forcing` (a tab) or `lesson?lesson=captioning&step=5`.

    python -m benchmarks.page_cost [--against HEAD~1 | --without-performance] [--rounds 60] [--block 1]
                                   [--views inspect?tab=teacher-forcing,inspect?tab=whole-caption]
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from benchmarks._machine import describe_machine
from benchmarks.classroom_load import PAGES, OneServer, cpu_seconds
from benchmarks.streamlit_client import Session
from core.data.demo import ensure_demo_dataset

ROOT = Path(__file__).resolve().parent.parent


def server_cpu(server: OneServer) -> tuple[float, float]:
    """(the server process's CPU seconds, its main thread's: the event loop's)."""
    pid = server.process.pid
    return cpu_seconds(pid), cpu_seconds(pid, thread=pid)


@contextlib.contextmanager
def worktree(rev: str):
    """A detached checkout of `rev` in a temporary folder, removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="caption-lab-page-cost-")) / "checkout"
    made = subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--quiet", "--detach", str(folder), rev],
                          capture_output=True, text=True)
    try:
        if made.returncode != 0:
            raise SystemExit(f"page_cost: cannot check out {rev!r} beside {ROOT}: {made.stderr.strip()}")
        yield folder
    finally:
        if made.returncode == 0:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(folder)], check=False)
        shutil.rmtree(folder.parent, ignore_errors=True)


PERFORMANCE = ("uvloop", "httptools", "orjson")     # what streamlit[performance] installs


def hidden_packages(folder: Path, names) -> Path:
    """A folder to put first on a process's PYTHONPATH in which importing any of `names` raises
    ModuleNotFoundError, as if it were not installed (Streamlit and uvicorn then do without)."""
    for name in names:
        (folder / name).mkdir(parents=True, exist_ok=True)
        (folder / name / "__init__.py").write_text(
            f"raise ModuleNotFoundError({name!r} + ' is hidden by benchmarks.page_cost', name={name!r})\n")
    return folder


def described(rev: str | None) -> str:
    """A build as `git log` names it, and whether the working tree has changes of its own."""
    name = subprocess.run(["git", "-C", str(ROOT), "log", "-1", "--format=%h %s", rev or "HEAD"],
                          capture_output=True, text=True).stdout.strip()[:90]
    if rev is None:
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return f"the working tree ({name}{', with uncommitted changes' if dirty else ''})"
    return f"{rev} ({name})"


async def measure(servers: dict[str, OneServer], rounds: int, block: int, views: list[str] = PAGES) -> dict:
    """{build: {view: (CPU ms per run, event loop ms per run)}}; a view is a page's address
    path, with the query its link carries after a `?` if any."""
    sessions = {}
    for name, server in servers.items():
        session = await Session.connect(server.url)
        await session.open("")
        last = ""
        for view in views:                              # every view once first: the server's caches fill
            await _leave(session, last, view)
            result = await _open(session, view)
            if result.status != "ok":
                raise RuntimeError(f"{name}: {view or 'home'} ended {result.status}; see {server.folder}")
            last = view
        sessions[name] = session
    total = {name: defaultdict(lambda: [0.0, 0.0]) for name in servers}
    order = list(servers)
    for r in range(rounds):
        for k, view in enumerate(views):
            for name in order if r % 2 == 0 else order[::-1]:
                server, session = servers[name], sessions[name]
                await _leave(session, views[k - 1] if k else views[-1], view)
                before = server_cpu(server)
                for _ in range(block):
                    result = await _open(session, view)
                    if result.status != "ok":
                        raise RuntimeError(f"{name}: {view or 'home'} ended {result.status}; see {server.folder}")
                after = server_cpu(server)
                total[name][view][0] += after[0] - before[0]
                total[name][view][1] += after[1] - before[1]
    for session in sessions.values():
        await session.close()
    runs = rounds * block
    return {name: {view: (t[0] / runs * 1000, t[1] / runs * 1000) for view, t in by_view.items()}
            for name, by_view in total.items()}


async def _open(session: Session, view: str):
    """Open `view` ("page" or "page?query") as its link does: the page, with its query. A
    link whose query the page did not use (a tab it does not have, say) is refused, as the
    page would be measured on another view than the one named."""
    page, _sep, query = view.partition("?")
    session.query = query
    result = await session.open(page)
    if result.link_problems:
        raise RuntimeError(f"{view or 'home'}: the page says it could not use the link's query {query!r}")
    return result


async def _leave(session: Session, last: str, view: str) -> None:
    """Before `view`, leave its page (untimed) if the session was left on it (`last` is a view
    of the same page): a page reads its link's query when it is opened, not when it runs again
    (`explorer.address`), so every timed run opens the view as its link does."""
    page = view.partition("?")[0]
    if last.partition("?")[0] == page:
        result = await _open(session, "your_code" if page == "" else "")
        if result.status != "ok":
            raise RuntimeError(f"leaving {view or 'home'} for another page ended {result.status}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", metavar="REV", help="a git revision to measure side by side with the working tree")
    parser.add_argument("--without-performance", action="store_true",
                        help="measure the working tree against itself with uvloop, httptools and orjson hidden")
    parser.add_argument("--rounds", type=int, default=60, help="rounds over the pages (default 60)")
    parser.add_argument("--block", type=int, default=1, help="runs of a page in a row on one server (default 1)")
    parser.add_argument("--views", help="comma-separated views to measure instead of the pages: a page's path, "
                                        "with a ?query as its link has (inspect?tab=teacher-forcing)")
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.block < 1:
        parser.error("--rounds and --block are at least 1")
    views = PAGES if args.views is None else list(dict.fromkeys(      # each once, in order; "/" is Home
        v.strip().lstrip("/") for v in args.views.split(",") if v.strip()))
    paths = ["", *sorted(p.stem for p in (ROOT / "pages").glob("*.py") if p.stem != "home")]
    unknown = [v for v in views if v.partition("?")[0] not in paths]
    if not views or unknown:
        parser.error(f"--views takes the pages {', '.join(p or '/ (Home)' for p in paths)}, each with a query "
                     f"after ? if it has one: not {', '.join(unknown) or 'nothing'}")
    if args.against and args.without_performance:
        parser.error("--against and --without-performance each choose the other build: give one")
    ensure_demo_dataset()
    mine = sorted(os.sched_getaffinity(0))
    server_cores, client_cores = {mine[0]}, set(mine[1:]) or {mine[0]}
    print(describe_machine())
    print(f"servers on core {mine[0]}, this client on {sorted(client_cores)}; nothing training; "
          f"{args.rounds} rounds, {args.block} run{'s' if args.block > 1 else ''} of each page per round and build")
    with contextlib.ExitStack() as stack:
        folders = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="caption-lab-page-cost-")))
        builds = {"this": (ROOT, described(None), {})}
        if args.against:
            builds = {"other": (stack.enter_context(worktree(args.against)), described(args.against), {}), **builds}
        elif args.without_performance:
            builds = {"other": (ROOT, described(None) + ", uvloop, httptools and orjson hidden",
                                {"PYTHONPATH": str(hidden_packages(folders / "hidden", PERFORMANCE))}), **builds}
        servers = {}
        for name, (checkout, label, env) in builds.items():
            print(f"  {name}: {label}")
            (folders / name).mkdir()
            servers[name] = OneServer(folders / name, [sys.executable, "-m", "explorer.serve"],
                                      cwd=checkout, cores=server_cores, env=env)   # the checkout's own code
            stack.callback(servers[name].stop)
            servers[name].start()
        os.sched_setaffinity(0, client_cores)
        costs = asyncio.run(measure(servers, args.rounds, args.block, views))
    width = max(11, *(len(v) for v in views))
    head = f"  {'page':<{width}}" + "".join(f"{name + ' ms':>10} {'(loop)':>7}" for name in servers)
    print(head + ("   this/other" if "other" in servers else ""))
    for view in [*views, None]:
        cells, mean = [], {}
        for name in servers:
            values = list(costs[name].values()) if view is None else [costs[name][view]]
            mean[name] = sum(v[0] for v in values) / len(values)
            loop = sum(v[1] for v in values) / len(values)
            cells.append(f"{mean[name]:>10.1f} {loop:>7.1f}")
        ratio = f"   {mean['this'] / mean['other']:.3f}" if "other" in servers and mean["other"] else ""
        print(f"  {('mean' if view is None else view or 'home'):<{width}}" + "".join(cells) + ratio)
    return 0


if __name__ == "__main__":
    sys.exit(main())
