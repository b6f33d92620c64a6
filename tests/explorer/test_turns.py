"""Tests for explorer/turns.py: page runs one at a time in the order asked, a lease, excused
tickets, and the crowd said while it lasts and once when it has passed."""
from __future__ import annotations

import threading
import time

import pytest

from explorer.turns import Turns
from tests.support.waiting import wait_for


class Clock:
    """A clock the test moves (`advance`), or that moves on by `step` at every reading."""

    def __init__(self, step: float = 0.0):
        self.now, self.step, self._lock = 1000.0, step, threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            self.now += self.step
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


class Taker:
    """A thread that takes a turn (with its own ticket), notes when it has it, and holds it until released."""

    def __init__(self, turns: Turns, name: str, log: list):
        self.turns, self.name, self.log = turns, name, log
        self.ticket, self.release, self.error = turns.ticket(), threading.Event(), None
        self.thread = threading.Thread(target=self._take, name=name, daemon=True)
        self.thread.start()

    def _take(self) -> None:
        try:
            with self.turns.turn(self.ticket):
                self.log.append(("in", self.name))
                self.release.wait(30)
                self.log.append(("out", self.name))
        except BaseException as error:          # noqa: BLE001 - the test looks at it
            self.error = error

    def has_turn(self) -> bool:
        return ("in", self.name) in self.log

    def finish(self) -> None:
        self.release.set()
        self.thread.join(30)
        assert not self.thread.is_alive()


def waiting(turns: Turns) -> int:
    return len(turns._waiting)


def line_up(turns: Turns, names: str, log: list) -> list[Taker]:
    """The first takes its turn, each other one waits in line behind the one before."""
    takers = []
    for name in names:
        takers.append(Taker(turns, name, log))
        if len(takers) == 1:
            wait_for(takers[0].has_turn, timeout=10, poll=0.005, what=f"{name}'s turn")
        else:
            wait_for(lambda: waiting(turns) == len(takers) - 1, timeout=10, poll=0.005, what=f"{name} in line")
    return takers


def test_turns_go_one_at_a_time_in_the_order_they_were_asked_for():
    turns, log = Turns(at_once=1, lease=3600), []
    takers = line_up(turns, "abcde", log)
    for taker in takers:
        wait_for(taker.has_turn, timeout=10, poll=0.005, what=f"{taker.name}'s turn")
        assert [who for kind, who in log if kind == "in"][-1] == taker.name
        taker.finish()
    assert log == [(kind, name) for name in "abcde" for kind in ("in", "out")]
    assert waiting(turns) == 0 and not turns._holding


def test_a_turn_held_past_its_lease_lets_the_next_one_go_beside_it():
    clock = Clock()
    turns, log = Turns(at_once=1, lease=0.2, clock=clock), []
    slow, quick = line_up(turns, "sq", log)
    time.sleep(0.5)                                     # the lease is on the turns' clock, not the wall's
    assert not quick.has_turn()
    clock.advance(0.25)
    wait_for(quick.has_turn, timeout=10, poll=0.005, what="the next one's turn beside the slow one")
    assert not slow.release.is_set() and ("out", "s") not in log
    quick.finish()
    slow.finish()


def test_a_clock_that_moves_on_between_readings_never_leaves_the_next_one_waiting_for_good():
    # every reading is 40 ms later: a lease that ends between two readings must still be noticed
    turns, log = Turns(at_once=1, lease=0.1, clock=Clock(step=0.04)), []
    for attempt in range(20):
        held = Taker(turns, f"held{attempt}", log)
        wait_for(held.has_turn, timeout=10, poll=0.001, what="the first turn")
        next_one = Taker(turns, f"next{attempt}", log)
        wait_for(next_one.has_turn, timeout=5, poll=0.001, what="the next turn once the lease ran out")
        next_one.finish()
        held.finish()


@pytest.mark.parametrize("excused", [False, True])
def test_each_new_first_in_line_watches_the_clock_so_slow_turns_never_hold_up_the_rest(excused):
    clock = Clock()
    turns, log = Turns(at_once=1, lease=0.2, clock=clock), []
    a, b, c, d = line_up(turns, "abcd", log)
    if excused:
        turns.excuse(b.ticket)                          # b goes at once; c is the new first
        wait_for(b.has_turn, timeout=10, poll=0.005, what="b excused")
    else:
        clock.advance(0.25)                             # a's lease ends: b goes, c is the new first
        wait_for(b.has_turn, timeout=10, poll=0.005, what="b's turn after a's lease")
    clock.advance(0.25)                                 # b's lease ends (or b never counted), a's too
    wait_for(c.has_turn, timeout=10, poll=0.005, what="c's turn while a and b still hold")
    clock.advance(0.25)
    wait_for(d.has_turn, timeout=10, poll=0.005, what="d's turn while a, b and c still hold")
    assert not any(kind == "out" for kind, _who in log)
    for taker in (a, b, c, d):
        taker.finish()
    assert waiting(turns) == 0 and not turns._holding


