"""The Lesson page: every step in three languages, the step in the address, questions that
hide their answer until revealed, and the overfit step's slow-motion run."""
from __future__ import annotations

import pytest

from explorer import i18n, presenter, state
from explorer.components import lesson_player
from explorer.components.evolution import SAMPLE_ROW
from explorer.i18n import _
from explorer.lessons import DEFAULT, LESSONS
from tests.pages.conftest import no_exception, reading

LESSON = LESSONS[DEFAULT]


def player_tint(kind: str) -> str:
    return lesson_player.ANSWER_TINTS[kind]


def heading(at) -> str:
    return at.header[0].value


def answer_shown(at) -> str:
    """The revealed answer's paragraph ("" when none is shown)."""
    return " ".join(m.value for m in at.markdown if "lesson-answer" in m.value)


def step_param(at) -> str:
    value = at.query_params[lesson_player.STEP_PARAM]
    return value[0] if isinstance(value, list) else value


def open_lesson(app, **query):
    return app(page="lesson", query={k: str(v) for k, v in query.items()})


@pytest.mark.parametrize("lang", ["en", "zh", "ko"])
def test_every_step_walks_with_next_in_each_language(app, lang):
    at = open_lesson(app, lang=lang)
    reading(lang)
    for k, step in enumerate(LESSON.steps):
        assert no_exception(at) and not at.error, (step.key, [e.value for e in at.error])
        assert not at.warning, (step.key, [w.value for w in at.warning])      # e.g. no lesson model
        assert heading(at).startswith(_(step.title)), (step.key, heading(at))
        if lang != "en":
            assert _(step.title) != step.title and _(step.text) != step.text, f"{step.key} is not translated"
        assert step_param(at) == str(k + 1)
        if step.question is not None:
            at.button(key=f"lesson_reveal_{step.key}").click().run()
            assert no_exception(at) and not at.error, (step.key, [e.value for e in at.error])
            assert _(step.question.why) in answer_shown(at), step.key                  # the answer shows
        if k < len(LESSON.steps) - 1:
            at.button(key=lesson_player.NEXT_KEY).click().run()
    assert at.button(key=lesson_player.NEXT_KEY).disabled and not at.button(key=lesson_player.BACK_KEY).disabled


def test_the_address_opens_a_step_and_follows_back_and_next(app):
    at = open_lesson(app, lesson="captioning", step=5)
    assert heading(at).startswith(LESSON.steps[4].title) and not at.warning
    at.button(key=lesson_player.BACK_KEY).click().run()
    assert step_param(at) == "4" and heading(at).startswith(LESSON.steps[3].title)
    at.button(key=lesson_player.NEXT_KEY).click().run()
    at.button(key=lesson_player.NEXT_KEY).click().run()
    assert step_param(at) == "6" and at.query_params[lesson_player.LESSON_PARAM] in ("captioning", ["captioning"])


def contents(at):
    """The list of every step under *All steps*."""
    lists = [r for r in at.radio if (r.key or "").startswith(lesson_player.CONTENTS)]
    assert len(lists) == 1, [r.key for r in at.radio]
    return lists[0]


def test_all_steps_lists_every_step_with_the_one_on_show_chosen_and_jumps_to_another(app):
    at = open_lesson(app, step=2)
    steps = contents(at)
    assert steps.options == [f"{k + 1}. {s.title}" for k, s in enumerate(LESSON.steps)] and steps.value == 1
    steps.set_value(8).run()                                          # the ninth step
    assert heading(at).startswith(LESSON.steps[8].title) and step_param(at) == "9" and no_exception(at)
    assert contents(at).value == 8                                    # the list now starts from there
    at.button(key=lesson_player.BACK_KEY).click().run()
    assert heading(at).startswith(LESSON.steps[7].title) and contents(at).value == 7
    contents(at).set_value(0).run()
    assert heading(at).startswith(LESSON.steps[0].title) and step_param(at) == "1"


