"""Caption Lab's entry point and router: `streamlit run explorer/app.py` from the repo root.

Page configuration, presenter mode (`explorer.presenter`), the reader's language
(`explorer.i18n`), who the browser is (its owner id, whether it is the admin's:
`explorer.cookies`, `explorer.admin`), what the address holds (`explorer.address`; a
class's link, `?class=CODE`, opens the Lesson page whatever page it names), the shared
sidebar, then `st.navigation` over the scripts in the top-level `pages/` folder
(listed here, since Streamlit only discovers a `pages/` folder that sits next to the
entry point).
"""
from pathlib import Path

import streamlit as st

from explorer import address, admin, i18n, presenter, state, styles
from explorer.components import class_panel, exports
from explorer.components.sidebar import dataset_sidebar
from explorer.i18n import _

PAGES = Path(__file__).resolve().parent.parent / "pages"

presenter.start()
st.set_page_config(page_title="Caption Lab", page_icon="🖼️", layout="wide",
                   initial_sidebar_state=presenter.initial_sidebar())
styles.apply()
i18n.start()
presenter.style()
state.start_owner()
admin.start()
navigation = st.navigation({
    "Caption Lab": [st.Page(PAGES / "home.py", title=_("Home"), icon=":material/home:", default=True),
                    st.Page(PAGES / "lesson.py", title=_("Lesson"), icon=":material/school:")],
    _("Data"): [st.Page(PAGES / "browse.py", title=_("Browse"), icon=":material/photo_library:"),
                st.Page(PAGES / "layer_lab.py", title=_("Layer lab"), icon=":material/functions:")],
    _("Model"): [st.Page(PAGES / "train.py", title=_("Train"), icon=":material/monitoring:"),
                 st.Page(PAGES / "inspect.py", title=_("Inspect"), icon=":material/neurology:"),
                 st.Page(PAGES / "compare.py", title=_("Compare"), icon=":material/compare:"),
                 st.Page(PAGES / "your_code.py", title=_("Your code"), icon=":material/code:")],
})
first_run = address.PAGE not in st.session_state
address.start(navigation.url_path)
if first_run and class_panel.PARAM in st.query_params and navigation.url_path != "lesson":
    st.switch_page(PAGES / "lesson.py", query_params=st.query_params.to_dict())   # a class's link: its lesson
class_panel.watch_first(navigation.url_path)   # a follower's poll of the class, before anything else
sidebar_health = dataset_sidebar()
with st.sidebar:
    exports.name_downloads()                # a chart's download is named after what it shows
try:
    navigation.run()
    address.finish()           # not after st.stop() or a page switch: that run did not show its whole view
finally:                       # also after a page's st.stop(): the counts include its images
    sidebar_health()
