"""The walls a process puts up with the kernel's help before a student's code runs in it.

`confine` (the file walls and the limits) calls these; `sandbox` calls `enter_namespaces`
in each task's first child and `own_tmp` there, then forks the process that runs the
code, which is the first process (pid 1) of its own pid namespace; `supervise` calls
`drop_root` first thing when the checker was started as root.

- `enter_namespaces()`: a new user namespace (so no capability of the init namespace, not
  even for a process that was root), with new network, pid and mount namespaces in it;
- `own_tmp(folder, mb)`: a tmpfs of `mb` MB mounted on the task's folder inside that mount
  namespace, so that filling the temporary folder fills neither the disk nor the memory;
- `no_syscalls()`: a seccomp filter refusing (EPERM) the calls a check never needs and that
  reach past the other walls: `socket` (a Unix socket file such as Redis's, which neither
  Landlock ABI 1 nor a network namespace stops), `memfd_create` (memory RLIMIT_AS does not
  see), io_uring, ptrace, process_vm_readv/writev, keyrings, bpf, perf_event_open,
  userfaultfd, mount and unshare, and prctl(PR_SET_PDEATHSIG), so that the death signal
  set before (`die_with_parent`) stays;
- `drop_root(folder)`: give the folder to an unprivileged uid and gid and become them, with
  no supplementary groups and no capabilities, once the Python installation is reachable by
  such a user (a closed folder on its way, a private /root, covered by a tmpfs with the
  needed folders bind-mounted back); where that fails it says why and stays root, which
  inside the task's user namespace still holds no capability outside it.

Every function returns what it did (or None), so the report's sandbox line can say it.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os
import platform
import stat
import sys
import time
from pathlib import Path

from ..text import message


_CLONE_NEWNS, _CLONE_NEWUSER, _CLONE_NEWPID, _CLONE_NEWNET = 0x00020000, 0x10000000, 0x20000000, 0x40000000
_MS_NOSUID, _MS_NODEV, _MS_BIND, _MS_REC, _MS_PRIVATE = 2, 4, 0x1000, 0x4000, 1 << 18
_PR_SET_NO_NEW_PRIVS, _PR_SET_PDEATHSIG, _PR_SET_SECCOMP, _SECCOMP_MODE_FILTER = 38, 1, 22, 2
_PR_SET_DUMPABLE = 4
UID_BASE = 61000                    # the unprivileged uids (and gids) a checker runs as: UID_BASE + 0..999


@functools.lru_cache(maxsize=1)
def libc():
    """The C library (looked up once: `find_library` runs a program, which a fresh pid namespace
    must not get as its first process)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None
    libc.syscall.restype = ctypes.c_long
    return libc


# --- namespaces -------------------------------------------------------------------------------

def enter_namespaces() -> list[str]:
    """Move this (single-threaded) process into new user, network, pid and mount namespaces,
    keeping its ids; the names of those it got. The pid namespace holds the next child."""
    c = libc()
    if c is None:
        return []
    uid, gid = os.getuid(), os.getgid()
    for flags, names in ((_CLONE_NEWUSER | _CLONE_NEWNET | _CLONE_NEWPID | _CLONE_NEWNS, ["user", "network", "pid",
                                                                                       "mount"]),
                         (_CLONE_NEWUSER | _CLONE_NEWNET, ["user", "network"])):
        if c.unshare(flags) == 0:
            break
    else:
        return ["network"] if c.unshare(_CLONE_NEWNET) == 0 else []
    keep_own_ids(uid, gid)
    if "mount" in names:             # nothing mounted here reaches the server's view
        c.mount(b"none", b"/", None, _MS_REC | _MS_PRIVATE, None)
    return names


def own_tmp(folder: Path, megabytes: int) -> bool:
    """Mount a tmpfs of `megabytes` on `folder` (in this process's own mount namespace)."""
    c = libc()
    if c is None:
        return False
    options = f"size={int(megabytes)}m,nr_inodes=2000,mode=0700".encode()
    return c.mount(b"tmpfs", str(folder).encode(), b"tmpfs", _MS_NOSUID | _MS_NODEV, options) == 0


def die_with_parent() -> None:
    """SIGKILL this process when its parent dies (pid 1 of a namespace takes it all along)."""
    c = libc()
    if c is not None:
        c.prctl(_PR_SET_PDEATHSIG, 9, 0, 0, 0)


