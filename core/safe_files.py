"""Files in a folder that untrusted code writes in, read without following what it left there.

A run of a student's code writes its run folder (and could replace anything in it, code/
included) from a process that runs that code. The server reads those files back with its
own rights (root, in many containers), so it must never follow a symbolic link planted
there (`worker.log` -> `/proc/<server>/environ`), block on a FIFO, or read more than it
means to. Every reader here opens with O_NOFOLLOW | O_NONBLOCK, checks that what it opened
is a regular file, and reads at most `limit` bytes:

    text = read_text(run / "worker.log", limit=64 << 10, tail=True)
    files = walk_files(run / "code" / "cs231n", max_files=200)      # [(relative, size), ...]
    data = read_beneath(run / "code", "cs231n/rnn_layers.py", limit=1 << 20)

`walk_files` and `read_beneath` descend through directory descriptors (openat), never
through a link, so a folder swapped for a link on the way is refused too. `touch_new`
creates a file where there is none, never through a link. Raise OSError (a link or a FIFO:
`NotARegularFile`) where the plain call would.
"""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

LIMIT = 16 << 20                         # what a reader takes at most, unless told
_READ = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
_FOLDER = os.O_RDONLY | os.O_NOFOLLOW | os.O_DIRECTORY | os.O_CLOEXEC


class NotARegularFile(OSError):
    """What was opened is a link, a FIFO, a device or a folder, not a file."""


def open_file(path, dir_fd: int | None = None) -> int:
    """A descriptor of the regular file `path` (its last part never a link); the caller closes it."""
    try:
        fd = os.open(path, _READ, dir_fd=dir_fd)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise NotARegularFile(errno.ELOOP, "a symbolic link, not a file", str(path)) from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise NotARegularFile(errno.EINVAL, "not a regular file", str(path))
    return fd


def _read_fd(fd: int, limit: int, offset: int = 0, tail: bool = False) -> bytes:
    size = os.fstat(fd).st_size
    start = max(offset, size - limit) if tail else offset
    chunks, wanted = [], max(0, min(limit, size - start))
    while wanted > 0:
        chunk = os.pread(fd, min(wanted, 1 << 20), start)
        if not chunk:
            break
        chunks.append(chunk)
        start += len(chunk)
        wanted -= len(chunk)
    return b"".join(chunks)


def read_bytes(path, limit: int = LIMIT, *, offset: int = 0, tail: bool = False) -> bytes:
    """At most `limit` bytes of the regular file `path`, from `offset` (or its last ones, `tail`)."""
    fd = open_file(path)
    try:
        return _read_fd(fd, limit, offset, tail)
    finally:
        os.close(fd)


def read_text(path, limit: int = LIMIT, *, tail: bool = False) -> str:
    """`read_bytes` as UTF-8 text (what does not decode is replaced)."""
    return read_bytes(path, limit, tail=tail).decode("utf-8", errors="replace")


def size(path) -> int:
    """The size of the regular file `path` (-1 when it is missing or not a regular file)."""
    try:
        info = os.lstat(path)
    except OSError:
        return -1
    return info.st_size if stat.S_ISREG(info.st_mode) else -1


def is_file(path) -> bool:
    """Whether `path` is a regular file itself (a link to one is not)."""
    return size(path) >= 0


