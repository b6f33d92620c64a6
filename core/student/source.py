"""A student's assignment code as files: found in a folder, an upload or a zip, read, never run.

    bundle = find_bundle(Path("~/cs231n/assignment3").expanduser())
    bundle = bundle_from_uploads([("rnn_layers.py", data), ("rnn.py", data)])
    bundle.write(folder)                  # <folder>/<package>/rnn_layers.py, ...

A `Bundle` is the package's name (`cs231n`, a fork's `daseCV`, anything that holds
`rnn_layers.py` and `classifiers/rnn.py`) and the text of its Python files. Writing it
gives every package folder an empty `__init__.py` (so the rest of an assignment, its
datasets and its PyTorch notebooks, is never imported) and, where the student has no
`layers.py` (an upload of two files), one that takes the course's helpers from `core`.

Two things are worked out here from the text alone: which functions are still the
course's stub (nothing but `pass` where the template says to write code), and syntax
errors, which `repaired` confines to the function they are in, so that one typo does not
hide every other function's result.
"""
from __future__ import annotations

import ast
import hashlib
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from .. import safe_files
from ..text import message

LAYERS_FILE = "rnn_layers.py"
MODEL_FILE = "classifiers/rnn.py"
HELPERS_FILE = "layers.py"
MAX_FILE_BYTES = 1 << 20            # one source file, at most
MAX_FILES = 300
MAX_ZIP_BYTES = 50 << 20            # uncompressed, in all
MAX_ZIP_MEMBERS = 2000              # files and folders in one zip
MAX_RATIO = 200                     # uncompressed / compressed size of one member (a bomb's is far more)
SKIPPED_FOLDERS = {"datasets", "__pycache__", ".ipynb_checkpoints", "build"}
DEFAULT_PACKAGE = "cs231n"

# The course's helpers a student does not write, for an upload without its own layers.py.
PROVIDED_HELPERS = '''"""Written by Caption Lab: the course's helpers, taken from Caption Lab's core."""
from core.layers import affine_backward, affine_forward  # noqa: F401
'''


class NotAnAssignment(ValueError):
    """The folder, upload or zip holds no rnn_layers.py and classifiers/rnn.py; the message
    says where Caption Lab looked."""


@dataclass(frozen=True)
class Bundle:
    """The student's package: its name and its files' text, keyed by path inside the package."""

    package: str
    files: dict[str, str]                         # "rnn_layers.py", "classifiers/rnn.py", ...
    origin: str = ""                              # where it came from, for the report
    provided: tuple[str, ...] = ()                # files Caption Lab supplied (not the student's)
    notes: tuple[str, ...] = ()                   # what was left out, and why

    @property
    def digest(self) -> str:
        """A short hash of the package name and every file, for caches."""
        h = hashlib.sha256(self.package.encode())
        for name in sorted(self.files):
            h.update(b"\0" + name.encode() + b"\0" + self.files[name].encode())
        return h.hexdigest()[:16]

    def has(self, name: str) -> bool:
        return name in self.files and name not in self.provided

    def write(self, folder: Path) -> Path:
        """Write the package under `folder`; returns `folder` (the folder to put on sys.path)."""
        root = Path(folder) / self.package
        for name, text in self.files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        folders = {root} | {root.joinpath(*PurePosixPath(name).parts[:k])
                            for name in self.files for k in range(1, len(PurePosixPath(name).parts))}
        for package_dir in folders:
            package_dir.mkdir(parents=True, exist_ok=True)
            init = package_dir / "__init__.py"
            if not init.exists():
                init.write_text("")
        return Path(folder)


# --- finding the package ---------------------------------------------------------------------

def _is_package_dir(folder: Path) -> bool:
    return (folder / LAYERS_FILE).is_file() and (folder / MODEL_FILE).is_file()


