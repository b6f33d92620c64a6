"""Turns: page runs one at a time, in the order the clicks came, each for at most a lease.

    turns = Turns(at_once=1, lease=0.1, on_crowd=say_so)
    ticket = turns.ticket()
    with turns.turn(ticket):        # waits its turn
        run_the_page()
    turns.excuse(ticket)            # (from another thread) let a waiting ticket go at once

Streamlit starts a script thread per session, so a class clicking at once runs 30 scripts
side by side, and Python's lock passes between 30 threads every few milliseconds, each
time to a thread whose data has left the CPU's caches: a page then costs the server about
a third more CPU than alone, and every page arrives at the end of the burst. Taking turns,
each page costs what it costs alone and the first clicks are served first.

A holder that has had its turn for `lease` seconds (a page waiting on a slow download,
say) stops counting, and the next in line goes beside it, so no page holds up the others
by more than that. A ticket excused while it waits (its page was stopped: the browser
clicked again, or left) goes at once without counting, so it reaches its stop at once, as
it would have without turns, and never holds a place in the line.

While `crowd` or more wait, the turns are crowded: `on_crowd()` is called then, again at
most every `every` seconds while it lasts, and once more when it has passed (nobody
waits and no holder still counts), so a listener that keeps the last call's time knows
how recently the server was crowded (`explorer.runs.crowd`).
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from contextlib import contextmanager

AT_ONCE, LEASE = 1, 0.1          # page runs that go at once; seconds after which a run stops counting
CROWD = 2                        # page runs waiting that make a crowd
EVERY = 0.25                     # seconds between two calls of on_crowd while crowded


class Ticket:
    """A place in the line: woken when admitted (`admitted`), or when it becomes the first."""
    __slots__ = ("wake", "admitted")

    def __init__(self):
        self.wake, self.admitted = threading.Event(), False


class Turns:
    """At most `at_once` holders that count at a time, admitted in the order they asked."""

    def __init__(self, at_once: int = AT_ONCE, lease: float = LEASE, crowd: int = CROWD,
                 on_crowd=None, every: float = EVERY, clock=time.monotonic):
        if at_once < 1 or not lease > 0 or crowd < 1 or not every > 0:
            raise ValueError(f"Turns needs at_once >= 1, lease > 0, crowd >= 1 and every > 0, "
                             f"not {at_once}, {lease}, {crowd} and {every}")
        self.at_once, self.lease, self.crowd, self.every, self._clock = at_once, lease, crowd, every, clock
        self._on_crowd = on_crowd
        self._lock = threading.Lock()
        self._waiting: deque[Ticket] = deque()
        self._holding: dict[Ticket, float] = {}          # ticket -> when its turn began
        self._crowded = False
        self._said: float | None = None                  # when on_crowd was last called (None: never)
        self._ended = False                              # a crowd has passed and that is not said yet
        self._telling = threading.Lock()                 # one on_crowd call at a time

    def ticket(self) -> Ticket:
        return Ticket()

    @contextmanager
    def turn(self, ticket: Ticket | None = None):
        """Wait for a turn (in line after everyone who asked before), hold it for the block."""
        ticket = ticket or Ticket()
        try:
            with self._lock:
                if not ticket.admitted:                  # (excused before it even asked)
                    self._waiting.append(ticket)
            while not ticket.admitted:
                with self._lock:
                    now = self._clock()                  # one reading for admitting and for the wait
                    self._update(now)
                    first = bool(self._waiting) and self._waiting[0] is ticket
                    timeout = self._until_a_lease_ends(now) if first and not ticket.admitted else None
                    ticket.wake.clear()
                self._tell()
                if not ticket.admitted:
                    ticket.wake.wait(timeout)
        except BaseException:                            # interrupted while waiting: out of the line
            self._leave(ticket)
            raise
        try:
            yield
        finally:
            self._leave(ticket)

    def excuse(self, ticket: Ticket) -> None:
        """Let `ticket` go at once if it still waits, not counting against anyone; a ticket
        that holds its turn, or has not asked yet, is left as it is (one not yet in line
        goes at once when it asks)."""
        with self._lock:
            if ticket in self._waiting:
                self._out_of_line(ticket)
                ticket.admitted, self._holding[ticket] = True, float("-inf")
                ticket.wake.set()
                self._update(self._clock())
            elif ticket not in self._holding and not ticket.admitted:
                ticket.admitted, self._holding[ticket] = True, float("-inf")
        self._tell()

    @property
    def crowded(self) -> bool:
        return self._crowded

    @property
    def waiting(self) -> int:
        """How many wait in line now."""
        return len(self._waiting)

    def _leave(self, ticket: Ticket) -> None:
        with self._lock:
            ticket.admitted = True                       # done with: a later excuse changes nothing
            if ticket in self._waiting:
                self._out_of_line(ticket)
            self._holding.pop(ticket, None)
            self._update(self._clock())
        self._tell()

    def _out_of_line(self, ticket: Ticket) -> None:
        """(Under the lock.) Take `ticket` out of the line; wake a new first, to watch the clock."""
        was_first = self._waiting[0] is ticket
        self._waiting.remove(ticket)
        if was_first and self._waiting:
            self._waiting[0].wake.set()

    def _counting(self, now: float) -> list[float]:
        return [began for began in self._holding.values() if now - began < self.lease]

    def _until_a_lease_ends(self, now: float) -> float | None:
        counting = self._counting(now)
        return max(0.0, min(counting) + self.lease - now) if counting else None

    def _update(self, now: float) -> None:
        """(Under the lock.) Give turns to the first in line while fewer than `at_once` count,
        wake the new first, and follow the crowd."""
        admitted = False
        while self._waiting and len(self._counting(now)) < self.at_once:
            ticket = self._waiting.popleft()
            ticket.admitted, self._holding[ticket] = True, now
            ticket.wake.set()
            admitted = True
        if admitted and self._waiting:
            self._waiting[0].wake.set()                  # to start watching the clock
        if len(self._waiting) >= self.crowd:
            self._crowded = True
        elif self._crowded and not self._waiting and not self._counting(now):
            self._crowded, self._ended = False, True

    def _tell(self) -> None:
        """Call on_crowd if the turns are crowded and it was not called within `every`
        seconds, or if a crowd has passed since; never under the lock, one call at a time.
        A caller that finds another call under way goes on at once (the event loop calls
        this too, through `excuse`): the one calling looks again when it is done."""
        if self._on_crowd is None:
            return
        while self._due(self._clock(), claim=False) and self._telling.acquire(blocking=False):
            try:
                if not self._due(self._clock(), claim=True):
                    return
                try:
                    self._on_crowd()
                except Exception:                        # noqa: BLE001 - never a page's problem
                    logging.getLogger(__name__).exception("on_crowd failed")
            finally:
                self._telling.release()

    def _due(self, now: float, claim: bool) -> bool:
        with self._lock:
            due = (self._crowded and (self._said is None or now - self._said >= self.every)) or self._ended
            if due and claim:
                self._said, self._ended = now, False
            return due
