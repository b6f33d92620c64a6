"""core.notebook, the notebook numbers the layer lab and the student checker run, against the
tests' own copy of the notebook's cells (tests/core/notebook_values.py)."""
import numpy as np
import pytest

from core import notebook
from tests.core import notebook_values as nb
from tests.core.test_model import notebook_loss_cell

CELLS = {"rnn_step": nb.RNN_STEP, "rnn": nb.RNN, "lstm_step": nb.LSTM_STEP, "lstm": nb.LSTM,
         "word_embedding": nb.WORD_EMBEDDING}


@pytest.mark.parametrize("key", sorted(CELLS))
def test_forward_cases_hold_the_notebooks_inputs_and_values(key):
    case, cell = notebook.NOTEBOOK_FORWARD[key], CELLS[key]
    for mine, theirs in zip(case.inputs(), cell["inputs"](), strict=True):
        np.testing.assert_array_equal(mine, theirs)
    assert case.expected.keys() == cell.keys() - {"inputs"}
    for name, values in case.expected.items():
        np.testing.assert_array_equal(values, cell[name])


def test_the_set_of_forward_cases_is_the_notebooks():
    assert notebook.NOTEBOOK_FORWARD.keys() == CELLS.keys()


def test_softmax_sanity_and_model_values():
    assert notebook.SOFTMAX_SANITY == nb.SOFTMAX_SANITY
    assert notebook.NOTEBOOK_MODEL_LOSS == nb.MODEL_LOSS and notebook.NOTEBOOK_VOCAB == nb.MODEL_VOCAB
    assert notebook.MODEL_CASE == nb.MODEL_SIZES


@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_the_model_case_is_the_notebooks_loss_cell(cell):
    model, features, captions = notebook.notebook_model_case(cell)
    ours, our_features, our_captions = notebook_loss_cell(cell)
    np.testing.assert_array_equal(features, our_features)
    np.testing.assert_array_equal(captions, our_captions)
    assert model.params.keys() == ours.params.keys()
    for name in model.params:
        np.testing.assert_array_equal(model.params[name], ours.params[name])
