"""Coloured labels in a table: a status column drawn as tags, without a pandas Styler.

    config = label_column(frame, "Status", lambda text: "#15803d" if text == "done" else "#dc2626")
    st.dataframe(frame, column_config={"Status": config})

A Styler is the other way to colour a cell, and Streamlit sends one by formatting every
cell of the table through pandas, tens of milliseconds of the server's one core for
even a small table, on every rerun of every session (the runs table reruns every second
while runs train). A read-only `MultiselectColumn` draws each value as a coloured tag
for the price of a one-item list per cell.
"""
from __future__ import annotations

from typing import Callable

import pandas as pd
import streamlit as st


def label_column(frame: pd.DataFrame | dict, column: str, colour: Callable[[str], str], **options):
    """Turn `frame[column]` (text) into one-tag lists, in place, and return the column config
    that colours each tag by `colour(text)` (a CSS colour). `frame` is a DataFrame or a dict
    of columns (`tables.table`'s). `options` go to the column config."""
    texts = [str(t) for t in frame[column]]
    kinds = list(dict.fromkeys(texts))
    frame[column] = [[t] for t in texts]
    return st.column_config.MultiselectColumn(options=kinds, color=[colour(t) for t in kinds], **options)
