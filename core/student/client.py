"""Asking for a check, from a process that must never run the student's code itself.

    report = check(find_bundle(Path("~/assignment3").expanduser()), progress=print)
    captions = sample(bundle, model, features, max_length=16)

Both write the bundle into a fresh temporary folder, start the checker as a freshly
exec'd interpreter of its own (`python -I`: no PYTHON* variables, no user site-packages,
no current folder on sys.path) with an explicit, minimal environment (no secret of the
server's, BLAS on one thread) and no file descriptor but its stdin (/dev/null), stdout
(a pipe) and stderr (a log file), read its JSON lines (at most MAX_LINE_BYTES each), and
remove the folder. The checker forks the confined children that import the student's files; the
caller (the Streamlit server, the command line) only ever sees data.
"""
from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable

import numpy as np

from ..text import message
from .report import Report, packed, unpacked
from .source import Bundle
from .walls import remove_cgroup

ROOT = Path(__file__).resolve().parents[2]
KEPT_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "SYSTEMROOT")
MAX_LINE_BYTES = 16 << 20             # one line of the checker's output, at most
# what the isolated interpreter runs: Caption Lab's root on sys.path, then the checker
BOOT = ("import sys; sys.dont_write_bytecode = True; sys.path.insert(0, {root!r}); "
        "from {module} import main; sys.exit(main(sys.argv[1:]))")


def isolated_command(python: str, module: str, *args: str) -> list[str]:
    """`python -I` running `module`'s main(args), with Caption Lab's root on sys.path."""
    return [python, "-I", "-c", BOOT.format(root=str(ROOT), module=module), *args]


class CheckFailed(RuntimeError):
    """The checker process itself could not finish; the message says why."""


def checker_env(folder: Path) -> dict:
    """The environment the checker (and so the student's code) runs with: nothing of the
    server's but the locale and PATH; BLAS on one thread; home and temp in its folder."""
    env = {k: os.environ[k] for k in KEPT_ENV if k in os.environ}
    env.update({"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                "HOME": str(folder), "TMPDIR": str(folder), "MPLBACKEND": "Agg"})
    return env


def _read_lines(stream, lines: queue.Queue) -> None:
    """Put each line of `stream` (cut at MAX_LINE_BYTES) on `lines`, then None."""
    try:
        while True:
            line = stream.readline(MAX_LINE_BYTES)
            if not line:
                break
            if not line.endswith(b"\n"):           # longer than a line may be: drop the rest of it
                while (rest := stream.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                    pass
                continue
            lines.put(line)
    finally:
        lines.put(None)


def _run(bundle: Bundle, request: dict, arrays: dict | None, timeout: float,
         on_event: Callable[[dict], None] | None, python: str | None) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="caption-lab-check-"))
    try:
        bundle.write(folder / "src")
        (folder / "request.json").write_text(json.dumps(packed({"package": bundle.package, **request})))
        if arrays is not None:
            np.savez(folder / "arrays.npz", **arrays)
        log = tempfile.TemporaryFile()            # unnamed: nothing in the folder is read back by name
        try:
            process = subprocess.Popen(isolated_command(python or sys.executable, "core.student.supervise",
                                                        str(folder)),
                                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=log,
                                       cwd=folder, env=checker_env(folder), start_new_session=True,
                                       close_fds=True, pass_fds=())
        except BaseException:
            log.close()
            raise
        final, deadline = None, time.monotonic() + timeout
        lines: queue.Queue = queue.Queue()
        reader = threading.Thread(target=_read_lines, args=(process.stdout, lines), name="checker-output",
                                  daemon=True)
        reader.start()
        try:
            while time.monotonic() < deadline:
                try:
                    line = lines.get(timeout=min(1.0, max(0.01, deadline - time.monotonic())))
                except queue.Empty:
                    continue
                if line is None:
                    break
                try:
                    event = unpacked(json.loads(line))
                except ValueError:
                    continue
                if event.get("event") == "progress":
                    if on_event is not None:
                        on_event(event)
                else:
                    final = event
            try:
                process.wait(max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            reader.join(timeout=5)
            process.stdout.close()
            remove_cgroup(process.pid, wait=2.0)    # the pids cgroup a root checker made for itself
            log.seek(max(0, log.seek(0, os.SEEK_END) - 2000))
            stderr = log.read().decode(errors="replace")
            log.close()
        if final is None:
            if time.monotonic() > deadline:
                raise CheckFailed(message("The check took longer than {seconds:g} s and was stopped.",
                                          seconds=timeout))
            if stderr.strip():
                raise CheckFailed(message("The checker stopped without an answer (exit code {code}).\n{stderr}",
                                          code=process.returncode, stderr=stderr))
            raise CheckFailed(message("The checker stopped without an answer (exit code {code}).",
                                      code=process.returncode))
        if final.get("event") == "error" and request.get("kind") != "sample":
            raise CheckFailed(final.get("message", message("the checker failed")))
        return final
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def check(bundle: Bundle, *, seconds: float = 10.0, memory_mb: int = 2048, parallel: int | None = None,
          only: list[str] | None = None, timeout: float = 300.0,
          progress: Callable[[dict], None] | None = None, python: str | None = None) -> Report:
    """Check every function of `bundle` (or those named in `only`); each may run `seconds`
    and use `memory_mb` beyond the checker's own memory. Raises CheckFailed when the checker
    itself cannot finish within `timeout`."""
    request = {"kind": "check", "seconds": seconds, "memory_mb": memory_mb, "parallel": parallel,
               "only": only, "origin": bundle.origin, "provided": list(bundle.provided),
               "notes": list(bundle.notes)}
    final = _run(bundle, request, None, timeout, progress, python)
    return Report.from_dict(final["report"])


def sample(bundle: Bundle, config: dict, word_to_idx: dict, params: dict, features: np.ndarray,
           max_length: int, *, seconds: float = 60.0, memory_mb: int = 2048,
           python: str | None = None) -> np.ndarray | str:
    """The student's own `CaptioningRNN.sample` on weights `params` (their model built with
    `config`: cell_type, input_dim, wordvec_dim, hidden_dim, dtype): the captions, or a
    message saying why there are none."""
    arrays = {f"param_{k}": np.asarray(v) for k, v in params.items()}
    arrays["features"] = np.asarray(features)
    request = {"kind": "sample", "config": config, "word_to_idx": word_to_idx, "max_length": int(max_length),
               "seconds": seconds, "memory_mb": memory_mb}
    try:
        final = _run(bundle, request, arrays, seconds + 30.0, None, python)
    except CheckFailed as e:
        return e.args[0]
    if final.get("event") == "captions":
        return np.asarray(final["captions"], dtype=np.int64)
    return final.get("message") or message("Your sample gave no captions.")