@pytest.mark.parametrize("forged", ["99. Nowhere", "-1", "", "2. " + "x" * 5000])
def test_a_label_the_list_does_not_have_moves_nothing(app, forged):
    """What a browser could send: a label read before a language switch, or any text."""
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    at = open_lesson(app, step=4)
    steps = contents(at)
    steps.__class__ = type("Forged", (type(steps),), {   # the radio as a hostile browser reports it
        "_widget_state": property(lambda self: WidgetState(id=self.id, string_value=forged))})
    at.run()
    assert no_exception(at) and heading(at).startswith(LESSON.steps[3].title) and step_param(at) == "4"


@pytest.mark.parametrize("query, words", [
    ({"step": 99}, "names a step this lesson does not have: its steps are 1 to 13"),
    ({"step": "0"}, "names a step this lesson does not have"),
    ({"step": "-3"}, "names a step this lesson does not have"),
    ({"step": "²"}, "names a step this lesson does not have"),           # isdigit() says yes, int() no
    ({"step": "①"}, "names a step this lesson does not have"),
    ({"step": "9" * 5000}, "names a step this lesson does not have"),     # past int()'s digit limit
    ({"step": "[x](//evil.example)"}, "names a step this lesson does not have"),
    ({"lesson": "[click me](https://evil.example/)", "step": 3}, "names a lesson that does not exist"),
])
def test_a_step_or_lesson_that_does_not_exist_says_so_and_opens_the_first_step(app, query, words):
    at = open_lesson(app, **query)
    assert no_exception(at)
    warnings = " ".join(w.value for w in at.warning)
    assert words in warnings, warnings
    assert "evil" not in warnings and "[" not in warnings        # the address's text is never shown back
    assert heading(at).startswith(LESSON.steps[0].title) and step_param(at) == "1"


def test_a_question_hides_its_view_until_the_answer_is_shown(app):
    k = next(i for i, s in enumerate(LESSON.steps) if s.key == "rnn-step")
    step = LESSON.steps[k]
    at = open_lesson(app, step=k + 1)
    assert not at.latex and any("Answer the question first" in i.value for i in at.info)
    wrong = next(i for i in range(len(step.question.choices)) if i != step.question.answer)
    at.radio(key=lesson_player.ANSWER + step.key).set_value(wrong).run()
    at.button(key=f"lesson_reveal_{step.key}").click().run()
    assert "Not quite" in answer_shown(at) and step.question.choices[step.question.answer] in answer_shown(at)
    assert player_tint("wrong") in answer_shown(at)
    assert at.latex and "h_t" in " ".join(x.value for x in at.latex)          # the view, now shown
    at.radio(key=lesson_player.ANSWER + step.key).set_value(step.question.answer).run()
    assert "**Right:**" in answer_shown(at) and player_tint("right") in answer_shown(at)
    at.button(key=lesson_player.NEXT_KEY).click().run()
    at.button(key=lesson_player.BACK_KEY).click().run()                       # the answer is kept
    assert at.radio(key=lesson_player.ANSWER + step.key).value == step.question.answer


def test_the_rnn_step_shows_the_numbers_of_rnn_step_forward(app):
    k = next(i for i, s in enumerate(LESSON.steps) if s.key == "rnn-step")
    at = open_lesson(app, step=k + 1)
    at.button(key="lesson_reveal_rnn-step").click().run()
    at.slider(key="lesson.rnn.x.0").set_value(-1.0).run()
    import numpy as np
    from core.layers import rnn_step_forward
    from explorer.components.lesson_views import _rnn_numbers, matrix
    numbers = _rnn_numbers(np.array([-1.0, -0.2, 0.9]))
    expected, _cache = rnn_step_forward(numbers["x"], numbers["prev_h"], numbers["Wx"], numbers["Wh"], numbers["b"])
    assert matrix(expected, 3) in at.latex[-1].value


