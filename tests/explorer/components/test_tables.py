"""Tests for explorer/components/tables.py: small tables built as Arrow tables, read back as Streamlit sends them."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from streamlit import dataframe_util

from explorer.components.tables import repeated, table


def test_a_table_keeps_its_columns_order_types_and_missing_values():
    built = table({"run": ["a", "b"], "loss": [np.float32(1.5), None], "iteration": np.array([3, 4]),
                   "status": [["done"], ["running"]], "demo": [True, False]})
    assert built.column_names == ["run", "loss", "iteration", "status", "demo"]
    frame = dataframe_util.convert_arrow_bytes_to_pandas_df(dataframe_util.convert_arrow_table_to_arrow_bytes(built))
    assert list(frame["run"]) == ["a", "b"] and frame["loss"][0] == 1.5 and np.isnan(frame["loss"][1])
    assert list(frame["iteration"]) == [3, 4] and [list(s) for s in frame["status"]] == [["done"], ["running"]]
    assert list(frame["demo"]) == [True, False]


def test_an_empty_table_still_has_its_columns():
    assert table({"run": [], "loss": []}).column_names == ["run", "loss"]
    assert table({"run": [], "loss": []}).num_rows == 0


def test_columns_of_different_lengths_are_refused_by_name():
    with pytest.raises(ValueError, match="run"):
        table({"run": ["a", "b"], "loss": [1.0]})


def test_an_arrow_array_goes_in_as_it_is():
    column = pa.array(["x"], type=pa.large_string())
    assert table({"name": column}).schema.field("name").type == pa.large_string()


def test_nan_is_a_missing_value_as_in_a_pandas_frame():
    """Compare's BLEU of an image without references is NaN: Streamlit's NumberColumn draws a
    missing value blank, and a NaN as an error."""
    built = table({"bleu": [0.5, float("nan")], "array": np.array([np.nan, 1.0], dtype=np.float32)})
    assert built.column("bleu").null_count == 1 and built.column("array").null_count == 1
    assert built.column("bleu").to_pylist() == [0.5, None]


def test_headers_name_the_columns_they_list_and_leave_the_others():
    built = table({"loss": [1.0], "words": [3]}, headers={"loss": "perte"})
    assert built.column_names == ["perte", "words"]


def test_a_repeated_label_column_reads_back_as_each_label_in_turn_the_same_label_twice_included():
    labels = ["0: a", "1: dog", "2: a", "1: dog"]                   # a label may come back
    column = repeated(labels, 3)
    assert isinstance(column, pa.DictionaryArray) and column.dictionary.to_pylist() == ["0: a", "1: dog", "2: a"]
    built = table({"step": column, "value": np.arange(12.0)})
    frame = dataframe_util.convert_arrow_bytes_to_pandas_df(dataframe_util.convert_arrow_table_to_arrow_bytes(built))
    assert frame["step"].tolist() == [label for label in labels for _k in range(3)]
    assert repeated(labels, 0).to_pylist() == [] and repeated([], 4).to_pylist() == []


def test_a_repeated_label_column_takes_a_count_per_label():
    column = repeated(["run a", "ref", "run a"], [2, 0, 1])          # a loss chart's curves, one without points
    assert column.to_pylist() == ["run a", "run a", "run a"] and column.dictionary.to_pylist() == ["run a", "ref"]
    assert column.indices.type == pa.int32()