def package_dir(root: Path) -> Path:
    """The package folder inside assignment root `root` (or `root` itself if it is one).

    Raises NotAnAssignment, saying where it looked, when there is none."""
    root = Path(root).expanduser()
    try:
        root.stat()
    except PermissionError:
        raise NotAnAssignment(message("{root} cannot be read: {error}.", root=str(root),
                                      error="Permission denied")) from None
    except OSError:
        pass
    if not root.exists():
        raise NotAnAssignment(message("There is no folder at {root}.", root=str(root)))
    if not root.is_dir():
        raise NotAnAssignment(message("{root} is a file: give the assignment's folder, the one that holds "
                                      "cs231n/ (or your course's package).", root=str(root)))
    if _is_package_dir(root):
        return root
    try:
        candidates = sorted(p for p in root.iterdir() if p.is_dir() and _is_package_dir(p))
    except OSError as e:
        raise NotAnAssignment(message("{root} cannot be read: {error}.", root=str(root),
                                              error=str(e.strerror))) from None
    if not candidates:
        raise NotAnAssignment(message(
            "{root} is not an assignment folder: none of its folders holds both {layers} and "
            "{model} (as cs231n/ does). Give the folder that holds cs231n/.", root=str(root), layers=LAYERS_FILE,
            model=MODEL_FILE))
    preferred = [p for p in candidates if p.name == DEFAULT_PACKAGE]
    return (preferred or candidates)[0]


def _read_tree(package: Path, base: Path | None = None) -> tuple[dict[str, str], list[str]]:
    """The package's Python files, read without following a link anywhere on the way
    (`core.safe_files`), from `base` down when given: a run's code/ folder is writable by
    the code it holds, so no part of the way below the run's folder may be a link."""
    files, notes = {}, []
    under = Path(package).relative_to(base).parts if base is not None else ()
    root = base if base is not None else package
    try:
        found = safe_files.walk_files(root, max_files=MAX_FILES * 20, max_depth=8, under=under)
    except OSError as e:
        return files, [message("{name} could not be read: {error}.", name=package.name, error=str(e.strerror))]
    for relative, size in found:
        parts = relative.split("/")
        if not relative.endswith(".py") or any(part in SKIPPED_FOLDERS or part.startswith(".") for part in parts[:-1]):
            continue
        if len(files) >= MAX_FILES:
            notes.append(message("Only the first {n} Python files were read.", n=MAX_FILES))
            break
        if size > MAX_FILE_BYTES:
            notes.append(message("{name} was left out: {size:,} bytes is more than a source file should be.",
                                 name=relative, size=size))
            continue
        try:
            data = safe_files.read_beneath(root, "/".join([*under, relative]), MAX_FILE_BYTES)
        except OSError as e:
            notes.append(message("{name} could not be read: {error}.", name=relative, error=str(e.strerror)))
            continue
        files[relative] = data.decode("utf-8", errors="replace")
    return files, notes


def _blank_inits(files: dict[str, str]) -> dict[str, str]:
    """Every __init__.py emptied: the package is imported for its two files only."""
    return {name: ("" if PurePosixPath(name).name == "__init__.py" else text) for name, text in files.items()}


def _with_helpers(files: dict[str, str]) -> tuple[dict[str, str], tuple[str, ...]]:
    provided = []
    files = dict(files)
    if HELPERS_FILE not in files:
        files[HELPERS_FILE] = PROVIDED_HELPERS
        provided.append(HELPERS_FILE)
    if LAYERS_FILE not in files:
        files[LAYERS_FILE] = ('"""Written by Caption Lab: no rnn_layers.py was given, so the model '
                              'uses Caption Lab\'s layers."""\nfrom core.layers import *  # noqa: F401,F403\n')
        provided.append(LAYERS_FILE)
    return files, tuple(provided)


def find_bundle(root: Path) -> Bundle:
    """The student's package in assignment folder `root`; NotAnAssignment when there is none."""
    package = package_dir(root)
    files, notes = _read_tree(package)
    files, provided = _with_helpers(_blank_inits(files))
    return Bundle(package.name, files, origin=str(package), provided=provided, notes=tuple(notes))


