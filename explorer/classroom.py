"""A class in step: where a class's lesson step, its reveals and its students' answers live.

A teacher starts a class (`start`) and gets its code, four letters easy to read aloud
(`ALPHABET` leaves out the look-alikes 0/O/Q, 1/I/L, 2/Z, 5/S, 6/G, 8/B), and a secret
that only the teacher's session keeps: moving the step (`move`), revealing an answer
(`reveal`) and ending the class (`end`) each need it, so knowing the code gives no more than
following. Students read the class (`get`, cheap enough to poll every half second) and
answer the question of the step on show (`answer`): one answer per browser (`voter`, kept
only as a hash), changeable until the step is revealed; `tally` counts them.

Two stores with one interface, as `explorer.runs` has two engines: `MemoryClassroom` for
one app server (`make run` needs nothing else) and `RedisClassroom` when
`CAPTION_LAB_REDIS_URL` is set, so that students on another replica behind nginx follow
the same class. A class ends by itself `TTL` seconds after the teacher's session last
touched it (`touch`), and its answers with it.

Everything given here may come from a browser: codes, steps and choices are checked, and
a refusal is a sentence (`Refused`; `Unavailable` when Redis does not answer), never an
exception from the store. Not for: anything
a page draws (`explorer.components.class_panel` does that).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass

from explorer.i18n import N_
from explorer.lessons import LESSONS

ALPHABET = "ACDEFHJKMNPRTUVWXY"           # no 0/O/Q, 1/I/L, 2/Z, 5/S, 6/G, 8/B
CODE_LENGTH = 4
TTL = 4 * 3600                            # seconds a class lasts after its teacher's last touch
MAX_CLASSES = 200                         # at once on one store: a bound, not a plan
MAX_ANSWERS = 1000                        # answers to one step of one class
VERSION_ROUTE = "_caption_lab/class"      # GET <base>/_caption_lab/class/<CODE>: {"version": n} (explorer.serve)

# The address where this server answers a class's version (`explorer.serve.class_versions`
# sets it once the route is served), for a follower's page to wait on from the browser; None
# where it is not served (plain `streamlit run`, a test's AppTest): a follower's page then
# polls through Streamlit, as a fragment (`explorer.components.class_panel`).
version_url: str | None = None
PREFIX = "caption-lab:class:"             # Redis keys: PREFIX + code, PREFIX + code + ":answers:" + step


class Refused(Exception):
    """What a class refused, as a sentence for a person (English, N_-marked; shown through `_`)."""


class Unavailable(Refused):
    """The store does not answer (Redis is down or unreachable): nothing is known of the class."""


NO_CLASS = N_("There is no class with this code: it was never started, or it has ended.")
NOT_TEACHER = N_("Only the teacher's own browser tab can move the class.")
NO_REDIS = N_("Redis, where this server keeps its classes, does not answer, so the class cannot be reached "
              "just now. The admin can check CAPTION_LAB_REDIS_URL.")


def _answering(method):
    """A Redis store's method that turns Redis's own errors into `Unavailable`, a sentence."""
    import functools

    @functools.wraps(method)
    def wrapped(*args, **kwargs):
        import redis
        try:
            return method(*args, **kwargs)
        except redis.RedisError as e:
            raise Unavailable(NO_REDIS) from e
    return wrapped


@dataclass(frozen=True)
class ClassState:
    """What every screen of a class shows: the lesson, its step and which steps are revealed."""

    code: str
    lesson: str                           # a key of explorer.lessons.LESSONS
    step: int                             # 0-based
    revealed: frozenset[int]              # steps whose answer is shown on every screen
    version: int                          # goes up by one at every change: a follower's cheap test


def is_code(text) -> bool:
    """Whether `text` is written as a class code is (four letters of ALPHABET; lower case allowed)."""
    return isinstance(text, str) and len(text) == CODE_LENGTH and all(c in ALPHABET for c in text.upper())


def normal_code(text) -> str | None:
    """`text` as a class code (upper case), or None when it cannot be one."""
    return text.upper() if is_code(text) else None


def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _voter(code: str, voter: str) -> str:
    """A browser's answer slot: a hash, so the store never holds who answered what."""
    return hashlib.sha256(f"{code}:{voter}".encode()).hexdigest()[:32]


def _check_step(lesson: str, step) -> int:
    steps = LESSONS[lesson].steps
    if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step < len(steps):
        raise Refused(N_("This lesson has no such step."))
    return step


