"""The walls around a student's code: what one process gives up before it runs that code.

`confine(writable)` is called by a process (a freshly forked checker child, or a training
worker) while it still has one thread, right before it imports the student's files. It
cannot be undone. On Linux it takes, where the kernel allows:

- the network: a new, empty network namespace (`unshare(CLONE_NEWNET)`, as root or in an
  unprivileged user namespace), so there is no interface but a loopback that is down;
  and Landlock's TCP rules (ABI 4+), so no TCP connect or bind even where no namespace
  could be made;
- writing files: Landlock (ABI 1+) allows creating, writing, renaming and removing files
  only beneath the `writable` folders (and writing to /dev/null); everything else stays
  readable but not writable;
- signals and abstract Unix sockets (Landlock ABI 6+): no signal to, and no connection
  with, any process outside the sandbox, so the code cannot kill the server;
- resources: an address-space cap (memory), a CPU-time cap, a file-size cap, no core dumps.

Where Landlock is missing (another OS, an old kernel) a Python audit hook refuses the same
writes and network calls instead; unlike Landlock, code that calls the C library
directly (ctypes) gets past it. What was applied is returned, so a report can say it.
Reading files is never restricted: the code can read what the server's user can read.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform
import resource
import sys
import threading
from pathlib import Path

# --- Landlock ---------------------------------------------------------------------------

_SYSCALLS = {"x86_64": (444, 445, 446), "aarch64": (444, 445, 446), "arm64": (444, 445, 446)}
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38

FS_WRITE_FILE, FS_READ_FILE, FS_TRUNCATE = 1 << 1, 1 << 2, 1 << 14
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


def _libc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None
    libc.syscall.restype = ctypes.c_long
    return libc


def landlock_abi() -> int:
    """The kernel's Landlock ABI version, 0 where there is none."""
    libc = _libc()
    numbers = _SYSCALLS.get(platform.machine())
    if libc is None or numbers is None:
        return 0
    abi = libc.syscall(ctypes.c_long(numbers[0]), None, ctypes.c_size_t(0),
                       ctypes.c_uint32(_CREATE_RULESET_VERSION))
    return max(int(abi), 0)


def _landlock(writable: list[Path]) -> dict | None:
    """Restrict this thread (and what it starts) with Landlock; None where unavailable."""
    libc = _libc()
    abi = landlock_abi()
    if libc is None or abi < 1:
        return None
    create, add_rule, restrict = _SYSCALLS[platform.machine()]
    fs = _FS_WRITES_ABI1 | (_FS_REFER if abi >= 2 else 0) | (_FS_TRUNCATE if abi >= 3 else 0)
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
        rules.append((Path(os.devnull), FS_WRITE_FILE | (_FS_TRUNCATE if abi >= 3 else 0)))
        for path, access in rules:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            try:
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
    return {"abi": abi, "tcp": bool(net), "signals": bool(scoped)}


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
    try:                         # keep our own ids inside the new user namespace
        Path("/proc/self/setgroups").write_text("deny")
        Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
        Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")
    except OSError:
        pass
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


def confine(writable: list[Path], *, memory_bytes: int, cpu_seconds: float,
            file_bytes: int = 256 << 20) -> dict:
    """Give up the network, writing outside `writable`, and unbounded resources, for good.

    `memory_bytes` is added to what the process already maps. Raises RuntimeError when the
    process has more than one thread (the restrictions would not cover the others).
    Returns what was applied: {"network", "files", "signals", "memory_mb", "cpu_seconds"}.
    """
    if threads() > 1:
        raise RuntimeError("confine() must run while the process has a single thread")
    writable = [Path(p) for p in writable]
    network = _no_network()
    lock = _landlock(writable)
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
    except (ValueError, OSError):
        pass
    return {"network": network, "files": f"Landlock ABI {lock['abi']}" if lock else "Python audit hook",
            "signals": bool(lock and lock["signals"]), "memory_mb": int(memory_bytes) >> 20,
            "cpu_seconds": cpu_seconds}