def read_bundle(folder: Path, package: str, origin: str = "") -> Bundle:
    """A bundle `Bundle.write` wrote under `folder` (a run's code/ folder), read back."""
    if not isinstance(package, str) or not package.isidentifier():
        raise NotAnAssignment(message("{folder} names no package ({package!r} is not a Python name).",
                                      folder=str(folder), package=str(package)[:80]))
    files, notes = _read_tree(Path(folder) / package, base=Path(folder).parent)
    if LAYERS_FILE not in files or MODEL_FILE not in files:
        layers, model = f"{package}/{LAYERS_FILE}", f"{package}/{MODEL_FILE}"
        raise NotAnAssignment(message("{folder} holds no {layers} and {model}.", folder=str(folder),
                                      layers=layers, model=model))
    return Bundle(package, files, origin=origin or str(folder), notes=tuple(notes))


_IMPORT = re.compile(r"^\s*(?:from|import)\s+([A-Za-z_]\w*)\.(?:rnn_layers|layers|classifiers)\b", re.M)


def guess_package(texts: list[str]) -> str:
    """The package name the files import themselves by (`from daseCV.rnn_layers import *`),
    else the course's `cs231n`."""
    for text in texts:
        match = _IMPORT.search(text)
        if match:
            return match.group(1)
    return DEFAULT_PACKAGE


def _safe_member(name: str) -> PurePosixPath | None:
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts or not path.parts:
        return None
    return path


def _refused(archive: zipfile.ZipFile, name: str) -> str | None:
    """Why a zip is refused as a whole (a path outside its folder, a link, a bomb, too many
    files), or None. Nothing of it is written anywhere either way."""
    infos = archive.infolist()
    if len(infos) > MAX_ZIP_MEMBERS:
        return message("{name} holds {n:,} files: zip only the package folder (cs231n/), at most {most:,} files.",
                       name=name, n=len(infos), most=MAX_ZIP_MEMBERS)
    for m in infos:
        path = PurePosixPath(m.filename.replace("\\", "/"))
        if path.is_absolute() or ".." in path.parts or re.match(r"^[A-Za-z]:", m.filename):
            return message("{name} is refused: {member} points outside the zip's own folder.", name=name,
                           member=m.filename[:200])
        if (m.external_attr >> 16) & 0o170000 == 0o120000:
            return message("{name} is refused: {member} is a symbolic link, and a zip of your code holds only "
                           "files.", name=name, member=m.filename[:200])
        if m.file_size > MAX_RATIO * max(m.compress_size, 1) and m.file_size > 1 << 20:
            return message("{name} is refused: {member} would unpack to {size:,} bytes from {packed:,} (a zip "
                           "bomb?).", name=name, member=m.filename[:200], size=m.file_size, packed=m.compress_size)
    if sum(m.file_size for m in infos) > MAX_ZIP_BYTES:
        return message("{name} unpacks to more than {mb} MB: zip only the "
                       "package folder (cs231n/), without its datasets.", name=name, mb=MAX_ZIP_BYTES >> 20)
    return None


