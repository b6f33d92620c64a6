"""Reading the dataset's HDF5 files, with errors that say what to do, and `LazyFeatures`.

`LazyFeatures` keeps a (N, D) feature array in its HDF5 file and reads only the rows a
caller indexes (the 2 GB fc7 features never load whole). The helpers open files and
datasets and turn h5py's failures into a `DatasetError` that names the file and says
how to get a good copy.
"""
from __future__ import annotations

import operator
import threading
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from core.arguments import is_whole
from core.data.errors import DatasetError
from core.data.layout import is_demo_dataset
from core.text import message


def fix_hint(folder: Path) -> str:
    """What to do about a bad file in `folder`: rebuild the demo, or download again."""
    if is_demo_dataset(folder):
        return message("Delete {folder}; the demo dataset is rebuilt on next use "
                       "(or with `python -m core.data demo`).", folder=folder)
    return message("Get a good copy with `python -m core.data download --dest {folder} --force`.", folder=folder)


def replace_hint(path: Path) -> str:
    return fix_hint(path.parent)


# ---------------------------------------------------------------------------
# fc7 features left on disk


class LazyFeatures:
    """A read-only (N, D) array in an HDF5 file, read from disk only where indexed.

    Supports what code written for an in-memory array does with features: `x[idxs]`
    for any integer array (unsorted, repeated, negative, any shape) or boolean mask,
    `x[i]`, `x[a:b:c]`, `x[rows, cols]`, `.shape`, `.dtype`, `len(x)` and
    `np.asarray(x)` (which reads everything). Reads hold a lock, so one instance can
    be shared by threads. Pickling or copying it reopens the file by path.
    """

    def __init__(self, path: Path, dataset: h5py.Dataset):
        self.path = Path(path)
        self._dataset = dataset
        self.shape: tuple[int, ...] = tuple(dataset.shape)
        self.dtype = dataset.dtype
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path: str | Path, name: str = "features") -> "LazyFeatures":
        """Open dataset `name` of the HDF5 file at `path`; `DatasetError` if unreadable."""
        path = Path(path)
        f = open_h5(path)
        try:
            return cls(path, h5_dataset(f, name, path))
        except DatasetError:
            f.close()
            raise

    def __reduce__(self) -> tuple:
        return (LazyFeatures.open, (self.path, self._dataset.name))

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    def __len__(self) -> int:
        return self.shape[0]

    def __repr__(self) -> str:
        return f"LazyFeatures({str(self.path)!r}, shape={self.shape}, dtype={self.dtype})"

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        if copy is False:
            raise ValueError("LazyFeatures lives on disk: reading it always makes a copy")
        array = self._read(())
        return array if dtype is None else array.astype(dtype, copy=False)

    def __getitem__(self, key: Any) -> np.ndarray:
        if isinstance(key, tuple):
            if not key or key[0] is Ellipsis:
                return np.asarray(self)[key]
            rows = self[key[0]]
            lead = rows.ndim - (self.ndim - 1)  # axes the row index produced
            return rows[(slice(None),) * lead + key[1:]] if len(key) > 1 else rows
        n = self.shape[0]
        if key is Ellipsis:
            return self._read(())
        if is_whole(key):
            i = operator.index(key)
            if not -n <= i < n:
                raise IndexError(f"index {i} is out of bounds for axis 0 with size {n}")
            return self._read(i % n)
        if isinstance(key, slice):
            start, stop, step = key.indices(n)
            if step == 1:
                return self._read(slice(start, max(start, stop)))
            return self._take(np.arange(start, stop, step))
        idx = np.asarray(key)
        if idx.dtype == np.bool_:
            if idx.shape != (n,):
                raise IndexError(f"boolean index of shape {idx.shape} does not match {n} rows")
            return self._take(np.flatnonzero(idx))
        if idx.size == 0:
            idx = idx.astype(np.intp)
        if not np.issubdtype(idx.dtype, np.integer):
            raise IndexError("only integers, slices, integer or boolean arrays are valid indices")
        return self._take(idx)

    def _take(self, idx: np.ndarray) -> np.ndarray:
        """Rows `idx` (any shape, any order): h5py wants increasing indices, so read the
        unique rows once and scatter them back."""
        n = self.shape[0]
        flat = idx.reshape(-1).astype(np.intp)
        if flat.size == 0:
            return np.empty(idx.shape + self.shape[1:], dtype=self.dtype)
        flat = np.where(flat < 0, flat + n, flat)
        low, high = int(flat.min()), int(flat.max())
        if low < 0 or high >= n:
            bad = low if low < 0 else high
            raise IndexError(f"index {bad} is out of bounds for axis 0 with size {n}")
        unique, inverse = np.unique(flat, return_inverse=True)
        rows = self._read(unique)
        return rows[inverse].reshape(idx.shape + self.shape[1:])

    def _read(self, selection: Any) -> np.ndarray:
        with self._lock:
            if not self._dataset.id.valid:
                raise DatasetError(message("{path} was closed; load the dataset again.", path=self.path))
            try:
                return np.asarray(self._dataset[selection])
            except OSError as err:
                raise DatasetError(message("{path} could not be read ({error}); it may be damaged. {hint}",
                                           path=self.path, error=str(err), hint=replace_hint(self.path))) from None

    def close(self) -> None:
        """Close the file; later reads raise `DatasetError`."""
        with self._lock:
            if self._dataset.id.valid:
                self._dataset.file.close()


def open_h5(path: Path) -> h5py.File:
    try:
        return h5py.File(path, "r")
    except OSError as err:
        text = str(err)
        if "truncated" in text:
            problem = message("{path} is truncated (shorter than its header says; an interrupted copy?). {hint}",
                              path=path, hint=replace_hint(path))
        elif "signature" in text:
            problem = message("{path} is not an HDF5 file (corrupt?). {hint}", path=path, hint=replace_hint(path))
        else:
            problem = message("{path} cannot be opened as HDF5 ({error}). {hint}", path=path, error=text,
                              hint=replace_hint(path))
        raise DatasetError(problem) from None


def h5_dataset(f: h5py.File, name: str, path: Path) -> h5py.Dataset:
    item = f.get(name)
    if not isinstance(item, h5py.Dataset):
        held = ", ".join(sorted(f.keys())) or message("nothing")
        raise DatasetError(message("{path} has no dataset '{name}' (it holds: {held}). {hint}",
                                   path=path, name=name, held=held, hint=replace_hint(path)))
    return item


def read_array(dataset: h5py.Dataset, path: Path) -> np.ndarray:
    try:
        return np.asarray(dataset)
    except OSError as err:
        raise DatasetError(message("{path}: '{name}' could not be read ({error}). {hint}", path=path,
                                   name=dataset.name[1:], error=str(err), hint=replace_hint(path))) from None
