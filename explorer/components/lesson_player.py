"""Playing a lesson: which step is on show, moving between steps, and a step's question.

The step is kept in the session and in the address, `?lesson=captioning&step=3` (1-based),
so a link or a reload (F5) opens the same step; a lesson or step that does not exist gets a
sentence and the first step. Next and Back are buttons with the arrow keys as shortcuts;
a small script adds PageDown and PageUp, which presentation clickers send.
"""
from __future__ import annotations

import re

import streamlit as st

from explorer.components import class_panel
from explorer.components.class_panel import Seat
from explorer.i18n import _
from explorer.lessons import DEFAULT, LESSONS, Lesson, Step

LESSON_PARAM, STEP_PARAM = "lesson", "step"
LESSON = "lesson.key"                  # the lesson on show
STEP = "lesson.step"                   # its step, 0-based
ADDRESS = "lesson.address"             # the (lesson, step) last written to the address
ANSWER = "lesson.answer."              # + step key: the choice made for its question
REVEALED = "lesson.revealed."          # + step key: True once its answer is shown
NEXT_KEY, BACK_KEY = "lesson_next", "lesson_back"   # the buttons' keys (the script finds them by these)
CONTENTS = "lesson_steps_"             # + lesson key, step: the list of every step (in "All steps")
ANSWER_TINTS = {"shown": "#e7f0fb", "right": "#e3f5e8", "wrong": "#fbe6e6"}   # the answer's background

# PageDown / PageUp press Next / Back, unless the reader is typing in a field. Installed once
# per browser tab; the buttons are looked up at each key press, so it survives reruns.
PAGER = """<script>
(() => {
  if (window.captionLabPager) return;
  window.captionLabPager = true;
  document.addEventListener("keydown", (event) => {
    const key = {PageDown: "%s", PageUp: "%s"}[event.key];
    const target = event.target;
    if (!key || (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName)))) return;
    const button = document.querySelector(".st-key-" + key + " button");
    if (button && !button.disabled) { event.preventDefault(); button.click(); }
  });
})();
</script>""" % (NEXT_KEY, BACK_KEY)


def _from_address() -> tuple[Lesson, int, str | None]:
    """The lesson and step the address names, with a sentence when it names none that exists."""
    # the address is anyone's text: it is never shown back (a link in it would become a link here)
    lesson = LESSONS.get(st.query_params.get(LESSON_PARAM) or DEFAULT)
    if lesson is None:
        return LESSONS[DEFAULT], 0, _("The address names a lesson that does not exist; here is the first step of "
                                      "“{title}”.").format(title=_(LESSONS[DEFAULT].title))
    given = st.query_params.get(STEP_PARAM)
    if given is None:
        return lesson, 0, None
    if re.fullmatch(r"[0-9]{1,4}", str(given).strip()) and 1 <= int(given) <= len(lesson.steps):
        return lesson, int(given) - 1, None
    return lesson, 0, _("The address names a step this lesson does not have: its steps are 1 to {n}. Here is "
                        "step 1.").format(n=len(lesson.steps))


def current(seat: Seat | None = None) -> tuple[Lesson, int]:
    """The lesson and step on show: the session's, or the address's when it names another
    (a link opened, a reload); the address is written back to say it. A student who follows
    a class is on the class's step, whatever the session or the address say."""
    if seat is not None and seat.follows and seat.state.lesson in LESSONS:
        lesson = LESSONS[seat.state.lesson]
        index = min(max(seat.state.step, 0), len(lesson.steps) - 1)
        st.session_state[LESSON], st.session_state[STEP] = lesson.key, index
        _write_address(lesson, index)
        return lesson, index
    wanted = (st.query_params.get(LESSON_PARAM), st.query_params.get(STEP_PARAM))
    coming_back = wanted == (None, None) and LESSON in st.session_state      # from another page
    if LESSON not in st.session_state or (wanted != st.session_state.get(ADDRESS) and not coming_back):
        lesson, index, problem = _from_address()
        st.session_state[LESSON], st.session_state[STEP] = lesson.key, index
        if problem:
            st.warning(problem, icon=":material/wrong_location:")
    lesson = LESSONS.get(st.session_state[LESSON], LESSONS[DEFAULT])
    index = min(max(int(st.session_state[STEP]), 0), len(lesson.steps) - 1)
    _write_address(lesson, index)
    return lesson, index


def _write_address(lesson: Lesson, index: int) -> None:
    address = (lesson.key, str(index + 1))
    if (st.query_params.get(LESSON_PARAM), st.query_params.get(STEP_PARAM)) != address:
        st.query_params[LESSON_PARAM], st.query_params[STEP_PARAM] = address
    st.session_state[ADDRESS] = address


