"""A class on the Lesson page, with a teacher's and students' sessions in one process (the
memory store every session of one server shares): the student follows Next and cannot move
the class, answers, and sees the reveal; a wrong code, an ended class, a forged step."""
from __future__ import annotations

import json

import pytest

from benchmarks.streamlit_client import CLASS_DRAWN
from explorer import classroom, state
from explorer.components import class_panel, lesson_player
from explorer.lessons import DEFAULT, LESSONS
from tests.pages.conftest import no_exception

LESSON = LESSONS[DEFAULT]
ASKS = next(k for k, s in enumerate(LESSON.steps) if k > 0 and s.question is not None
            and not s.question.conceals)


def param(at, name: str):
    value = at.query_params.get(name)
    return value[0] if isinstance(value, list) else value


def heading(at) -> str:
    return at.header[0].value


def tallies(at) -> list[dict]:
    """The tally charts on the page (Vega-Lite specs that count answers)."""
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    return [spec for spec in specs if '"answers"' in json.dumps(spec)]


def forge_click(at, key: str):
    """Click a button the page drew disabled, as a hostile client can (the server gets the click)."""
    button = at.button(key=key)
    button.proto.disabled = False
    return button.click().run()


def warnings(at) -> str:
    return " ".join(w.value for w in at.warning)


def start_class(app):
    teacher = app(page="lesson")
    teacher.button(key="class_start").click().run()
    assert no_exception(teacher)
    code = param(teacher, class_panel.PARAM)
    assert code and len(code) == 4 and "secret" not in str(teacher.query_params).lower()
    assert any("Join the class" in s.value for s in teacher.subheader)         # the join code, large
    assert any(class_panel.join_link(code) in c.value for c in teacher.code)
    teacher.button(key="class_hide_join").click().run()
    return teacher, code


def student_of(app, code, **query):
    at = app(query={class_panel.PARAM: code, **query})
    assert no_exception(at)
    return at


def test_a_student_follows_the_teacher_answers_and_sees_the_reveal(app):
    teacher, code = start_class(app)
    student = student_of(app, code)
    assert heading(student).startswith(LESSON.steps[0].title)       # the link opened the Lesson page
    assert student.button(key=lesson_player.NEXT_KEY).disabled and student.button(key=lesson_player.BACK_KEY).disabled
    for _ in range(ASKS):
        teacher.button(key=lesson_player.NEXT_KEY).click().run()
    student.run()                                                   # what its poll does when the step changed
    assert heading(student).startswith(LESSON.steps[ASKS].title) and param(student, "step") == str(ASKS + 1)

    step = LESSON.steps[ASKS]
    radio = student.radio(key=lesson_player.ANSWER + step.key)
    assert not radio.disabled
    radio.set_value(0).run()
    radio = student.radio(key=lesson_player.ANSWER + step.key)
    radio.set_value(step.question.answer).run()                     # changed: still one answer
    other = student_of(app, code)                                   # a second browser
    other.radio(key=lesson_player.ANSWER + step.key).set_value(0).run()
    teacher.run()
    assert any("**2** answered" in m.value for m in teacher.markdown)
    assert not tallies(teacher)                             # the tally only on request
    teacher.toggle(key=class_panel.TALLY).set_value(True).run()
    assert len(tallies(teacher)) == 1
    assert not any("lesson-answer" in m.value for m in student.markdown)

    teacher.button(key=f"lesson_reveal_{step.key}").click().run()
    student.run()
    answer = " ".join(m.value for m in student.markdown if "lesson-answer" in m.value)
    assert "**Right:**" in answer and len(tallies(student)) == 1         # the answer and the tally
    assert student.radio(key=lesson_player.ANSWER + step.key).disabled           # closed at the reveal
    assert state.classes().tally(code, ASKS)[step.question.answer] == 1 and sum(state.classes().tally(code, ASKS)) == 2


@pytest.mark.parametrize("route", [None, "/_caption_lab/class"])
def test_a_followers_page_waits_on_the_servers_version_route_where_there_is_one(app, monkeypatch, route):
    """Served by `explorer.serve`, a follower's page names the version route its script
    waits on, and no Streamlit fragment polls the class; elsewhere the fragment polls."""
    monkeypatch.setattr(classroom, "version_url", route)               # as explorer.serve says it (restored)
    teacher, code = start_class(app)
    student = student_of(app, code)
    student.run()                                                   # joined in the last run; now following
    page = " ".join(h.proto.body for h in student.get("html"))
    drawn = CLASS_DRAWN.search(page)                                # as the load benchmark's client reads it
    assert drawn and drawn.group(1) == str(state.classes().get(code).version)
    if route:
        assert drawn.group(2) == f"{route}/{code}" and 'class="class-polled"' not in page
    else:
        assert drawn.group(2) is None and 'class="class-polled"' in page
    student.toggle(key=class_panel.FOLLOW).set_value(False).run()     # on their own: where the teacher is
    page = " ".join(h.proto.body for h in student.get("html"))
    assert 'class="class-drawn"' not in page and any("The teacher is on step 1" in c.value for c in student.caption)


