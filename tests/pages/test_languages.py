"""Every page in Chinese and Korean: rendered with no exception and no English sentence left,
and a change of language that keeps the page, the open tab, the model and the run."""
from __future__ import annotations

import pytest

from explorer import i18n, state
from tests.pages.conftest import PAGE_FILES, no_exception, reading, use_checkpoint
from tests.support.page_text import english_left, page_texts, translated_english


@pytest.fixture(scope="module")
def english_messages():
    """Per language, the English messages whose translation differs from them."""
    out = {}
    for lang in ("zh", "ko"):
        out[lang] = translated_english(i18n.read_catalogue(lang))
    return out


def test_the_checker_finds_english_and_lets_dataset_words_and_code_names_be():
    vocabulary = ["a", "man", "riding", "horse", "on", "the", "beach"]
    texts = ["一个 a man riding a horse on the beach", "`rnn_step_forward` 的 `dWx` 错误",
             "训练 Pick a checkpoint file", "LSTM 模型", "Loss", "beach"]
    assert english_left(texts, vocabulary, messages=["Loss", "beach"]) == ["Loss", "Pick a checkpoint file"]


@pytest.mark.parametrize("lang", ["zh", "ko"])
@pytest.mark.parametrize("page", PAGE_FILES)
def test_every_page_reads_in_the_language_with_no_english_sentence_left(app, demo_data, english_messages, page, lang):
    at = app(page=None if page == "home" else page, query={"lang": lang})
    assert no_exception(at) and not at.error, [e.value for e in at.error]
    texts = page_texts(at)
    assert len(texts) > 5
    assert english_left(texts, demo_data["idx_to_word"], english_messages[lang]) == []
    assert at.query_params["lang"] == [lang] or at.query_params["lang"] == lang


def test_a_first_visit_without_lang_reads_english_and_says_so_in_the_address(app):
    at = app()
    assert at.session_state[i18n.KEY] == "en" and at.selectbox(key=i18n.KEY).value == "en"
    assert "lang" in at.query_params


def test_switching_language_keeps_the_page_the_open_tab_and_the_model(app, checkpoints):
    at = app(page="inspect")
    use_checkpoint(at, checkpoints["lstm"])
    english_tabs = [t.label for t in at.tabs]
    assert len(english_tabs) == 5                              # Inspect's five views
    at.session_state["inspect.view"] = english_tabs[2]        # open the third one
    at.run()
    at.selectbox(key=i18n.KEY).set_value("ko").run()
    reading("ko")
    assert no_exception(at) and not at.error, [e.value for e in at.error]
    assert at.query_params["lang"] in ("ko", ["ko"])
    korean_tabs = [t.label for t in at.tabs]
    assert len(korean_tabs) == 5 and korean_tabs != english_tabs           # still Inspect, in Korean
    assert at.session_state["inspect.view"] == korean_tabs[2]            # the same tab open
    assert at.session_state["inspect.view.kept"] == english_tabs[2]
    assert at.text_input(key="model.file").value == str(checkpoints["lstm"])   # the same model
    assert at.radio(key="model.source").value == "Checkpoint file"


def test_switching_language_keeps_the_followed_run(app, overfit_run):
    runner, run_id, _ = overfit_run
    at = app(page="train")
    at.selectbox(key=state.TRAIN_RUN).set_value(run_id).run()
    at.selectbox(key=i18n.KEY).set_value("zh").run()
    reading("zh")
    assert no_exception(at) and not at.error, [e.value for e in at.error]
    assert at.selectbox(key=state.TRAIN_RUN).value == run_id
    at.selectbox(key=i18n.KEY).set_value("en").run()
    reading("en")
    assert at.selectbox(key=state.TRAIN_RUN).value == run_id and at.query_params["lang"] in ("en", ["en"])



def test_switching_language_sends_each_choice_again_in_the_new_labels(app):
    """A choice widget is held in the browser by its label: after a switch the browser must be
    sent the label in the new language (`set_value` with it), or its radio group shows no
    choice although the choice holds."""
    at = app(page="train")
    preset, source = at.radio(key=state.TRAIN_PRESET).value, at.radio(key=state.SOURCE).value
    english = at.radio(key=state.SOURCE).options
    at.selectbox(key=i18n.KEY).set_value("zh").run()
    reading("zh")
    assert no_exception(at)
    assert at.radio(key=state.SOURCE).options != english                # the labels are Chinese now
    for key, choice, label in ((state.TRAIN_PRESET, preset, i18n._(preset)),
                               (state.SOURCE, source, i18n._(state.SOURCES[source]))):
        radio = at.radio(key=key)
        assert radio.value == choice and radio.options[radio.index] == label       # the choice held ...
        assert radio.proto.set_value and radio.proto.raw_value == label            # ... and the browser is told
    at.run()                                                        # the next run has nothing new to send
    assert not at.radio(key=state.SOURCE).proto.set_value and at.radio(key=state.SOURCE).value == source
