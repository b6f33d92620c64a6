"""A 1280x720 projector and a laptop at 150% zoom (853x480 CSS pixels: zoom shrinks the CSS
viewport; a device scale factor would not): the sidebar leaves the page most of the screen,
Inspect's tabs all stay in sight, and no control's label is cut by its cell."""
import pytest

from .conftest import assert_no_errors, screenshot, wait_idle

pytestmark = pytest.mark.browser

# controls whose text is hidden by an ancestor that clips (a grid cell, a column), or that
# scroll out of their own strip
CLIPPED = """() => {
  const cut = [];
  for (const el of document.querySelectorAll('[data-testid="stButtonGroup"] button, [role="tab"], '
                                             + '[data-testid="stWidgetLabel"]')) {
    if (!el.offsetParent) continue;
    const box = el.getBoundingClientRect();
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      const style = getComputedStyle(a);
      if (style.overflowX === 'visible') continue;
      const outer = a.getBoundingClientRect();
      if (box.right > outer.right + 1 || box.left < outer.left - 1) { cut.push(el.innerText.trim()); break; }
    }
  }
  return cut;
}"""


@pytest.mark.parametrize("width, height", [(1280, 720), (853, 480)])
def test_the_sidebar_tabs_and_controls_fit_a_projector_and_150_percent_zoom(browser, app_url, width, height):
    context = browser.new_context(viewport={"width": width, "height": height})
    try:
        tab = context.new_page()
        tab.set_default_timeout(30_000)
        for path, open_tab in (("inspect", None), ("compare", "Train vs val examples")):
            tab.goto(f"{app_url}/{path}?lang=en")
            wait_idle(tab)
            assert_no_errors(tab)
            if open_tab:
                tab.get_by_role("tab", name=open_tab).click()
                wait_idle(tab)
            sidebar = tab.locator('[data-testid="stSidebar"]').bounding_box()["width"]
            assert sidebar <= (0.24 if width < 1000 else 0.25) * width, sidebar
            strip = tab.evaluate("""() => { const l = document.querySelector('[role="tablist"]');
                                            return [l.scrollWidth, l.clientWidth]; }""")
            assert strip[0] <= strip[1], strip                 # no tab scrolled out of sight
            assert tab.evaluate(CLIPPED) == []
            tab.locator('[role="tablist"]').scroll_into_view_if_needed()
            screenshot(tab, f"narrow-{path}-{width}x{height}")
    finally:
        context.close()
