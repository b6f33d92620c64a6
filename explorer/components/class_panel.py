"""A class on the Lesson page: start one, join one, follow the teacher, answer together.

The class itself lives in `explorer.classroom` (one server's memory, or Redis); this module
draws it. `seat()` settles, at the top of the Lesson page, which class this browser tab is
in and whether it is the teacher's: the teacher's session holds the class's secret (in
session state only: never in the address, never in a cookie), a student's holds its code.
The address says `?class=CODE` for both, so a link opens the class, on any page
(`explorer.app` sends a first visit to the Lesson page).

A student who follows sees the teacher's step: the page's script in the browser
(`WATCHDOG`) asks the server to tell it when the class moves on (`explorer.serve`'s
`ClassVersions`, which holds the request until the step or a reveal changed, with no script
run) and then reruns the page. Where the server has no such route (plain `streamlit run`),
a small fragment polls the class every `POLL` seconds instead (one dictionary look-up, or
one Redis GET, in a script run of its own). Everything a student sends (the address's code,
an answer) is checked by the store; a wrong or ended code is a sentence.
"""
from __future__ import annotations

import html
import io
import time
from dataclasses import dataclass

import streamlit as st

from explorer import admin, classroom, presenter, state
from explorer.classroom import ClassState, Refused, Unavailable
from explorer.components.charts import FONT
from explorer.components.tables import table
from explorer.i18n import _, n_
from explorer.lessons import Lesson, Step
from explorer.styles import CLASS_CONTROLS, UNSEEN

PARAM = "class"                        # ?class=CODE in the address (sticky: explorer.address)
CODE = "class.code"                    # the class this tab is in
SECRET = "class.secret"                # (code, secret) in the teacher's tab alone
FOLLOW = "class.follow"                # the student's "Follow the teacher" toggle
JOIN = "class.show_join"               # the teacher's join code (QR) fills the screen
TALLY = "class.show_tally"             # the teacher's tally chart, before the reveal
JOIN_CODE = "class.join_code"          # the code a student types under *Join a class*
REFUSED = "class.refused"              # why Start a class was refused, shown on the next run
WATCHING = "class.watching"            # whether this run's follower poll is registered (watch_first)
SYNC = "class_sync"                    # the hidden button the browser's watchdog presses (WATCHDOG)
STALE_MS = 4000                        # how long the page may show another version than the poll's
SILENT_MS = 6000                       # how long a follower's page may go without a poll
POLL = 0.5                             # seconds between a follower's looks at the class (a fragment's), or
                                       # before its script asks the server again after a failed request
TEACHER_POLL = 1.0                     # seconds between the teacher's looks at the answers
ANSWER_MS = 40000                      # a follower's script gives up on the server's answer after this long
                                       # (longer than the server holds it: explorer.serve.ClassVersions.WAIT)
# In a follower's browser. Where the page names the server's version route (data-poll),
# ask it to answer once the class is at another version than the page drew (it holds the
# request until then, or answers the same after a while: then ask again, after POLL if the
# answer came at once), and when it has moved on (or ended: 404), press the hidden button,
# which reruns the page; press again only if the page still shows the old version STALE_MS
# later (its run's messages were lost). A request unanswered after ANSWER_MS (a connection
# that died quietly) is given up and asked again. Otherwise the server polls (a fragment):
# every second, when the page shows another class version than the poll last read, for
# STALE_MS, or no poll has come for SILENT_MS, press it. Installed once per tab and
# version of the script.
WATCHDOG = """<script>
(() => {
  if (window.captionLabClassWatchdog === 2) return;
  window.captionLabClassWatchdog = 2;
  const press = () => {                      // whether the page had its button to press
    const button = document.querySelector(".st-key-%(sync)s button");
    if (button) button.click();
    return !!button;
  };
  let stamp = null, fresh = Date.now(), since = null;
  setInterval(() => {
    const now = Date.now();
    const polled = document.querySelector(".class-polled"), drawn = document.querySelector(".class-drawn");
    if (!drawn || drawn.dataset.poll) { stamp = null; fresh = now; since = null; return; }   // no server poll here
    if (polled && polled.dataset.t !== stamp) { stamp = polled.dataset.t; fresh = now; }
    if (polled && polled.dataset.v !== drawn.dataset.v) { if (since === null) since = now; } else since = null;
    if ((since !== null && now - since > %(stale)d) || now - fresh > %(silent)d) { since = null; fresh = now; press(); }
  }, 1000);
  let asked = 0, seen = null;
  const ask = async () => {
    let again = %(poll)d;
    const drawn = document.querySelector(".class-drawn");
    if (drawn && drawn.dataset.poll) {
      if (drawn.dataset.v !== seen) { seen = drawn.dataset.v; asked = 0; }
      const started = Date.now(), patience = new AbortController();
      const giveUp = setTimeout(() => patience.abort(), %(answer)d);
      try {
        const answer = await fetch(drawn.dataset.poll + "?v=" + encodeURIComponent(drawn.dataset.v),
                                   {cache: "no-store", credentials: "same-origin", signal: patience.signal});
        const version = answer.ok ? String((await answer.json()).version) : answer.status === 404 ? "ended" : null;
        const shown = document.querySelector(".class-drawn");
        if (version !== null && shown && version !== shown.dataset.v) {
          if (Date.now() - asked > %(stale)d && press()) asked = Date.now();
        } else if (version !== null && Date.now() - started > 1000) {
          again = 0;                         // the same version after the server's wait: ask again at once
        }
      } catch (error) {                      // the server away, or no answer: ask again in a while
      } finally {
        clearTimeout(giveUp);
      }
    }
    setTimeout(ask, again);
  };
  ask();
})();
</script>""" % {"sync": SYNC, "stale": STALE_MS, "silent": SILENT_MS, "poll": int(POLL * 1000), "answer": ANSWER_MS}
RIGHT, OTHER = "#2b8a3e", "#4263eb"    # the tally's bars: the right answer once revealed, the others


