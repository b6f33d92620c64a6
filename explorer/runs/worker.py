"""The process that trains one run: `python -m explorer.runs.worker <run folder> [--nice N] [--watch-stdin]`.

A run engine starts one per running run (the local engine from the app server, the RQ
engine from an RQ worker), with BLAS limited to one thread, so that runs
never slow the app's own script runs down by more than their share of the cores. It
reads the run's config.json, trains with the notebook's recipe (`settings.notebook_solver`),
in slow motion when its settings ask (waiting between iterations, so a class can watch),
and writes everything the app shows into the run folder (see `store`): the loss of
every iteration, the evolution captions every k iterations, a snapshot checkpoint every
few seconds, and at the end the final checkpoint and status.

It touches the folder's `heartbeat` file every HEARTBEAT_SECONDS, so any app server that
reads the runs folder, on any machine, can tell it is alive. It stops between iterations
when the folder's `stop` file appears. While the app server says it is crowded (a class
clicking at once), it keeps off one core (`crowd`). With `--watch-stdin`
it also stops when its stdin closes, which happens when the server that started it goes
away; the run then ends as "interrupted", its model saved. It never imports streamlit.

A run of a student's own code (its config.json names a package under `code/`) is first
walled in as the checker's tasks are (`wall_in`: no root where it can be given up, its own
user, network, pid and mount namespaces, a tmpfs for its temporary files, then
`core.student.confine`: reads only the dataset, Caption Lab's code and the run folder,
writes only in the run folder, no socket, soft = hard limits), and only then imports their
files; nothing it starts outlives it, and a run folder it fills past FOLDER_MB ends it; the
engines start it as the checker is started, a fresh `python -I` with a minimal
environment (`local.worker_command`, `worker_env`); it trains their CaptioningRNN
with Caption Lab's beside it (`core.student.training.PairedSolver`), writes both losses
and saves the student's weights as an ordinary checkpoint.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import socket
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

import numpy as np

from core import DatasetError, fast, safe_files, save_checkpoint
from core.data.stats import display_words
from core.solver import keep_freed_memory
from core.student.checks import Student
from core.student import walls
from core.student.confine import confine
from core.student.sandbox import describe_exception
from core.student.training import PairedSolver, StudentCodeError
from core.text import message
from explorer.i18n import sentence
from explorer.runs.crowd import EVERY as CROWD_EVERY, Follower
from explorer.runs.settings import RunConfig, notebook_solver
from explorer.runs.store import (CODE, EVOLUTION, FINAL, HISTORY, SAMPLES, SNAPSHOT, RunFolder,
                                write_json)

NUM_SAMPLES = 4              # training images the evolution view follows
SNAPSHOT_SECONDS = 3.0       # at most one snapshot checkpoint per this many seconds
MAX_MINUTES_ENV = "CAPTION_LAB_MAX_RUN_MINUTES"
MAX_MINUTES = 120.0          # a run that trains longer than this is stopped (and saved)
CODE_MEMORY_MB = 6144        # what a run of a student's code may map beyond the worker's own start
CODE_PROCESSES = 24          # processes and threads a run of a student's code may have
TMP_MB = 64                  # its temporary folder (a tmpfs of its own)
FOLDER_MB_ENV = "CAPTION_LAB_CODE_RUN_MB"
FOLDER_MB = 1024             # what its run folder may hold before the run is ended (or $CAPTION_LAB_CODE_RUN_MB)
HEARTBEAT_SECONDS = 2.0      # how often the worker says it is alive
PACE_POLL_SECONDS = 0.2      # in slow motion, how often a waiting run looks for a stop request


def plain(caption, idx_to_word) -> str:
    """One caption row's words, without <START>, <END> or padding, as the evolution view shows them."""
    return " ".join(display_words(caption, idx_to_word))


