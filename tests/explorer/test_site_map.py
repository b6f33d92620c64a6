"""The app's pages: built once per language, and each run's own copies."""
from __future__ import annotations

from streamlit.testing.v1 import AppTest

SCRIPT = r"""
import streamlit as st
from explorer import i18n, site_map

def pages(sections):
    return [page for section in sections.values() for page in section]

site_map._sections.cache_clear()
i18n.use("en")
first, second = site_map.sections(), site_map.sections()
chosen = st.navigation(first)                     # marks the page it picks as this run's
i18n.use("zh")
chinese = site_map.sections()
st.session_state["result"] = {
    "sections": list(first), "titles": [p.title for p in pages(first)],
    "same_objects": sum(a is b for a, b in zip(pages(first), pages(second))),
    "same_scripts": all(a._page == b._page and a.url_path == b.url_path for a, b in zip(pages(first), pages(second))),
    "chosen": chosen.url_path, "chosen_in_first": pages(first)[0]._can_be_called,
    "chosen_in_second": pages(second)[0]._can_be_called, "chosen_in_built": site_map._sections("en")[0][1][0]._can_be_called,
    "chinese_titles": [p.title for p in pages(chinese)], "chinese_sections": list(chinese),
    "builds": site_map._sections.cache_info().misses,
}
i18n.use("en")
"""


def test_each_run_gets_its_own_copies_of_pages_built_once_per_language():
    at = AppTest.from_string(SCRIPT).run()
    assert not at.exception
    result = at.session_state["result"]
    assert result["sections"] == ["Caption Lab", "Data", "Model"]
    assert result["titles"] == ["Home", "Lesson", "Browse", "Layer lab", "Train", "Inspect", "Compare", "Your code"]
    assert result["same_objects"] == 0 and result["same_scripts"]
    # st.navigation marked this run's Home as the page it runs; no other run's copy, nor the built one
    assert result["chosen"] == "" and result["chosen_in_first"]
    assert not result["chosen_in_second"] and not result["chosen_in_built"]
    assert result["builds"] == 2                                   # English once, Chinese once
    from explorer import i18n
    chinese = i18n.translations("zh")
    assert result["chinese_titles"][0] == chinese.gettext("Home") != "Home"
    assert result["chinese_sections"][1:] == [chinese.gettext("Data"), chinese.gettext("Model")]