@dataclass(frozen=True)
class Seat:
    """This tab's place in a class."""

    code: str
    teacher: bool
    state: ClassState

    @property
    def follows(self) -> bool:
        """A student who follows the teacher's step (the teacher leads, never follows)."""
        return not self.teacher and bool(st.session_state.get(FOLLOW, True))


def _secret(code: str) -> str | None:
    kept = st.session_state.get(SECRET)
    return kept[1] if isinstance(kept, tuple) and kept[0] == code else None


def _leave(problem: str | None = None) -> None:
    for key in (CODE, SECRET, JOIN, TALLY):
        st.session_state.pop(key, None)
    if PARAM in st.query_params:
        del st.query_params[PARAM]
    if problem:
        st.warning(problem, icon=":material/group_off:")


def _read(code: str) -> ClassState | None:
    """The class `code` as it is now, or None when there is none (`Unavailable` when the
    store does not answer: then nothing is known, and nothing is forgotten)."""
    return state.classes().get(code)


def seat() -> Seat | None:
    """The class this tab is in (joining the one the address names), or None. A code that
    does not fit, or names no class (never started, ended, expired), gets a sentence."""
    try:
        return _seat()
    except Unavailable as e:
        st.warning(_(str(e)), icon=":material/cloud_off:")
        return None


def _seat() -> Seat | None:
    given = st.query_params.get(PARAM) if PARAM in st.query_params else None
    mine = st.session_state.get(CODE)
    code = classroom.normal_code(str(given).strip()) if given is not None else None
    if given is not None and (code is None or code != mine):
        if code is None:            # anyone's text: never shown back
            _leave(_("The address's class code is not one: a class code is four letters, such as KMRT."))
            return None
        if _read(code) is None:
            _leave(_("There is no class {code}: it was never started, or it has ended. Check the code "
                     "with your teacher.").format(code=code))
            return None
        st.session_state[CODE], st.session_state[FOLLOW] = code, True
        mine = code
    if mine is None:
        return None
    now = _read(mine)
    if now is None:
        _leave(_("The class {code} has ended.").format(code=mine))
        return None
    if st.query_params.get(PARAM) != mine:
        st.query_params[PARAM] = mine
    return Seat(mine, _secret(mine) is not None, now)


# --- the teacher ---------------------------------------------------------------------

def _start(lesson: Lesson, index: int) -> None:
    if not admin.is_admin():                     # a forged click on a disabled button
        return
    try:
        code, secret = state.classes().start(lesson.key, index)
    except Refused as e:
        st.session_state[REFUSED] = str(e)
        return
    st.session_state[CODE], st.session_state[SECRET] = code, (code, secret)
    st.session_state[JOIN] = True
    st.query_params[PARAM] = code


def _join() -> None:
    """The code typed under *Join a class* goes to the address, where `seat()` checks it."""
    typed = str(st.session_state.get(JOIN_CODE) or "").strip()[:8]
    st.query_params[PARAM] = typed or "-"


def _teacher_call(seat: Seat, action: str, *args) -> ClassState | None:
    """The teacher's `action` on the class ("move", "reveal", "end"); a sentence when refused."""
    try:
        return getattr(state.classes(), action)(seat.code, _secret(seat.code), *args)
    except Refused as e:
        st.warning(_(str(e)), icon=":material/group_off:")
        return None