def touch_new(path) -> None:
    """Create the empty file `path` if nothing is there; a link there is left alone (OSError)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o644)
    os.close(fd)


def _open_folder(root, parts) -> int:
    fd = os.open(root, _FOLDER)
    try:
        for part in parts:
            if part in ("", ".", ".."):
                raise NotARegularFile(errno.EINVAL, "not a plain name", part)
            inner = os.open(part, _FOLDER, dir_fd=fd)
            os.close(fd)
            fd = inner
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_beneath(root, relative: str, limit: int = LIMIT) -> bytes:
    """At most `limit` bytes of the file `relative` ("a/b.py") beneath the folder `root`, no
    part of the way a link."""
    *folders, name = Path(relative).parts
    fd = _open_folder(root, folders)
    try:
        file = open_file(name, dir_fd=fd)
    finally:
        os.close(fd)
    try:
        return _read_fd(file, limit)
    finally:
        os.close(file)


def walk_files(root, max_files: int = 10_000, max_depth: int = 32, under: tuple = ()) -> list[tuple[str, int]]:
    """The regular files beneath the folder `root` (or its subfolder `under`, ("code",
    "cs231n"), reached without following a link), as (relative posix path, size), sorted;
    links (to files or folders), FIFOs and the like are left out, and so is what lies deeper
    than `max_depth` or beyond the first `max_files`."""
    found: list[tuple[str, int]] = []
    stack = [(_open_folder(root, under), "", 0)]
    try:
        while stack and len(found) < max_files:
            fd, prefix, depth = stack.pop()
            try:
                with os.scandir(fd) as entries:
                    listed = sorted((e.name, e.stat(follow_symlinks=False)) for e in entries)
                for name, info in listed:
                    relative = f"{prefix}{name}"
                    if stat.S_ISREG(info.st_mode) and len(found) < max_files:
                        found.append((relative, info.st_size))
                    elif stat.S_ISDIR(info.st_mode) and depth < max_depth:
                        try:
                            stack.append((os.open(name, _FOLDER, dir_fd=fd), relative + "/", depth + 1))
                        except OSError:
                            continue
            finally:
                os.close(fd)
    finally:
        for fd, _, _ in stack:
            os.close(fd)
    return sorted(found)


def disk_bytes(root, skip: tuple[str, ...] = ()) -> int:
    """What the tree under `root` takes on disk (blocks, folders and preallocated space
    included; links never followed; top-level names in `skip` left out). Raises OSError
    when part of it cannot be read."""
    total = 0
    stack = [(os.open(root, _FOLDER), True)]
    try:
        while stack:
            fd, top = stack.pop()
            try:
                total += os.fstat(fd).st_blocks * 512
                with os.scandir(fd) as entries:
                    for entry in entries:
                        if top and entry.name in skip:
                            continue
                        info = entry.stat(follow_symlinks=False)
                        if stat.S_ISDIR(info.st_mode):
                            stack.append((os.open(entry.name, _FOLDER, dir_fd=fd), False))
                        else:
                            total += info.st_blocks * 512
            finally:
                os.close(fd)
    finally:
        for fd, _ in stack:
            os.close(fd)
    return total


def remove_tree(root) -> bool:
    """Remove the folder `root` and everything beneath it, through directory descriptors (no
    link followed, no recursion, so no depth is too deep); True when it is gone."""
    try:
        top = os.open(root, _FOLDER)
    except OSError:
        return not os.path.lexists(root)
    stack, stuck = [(top, "")], set()
    while stack:
        fd, _name = stack[-1]
        child = None
        with os.scandir(fd) as entries:
            for entry in entries:
                info = entry.stat(follow_symlinks=False)
                if stat.S_ISDIR(info.st_mode):
                    if (info.st_dev, info.st_ino) in stuck:
                        continue
                    try:
                        os.rmdir(entry.name, dir_fd=fd)
                        continue
                    except OSError:
                        pass
                    try:
                        child = (os.open(entry.name, _FOLDER, dir_fd=fd), entry.name)
                    except OSError:
                        stuck.add((info.st_dev, info.st_ino))
                        continue
                    break
                try:
                    os.unlink(entry.name, dir_fd=fd)
                except OSError:
                    pass
        if child is not None:
            stack.append(child)
            continue
        stack.pop()
        info = os.fstat(fd)
        os.close(fd)
        if stack:
            try:
                os.rmdir(_name, dir_fd=stack[-1][0])
            except OSError:
                stuck.add((info.st_dev, info.st_ino))
    try:
        os.rmdir(root)
    except OSError:
        pass
    return not os.path.lexists(root)


def open_append(path) -> int:
    """A descriptor appending to the regular file `path` (made if missing), never through a
    link or into a FIFO; the caller closes it."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o644)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise NotARegularFile(errno.EINVAL, "not a regular file", str(path))
    return fd
