"""Whole-caption analysis: unit orders, norms, saturation, token colouring."""
import numpy as np
import pytest

from core import StepDecoder, teacher_forced_trace
from core.analysis import (CaptionStates, entropy, gradient_decay, hidden_norms, per_step_factor,
                           rank_of, saturation, top_k, unit_order, unit_trace)

from .conftest import VOCAB, WORDS, feature, long_decoder

START, END = VOCAB["<START>"], VOCAB["<END>"]
ITW = dict(enumerate(WORDS))




# --- unit orders and per-step numbers -------------------------------------------------

H_FIXED = np.array([[-0.9, 0.0, 0.5, 0.1],
                    [0.9, 0.0, 0.4, 0.3],
                    [-0.9, 0.0, 0.6, 0.5]])           # (T=3, H=4)


def test_unit_order_by_index_variance_and_activation():
    assert unit_order(H_FIXED, "index").tolist() == [0, 1, 2, 3]
    assert unit_order(H_FIXED, "variance").tolist() == [0, 3, 2, 1]   # var .72, 0, .0067, .0267
    assert unit_order(H_FIXED, "activation", step=1).tolist() == [0, 2, 3, 1]
    assert unit_order(H_FIXED, "activation", step=-1).tolist() == [2, 3, 1, 0]
    assert unit_order(np.zeros((2, 3)), "variance").tolist() == [0, 1, 2]   # ties keep index order


@pytest.mark.parametrize("by, step", [("activation", None), ("activation", 3), ("loudness", 0)])
def test_unit_order_refuses_a_bad_request(by, step):
    with pytest.raises(ValueError):
        unit_order(H_FIXED, by, step=step)


def test_hidden_norms_and_saturation_of_a_vanilla_rnn():
    h = np.linspace(-1, 1, 12).reshape(3, 4)            # rows: [-1 .. -0.45], [-0.27 .. 0.27], [0.45 .. 1]
    np.testing.assert_allclose(hidden_norms(h), np.linalg.norm(h, axis=1))
    states = CaptionStates(inputs=["<START>", "a", "b"], outputs=["a", "b", "<END>"], h=h)
    sat = saturation(states)
    assert list(sat) == ["h"]
    np.testing.assert_allclose(sat["h"], [0.25, 0.0, 0.25])   # only -1 and +1 are beyond 0.95


def test_saturation_counts_gates_at_both_ends():
    T, H = 2, 4
    gates = {"i": np.array([[0.01, 0.5, 0.5, 0.99], [0.5] * 4]),
             "f": np.full((T, H), 0.999), "o": np.full((T, H), 0.5),
             "g": np.array([[-0.99, 0.0, 0.0, 0.0], [0.96, 0.97, -0.98, 0.0]])}
    states = CaptionStates(inputs=["<START>", "a"], outputs=["a", "<END>"], h=np.zeros((T, H)),
                           c=np.zeros((T, H)), gates=gates)
    sat = saturation(states)
    np.testing.assert_allclose(sat["i"], [0.5, 0.0])
    np.testing.assert_allclose(sat["f"], [1.0, 1.0])
    np.testing.assert_allclose(sat["o"], [0.0, 0.0])
    np.testing.assert_allclose(sat["g"], [0.25, 0.75])
    np.testing.assert_allclose(sat["h"], [0.0, 0.0])


def test_states_from_steps_and_from_a_trace_agree(tiny_model):
    caption = [START, VOCAB["a"], VOCAB["red"], VOCAB["circle"], END]
    trace = teacher_forced_trace(tiny_model, feature(), caption)
    dec = StepDecoder(tiny_model, feature(), max_length=10)
    for word in caption[1:]:
        dec.step(force=word)                          # the same words, fed one by one
    a = CaptionStates.from_steps(dec.steps, ITW)
    b = CaptionStates.from_trace(trace, ITW)
    assert a.inputs == b.inputs == ["<START>", "a", "red", "circle"]
    assert a.outputs == b.outputs == ["a", "red", "circle", "<END>"]
    assert a.forced == (True,) * 4 and b.forced == (False,) * 4
    np.testing.assert_allclose(a.h, b.h, rtol=1e-5, atol=1e-6)
    assert (a.T, a.H) == (4, 16)
    if tiny_model.cell_type == "lstm":
        np.testing.assert_allclose(a.c, b.c, rtol=1e-5, atol=1e-6)
        for g in "ifog":
            np.testing.assert_allclose(a.gates[g], b.gates[g], rtol=1e-5, atol=1e-6)
    else:
        assert a.c is None and b.gates is None


def test_from_steps_needs_a_step():
    with pytest.raises(ValueError, match="at least one step"):
        CaptionStates.from_steps([], ITW)


def test_unit_trace_pairs_each_word_with_its_state(tiny_model):
    dec = long_decoder(tiny_model.cell_type)
    dec.run()
    states = CaptionStates.from_steps(dec.steps, ITW)
    pairs = unit_trace(states, 3)
    assert [w for w, _ in pairs] == dec.words()
    np.testing.assert_allclose([v for _, v in pairs], [s.h[3] for s in dec.steps])
    if tiny_model.cell_type == "lstm":
        np.testing.assert_allclose([v for _, v in unit_trace(states, 3, "c")], [s.c[3] for s in dec.steps])
        np.testing.assert_allclose([v for _, v in unit_trace(states, 3, "f")],
                                   [s.gates["f"][3] for s in dec.steps])
    else:
        with pytest.raises(ValueError, match="vanilla RNN"):
            unit_trace(states, 3, "c")
    with pytest.raises(ValueError, match="outside"):
        unit_trace(states, 16)


# --- one distribution --------------------------------------------------------------

def test_top_k_orders_by_probability_and_breaks_ties_by_id():
    probs = np.array([0.1, 0.3, 0.1, 0.4, 0.1])
    ids, p = top_k(probs, 4)
    assert ids.tolist() == [3, 1, 0, 2] and p.tolist() == [0.4, 0.3, 0.1, 0.1]
    assert top_k(probs, 50)[0].tolist() == [3, 1, 0, 2, 4]


def test_entropy_and_rank():
    assert entropy(np.full(8, 1 / 8)) == pytest.approx(np.log(8))
    assert entropy([1.0, 0.0, 0.0]) == 0.0
    probs = np.array([0.1, 0.3, 0.1, 0.4, 0.1])
    assert rank_of(probs, 3) == 1 and rank_of(probs, 1) == 2 and rank_of(probs, 4) == 3


# --- gradients through time -----------------------------------------------------------

def test_gradient_decay_and_per_step_factor():
    g = np.array([0.01, 0.1, 1.0, 10.0])
    np.testing.assert_allclose(gradient_decay(g), [0.001, 0.01, 0.1, 1.0])
    assert per_step_factor(g) == pytest.approx(0.1)
    assert per_step_factor(np.array([2.0])) == 1.0


def test_per_step_factor_of_a_real_trace(tiny_model):
    caption = [START] + [VOCAB[w] for w in ["a", "red", "circle", "on", "left"]] + [END]
    trace = teacher_forced_trace(tiny_model, feature(), caption)
    factor = per_step_factor(trace.grad_norm_last)
    assert factor ** (len(caption) - 2) == pytest.approx(trace.grad_norm_last[0] / trace.grad_norm_last[-1])
