"""The gradient view's numbers and their wording: a per-step factor is named by its value
(holds near 1, shrinks below, grows above) and a pair of models is checked against the
textbook (the LSTM keeps more of the last word's gradient), with reasons where it is not."""
from __future__ import annotations

import numpy as np
import pytest

from core import analysis
from core.analysis import GradientReach, against_textbook, trend
from explorer.components.trace_view import reach_sentence, textbook_sentence


def reach(cell, factor, steps=12, cell_factor=None, forget=None) -> GradientReach:
    """A caption of `steps` whose gradient is multiplied by `factor` at every step back."""
    decay = factor ** np.arange(steps - 1, -1, -1.0)
    cell_decay = None if cell_factor is None else cell_factor ** np.arange(steps - 1, -1, -1.0)
    return GradientReach(cell, steps, decay, analysis.per_step_factor(decay), cell_decay,
                         None if cell_factor is None else analysis.per_step_factor(cell_decay), forget)


@pytest.mark.parametrize("factor, word", [(1.0, "holds"), (0.99, "holds"), (1.015, "holds"),
                                          (0.9, "shrinks"), (0.5, "shrinks"), (1.05, "grows"), (3.0, "grows")])
def test_the_trend_follows_the_factor(factor, word):
    assert trend(factor) == word
    assert reach("rnn", factor).factor == pytest.approx(factor)


def test_the_sentence_follows_the_numbers_both_ways():
    held = reach_sentence("run", reach("rnn", 1.0))
    assert "**1.000**" in held and "keeps its size" in held and "vanish" not in held
    shrunk = reach_sentence("run", reach("rnn", 0.8))
    assert "**0.800**" in shrunk and "shrinks (vanishes)" in shrunk
    grown = reach_sentence("run", reach("rnn", 1.2))
    assert "grows (explodes)" in grown and "shrinks" not in grown
    lstm = reach_sentence("run", reach("lstm", 0.7, cell_factor=0.99, forget=0.97))
    assert "shrinks (vanishes)" in lstm and "cell state the factor is **0.990**: it keeps its size." in lstm
    assert "**0.97**" in lstm


def test_a_pair_that_agrees_with_the_textbook_says_so():
    rnn, lstm = reach("rnn", 0.7, steps=60), reach("lstm", 0.98, steps=60, cell_factor=0.99, forget=0.95)
    assert against_textbook(rnn, lstm) == (True, [])
    agrees, text = textbook_sentence(rnn, lstm, steps=60)
    assert agrees and text.startswith("As the textbook says") and f"×{lstm.reach:.3g}" in text


def test_a_pair_that_disagrees_says_so_and_why():
    """The issue's pair: a trained LSTM reaching step 0 at ×0.0334, an RNN at ×0.957."""
    rnn = reach("rnn", 0.957 ** (1 / 11))
    lstm = reach("lstm", 0.0334 ** (1 / 11), cell_factor=0.9, forget=0.45)
    agrees, reasons = against_textbook(rnn, lstm)
    assert not agrees and reasons == ["short", "forgetful", "rnn_holds", "cell_holds"]
    agrees, text = textbook_sentence(rnn, lstm, steps=12)
    assert not agrees and "disagree with the textbook" in text
    assert "×0.0334" in text and "×0.957" in text and "only 12 steps" in text and "average 0.45" in text
    # long captions, gates held open, an RNN that shrinks: only what is true is said
    rnn, lstm = reach("rnn", 0.9, steps=60), reach("lstm", 0.85, steps=60, cell_factor=0.8, forget=0.9)
    assert against_textbook(rnn, lstm) == (False, [])
    assert "None of the usual reasons" in textbook_sentence(rnn, lstm, steps=60)[1]


def test_two_of_the_same_cell_are_not_held_against_the_textbook():
    assert textbook_sentence(reach("rnn", 0.9), reach("rnn", 0.8), steps=12) is None
