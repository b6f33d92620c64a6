"""Turning a trained model into captions, and looking inside it while it does.

Everything here is built on the model's one `step(words, h, c)` function:
- `greedy_decode`, `temperature_decode`, `beam_search`: batch strategies, each returning
  captions with their log-probabilities (`CaptioningRNN.sample` is `greedy_decode`);
- `StepDecoder`: one image, one timestep at a time, with rewind and "what if" forcing;
- `teacher_forced_trace`: the model fed a ground-truth caption, with the probability of
  every true word and the gradient flowing back through time.

A caption's log-probability is the sum of log p(word) over its generated words,
`<END>` included when it was generated.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from . import layers as L
from .arguments import is_whole, positive_int, positive_number

GATE_NAMES = ("i", "f", "o", "g")


def split_gates(gates) -> dict:
    """LSTM activations (..., 4H) as {"i": (..., H), "f": …, "o": …, "g": …} views."""
    H = gates.shape[-1] // 4
    return {name: gates[..., k * H:(k + 1) * H] for k, name in enumerate(GATE_NAMES)}


def log_softmax(scores, temperature=1.0):
    """Row-wise log-softmax of scores (B, V) / temperature, computed stably.

    Any positive temperature works: the scores, shifted so the best is 0, are divided in
    float64, and those too far below the best become -inf (probability 0) silently.
    """
    z = scores - scores.max(axis=-1, keepdims=True)              # <= 0, the best is 0
    if temperature != 1.0:
        with np.errstate(over="ignore"):
            z = z.astype(np.float64) / temperature
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def softmax(scores, temperature=1.0):
    """Row-wise softmax of scores (B, V) / temperature."""
    return np.exp(log_softmax(scores, temperature))


@dataclass(frozen=True)
class Decoded:
    """Captions for a batch of N images."""

    captions: np.ndarray     # (N, max_length) ids; <NULL> after a row's <END>
    logprobs: np.ndarray     # (N,) float64 log-probability of each caption
    lengths: np.ndarray      # (N,) generated words per caption, <END> included


def _special_ids(model):
    if model.start_id is None or model.end_id is None:
        raise ValueError("decoding needs <START> and <END> in the model's vocabulary")
    return model.start_id, model.end_id, model.null_id


def _draw(logp, seed, t, keys):
    """Sample one id per row of log-probabilities (B, V), reproducibly for (seed, t, key).

    Row b's uniform draw comes from `default_rng([seed, t, keys[b]])`: the same image
    (key), seed and step give the same word however the decoding got there and whatever
    else was in the batch.
    """
    u = np.array([np.random.default_rng([seed, t, int(k)]).random() for k in keys])
    cdf = np.cumsum(np.exp(logp.astype(np.float64)), axis=1)
    picks = (cdf < (u * cdf[:, -1])[:, None]).sum(axis=1)
    return np.minimum(picks, logp.shape[1] - 1)


# --- batch strategies ----------------------------------------------------------------

def _decode(model, features, max_length, choose):
    """Left-to-right decoding for a batch; choose(t, logp (B, V)) picks each row's word."""
    start, end, null = _special_ids(model)
    max_length = positive_int("max_length", max_length)
    h, c = model.init_state(features)
    N = h.shape[0]
    captions = np.full((N, max_length), null, dtype=np.int64)
    logprobs = np.zeros(N)
    lengths = np.zeros(N, dtype=np.int64)
    done = np.zeros(N, dtype=bool)
    words = np.full(N, start, dtype=np.int64)
    rows = np.arange(N)
    for t in range(max_length):
        out = model.step(words, h, c)
        h, c = out.h, out.c
        logp = log_softmax(out.scores)
        words = choose(t, out.scores)
        live = ~done
        captions[live, t] = words[live]
        logprobs[live] += logp[rows[live], words[live]]
        lengths[live] += 1
        done |= words == end
        if done.all():
            break
    return Decoded(captions=captions, logprobs=logprobs, lengths=lengths)


def greedy_decode(model, features, max_length=30) -> Decoded:
    """The most likely word at every step, from <START>, for features (N, D)."""
    return _decode(model, features, max_length, lambda t, scores: scores.argmax(axis=1))