def test_the_words_or_characters_step_counts_both_models_and_links_to_the_measured_answer(app, demo_data):
    import numpy as np
    from core import characters
    from core.model import param_shapes
    k = next(i for i, s in enumerate(LESSON.steps) if s.key == "words-or-characters")
    at = open_lesson(app, step=k + 1)
    assert not at.dataframe                                                      # concealed until answered
    at.button(key="lesson_reveal_words-or-characters").click().run()
    no_exception(at)
    data = demo_data
    spelled = characters(data)
    table = at.dataframe[0].value
    words, chars = table.iloc[:, 1].tolist(), table.iloc[:, 2].tolist()
    D = data["train_features"].shape[1]
    for column, itw in ((words, data["idx_to_word"]), (chars, spelled["idx_to_word"])):
        shapes = param_shapes(len(itw), D, 256, 512, "rnn")
        assert column[0] == f"{len(itw):,}" and column[1] == f"{np.prod(shapes['W_embed']):,}"
        assert column[4] == f"{sum(int(np.prod(s)) for s in shapes.values()):,}"
    assert int(words[4].replace(",", "")) > int(chars[4].replace(",", ""))      # the question's answer
    assert words[3] == chars[3]                                                   # the recurrent part is the same
    char_steps = (spelled["val_captions"][:, 1:] != 0).sum(axis=1)
    assert chars[5] == f"{char_steps.mean():.1f} / {char_steps.max()}"
    assert "The same caption" in " ".join(m.value for m in at.markdown)


def test_the_overfit_step_starts_this_persons_run_in_slow_motion(app):
    k = next(i for i, s in enumerate(LESSON.steps) if s.key == "overfit")
    at = open_lesson(app, step=k + 1)
    at.button(key="lesson_overfit_start").click().run()
    assert no_exception(at) and not at.warning
    run_id = at.session_state["lesson.overfit.run"]
    info = state.runner().get(run_id)
    assert info.owner == at.session_state[state.OWNER] and info.config["slow_motion"] == 30.0
    assert info.config["max_train"] == 50 and info.config["cell_type"] == "rnn"
    assert at.button(key="lesson_overfit_stop") and not [b for b in at.button if b.key == "lesson_overfit_start"]
    at.button(key="lesson_overfit_stop").click().run()                 # one run at a time, and it can stop
    assert state.runner().wait(run_id).status == "stopped"


def test_the_overfit_step_shows_a_finished_run_and_stops_polling(app):
    k = next(i for i, s in enumerate(LESSON.steps) if s.key == "overfit")
    at = open_lesson(app, step=k + 1)
    at.segmented_control(key="lesson.overfit.pace").set_value(0).run()      # full speed: done in seconds
    at.button(key="lesson_overfit_start").click().run()
    run_id = at.session_state["lesson.overfit.run"]
    assert state.runner().wait(run_id).status == "done"
    at.run(timeout=20)            # a panel that reran the page whenever its run had ended never came back
    assert no_exception(at) and any("Iteration 100 / 100" in p.text for p in at.get("progress"))
    samples = [m.value for m in at.markdown if SAMPLE_ROW in m.value]    # the three samples: one element
    assert len(samples) == 1 and samples[0].count(f'class="{SAMPLE_ROW}"') == 3
    assert samples[0].count('src="data:image/') == 3 and not at.get("imgs")
    assert [b for b in at.button if b.key == "lesson_overfit_start"]     # Start again, for another run
    assert len(state.runner().runs()) == 1


def intro_on_the_page(at) -> bool:
    """Whether Train's introduction is a paragraph of the page (not folded into a box)."""
    return any(getattr(c, "type", "") == "markdown" and "Training is the notebook's loop" in c.value
               for c in at.main.children.values())


def test_presenter_mode_is_kept_in_the_address_and_switched_off_in_the_sidebar(app):
    at = app(page="train", query={"present": "1"})
    assert at.session_state[presenter.KEY] is True
    assert at.query_params[presenter.PARAM] in ("1", ["1"])
    assert not intro_on_the_page(at)                               # folded beside the title
    assert any("Training is the notebook's loop" in m.value for m in at.markdown)   # ...but there
    at.sidebar.toggle(key=presenter.KEY).set_value(False).run()
    assert presenter.PARAM not in at.query_params
    assert intro_on_the_page(at)
    at = app(page="train", query={"present": "nonsense"})
    assert at.session_state[presenter.KEY] is False
