"""Caption Lab's entry point and router: `streamlit run explorer/app.py` from the repo root.

Page configuration, the shared sidebar, then `st.navigation` over the scripts in the
top-level `pages/` folder (listed here, since Streamlit only discovers a `pages/`
folder that sits next to the entry point).
"""
from pathlib import Path

import streamlit as st

from explorer import state
from explorer.components.sidebar import dataset_sidebar

PAGES = Path(__file__).resolve().parent.parent / "pages"

st.set_page_config(page_title="Caption Lab", page_icon="🖼️", layout="wide")
state.owner_id()
navigation = st.navigation({
    "Caption Lab": [st.Page(PAGES / "home.py", title="Home", icon=":material/home:", default=True)],
    "Data": [st.Page(PAGES / "browse.py", title="Browse", icon=":material/photo_library:"),
             st.Page(PAGES / "layer_lab.py", title="Layer lab", icon=":material/functions:")],
    "Model": [st.Page(PAGES / "train.py", title="Train", icon=":material/monitoring:"),
              st.Page(PAGES / "inspect.py", title="Inspect", icon=":material/neurology:"),
              st.Page(PAGES / "compare.py", title="Compare", icon=":material/compare:"),
              st.Page(PAGES / "your_code.py", title="Your code", icon=":material/code:")],
})
sidebar_health = dataset_sidebar()
try:
    navigation.run()
finally:                       # also after a page's st.stop(): the counts include its images
    sidebar_health()
