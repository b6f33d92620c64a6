"""What a page script must not hold: it runs anew on every run of its page."""
import ast
from pathlib import Path

import pytest

PAGES = sorted((Path(__file__).resolve().parents[2] / "pages").glob("*.py"))
CACHES = {"cache_data", "cache_resource", "spinning"}


def _decorator_names(node):
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        yield target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.stem)
def test_no_cache_is_decorated_in_a_page_script(page):
    """A cache decorated in a page script is decorated again on every run: Streamlit rebuilds
    its key from the function's source each time and `spinning` forgets what it answered, so
    the cache is only reached through a fresh spinner. Cached work lives in a module."""
    tree = ast.parse(page.read_text(encoding="utf-8"))
    cached = [node.name for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
              and CACHES & set(_decorator_names(node))]
    assert not cached, f"{page.name} decorates {cached} with a cache: move them to a module it imports"


def test_the_scan_finds_a_cache_decorated_in_a_script(tmp_path):
    script = tmp_path / "page.py"
    script.write_text("import streamlit as st\n\n@st.cache_data(max_entries=2)\ndef f(x):\n    return x\n")
    with pytest.raises(AssertionError, match=r"\['f'\]"):
        test_no_cache_is_decorated_in_a_page_script(script)