def _check_answer(state: ClassState, step, choice) -> None:
    """Refuse an answer that does not fit the class as it is now."""
    _check_step(state.lesson, step)
    question = LESSONS[state.lesson].steps[step].question
    if step != state.step:
        raise Refused(N_("The class has moved on: answer the question on the teacher's step."))
    if question is None:
        raise Refused(N_("This step asks no question."))
    if step in state.revealed:
        raise Refused(N_("The answer is already revealed: answers are closed."))
    if isinstance(choice, bool) or not isinstance(choice, int) or not 0 <= choice < len(question.choices):
        raise Refused(N_("That is not one of the question's choices."))


def _encode(state: ClassState, digest: str) -> str:
    return json.dumps({"lesson": state.lesson, "step": state.step, "revealed": sorted(state.revealed),
                       "version": state.version, "secret": digest})


def _decode(code: str, raw) -> tuple[ClassState, str]:
    data = json.loads(raw)
    return ClassState(code, data["lesson"], int(data["step"]), frozenset(data["revealed"]),
                      int(data["version"])), data["secret"]


def _changed(state: ClassState, step: int | None = None, reveal: int | None = None) -> ClassState:
    revealed = state.revealed | ({reveal} if reveal is not None else set())
    return ClassState(state.code, state.lesson, state.step if step is None else step, frozenset(revealed),
                      state.version + 1)


# --- one server ----------------------------------------------------------------------

class MemoryClassroom:
    """The classes of one app server, in its memory."""

    def __init__(self, ttl: float = TTL, clock=time.monotonic):
        self.ttl, self.clock = ttl, clock
        self._lock = threading.Lock()
        self._classes: dict[str, list] = {}        # code -> [state, secret digest, expires, {step: {voter: choice}}]

    def _live(self, code) -> list | None:
        code = normal_code(code)
        entry = self._classes.get(code) if code else None
        if entry is not None and entry[2] < self.clock():
            del self._classes[code]
            return None
        return entry

    def _teacher(self, code, secret) -> list:
        entry = self._live(code)
        if entry is None:
            raise Refused(NO_CLASS)
        if not isinstance(secret, str) or not hmac.compare_digest(entry[1], _digest(secret)):
            raise Refused(NOT_TEACHER)
        entry[2] = self.clock() + self.ttl
        return entry

    def start(self, lesson: str, step: int = 0) -> tuple[str, str]:
        """A new class of `lesson` at `step`: (its code, the teacher's secret)."""
        step = _check_step(lesson, step)
        secret = secrets.token_urlsafe(24)
        with self._lock:
            for code in list(self._classes):
                self._live(code)                   # forget the expired ones
            if len(self._classes) >= MAX_CLASSES:
                raise Refused(N_("This server holds as many classes as it can; end one first."))
            code = new_code()
            while code in self._classes:
                code = new_code()
            state = ClassState(code, lesson, step, frozenset(), 1)
            self._classes[code] = [state, _digest(secret), self.clock() + self.ttl, {}]
        return code, secret

    def get(self, code) -> ClassState | None:
        with self._lock:
            entry = self._live(code)
            return entry[0] if entry else None

    def touch(self, code, secret) -> None:
        with self._lock:
            self._teacher(code, secret)

    def move(self, code, secret, step) -> ClassState:
        with self._lock:
            entry = self._teacher(code, secret)
            step = _check_step(entry[0].lesson, step)
            if step != entry[0].step:
                entry[0] = _changed(entry[0], step=step)
            return entry[0]

    def reveal(self, code, secret, step) -> ClassState:
        with self._lock:
            entry = self._teacher(code, secret)
            step = _check_step(entry[0].lesson, step)
            if step not in entry[0].revealed:
                entry[0] = _changed(entry[0], reveal=step)
            return entry[0]

    def end(self, code, secret) -> None:
        with self._lock:
            self._teacher(code, secret)
            del self._classes[normal_code(code)]

    def answer(self, code, voter: str, step, choice) -> None:
        with self._lock:
            entry = self._live(code)
            if entry is None:
                raise Refused(NO_CLASS)
            _check_answer(entry[0], step, choice)
            answers = entry[3].setdefault(step, {})
            slot = _voter(entry[0].code, voter)
            if slot not in answers and len(answers) >= MAX_ANSWERS:
                raise Refused(N_("This question has as many answers as it can take."))
            answers[slot] = choice

    def tally(self, code, step) -> list[int]:
        """How many chose each choice of `step`'s question ([] for no class or no question)."""
        with self._lock:
            entry = self._live(code)
            if entry is None or not isinstance(step, int) or entry[0].lesson not in LESSONS:
                return []
            steps = LESSONS[entry[0].lesson].steps
            if not 0 <= step < len(steps) or steps[step].question is None:
                return []
            counts = [0] * len(steps[step].question.choices)
            for choice in entry[3].get(step, {}).values():
                counts[choice] += 1
            return counts


# --- several servers: Redis ----------------------------------------------------------

