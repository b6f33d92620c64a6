"""A class across two app servers that share a real Redis (`CAPTION_LAB_REDIS_URL`): the
teacher on one, a student on the other follows the teacher's Next and answers, and the
teacher's count holds that answer. Both speak Streamlit's websocket protocol
(`benchmarks.streamlit_client`), as a browser does, and the student's page script waits on
its server's version route for the teacher's move (`Session.follow_class`)."""
from __future__ import annotations

import asyncio
import re
import time

import pytest

from benchmarks.streamlit_client import Session
from explorer.classroom import RedisClassroom
from explorer.components.class_panel import POLL, STALE_MS, SYNC
from explorer.lessons import DEFAULT, LESSONS
from tests.browser.conftest import start_app, stop_app
from tests.support.services import RedisServer, need
from tests.support.waiting import run_coroutine

pytestmark = pytest.mark.timeout(300)

LESSON = LESSONS[DEFAULT]
STEP_SHOWN = re.compile(r"· (\d+)/\d+")


@pytest.fixture(scope="module")
def two_servers(tmp_path_factory):
    need("redis-server")
    folder = tmp_path_factory.mktemp("class-replicas")
    redis = RedisServer(folder / "redis")
    env = {"CAPTION_LAB_REDIS_URL": redis.url}
    apps = []
    try:
        for name in ("a", "b"):
            (folder / name).mkdir()
            apps.append(start_app(folder / name, env={**env, "CAPTION_LAB_RUNS": str(folder / "runs")}))
        yield [url for _, url in apps], redis
    finally:
        for process, _ in apps:
            stop_app(process)
        redis.stop()


def test_a_student_on_the_other_server_follows_and_answers(two_servers):
    (first, second), redis = two_servers

    async def main():
        drawn = {"code": None, "steps": [], "answers": 0}

        def teacher_sees(message):
            if message.WhichOneof("type") == "delta" and message.delta.WhichOneof("type") == "new_element":
                element = message.delta.new_element
                if element.WhichOneof("type") == "html" and "class-code" in element.html.body:
                    drawn["code"] = re.search(r">([A-Z]{4})<", element.html.body).group(1)
                if element.WhichOneof("type") == "markdown":
                    found = re.search(r"\*\*(\d+)\*\* answered", element.markdown.body)
                    if found:
                        drawn["answers"] = int(found.group(1))

        def student_sees(message):
            if message.WhichOneof("type") == "delta" and message.delta.WhichOneof("type") == "new_element":
                element = message.delta.new_element
                if element.WhichOneof("type") == "heading" and STEP_SHOWN.search(element.heading.body):
                    drawn["steps"].append(int(STEP_SHOWN.search(element.heading.body).group(1)))

        teacher = await Session.connect(first)
        teacher.listener = teacher_sees
        await teacher.open("")
        await teacher.open("lesson")
        await teacher.click("class_start")
        assert drawn["code"], "the teacher's screen shows no class code"
        await teacher.click("class_hide_join")
        student = await Session.connect(second, query=f"class={drawn['code']}")
        student.listener = student_sees
        await student.open("")
        await student.open("lesson")
        assert drawn["steps"][-1] == 1
        assert student.class_route == "/_caption_lab/class/" + drawn["code"]   # the server's version route
        follows = asyncio.create_task(student.follow_class(SYNC, POLL, STALE_MS / 1000))   # the page's script
        clicked = time.monotonic()
        await teacher.click("lesson_next")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and drawn["steps"][-1] != 2:
            await asyncio.sleep(0.05)
        followed = time.monotonic() - clicked
        key = f"lesson.answer.{LESSON.steps[1].key}"
        while time.monotonic() < deadline and key not in student.widgets:
            await asyncio.sleep(0.05)
        result = await student.choose(key, 1)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and drawn["answers"] < 1:
            await asyncio.sleep(0.1)
        assert not follows.done(), follows                             # the page's script still waits
        follows.cancel()
        await teacher.close()
        await student.close()
        return drawn, followed, result

    drawn, followed, result = run_coroutine(main())
    assert drawn["steps"][-1] == 2 and followed < 10, (drawn["steps"], followed)   # within a second or so
    assert result.status == "ok" and result.exceptions == result.errors == 0
    assert drawn["answers"] == 1                                    # counted on the teacher's server
    store = RedisClassroom(redis.url)
    assert store.get(drawn["code"]).step == 1 and store.tally(drawn["code"], 1)[1] == 1
