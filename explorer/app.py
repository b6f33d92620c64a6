"""Caption Lab's entry point and router: `streamlit run explorer/app.py` from the repo root.

Page configuration, presenter mode (`explorer.presenter`), the reader's language
(`explorer.i18n`), who the browser is (its owner id, whether it is the admin's:
`explorer.cookies`, `explorer.admin`), what the address holds (`explorer.address`; a
class's link, `?class=CODE`, opens the Lesson page whatever page it names), the shared
sidebar, then `st.navigation` over the scripts in the top-level `pages/` folder
(listed in `explorer.site_map`, since Streamlit only discovers a `pages/` folder that
sits next to the entry point).
"""
import streamlit as st

from explorer import address, admin, i18n, presenter, site_map, state, styles
from explorer.components import class_panel, exports
from explorer.components.sidebar import dataset_sidebar

presenter.start()
st.set_page_config(page_title="Caption Lab", page_icon="🖼️", layout="wide",
                   initial_sidebar_state=presenter.initial_sidebar())
styles.apply()
i18n.start()
presenter.style()
state.start_owner()
admin.start()
navigation = st.navigation(site_map.sections())
first_run = address.PAGE not in st.session_state
address.start(navigation.url_path)
if first_run and class_panel.PARAM in st.query_params and navigation.url_path != "lesson":
    st.switch_page(site_map.PAGES / "lesson.py", query_params=st.query_params.to_dict())   # a class's link: its lesson
class_panel.watch_first(navigation.url_path)   # a follower's poll of the class, before anything else
sidebar_health = dataset_sidebar()
with st.sidebar:
    exports.name_downloads()                # a chart's download is named after what it shows
try:
    navigation.run()
    address.finish()           # not after st.stop() or a page switch: that run did not show its whole view
finally:                       # also after a page's st.stop(): the counts include its images
    sidebar_health()
