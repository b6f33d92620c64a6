"""Decoding strategies, the step-through decoder and the teacher-forced trace."""
import itertools

import numpy as np
import pytest

from core import (StepDecoder, beam_search, decode, eval_numerical_gradient, greedy_decode,
                  layers, teacher_forced_trace, temperature_decode)
from core.decoding import _step_back_to_inputs, log_softmax, split_gates

from .conftest import VOCAB, WORDS, feature, long_decoder, make_model

START, END, NULL = VOCAB["<START>"], VOCAB["<END>"], VOCAB["<NULL>"]


def features(n, seed=0):
    return np.random.default_rng(seed).standard_normal((n, 10))


def strip(row):
    """Generated ids up to and including <END>."""
    row = list(row)
    return row[:row.index(END) + 1] if END in row else row


def test_step_decoder_agrees_with_sample(tiny_model):
    feats = features(12)
    sampled = tiny_model.sample(feats, max_length=15)
    for n in range(len(feats)):
        dec = StepDecoder(tiny_model, feats[n], max_length=15)
        dec.run()
        assert dec.tokens == strip(sampled[n])


def test_step_back_and_forward_reproduce_a_fresh_run(tiny_model):
    model = make_model(tiny_model.cell_type, end_bias=-5.0)      # no early <END>
    for strategy in ("greedy", "temperature"):
        fresh = StepDecoder(model, features(1)[0], strategy=strategy, temperature=1.5, seed=3)
        for _ in range(4):
            fresh.step()
        dec = StepDecoder(model, features(1)[0], strategy=strategy, temperature=1.5, seed=3)
        for _ in range(6):
            dec.step()
        dec.back()
        dec.back()
        dec.step()
        dec.step()
        dec.back()
        dec.back()
        assert dec.t == fresh.t == 4
        for a, b in zip(dec.steps, fresh.steps):
            assert a.chosen == b.chosen and a.input_token == b.input_token
            np.testing.assert_array_equal(a.h, b.h)
            np.testing.assert_array_equal(a.probs, b.probs)


def test_forcing_a_word_changes_the_continuation():
    model = make_model("lstm", end_bias=-5.0)            # no early <END>: long continuations
    dec = StepDecoder(model, features(1)[0], max_length=10)
    original = [s.chosen for s in dec.run()]
    alternative = next(w for w in (VOCAB["red"], VOCAB["blue"]) if w != original[1])
    dec.force(alternative, at=1)
    assert dec.t == 2 and dec.steps[1].forced and dec.steps[1].chosen == alternative
    assert dec.steps[0].chosen == original[0]            # before the forced step: unchanged
    dec.run()
    changed = [s.chosen for s in dec.steps]
    assert changed[1] == alternative
    assert changed[2:] != original[2:]
    # the step after the forced word is fed the forced word
    assert dec.steps[2].input_token == alternative


def test_lstm_steps_expose_gates_and_cell(tiny_model):
    dec = StepDecoder(tiny_model, features(1)[0])
    s = dec.step()
    H = tiny_model.hidden_dim
    assert s.h.shape == (H,) and s.probs.shape == (len(VOCAB),)
    assert s.probs.sum() == pytest.approx(1.0, abs=1e-5)
    if tiny_model.cell_type == "lstm":
        assert set(s.gates) == {"i", "f", "o", "g"} and s.c.shape == (H,)
        for name in "ifo":
            assert np.all((s.gates[name] >= 0) & (s.gates[name] <= 1))
        np.testing.assert_allclose(s.h, s.gates["o"] * np.tanh(s.c), rtol=1e-5, atol=1e-6)
    else:
        assert s.gates is None and s.c is None


def test_beam_of_one_is_greedy(tiny_model):
    feats = features(20, seed=4)
    g = greedy_decode(tiny_model, feats, max_length=12)
    b = beam_search(tiny_model, feats, beam_size=1, max_length=12)
    np.testing.assert_array_equal(g.captions, b.captions)
    np.testing.assert_allclose(g.logprobs, b.logprobs, rtol=1e-5)


def _exhaustive_best(model, feature, max_length):
    """The most likely caption by trying every word sequence (tiny vocab only)."""
    V = model.vocab_size
    best = (-np.inf, None)
    h0, c0 = model.init_state(feature[None])
    for length in range(1, max_length + 1):
        for seq in itertools.product(range(V), repeat=length):
            if END in seq[:-1]:
                continue
            if length < max_length and seq[-1] != END:
                continue
            h, c, words, total = h0, c0, [START], 0.0
            for w in seq:
                out = model.step(np.array(words[-1:]), h, c)
                h, c = out.h, out.c
                total += float(log_softmax(out.scores)[0, w])
                words.append(w)
            best = max(best, (total, list(seq)), key=lambda b: b[0])
    return best