def test_an_excuse_after_a_ticket_left_the_line_leaves_nothing_behind():
    turns = Turns(at_once=1, lease=3600)
    ticket = turns.ticket()
    with pytest.raises(RuntimeError):
        with turns.turn(ticket):
            raise RuntimeError("the page failed")
    turns.excuse(ticket)
    assert not turns._holding and waiting(turns) == 0


def test_one_interrupted_while_waiting_leaves_the_line_and_the_rest_still_go():
    armed = threading.Event()

    def clock():
        if armed.is_set() and threading.current_thread().name == "b":
            armed.clear()
            raise KeyboardInterrupt                     # in b, while it waits its turn
        return time.monotonic()

    turns, log = Turns(at_once=1, lease=3600, clock=clock), []
    (a,) = line_up(turns, "a", log)
    armed.set()
    b = Taker(turns, "b", log)
    b.thread.join(10)
    assert isinstance(b.error, KeyboardInterrupt) and waiting(turns) == 0
    c = Taker(turns, "c", log)
    wait_for(lambda: waiting(turns) == 1, timeout=10, poll=0.005, what="c in line")
    a.finish()
    wait_for(c.has_turn, timeout=10, poll=0.005, what="c's turn")
    c.finish()
    assert [who for kind, who in log if kind == "in"] == ["a", "c"]
    assert waiting(turns) == 0 and not turns._holding


def test_an_excused_ticket_goes_at_once_without_counting_and_the_line_keeps_its_order():
    turns, log = Turns(at_once=1, lease=3600), []
    a, b, c = line_up(turns, "abc", log)
    turns.excuse(b.ticket)                              # b's page was stopped while it waited
    wait_for(b.has_turn, timeout=10, poll=0.005, what="the excused one's turn")
    assert not c.has_turn()                             # b does not count: a still holds the one turn
    b.finish()
    time.sleep(0.2)
    assert not c.has_turn()
    a.finish()
    wait_for(c.has_turn, timeout=10, poll=0.005, what="c's turn after a")
    turns.excuse(c.ticket)                              # while it holds its turn: nothing changes
    early = turns.ticket()
    turns.excuse(early)                                 # before it even asks: it goes at once,
    with turns.turn(early):                             # though c holds the one turn
        assert c.ticket in turns._holding
    c.finish()
    turns.excuse(c.ticket)                              # after its turn: nothing
    assert waiting(turns) == 0 and not turns._holding


def test_a_crowd_is_said_when_it_forms_again_while_it_lasts_and_once_when_it_has_passed():
    clock, said = Clock(), []
    turns = Turns(at_once=1, lease=3600, crowd=2, every=0.25, clock=clock,
                  on_crowd=lambda: said.append(clock.now))
    log = []
    a, b = line_up(turns, "ab", log)
    assert said == [] and not turns.crowded             # one waiting is no crowd
    c = Taker(turns, "c", log)
    wait_for(lambda: said, timeout=10, poll=0.005, what="the crowd said")
    assert turns.crowded and len(said) == 1
    d = Taker(turns, "d", log)                          # within `every`: not said again
    wait_for(lambda: waiting(turns) == 3, timeout=10, poll=0.005, what="d in line")
    assert len(said) == 1
    clock.advance(0.3)
    a.finish()                                          # the next event after `every`: said again
    wait_for(lambda: len(said) == 2, timeout=10, poll=0.005, what="the crowd said again")
    for taker in (b, c, d):
        wait_for(taker.has_turn, timeout=10, poll=0.005, what=f"{taker.name}'s turn")
        taker.finish()
    wait_for(lambda: not turns.crowded, timeout=10, poll=0.005, what="the crowd passed")
    assert len(said) == 3                               # its end, said once


def test_a_holder_past_its_lease_does_not_keep_the_crowd():
    clock, said = Clock(), []
    turns = Turns(at_once=1, lease=0.2, crowd=1, every=3600, clock=clock, on_crowd=lambda: said.append(1))
    log = []
    slow, other = line_up(turns, "so", log)
    wait_for(lambda: said == [1], timeout=10, poll=0.005, what="the crowd said")
    assert turns.crowded
    clock.advance(0.25)
    wait_for(other.has_turn, timeout=10, poll=0.005, what="the other's turn")
    other.finish()
    wait_for(lambda: not turns.crowded, timeout=10, poll=0.005, what="the crowd passed")
    assert said == [1, 1] and not slow.release.is_set()
    slow.finish()


def test_turns_refuse_nonsense():
    for options in ({"at_once": 0}, {"lease": 0}, {"lease": float("nan")}, {"crowd": 0}, {"every": 0}, {"every": -1}):
        with pytest.raises(ValueError):
            Turns(**options)
