"""Compare's "Words or characters?" through the real app and the real runner: the question,
a missing model offered for training, the measured table once both are trained, the student's
answer kept, and the tab in English, Chinese and Korean.

The pair recipe is made tiny (two iterations) so the runs take a second: everything else,
the runner, its workers, the checkpoints and the measurements, is the real thing."""
from __future__ import annotations

import pytest

from explorer import i18n, state
from explorer.components import tokens_view
from explorer.runs import settings
from tests.support.page_text import english_left, page_texts, translated_english

from .conftest import no_exception, rerun_until

VIEW = "compare.view"
TAB = "Words or characters?"


@pytest.fixture
def tiny_pair(monkeypatch):
    monkeypatch.setattr(settings, "PAIR_RECIPE", settings.PAIR_RECIPE.replace(
        hidden_dim=16, wordvec_dim=8, max_train=100, batch_size=50, num_epochs=1))


def open_tab(at, lang="en"):
    at.session_state[VIEW] = i18n.translations(lang).gettext(TAB)
    at.run()
    assert no_exception(at) and not at.error, [e.value for e in at.error]
    return at


def train(at, tokens, cell="rnn"):
    at.button(key=f"compare.tokens.train.{cell}.{tokens}").click().run()
    assert no_exception(at)
    return rerun_until(at, lambda at: tokens_view.pair_runs(state.dataset(), cell)[tokens] is not None
                       and tokens_view.pair_runs(state.dataset(), cell)[tokens].status == "done",
                       what=f"the {cell} {tokens} model to be trained")


def measured(at) -> dict:
    table = next((d.value for d in at.dataframe if "measured" in d.value.columns), None)
    return None if table is None else table.set_index("measured")


def test_a_missing_model_is_offered_then_both_are_measured_side_by_side(app, tiny_pair):
    at = open_tab(app("compare"))
    assert any("operate over characters" in m.value for m in at.markdown)        # the notebook's words
    assert {b.label for b in at.button} >= {"Train the word model", "Train the character model"}
    assert measured(at) is None

    train(at, "words")                                     # one of the two: its column alone, and why
    at.run()
    assert any("appears when both models are trained" in i.value for i in at.info)
    assert list(measured(at).columns) == ["word model"]
    assert any(b.label == "Train the character model" for b in at.button)

    train(at, "characters")
    at.run()
    table = measured(at)
    assert list(table.columns) == ["word model", "character model"]
    words, chars = state.dataset().data["idx_to_word"], state.for_model(
        state.dataset(), state.runner().load_model(tokens_view.pair_runs(state.dataset(), "rnn")["characters"]
                                                   .run_id)[0]).data["idx_to_word"]
    assert table.loc["Vocabulary V"].tolist() == [f"{len(words):,}", f"{len(chars):,}"]
    assert table.loc["Embedding V × W"].tolist() == [f"{len(words) * 8:,}", f"{len(chars) * 8:,}"]
    assert table.loc["Output H × V"].tolist() == [f"{(16 + 1) * len(words):,}", f"{(16 + 1) * len(chars):,}"]
    steps = [float(v.split(" / ")[0]) for v in table.loc["Timesteps per caption (mean / max)"]]
    assert steps[1] > 3 * steps[0]
    assert table.loc["Sampled words not in the vocabulary"].tolist()[0] == "0.0%"
    course = next(c.value for c in at.caption if "the course's 1,004 words" in c.value)
    assert f"{1004 * 8 + 17 * 1004:,} parameters, against {len(chars) * 8 + 17 * len(chars):,}" in course
    gradients = next(d.value for d in at.dataframe if "vanilla RNN" in d.value.columns)
    assert gradients["vanilla RNN"].str.startswith("×").all() and (gradients["LSTM"] == "—").all()

    at.segmented_control(key=tokens_view.CELL).set_value("lstm").run()     # the other cell's pair
    for tokens in ("words", "characters"):
        train(at, tokens, "lstm")
    at.run()
    assert no_exception(at) and not at.error
    gradients = next(d.value for d in at.dataframe if "vanilla RNN" in d.value.columns)
    assert gradients.map(lambda v: v.startswith("×")).all().all()             # both cells, both tokens
    at.text_area(key=tokens_view.ANSWER).input("Advantage: a small V. Disadvantage: 5x the steps.").run()
    at.switch_page("../pages/inspect.py").run()
    at.switch_page("../pages/compare.py").run()
    assert at.text_area(key=tokens_view.ANSWER).value.startswith("Advantage: a small V.")


@pytest.mark.parametrize("lang", ["zh", "ko"])
def test_the_tab_reads_in_the_language_with_one_model_and_with_both(app, tiny_pair, demo_data, lang):
    english = translated_english(i18n.read_catalogue(lang))
    at = open_tab(app("compare", query={"lang": lang}), lang)
    assert english_left(page_texts(at), demo_data["idx_to_word"], english) == []
    for tokens in ("words", "characters"):
        train(at, tokens)
        at.run()
        assert no_exception(at) and not at.error
        assert english_left(page_texts(at), demo_data["idx_to_word"], english) == []
    assert len(next(d.value for d in at.dataframe if len(d.value.columns) == 3).columns) == 3