def test_wide_beam_finds_the_exact_best_caption():
    model = make_model("rnn", end_bias=1.0)
    feats = features(3, seed=7)
    result = beam_search(model, feats, beam_size=40, max_length=3)
    for n in range(3):
        score, seq = _exhaustive_best(model, feats[n], 3)
        assert strip(result.captions[n]) == seq
        assert result.logprobs[n] == pytest.approx(score, rel=1e-5)


def test_logprobs_agree_with_teacher_forcing(tiny_model):
    feats = features(5, seed=2)
    for decoded in (greedy_decode(tiny_model, feats, 10), beam_search(tiny_model, feats, 3, 10),
                    temperature_decode(tiny_model, feats, 1.3, seed=1, max_length=10)):
        for n in range(5):
            words = strip(decoded.captions[n])
            assert decoded.lengths[n] == len(words)
            trace = teacher_forced_trace(tiny_model, feats[n], [START] + words)
            assert decoded.logprobs[n] == pytest.approx(-trace.loss, rel=1e-4)


def test_temperature_sampling_is_seeded():
    model = make_model("rnn", end_bias=-3.0)
    feats = features(8, seed=1)
    a = temperature_decode(model, feats, 1.0, seed=11, max_length=10).captions
    b = temperature_decode(model, feats, 1.0, seed=11, max_length=10).captions
    c = temperature_decode(model, feats, 1.0, seed=12, max_length=10).captions
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()
    cold = temperature_decode(model, feats, 1e-4, seed=11, max_length=10).captions
    np.testing.assert_array_equal(cold, greedy_decode(model, feats, 10).captions)
    dec = StepDecoder(model, feats[0], strategy="temperature", temperature=1.0, seed=11, max_length=10)
    assert dec.tokens == [] and [s.chosen for s in dec.run()] == strip(a[0])


@pytest.mark.parametrize("kwargs, match", [
    ({"strategy": "nucleus"}, "strategy"),
    ({"strategy": "temperature", "temperature": 0}, "temperature"),
    ({"strategy": "beam", "beam_size": 0}, "beam_size"),
    ({"max_length": 0}, "max_length"),
    ({"max_length": None}, "max_length"),
    ({"strategy": "temperature", "temperature": "1"}, "temperature"),
    ({"strategy": "temperature", "temperature": float("inf")}, "temperature"),
    ({"strategy": "beam", "beam_size": 2.5}, "beam_size"),
])
def test_bad_decoding_options_are_refused(tiny_model, kwargs, match):
    with pytest.raises(ValueError, match=match):
        decode(tiny_model, features(2), **kwargs)


@pytest.mark.parametrize("temperature", [1e-300, 1e-40, 1e40, 1e300])
def test_extreme_temperatures_give_valid_draws_without_warnings(temperature):
    """RuntimeWarnings are errors here: a tiny or huge temperature must not overflow."""
    model = make_model("rnn", end_bias=-3.0)
    feats = features(4, seed=3)
    out = temperature_decode(model, feats, temperature, seed=2, max_length=8)
    assert np.isfinite(out.logprobs).all()
    if temperature < 1:
        np.testing.assert_array_equal(out.captions, greedy_decode(model, feats, 8).captions)
    step = StepDecoder(model, feats[0], strategy="temperature", temperature=temperature).step()
    assert np.isfinite(step.probs).all() and step.probs.sum() == pytest.approx(1.0)


def test_forcing_something_that_is_not_a_word_id_is_refused():
    dec = StepDecoder(make_model("rnn"), features(1)[0])
    for bad in (-1, len(VOCAB), 2.5, "3", True):
        with pytest.raises(ValueError, match="not a word id"):
            dec.force(bad)
    assert dec.t == 0