def _from_zip(data: bytes, name: str) -> Bundle:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError):
        raise NotAnAssignment(message("{name} is not a zip file Caption Lab can open.", name=name)) from None
    why = _refused(archive, name)
    if why is not None:
        raise NotAnAssignment(why)
    members = [m for m in archive.infolist() if not m.is_dir()]
    paths = {}
    for m in members:
        path = _safe_member(m.filename)
        if path is not None and path.suffix == ".py" and m.file_size <= MAX_FILE_BYTES:
            paths[path] = m
    packages = sorted({p.parent for p in paths if p.name == LAYERS_FILE
                       and p.parent / "classifiers" / "rnn.py" in paths}, key=lambda p: len(p.parts))
    if not packages:
        raise NotAnAssignment(message("{name} holds no folder with both {layers} and {model}: zip the "
                                      "package folder (cs231n/ or your course's).", name=name, layers=LAYERS_FILE,
                                      model=MODEL_FILE))
    top = packages[0]
    files = {}
    for path, m in sorted(paths.items()):
        try:
            relative = path.relative_to(top)
        except ValueError:
            continue
        if any(part in SKIPPED_FOLDERS or part.startswith(".") for part in relative.parts[:-1]):
            continue
        try:
            files[relative.as_posix()] = archive.read(m).decode("utf-8", errors="replace")
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, ValueError, OSError, EOFError) as e:
            raise NotAnAssignment(message("{name} could not be read: {member}: {error}", name=name,
                                          member=m.filename[:200], error=str(e)[:200])) from None
        if len(files) >= MAX_FILES:
            break
    package = top.name if top.parts else guess_package(list(files.values()))
    files, provided = _with_helpers(_blank_inits(files))
    return Bundle(package, files, origin=name, provided=provided)


def bundle_from_uploads(uploads: list[tuple[str, bytes]]) -> Bundle:
    """A bundle from uploaded files: `rnn_layers.py`, `rnn.py` (and `layers.py`), or one zip.

    Files the student did not upload come from `core` (see `Bundle.provided`)."""
    if not uploads:
        raise NotAnAssignment(message("Upload rnn_layers.py and rnn.py, or a zip of your package folder."))
    zips = [(n, d) for n, d in uploads if n.lower().endswith(".zip")]
    if zips:
        return _from_zip(zips[0][1], zips[0][0])
    files, notes = {}, []
    wanted = {"rnn_layers.py": LAYERS_FILE, "rnn.py": MODEL_FILE, "layers.py": HELPERS_FILE}
    for name, data in uploads:
        target = wanted.get(PurePosixPath(name).name)
        if target is None:
            notes.append(message("{name} was left out: Caption Lab checks rnn_layers.py, rnn.py and layers.py.",
                                 name=name))
        elif len(data) > MAX_FILE_BYTES:
            notes.append(message("{name} was left out: {size:,} bytes is more than a source file should be.",
                                 name=name, size=len(data)))
        else:
            files[target] = data.decode("utf-8", errors="replace")
    if MODEL_FILE not in files and LAYERS_FILE not in files:
        raise NotAnAssignment(message("Neither rnn_layers.py nor rnn.py was uploaded: those are the files "
                                      "with your code."))
    if MODEL_FILE not in files:
        files[MODEL_FILE] = ""
        notes.append(message("No rnn.py was uploaded, so CaptioningRNN is missing."))
    package = guess_package(list(files.values()))
    files, provided = _with_helpers(files)
    if MODEL_FILE in files and files[MODEL_FILE] == "":
        provided = (*provided, MODEL_FILE)
    return Bundle(package, files, origin="upload: " + ", ".join(n for n, _ in uploads),
                  provided=provided, notes=tuple(notes))


# --- reading the code without running it ------------------------------------------------------

_START = re.compile(r"#.*(START OF YOUR CODE|TODO)")
_END = re.compile(r"#.*END OF YOUR CODE")


def _code(line: str) -> str:
    """A line without its comment and whitespace ('' for a comment or a blank line)."""
    stripped = line.strip()
    return "" if stripped.startswith("#") else stripped


def is_stub(lines: list[str]) -> bool:
    """Whether a function's source `lines` are still the course's template: every region
    the template marks for the student (after a TODO or START OF YOUR CODE comment, up to
    END OF YOUR CODE) holds nothing but `pass`. A function without such marks is not a stub."""
    regions, start = [], None
    for i, line in enumerate(lines):
        stripped = line.strip()
        if start is None and stripped.startswith("#") and _START.search(stripped):
            start = i + 1
        elif start is not None and stripped.startswith("#") and _END.search(stripped):
            regions.append(lines[start:i])
            start = None
        elif start is not None and stripped.startswith("#") and "START OF YOUR CODE" in stripped:
            start = i + 1                 # the TODO block ends where the code region starts
    if not regions:
        return False
    return all(all(_code(line) in ("", "pass") for line in region) for region in regions)