def greedy_with_distributions(model, features, max_length=30) -> tuple[Decoded, np.ndarray]:
    """Greedy decoding, with every step's next-word distribution (N, T, V), T the steps taken."""
    probs = []

    def choose(t, scores):
        probs.append(softmax(scores))
        return scores.argmax(axis=1)

    decoded = _decode(model, features, max_length, choose)
    return decoded, np.stack(probs, axis=1)


def temperature_decode(model, features, temperature=1.0, seed=0, max_length=30, keys=None) -> Decoded:
    """Words drawn from softmax(scores / temperature), reproducibly for a seed.

    `keys` (N,) non-negative ints name the rows (e.g. image indices; default 0..N-1): a
    row's words depend only on its features, the seed and its key.
    """
    temperature = positive_number("temperature", temperature)
    keys = _check_keys(keys, len(features))
    return _decode(model, features, max_length,
                   lambda t, scores: _draw(log_softmax(scores, temperature), seed, t, keys))


def _check_keys(keys, n):
    keys = np.arange(n) if keys is None else np.asarray(keys).reshape(-1)
    if keys.shape != (n,) or keys.dtype.kind not in "iu" or (keys < 0).any():
        raise ValueError(f"keys must be {n} non-negative integers, one per row")
    return keys


def beam_search(model, features, beam_size=3, max_length=30) -> Decoded:
    """Keep the `beam_size` most likely partial captions per image; return the best.

    A hypothesis ends when it emits <END> from within the top `beam_size` candidates, and
    an image stops once its best ended caption beats every live one (scores only fall as
    words are added). With beam_size 1 this is exactly greedy decoding.
    """
    start, end, null = _special_ids(model)
    max_length = positive_int("max_length", max_length)
    B = positive_int("beam_size", beam_size)
    h, c = model.init_state(features)
    N, H = h.shape
    V = model.vocab_size
    h = np.repeat(h, B, axis=0)                                # (N*B, H)
    c = None if c is None else np.repeat(c, B, axis=0)
    scores = np.full((N, B), -np.inf)
    scores[:, 0] = 0.0                                         # one live beam to start
    seqs = np.zeros((N, B, 0), dtype=np.int64)
    words = np.full(N * B, start, dtype=np.int64)
    finished: list[list[tuple[float, list[int]]]] = [[] for _ in range(N)]
    done = np.zeros(N, dtype=bool)
    k = min(2 * B, B * V)
    for t in range(max_length):
        out = model.step(words, h, c)
        cand = (scores[:, :, None] + log_softmax(out.scores).reshape(N, B, V)).reshape(N, B * V)
        top = np.argpartition(-cand, k - 1, axis=1)[:, :k]
        order = np.take_along_axis(top, np.argsort(-np.take_along_axis(cand, top, 1), axis=1), 1)
        src = np.zeros((N, B), dtype=np.int64)
        new_words = np.full((N, B), null, dtype=np.int64)
        new_scores = np.full((N, B), -np.inf)
        for n in np.flatnonzero(~done):
            kept = 0
            for rank, idx in enumerate(order[n]):
                s = cand[n, idx]
                if not np.isfinite(s):
                    break
                b, w = divmod(int(idx), V)
                if w == end:
                    if rank < B:
                        finished[n].append((float(s), seqs[n, b].tolist() + [end]))
                    continue
                src[n, kept], new_words[n, kept], new_scores[n, kept] = b, w, s
                kept += 1
                if kept == B:
                    break
            if finished[n] and max(f[0] for f in finished[n]) >= new_scores[n].max():
                done[n] = True
        flat_src = (np.arange(N)[:, None] * B + src).reshape(-1)
        h = out.h[flat_src]
        c = None if out.c is None else out.c[flat_src]
        seqs = np.concatenate([np.take_along_axis(seqs, src[:, :, None], 1),
                               new_words[:, :, None]], axis=2)
        scores, words = new_scores, new_words.reshape(-1)
        if done.all():
            break
    for n in np.flatnonzero(~done):                           # out of length: keep live beams
        for b in range(B):
            if np.isfinite(scores[n, b]):
                finished[n].append((float(scores[n, b]), seqs[n, b].tolist()))
    captions = np.full((N, max_length), null, dtype=np.int64)
    logprobs = np.zeros(N)
    lengths = np.zeros(N, dtype=np.int64)
    for n in range(N):
        best_score, best_seq = max(finished[n], key=lambda f: f[0])
        captions[n, :len(best_seq)] = best_seq
        logprobs[n], lengths[n] = best_score, len(best_seq)
    return Decoded(captions=captions, logprobs=logprobs, lengths=lengths)


