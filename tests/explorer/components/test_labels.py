"""Tests for explorer/components/labels.py: a text column becomes coloured one-tag lists."""
from __future__ import annotations

import pandas as pd

from explorer.components.labels import label_column


def test_each_text_becomes_a_tag_coloured_by_its_kind():
    frame = pd.DataFrame({"Run": ["a", "b", "c"], "Status": ["done", "queued (#2)", "done"]})
    config = label_column(frame, "Status", lambda text: "#15803d" if text == "done" else "#6b7280", width=140)
    assert frame["Status"].tolist() == [["done"], ["queued (#2)"], ["done"]]
    assert frame["Run"].tolist() == ["a", "b", "c"]
    assert config["type_config"]["type"] == "multiselect" and config["width"] == 140
    options = {o["value"]: o["color"] for o in config["type_config"]["options"]}
    assert options == {"done": "#15803d", "queued (#2)": "#6b7280"}