class Training:
    """One run from its folder to its final status."""

    def __init__(self, folder: RunFolder, parent_gone: threading.Event):
        self.folder = folder
        self.meta = folder.meta()
        self.config = RunConfig.from_dict(self.meta["config"])
        self.dataset = self.meta["dataset"]
        self.parent_gone = parent_gone
        self.solver = None
        self.iteration, self.last_loss, self.elapsed = 0, None, 0.0
        self.last_snapshot, self.snapshot_iteration = None, None
        self.evolved_at = None
        self.paced_from = None                   # when iteration 1 started, for slow motion
        self.max_seconds = 60 * float(os.environ.get(MAX_MINUTES_ENV) or MAX_MINUTES)
        self.out_of_time = False
        self.code = self.meta.get("code")        # a student's package, under the run's code/
        self.pid = os.getpid()                   # (a walled run trains as pid 1 of its own namespace)
        self.started_status: dict = {}           # (its status as it was before their code ran)

    # --- the run -------------------------------------------------------------------

    def run(self) -> int:
        self.update_status(status="running", pid=self.pid, host=socket.gethostname(),
                           started=(self.folder.status() or {}).get("started") or time.time())
        with open(self.folder / HISTORY, "a") as self.history, \
                open(self.folder / EVOLUTION, "a") as self.evolution:
            try:
                model_class = None
                if self.code:
                    model_class = Student(self.folder / CODE, self.code["package"]).model_class()
                self.solver = notebook_solver(self.config, self.dataset["base_dir"],
                                              self.dataset["pca_features"], model_class=model_class,
                                              callbacks=[self.on_progress], should_stop=self.should_stop)
                self.prepare_samples(self.solver.data)
                self.evolve(0)
                self.paced_from = time.monotonic()
                outcome = self.solver.train()
            except Exception as e:
                traceback.print_exc()
                self.finish("failed", self.crash_message(e))
                return 1
            if outcome == "diverged":       # core.solver.diverged: NaN, infinite or exploded
                self.finish("diverged", self.solver.divergence_message, diverged_at=self.solver.diverged_at)
            elif outcome == "stopped" and self.out_of_time:
                self.finish("stopped", message("Stopped at iteration {iteration:,} of {total:,}: a run may train "
                                               "for at most {minutes:g} minutes. What it learned is saved.",
                                               iteration=self.iteration, total=self.solver.num_iterations,
                                               minutes=self.max_seconds / 60))
            elif outcome == "stopped" and self.parent_gone.is_set() and not self.folder.stop_requested():
                self.finish("interrupted", message("The app's server stopped while this run trained; it was "
                                                   "saved at iteration {iteration:,}.", iteration=self.iteration)
                            if self.iteration else message("The app's server stopped before this run trained."))
            elif outcome == "stopped":
                self.finish("stopped", message("Stopped at iteration {iteration:,} of {total:,}; what it learned "
                                               "so far is saved.", iteration=self.iteration,
                                               total=self.solver.num_iterations)
                            if self.iteration else message("Stopped before its first iteration."))
            else:
                self.finish("done", None)
        return 0

    def crash_message(self, e: Exception) -> str:
        if isinstance(e, (DatasetError, StudentCodeError)):
            return message("The run crashed: {error}", error=sentence(e))
        if self.code:
            error = describe_exception(e, [self.folder / CODE])
            frames = error["traceback"]
            if error["student"] and frames:
                where = frames[-1]
                return message("Your code raised {type} at {file}, line {line} (in {function}): {error}"
                               "\n\n    {code}", type=str(error["type"]), file=str(where["file"]),
                               line=where["line"], function=str(where["function"]),
                               error=str(error["message"]), code=str(where["code"]))
        error = f"{type(e).__name__}: {e}"
        return message("The run crashed: {error}", error=error)

    def model(self):
        """The model whose weights are saved and captioned: a student's, in Caption Lab's class."""
        return self.solver.weights() if isinstance(self.solver, PairedSolver) else self.solver.model

    def should_stop(self) -> bool:
        self.out_of_time = self.elapsed > self.max_seconds
        return self.out_of_time or self.parent_gone.is_set() or self.folder.stop_requested()

    def on_progress(self, p) -> None:
        self.iteration, self.last_loss, self.elapsed = p.iteration, p.loss, p.elapsed
        line = {"i": p.iteration, "loss": p.loss, "t": p.elapsed, "epoch": p.epoch}
        if isinstance(self.solver, PairedSolver):
            ref = self.solver.reference_loss
            line["ref"] = ref if ref is not None and np.isfinite(ref) else None
        self.history.write(json.dumps(line) + "\n")
        self.history.flush()
        if p.iteration % self.config.snapshot_every == 0 or p.iteration == p.total:
            self.evolve(p.iteration)
            if self.last_snapshot is None:
                self.save(SNAPSHOT, "running")
        if self.last_snapshot is not None and time.monotonic() - self.last_snapshot >= SNAPSHOT_SECONDS \
                and p.iteration < p.total:
            self.save(SNAPSHOT, "running")
        self.pace(p.iteration, p.total)

    def pace(self, iteration: int, total: int) -> None:
        """Slow motion: wait until `iteration` of `total` is due, so the run takes the
        config's `slow_motion` seconds; a stop request still ends it within a fraction of a second."""
        if not self.config.slow_motion or self.paced_from is None or iteration >= total:
            return
        due = self.paced_from + self.config.slow_motion * iteration / total
        while (left := due - time.monotonic()) > 0 and not self.should_stop():
            time.sleep(min(left, PACE_POLL_SECONDS))

    # --- what the app shows ----------------------------------------------------------

    def prepare_samples(self, data) -> None:
        """Pick the first few distinct training images; write their URLs and true captions."""
        rows, seen = [], set()
        for row, image in enumerate(data["train_image_idxs"].tolist()):
            if image not in seen:
                seen.add(image)
                rows.append(row)
            if len(rows) == NUM_SAMPLES:
                break
        images = data["train_image_idxs"][rows]
        self.sample_features = np.asarray(data["train_features"][images])     # (S, D)
        self.max_length = data["train_captions"].shape[1] - 1
        itw = data["idx_to_word"]
        write_json(self.folder / SAMPLES, {"images": [
            {"image_idx": int(i), "url": str(data["train_urls"][i]), "truth": plain(c, itw)}
            for i, c in zip(images, data["train_captions"][rows])]})

    def evolve(self, iteration: int) -> None:
        """Append the model's greedy captions for the sample images at this iteration."""
        sampled = self.model().sample(self.sample_features, max_length=self.max_length)
        captions = [plain(c, self.solver.data["idx_to_word"]) for c in sampled]
        self.evolution.write(json.dumps({"i": iteration, "captions": captions}) + "\n")
        self.evolution.flush()
        self.evolved_at = iteration

    def save(self, name: str, status: str) -> bool:
        """Write a checkpoint (atomically); False when the weights are not finite."""
        model = self.model()
        if not all(np.isfinite(w).all() for w in model.params.values()):
            return False
        save_checkpoint(self.folder / name, model, metadata={
            "run_id": self.meta["run_id"], "label": self.meta["label"], "iteration": self.iteration,
            "status": status, "dataset": self.dataset, "config": self.meta["config"]})
        self.last_snapshot, self.snapshot_iteration = time.monotonic(), self.iteration
        if name == SNAPSHOT:
            self.update_status(checkpoint_iteration=self.iteration)
        return True

    def finish(self, status: str, why: str | None, diverged_at: int | None = None) -> None:
        """Record the captions and the model the run ended with, then its final status.

        A diverged run's last weights are garbage even where they are finite, so it keeps
        its last snapshot instead, if the loss of the iteration after it was still sound,
        and its evolution ends with the last good captions.
        """
        if status == "diverged":
            snapshot = self.folder / SNAPSHOT
            if snapshot.exists() and self.snapshot_iteration + 1 < diverged_at:
                why = message("{reason} Its snapshot from iteration {iteration:,} is kept.", reason=why,
                              iteration=self.snapshot_iteration)
            else:
                snapshot.unlink(missing_ok=True)
                why = message("{reason} No sound model was saved before it diverged.", reason=why)
        elif self.solver is not None and self.iteration > 0:
            try:
                if self.iteration != self.evolved_at:
                    self.evolve(self.iteration)
            except Exception:
                traceback.print_exc()
            try:
                if self.save(FINAL, status):
                    (self.folder / SNAPSHOT).unlink(missing_ok=True)
            except Exception:
                traceback.print_exc()
                why = (message("{reason} Its model could not be saved (see worker.log).", reason=why)
                       if why else message("Its model could not be saved (see worker.log)."))
        kept = self.snapshot_iteration if self.folder.checkpoint() else None
        self.update_status(status=status, message=why, finished=time.time(),
                           iteration=self.iteration, final_loss=self.last_loss, elapsed=self.elapsed,
                           diverged_at=diverged_at,
                           checkpoint_iteration=kept)

    def update_status(self, **changes) -> None:
        self.folder.write_status(**{**(self.folder.status() or {}), **changes})


