"""What a lesson is made of: `Lesson`, `Step` and `Question`, small frozen dataclasses.

A lesson module builds one `Lesson` from them; `explorer.lessons` lists the lessons.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Question:
    """A question a step asks before it shows its answer."""

    prompt: str                         # the question (English, N_-marked)
    choices: tuple[str, ...]            # the answers offered, in order
    answer: int                         # index of the right one in `choices`
    why: str                            # the explanation shown with the answer
    conceals: bool = False              # the step's view stays hidden until the answer is shown


@dataclass(frozen=True)
class Step:
    """One screen of a lesson."""

    key: str                            # a stable name, e.g. "rnn-step" (tests, answers)
    title: str
    text: str                           # a few sentences of markdown
    view: str                           # the live view it shows: a key of lesson_views.VIEWS
    try_this: str = ""                  # something to do with the view
    question: Question | None = None
    options: tuple[tuple[str, object], ...] = field(default=())   # keyword arguments for the view


@dataclass(frozen=True)
class Lesson:
    key: str                            # its name in the address: ?lesson=<key>
    title: str
    steps: tuple[Step, ...]