def _end(code: str) -> None:
    try:
        state.classes().end(code, _secret(code))
    except Unavailable as e:                      # the class goes on: try again when Redis is back
        st.toast(_(str(e)), icon=":material/cloud_off:")
        return
    except Refused:
        pass                                      # it had ended already
    _leave()


def publish(seat: Seat | None, lesson: Lesson, index: int) -> Seat | None:
    """The teacher's step becomes the class's (the step moves only from here)."""
    if seat is None or not seat.teacher or lesson.key != seat.state.lesson or index == seat.state.step:
        return seat
    moved = _teacher_call(seat, "move", index)
    return Seat(seat.code, True, moved) if moved else seat


def reveal(code: str, index: int) -> None:
    """The teacher's *Reveal the answer*: the answer and the tally on every screen."""
    try:
        state.classes().reveal(code, _secret(code), index)
    except Refused as e:
        st.toast(_(str(e)), icon=":material/block:")


def controls(seat: Seat | None, lesson: Lesson, index: int) -> None:
    """In the top strip: *Start a class* (or, for a student on a shared server, *Join a
    class*), the teacher's class menu, or the student's *Follow the teacher*."""
    # in the app's top strip (explorer.styles.CLASS_CONTROLS): no room taken from the step
    with st.container(key=CLASS_CONTROLS, horizontal=True, vertical_alignment="center", gap="small"):
        _controls(seat, lesson, index)


def _controls(seat: Seat | None, lesson: Lesson, index: int) -> None:
    if seat is None:
        refused = st.session_state.pop(REFUSED, None)
        if refused:
            st.warning(_(refused), icon=":material/group_off:")
        if admin.is_admin():
            st.button(_("Start a class"), icon=":material/groups:", key="class_start", on_click=_start,
                      args=(lesson, index), help=_("Students open a link or scan a code and follow your steps on "
                                                   "their laptops, and answer the questions together."))
            return
        with st.popover(_("Join a class"), icon=":material/groups:"):
            with st.form("class_join_form", border=False):
                st.text_input(_("Class code"), key=JOIN_CODE, max_chars=8, placeholder="KMRT",
                              help=_("The four letters your teacher shows."))
                st.form_submit_button(_("Join"), on_click=_join)
            st.button(_("Start a class"), icon=":material/groups:", key="class_start", on_click=_start,
                      args=(lesson, index), disabled=True, help=_(admin.ONLY_ADMIN))
        return
    if seat.teacher:
        with st.popover(_("Class {code}").format(code=seat.code), icon=":material/groups:"):
            st.markdown(_("Students join at this link, or type the code {code} under *Join a class* on "
                          "the Lesson page:").format(code=seat.code))
            st.code(join_link(seat.code), language=None)
            st.toggle(_("Show the join code"), key=JOIN)
            st.button(_("End class"), icon=":material/stop_circle:", key="class_end", on_click=_end,
                      args=(seat.code,), help=_("Ends the class for everyone and forgets its answers."))
        return
    st.session_state.setdefault(FOLLOW, True)
    st.toggle(_("Follow the teacher"), key=FOLLOW, on_change=_whole_page,
              help=_("Off: look around the lesson on your own. The class goes on without you."))


def _whole_page() -> None:
    """Following or not changes the page's frame (a follower's page is a fragment): rerun the app."""
    st.rerun()


def join_link(code: str) -> str:
    """The address a student opens: this server's Lesson page with the class's code."""
    url = None
    try:
        url = st.context.url
    except Exception:             # no browser behind this run
        pass
    base = url or "http://localhost:8501/"
    if "?" in base:
        base = base.split("?", 1)[0]
    if base.endswith("/lesson"):
        base = base[: -len("lesson")]
    if not base.endswith("/"):
        base += "/"
    return f"{base}lesson?{PARAM}={code}"


def qr_png(link: str, scale: int = 12) -> bytes:
    """The QR code of `link` as a PNG (segno, medium error correction)."""
    import segno
    buffer = io.BytesIO()
    segno.make(link, error="m").save(buffer, kind="png", scale=scale, border=2)
    return buffer.getvalue()


def showing_join(seat: Seat | None) -> bool:
    return seat is not None and seat.teacher and bool(st.session_state.get(JOIN))


