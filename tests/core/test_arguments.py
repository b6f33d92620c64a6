"""core.arguments: the one rule for whole numbers, and the checks built on it."""
import math

import numpy as np
import pytest

from core.arguments import is_number, is_positive, is_whole, positive_int, positive_number


@pytest.mark.parametrize("value", [0, 7, -3, np.int64(5), np.uint8(2), 2 ** 40])
def test_ints_are_whole(value):
    assert is_whole(value)


@pytest.mark.parametrize("value", [True, False, np.bool_(True), 3.0, np.float32(2), "3", None, [1]])
def test_bools_floats_and_others_are_not_whole_by_default(value):
    assert not is_whole(value)


@pytest.mark.parametrize("value, expected", [(3.0, True), (np.float32(4), True), (2.5, False),
                                             (math.nan, False), (math.inf, False), (-math.inf, False),
                                             (True, False), (5, True)])
def test_integral_floats_count_only_when_asked(value, expected):
    assert is_whole(value, integral_floats=True) is expected


@pytest.mark.parametrize("value, low, high, expected", [
    (1, 1, 10, True), (10, 1, 10, True), (0, 1, 10, False), (11, 1, 10, False),
    (-5, None, 0, True), (10 ** 9, 1, None, True), (0, 1, None, False),
    (2 ** 32 - 1, 0, 2 ** 32 - 1, True), (2 ** 32, 0, 2 ** 32 - 1, False)])
def test_bounds_include_both_ends(value, low, high, expected):
    assert is_whole(value, low, high) is expected


def test_positive_int_takes_whole_floats_and_names_the_argument():
    assert positive_int("batch_size", 3.0) == 3 and type(positive_int("n", np.int32(2))) is int
    for bad in (0, -1, 2.5, True, "4", math.nan):
        with pytest.raises(ValueError, match="batch_size must be a positive integer"):
            positive_int("batch_size", bad)


def test_positive_number_and_is_number():
    assert positive_number("lr", 5e-3) == 5e-3 and is_number(np.float32(1)) and not is_number(True)
    for bad in (0, -1e-3, math.inf, math.nan, None, False):
        with pytest.raises(ValueError, match="lr must be a positive number"):
            positive_number("lr", bad)


@pytest.mark.parametrize("value, expected", [(5e-3, True), (np.float32(0.1), True), (3, True), (0, False),
                                             (-1e-9, False), (math.inf, False), (math.nan, False),
                                             (True, False), ("1", False), (None, False)])
def test_is_positive_is_above_zero_and_finite(value, expected):
    assert is_positive(value) is expected
