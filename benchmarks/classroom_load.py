"""A class on the app: N sessions over Streamlit's websocket protocol, every page in turn.

Claim measured: how long a student waits for a page when a whole class uses one server,
or several behind nginx, while runs train. Each simulated session is a real Streamlit
client (`benchmarks.streamlit_client`: `/_stcore/stream`, `BackMsg` / `ForwardMsg`), so
the server does exactly what it does for a browser: a session, a script run per page,
the fragments that rerun themselves on the Train page. A page's time is from the click
(`rerun_script`) to `script_finished`. Scenarios:

    steady   every session opens the pages in turn with a think time between clicks
             (uniform around --think seconds), as students clicking through a lesson
    burst    all sessions open the same page at the same moment, page after page, as a
             class does when the teacher says "now open Inspect"
    solo     one session goes round the pages 20 times: each page's own cost, in wall time
             and in the app server's CPU time (what a page rerun costs the class)
    follow   a class in step (`explorer.classroom`): a teacher starts a class on the Lesson
             page and the sessions follow it (`?class=CODE`); the teacher presses Next
             --moves times, and each time the clock runs from the click to the last follower
             drawing the new step; on the first step with a question every follower answers
             (a known spread over the choices), and the teacher's count and, after Reveal,
             the tally must hold every answer; before the first Next, the app servers' CPU
             per second while the class waits. The followers do what their page's script
             does in a browser (`Session.follow_class`: wait on the server's version route,
             press the page's hidden button when the class moved on)
    watch    all sessions open the Train page and stay on it for --watch-seconds, as a class
             does while the teacher's run trains: the run's live panel and the runs table
             rerun themselves (fragments, every second and every three), and it prints the
             app servers' CPU per second and per fragment run, and any error boxes drawn

each on `1` server (the default local engine, `make run`'s set-up) or on `2` replicas
behind nginx (`deploy.cluster`: Redis, RQ workers, sticky sessions). In every scenario two
runs train meanwhile (the LSTM preset stretched to 1,000 epochs) and one finished run is
there to inspect; a few untimed sessions visit every page first (the server's shared
caches load once, before the lesson). It prints p50, p95 and max per page, errors (timeouts, closed sockets),
exception boxes and error alerts the pages drew, sessions per app server, and the app
servers' memory (resident, after the scenario). With `--images` every session also fetches
each picture the pages send by address, once, as a browser shows it (without it, as in every
figure before 2026-12-07 late evening, no picture is fetched). Needs nginx and redis-server for `2`.
Everything listens on 127.0.0.1 only.

    python -m benchmarks.classroom_load [--sessions 30] [--think 4] [--rounds 2] [--moves 8]
                                        [--scenarios solo:1,steady:1,burst:1,burst:2,follow:1,follow:2,watch:1]
                                        [--watch-seconds 30] [--images]
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from benchmarks._machine import describe_machine
from benchmarks.streamlit_client import PageResult, Session
from core.data.demo import ensure_demo_dataset
from explorer.components.class_panel import POLL, SILENT_MS, STALE_MS, SYNC
from explorer.runs import crowd

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["", "browse", "layer_lab", "train", "inspect", "compare", "your_code"]      # "" is Home
TRAINING_PRESET, FINISHED_PRESET = "Notebook LSTM overfit", "Notebook RNN overfit"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (MB), from /proc."""
    total, pids = 0, [pid]
    try:
        pids += [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


class OneServer:
    """One app server with the local engine, as `make run` starts it: from the checkout at
    `cwd` (its code first on the path), on the CPU cores `cores` if given."""

    def __init__(self, folder: Path, command: list[str], cwd: Path = ROOT, cores: set[int] | None = None,
                 env: dict[str, str] | None = None):
        self.folder, self.port, self.command, self.cwd, self.cores = folder, free_port(), command, cwd, cores
        self.env = env or {}                 # more environment for the server's process
        self.runs = folder / "runs"
        self.process = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        from deploy.cluster import _wait_http
        env = {k: v for k, v in os.environ.items() if k != "CAPTION_LAB_REDIS_URL"}
        env["CAPTION_LAB_RUNS"] = str(self.runs)
        env.update(self.env)
        cores = self.cores
        self.process = subprocess.Popen(
            [*self.command, "--server.port", str(self.port), "--server.address", "127.0.0.1",
             "--server.headless", "true"],
            cwd=self.cwd, env=env, stdout=open(self.folder / "app.log", "ab"), stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=None if cores is None else lambda: os.sched_setaffinity(0, cores))
        _wait_http(self.url + "/_stcore/health", self.process)

    def app_pids(self) -> list[int]:
        return [self.process.pid]

    def app_urls(self) -> list[str]:
        return [self.url]

    def start_runs(self, dataset: dict, finished_config, training_config) -> object:
        from explorer.runs.local import LocalRunner
        engine = LocalRunner(self.runs, max_per_owner=3)
        engine.wait(engine.start(finished_config, dataset, owner="teacher"))
        for _ in range(2):
            engine.start(training_config, dataset, owner="teacher")
        return engine

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, 15)
            self.process.wait(20)