STRATEGIES = ("greedy", "temperature", "beam")


def decode(model, features, strategy="greedy", *, max_length=30, temperature=1.0, seed=0,
           beam_size=3, keys=None) -> Decoded:
    """Caption features (N, D) with one of STRATEGIES and its options (keys: see temperature_decode)."""
    if strategy == "greedy":
        return greedy_decode(model, features, max_length)
    if strategy == "temperature":
        return temperature_decode(model, features, temperature, seed, max_length, keys)
    if strategy == "beam":
        return beam_search(model, features, beam_size, max_length)
    raise ValueError(f'unknown decoding strategy "{strategy}": use one of {", ".join(STRATEGIES)}')


# --- step-through decoding -----------------------------------------------------------

@dataclass(frozen=True)
class DecodeStep:
    """Everything one decoding step saw and did, for one image."""

    t: int                           # timestep, 0 for the first generated word
    input_token: int                 # the word fed in (<START> at t = 0)
    h: np.ndarray                    # (H,) hidden state after the step
    c: np.ndarray | None             # (H,) LSTM cell state, else None
    gates: dict | None               # LSTM gate activations {"i","f","o","g"}: (H,) each
    probs: np.ndarray                # (V,) the distribution the word was chosen from
    chosen: int                      # the word taken
    forced: bool = False             # True when the user chose the word ("what if")


class StepDecoder:
    """Decode one image a timestep at a time, with rewind and forced words.

    strategy is "greedy" or "temperature" (drawing with `seed`, reproducibly per step,
    so stepping back and forth always lands on the same state; `key` names the image as
    in `temperature_decode`, so both draw the same words). `steps` holds one
    `DecodeStep` per generated word.
    """

    def __init__(self, model, feature, strategy="greedy", temperature=1.0, seed=0, max_length=30,
                 key=0):
        if strategy not in ("greedy", "temperature"):
            raise ValueError(f'StepDecoder strategy must be "greedy" or "temperature", got "{strategy}"')
        self.start, self.end, self.null = _special_ids(model)
        self.model = model
        self.feature = np.asarray(feature).reshape(1, -1)
        self.strategy = strategy
        self.temperature = positive_number("temperature", temperature) if strategy == "temperature" else 1.0
        self.seed = int(seed)
        self.key = _check_keys([key], 1)
        self.max_length = positive_int("max_length", max_length)
        self.h0, self.c0 = model.init_state(self.feature)
        self.steps: list[DecodeStep] = []

    @property
    def t(self) -> int:
        """The timestep the next `step()` will take."""
        return len(self.steps)

    @property
    def tokens(self) -> list[int]:
        return [s.chosen for s in self.steps]

    @property
    def finished(self) -> bool:
        return bool(self.steps) and self.steps[-1].chosen == self.end or self.t >= self.max_length

    def words(self) -> list[str]:
        """The caption so far as words, <END> included when generated."""
        return [self.model.idx_to_word[i] for i in self.tokens]

    def step(self, force: int | None = None) -> DecodeStep | None:
        """Take one step (forcing word id `force` if given); None when already finished."""
        if self.finished:
            return None
        t = self.t
        prev = self.steps[-1] if self.steps else None
        h, c = (prev.h[None], None if prev.c is None else prev.c[None]) if prev else (self.h0, self.c0)
        token = prev.chosen if prev else self.start
        out = self.model.step(np.array([token]), h, c)
        logp = log_softmax(out.scores, self.temperature)
        if force is not None:
            if not is_whole(force, 0, self.model.vocab_size - 1, integral_floats=True):
                raise ValueError(f"forced word id {force!r} is not a word id of the vocabulary")
            chosen = int(force)
        elif self.strategy == "greedy":
            chosen = int(out.scores[0].argmax())
        else:
            chosen = int(_draw(logp, self.seed, t, self.key)[0])
        gates = None if out.gates is None else {
            name: g.copy() for name, g in split_gates(out.gates[0]).items()}
        record = DecodeStep(t=t, input_token=int(token), h=out.h[0].copy(),
                            c=None if out.c is None else out.c[0].copy(), gates=gates,
                            probs=np.exp(logp[0]), chosen=chosen, forced=force is not None)
        self.steps.append(record)
        return record

    def back(self) -> None:
        """Undo the last step (no-op at the start)."""
        if self.steps:
            self.steps.pop()

    def rewind(self, t: int) -> None:
        """Keep only the first t steps."""
        del self.steps[max(0, int(t)):]

    def reset(self) -> None:
        self.steps.clear()

    def force(self, token: int, at: int | None = None) -> DecodeStep:
        """Rewind to step `at` (default: the current one) and take `token` there."""
        self.rewind(self.t if at is None else at)
        record = self.step(force=token)
        if record is None:
            raise ValueError("cannot force a word after the caption has finished")
        return record

    def run(self) -> list[DecodeStep]:
        """Step until <END> or max_length; returns all steps."""
        while self.step() is not None:
            pass
        return self.steps

    # --- looking ahead without changing this decoder --------------------------------

    def continuation(self) -> list[DecodeStep]:
        """The steps so far, then decoding on to <END> or max_length, in a copy."""
        return self.snapshot().run()

    def snapshot(self) -> "StepDecoder":
        """A copy with the steps so far, which steps on without changing this decoder (cheap:
        the steps themselves are shared, and never changed once taken)."""
        ahead = copy.copy(self)
        ahead.steps = list(self.steps)
        return ahead

    def unforced(self) -> list[DecodeStep]:
        """The whole caption this decoder gives with no forced words, in a copy."""
        fresh = copy.copy(self)
        fresh.steps = []
        return fresh.run()

    def replay(self, steps: list[DecodeStep]) -> "StepDecoder":
        """Take as many steps as `steps` holds, forcing the same words where they were forced.

        For carrying a position over to a decoder with another strategy, temperature or
        seed. Stops early if the caption ends first. Returns this decoder.
        """
        for old in steps:
            if self.step(force=old.chosen if old.forced else None) is None:
                break
        return self