def _go(lesson: Lesson, index: int) -> None:
    st.session_state[STEP] = min(max(index, 0), len(lesson.steps) - 1)
    _write_address(lesson, st.session_state[STEP])


def _pick(lesson: Lesson, key: str) -> None:
    """*All steps*' choice: a step of the list. A browser sends a label it read, which Streamlit
    gives back as text when it is none of this run's (a forged one, or one from before a language
    switch): that moves nothing."""
    chosen = st.session_state.get(key)
    if isinstance(chosen, int) and 0 <= chosen < len(lesson.steps):
        _go(lesson, chosen)


def header(lesson: Lesson, index: int, seat: Seat | None = None) -> None:
    """The step's title, Back and Next, a list of every step, and the progress bar; the class's
    controls beside them. A student who follows the teacher cannot move (the buttons are off)."""
    n = len(lesson.steps)
    locked = seat is not None and seat.follows
    step = lesson.steps[index]
    class_panel.controls(seat, lesson, index)           # in the app's top strip: no room taken from the step
    title, buttons = st.columns([4, 3], vertical_alignment="center")
    title.header(f"{_(step.title)} :gray[· {index + 1}/{n}]", anchor=False)
    with buttons.container(horizontal=True, horizontal_alignment="right", vertical_alignment="center", gap="small"):
        with st.popover(_("All steps"), icon=":material/list:", help=_(lesson.title), disabled=locked):
            if not locked:                                  # a follower's stays shut: not drawn
                # one list with the step on show chosen (one element, not a button per step); its key
                # names the step, so that after a move the list starts from the new step
                key = f"{CONTENTS}{lesson.key}-{index}"
                st.radio(_(lesson.title), range(n), index=index, key=key, label_visibility="collapsed",
                         format_func=lambda k: f"{k + 1}. {_(lesson.steps[k].title)}",
                         on_change=_pick, args=(lesson, key))
        st.button(_("Back"), icon=":material/chevron_left:", key=BACK_KEY, on_click=_go, args=(lesson, index - 1),
                  disabled=index == 0 or locked, shortcut="Left")
        st.button(_("Next"), icon=":material/chevron_right:", key=NEXT_KEY, on_click=_go, args=(lesson, index + 1),
                  disabled=index == n - 1 or locked, type="primary", shortcut="Right")
    st.progress((index + 1) / n)
    st.html(PAGER, unsafe_allow_javascript=True)


def _reveal(step: Step) -> None:
    st.session_state[REVEALED + step.key] = True


def question(step: Step, index: int = 0, seat: Seat | None = None) -> bool:
    """The step's question, its choices and *Reveal the answer*; whether the answer is shown
    (True for a step without a question). In a class the teacher's reveal shows it on every
    screen, a student's choice is their answer to the class, and only the teacher reveals."""
    q = step.question
    if q is None:
        return True
    st.markdown(_("**Question.** {prompt}").format(prompt=_(q.prompt)))
    key = ANSWER + step.key
    student = seat is not None and not seat.teacher
    callback, args = class_panel.answer_callback(seat, index, key) if student else (None, None)
    choice = st.radio(_(q.prompt), range(len(q.choices)), index=None, key=key,
                      format_func=lambda i: _(q.choices[i]), label_visibility="collapsed",
                      horizontal=True, persist_state="session", on_change=callback, args=args,
                      disabled=student and not class_panel.answering(seat, index))
    # in a class the class's reveal counts (the teacher's button reveals it on every screen)
    revealed = bool(st.session_state.get(REVEALED + step.key)) if seat is None else index in seat.state.revealed
    if not revealed:
        if seat is None:                  # in a class the teacher's button sits beside the count of answers
            st.button(_("Reveal the answer"), icon=":material/visibility:", key=f"lesson_reveal_{step.key}",
                      on_click=_reveal, args=(step,))
        if seat is not None:
            class_panel.class_answers(seat, step, index, False)
        return False
    answer = _(q.choices[q.answer])
    if choice is None:
        said, tint = _("**Answer:** {answer}. {why}").format(answer=answer, why=_(q.why)), ANSWER_TINTS["shown"]
    elif choice == q.answer:
        said, tint = _("**Right:** {answer}. {why}").format(answer=answer, why=_(q.why)), ANSWER_TINTS["right"]
    else:
        said = _("**Not quite:** the answer is {answer}. {why}").format(answer=answer, why=_(q.why))
        tint = ANSWER_TINTS["wrong"]
    # a tinted paragraph in smaller type, not an alert box: a revealed step must still fit a projector
    st.markdown(f'<div class="lesson-answer" style="background:{tint};border-radius:0.5rem;'
                f'padding:0.35rem 0.7rem;font-size:0.85rem;line-height:1.4">\n\n{said}\n\n</div>',
                unsafe_allow_html=True)
    if seat is not None:
        class_panel.class_answers(seat, step, index, True)
    return True
