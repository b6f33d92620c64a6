"""What the address holds, in real browsers: a link to a view reopens it in a fresh browser,
Copy link gives it, a reload keeps the owner and the admin, and neither the owner id nor the
admin's token is ever in the address. Each Playwright context is another person's browser.

One app server for the module, with an admin token set (so no browser is the admin by
being on the server's own machine).
"""
import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from core.data.demo import ensure_demo_dataset
from explorer import cookies
from explorer.admin import proof
from explorer.runs.base import RESCAN_SECONDS
from explorer.runs.local import LocalRunner
from explorer.runs.settings import RunConfig

from .conftest import assert_no_errors, open_page, screenshot, start_app, stop_app, wait_idle

pytestmark = pytest.mark.browser

TOKEN = "sesame-0123"
VIEW = "image=val:42&strategy=temperature&temperature=0.7&seed=3"
STICKY = {"lesson": "captioning", "step": "2"}    # other parts' parameters (`class` routes: test_class.py)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("address-app")
    process, url = start_app(tmp, env={"CAPTION_LAB_ADMIN_TOKEN": TOKEN})
    yield url, tmp / "runs"
    stop_app(process)


def browser_of(browser):
    """Another person's browser: its own context (its own cookies)."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(30_000)
    return page


def query(page) -> dict:
    """The page's address's query parameters; never an identity or a secret."""
    params = {k: v[-1] for k, v in parse_qs(urlsplit(page.url).query).items()}
    assert "me" not in params and "admin" not in params, page.url
    return params


def owner_of(page) -> str:
    return next(c["value"] for c in page.context.cookies() if c["name"] == cookies.OWNER)


def heading(page) -> str:
    return page.locator("h3", has_text=re.compile(r"^Step \d+:")).first.inner_text()


def model_line(page) -> str:
    return page.locator('[data-testid="stMarkdownContainer"]', has_text="Model:").first.inner_text()


def download_allowed(page) -> bool:
    """Whether the sidebar's COCO download may be started here (the admin's alone)."""
    page.locator('[data-testid="stSidebar"]').get_by_text("Download COCO", exact=True).first.click()
    wait_idle(page)
    return page.locator(".st-key-app-download_start button").is_enabled()


def test_a_link_reopens_the_view_and_the_browser_not_the_address_says_who(browser, server):
    url, runs_dir = server
    teacher = browser_of(browser)
    teacher.context.grant_permissions(["clipboard-read", "clipboard-write"])
    sticky = "&".join(f"{k}={v}" for k, v in STICKY.items())
    teacher.goto(f"{url}/inspect?me={'0' * 32}&admin={TOKEN}&{sticky}&{VIEW}")
    wait_idle(teacher)
    assert query(teacher) | STICKY == query(teacher)
    me = owner_of(teacher)
    assert re.fullmatch(r"[0-9a-f]{32}", me) and me != "0" * 32          # made by the server, not the link's
    admin_cookie = next(c for c in teacher.context.cookies() if c["name"] == cookies.ADMIN)
    assert admin_cookie["value"] == proof(TOKEN) and TOKEN not in admin_cookie["value"]
    assert admin_cookie["sameSite"] == "Strict"
    for _ in range(3):
        teacher.locator(".st-key-inspect-step button").click()
        wait_idle(teacher)
    view = query(teacher)
    assert view | {"image": "val:42", "strategy": "temperature", "temperature": "0.7", "seed": "3", "t": "2",
                   "tab": "step-through"} == view
    shown = heading(teacher)
    assert shown.startswith("Step 2:")
    teacher.get_by_text("Copy link", exact=True).click()
    teacher.get_by_text("Link copied", exact=True).wait_for()
    assert teacher.evaluate("navigator.clipboard.readText()") == teacher.url
    screenshot(teacher, "address-inspect-linked")

    student = browser_of(browser)                                        # the link, in another browser
    student.add_init_script("Object.defineProperty(navigator, 'clipboard', {value: undefined})")
    student.goto(teacher.url)
    wait_idle(student)
    assert_no_errors(student)
    assert heading(student) == shown and query(student) == view
    assert student.get_by_text("val image #42").count() >= 1
    assert owner_of(student) != me
    student.get_by_text("Copy link", exact=True).click()                # no clipboard here: the link to copy by hand
    assert student.get_by_label("The link to copy").input_value() == student.url
    assert cookies.ADMIN not in [c["name"] for c in student.context.cookies()]

    open_page(teacher, "Compare")                                        # a page switch keeps the others' parameters
    assert query(teacher) | STICKY | {"lang": "en"} == query(teacher) and "t" not in query(teacher)
    teacher.get_by_text("Copy link", exact=True).click()
    teacher.get_by_text("Link copied", exact=True).wait_for()
    assert teacher.evaluate("navigator.clipboard.readText()") == teacher.url
    open_page(teacher, "Inspect")
    assert query(teacher)["image"] == "val:42"

    runner = LocalRunner(runs_dir)                                       # the teacher trains a model
    try:
        run_id = runner.start(RunConfig(hidden_dim=32, wordvec_dim=16, num_epochs=10, snapshot_every=5),
                              {"base_dir": str(ensure_demo_dataset()), "pca_features": True, "is_demo": True},
                              owner=me)
        assert runner.wait(run_id, timeout=180).status == "done"
    finally:
        runner.shutdown()
    time.sleep(RESCAN_SECONDS + 0.5)           # the app looks for runs another server added this often
    teacher.reload()                                                     # F5: the same person, still the admin
    wait_idle(teacher)
    assert owner_of(teacher) == me and query(teacher) | STICKY | {"run": run_id, "image": "val:42"} == query(teacher)
    assert model_line(teacher).endswith("your run")
    student.goto(f"{url}/inspect")                                       # the student does not get the teacher's model
    wait_idle(student)
    assert "untrained" in model_line(student) and "run" not in query(student)
    screenshot(student, "address-another-browser")
    assert download_allowed(teacher)
    assert not download_allowed(student)
    teacher.context.close()
    student.context.close()


def test_a_hostile_link_and_hostile_cookies_give_sentences_and_the_default_view(browser, server):
    url, _runs = server
    page = browser_of(browser)
    forged = {cookies.OWNER: "../../" + "a" * 32, cookies.ADMIN: "0" * 64}   # not an id; not the token's proof
    page.context.add_cookies([{"name": name, "value": value, "url": url} for name, value in forged.items()])
    page.goto(f"{url}/inspect?run=../../etc&image=val:99999&t=-5&strategy=<b>x</b>&seed=1e9&tab=%3Cscript%3E"
              f"&admin=wrong&me=abc")
    wait_idle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    warnings = page.locator('[data-testid="stAlertContentWarning"]').all_inner_texts()
    assert len(warnings) == 5, warnings
    assert query(page) | {"image": "val:0", "strategy": "greedy", "tab": "step-through"} == query(page)
    assert not {"run", "t", "seed"} & set(query(page))
    screenshot(page, "address-hostile-link")
    assert re.fullmatch(r"[0-9a-f]{32}", owner_of(page))              # a fresh owner id replaced the forged one
    assert not download_allowed(page)                                 # and a forged proof is not the admin's
    page.context.close()