def join_panel(seat: Seat) -> None:
    """The join code, large: a QR code, the four letters and the link (the teacher's screen)."""
    link = join_link(seat.code)
    left, right = st.columns([2, 3], gap="large", vertical_alignment="center")
    left.image(qr_png(link), width=420 if presenter.on() else 300, caption=_("Scan to join the class"))
    with right:
        st.subheader(_("Join the class"), anchor=False)
        st.markdown(_("Open this link on your laptop or phone, or scan the code:"))
        st.code(link, language=None)
        st.html(f'<div class="class-code" style="font-size:4.5rem;font-weight:700;letter-spacing:0.5rem;'
                f'line-height:1.1">{seat.code}</div>')
        st.caption(_("Your screens follow this one step by step, and everyone answers the questions."))
        st.button(_("Hide the join code"), icon=":material/visibility_off:", key="class_hide_join", type="primary",
                  on_click=lambda: st.session_state.__setitem__(JOIN, False))


# --- following -----------------------------------------------------------------------

def following() -> bool:
    """Whether this tab follows a class, as its session stands before the page's `seat()`
    (a student who joins by a link follows from the run after: the page then is a fragment)."""
    code = st.session_state.get(CODE)
    return code is not None and _secret(code) is None and bool(st.session_state.get(FOLLOW, True))


def browser_polls() -> bool:
    """Whether a follower's page learns of the class's moves from the browser, waiting on the
    server's version route (`classroom.version_url`, served by `explorer.serve`), rather than
    by a Streamlit fragment's poll."""
    return classroom.version_url is not None


@st.fragment(run_every=POLL)
def _watch(code: str, version: int, following: bool, step: int) -> None:
    """A student's look at the class: for a follower, rerun the page when what it shows
    changed; for a student on their own, where the teacher is."""
    try:
        now = _read(code)
    except Unavailable:
        return                                   # Redis away for a moment: look again at the next poll
    if now is None or (following and now.version != version):
        st.rerun(scope="app")
    if following:                                # what the watchdog compares: the version, and that polls come
        st.html(f'<span class="class-polled" data-v="{int(now.version)}" data-t="{time.time():.2f}"></span>')
    if not following:
        st.caption(_("The teacher is on step {n}.").format(n=now.step + 1))


def watch_first(page: str) -> None:
    """Where the server has no version route (`browser_polls` is false): a follower's poll,
    registered first thing in every run of the page (`explorer.app` calls this before the
    sidebar), in a container that takes no room, with its watchdog.

    Under load, Streamlit (1.67) sometimes loses the messages of the page run that the
    poll's `st.rerun` started (the next poll's run begins before they leave the server):
    the server has drawn the new step, the browser still shows the old one, and the poll,
    content, asks for nothing more (or the browser goes on polling a fragment the lost run
    replaced, which the server ignores). With a class of 30 (`benchmarks.classroom_load
    --scenarios follow:1`) a follower or a few stopped following so in about one run in
    three. So the page says at its end which version of the class it drew (`drawn`), each
    poll says which it read, and a small script in the browser (`WATCHDOG`) presses a
    hidden button, which reruns the page from the browser, when the two differ for more
    than `STALE_MS` or no poll came for `SILENT_MS`."""
    st.session_state[WATCHING] = False
    code = st.session_state.get(CODE)
    if page != "lesson" or not following():
        return
    if browser_polls():
        return                                   # the page's script asks the server (WATCHDOG)
    try:
        now = _read(code)
    except Unavailable:
        return
    if now is None:
        return                                   # the Lesson page's seat() says the class ended
    with st.container(key=f"{UNSEEN}class-watch"):          # never shown (explorer.styles.UNSEEN)
        _watch(code, now.version, True, now.step)
    st.session_state[WATCHING] = True


def drawn(seat: Seat | None) -> None:
    """The end of a follower's Lesson page: the class's version it drew (with the server's
    version route, where there is one), and the hidden button its script presses
    (`WATCHDOG`): in the page's fragment (`pages/lesson.py`), so the press reruns the page alone."""
    if seat is None or not seat.follows:
        return
    poll = f' data-poll="{html.escape(f"{classroom.version_url}/{seat.code}")}"' if browser_polls() else ""
    with st.container(key=f"{UNSEEN}class-watch-drawn"):    # never shown (explorer.styles.UNSEEN)
        st.html(f'<span class="class-drawn" data-v="{int(seat.state.version)}"{poll}></span>')
        st.button("sync", key=SYNC)            # pressed by the script only: a rerun is all it does
        st.html(WATCHDOG, unsafe_allow_javascript=True)   # after the button, which it may press at once


