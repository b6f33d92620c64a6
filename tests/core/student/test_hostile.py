"""The hostile corpus: each attack of tests/student_code/hostile/ against the real checker.

Each attack is the module-level code of `hostile/<name>/attack.py`, appended to a correct
`rnn_layers.py` (so it runs when the file is imported, as the issue's attacker did), with
its placeholders filled in: a secret file of the "server's" (SECRET_FILE), a home folder
with a secret in its listing (HOME_DIR), a real Redis listening on a Unix socket file
(REDIS_SOCKET) and a name every process the attack starts gives itself (MARKER). The test
process holds the admin token in its environment, as the server does. For every attack,
as root (which gives root up) and as an unprivileged user: the checker answers within 30 s
with a verdict of its own, no secret is anywhere in the report, the server's files are
untouched, Redis holds nothing new, and no process of the attack is left. Where this Python
is closed to other users (one under a private /root), CAPTION_LAB_UNPRIVILEGED_PYTHON names
one with numpy that is not, for the unprivileged user's runs. Six of the attacks also run
inside a training run of the student's code, which gets the same walls.
"""
from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from core.student import check, find_bundle
from core.student.report import STATUSES, Report
from core.student.walls import _reachable_by_others
from tests.support.student_corpus import LAYERS, make_assignment

HOSTILE = Path(__file__).resolve().parents[2] / "student_code" / "hostile"
ATTACKS = sorted(p.name for p in HOSTILE.iterdir() if (p / "attack.py").is_file())
ROOT = Path(__file__).resolve().parents[3]
TEST_USER = "caption-lab-hostile"
# what the check of rnn_step_forward may come to, per attack (a bomb may use its time up forking
# on a loaded machine: then it is a timeout, its own verdict too)
EXPECTED = {"sleep_forever": ("timeout",), "orphan_keeps_no_death_signal": ("timeout",), "forged_report": ("wrong",), "fork_bomb": ("passed", "timeout"),
            "thread_bomb": ("passed", "timeout")}
SECONDS = 4                 # each check's time limit per function


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _cannot(reason: str):
    if _in_ci():
        pytest.fail(f"mandatory in CI: {reason}")
    pytest.skip(reason)


def _open_folder() -> Path:
    """A fresh folder anyone may enter (pytest's own are closed to other users): so that only
    the sandbox, not the folders' modes, keeps an unprivileged user's check away."""
    folder = Path(tempfile.mkdtemp(prefix="caption-lab-hostile-"))
    os.chmod(folder, 0o755)
    return folder