class RedisClassroom:
    """The same classes in Redis, shared by every app server that names it. A class is one
    JSON string (`PREFIX + code`); each step's answers one hash; both expire with the class.
    Changes are WATCH/MULTI transactions, so an answer never lands after its reveal."""

    def __init__(self, url: str, ttl: int = TTL):
        import redis
        self.redis = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5)
        self.ttl = int(ttl)

    def _key(self, code) -> str:
        code = normal_code(code)
        if code is None:
            raise Refused(NO_CLASS)
        return PREFIX + code

    def _answers(self, code: str, step: int) -> str:
        return f"{PREFIX}{code}:answers:{step}"

    @_answering
    def start(self, lesson: str, step: int = 0) -> tuple[str, str]:
        step = _check_step(lesson, step)
        secret = secrets.token_urlsafe(24)
        for _ in range(50):
            code = new_code()
            state = ClassState(code, lesson, step, frozenset(), 1)
            if self.redis.set(PREFIX + code, _encode(state, _digest(secret)), nx=True, ex=self.ttl):
                return code, secret
        raise Refused(N_("This server holds as many classes as it can; end one first."))

    @_answering
    def get(self, code) -> ClassState | None:
        if normal_code(code) is None:
            return None
        raw = self.redis.get(self._key(code))
        return _decode(normal_code(code), raw)[0] if raw is not None else None

    def _update(self, code, secret, change) -> ClassState:
        """Apply `change(state) -> new state or None` as the teacher, atomically."""
        import redis
        key = self._key(code)
        with self.redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    if raw is None:
                        raise Refused(NO_CLASS)
                    state, digest = _decode(normal_code(code), raw)
                    if not isinstance(secret, str) or not hmac.compare_digest(digest, _digest(secret)):
                        raise Refused(NOT_TEACHER)
                    new = change(state)
                    pipe.multi()
                    if new is None:                               # the class ends
                        pipe.delete(key, *(self._answers(state.code, k)
                                           for k in range(len(LESSONS[state.lesson].steps))))
                    else:
                        pipe.set(key, _encode(new, digest), ex=self.ttl)
                        for k in range(len(LESSONS[state.lesson].steps)):
                            pipe.expire(self._answers(state.code, k), self.ttl)
                    pipe.execute()
                    return new
                except redis.WatchError:
                    continue

    @_answering
    def touch(self, code, secret) -> None:
        self._update(code, secret, lambda state: state)

    @_answering
    def move(self, code, secret, step) -> ClassState:
        def change(state):
            k = _check_step(state.lesson, step)
            return state if k == state.step else _changed(state, step=k)
        return self._update(code, secret, change)

    @_answering
    def reveal(self, code, secret, step) -> ClassState:
        def change(state):
            k = _check_step(state.lesson, step)
            return state if k in state.revealed else _changed(state, reveal=k)
        return self._update(code, secret, change)

    @_answering
    def end(self, code, secret) -> None:
        self._update(code, secret, lambda state: None)

    @_answering
    def answer(self, code, voter: str, step, choice) -> None:
        import redis
        key = self._key(code)
        with self.redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    if raw is None:
                        raise Refused(NO_CLASS)
                    state = _decode(normal_code(code), raw)[0]
                    _check_answer(state, step, choice)
                    answers, slot = self._answers(state.code, step), _voter(state.code, voter)
                    if pipe.hlen(answers) >= MAX_ANSWERS and not pipe.hexists(answers, slot):
                        raise Refused(N_("This question has as many answers as it can take."))
                    pipe.multi()
                    pipe.hset(answers, slot, choice)
                    pipe.expire(answers, max(1, _seconds_left(self.redis, key, self.ttl)))
                    pipe.execute()
                    return
                except redis.WatchError:
                    continue

    @_answering
    def tally(self, code, step) -> list[int]:
        state = self.get(code)
        if state is None or not isinstance(step, int) or state.lesson not in LESSONS:
            return []
        steps = LESSONS[state.lesson].steps
        if not 0 <= step < len(steps) or steps[step].question is None:
            return []
        counts = [0] * len(steps[step].question.choices)
        for value in self.redis.hvals(self._answers(state.code, step)):
            if re.fullmatch(rb"[0-9]{1,3}", value) and int(value) < len(counts):
                counts[int(value)] += 1
        return counts


def _seconds_left(client, key: str, default: int) -> int:
    """Seconds the class at `key` has left (its answers expire with it)."""
    left = client.ttl(key)
    return int(left) if isinstance(left, int) and left > 0 else default


def classroom(redis_url: str = ""):
    """The store the environment asks for: Redis at `redis_url` when given, else this server's memory."""
    return RedisClassroom(redis_url) if redis_url else MemoryClassroom()