def test_trace_gradients_match_numeric(tiny_model):
    model = make_model(tiny_model.cell_type, dtype=np.float64)
    feat = features(1, seed=3)[0]
    caption = np.array([START, 4, 5, 7, 9, 10, END, NULL, NULL])
    trace = teacher_forced_trace(model, feat, caption)
    T = 6
    assert trace.h.shape == (T, model.hidden_dim)
    np.testing.assert_array_equal(trace.target_tokens, caption[1:T + 1])
    loss, _ = model.loss(feat[None], caption[None])
    assert trace.loss == pytest.approx(loss, rel=1e-10)
    p = model.params

    def loss_with_nudge(t, delta):
        """The caption's loss with `delta` added to the hidden state after step t."""
        h, c = model.init_state(feat[None])
        total = 0.0
        for s in range(T):
            x = p["W_embed"][caption[s:s + 1]]
            if model.cell_type == "lstm":
                h, c, _ = layers.lstm_step_forward(x, h, c, p["Wx"], p["Wh"], p["b"])
            else:
                h, _ = layers.rnn_step_forward(x, h, p["Wx"], p["Wh"], p["b"])
            if s == t:
                h = h + delta
            total -= log_softmax(h @ p["W_vocab"] + p["b_vocab"])[0, caption[s + 1]]
        return total

    for t in (0, 2, T - 1):
        numeric = eval_numerical_gradient(lambda d: loss_with_nudge(t, d), np.zeros(model.hidden_dim),
                                          verbose=False)
        np.testing.assert_allclose(trace.dh[t], numeric, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(trace.grad_norm, np.linalg.norm(trace.dh, axis=1))
    # after the last step nothing flows back, so there both norms are the local gradient
    assert trace.grad_norm_last[-1] == pytest.approx(trace.grad_norm[-1])
    assert trace.grad_norm_last[0] != pytest.approx(trace.grad_norm[0])
    np.testing.assert_allclose(trace.p_true, np.exp(-trace.step_loss))
    assert np.all(trace.top_probs >= trace.p_true - 1e-12)


def test_trace_finds_where_free_running_leaves_the_truth(tiny_model):
    model = make_model(tiny_model.cell_type, end_bias=-5.0)      # no early <END>
    feat = features(1, seed=5)[0]
    free = strip(greedy_decode(model, feat[None], 8).captions[0])
    assert END not in free[:3]
    departed = 4 if free[2] != 4 else 5
    trace = teacher_forced_trace(model, feat, [START] + free[:2] + [departed, END])
    assert trace.divergence_step == 2
    assert list(trace.top_tokens[:2]) == free[:2]
    following = teacher_forced_trace(model, feat, [START] + free[:3])
    assert following.divergence_step is None


def test_trace_refuses_a_caption_without_start(tiny_model):
    with pytest.raises(ValueError, match="<START>"):
        teacher_forced_trace(tiny_model, features(1)[0], [4, 5, END])
    for bad in ([START, 4, len(VOCAB), END], [START, -1, END], [1.0, 4.0, 2.0]):
        with pytest.raises(ValueError, match="word ids from 0 to 11"):
            teacher_forced_trace(tiny_model, features(1)[0], bad)


def test_temperature_draws_follow_the_image_not_its_place_in_the_batch():
    model = make_model("rnn", end_bias=-3.0)
    feats = features(6, seed=8)
    keys = np.array([40, 41, 42, 43, 44, 45])
    whole = temperature_decode(model, feats, 1.2, seed=5, max_length=10, keys=keys).captions
    part = temperature_decode(model, feats[3:], 1.2, seed=5, max_length=10, keys=keys[3:]).captions
    np.testing.assert_array_equal(whole[3:], part)
    dec = StepDecoder(model, feats[4], strategy="temperature", temperature=1.2, seed=5, max_length=10, key=44)
    assert [s.chosen for s in dec.run()] == strip(whole[4])
    with pytest.raises(ValueError, match="keys"):
        temperature_decode(model, feats, 1.0, keys=[-1, 0, 1, 2, 3, 4])




# --- looking ahead with a StepDecoder ------------------------------------------------------------

@pytest.mark.parametrize("strategy", ["greedy", "temperature"])
def test_continuation_is_the_rest_of_the_run_and_leaves_the_decoder_alone(strategy):
    dec = long_decoder(strategy=strategy, temperature=1.5, seed=4)
    dec.step()
    dec.step()
    ahead = dec.continuation()
    assert dec.t == 2
    full = long_decoder(strategy=strategy, temperature=1.5, seed=4).run()
    assert [s.chosen for s in ahead] == [s.chosen for s in full]
    np.testing.assert_array_equal(ahead[-1].h, full[-1].h)


def test_a_snapshot_steps_on_from_where_it_was_taken_whatever_the_decoder_does_after():
    dec = long_decoder("lstm")
    dec.step()
    here = dec.snapshot()
    expected = [s.chosen for s in dec.continuation()]
    dec.back()                                          # the page moves on before the GIF is pressed
    other = next(i for i in range(4, len(WORDS)) if i != expected[0])
    dec.force(other)
    assert [s.chosen for s in here.run()] == expected and dec.t == 1 and dec.steps[0].chosen == other


def test_unforced_forgets_the_forced_words_and_replay_keeps_them():
    dec = long_decoder("lstm")
    original = [s.chosen for s in dec.continuation()]
    dec.step()
    other = next(i for i in range(4, len(WORDS)) if i != original[1])
    dec.force(other)
    assert [s.chosen for s in dec.unforced()] == original
    assert dec.t == 2 and dec.steps[1].forced
    again = long_decoder("lstm", strategy="temperature", temperature=0.5, seed=1).replay(dec.steps)
    assert again.t == 2 and again.steps[1].forced and again.steps[1].chosen == other
    assert again.strategy == "temperature"


def test_replay_stops_when_the_caption_ends():
    dec = StepDecoder(make_model("rnn", end_bias=30.0), feature(), max_length=8)   # <END> at once
    dec.run()
    assert dec.t == 1
    longer = long_decoder()
    longer.run()
    again = StepDecoder(make_model("rnn", end_bias=30.0), feature(), max_length=8).replay(longer.steps)
    assert again.t == 1 and again.finished


def test_trace_measures_the_last_words_gradient_on_word_vectors_and_the_cell(tiny_model):
    """grad_x_last is ||dL_T/dx_t|| (x_t the word vector read at step t) and, for an LSTM,
    grad_c_last is ||dL_T/dc_t||, both against numeric gradients of the last word's loss."""
    model = make_model(tiny_model.cell_type, dtype=np.float64)
    feat = features(1, seed=4)[0]
    caption = np.array([START, 4, 6, 8, 5, END, NULL])
    trace = teacher_forced_trace(model, feat, caption)
    T, p, lstm = 5, model.params, model.cell_type == "lstm"

    def last_loss(t, dx=0.0, dc=0.0):
        h, c = model.init_state(feat[None])
        for s in range(T):
            x = p["W_embed"][caption[s:s + 1]] + (dx if s == t else 0.0)
            if lstm:
                h, c, cache = layers.lstm_step_forward(x, h, c, p["Wx"], p["Wh"], p["b"])
                if s == t:                                  # nudge c_t, then h_t as it follows from it
                    c = c + dc
                    h = split_gates(cache.gates)["o"] * np.tanh(c)
            else:
                h, _ = layers.rnn_step_forward(x, h, p["Wx"], p["Wh"], p["b"])
        return -log_softmax(h @ p["W_vocab"] + p["b_vocab"])[0, caption[T]]

    for t in (0, 2, T - 1):
        numeric = eval_numerical_gradient(lambda d: last_loss(t, dx=d), np.zeros(model.wordvec_dim), verbose=False)
        assert trace.grad_x_last[t] == pytest.approx(np.linalg.norm(numeric), rel=1e-5)
        if lstm:
            numeric = eval_numerical_gradient(lambda d: last_loss(t, dc=d), np.zeros(model.hidden_dim), verbose=False)
            assert trace.grad_c_last[t] == pytest.approx(np.linalg.norm(numeric), rel=1e-5)
    assert (trace.grad_c_last is not None) == lstm


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_traces_step_back_gives_the_layers_own_input_gradients(tiny_model, dtype):
    """The trace steps back without the weight gradients, which it never reads; what it
    keeps (dx, dprev_h and the LSTM's dprev_c) is the step layer's backward, to the last bit."""
    rng = np.random.default_rng(5)
    model = make_model(tiny_model.cell_type, dtype=dtype)
    p, lstm = model.params, tiny_model.cell_type == "lstm"
    H = model.hidden_dim
    x, h, c = (rng.standard_normal((1, n)).astype(dtype) for n in (model.wordvec_dim, H, H))
    dnext_h, dnext_c = (rng.standard_normal((1, H)).astype(dtype) for _ in range(2))
    if lstm:
        *_, cache = layers.lstm_step_forward(x, h, c, p["Wx"], p["Wh"], p["b"])
        expected = layers.lstm_step_backward(dnext_h, dnext_c, cache)[:3]
    else:
        _, cache = layers.rnn_step_forward(x, h, p["Wx"], p["Wh"], p["b"])
        expected = layers.rnn_step_backward(dnext_h, cache)[:2] + (None,)
    got = _step_back_to_inputs(dnext_h, dnext_c, cache, lstm)
    for mine, theirs in zip(got, expected):
        if theirs is None:
            assert mine is None
        else:
            assert mine.dtype == theirs.dtype
            np.testing.assert_array_equal(mine, theirs)
