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


def is_positive(value) -> bool:
    """Whether `value` is a real number above zero and finite (never NaN, infinity or a bool)."""
    return is_number(value) and bool(0 < value < np.inf)


def is_whole(value, low=None, high=None, *, integral_floats: bool = False) -> bool:
    """Whether `value` is a whole number from `low` to `high` (both included; None: no bound).

    A whole number is an int, numpy's included, never a bool; with `integral_floats` a
    float that holds one (3.0, never NaN or infinity) counts too. The one rule for every
    count, size and seed a caller gives the core or the app.
    """
    if integral_floats:
        if not is_number(value) or not float(value).is_integer():
            return False
    elif not isinstance(value, (int, np.integer)) or isinstance(value, (bool, np.bool_)):
        return False
    return (low is None or value >= low) and (high is None or value <= high)


def positive_int(name: str, value) -> int:
    """`value` as an int if it is a whole number >= 1 (3 or 3.0), else a ValueError naming `name`."""
    if not is_whole(value, 1, integral_floats=True):
        raise ValueError(message("{name} must be a positive integer, got {value!r}", name=name, value=value))
    return int(value)


def positive_number(name: str, value) -> float:
    """`value` as a float if it is finite and > 0, else a ValueError naming `name`."""
    if not is_positive(value):
        raise ValueError(message("{name} must be a positive number, got {value!r}", name=name, value=value))
    return float(value)