def readable(training: "Training") -> list:
    """What a run of a student's code may read besides its own folder: the dataset it trains
    on, and Caption Lab's code and translations."""
    root = Path(__file__).resolve().parents[2]
    return [Path(training.dataset["base_dir"]), root / "core", root / "explorer", root / "locale"]


def wall_in(training: "Training") -> dict:
    """Put a run of a student's code behind the checker's walls; what was applied.

    As the checker's tasks do (`core.student.sandbox`): give up root where the Python, the
    dataset and the runs folder are open to an unprivileged user (else a pids cgroup bounds
    root's processes), enter new user, network, pid and mount namespaces, mount a tmpfs of
    TMP_MB on the run's `tmp` folder (its HOME and TMPDIR), and fork. The child, pid 1 of its
    own pid namespace, is confined (`confine`: reads only the dataset, Caption Lab's code and
    the run folder, writes only in the run folder, no socket, soft = hard limits) and returns
    here to train; whatever it starts dies with it. This first process never returns: it
    waits for the child, ends it if the run folder outgrows FOLDER_MB ($CAPTION_LAB_CODE_RUN_MB), and exits as it did.
    """
    folder = training.folder.path
    user = walls.drop_root(folder, needs=(training.dataset["base_dir"],))
    cgroup = os.getuid() == 0 and walls.pids_cgroup(CODE_PROCESSES + 16) is not None
    namespaces = walls.enter_namespaces()
    tmp = folder / "tmp"
    tmp.mkdir(exist_ok=True)
    tmpfs = "mount" in namespaces and walls.own_tmp(tmp, TMP_MB)
    training.started_status = training.folder.status() or {}   # read before their code runs
    pid = os.fork()
    if pid:
        code = 70
        try:
            code = _wait_for(training, pid, counts_tmp=not tmpfs)
        except BaseException:
            traceback.print_exc()
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        finally:
            os._exit(code)
    walls.die_with_parent()
    os.dup2(2, 1)                                    # what their code prints goes into the run's log
    for name in ("HOME", "TMPDIR", "MPLCONFIGDIR"):
        os.environ[name] = str(tmp)
    tempfile.tempdir = str(tmp)
    applied = confine([folder], memory_bytes=CODE_MEMORY_MB << 20, cpu_seconds=training.max_seconds + 120,
                      readable=readable(training), namespaces=namespaces, processes=CODE_PROCESSES)
    processes_by = "RLIMIT_NPROC" if os.getuid() != 0 else "pids cgroup" if cgroup else ""
    return {**applied, **user, "tmp_mb": TMP_MB if tmpfs else 0, "processes_by": processes_by}