def functions(text: str) -> dict[str, tuple[int, int]]:
    """The functions of a module's source and the methods of its classes, as
    {"rnn_forward": (first line, last line), "CaptioningRNN.loss": ...}, 1-based."""
    tree = ast.parse(text)
    found = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found[node.name] = (node.lineno, node.end_lineno)
        elif isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    found[f"{node.name}.{item.name}"] = (item.lineno, item.end_lineno)
    return found


def stubs(text: str) -> set[str]:
    """The names (as `functions` gives them) that are still the course's stub."""
    lines = text.splitlines()
    return {name for name, (first, last) in functions(text).items() if is_stub(lines[first - 1:last])}


@dataclass(frozen=True)
class SyntaxProblem:
    """A syntax error, and the function it was confined to (None: the whole file)."""

    file: str
    line: int
    message: str
    code: str
    function: str | None


_DEF = re.compile(r"^(\s*)(?:async\s+)?def\s+([A-Za-z_]\w*)\s*\(")
_CLASS = re.compile(r"^class\s+([A-Za-z_]\w*)")


def _enclosing_def(lines: list[str], line: int) -> tuple[int, int, str, str] | None:
    """(first, end, indent, qualified name) of the def whose block holds 1-based `line`, found
    by indentation alone (the file does not parse)."""
    for first in range(min(line, len(lines)) - 1, -1, -1):
        match = _DEF.match(lines[first])
        if not match:
            continue
        indent = match.group(1)
        end = first + 1
        while end < len(lines):
            text = lines[end]
            if text.strip() and not text.strip().startswith("#") and \
                    len(text) - len(text.lstrip()) <= len(indent):
                break
            end += 1
        if end < line - 1:
            continue                              # that def ended before the error line
        name = match.group(2)
        if indent:
            owner = next((m.group(1) for m in (_CLASS.match(lines[k]) for k in range(first - 1, -1, -1)) if m), None)
            name = f"{owner}.{name}" if owner else name
        return first, end, indent, name
    return None


@dataclass
class Repaired:
    """A file's text with every syntax error confined to its function, and what was found."""

    text: str
    problems: list[SyntaxProblem] = field(default_factory=list)


def repaired(text: str, file: str, attempts: int = 20) -> Repaired:
    """`text` where each function with a syntax error is replaced, line for line (so every
    other line keeps its number), by one that raises that SyntaxError when called. A syntax
    error outside any function is left in place: the file then fails to import as a whole."""
    result = Repaired(text)
    for _ in range(attempts):
        try:
            compile(result.text, file, "exec", dont_inherit=True)
            return result
        except SyntaxError as e:
            lines = result.text.splitlines()
            line = e.lineno or 1
            code = lines[line - 1].strip() if 0 < line <= len(lines) else ""
            where = _enclosing_def(lines, line)
            if where is None:
                result.problems.append(SyntaxProblem(file, line, e.msg, code, None))
                return result
            first, end, indent, name = where
            result.problems.append(SyntaxProblem(file, line, e.msg, code, name))
            short = name.split(".")[-1]
            message = f"{e.msg} in {file}, line {line}: {code}"
            stub = [f"{indent}def {short}(*args, **kwargs):",
                    f"{indent}    raise SyntaxError({message!r})"]
            stub += [""] * (end - first - len(stub))
            lines[first:end] = stub[:max(end - first, 2)]
            result.text = "\n".join(lines) + "\n"
        except ValueError:                       # e.g. a NUL byte in the source
            result.problems.append(SyntaxProblem(file, 1, "the file holds a NUL byte", "", None))
            return result
    return result