# --- a pids cgroup, for root -------------------------------------------------------------------
# RLIMIT_NPROC does not bind the kernel's root user (uid 0 outside every user namespace), so a
# checker that had to stay root puts itself, and so every task it forks, into a pids cgroup; the
# client removes it once the checker has exited.
PIDS_CGROUPS = (Path("/sys/fs/cgroup/pids"), Path("/sys/fs/cgroup"))


def pids_cgroup(limit: int) -> Path | None:
    """Put this process into a new pids cgroup of at most `limit` processes and threads; its
    folder (to remove once the task is over: `remove_cgroup`), or None where there is none to
    make (not root, no pids controller)."""
    if os.getuid() != 0:
        return None
    for base in PIDS_CGROUPS:
        folder = base / "caption-lab" / str(os.getpid())
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if not (folder / "pids.max").exists():
                folder.rmdir()
                continue
            (folder / "pids.max").write_text(str(int(limit)))
            (folder / "cgroup.procs").write_text(str(os.getpid()))
            return folder
        except OSError:
            continue
    return None


def remove_cgroup(pid: int, wait: float = 0.0) -> bool:
    """Remove the pids cgroup of task process `pid` once its processes are gone (waiting up
    to `wait` seconds for them); False while some are still there."""
    deadline = time.monotonic() + wait
    for base in PIDS_CGROUPS:
        folder = base / "caption-lab" / str(pid)
        while True:
            try:
                folder.rmdir()
                return True
            except (FileNotFoundError, NotADirectoryError, PermissionError):
                break                           # none there, or none this process could have made
            except OSError:                     # EBUSY: its processes are still being torn down
                if time.monotonic() >= deadline:
                    return False
                time.sleep(0.01)
    return True


# --- seccomp ----------------------------------------------------------------------------------

_AUDIT_ARCH_X86_64 = 0xC000003E
_PRCTL = 157
_X86_64_DENIED = {41: "socket", 319: "memfd_create", 425: "io_uring_setup", 101: "ptrace",
                  310: "process_vm_readv", 311: "process_vm_writev", 248: "add_key", 249: "request_key",
                  250: "keyctl", 321: "bpf", 298: "perf_event_open", 323: "userfaultfd", 165: "mount",
                  272: "unshare", 308: "setns", 429: "open_tree", 428: "move_mount"}


class _SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_SockFilter))]


def no_syscalls() -> list[str] | None:
    """Refuse, with EPERM, the system calls of `_X86_64_DENIED` from now on (this process and
    what it starts); their names, or None where seccomp is not available (not x86_64)."""
    c = libc()
    if c is None or platform.machine() != "x86_64":
        return None
    ld_w_abs, jeq, ret, jge = 0x20, 0x15, 0x06, 0x35
    allow, deny = 0x7FFF0000, 0x00050000 | 1                    # SECCOMP_RET_ALLOW, RET_ERRNO | EPERM
    numbers = sorted(_X86_64_DENIED)
    n = len(numbers)
    program = [(ld_w_abs, 0, 0, 4),                             # the architecture
               (jeq, 1, 0, _AUDIT_ARCH_X86_64), (ret, 0, 0, 0x80000000),   # another one: kill the process
               (ld_w_abs, 0, 0, 0),                             # the call's number
               (jge, n + 4, 0, 0x40000000)]                     # x32 calls: refused
    for i, number in enumerate(numbers):
        program.append((jeq, n + 3 - i, 0, number))
    # prctl(PR_SET_PDEATHSIG, ...): the death signal set before the filter (`die_with_parent`)
    # must stay, or the code's first process would outlive the one that is killed to end it
    program += [(jeq, 0, 2, _PRCTL), (ld_w_abs, 0, 0, 16), (jeq, 1, 0, _PR_SET_PDEATHSIG),
                (ret, 0, 0, allow), (ret, 0, 0, deny)]
    filters = (_SockFilter * len(program))(*[_SockFilter(*p) for p in program])
    prog = _SockFprog(len(program), filters)
    if c.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return None
    if c.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(prog), 0, 0) != 0:
        return None
    return [_X86_64_DENIED[number] for number in numbers] + ["prctl(PR_SET_PDEATHSIG)"]


# --- giving up root ---------------------------------------------------------------------------

def keep_own_ids(uid: int, gid: int) -> None:
    """Just after unshare(CLONE_NEWUSER): map our own uid and gid into the new user namespace
    (no other id exists there), where the kernel lets us; silently nothing where it does not."""
    try:
        Path("/proc/self/setgroups").write_text("deny")
        Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
        Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")
    except OSError:
        pass


