"""The walls around a student's code: what one process gives up before it runs that code.

`confine(writable, readable=...)` is called by a process (a checker task's process, or a
training worker) while it still has one thread, right before it imports the student's
files. It cannot be undone. On Linux it takes, where the kernel allows:

- the network: a new, empty network namespace (in a user namespace of its own), so there is
  no interface but a loopback that is down; and Landlock's TCP rules (ABI 4+), so no TCP
  connect or bind even where no namespace could be made;
- files: Landlock (ABI 1+) allows creating, writing, renaming and removing files only
  beneath the `writable` folders (and writing to /dev/null), and, given `readable`, reading
  and executing only beneath those and the `writable` ones (plus the Python installation,
  the system's libraries and a few device files): no home folder, no other upload, no
  /proc, no run folder, no socket file;
- signals and abstract Unix sockets (Landlock ABI 6+): no signal to, and no connection
  with, any process outside the sandbox, so the code cannot kill the server;
- system calls (`walls.no_syscalls`, x86_64): no socket at all, no memfd, no io_uring,
  no ptrace and the like;
- resources, each with soft = hard: address space (memory), CPU time, file size, open
  files, processes and threads (RLIMIT_NPROC), no core dumps.

Where Landlock is missing (another OS, an old kernel) a Python audit hook refuses the same
writes and network calls instead; unlike Landlock, code that calls the C library
directly (ctypes) gets past it, and reading is not confined. What was applied is returned,
so a report can say it.
"""
from __future__ import annotations

import ctypes
import os
import platform
import resource
import sys
import threading
from pathlib import Path

from . import walls
from .walls import libc as _libc

# --- Landlock ---------------------------------------------------------------------------

_SYSCALLS = {"x86_64": (444, 445, 446), "aarch64": (444, 445, 446), "arm64": (444, 445, 446)}
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

FS_EXECUTE, FS_WRITE_FILE, FS_READ_FILE, FS_READ_DIR, FS_TRUNCATE = 1 << 0, 1 << 1, 1 << 2, 1 << 3, 1 << 14
_FS_READS = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR
_FS_WRITES_ABI1 = (1 << 1 | 1 << 4 | 1 << 5 | 1 << 6 | 1 << 7 | 1 << 8 | 1 << 9 | 1 << 10 | 1 << 11
                   | 1 << 12)           # write, remove dir/file, make char/dir/reg/sock/fifo/block/sym
_FS_REFER, _FS_TRUNCATE = 1 << 13, 1 << 14                      # ABI 2, ABI 3
_NET_BIND_TCP, _NET_CONNECT_TCP = 1 << 0, 1 << 1                # ABI 4
_SCOPE_ABSTRACT_UNIX_SOCKET, _SCOPE_SIGNAL = 1 << 0, 1 << 1     # ABI 6


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, 0 where there is none."""
    libc = _libc()
    numbers = _SYSCALLS.get(platform.machine())
    if libc is None or numbers is None:
        return 0
    abi = libc.syscall(ctypes.c_long(numbers[0]), None, ctypes.c_size_t(0),
                       ctypes.c_uint32(_CREATE_RULESET_VERSION))
    return max(int(abi), 0)


def system_readable() -> list[Path]:
    """What any Python process needs to read: its installation (and site-packages), the
    system's libraries and a few device files. Folders that do not exist are left out."""
    roots = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix), Path(sys.executable).parent}
    roots |= {Path(p) for p in sys.path if p and "-packages" in p}
    roots |= {Path(p) for p in ("/usr/lib", "/usr/lib64", "/lib", "/lib64", "/usr/share/zoneinfo",
                                "/etc/ld.so.cache", "/etc/localtime", "/dev/null", "/dev/zero", "/dev/urandom",
                                "/dev/random")}
    return sorted(p for p in roots if p.exists())


def _landlock(writable: list[Path], readable: list[Path] | None = None) -> dict | None:
    """Restrict this thread (and what it starts) with Landlock; None where unavailable.
    With `readable`, reading is confined too: to those, `writable` and `system_readable()`."""
    libc = _libc()
    abi = landlock_abi()
    if libc is None or abi < 1:
        return None
    create, add_rule, restrict = _SYSCALLS[platform.machine()]
    fs = _FS_WRITES_ABI1 | (_FS_REFER if abi >= 2 else 0) | (_FS_TRUNCATE if abi >= 3 else 0)
    if readable is not None:
        fs |= _FS_READS
    net = _NET_BIND_TCP | _NET_CONNECT_TCP if abi >= 4 else 0
    scoped = _SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL if abi >= 6 else 0
    attr = _RulesetAttr(fs, net, scoped)
    size = 8 if abi < 4 else 16 if abi < 6 else 24          # the struct grew with the ABI
    ruleset = libc.syscall(ctypes.c_long(create), ctypes.byref(attr), ctypes.c_size_t(size),
                           ctypes.c_uint32(0))
    if ruleset < 0:
        return None
    try:
        rules = [(path, fs) for path in writable]
        null = FS_WRITE_FILE | (_FS_TRUNCATE if abi >= 3 else 0) | (FS_READ_FILE if readable is not None else 0)
        rules.append((Path(os.devnull), null))
        if readable is not None:
            rules += [(path, _FS_READS) for path in [*readable, *system_readable()]]
        for path, access in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except FileNotFoundError:
                continue
            try:
                if not os.path.isdir(f"/proc/self/fd/{fd}"):
                    access &= FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | (_FS_TRUNCATE if abi >= 3 else 0)
                rule = _PathBeneathAttr(access, fd)
                if libc.syscall(ctypes.c_long(add_rule), ctypes.c_int(ruleset),
                                ctypes.c_int(_RULE_PATH_BENEATH), ctypes.byref(rule),
                                ctypes.c_uint32(0)) != 0:
                    raise OSError(ctypes.get_errno(), f"landlock_add_rule({path})")
            finally:
                os.close(fd)
        if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
        if libc.syscall(ctypes.c_long(restrict), ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self")
    finally:
        os.close(ruleset)
    return {"abi": abi, "tcp": bool(net), "signals": bool(scoped), "reads": readable is not None}


# --- the network namespace --------------------------------------------------------------

_CLONE_NEWNET, _CLONE_NEWUSER = 0x40000000, 0x10000000


def _no_network() -> str | None:
    """Move this process into a new, empty network namespace; how, or None if it could not."""
    libc = _libc()
    if libc is None:
        return None
    if libc.unshare(_CLONE_NEWNET) == 0:
        return "network namespace"
    uid, gid = os.getuid(), os.getgid()
    if libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNET) != 0:
        return None
    walls.keep_own_ids(uid, gid)
    return "user and network namespace"


