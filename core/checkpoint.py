"""Save and load a captioning model as one HDF5 file: params, configuration, vocabulary.

Files are written atomically (a temporary file in the same folder, then a rename), so a
crash never leaves half a checkpoint under the real name. Loading checks everything it
reads (format tag, configuration, vocabulary, every parameter's shape, dtype and
finiteness) and refuses anything else with a `CheckpointError` naming the file. No pickle.
"""
from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path

import h5py
import numpy as np

from .model import CELL_TYPES, PARAM_NAMES, CaptioningRNN, check_dims, param_shapes
from .text import Message, message

FORMAT = "caption-lab-checkpoint"
VERSION = 1


class CheckpointError(ValueError):
    """A checkpoint file that cannot be loaded; the message names the file and the problem."""


def atomic_write(path: Path, write) -> Path:
    """Call write(tmp_path) on a temporary file beside `path`, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    """Replace `path` with `data`, atomically, writing through the temporary file's own
    descriptor (never reopened by name, so nothing swapped in under that name is written)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def save_checkpoint(path, model: CaptioningRNN, metadata: dict | None = None) -> Path:
    """Write `model` (and optional JSON-able `metadata`, e.g. the training run) to `path`.

    The vocabulary must number its words 0..V-1, as every dataset's does.
    """
    if sorted(model.idx_to_word) != list(range(model.vocab_size)):
        raise ValueError(f"cannot save a checkpoint to {path}: the model's word ids are not "
                         f"0..{model.vocab_size - 1}")
    idx_to_word = [model.idx_to_word[i] for i in range(model.vocab_size)]

    def write(tmp: Path) -> None:
        with h5py.File(tmp, "w") as f:
            f.attrs["format"] = FORMAT
            f.attrs["version"] = VERSION
            f.attrs["config"] = json.dumps(model.config)
            f.attrs["metadata"] = json.dumps(metadata or {})
            f.create_dataset("idx_to_word", data=np.array(idx_to_word, dtype=object),
                             dtype=h5py.string_dtype())
            group = f.create_group("params")
            for name in PARAM_NAMES:
                group.create_dataset(name, data=model.params[name])

    return atomic_write(path, write)


MAX_FILE_BYTES = 1 << 30            # a checkpoint file read whole into memory (a run's) is at most this
MAX_PARAM_ELEMENTS = 1 << 25       # all parameters together: far above any model the app builds
MAX_WORDS = 1 << 20


