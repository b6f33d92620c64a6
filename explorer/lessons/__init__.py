"""Lessons: a guided path through Caption Lab, as data a teacher can edit.

A `Lesson` is a tuple of `Step`s; each step names the live view it shows (a key of
`explorer.components.lesson_views.VIEWS`), a few sentences, something to try and, where
it helps, a `Question` to answer before the view reveals it. The Lesson page draws any
lesson from this data alone, so reordering, cutting or adding a step is an edit of the
lesson's own module (`explorer/lessons/captioning.py`), never of the page.

Every text is English marked with `N_` and shown translated, so a new sentence needs its
translations (`make translations`). A step's `options` go to its view as keyword
arguments (e.g. `(("cell", "lstm"),)`).
"""
from __future__ import annotations

from explorer.lessons import captioning
from explorer.lessons.steps import Lesson, Question, Step

LESSONS: dict[str, Lesson] = {lesson.key: lesson for lesson in (captioning.LESSON,)}
DEFAULT = "captioning"

__all__ = ["LESSONS", "DEFAULT", "Lesson", "Question", "Step"]