# --- teacher forcing -----------------------------------------------------------------

@dataclass(frozen=True)
class Trace:
    """The model fed one ground-truth caption, step by step (T = words to predict)."""

    input_tokens: np.ndarray         # (T,) words fed in, <START> first
    target_tokens: np.ndarray        # (T,) the true next words, <END> last
    h: np.ndarray                    # (T, H) hidden states
    c: np.ndarray | None             # (T, H) LSTM cell states
    gates: np.ndarray | None         # (T, 4H) LSTM gates i, f, o, g
    p_true: np.ndarray               # (T,) probability given to the true word
    top_tokens: np.ndarray           # (T,) the model's most likely word
    top_probs: np.ndarray            # (T,) its probability
    step_loss: np.ndarray            # (T,) -log p_true
    dh: np.ndarray                   # (T, H) dL/dh_t, L the caption's whole loss
    grad_norm: np.ndarray            # (T,) ||dL/dh_t||
    grad_norm_last: np.ndarray       # (T,) ||dL_T/dh_t||, L_T the last word's loss only
    grad_x_last: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (T,) ||dL_T/dx_t||, x_t the
                                     # word vector read at step t: the same quantity for both cells
    grad_c_last: np.ndarray | None = None   # (T,) ||dL_T/dc_t|| along the LSTM's cell; None for the RNN
    free_tokens: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    divergence_step: int | None = None   # first t where greedy sampling leaves the truth

    @property
    def loss(self) -> float:
        return float(self.step_loss.sum())


def _step_back_to_inputs(dnext_h, dnext_c, cache, lstm: bool):
    """One step's backward to its inputs only, for a trace.

    Inputs: dnext_h (N, H), dnext_c (N, H) (unused by an RNN), the step's cache, and whether
    it is an LSTM's. Returns dx (N, W), dprev_h (N, H) and dprev_c (N, H) (None for an RNN),
    computed as `layers.lstm_step_backward` and `layers.rnn_step_backward` compute them, to
    the bit, without the weight gradients, which a trace never reads: those are outer
    products as large as the weights (H by 4H for an LSTM) at every step, most of a trace's
    time (`benchmarks.inspect_compare_speed`, H=512: an LSTM's trace 62 ms with them and
    7 without, in float32 on an AMD EPYC).
    """
    if lstm:
        x, prev_h, prev_c, Wx, Wh, gates, tanh_c = cache
        da = np.empty_like(gates)
        dprev_c = L._lstm_gate_grads(dnext_h, dnext_c, prev_c, gates, tanh_c, prev_h.shape[1], da)
        return da @ Wx.T, da @ Wh.T, dprev_c
    x, prev_h, Wx, Wh, next_h = cache
    dz = dnext_h * (1 - next_h * next_h)       # tanh' from the output, as the layer takes it
    return dz @ Wx.T, dz @ Wh.T, None