def _wait_for(training: "Training", pid: int, counts_tmp: bool) -> int:
    """The walled run's first process: wait for its child (the run), ending it if the run
    folder outgrows FOLDER_MB on disk (`safe_files.disk_bytes`: blocks, so preallocated space
    counts; no link followed) or cannot be measured; the exit code to leave with (a child
    killed by a signal is mirrored, so the engine reads its death as it would have read this
    process's). A SIGTERM for this process ends the child first."""
    def end_both(number, frame):
        os.kill(pid, signal.SIGKILL)             # pid 1 of its namespace: everything it started goes too
        signal.signal(number, signal.SIG_DFL)
        os.kill(os.getpid(), number)
    for number in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(number, end_both)
    try:
        cap = max(1, int(os.environ.get(FOLDER_MB_ENV) or FOLDER_MB))
    except ValueError:
        cap = FOLDER_MB
    crowd = Follower(training.folder.path.parent, os.getpid())     # the walled child cannot see the word
    while True:
        for _ in range(10):
            crowd.check()
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                if os.WIFSIGNALED(status):
                    number = os.WTERMSIG(status)
                    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
                    signal.signal(number, signal.SIG_DFL)
                    os.kill(os.getpid(), number)
                    return 128 + number
                return os.WEXITSTATUS(status)
            time.sleep(0.1)
        try:
            over = safe_files.disk_bytes(training.folder.path, skip=() if counts_tmp else ("tmp",)) > cap << 20
            why = message("Your code filled the run's folder past {mb:,} MB, so the run was ended.", mb=cap)
        except (OSError, RecursionError) as e:
            over = True
            why = message("The run's folder could not be measured ({error}), so the run was ended.",
                          error=str(getattr(e, "strerror", None) or e))
        if over:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            # the run's own status.json is the code's to replace: this record takes nothing from it
            training.folder.write_status(**{**training.started_status, "status": "failed", "finished": time.time(),
                                            "message": why})
            return 1