class Replicas:
    """Two app servers, two RQ workers, Redis and nginx: `deploy.cluster`."""

    def __init__(self, folder: Path, servers: int, command: list[str]):
        from deploy.cluster import Cluster
        self.cluster = Cluster(folder, servers=servers, workers=2, port=free_port(), app_command=command)
        self.runs = self.cluster.runs

    @property
    def url(self) -> str:
        return self.cluster.url

    def start(self) -> None:
        self.cluster.start()

    def app_pids(self) -> list[int]:
        return self.cluster.app_pids()

    def app_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{p}" for p in self.cluster.app_ports]

    def start_runs(self, dataset: dict, finished_config, training_config) -> object:
        from explorer.runs.rq_engine import RQRunner
        engine = RQRunner(self.runs, self.cluster.redis_url, max_per_owner=3)
        engine.wait(engine.start(finished_config, dataset, owner="teacher"))
        for _ in range(2):
            engine.start(training_config, dataset, owner="teacher")
        return engine

    def stop(self) -> None:
        self.cluster.stop()


def wait_training(engine, count: int = 2, timeout: float = 180.0) -> int:
    """Until `count` runs report iterations (they really train); how many do."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        training = [i for i in engine.runs() if i.status == "running" and i.iteration >= 3]
        if len(training) >= count:
            return len(training)
        time.sleep(0.5)
    return len([i for i in engine.runs() if i.status == "running"])


async def steady(url: str, sessions: int, rounds: int, think: float, seed: int) -> tuple[list[PageResult], list]:
    """Each session clicks through every page `rounds` times, thinking ~`think` s between clicks;
    the sessions start spread over one think time."""
    results, clients = [], []

    async def student(k: int) -> None:
        rng = random.Random(seed + k)
        await asyncio.sleep(rng.uniform(0, think))
        session = await Session.connect(url)
        clients.append(session)
        order = PAGES[k % len(PAGES):] + PAGES[:k % len(PAGES)]        # not all on one page at once
        await session.open("")                                          # the first visit: a page map
        for _ in range(rounds):
            for page in order:
                results.append(await session.open(page))
                await asyncio.sleep(rng.uniform(0.5 * think, 1.5 * think))

    await asyncio.gather(*(student(k) for k in range(sessions)))
    return results, clients


async def burst(url: str, sessions: int, rounds: int, settle: float,
                pids: list[int] = ()) -> tuple[list[PageResult], list, dict]:
    """All sessions open the same page at the same moment, page after page. Also returns, per
    page, the CPU seconds per click of the app servers `pids` (all they did meanwhile, the
    Train page's live panels included) and of this process (the load generator, and the
    local engine's threads with one server)."""
    clients = list(await asyncio.gather(*(Session.connect(url) for _ in range(sessions))))
    await asyncio.gather(*(c.open("") for c in clients))
    await asyncio.gather(*(c.images_done() for c in clients))
    results, cpu = [], {"server": defaultdict(float), "client": defaultdict(float)}
    clicks = rounds * len(clients)                       # of each page
    for _ in range(rounds):
        for page in PAGES:
            await asyncio.sleep(settle)
            server, client = sum(cpu_seconds(p) for p in pids), time.process_time()
            results += await asyncio.gather(*(c.open(page) for c in clients))
            await asyncio.gather(*(c.images_done() for c in clients))     # with --images: its pictures too
            cpu["server"][page or "home"] += (sum(cpu_seconds(p) for p in pids) - server) / clicks
            cpu["client"][page or "home"] += (time.process_time() - client) / clicks
    return results, clients, cpu


@contextlib.contextmanager
def off_the_servers_core(anywhere: bool = False):
    """This load generator (the calling thread and the threads it starts meanwhile) keeps off
    the core that the app server has to itself while a class crowds it (`explorer.runs.crowd`:
    the training workers leave the first core), as a class's browsers run on their own
    laptops, not on the server; yields a sentence that says where it runs. On that core its
    own work (about a sixth of the server's in a burst: a burst prints both) came on top of
    every page's time."""
    cpus = crowd.cores(spare=True)
    if anywhere or cpus is None or cpus == crowd.cores(spare=False):
        yield "anywhere (on the server's cores too)"
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield f"on core{'s' if len(cpus) > 1 else ''} {', '.join(map(str, sorted(cpus)))}, off the server's"
    finally:
        os.sched_setaffinity(0, before)


async def warm_up(urls: list[str], per_server: int = 2) -> None:
    """A few sessions on every app server visit every page first (untimed), as the teacher does
    before the lesson: the dataset, the models and the caches a server shares load once, not
    in the figures."""
    async def visit(url: str) -> None:
        session = await Session.connect(url)
        await session.open("")
        for page in PAGES:
            await session.open(page)
        await session.close()
    await asyncio.gather(*(visit(url) for url in urls for _ in range(per_server)))


async def solo(url: str, pids: list[int], rounds: int = 20) -> tuple[list[PageResult], dict]:
    """One session goes round the pages `rounds` times; each page's server CPU seconds per visit."""
    session = await Session.connect(url)
    await session.open("")
    results, cpu = [], defaultdict(float)
    for _ in range(rounds):
        for page in PAGES:
            before = sum(cpu_seconds(p) for p in pids)
            results.append(await session.open(page))
            cpu[page or "home"] += (sum(cpu_seconds(p) for p in pids) - before) / rounds
    await session.close()
    return results, cpu


async def watch(url: str, sessions: int, seconds: float, pids=()) -> tuple[dict, list]:
    """All sessions open the Train page and stay there `seconds`, its fragments rerunning as in
    a browser; the app servers' CPU and the fragment runs over that time (after 3 s, when
    every session's fragments are under way), and the error boxes and exceptions drawn."""
    clients = list(await asyncio.gather(*(Session.connect(url) for _ in range(sessions))))
    seen = Counter()

    def listen(message) -> None:
        if message.WhichOneof("type") == "script_finished" and \
                message.script_finished == ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY:
            seen["fragment runs"] += 1
        elif (shown := _shown(message)) is not None and (
                shown[0] == "exception" or shown[0] == "alert" and shown[1].alert.format == shown[1].alert.ERROR):
            seen["errors"] += 1

    for client in clients:
        client.listener = listen
    await asyncio.gather(*(c.open("") for c in clients))
    opened = await asyncio.gather(*(c.open("train") for c in clients))
    await asyncio.sleep(3)
    cpu, runs, start = sum(cpu_seconds(p) for p in pids), seen["fragment runs"], time.perf_counter()
    await asyncio.sleep(seconds)
    elapsed = time.perf_counter() - start
    cpu, runs = sum(cpu_seconds(p) for p in pids) - cpu, seen["fragment runs"] - runs
    return {"sessions": sessions, "seconds": elapsed, "cpu": cpu, "runs": runs, "errors": seen["errors"],
            "failed": sum(r.status != "ok" for r in opened),
            "live": sum(len(c.fragments) == 2 for c in clients)}, clients


def report_watch(figures: dict) -> dict:
    seconds, runs, cpu = figures["seconds"], figures["runs"], figures["cpu"]
    print(f"  {figures['live']} of {figures['sessions']} sessions with the live panel and the runs table "
          f"rerunning; over {seconds:.0f} s: {runs} fragment runs ({runs / seconds:.1f} per second), "
          f"app servers' CPU {1000 * cpu / seconds:.0f} ms per second, {1000 * cpu / max(runs, 1):.1f} ms "
          f"per fragment run; {figures['errors']} error boxes or exceptions drawn, "
          f"{figures['failed']} Train pages not opened")
    return {"text": f"{1000 * cpu / seconds:.0f} ms of server CPU per second, {1000 * cpu / max(runs, 1):.1f} ms "
                    f"per fragment run, {figures['errors'] + figures['failed']} errors"}


# --- follow: a class in step ----------------------------------------------------------

STEP_SHOWN = re.compile(r"· (\d+)/(\d+)")                  # the Lesson's heading: "The data :gray[· 1/12]"
ANSWERS_SHOWN = re.compile(r"\*\*(\d+)\*\* answered")
# what the watchdog compares: the version the page drew, the version a poll read and that poll's stamp
VERSION_SHOWN = re.compile(r'class="class-(polled|drawn)" data-v="(\d+)"(?: data-t="([0-9.]+)")?')


def _shown(message) -> tuple[str, object] | None:
    """(kind, element) of a forward message that draws an element, else None."""
    if message.WhichOneof("type") != "delta" or message.delta.WhichOneof("type") != "new_element":
        return None
    element = message.delta.new_element
    return element.WhichOneof("type"), element


def _tally(chart) -> list[int] | None:
    """The counts of a tally chart (a Vega-Lite chart whose data has an "answers" column),
    read with pyarrow alone: through pandas, the first tally imported pandas into this load
    generator, half a second in which it read no session's messages (at the Reveal, which
    then measured that too)."""
    import pyarrow as pa
    for data in [chart.data.data] + [d.data.data for d in chart.datasets]:
        if not data:
            continue
        table = pa.ipc.open_stream(data).read_all()
        if "answers" in table.column_names:
            return [int(n) for n in table.column("answers").to_pylist()]
    return None


async def follow(url: str, sessions: int, moves: int, seed: int, token: str, pids=()) -> tuple[dict, list]:
    """A teacher and `sessions` followers (see the module's docstring); the measured figures,
    with the CPU the app servers `pids` spend per second while the class waits for the
    teacher. The teacher is the admin by `token` (`CAPTION_LAB_ADMIN_TOKEN`): behind nginx
    no browser is on the server's own machine."""
    from explorer.lessons import DEFAULT, LESSONS
    lesson = LESSONS[DEFAULT]
    rng = random.Random(seed)
    rehearsal = await Session.connect(url)                 # the teacher walks the steps once, untimed
    await rehearsal.open("")                               # the first visit: a page map
    await rehearsal.open("lesson")
    for _ in range(moves):
        await rehearsal.click("lesson_next")
    await rehearsal.close()
    teacher = await Session.connect(url, query=f"admin={token}")
    shown = {"code": None, "answers": 0, "tally": None}

    def teacher_sees(message) -> None:
        drawn = _shown(message)
        if drawn is None:
            return
        kind, element = drawn
        if kind == "html" and "class-code" in element.html.body:
            shown["code"] = re.search(r">([A-Z]{4})<", element.html.body).group(1)
        elif kind == "markdown" and ANSWERS_SHOWN.search(element.markdown.body):
            shown["answers"] = int(ANSWERS_SHOWN.search(element.markdown.body).group(1))
        elif kind == "heading" and STEP_SHOWN.search(element.heading.body):
            shown["step"] = int(STEP_SHOWN.search(element.heading.body).group(1))
        elif kind == "vega_lite_chart" and '"answers"' in element.vega_lite_chart.spec:
            shown["tally"] = _tally(element.vega_lite_chart)

    teacher.listener = teacher_sees
    await teacher.open("")
    await teacher.open("lesson")
    await teacher.click("class_start")
    code = shown["code"]
    if code is None:
        raise RuntimeError("the teacher's Start a class showed no code (is this browser the admin?)")
    await teacher.click("class_hide_join")

    arrivals: list[dict[int, float]] = [{} for _ in range(sessions)]
    revealed: list[float | None] = [None] * sessions
    versions = [{"polled": None, "drawn": None, "stamp": None} for _ in range(sessions)]   # what the watchdog reads

    def follower_sees(k: int):
        def see(message) -> None:
            drawn = _shown(message)
            if drawn is None:
                return
            kind, element = drawn
            if kind == "heading":
                found = STEP_SHOWN.search(element.heading.body)
                if found:
                    arrivals[k].setdefault(int(found.group(1)), time.perf_counter())
            elif kind == "markdown" and "lesson-answer" in element.markdown.body and revealed[k] is None:
                revealed[k] = time.perf_counter()
            elif kind == "html" and (found := VERSION_SHOWN.search(element.html.body)):
                versions[k][found.group(1)] = found.group(2)
                if found.group(3) is not None:
                    versions[k]["stamp"] = found.group(3)
        return see

    async def watchdog(k: int, session: Session) -> None:
        """What the page's script (`class_panel.WATCHDOG`) does in a browser where the server
        polls the class (no version route): press the hidden button when the page shows
        another class version than the poll read for STALE_MS, or no poll came for SILENT_MS.
        (Where the page names the route, `Session.follow_class` does the browser's polling.)"""
        since, stamp, fresh = None, None, time.monotonic()
        while True:
            await asyncio.sleep(1.0)
            seen, now = versions[k], time.monotonic()
            if seen["drawn"] is None or SYNC not in session.widgets or session.class_route:
                since, fresh = None, now
                continue
            if seen["stamp"] != stamp:
                stamp, fresh = seen["stamp"], now
            if seen["polled"] is not None and seen["polled"] != seen["drawn"]:
                since = now if since is None else since
            else:
                since = None
            if (since is not None and now - since > STALE_MS / 1000) or now - fresh > SILENT_MS / 1000:
                since, fresh = None, now
                syncs["watchdog"] += 1
                await session.click(SYNC)

    async def join(k: int) -> Session:
        await asyncio.sleep(rng.uniform(0, 3))                     # the class arrives over a few seconds
        session = await Session.connect(url, query=f"class={code}")
        session.listener = follower_sees(k)
        await session.open("")                             # a link opens the Lesson page, whatever its page
        await session.open("lesson")                       # (and its page hash, for the reruns to come)
        return session

    followers = list(await asyncio.gather(*(join(k) for k in range(sessions))))
    syncs = Counter()
    dogs = [asyncio.create_task(watchdog(k, f)) for k, f in enumerate(followers)]
    dogs += [asyncio.create_task(f.follow_class(SYNC, POLL, STALE_MS / 1000, lambda kind: syncs.update([kind]))) for f in followers]
    await asyncio.sleep(2.0)
    before, started = sum(cpu_seconds(p) for p in pids), time.monotonic()
    await asyncio.sleep(4.0)                                       # the class waits: nobody clicks
    waiting = (sum(cpu_seconds(p) for p in pids) - before) / (time.monotonic() - started)
    step, lasts, each, answered, steps = 1, [], [], None, []
    asked = next(k for k in range(1, len(lesson.steps)) if lesson.steps[k].question is not None)
    for _ in range(min(moves, len(lesson.steps) - 1)):
        clicked = time.perf_counter()
        await teacher.click("lesson_next")
        step += 1
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not all(step in a for a in arrivals):
            await asyncio.sleep(0.02)
        times = [a[step] - clicked for a in arrivals if step in a]
        each += times
        lasts.append(max(times) if len(times) == sessions else float("inf"))
        steps.append(step)
        if len(times) < sessions:
            print(f"  step {step}: {len(times)} of {sessions} followers drew it within 30 s; the teacher's "
                  f"screen shows step {shown.get('step')}; the others show "
                  f"{sorted({max(a) if a else None for a in arrivals if step not in a})}", flush=True)
        if step - 1 == asked and answered is None:
            answered = await _answer_together(lesson.steps[asked], asked, teacher, followers, shown, revealed)
        await asyncio.sleep(rng.uniform(1.5, 2.5))                 # the teacher talks a little
    for dog in dogs:
        if dog.done() and not dog.cancelled() and dog.exception() is not None:
            print(f"  a follower's script (emulated) stopped: {dog.exception()!r}", flush=True)
        dog.cancel()
    await close_all([teacher, *followers])
    return {"lasts": lasts, "each": each, "answers": answered, "sessions": sessions, "steps": steps,
            "syncs": dict(syncs), "browser_polls": all(f.class_route for f in followers),
            "waiting_cpu": waiting if pids else None}, followers


async def _answer_together(step, index: int, teacher, followers, shown, revealed) -> dict:
    """Every follower answers (follower k chooses k mod the number of choices), concurrently;
    then the teacher's count, Reveal and the tally it shows on the teacher's screen."""
    n = len(step.question.choices)
    expected = [0] * n
    for k in range(len(followers)):
        expected[k % n] += 1
    key = f"lesson.answer.{step.key}"
    deadline = time.monotonic() + 30                       # each follower's page has drawn the question
    while time.monotonic() < deadline and not all(key in f.widgets for f in followers):
        await asyncio.sleep(0.05)
    missing = sum(key not in f.widgets for f in followers)
    if missing:
        raise RuntimeError(f"{missing} followers never drew the question's radio {key}")
    results = await asyncio.gather(*(f.choose(key, k % n) for k, f in enumerate(followers)))
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and shown["answers"] < len(followers):
        await asyncio.sleep(0.1)
    counted = shown["answers"]
    while time.monotonic() < deadline + 10 and f"lesson_reveal_{step.key}" not in teacher.widgets:
        await asyncio.sleep(0.1)
    clicked = time.perf_counter()
    await teacher.click(f"lesson_reveal_{step.key}")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not all(r is not None and r >= clicked for r in revealed):
        await asyncio.sleep(0.02)
    seen = [r - clicked for r in revealed if r is not None and r >= clicked]
    return {"sent": len(results), "errors": sum(r.status != "ok" or r.exceptions + r.errors > 0 for r in results),
            "counted": counted, "tally": shown["tally"], "expected": expected,
            "reveal_last": max(seen) if len(seen) == len(followers) else float("inf")}


def report_follow(figures: dict) -> dict:
    lasts, each, answers = figures["lasts"], figures["each"], figures["answers"]
    finite = [t for t in lasts if t != float("inf")]
    print(f"  Next -> last of {figures['sessions']} followers showing the new step, over {len(lasts)} moves: "
          f"p50 {statistics.median(lasts):.2f} s, p95 {percentile(lasts, 0.95):.2f} s, max {max(lasts):.2f} s"
          + ("" if len(finite) == len(lasts) else f" ({len(lasts) - len(finite)} moves not followed by all)"))
    print(f"  Next -> each follower: p50 {statistics.median(each):.2f} s, p95 {percentile(each, 0.95):.2f} s")
    syncs = figures["syncs"]
    if figures["browser_polls"]:
        print(f"  followers' pages waited on the server's version route (their script, in a browser): "
              f"{syncs.get('move', 0)} reruns on a move, {syncs.get('again', 0)} pressed again (a page still behind "
              f"{STALE_MS / 1000:g} s after its first press)")
    else:
        print(f"  followers polled through Streamlit (a fragment every {POLL:g} s); watchdog presses (a page behind "
              f"its poll for {STALE_MS / 1000:g} s, or without a poll for {SILENT_MS / 1000:g} s, rerun from the "
              f"browser): {syncs.get('watchdog', 0)}")
    if figures.get("waiting_cpu") is not None:
        print(f"  app servers' CPU while the class waits for the teacher (nobody clicks): "
              f"{1000 * figures['waiting_cpu']:.0f} ms per second")
    print("  per move, the last follower: " + ", ".join(f"step {k} {t:.2f} s" for k, t in zip(figures["steps"], lasts)))
    if answers:
        lost = answers["sent"] - answers["counted"]
        print(f"  answers: {answers['sent']} sent, {answers['errors']} refused or failed, {answers['counted']} "
              f"counted on the teacher's screen ({lost} lost); tally after Reveal {answers['tally']}, "
              f"expected {answers['expected']}; Reveal -> last follower showing it {answers['reveal_last']:.2f} s")
    return {"p50": statistics.median(lasts), "p95": percentile(lasts, 0.95), "max": max(lasts),
            "errors": answers["errors"] if answers else 0,
            "exceptions": 0, "tally_ok": bool(answers) and answers["tally"] == answers["expected"]}


def cpu_seconds(pid: int, thread: int | None = None) -> float:
    """User and system CPU time of a process so far (or of its thread `thread`), from /proc."""
    try:
        stat = f"/proc/{pid}/stat" if thread is None else f"/proc/{pid}/task/{thread}/stat"
        fields = Path(stat).read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def print_sessions_per_server(clients) -> None:
    """How many sessions each app server held: by the replica nginx names in its answers, or,
    where none names one (a single server, no proxy), all on that one."""
    served = Counter(c.served_by for c in clients)
    if not any(served):                                  # "" (Session.served_by's default) or None
        print(f"  sessions per app server: {sum(served.values())} (one server)")
        return
    print("  sessions per app server: " + ", ".join(f"{k or '?'} {v}" for k, v in sorted(served.items(), key=str)))


def report(results: list[PageResult], clients: list, cpu: dict | None = None, client_cpu: dict | None = None) -> dict:
    """Print each page's times and, when given, the server's and the load generator's CPU per click."""
    by_page = defaultdict(list)
    for r in results:
        by_page[r.page].append(r)
    print(f"  {'page':12} {'clicks':>6} {'p50 s':>7} {'p95 s':>7} {'max s':>7} {'errors':>6} {'exceptions':>10}"
          + (f" {'server CPU':>11}" if cpu else "") + (f" {'load gen. CPU':>14}" if client_cpu else ""))
    for page in [p or "home" for p in PAGES]:
        rs = by_page.get(page, [])
        if not rs:
            continue
        times = [r.seconds for r in rs if r.status == "ok"]
        print(f"  {page:12} {len(rs):6} {statistics.median(times):7.2f} {percentile(times, 0.95):7.2f} "
              f"{max(times):7.2f} {sum(r.status != 'ok' for r in rs):6} "
              f"{sum(r.exceptions + r.errors for r in rs):10}"
              + (f" {1000 * cpu[page]:8.0f} ms" if cpu else "")
              + (f" {1000 * client_cpu[page]:11.0f} ms" if client_cpu else ""))
    times = [r.seconds for r in results if r.status == "ok"]
    overall = {"p50": statistics.median(times), "p95": percentile(times, 0.95), "max": max(times),
               "errors": sum(r.status != "ok" for r in results),
               "exceptions": sum(r.exceptions + r.errors for r in results)}
    print(f"  {'all pages':12} {len(results):6} {overall['p50']:7.2f} {overall['p95']:7.2f} {overall['max']:7.2f} "
          f"{overall['errors']:6} {overall['exceptions']:10}")
    if clients:
        print_sessions_per_server(clients)
    if Session.fetch_images and clients:
        print(f"  pictures fetched by address (once per session, as a browser shows them): "
              f"{sum(c.images_fetched for c in clients)}, {sum(c.image_errors for c in clients)} failed")
    return overall


async def close_all(clients: list) -> None:
    await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=30, help="simulated students (default 30)")
    parser.add_argument("--think", type=float, default=4.0, help="mean seconds between clicks, steady (default 4)")
    parser.add_argument("--rounds", type=int, default=2, help="times each session goes through every page")
    parser.add_argument("--scenarios", default="solo:1,steady:1,burst:1,burst:2",
                        help="comma-separated MODE:SERVERS, MODE solo, steady, burst, follow or watch, "
                             "SERVERS 1 or more")
    parser.add_argument("--moves", type=int, default=8, help="the teacher's Next clicks, follow (default 8)")
    parser.add_argument("--watch-seconds", type=float, default=30.0,
                        help="how long the sessions stay on the Train page, watch (default 30)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--streamlit-run", action="store_true",
                        help="start the app servers with plain `streamlit run explorer/app.py` instead of "
                             "`python -m explorer.serve` (which turns Nagle's delay off)")
    parser.add_argument("--images", action="store_true",
                        help="every session also fetches each picture sent by address (Streamlit's /media/ files) "
                             "once, as a browser shows it; a burst's server CPU per click then includes them")
    parser.add_argument("--client-anywhere", action="store_true",
                        help="let this load generator run on the server's core too (by default it keeps "
                             "off the core the server has to itself while crowded, as browsers run elsewhere; "
                             "figures before 2026-12-06 evening ran it anywhere)")
    args = parser.parse_args(argv)
    Session.fetch_images = args.images
    command = ([sys.executable, "-m", "streamlit", "run", "explorer/app.py"] if args.streamlit_run
               else [sys.executable, "-m", "explorer.serve"])
    print(describe_machine())
    print(f"{args.sessions} sessions, pages {', '.join(p or 'home' for p in PAGES)}, {args.rounds} rounds; "
          f"two runs train meanwhile; app servers: {' '.join(command[1:])}")
    from explorer.runs.settings import PRESETS
    dataset = {"base_dir": str(ensure_demo_dataset()), "pca_features": True, "is_demo": True}
    training = PRESETS[TRAINING_PRESET].replace(num_epochs=1000)
    summary = []
    token = secrets.token_hex(16)
    os.environ["CAPTION_LAB_ADMIN_TOKEN"] = token            # the app servers' admin: the follow scenario's teacher
    for scenario in args.scenarios.split(","):
        mode, _, servers = scenario.strip().partition(":")
        servers = int(servers or 1)
        if mode not in ("steady", "burst", "solo", "follow", "watch"):
            parser.error(f"unknown mode {mode!r} in --scenarios (steady, burst, solo, follow or watch)")
        folder = Path(tempfile.mkdtemp(prefix="caption-lab-load-"))
        setup = OneServer(folder, command) if servers == 1 else Replicas(folder, servers, command)
        try:
            setup.start()
            engine = setup.start_runs(dataset, PRESETS[FINISHED_PRESET], training)
            trained = wait_training(engine)
            label = f"{mode} on {servers} server{'s' if servers > 1 else ''}" + (" behind nginx" if servers > 1 else "")
            print(f"\n{label}: {trained} runs training, " + {
                "steady": f"think ~{args.think:g} s", "burst": "all sessions click at once",
                "solo": "one session, each page 20 times",
                "watch": f"{args.sessions} sessions stay on Train {args.watch_seconds:g} s",
                "follow": f"a teacher and {args.sessions} followers, {args.moves} Next clicks"}[mode], flush=True)
            asyncio.run(warm_up(setup.app_urls()))
            load_before = os.getloadavg()[0]
            cpu, client_cpu = None, None
            with off_the_servers_core(args.client_anywhere or mode == "solo") as where:
                if mode != "solo":
                    print(f"  the load generator runs {where}", flush=True)
                if mode == "steady":
                    results, clients = asyncio.run(_run_and_close(steady(setup.url, args.sessions, args.rounds,
                                                                         args.think, args.seed)))
                elif mode == "follow":
                    figures, clients = asyncio.run(follow(setup.url, args.sessions, args.moves, args.seed, token,
                                                               setup.app_pids()))
                    results = []
                elif mode == "watch":
                    figures, clients = asyncio.run(_run_and_close(watch(setup.url, args.sessions,
                                                                        args.watch_seconds, setup.app_pids())))
                    results = []
                elif mode == "burst":
                    results, clients, used = asyncio.run(_run_and_close(
                        burst(setup.url, args.sessions, args.rounds, 1.0, setup.app_pids())))
                    cpu, client_cpu = used["server"], used["client"]
                else:
                    (results, cpu), clients = asyncio.run(solo(setup.app_urls()[0], setup.app_pids()[:1])), []
            overall = (report_follow(figures) if mode == "follow" else report_watch(figures) if mode == "watch"
                       else report(results, clients, cpu, client_cpu))
            if mode in ("follow", "watch"):
                print_sessions_per_server(clients)
            memory = [rss_mb(p) for p in setup.app_pids()]
            print("  app server memory: " + ", ".join(f"{m:.0f} MB" for m in memory)
                  + f"; load average {load_before:.2f} -> {os.getloadavg()[0]:.2f}")
            summary.append((label, overall))
            for info in engine.runs():
                if info.status in ("running", "queued"):
                    engine.stop(info.run_id, None)
            if hasattr(engine, "shutdown"):
                engine.shutdown()
        finally:
            setup.stop()
            shutil.rmtree(folder, ignore_errors=True)
    print("\nsummary (all pages): " + "; ".join(f"{label}: " + (o["text"] if "text" in o else
                                                                 f"p50 {o['p50']:.2f} s, p95 {o['p95']:.2f} s, "
                                                                 f"{o['errors']} errors, {o['exceptions']} exception boxes")
                                               for label, o in summary))
    return 0


async def _run_and_close(job):
    out = await job                      # (results, clients, ...)
    await asyncio.gather(*(c.images_done() for c in out[1]))      # with --images: the last pictures too
    await close_all(out[1])
    return out


if __name__ == "__main__":
    sys.exit(main())