@pytest.fixture(scope="module")
def redis_socket():
    """A real redis-server listening only on a Unix socket file anyone may connect to."""
    server = shutil.which("redis-server")
    if server is None:
        _cannot("redis-server is not installed")
    folder = _open_folder()
    sock = folder / "redis.sock"
    proc = subprocess.Popen([server, "--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "777",
                             "--save", "", "--appendonly", "no", "--dir", str(folder)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        if sock.exists():
            break
        time.sleep(0.05)
    yield sock
    proc.kill()
    proc.wait()
    shutil.rmtree(folder, ignore_errors=True)


def _redis(sock: Path, *command: str) -> str:
    return subprocess.run(["redis-cli", "-s", str(sock), *command], capture_output=True, text=True,
                          timeout=10).stdout.strip()


UNPRIVILEGED_PYTHON = "CAPTION_LAB_UNPRIVILEGED_PYTHON"    # a Python (with numpy) open to other users


def _python_for_others() -> tuple[str | None, str]:
    """An interpreter an unprivileged user can run Caption Lab with: this one, or the one
    UNPRIVILEGED_PYTHON names; else None and why not."""
    why = ""
    for python in (sys.executable, os.environ.get(UNPRIVILEGED_PYTHON)):
        if not python:
            continue
        prefix = subprocess.run([python, "-c", "import sys; print(sys.base_prefix); print(sys.prefix)"],
                                capture_output=True, text=True).stdout.split()
        for needed in [Path(python), *map(Path, prefix), ROOT]:
            blocked = _reachable_by_others(needed)
            if blocked is not None:
                why = why or (f"an unprivileged user cannot run this Python: {blocked} is closed to other users "
                              f"and {needed} is beneath it (set {UNPRIVILEGED_PYTHON} to a Python with numpy "
                              f"that is open to them)")
                break
        else:
            return python, ""
    return None, why


@pytest.fixture(scope="module")
def unprivileged():
    """(uid, gid, python) of a user who owns nothing: None when this process is not root (it is
    that user); else a user made with useradd for these tests (and removed after), with a
    Python open to such a user."""
    if os.getuid() != 0:
        yield None
        return
    python, why = _python_for_others()
    if python is None:
        _cannot(why)
    if shutil.which("useradd") is None:
        _cannot("useradd is not installed")
    made = subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", TEST_USER],
                          capture_output=True, text=True)
    if made.returncode not in (0, 9):             # 9: the user is there already
        _cannot(f"useradd failed: {made.stderr.strip()}")
    user = pwd.getpwnam(TEST_USER)
    yield user.pw_uid, user.pw_gid, python
    subprocess.run(["userdel", TEST_USER], capture_output=True)


@pytest.fixture
def open_tmp():
    folder = _open_folder()
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def planted(open_tmp, monkeypatch):
    """The server's secrets: a file, an environment variable and a name in its home folder."""
    token = secrets.token_hex(16)
    monkeypatch.setenv("CAPTION_LAB_ADMIN_TOKEN", f"admin-{token}")
    server = open_tmp / "server"
    home = server / "home"
    home.mkdir(parents=True)
    (home / f"notes-{token}.txt").write_text("a teacher's notes")
    secret = server / "id_secret"
    secret.write_text(f"secret-{token}")
    os.chmod(secret, 0o644)                       # readable by anyone: only the sandbox may stop it
    for folder in (server, home):
        os.chmod(folder, 0o755)
    return {"token": token, "secret": secret, "home": home, "marker": f"cl-{token[:8]}",
            "stat": secret.stat()}


def _assignment(tmp_path: Path, name: str, planted: dict, sock: Path) -> Path:
    attack = (HOSTILE / name / "attack.py").read_text()
    for placeholder, value in (("SECRET_FILE", str(planted["secret"])), ("HOME_DIR", str(planted["home"])),
                               ("REDIS_SOCKET", str(sock)), ("MARKER", planted["marker"])):
        attack = attack.replace(placeholder, value)
    folder = make_assignment(tmp_path / "student", name)
    layers = folder / LAYERS
    layers.write_text(layers.read_text() + "\n\n" + attack)
    for path in [tmp_path / "student", *(tmp_path / "student").rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    return folder


CHECK_SCRIPT = """
import json, sys
from core.student import check, find_bundle
report = check(find_bundle(sys.argv[1]), only=["rnn_step_forward"], seconds=float(sys.argv[2]))
print(json.dumps(report.to_dict()))
"""


def _check(folder: Path, user) -> Report:
    if user is None:
        return check(find_bundle(folder), only=["rnn_step_forward"], seconds=SECONDS)
    uid, gid, python = user
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/nonexistent",
           "CAPTION_LAB_ADMIN_TOKEN": os.environ["CAPTION_LAB_ADMIN_TOKEN"]}
    done = subprocess.run([python, "-c", CHECK_SCRIPT, str(folder), str(SECONDS)], user=uid, group=gid, extra_groups=[],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    return Report.from_dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _leftovers(marker: str) -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        try:
            if pid.isdigit() and Path(f"/proc/{pid}/comm").read_text().strip() == marker:
                found.append(int(pid))
        except OSError:
            pass
    return found


@pytest.mark.parametrize("user", ["root", "unprivileged"])
@pytest.mark.parametrize("name", ATTACKS)
def test_an_attack_gets_a_verdict_and_nothing_else(request, open_tmp, planted, redis_socket, name, user):
    if user == "root" and os.getuid() != 0:
        _cannot("these tests run as root in CI; this process is not root")
    runner = None if user == "root" else request.getfixturevalue("unprivileged")
    folder = _assignment(open_tmp, name, planted, redis_socket)
    started = time.monotonic()
    report = _check(folder, runner)
    seconds = time.monotonic() - started
    result = report.results["rnn_step_forward"]
    assert seconds < 30 and result.status in STATUSES
    assert result.status in EXPECTED.get(name, ("passed",)), (result.status, result.hint, result.output[:500])
    text = json.dumps(report.to_dict())
    for secret in (planted["token"], f"notes-{planted['token']}"):
        assert secret not in text, f"{name}: a secret reached the report"
    assert planted["secret"].read_text() == f"secret-{planted['token']}"
    assert planted["secret"].stat().st_mtime_ns == planted["stat"].st_mtime_ns
    assert _redis(redis_socket, "EXISTS", "pwned-by-a-student") == "0"
    assert _redis(redis_socket, "PING") == "PONG"                     # and Redis is still up
    deadline = time.monotonic() + 2
    while _leftovers(planted["marker"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _leftovers(planted["marker"]) == [], f"{name}: processes outlived the check"
    assert report.package == "cs231n" and report.sandbox.get("reads")
    # a uid that owns nothing, bounded by RLIMIT_NPROC: root gives root up (its Python under a
    # private /root or not), and is that uid in its namespaces too
    assert not report.sandbox["root"] and report.sandbox.get("processes_by") == "RLIMIT_NPROC", report.sandbox
    if user == "root":
        assert report.sandbox["user"] == f"uid {report.sandbox['uid']}", report.sandbox
    if name == "memfd_1gb":
        assert "memfd_create" in report.sandbox["syscalls"]
    if name == "fill_tmp":
        assert report.sandbox.get("tmp_mb") and not list(open_tmp.rglob("filler-*"))


# --- uploads: zips that must be refused whole, with a sentence, and write nothing ------------

def _zip(members) -> bytes:
    import io
    import zipfile
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for info, data in members:
            archive.writestr(info, data)
    return buffer.getvalue()


def _package(prefix: str = "cs231n/") -> list:
    code = (Path(__file__).resolve().parents[2] / "student_code" / "correct" / "cs231n")
    return [(f"{prefix}rnn_layers.py", (code / "rnn_layers.py").read_text()),
            (f"{prefix}classifiers/rnn.py", (code / "classifiers" / "rnn.py").read_text())]


def _symlink(name: str, target: str):
    import zipfile
    info = zipfile.ZipInfo(name)
    info.external_attr = (0o120777 << 16)
    return info, target


def _zip_cases(outside: Path) -> dict:
    return {
        "dotdot": (_zip(_package() + [(f"cs231n/../../{outside.name}", "written by a zip")]), "outside the zip"),
        "absolute": (_zip(_package() + [(str(outside), "written by a zip")]), "outside the zip"),
        "symlink": (_zip(_package() + [_symlink("cs231n/layers.py", "/etc/shadow")]), "symbolic link"),
        "bomb": (_zip(_package() + [("cs231n/big.py", "0" * (60 << 20))]), "zip bomb"),
        "thousands": (_zip(_package() + [(f"cs231n/f{i}.py", "") for i in range(3000)]), "3,002 files"),
    }


@pytest.mark.parametrize("case", ["dotdot", "absolute", "symlink", "bomb", "thousands"])
def test_a_hostile_zip_is_refused_with_a_sentence_and_writes_nothing(tmp_path, case):
    from core.student import NotAnAssignment, bundle_from_uploads
    outside = tmp_path / "outside.txt"
    data, words = _zip_cases(outside)[case]
    started = time.monotonic()
    with pytest.raises(NotAnAssignment) as refused:
        bundle_from_uploads([("upload.zip", data)])
    assert words in str(refused.value) and "upload.zip" in str(refused.value), str(refused.value)
    assert time.monotonic() - started < 5 and not outside.exists()
    assert list(tmp_path.iterdir()) == []


def test_a_plain_zip_of_the_package_is_still_read():
    from core.student import bundle_from_uploads
    bundle = bundle_from_uploads([("mine.zip", _zip(_package()))])
    assert bundle.package == "cs231n" and "rnn_layers.py" in bundle.files


# --- the training worker: a run of a student's code gets the same walls -----------------------

TRAINING_ATTACKS = ("read_secret_file", "proc_environ_cmdline", "list_home", "unix_socket", "orphan", "fill_tmp")


def _training_run(tmp_path: Path, code: str, monkeypatch=None, folder_mb: int | None = None):
    """Train the notebook's small overfit run of a correct assignment with `code` appended to
    its rnn_layers.py (so it runs when the worker imports their files); (info, run folder)."""
    from core.data.demo import ensure_demo_dataset
    from explorer.runs.local import LocalRunner
    from explorer.runs.settings import RunConfig

    if folder_mb is not None:
        monkeypatch.setenv("CAPTION_LAB_CODE_RUN_MB", str(folder_mb))
    folder = make_assignment(tmp_path / "student", "training")
    layers = folder / LAYERS
    layers.write_text(layers.read_text() + "\n\n" + code)
    runner = LocalRunner(tmp_path / "runs")
    try:
        dataset = {"base_dir": str(ensure_demo_dataset()), "pca_features": True, "is_demo": True}
        config = RunConfig(hidden_dim=32, wordvec_dim=16, num_epochs=10, snapshot_every=5)
        run_id = runner.start(config, dataset, "student", code=find_bundle(folder))
        return runner.wait(run_id, timeout=120), tmp_path / "runs" / run_id
    finally:
        runner.shutdown()


def test_a_training_run_of_hostile_code_trains_walled_in(tmp_path, open_tmp, planted, redis_socket, monkeypatch):
    """Six attacks at once, in the code a training worker imports: the run still trains, and
    it got the checker's walls (own pid and mount namespaces, a tmpfs, confined reads): no
    secret in anything the run wrote, the server's files and Redis untouched, nothing left."""
    code = "\n\n".join((HOSTILE / name / "attack.py").read_text() for name in TRAINING_ATTACKS)
    for placeholder, value in (("SECRET_FILE", str(planted["secret"])), ("HOME_DIR", str(planted["home"])),
                               ("REDIS_SOCKET", str(redis_socket)), ("MARKER", planted["marker"])):
        code = code.replace(placeholder, value)
    info, run = _training_run(tmp_path, code)
    assert info.status == "done", info.message
    log = (run / "worker.log").read_text()
    assert "could not read: PermissionError" in log and "no redis: PermissionError" in log   # the attacks ran
    written = "".join(p.read_text(errors="replace") for p in run.rglob("*") if p.is_file() and p.suffix != ".h5")
    for secret in (planted["token"], f"notes-{planted['token']}"):
        assert secret not in written, "a secret reached the run's files"
    assert planted["secret"].read_text() == f"secret-{planted['token']}"
    assert _redis(redis_socket, "EXISTS", "pwned-by-a-student") == "0"
    assert not list(Path(tempfile.gettempdir()).glob("filler-*")) and not list((run / "tmp").iterdir())
    assert "/tmp full after 0 MB" in log and "full after 64 MB" in log       # the tmpfs, not the disk, filled up
    deadline = time.monotonic() + 2
    while _leftovers(planted["marker"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _leftovers(planted["marker"]) == [], "the orphan outlived the run"
    sandbox = json.loads((run / "status.json").read_text())["sandbox"]
    assert {"user", "network", "pid", "mount"} <= set(sandbox["namespaces"]) and sandbox["reads"]
    assert sandbox["tmp_mb"] == 64 and "socket" in sandbox["syscalls"] and sandbox["processes_by"]
    if os.getuid() == 0:                 # root gave root up, its Python under a private /root or not
        assert sandbox["user"] == f"uid {sandbox['uid']}" and not sandbox["root"], sandbox


def test_a_training_run_that_fills_its_folder_is_ended(tmp_path, monkeypatch):
    """Space taken without growing a file (fallocate's KEEP_SIZE) counts: the cap measures blocks."""
    code = ("import ctypes as _ctypes, os as _os\n"
            "_here = _os.path.dirname(_os.path.abspath(__file__))\n"
            "_run = _here[:_here.index('/code/')]\n"
            "_libc = _ctypes.CDLL(None, use_errno=True)\n"
            "for _i in range(8):\n"
            "    _fd = _os.open(f'{_run}/filler-{_i}', _os.O_WRONLY | _os.O_CREAT)\n"
            "    print('fallocate', _libc.fallocate(_fd, 1, _ctypes.c_long(0), _ctypes.c_long(8 << 20)))\n"
            "import time as _time\n_time.sleep(30)\n")
    info, run = _training_run(tmp_path, code, monkeypatch, folder_mb=32)
    assert info.status == "failed" and "filled the run's folder past 32 MB" in info.message, info.message
    assert all(p.stat().st_size == 0 for p in run.glob("filler-*"))         # sizes 0, blocks taken