def teacher_forced_trace(model, feature, caption) -> Trace:
    """Feed `caption` (ids with <START> … <END>, <NULL> padding) to the model for one image.

    Returns a `Trace`: per-step states, true-word probabilities and the gradient norms
    of the loss with respect to every hidden state (backpropagation through time).
    """
    start, end, null = _special_ids(model)
    caption = np.asarray(caption).reshape(-1)
    if caption.dtype.kind not in "iu" or ((caption < 0) | (caption >= model.vocab_size)).any():
        raise ValueError(f"caption must hold word ids from 0 to {model.vocab_size - 1}")
    valid = caption[1:] != null
    T = int(valid.sum())
    if caption.size < 2 or caption[0] != start or T == 0 or not valid[:T].all():
        raise ValueError("caption must start with <START> and hold at least one word before its <NULL> padding")
    inputs, targets = caption[:T].astype(np.int64), caption[1:T + 1].astype(np.int64)
    p = model.params
    feature = np.asarray(feature).reshape(1, -1)
    h, c = model.init_state(feature)
    lstm = model.cell_type == "lstm"
    caches, hs, cs, gates, probs = [], [], [], [], []
    for t in range(T):
        out = model.step(inputs[t:t + 1], h, c)
        h, c = out.h, out.c
        if lstm:
            cs.append(c[0])
            gates.append(out.gates[0])
        caches.append(out.cache)
        hs.append(h[0])
        probs.append(softmax(out.scores)[0])
    probs = np.array(probs)                                           # (T, V)
    rows = np.arange(T)
    dscores = probs.copy()
    dscores[rows, targets] -= 1
    dh_local = dscores @ p["W_vocab"].T                               # (T, H)

    def bptt(dh_out):
        """Total gradients dL/dh_t (T, H), dL/dx_t (T, W) and, for an LSTM, dL/dc_t (T, H),
        given each step's local gradient dh_out (T, H)."""
        dh = np.zeros_like(dh_out)
        dx = np.zeros((T, p["W_embed"].shape[1]), dtype=dh_out.dtype)
        dc = np.zeros_like(dh_out)
        dh_next = np.zeros_like(h)
        dc_next = np.zeros_like(h)
        for t in range(T - 1, -1, -1):
            dh[t] = dh_out[t] + dh_next[0]
            if lstm:
                o, tanh_c = split_gates(caches[t].gates)["o"][0], caches[t].tanh_c[0]
                dc[t] = dc_next[0] + dh[t] * o * (1 - tanh_c * tanh_c)     # what reaches c_t, both ways
            dx_t, dh_next, dc_next = _step_back_to_inputs(dh[t:t + 1], dc_next, caches[t], lstm)
            dx[t] = dx_t[0]
        return dh, dx, dc

    last_only = np.zeros_like(dh_local)
    last_only[-1] = dh_local[-1]
    dh, _, _ = bptt(dh_local)
    dh_last, dx_last, dc_last = bptt(last_only)
    free = greedy_decode(model, feature, max_length=T).captions[0]
    differs = np.flatnonzero(free != targets)
    p_true = probs[rows, targets]
    return Trace(
        input_tokens=inputs, target_tokens=targets, h=np.array(hs),
        c=np.array(cs) if lstm else None, gates=np.array(gates) if lstm else None,
        p_true=p_true, top_tokens=probs.argmax(axis=1), top_probs=probs.max(axis=1),
        step_loss=-np.log(np.maximum(p_true, np.finfo(probs.dtype).tiny)),
        dh=dh, grad_norm=np.linalg.norm(dh, axis=1),
        grad_norm_last=np.linalg.norm(dh_last, axis=1), grad_x_last=np.linalg.norm(dx_last, axis=1),
        grad_c_last=np.linalg.norm(dc_last, axis=1) if lstm else None,
        free_tokens=free, divergence_step=int(differs[0]) if differs.size else None)