# --- the fallback: a Python audit hook --------------------------------------------------

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_PATH_EVENTS = {"os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.symlink", "os.link",
                "os.truncate", "os.chmod", "os.chown", "os.utime", "shutil.rmtree", "shutil.move",
                "shutil.copyfile"}


def _audit_hook(writable: list[Path]):
    roots = [str(p.resolve()) for p in writable]

    def allowed(path) -> bool:
        if isinstance(path, int):
            return True
        try:
            resolved = os.path.realpath(os.fsdecode(path))
        except (TypeError, ValueError):
            return False
        return resolved == os.devnull or any(resolved == r or resolved.startswith(r + os.sep) for r in roots)

    def hook(event: str, args: tuple) -> None:
        if event == "open" and args and args[0] is not None:
            mode, flags = (args[1] or ""), (args[2] or 0) if len(args) > 2 else 0
            writing = any(c in str(mode) for c in "wax+") or bool(flags & _WRITE_FLAGS)
            if writing and not allowed(args[0]):
                raise PermissionError(f"Caption Lab's sandbox: no writing outside its folder ({args[0]})")
        elif event in _PATH_EVENTS:
            for path in args[:2]:
                if isinstance(path, (str, bytes, os.PathLike)) and not allowed(path):
                    raise PermissionError(f"Caption Lab's sandbox: no changes outside its folder ({path})")
        elif event in ("socket.connect", "socket.bind", "socket.sendto", "socket.getaddrinfo"):
            raise PermissionError("Caption Lab's sandbox: no network access")
    return hook


# --- confine ----------------------------------------------------------------------------

def _limit(kind: int, value: int) -> None:
    soft, hard = resource.getrlimit(kind)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(kind, (value, value))


def address_space() -> int:
    """This process's virtual memory size in bytes (0 where unknown)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def threads() -> int:
    """How many threads this process has (Landlock binds only the calling thread)."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def confine(writable: list[Path], *, memory_bytes: int, cpu_seconds: float, file_bytes: int = 256 << 20,
            readable: list[Path] | None = None, namespaces: list[str] | None = None, processes: int = 64,
            open_files: int = 256) -> dict:
    """Give up the network, files outside `writable` (and `readable`), system calls a check
    never needs, and unbounded resources, for good.

    `memory_bytes` is added to what the process already maps. `namespaces` are those the
    caller already entered (`walls.enter_namespaces`); None makes a network namespace here.
    `processes` caps this user's processes and threads (RLIMIT_NPROC), in a user namespace
    even for a process that was root. Raises RuntimeError when the process has more than
    one thread (the restrictions would not cover the others). Returns what was applied:
    {"network", "files", "reads", "signals", "syscalls", "namespaces", "memory_mb",
    "cpu_seconds", "processes", "open_files"}.
    """
    if threads() > 1:
        raise RuntimeError("confine() must run while the process has a single thread")
    writable = [Path(p) for p in writable]
    if namespaces is None:
        network = _no_network()
        namespaces = [] if network is None else network.replace(" namespace", "").split(" and ")
    else:
        network = "network namespace" if "network" in namespaces else None
    lock = _landlock(writable, None if readable is None else [Path(p) for p in readable])
    if lock is None:
        sys.addaudithook(_audit_hook(writable))
    if lock and lock["tcp"] and network is None:
        network = "Landlock (no TCP)"
    elif network is None:
        network = "Python audit hook"
    try:
        if memory_bytes:
            _limit(resource.RLIMIT_AS, address_space() + int(memory_bytes))
        _limit(resource.RLIMIT_CPU, max(1, int(cpu_seconds + 1)))
        _limit(resource.RLIMIT_FSIZE, int(file_bytes))
        _limit(resource.RLIMIT_CORE, 0)
        _limit(resource.RLIMIT_NOFILE, int(open_files))
        _limit(resource.RLIMIT_NPROC, int(processes))
    except (ValueError, OSError):
        pass
    syscalls = walls.no_syscalls()
    return {"network": network, "files": f"Landlock ABI {lock['abi']}" if lock else "Python audit hook",
            "reads": bool(lock and lock["reads"]), "signals": bool(lock and lock["signals"]),
            "syscalls": syscalls or [], "namespaces": list(namespaces), "memory_mb": int(memory_bytes) >> 20,
            "cpu_seconds": cpu_seconds, "processes": int(processes), "open_files": int(open_files),
            "root": os.getuid() == 0, "uid": os.getuid(), "capabilities": walls.capabilities() == 0}