def _opened(path: Path, follow_links: bool):
    if follow_links:
        return h5py.File(path, "r")
    from .safe_files import read_bytes          # a run's file: no link, no FIFO, read once, whole
    data = read_bytes(path, MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise CheckpointError(message("{path} is larger than any checkpoint ({size:,} MB at most)", path=str(path),
                                      size=MAX_FILE_BYTES >> 20))
    return h5py.File(io.BytesIO(data), "r")


def _stored(path: Path, group, name: str):
    """The dataset `name` of `group`, held in this file itself: no link (soft, external),
    no external storage and no virtual dataset, which would have HDF5 read another file."""
    if not isinstance(group.get(name, getlink=True), h5py.HardLink):
        raise CheckpointError(message("{path}: {name} is a link to somewhere else, which no checkpoint holds",
                                      path=str(path), name=name))
    ds = group[name]
    if not isinstance(ds, h5py.Dataset) or ds.is_virtual or ds.id.get_create_plist().get_external_count():
        raise CheckpointError(message("{path}: {name} keeps its numbers outside the file, which no checkpoint does",
                                      path=str(path), name=name))
    return ds


def _read(path: Path, follow_links: bool = True):
    try:
        with _opened(path, follow_links) as f:
            if f.attrs.get("format") != FORMAT:
                raise CheckpointError(message("{path} is not a Caption Lab checkpoint (no '{tag}' tag)",
                                              path=str(path), tag=FORMAT))
            if int(f.attrs.get("version", -1)) != VERSION:
                raise CheckpointError(message("{path} has checkpoint version {version}; this Caption Lab "
                                              "reads version {supported}", path=str(path),
                                              version=str(f.attrs.get("version")), supported=VERSION))
            config = json.loads(f.attrs["config"])
            metadata = json.loads(f.attrs.get("metadata", "{}"))
            words = _stored(path, f, "idx_to_word")
            if words.size > MAX_WORDS:
                raise CheckpointError(message("{path} has a malformed vocabulary", path=str(path)))
            idx_to_word = list(words.asstr()[()])
            if "params" not in f or not isinstance(f.get("params", getlink=True), h5py.HardLink):
                raise CheckpointError(message("{path} has no 'params' group", path=str(path)))
            stored = {name: _stored(path, f["params"], name) for name in f["params"]}
            if sum(ds.size for ds in stored.values()) > MAX_PARAM_ELEMENTS:
                raise CheckpointError(message("{path} holds more numbers than any model of the app",
                                              path=str(path)))
            params = {name: np.asarray(ds) for name, ds in stored.items()}
    except CheckpointError:
        raise
    except FileNotFoundError:
        raise CheckpointError(message("{path} does not exist", path=str(path))) from None
    except (OSError, KeyError, ValueError, TypeError) as e:
        raise CheckpointError(message("{path} is corrupt or truncated and cannot be read ({error})",
                                      path=str(path), error=str(e))) from None
    return config, metadata, idx_to_word, params


def _reason(e: Exception):
    """What `e` says: its message (translatable when it is a `Message`), a KeyError's key."""
    return e.args[0] if len(e.args) == 1 and isinstance(e.args[0], Message) else str(e)


def load_checkpoint(path, *, follow_links: bool = True) -> tuple[CaptioningRNN, dict]:
    """Read a checkpoint written by `save_checkpoint`; returns (model, metadata).
    `follow_links=False` for a file untrusted code could have replaced (a run's): a link or
    anything but a regular file is refused (`core.safe_files`)."""
    path = Path(path)
    config, metadata, idx_to_word, params = _read(path, follow_links)
    if not isinstance(idx_to_word, list) or not all(isinstance(w, str) for w in idx_to_word) \
            or len(set(idx_to_word)) != len(idx_to_word) or "<NULL>" not in idx_to_word:
        raise CheckpointError(message("{path} has a malformed vocabulary", path=str(path)))
    if not isinstance(metadata, dict):
        raise CheckpointError(message("{path} has malformed metadata (not a JSON object)", path=str(path)))
    try:
        if config["cell_type"] not in CELL_TYPES:
            raise ValueError(f"cell_type {config['cell_type']!r}")
        dtype = np.dtype(config["dtype"])
        if dtype not in (np.float32, np.float64):
            raise ValueError(f"dtype {dtype}")
        D, W, H = check_dims(config["input_dim"], config["wordvec_dim"], config["hidden_dim"])
    except (KeyError, ValueError, TypeError) as e:
        raise CheckpointError(message("{path} has an invalid configuration: {error}", path=str(path),
                                      error=_reason(e))) from None
    # every parameter is checked before a model of the configured size is built
    expected = param_shapes(len(idx_to_word), D, W, H, config["cell_type"])
    if set(params) != set(expected):
        missing, extra = sorted(set(expected) - set(params)), sorted(set(params) - set(expected))
        raise CheckpointError(message("{path} has the wrong parameters (missing {missing}, unexpected {extra})",
                                      path=str(path), missing=str(missing), extra=str(extra)))
    for name, shape in expected.items():
        value = params[name]
        if value.shape != shape:
            raise CheckpointError(message("{path}: parameter {name} has shape {shape}, expected {expected}",
                                          path=str(path), name=name, shape=str(value.shape),
                                          expected=str(shape)))
        if value.dtype != dtype:
            raise CheckpointError(message("{path}: parameter {name} has dtype {dtype}, expected {expected}",
                                          path=str(path), name=name, dtype=str(value.dtype),
                                          expected=str(dtype)))
        if not np.isfinite(value).all():
            raise CheckpointError(message("{path}: parameter {name} holds NaN or infinite values",
                                          path=str(path), name=name))
    model = CaptioningRNN({w: i for i, w in enumerate(idx_to_word)}, input_dim=D, wordvec_dim=W,
                          hidden_dim=H, cell_type=config["cell_type"], dtype=dtype,
                          rng=np.random.default_rng(0))
    model.params.update(params)
    return model, metadata