def _reachable_by_others(path: Path) -> Path | None:
    """The first folder on `path`'s way from / that a user who owns nothing cannot pass
    through (None when every one can be)."""
    path = Path(path).resolve()
    for folder in [*reversed(path.parents), path]:
        try:
            mode = folder.stat().st_mode
        except OSError:
            return folder
        if stat.S_ISDIR(mode) and not mode & stat.S_IXOTH:
            return folder
    return None


def _way_in(needed: list[Path], owned: Path) -> str | None:
    """Make each folder of `needed` (and `owned`, which is about to be handed over) reachable
    by a user who owns nothing: a closed folder on the way (a private /root holding the
    Python) is covered, in a mount namespace of this process's own, by an empty tmpfs that
    others may pass through, with each needed folder beneath it bind-mounted back at its own
    path, as bubblewrap builds a view (the rest of that folder is then out of sight too).
    None when every one is reachable, else why not."""
    covers: dict[Path, list[Path]] = {}
    for path in [*needed, owned]:
        path = Path(path).resolve()
        blocked = _reachable_by_others(path)
        if blocked is None or (blocked == path and path == Path(owned).resolve()):
            continue
        if blocked == path or blocked == Path("/"):
            return message("{folder} is not open to other users, and {needed} is beneath it",
                           folder=str(blocked), needed=str(path))
        covers.setdefault(blocked, []).append(path)
    if not covers:
        return None
    c = libc()
    if c is None or c.unshare(_CLONE_NEWNS) != 0:
        closed = next(iter(covers))
        return message("{folder} is not open to other users, and {needed} is beneath it",
                       folder=str(closed), needed=str(covers[closed][0]))
    c.mount(b"none", b"/", None, _MS_REC | _MS_PRIVATE, None)
    for closed, paths in covers.items():
        fds = {path: os.open(path, os.O_PATH | os.O_CLOEXEC) for path in paths}
        try:
            if c.mount(b"tmpfs", str(closed).encode(), b"tmpfs", _MS_NOSUID | _MS_NODEV, b"size=1m,mode=0755") != 0:
                return message("{folder} is not open to other users, and {needed} is beneath it",
                               folder=str(closed), needed=str(paths[0]))
            for path in sorted(paths, key=lambda p: len(p.parts)):
                for part in [*reversed(path.relative_to(closed).parents), path.relative_to(closed)]:
                    if str(part) != ".":
                        (closed / part).mkdir(exist_ok=True)
                        os.chmod(closed / part, 0o755)
                if c.mount(f"/proc/self/fd/{fds[path]}".encode(), str(path).encode(), None,
                           _MS_BIND | _MS_REC, None) != 0:
                    return message("{folder} is not open to other users, and {needed} is beneath it",
                                   folder=str(closed), needed=str(path))
        finally:
            for fd in fds.values():
                os.close(fd)
    for path in needed:
        blocked = _reachable_by_others(path)
        if blocked is not None:
            return message("{folder} is not open to other users, and {needed} is beneath it",
                           folder=str(blocked), needed=str(path))
    return None


def drop_root(folder: Path, needs: tuple = ()) -> dict:
    """When this process is root: hand `folder` (recursively) to an unprivileged uid and gid
    and become them for good, with no supplementary groups, no capabilities and
    no_new_privs. The Python installation, Caption Lab and the folders of `needs` (a
    dataset) must be readable by such a user: a closed folder on their way is covered for
    this process alone (`_way_in`). {"user": "uid N"} when done, {"user": "root", "why": ...}
    when one of them cannot be made reachable, {} when not root."""
    if not hasattr(os, "getuid") or os.getuid() != 0:
        return {}
    why = _way_in([Path(sys.base_prefix), Path(sys.prefix), Path(__file__).resolve().parents[2], *map(Path, needs)],
                  Path(folder))
    if why is not None:
        return {"user": "root", "why": why}
    uid = gid = UID_BASE + os.getpid() % 1000
    for root, dirs, files in os.walk(folder):
        for name in [root, *(os.path.join(root, n) for n in dirs + files)]:
            os.lchown(name, uid, gid)
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)                  # from root to a uid: every capability is gone
    c = libc()
    if c is not None:
        c.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        # the change of uid made the process undumpable, which leaves /proc/self's files to root:
        # dumpable again, it may map its own uid into the user namespace it makes next (no core
        # dump is written all the same: RLIMIT_CORE is 0)
        c.prctl(_PR_SET_DUMPABLE, 1, 0, 0, 0)
    return {"user": f"uid {uid}"}


def capabilities() -> int:
    """This process's effective capabilities, as a bit mask (0: none)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("CapEff:"):
                return int(line.split()[1], 16)
    except (OSError, ValueError, IndexError):
        pass
    return 0


