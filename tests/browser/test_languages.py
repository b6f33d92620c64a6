"""Every page in Chinese and Korean in a real browser, and nothing cut off in any language
on a 1024-px projector or a 1280-px laptop."""
import pytest

from explorer import i18n
from explorer.i18n import _

from tests.support.waiting import wait_for

from .conftest import assert_no_errors, screenshot, wait_idle

pytestmark = pytest.mark.browser

PAGES = ["", "browse", "layer_lab", "train", "inspect", "compare", "your_code"]   # url paths

# elements whose text Streamlit cuts with an ellipsis (or hides) when it does not fit
CUT_OFF = """() => {
  const selectors = ['[data-testid="stMetricValue"]', '[data-testid="stMetricLabel"]',
                     '[data-testid="stMetricDelta"]', '[data-testid="stWidgetLabel"]',
                     'button[data-testid^="stBaseButton"]', 'button[role="tab"]',
                     '[data-testid="stSidebarNavLink"]', '[data-testid="stExpander"] summary'];
  const cut = [];
  for (const el of document.querySelectorAll(selectors.join(','))) {
    if (!el.offsetParent) continue;                       // not shown
    for (const node of [el, ...el.querySelectorAll('*')]) {
      const style = getComputedStyle(node);
      const clips = style.textOverflow === 'ellipsis' || style.overflow === 'hidden' || style.overflowX === 'hidden';
      if (clips && node.scrollWidth > node.clientWidth + 1 && node.innerText.trim()) {
        cut.push(node.innerText.trim().slice(0, 60)); break;
      }
    }
  }
  return cut;
}"""


@pytest.fixture
def tab(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    p = context.new_page()
    p.set_default_timeout(30_000)
    yield p
    context.close()


def visit(tab, app_url, path, lang):
    tab.goto(f"{app_url}/{path}?lang={lang}")
    wait_idle(tab)
    assert_no_errors(tab)


@pytest.fixture(scope="module")
def a_finished_run(browser, app_url):
    """The Train page with a run to follow (its panel has the most controls): the Notebook
    RNN overfit preset, started from the form and trained to the end."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    visit(tab, app_url, "train", "en")
    if tab.get_by_text("Follow run", exact=True).count() == 0:        # no run yet
        tab.get_by_role("button", name="Start").click()
    wait_for(lambda: "done" in tab.locator('[data-testid="stMain"]').inner_text(), timeout=180,
             what="the run to finish")
    context.close()


def scripts_text(tab, lang) -> int:
    """How many characters of `lang`'s script the main area shows (Han for zh, Hangul for ko)."""
    text = tab.locator('[data-testid="stMain"]').inner_text()
    return sum(("\u4e00" <= ch <= "\u9fff") if lang == "zh" else ("\uac00" <= ch <= "\ud7a3") for ch in text)


@pytest.mark.parametrize("lang", ["en", "zh", "ko"])
def test_every_page_reads_in_the_language_and_nothing_is_cut_off_at_1280_or_1024_px(tab, app_url, a_finished_run,
                                                                                   lang):
    """Every page (Train with a run to follow), at a laptop's 1280 px and then a projector's
    1024 px; in Chinese and Korean a screenshot of each, to look at."""
    cut = {}
    for path in PAGES:
        tab.set_viewport_size({"width": 1280, "height": 900})
        visit(tab, app_url, path, lang)
        assert tab.locator("h1").first.inner_text().strip()
        if lang != "en":
            assert scripts_text(tab, lang) > 20, (path, tab.locator('[data-testid="stMain"]').inner_text()[:300])
            screenshot(tab, f"lang-{lang}-{path or 'home'}")
        for width in (1280, 1024):
            tab.set_viewport_size({"width": width, "height": 900})
            tab.wait_for_timeout(300)                          # the layout follows the new width
            found = tab.evaluate(CUT_OFF)
            if found:
                cut[f"{path or 'home'} at {width} px"] = found
    assert not cut, cut


def test_the_cut_off_check_sees_a_metric_that_does_not_fit(tab, app_url):
    visit(tab, app_url, "browse", "en")
    tab.get_by_role("tab").nth(1).click()                   # Statistics: a row of metrics
    wait_idle(tab)
    assert tab.evaluate(CUT_OFF) == []
    tab.evaluate("""() => { const v = document.querySelector('[data-testid="stMetricValue"]');
                            v.querySelector('div').innerText = '1,000,000,000 of 1,000,000,000 words'; }""")
    assert any("1,000,000,000 of" in text for text in tab.evaluate(CUT_OFF))


@pytest.mark.parametrize("lang", ["en", "zh", "ko"])
def test_browse_statistics_fit_with_the_real_coco_numbers(tab, app_url, lang):
    """The real dataset's figures (400,135 captions, 11.5 words, 1,000 of 1,004 words used),
    written into Browse's metrics as the page writes them in `lang`, still fit at 1280 and
    1024 px."""
    i18n.use(lang)
    try:
        values = ["400,135", _("{n:.1f} words").format(n=11.5), "0.33%",
                  _("{used:,} of {size:,}").format(used=1000, size=1004)]
    finally:
        i18n.use("en")
    visit(tab, app_url, "browse", lang)
    tab.get_by_role("tab").nth(1).click()
    wait_idle(tab)
    assert tab.locator('[data-testid="stMetricValue"]').count() == 4
    tab.evaluate("""values => document.querySelectorAll('[data-testid="stMetricValue"]').forEach(
                        (v, k) => { v.querySelector('div').innerText = values[k]; })""", values)
    for width in (1280, 1024):
        tab.set_viewport_size({"width": width, "height": 900})
        tab.wait_for_timeout(300)
        assert tab.evaluate(CUT_OFF) == [], width
    screenshot(tab, f"browse-statistics-{lang}-1024")


@pytest.mark.parametrize("locale, lang", [("ko-KR", "ko"), ("zh-CN", "zh"), ("fr-FR", "en")])
def test_a_first_visit_reads_the_browsers_language_and_a_shared_link_keeps_it(browser, app_url, locale, lang):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale=locale)
    try:
        tab = context.new_page()
        tab.goto(f"{app_url}/train")
        wait_idle(tab)
        assert f"lang={lang}" in tab.url                      # the address says it, for a shared link
        heading = tab.locator("h1").first.inner_text()
        i18n.use(lang)
        try:
            assert heading == _("Train") or _("Train") in heading, heading
        finally:
            i18n.use("en")
        tab.goto(f"{app_url}/train?lang=en")                  # a link with ?lang= wins over the browser
        wait_idle(tab)
        assert "Train" in tab.locator("h1").first.inner_text()
    finally:
        context.close()


def test_after_a_switch_in_the_sidebar_the_radio_groups_still_show_their_choice(tab, app_url):
    """The sidebar's Dataset source and Train's preset: a checked option after the switch,
    in the new language's labels (the browser held the old label, which matched nothing)."""
    visit(tab, app_url, "train", "en")
    checked = "() => [...document.querySelectorAll('[data-testid=\"stRadio\"]')].map(" \
              "g => g.querySelector('input:checked')?.closest('label')?.innerText ?? null)"
    before = tab.evaluate(checked)
    assert len(before) >= 2 and None not in before, before
    tab.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first.click()
    tab.get_by_role("option", name="简体中文").click()
    wait_idle(tab)
    assert scripts_text(tab, "zh") > 20
    after = tab.evaluate(checked)
    screenshot(tab, "language-switch-radios-zh")
    assert len(after) == len(before) and None not in after and after != before, (before, after)
