"""Data across the sandbox's wall: values a child sends back, as bytes no one has to trust.

A child's answer is JSON plus the raw bytes of its numeric arrays (an `.npz` archive read
with `allow_pickle=False`): no pickle, so decoding can never run code the student wrote.
Anything else a student's function returned (an object, an object array, a generator)
arrives as `Opaque`, naming its type, and a check says "returned a ... instead of an array".
"""
from __future__ import annotations

import io
import json
import math
import struct
from dataclasses import dataclass

import numpy as np

MAX_ARRAY_BYTES = 64 << 20          # all the arrays of one answer, at most
MAX_ITEMS = 64                      # of a list, tuple or dict
MAX_DEPTH = 6
MAX_TEXT = 20_000


@dataclass(frozen=True)
class Opaque:
    """Something that could not cross as data: its type name, and why."""

    type_name: str
    why: str = ""

    def __str__(self) -> str:
        return f"a {self.type_name}" + (f" ({self.why})" if self.why else "")


def encode(value) -> bytes:
    """`value` as bytes: a 4-byte JSON length, the JSON, then an npz of its arrays."""
    arrays: list[np.ndarray] = []
    budget = [MAX_ARRAY_BYTES]

    def enc(v, depth):
        if depth > MAX_DEPTH:
            return {"__opaque__": type(v).__name__, "why": "nested too deeply"}
        if v is None or isinstance(v, bool):
            return v
        if isinstance(v, str):
            return v[:MAX_TEXT]
        if isinstance(v, (int, np.integer)) and not isinstance(v, np.bool_):
            return int(v)
        if isinstance(v, (float, np.floating)):
            f = float(v)
            return f if math.isfinite(f) else {"__float__": repr(f)}
        if isinstance(v, np.bool_):
            return bool(v)
        if isinstance(v, np.ndarray):
            if v.dtype.kind not in "biuf":
                return {"__opaque__": "numpy array", "why": f"dtype {v.dtype}"}
            if v.nbytes > budget[0]:
                return {"__opaque__": "numpy array", "why": f"too large ({v.nbytes:,} bytes)"}
            budget[0] -= v.nbytes
            arrays.append(np.ascontiguousarray(v))
            return {"__array__": len(arrays) - 1}
        if isinstance(v, (list, tuple)):
            items = [enc(x, depth + 1) for x in list(v)[:MAX_ITEMS]]
            return {"__seq__": "tuple" if isinstance(v, tuple) else "list", "items": items,
                    "length": len(v)}
        if isinstance(v, dict):
            pairs = [[str(k)[:200], enc(x, depth + 1)] for k, x in list(v.items())[:MAX_ITEMS]]
            return {"__dict__": pairs}
        return {"__opaque__": type(v).__name__}

    tree = json.dumps(enc(value, 0), allow_nan=False).encode()
    buffer = io.BytesIO()
    np.savez(buffer, *arrays)
    return struct.pack("!I", len(tree)) + tree + buffer.getvalue()


def decode(blob: bytes):
    """The value `encode` wrote; never unpickles anything."""
    (size,) = struct.unpack("!I", blob[:4])
    tree = json.loads(blob[4:4 + size])
    with np.load(io.BytesIO(blob[4 + size:]), allow_pickle=False) as archive:
        arrays = [archive[f"arr_{i}"] for i in range(len(archive.files))]

    def dec(v):
        if isinstance(v, dict):
            if "__array__" in v:
                return arrays[v["__array__"]]
            if "__float__" in v:
                return float(v["__float__"])
            if "__seq__" in v:
                items = [dec(x) for x in v["items"]]
                return tuple(items) if v["__seq__"] == "tuple" else items
            if "__dict__" in v:
                return {k: dec(x) for k, x in v["__dict__"]}
            if "__opaque__" in v:
                return Opaque(v["__opaque__"], v.get("why", ""))
        return v
    return dec(tree)