def _beat(folder: RunFolder, done: threading.Event) -> None:
    """Touch the run's heartbeat file until the run is over."""
    while True:
        try:
            folder.beat()
        except OSError:
            pass
        if done.wait(HEARTBEAT_SECONDS):
            return


def _follow_crowd(runs_dir: Path, done: threading.Event) -> None:
    """Keep off the app server's core while it is crowded (`explorer.runs.crowd`), until the run is over."""
    crowd = Follower(runs_dir)
    while not done.wait(CROWD_EVERY):
        crowd.check()


def _watch_stdin(gone: threading.Event) -> None:
    """Set `gone` when stdin closes: the server that started this process has exited."""
    try:
        while sys.stdin.buffer.read(1024):
            pass
    except (OSError, ValueError):
        pass
    gone.set()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="the run's folder (with its config.json)")
    parser.add_argument("--nice", type=int, default=0, help="lower this process's CPU priority by N")
    parser.add_argument("--watch-stdin", action="store_true",
                        help="stop, as interrupted, when stdin closes (the parent is gone)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)     # a Ctrl-C in the server's terminal is the server's
    try:                                             # out of memory, the kernel kills a run, not the app
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write("1000")
    except OSError:
        pass
    if args.nice:
        try:
            os.nice(args.nice)
        except OSError:
            pass
    keep_freed_memory()                              # this process trains: no page faults between iterations
    parent_gone = threading.Event()
    training = Training(RunFolder(args.folder), parent_gone)
    fast.compile_all()                               # from numba's cache, which the walls would hide
    if training.code:                                # a student's code: wall this process in first
        try:
            training.update_status(sandbox=wall_in(training))
        except (OSError, RuntimeError) as e:
            training.finish("failed", message("The run could not be isolated, so your code was not run: {error}",
                                              error=sentence(e)))
            return 1
    if args.watch_stdin:
        threading.Thread(target=_watch_stdin, args=(parent_gone,), daemon=True).start()
    done = threading.Event()
    threading.Thread(target=_beat, args=(training.folder, done), name="heartbeat", daemon=True).start()
    if not training.code:                            # (a walled run's first process follows it for both)
        threading.Thread(target=_follow_crowd, args=(training.folder.path.parent, done), name="crowd",
                         daemon=True).start()
    try:
        code = training.run()
    finally:
        done.set()
    if args.watch_stdin:         # the stdin watcher, blocked in a read, would abort the interpreter's shutdown
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
