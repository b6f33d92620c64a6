"""Tests for explorer/components/charts.py: the lines over timesteps get one row per step and
series, in the order of their steps, as Streamlit sends them to the browser."""
from __future__ import annotations

import json

import numpy as np
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df
from streamlit.testing.v1 import AppTest


def test_step_lines_sends_a_row_per_step_and_series_and_sorts_the_steps_by_number():
    def page():
        import numpy as np

        from explorer.components.charts import step_lines
        step_lines({"t": range(3), "step": ["0: a", "1: b", "2: c"], "p": np.array([0.1, 0.2, 0.3], np.float32),
                    "q": [1.0, float("nan"), 3.0]}, "step", ["p", "q"], y_title="y", log=True)
        step_lines({"t": [2, 0, 1], "step": ["2: c", "0: a", "1: b"], "p": [0.3, 0.1, 0.2]}, "step", ["p"],
                   y_title="y")

    at = AppTest.from_function(page).run()
    assert not at.exception
    first, second = at.get("vega_lite_chart")
    rows = convert_arrow_bytes_to_pandas_df(first.proto.data.data)
    assert list(rows.columns) == ["step", "t", "series", "value"]
    assert list(rows["series"]) == ["p"] * 3 + ["q"] * 3
    assert list(rows["step"]) == ["0: a", "1: b", "2: c"] * 2 and list(rows["t"]) == [0, 1, 2] * 2
    np.testing.assert_allclose(rows["value"][:3], [0.1, 0.2, 0.3], rtol=1e-6)
    assert rows["value"][3] == 1.0 and np.isnan(rows["value"][4]) and rows["value"][5] == 3.0
    spec = json.loads(first.proto.spec)
    assert spec["encoding"]["x"]["sort"] == ["0: a", "1: b", "2: c"] and spec["encoding"]["y"]["scale"]["type"] == "log"
    assert json.loads(second.proto.spec)["encoding"]["x"]["sort"] == ["0: a", "1: b", "2: c"]   # by t, not as given
