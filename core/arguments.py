"""Checking the numbers a caller hands the core: a ValueError that names the argument.

Shared by the model, the solver, the optimisers' config check and the decoders, so a
bad option (None, a string, a bool, NaN, infinity, 2.5 where a count is wanted) is
refused up front with its name, never by a TypeError from deep inside numpy.
"""
from __future__ import annotations

import numpy as np

from .text import message


def is_number(value) -> bool:
    """True for a real int or float (numpy's included), False for bools and anything else."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def positive_int(name: str, value) -> int:
    """`value` as an int if it is a whole number >= 1 (3 or 3.0), else a ValueError naming `name`."""
    if not is_number(value) or not float(value).is_integer() or value < 1:
        raise ValueError(message("{name} must be a positive integer, got {value!r}", name=name, value=value))
    return int(value)


def positive_number(name: str, value) -> float:
    """`value` as a float if it is finite and > 0, else a ValueError naming `name`."""
    if not is_number(value) or not 0 < value < np.inf:
        raise ValueError(message("{name} must be a positive number, got {value!r}", name=name, value=value))
    return float(value)
