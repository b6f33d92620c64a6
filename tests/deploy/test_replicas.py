"""A class's deployment on loopback: Redis, two app servers, an RQ worker and nginx in front
(`deploy.cluster`, the recipe the README gives), with a real browser and real Streamlit sessions.

- a run started through one app server is followed and stopped through the other;
- sessions through nginx spread evenly over both app servers, each browser stays on its
  own (nginx's cookie), and every page renders there without an exception box;
- when an app server goes down, its browsers are placed on the other one.

redis-server, nginx and chromium are Debian's; where one is missing these tests skip
with the reason, except in CI (`CI` set), where they fail.
"""
from __future__ import annotations

import asyncio
import random
from collections import Counter

import pytest
import requests

from benchmarks.streamlit_client import Session
from deploy.cluster import Cluster
from tests.browser.conftest import assert_no_errors, screenshot, wait_idle
from tests.support.services import need, stop
from tests.support.waiting import run_coroutine, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

PAGES = ["", "browse", "layer_lab", "train", "inspect", "compare", "your_code"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    need("redis-server")
    need("nginx")
    folder = tmp_path_factory.mktemp("cluster")
    # the nginx port and the next two (app servers), and Redis's (port + 100), all free, and
    # below the kernel's ephemeral range: a port in it can be taken by any outgoing
    # connection between this check and the server's bind (CI once lost an app server so)
    low = min(32768, _ephemeral_low()) - 200
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(10000, low)
        if all(_free(p) for p in (port, port + 1, port + 2, port + 100)):
            break
    with Cluster(folder, servers=2, workers=1, port=port,
                 env={"CAPTION_LAB_IMAGE_CACHE": str(folder / "image-cache")}) as running:
        yield running


def _ephemeral_low() -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _free(port: int) -> bool:
    """Nothing listens on `port` and it can be bound on loopback."""
    import socket
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def served_by(page) -> str:
    """The app server that drew the page, from the sidebar ("Served by `host:port`")."""
    text = page.locator('[data-testid="stSidebar"]').inner_text()
    assert "Served by" in text, text
    return text.split("Served by", 1)[1].split()[0].strip("`;")


def main_text(page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


def iteration(page) -> int:
    """The followed run's iteration, from its progress bar ("Iteration 86 / 2,000 · …")."""
    bars = page.locator('[data-testid="stProgress"]')
    if not bars.count():
        return 0
    words = bars.first.inner_text().replace(",", "").split()
    return int(words[1]) if words[:1] == ["Iteration"] else 0


def test_a_run_started_on_one_app_server_is_followed_and_stopped_on_the_other(cluster, browser):
    first, second = (f"http://127.0.0.1:{p}" for p in cluster.app_ports)
    a = browser.new_context(viewport={"width": 1440, "height": 1000}).new_page()
    b = a.context.new_page()            # the same browser (its owner cookie) on the other server
    for page in (a, b):
        page.set_default_timeout(30_000)
    a.goto(first + "/train")
    wait_idle(a)
    a.get_by_role("radiogroup", name="Settings").get_by_text("Custom").click()
    wait_idle(a)
    epochs = a.get_by_label("Epochs")
    epochs.fill("5000")                                   # it never ends by itself during the test
    epochs.press("Enter")
    wait_idle(a)
    a.get_by_role("button", name="Start").click()
    wait_for(lambda: iteration(a) >= 5, timeout=120, what="the run to train on a worker")
    b.goto(f"{second}/train")                             # the same student, on the other server
    wait_for(lambda: iteration(b) >= 5, timeout=120, what="the run to show on the other app server")
    assert served_by(a) != served_by(b) and served_by(b).endswith(str(cluster.app_ports[1]))
    seen = iteration(b)
    wait_for(lambda: iteration(b) > seen + 5, timeout=120, what="the other server to follow the run live")
    stop = b.locator('[data-testid="stMain"]').get_by_role("button", name="Stop", exact=True)
    assert stop.is_enabled()
    stop.click()
    wait_for(lambda: "stopped" in main_text(b), timeout=120, what="the stop, on the server that stopped it")
    wait_for(lambda: "stopped" in main_text(a), timeout=120, what="the stop, on the server that started it")
    wait_idle(b)
    screenshot(b, "replicas-stopped-on-the-other-server")
    assert "Use in Inspect & Compare" in main_text(b)
    assert_no_errors(a)
    assert_no_errors(b)
    a.context.close()


def test_sessions_through_nginx_spread_over_both_servers_stay_put_and_see_every_page(cluster):
    async def visit(http=None) -> tuple[str, list]:
        session = await Session.connect(cluster.url, http=http)
        results = [await session.open(page) for page in PAGES]
        await session.close()
        return session.served_by, results

    async def main():
        spread = await asyncio.gather(*(visit() for _ in range(16)))
        browser_like = requests.Session()                  # one browser, coming back three times
        again = [await visit(browser_like) for _ in range(3)]
        return spread, again

    spread, again = run_coroutine(main())
    ports = Counter(served.rsplit(":", 1)[-1] for served, _ in spread)
    assert set(ports) == {str(p) for p in cluster.app_ports} and min(ports.values()) >= 6, ports   # about 8 each
    assert len({served for served, _ in again}) == 1        # the cookie keeps a browser on one server
    for _, results in spread + again:
        assert [r.status for r in results] == ["ok"] * len(PAGES)
        assert sum(r.exceptions + r.errors for r in results) == 0, [(r.page, r.exceptions, r.errors) for r in results]


def test_when_an_app_server_goes_down_its_browsers_are_placed_on_the_other(cluster):
    async def visit(http) -> tuple[str, list]:
        session = await Session.connect(cluster.url, http=http)
        results = [await session.open(page) for page in ("", "train")]
        await session.close()
        return session.served_by, results

    async def main():
        browsers = [requests.Session() for _ in range(4)]
        before = [(await visit(b))[0] for b in browsers]
        doomed = next(p for p in cluster.processes if str(cluster.app_ports[0]) in p.args)
        stop(doomed)
        after = [await visit(b) for b in browsers]
        return before, after

    before, after = run_coroutine(main())
    first, second = (str(p) for p in cluster.app_ports)
    assert any(s.endswith(first) for s in before), before             # some browsers were on the first
    for served, results in after:
        assert served.endswith(second), served                         # now all are on the second
        assert [r.status for r in results] == ["ok", "ok"] and not any(r.exceptions for r in results)
