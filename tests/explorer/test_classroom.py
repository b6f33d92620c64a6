"""The class store (`explorer.classroom`), in memory and in a real Redis, with one set of tests:
codes, the teacher's secret, one answer per browser until the reveal, hostile input, the end
of a class and its expiry."""
from __future__ import annotations

import time

import pytest

from explorer import classroom
from explorer.classroom import ALPHABET, MemoryClassroom, RedisClassroom, Refused
from explorer.lessons import DEFAULT, LESSONS
from tests.support.services import RedisServer

LESSON = LESSONS[DEFAULT]
ASKS = next(k for k, s in enumerate(LESSON.steps) if s.question is not None and len(s.question.choices) >= 3)


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture(params=["memory", "redis"])
def store(request):
    if request.param == "memory":
        return MemoryClassroom()
    server = request.getfixturevalue("redis_server")
    made = RedisClassroom(server.url)
    made.redis.flushdb()
    return made


def test_a_code_is_four_letters_without_look_alikes(store):
    assert not set(ALPHABET) & set("0O Q1IL2Z5S6G8B")
    codes = {store.start(DEFAULT)[0] for _ in range(30)}
    assert len(codes) == 30 and all(len(c) == 4 and set(c) <= set(ALPHABET) for c in codes)
    assert classroom.normal_code("kmrt") == "KMRT" and classroom.normal_code("KMR0") is None
    for hostile in ("KMRTX", "", None, 12, "KM RT", "ＫＭＲＴ", "KMR\n"):
        assert classroom.normal_code(hostile) is None and store.get(hostile) is None


def test_only_the_teachers_secret_moves_reveals_and_ends(store):
    code, secret = store.start(DEFAULT)
    assert store.get(code).step == 0 and store.get(code.lower()).code == code
    for forged in ("", "x" * 32, None, 7, secret[:-1]):
        with pytest.raises(Refused, match="Only the teacher"):
            store.move(code, forged, 3)
        with pytest.raises(Refused):
            store.reveal(code, forged, 0)
        with pytest.raises(Refused):
            store.end(code, forged)
    before = store.get(code).version
    moved = store.move(code, secret, 3)
    assert moved.step == 3 and moved.version == before + 1 == store.get(code).version
    assert store.move(code, secret, 3).version == moved.version          # no change, no rerun for anyone
    for step in (-1, len(LESSON.steps), "2", 2.0, True, None):
        with pytest.raises(Refused, match="no such step"):
            store.move(code, secret, step)
    assert store.reveal(code, secret, 3).revealed == {3}
    store.end(code, secret)
    assert store.get(code) is None
    with pytest.raises(Refused, match="no class"):
        store.move(code, secret, 1)


def test_one_answer_per_browser_changeable_until_the_reveal(store):
    code, secret = store.start(DEFAULT)
    store.move(code, secret, ASKS)
    n = len(LESSON.steps[ASKS].question.choices)
    store.answer(code, "browser-a", ASKS, 0)
    store.answer(code, "browser-b", ASKS, 1)
    store.answer(code, "browser-a", ASKS, 2)                # a change of mind, not a second vote
    assert store.tally(code, ASKS) == [0, 1, 1] + [0] * (n - 3)
    for step, choice in ((ASKS, n), (ASKS, -1), (ASKS, "1"), (ASKS, None), (ASKS, True), (ASKS, 1.0),
                         ("1", 0), (ASKS + 1, 0), (10**9, 0)):
        with pytest.raises(Refused):
            store.answer(code, "browser-c", step, choice)
    with pytest.raises(Refused, match="no class"):
        store.answer("QQQQ", "browser-c", ASKS, 0)
    store.reveal(code, secret, ASKS)
    with pytest.raises(Refused, match="already revealed"):
        store.answer(code, "browser-a", ASKS, 0)
    assert store.tally(code, ASKS) == [0, 1, 1] + [0] * (n - 3)
    assert store.tally(code, "x") == [] and store.tally("QQQQ", ASKS) == []


def test_answers_are_anonymous_and_end_with_the_class(store):
    code, secret = store.start(DEFAULT, ASKS)
    store.answer(code, "owner-1234567890", ASKS, 1)
    if isinstance(store, RedisClassroom):
        dump = b" ".join(store.redis.dump(k) or b"" for k in store.redis.keys("*"))
        assert b"owner-1234567890" not in dump and secret.encode() not in dump
        store.end(code, secret)
        assert store.redis.keys("*") == []                   # nothing of the class is left
    else:
        store.end(code, secret)
        assert store._classes == {}
    again, secret = store.start(DEFAULT, ASKS)
    assert sum(store.tally(again, ASKS)) == 0


def test_a_class_ends_by_itself_without_its_teacher():
    now = [0.0]
    store = MemoryClassroom(ttl=3600, clock=lambda: now[0])
    code, secret = store.start(DEFAULT)
    now[0] = 3000
    store.touch(code, secret)                                # the teacher still looks
    now[0] = 6000
    assert store.get(code) is not None
    now[0] = 6601
    assert store.get(code) is None


def test_a_redis_class_expires_with_its_answers(redis_server):
    store = RedisClassroom(redis_server.url, ttl=1)
    store.redis.flushdb()
    code, secret = store.start(DEFAULT, ASKS)
    store.answer(code, "someone", ASKS, 0)
    assert all(0 < store.redis.ttl(k) <= 1 for k in store.redis.keys("*"))
    time.sleep(1.3)
    assert store.get(code) is None and store.redis.keys("*") == []


def test_two_app_servers_see_one_redis_class(redis_server):
    one, two = RedisClassroom(redis_server.url), RedisClassroom(redis_server.url)
    code, secret = one.start(DEFAULT)
    one.move(code, secret, ASKS)
    assert two.get(code).step == ASKS
    two.answer(code, "student", ASKS, 1)
    assert one.tally(code, ASKS)[1] == 1


def test_a_redis_that_does_not_answer_is_a_sentence_for_every_call():
    from explorer.classroom import Unavailable
    from tests.support.http_server import free_port

    store = RedisClassroom(f"redis://127.0.0.1:{free_port()}/0")          # nothing listens there
    calls = [lambda: store.start(DEFAULT), lambda: store.get("KMRT"), lambda: store.touch("KMRT", "s"),
             lambda: store.move("KMRT", "s", 1), lambda: store.reveal("KMRT", "s", 1), lambda: store.end("KMRT", "s"),
             lambda: store.answer("KMRT", "v", 1, 0), lambda: store.tally("KMRT", 1)]
    for call in calls:
        with pytest.raises(Unavailable, match="Redis, where this server keeps its classes, does not answer"):
            call()
