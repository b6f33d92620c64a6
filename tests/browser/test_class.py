"""A class in real browsers: a teacher presenting at 1280x720 and three students, each a
browser of their own. The join code is a QR code large enough for the back of a room; the
students follow the teacher's Next within a second or so, cannot move the class with the
buttons or the keys, answer, and see the reveal and the tally; End class ends it for all."""
from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlparse

import pytest

from explorer.components.class_panel import SYNC
from explorer.lessons import DEFAULT, LESSONS
from explorer.styles import UNSEEN
from tests.support.waiting import wait_for

from .conftest import assert_no_errors, screenshot, start_app, stop_app, wait_idle

pytestmark = pytest.mark.browser

LESSON = LESSONS[DEFAULT]
ASKS = next(k for k, s in enumerate(LESSON.steps) if k > 0 and s.question is not None
            and not s.question.conceals)
STEP = LESSON.steps[ASKS]


def heading(page) -> str:
    return page.locator('[data-testid="stMain"] h2').first.inner_text()


def main_text(page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


def address(page, name: str) -> str:
    return parse_qs(urlparse(page.url).query).get(name, [""])[0]


def start_class(browser, url: str):
    """A teacher's browser at 1280x720 that opened `url` and pressed Start a class: its
    context, its page and the class's code (the join code still on show)."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    teacher = context.new_page()
    teacher.set_default_timeout(30_000)
    teacher.goto(url)
    wait_idle(teacher)
    teacher.get_by_role("button", name="Start a class").click()
    wait_idle(teacher)
    return context, teacher, teacher.locator(".class-code").inner_text().strip()


def test_a_teacher_and_three_students_in_step(browser, app_url):
    teacher_context, teacher, code = start_class(browser, f"{app_url}/lesson?present=1")
    assert re.fullmatch(r"[A-Z]{4}", code) and address(teacher, "class") == code
    qr = teacher.locator('[data-testid="stImage"] img').first
    box = qr.bounding_box()
    assert box["width"] >= 400 and abs(box["width"] - box["height"]) < 2      # large and square, for the back row
    link = teacher.locator('[data-testid="stCode"]').first.inner_text().strip()
    assert link == f"{app_url}/lesson?class={code}"
    screenshot(teacher, "class-teacher-join-code")

    students = []
    for k in range(3):
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.goto(f"{app_url}/?class={code.lower()}" if k == 0 else link)       # any page, any case
        wait_for(lambda: heading(page).startswith(LESSON.steps[0].title), timeout=60, what="the class's step")
        students.append(page)
    assert all("you follow the teacher" in main_text(s) for s in students)

    teacher.get_by_role("button", name="Hide the join code").click()
    wait_idle(teacher)
    moves = ["Next"] * (ASKS + 1) + ["Back"]                      # on past the question, and back to it
    for move in moves:
        teacher.get_by_role("button", name=move).click()
        wait_idle(teacher)
        clicked = time.monotonic()
        title = LESSON.steps[int(address(teacher, "step")) - 1].title
        for s in students:
            wait_for(lambda: heading(s).startswith(title), timeout=10, what="a student to follow", poll=0.05)
        followed = time.monotonic() - clicked
        assert followed < 5, followed               # within a second or so; generous on a shared machine
    assert all(address(s, "step") == str(ASKS + 1) for s in students)

    # a student cannot move the class: the buttons are off, and the keys do nothing
    first = students[0]
    wait_idle(first)
    assert first.get_by_role("button", name="Next").is_disabled()
    first.locator('[data-testid="stMain"] h2').first.click()             # the keys go to the page
    for key in ("ArrowRight", "PageDown", "ArrowLeft"):
        first.keyboard.press(key)
    time.sleep(1.0)
    assert heading(first).startswith(STEP.title) and address(teacher, "step") == str(ASKS + 1)

    choices = STEP.question.choices
    wrong = next(i for i in range(len(choices)) if i != STEP.question.answer)
    for s, choice in zip(students, (STEP.question.answer, STEP.question.answer, wrong)):
        s.locator('[data-testid="stMain"] [data-testid="stRadio"] [role="radiogroup"] label').nth(choice).click()
        wait_idle(s)
    wait_for(lambda: "3 answered" in main_text(teacher), timeout=10, what="the count of answers")
    teacher.get_by_text("Tally", exact=True).click()
    wait_idle(teacher)
    wait_for(lambda: teacher.locator('[data-testid="stVegaLiteChart"]').count() >= 1, timeout=10, what="the tally")
    screenshot(teacher, "class-teacher-tally")

    teacher.get_by_role("button", name="Reveal the answer").click()
    wait_idle(teacher)
    for s, said in zip(students, ("Right:", "Right:", "Not quite:")):
        wait_for(lambda: said in main_text(s), timeout=10, what="the reveal on a student's screen")
        wait_for(lambda: s.locator('[data-testid="stVegaLiteChart"]').count() >= 1, timeout=10, what="the tally")
        assert_no_errors(s)
    screenshot(students[2], "class-student-revealed")
    screenshot(teacher, "class-teacher-revealed")

    # a follower's page is a fragment: off on their own, the whole page is theirs again, and back
    alone = students[1]
    alone.get_by_text("Follow the teacher", exact=True).click()
    wait_for(lambda: "you look around on your own" in main_text(alone), timeout=10, what="a student on their own")
    wait_idle(alone)                                # the whole page's run: the fragment's old buttons gone
    assert not alone.get_by_role("button", name="Next").is_disabled()
    alone.get_by_role("button", name="Next").click()
    wait_for(lambda: heading(alone).startswith(LESSON.steps[ASKS + 1].title), timeout=10, what="a student's own Next")
    wait_for(lambda: address(alone, "step") == str(ASKS + 2), timeout=10, what="the address of the student's step")
    assert f"The teacher is on step {ASKS + 1}" in main_text(alone)
    alone.get_by_role("button", name="Back to the teacher").click()
    wait_for(lambda: heading(alone).startswith(STEP.title), timeout=10, what="the student back with the class")
    wait_idle(alone)
    assert "you follow the teacher" in main_text(alone) and alone.get_by_role("button", name="Next").is_disabled()
    assert_no_errors(alone)

    teacher.get_by_role("button", name=f"Class {code}").click()
    teacher.get_by_role("button", name="End class").click()
    wait_idle(teacher)
    assert teacher.get_by_role("button", name="Start a class").count() == 1
    for s in students:
        wait_for(lambda: f"The class {code} has ended." in main_text(s), timeout=10, what="the end of the class")
        wait_idle(s)                                # (the sentence comes before the run's own Next)
        assert not s.get_by_role("button", name="Next").is_disabled()
    assert_no_errors(teacher)
    late = students[0].context.new_page()
    late.goto(link)
    wait_for(lambda: f"There is no class {code}" in main_text(late), timeout=30, what="an ended code's sentence")
    for s in students:
        s.context.close()
    teacher_context.close()


def a_class_and_a_student(browser, app_url):
    """A teacher's class, its join code hidden, and a student's new browser: (the teacher's
    context, the teacher's page, the code, the student's context, the student's page)."""
    teacher_context, teacher, code = start_class(browser, f"{app_url}/lesson")
    teacher.get_by_role("button", name="Hide the join code").click()
    wait_idle(teacher)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    student = context.new_page()
    student.set_default_timeout(30_000)
    return teacher_context, teacher, code, context, student


def test_a_follower_whose_page_missed_a_step_catches_up(browser, app_url):
    """Under load Streamlit can lose the messages of a follower's page run (see
    `class_panel.WATCHDOG`): here the student's browser drops everything the server sends
    for a moment while the teacher moves on, so its page keeps the old step while its
    script has heard of the move; the script presses again and the page catches up."""
    teacher_context, teacher, code, context, student = a_class_and_a_student(browser, app_url)
    dropping, dropped = [False], [0]

    def lossy(ws):
        server = ws.connect_to_server()

        def to_page(message):
            if dropping[0]:
                dropped[0] += 1
            else:
                ws.send(message)
        server.on_message(to_page)

    student.route_web_socket(re.compile(r".*/_stcore/stream$"), lossy)
    student.goto(f"{app_url}/lesson?class={code}")
    wait_for(lambda: heading(student).startswith(LESSON.steps[0].title), timeout=60, what="the class's step")

    dropping[0] = True
    teacher.get_by_role("button", name="Next").click()
    wait_idle(teacher)

    def heard() -> int:         # Playwright runs `lossy` (and sends the page's messages on) only
        student.wait_for_timeout(50)            # while its API is called: a plain sleep would stall both
        return dropped[0]
    wait_for(lambda: heard() > 0, timeout=10, what="the student's page run after the move", poll=0)
    seen = -1
    while dropped[0] != seen:                       # the student's script heard of the move; its page run is lost,
        seen = dropped[0]                           # all of it (until the server sends nothing for a moment)
        student.wait_for_timeout(500)
    dropping[0] = False
    student.wait_for_timeout(500)
    assert heading(student).startswith(LESSON.steps[0].title)          # the loss happened: the old step shows
    healed = time.monotonic()

    def shown() -> str:
        student.wait_for_timeout(100)           # (Playwright's handlers run meanwhile, as above)
        return heading(student)
    wait_for(lambda: shown().startswith(LESSON.steps[1].title), timeout=15,
             what="the watchdog to bring the page to the teacher's step", poll=0)
    assert time.monotonic() - healed < 8
    assert "you follow the teacher" in main_text(student)
    assert_no_errors(student)
    context.close()
    teacher_context.close()


def test_a_follower_draws_every_step_of_the_lesson(browser, app_url):
    """A follower's page is a fragment (`pages/lesson.py`), and some steps' views hold
    fragments of their own (the overfit run's live panel, the sampling panel): the teacher
    walks the whole lesson and the follower's page draws each step, with no exception."""
    teacher_context, teacher, code, context, student = a_class_and_a_student(browser, app_url)
    student.goto(f"{app_url}/lesson?class={code}")
    wait_for(lambda: heading(student).startswith(LESSON.steps[0].title), timeout=60, what="the class's step")
    for k in range(1, len(LESSON.steps)):
        teacher.get_by_role("button", name="Next").click()
        wait_idle(teacher)
        wait_for(lambda: heading(student).startswith(LESSON.steps[k].title), timeout=15,
                 what=f"the follower on step {k + 1}", poll=0.1)
        wait_idle(student)
        assert_no_errors(student)
        assert "you follow the teacher" in main_text(student)
    assert address(student, "step") == str(len(LESSON.steps))
    context.close()
    teacher_context.close()


@pytest.fixture(scope="module")
def plain_app_url(tmp_path_factory):
    """The app as `streamlit run explorer/app.py`, with none of `explorer.serve`'s patches."""
    process, url = start_app(tmp_path_factory.mktemp("plain-app"), plain=True)
    yield url
    stop_app(process)


def test_a_follower_follows_on_plain_streamlit_run(browser, plain_app_url):
    """Plain `streamlit run explorer/app.py` has no class version route to wait on
    (`explorer.serve.ClassVersions`): a follower's page polls the class in a fragment of its
    own instead, which reruns the page when the class moved on (the page's script presses
    its button only when that rerun is lost, `STALE_MS` later: here it never has to). The
    page that joins draws the poll in its header (`bar`); every run after starts with it
    (`watch_first`)."""
    teacher_context, teacher, code, context, student = a_class_and_a_student(browser, plain_app_url)
    student.add_init_script("""document.addEventListener("click", (e) => {
        if (e.target.closest && e.target.closest(".st-key-%s")) window.syncPresses = (window.syncPresses || 0) + 1;
    }, true);""" % SYNC)                                # counts the page script's presses of its hidden button
    student.goto(f"{plain_app_url}/lesson?class={code}")
    wait_for(lambda: heading(student).startswith(LESSON.steps[0].title), timeout=60, what="the class's step")
    drawn = student.locator(".class-drawn")
    wait_for(lambda: drawn.count() == 1 and student.locator(".class-polled").count() == 1, timeout=10,
             what="the page's version and its poll")
    assert drawn.get_attribute("data-poll") is None                 # no route here: the fragment polls
    for k in (1, 2):
        clicked = time.monotonic()
        teacher.get_by_role("button", name="Next").click()
        wait_for(lambda: heading(student).startswith(LESSON.steps[k].title), timeout=15,
                 what=f"the follower on step {k + 1}", poll=0.1)
        assert time.monotonic() - clicked < 8
        wait_idle(teacher)
        wait_idle(student)
        # from the page's second run on, the poll is the one every run starts with (watch_first),
        # not the header's stand-in for a page that joined in that run (bar)
        assert student.locator(f".st-key-{UNSEEN}class-watch .class-polled").count() == 1
    assert "you follow the teacher" in main_text(student) and address(student, "step") == "3"
    assert student.evaluate("() => window.syncPresses || 0") == 0    # each move the poll's own rerun, not
    assert_no_errors(student)                                           # the watchdog's press (STALE_MS later)
    context.close()
    teacher_context.close()