def bar(seat: Seat | None) -> None:
    """Under the header: for a student, the class and where the teacher is (the poll of a
    student on their own; a follower's runs from `watch_first`)."""
    if seat is None or seat.teacher:
        return
    row = st.container(horizontal=True, vertical_alignment="center", gap="small")
    with row:
        if seat.follows:
            st.caption(_("Class {code} · you follow the teacher's screen.").format(code=seat.code))
        else:
            st.caption(_("Class {code} · you look around on your own.").format(code=seat.code))
            st.button(_("Back to the teacher"), icon=":material/undo:", key="class_rejoin",
                      on_click=lambda: st.session_state.__setitem__(FOLLOW, True))
        if not seat.follows or not (st.session_state.get(WATCHING) or browser_polls()):
            _watch(seat.code, seat.state.version, seat.follows, seat.state.step)   # (joined in this run)


# --- answering together --------------------------------------------------------------

def _send_answer(code: str, index: int, key: str) -> None:
    choice = st.session_state.get(key)
    if choice is None:
        return
    try:
        state.classes().answer(code, state.owner_id(), index, choice)
    except Refused as e:
        st.toast(_(str(e)), icon=":material/block:")


def answering(seat: Seat, index: int) -> bool:
    """Whether this student may answer step `index` now (the class's step, not yet revealed)."""
    return not seat.teacher and index == seat.state.step and index not in seat.state.revealed


def answer_callback(seat: Seat, index: int, key: str):
    return (_send_answer, (seat.code, index, key))


def _plain(text: str) -> str:
    return text.replace("`", "")


def tally_chart(step: Step, counts: list[int], revealed: bool) -> None:
    """The answers as horizontal bars, one per choice; the right one green once revealed."""
    q = step.question
    labels = [_plain(_(choice)) for choice in q.choices]
    frame = table({"choice": labels, "answers": counts,
                   "right": [revealed and k == q.answer for k in range(len(counts))]})
    y = {"field": "choice", "type": "nominal", "sort": labels, "axis": {"title": None, "labelLimit": 320, **FONT}}
    spec = {"height": {"step": 22}, "layer": [
        {"mark": {"type": "bar", "cornerRadiusEnd": 3},
         "encoding": {"y": y, "x": {"field": "answers", "type": "quantitative", "axis": None},
                      "color": {"field": "right", "type": "nominal", "legend": None,
                                "scale": {"domain": [True, False], "range": [RIGHT, OTHER]}}}},
        {"mark": {"type": "text", "align": "left", "dx": 4, "fontSize": 14},
         "encoding": {"y": y, "x": {"field": "answers", "type": "quantitative"}, "text": {"field": "answers"}}}]}
    st.vega_lite_chart(frame, spec, width="stretch")


@st.fragment(run_every=TEACHER_POLL)
def _teacher_live(seat: Seat, step: Step, index: int, revealed: bool) -> None:
    """The teacher's *Reveal the answer*, the count of answers beside it and the tally on
    request, kept up to date."""
    store = state.classes()
    try:
        store.touch(seat.code, _secret(seat.code))       # the class lives while its teacher looks
        counts = store.tally(seat.code, index)
    except Unavailable as e:
        st.warning(_(str(e)), icon=":material/cloud_off:")
        return
    except Refused:
        st.rerun(scope="app")
    n = sum(counts)
    row = st.container(horizontal=True, vertical_alignment="center", gap="small")
    with row:
        if not revealed and st.button(_("Reveal the answer"), key=f"lesson_reveal_{step.key}", on_click=reveal,
                                      args=(seat.code, index)):
            st.rerun(scope="app")                        # the answer shows on the whole page
        st.markdown(n_("**{n}** answered", "**{n}** answered", n).format(n=n),
                    width="content")
        if not revealed:
            st.toggle(_("Tally"), key=TALLY,
                      help=_("The answers so far, as bars (only on your screen until the reveal)."))
    if revealed or st.session_state.get(TALLY):
        tally_chart(step, counts, revealed)


def class_answers(seat: Seat, step: Step, index: int, revealed: bool) -> None:
    """Under a question in a class: the teacher's live count and tally; the tally on a
    student's screen once revealed; a line saying who reveals."""
    if seat.teacher:
        _teacher_live(seat, step, index, revealed)
        return
    if revealed:
        try:
            tally_chart(step, state.classes().tally(seat.code, index), True)
        except Unavailable as e:
            st.warning(_(str(e)), icon=":material/cloud_off:")
    elif index == seat.state.step:
        st.caption(_("Your answer is anonymous, and you may change it until the teacher reveals the answer."))
    else:
        st.caption(_("The teacher reveals this answer when the class reaches it."))