def test_a_student_cannot_move_the_class_by_forged_clicks_or_addresses(app):
    teacher, code = start_class(app)
    student = student_of(app, code)
    assert not any(b.key == f"lesson_reveal_{LESSON.steps[0].key}" for b in student.button)
    assert student.button(key=lesson_player.NEXT_KEY).disabled
    forge_click(student, lesson_player.NEXT_KEY)
    assert not any((r.key or "").startswith(lesson_player.CONTENTS) for r in student.radio)   # a shut list: not drawn
    assert heading(student).startswith(LESSON.steps[0].title) and no_exception(student)
    student.query_params["step"] = "7"                                # the address changed by hand
    student.run()
    assert heading(student).startswith(LESSON.steps[0].title) and param(student, "step") == "1"
    assert state.classes().get(code).step == 0
    teacher.run()
    assert heading(teacher).startswith(LESSON.steps[0].title)

    student.toggle(key=class_panel.FOLLOW).set_value(False).run()   # looking around on their own
    student.button(key=lesson_player.NEXT_KEY).click().run()
    student.button(key=lesson_player.NEXT_KEY).click().run()
    assert heading(student).startswith(LESSON.steps[2].title) and state.classes().get(code).step == 0
    assert any("The teacher is on step 1." in c.value for c in student.caption)
    student.button(key="class_rejoin").click().run()                  # Back to the teacher
    assert heading(student).startswith(LESSON.steps[0].title)


@pytest.mark.parametrize("given, words", [
    ("KMRX", "There is no class KMRX"),
    ("kmr0", "is not one: a class code is four letters"),
    ("[click](//evil.example)", "is not one"),
    ("A" * 5000, "is not one"),
])
def test_a_wrong_code_says_so_and_opens_the_lesson(app, given, words):
    at = student_of(app, given)
    assert words in warnings(at) and "evil" not in warnings(at)
    assert class_panel.PARAM not in at.query_params and heading(at).startswith(LESSON.steps[0].title)


def test_an_ended_class_says_so_to_its_students(app):
    teacher, code = start_class(app)
    student = student_of(app, code)
    teacher.button(key="class_end").click().run()
    assert class_panel.PARAM not in teacher.query_params and teacher.button(key="class_start")
    student.run()
    assert f"The class {code} has ended." in warnings(student)
    assert not student.button(key=lesson_player.NEXT_KEY).disabled          # the lesson is theirs again
    late = student_of(app, code)
    assert f"There is no class {code}" in warnings(late)


def test_a_class_link_to_another_page_opens_the_lesson(app):
    teacher, code = start_class(app)
    for _ in range(2):
        teacher.button(key=lesson_player.NEXT_KEY).click().run()
    at = app(page="browse", query={class_panel.PARAM: code})
    assert no_exception(at) and heading(at).startswith(LESSON.steps[2].title)


def test_on_a_shared_server_only_the_admin_starts_a_class_and_students_type_its_code(app, monkeypatch):
    monkeypatch.setenv("CAPTION_LAB_ADMIN_TOKEN", "s3cret-token-for-the-test")
    at = app(page="lesson")
    assert at.button(key="class_start").disabled
    forge_click(at, "class_start")
    assert class_panel.PARAM not in at.query_params and no_exception(at)
    admin = app(page="lesson", query={"admin": "s3cret-token-for-the-test"})
    admin.button(key="class_start").click().run()
    code = param(admin, class_panel.PARAM)
    assert code
    for typed, words in (("zz9", "is not one"), ("", "is not one")):
        at.text_input(key=class_panel.JOIN_CODE).input(typed)
        next(b for b in at.button if b.label == "Join").click().run()
        assert words in warnings(at) and class_panel.PARAM not in at.query_params
    at.text_input(key=class_panel.JOIN_CODE).input(code.lower())
    next(b for b in at.button if b.label == "Join").click().run()
    assert param(at, class_panel.PARAM) == code and at.button(key=lesson_player.NEXT_KEY).disabled
    assert any(f"Class {code}" in c.value for c in at.caption)


@pytest.mark.parametrize("lang", ["zh", "ko"])
def test_a_class_reads_in_the_language_with_no_english_sentence_left(app, demo_data, lang):
    from explorer import i18n
    from tests.pages.conftest import reading
    from tests.support.page_text import english_left, page_texts, translated_english

    messages = translated_english(i18n.read_catalogue(lang))
    teacher = app(page="lesson", query={"lang": lang})
    teacher.button(key="class_start").click().run()
    code = param(teacher, class_panel.PARAM)
    assert english_left(page_texts(teacher), demo_data["idx_to_word"], messages) == []      # the join code
    teacher.button(key="class_hide_join").click().run()
    teacher.button(key=lesson_player.NEXT_KEY).click().run()
    student = app(query={class_panel.PARAM: code, "lang": lang})
    reading(lang)
    step = LESSON.steps[1]
    student.radio(key=lesson_player.ANSWER + step.key).set_value(0).run()
    teacher.toggle(key=class_panel.TALLY).set_value(True).run()
    for at in (teacher, student):
        assert no_exception(at)
        assert english_left(page_texts(at), demo_data["idx_to_word"], messages) == [], at.query_params


def test_a_redis_that_does_not_answer_is_a_sentence_on_the_lesson_page(app, monkeypatch):
    from tests.support.http_server import free_port

    monkeypatch.setenv("CAPTION_LAB_REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    student = student_of(app, "KMRT")
    assert "does not answer" in warnings(student) and heading(student).startswith(LESSON.steps[0].title)
    teacher = app(page="lesson")
    teacher.button(key="class_start").click().run()
    assert no_exception(teacher) and "does not answer" in warnings(teacher)
    assert class_panel.PARAM not in teacher.query_params
