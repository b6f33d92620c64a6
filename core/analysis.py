"""Looking at a whole caption's hidden states: which units do what, at which word.

The Inspect page's numbers, computed from states that decoding already recorded
(`StepDecoder.steps` or a teacher-forced `Trace`): units ordered by variance or by their
activation at one step, per-step ||h_t||, how many units or gates sit saturated, one
unit's activation under every token (Karpathy's "visualizing and understanding RNNs"
colouring), how much of the last word's gradient reaches each earlier step, and the
top-k of a next-word distribution. (Looking ahead with a `StepDecoder` without changing
it is the decoder's own: `continuation`, `unforced`, `replay`.) Colours and charts are
the app's business, not this file's.

Dimension letters: T timesteps (generated words), H hidden units, V vocabulary.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .decoding import GATE_NAMES, DecodeStep, Trace, split_gates
from .model import cell_name

UNIT_ORDERS = ("index", "variance", "activation")
SATURATION = 0.95    # a tanh output beyond ±0.95, or a sigmoid gate beyond 0.05 / 0.95


# --- the states of one caption -------------------------------------------------------

@dataclass(frozen=True)
class CaptionStates:
    """The recurrent states behind one caption, one row per timestep."""

    inputs: list[str]                  # (T,) the word fed in at each step, <START> first
    outputs: list[str]                 # (T,) the word produced (or, teacher-forced, the true word)
    h: np.ndarray                      # (T, H) hidden states
    c: np.ndarray | None = None        # (T, H) LSTM cell states
    gates: dict | None = None          # LSTM gates {"i", "f", "o", "g"}: (T, H) each
    forced: tuple[bool, ...] = ()      # (T,) True where the user chose the word

    @property
    def T(self) -> int:
        return self.h.shape[0]

    @property
    def H(self) -> int:
        return self.h.shape[1]

    @classmethod
    def from_steps(cls, steps: list[DecodeStep], idx_to_word) -> "CaptionStates":
        """The states a `StepDecoder` recorded (at least one step)."""
        if not steps:
            raise ValueError("no steps yet: take at least one step first")
        lstm = steps[0].c is not None
        return cls(inputs=[idx_to_word[s.input_token] for s in steps],
                   outputs=[idx_to_word[s.chosen] for s in steps],
                   h=np.stack([s.h for s in steps]),
                   c=np.stack([s.c for s in steps]) if lstm else None,
                   gates={g: np.stack([s.gates[g] for s in steps]) for g in GATE_NAMES} if lstm else None,
                   forced=tuple(s.forced for s in steps))

    @classmethod
    def from_trace(cls, trace: Trace, idx_to_word) -> "CaptionStates":
        """The states of a teacher-forced pass; outputs are the true words."""
        gates = None if trace.gates is None else split_gates(trace.gates)
        return cls(inputs=[idx_to_word[int(i)] for i in trace.input_tokens],
                   outputs=[idx_to_word[int(i)] for i in trace.target_tokens],
                   h=trace.h, c=trace.c, gates=gates,
                   forced=(False,) * len(trace.input_tokens))


# --- units ---------------------------------------------------------------------------

def unit_order(h, by="variance", step=None) -> np.ndarray:
    """Unit indices (H,) for hidden states h (T, H), in the order to show them.

    "index": 0..H-1. "variance": most variable over time first. "activation": by the
    value at timestep `step`, most positive first. Ties keep index order.
    """
    h = np.asarray(h)
    if by == "index":
        return np.arange(h.shape[1])
    if by == "variance":
        return np.argsort(-h.var(axis=0), kind="stable")
    if by == "activation":
        if step is None or not -h.shape[0] <= int(step) < h.shape[0]:
            raise ValueError(f"activation order needs a step in 0..{h.shape[0] - 1}, got {step!r}")
        return np.argsort(-h[int(step)], kind="stable")
    raise ValueError(f'unknown unit order "{by}": use one of {", ".join(UNIT_ORDERS)}')


def hidden_norms(h) -> np.ndarray:
    """||h_t|| for every timestep of h (T, H): (T,)."""
    return np.linalg.norm(np.asarray(h, dtype=np.float64), axis=1)


def saturation(states: CaptionStates, threshold=SATURATION) -> dict[str, np.ndarray]:
    """Per step, the fraction of units that are saturated: {"h": (T,), and for an LSTM "i", "f", "o", "g"}.

    h and g are tanh outputs: saturated when |x| > threshold. i, f and o are sigmoids:
    saturated when below 1 - threshold or above threshold. Saturated units pass
    almost no gradient back through their nonlinearity.
    """
    out = {"h": (np.abs(states.h) > threshold).mean(axis=1)}
    if states.gates is not None:
        for name in GATE_NAMES:
            x = states.gates[name]
            out[name] = ((np.abs(x) > threshold) if name == "g" else
                         ((x > threshold) | (x < 1 - threshold))).mean(axis=1)
    return out


def unit_trace(states: CaptionStates, unit: int, source="h") -> list[tuple[str, float]]:
    """One unit's value under every produced word: [(word, value)] for token colouring.

    source is "h", "c" (LSTM) or a gate name. Pair word t with the state after reading
    input t, so each word is coloured by the state that produced it.
    """
    values = _source(states, source)
    if not 0 <= int(unit) < values.shape[1]:
        raise ValueError(f"unit {unit} is outside 0..{values.shape[1] - 1}")
    return [(w, float(v)) for w, v in zip(states.outputs, values[:, int(unit)])]


def _source(states: CaptionStates, source: str) -> np.ndarray:
    if source == "h":
        return states.h
    if source == "c" and states.c is not None:
        return states.c
    if states.gates is not None and source in states.gates:
        return states.gates[source]
    raise ValueError(f'no "{source}" states for a {cell_name("lstm" if states.c is not None else "rnn")}')


# --- gradient through time -----------------------------------------------------------

def gradient_decay(grad_norm_last) -> np.ndarray:
    """||dL_T/dh_t|| (T,) relative to its value at the last step: how much of the last
    word's gradient reaches each earlier step (1 at t = T-1)."""
    g = np.asarray(grad_norm_last, dtype=np.float64)
    return g / g[-1] if g.size and g[-1] > 0 else np.full_like(g, np.nan)


def per_step_factor(grad_norm_last) -> float:
    """The geometric-mean factor by which the last word's gradient shrinks per step back:
    (||dL_T/dh_0|| / ||dL_T/dh_{T-1}||) ** (1 / (T-1)); 1.0 for a one-step caption."""
    decay = gradient_decay(grad_norm_last)
    if decay.size < 2:
        return 1.0
    return float(decay[0] ** (1.0 / (decay.size - 1)))


HOLDS = 0.02       # a per-step factor within 2% of 1 holds the gradient's size (×0.36 to ×2.7 over 50 steps)
TRENDS = ("shrinks", "holds", "grows")


def trend(factor) -> str:
    """What a per-step factor does to a gradient: "shrinks" below 1 - HOLDS, "grows" above
    1 + HOLDS, "holds" in between (a factor of 1.00 neither vanishes nor explodes)."""
    factor = float(factor)
    if factor > 1 + HOLDS:
        return "grows"
    return "holds" if factor >= 1 - HOLDS else "shrinks"      # NaN (no gradient at all) shrinks


@dataclass(frozen=True)
class GradientReach:
    """How much of the last word's gradient reaches the first step of one caption, for one
    model, measured on the word vector each step reads (dL_T/dx_t, the same quantity for
    either cell) and, for an LSTM, on its cell state (dL_T/dc_t, the path the textbook means)."""

    cell_type: str                  # "rnn" or "lstm"
    steps: int                      # T
    decay: np.ndarray               # (T,) ||dL_T/dx_t|| / ||dL_T/dx_T-1||
    factor: float                   # per step back, geometric mean
    cell_decay: np.ndarray | None   # (T,) ||dL_T/dc_t|| / ||dL_T/dc_T-1|| (LSTM)
    cell_factor: float | None
    forget: float | None            # the LSTM's mean forget gate along the caption

    @property
    def reach(self) -> float:
        """What is left at step 0 (1 at the last step)."""
        return float(self.decay[0])

    @classmethod
    def of(cls, trace: Trace, cell_type: str) -> "GradientReach":
        lstm = trace.grad_c_last is not None
        return cls(cell_type=cell_type, steps=len(trace.grad_x_last),
                   decay=gradient_decay(trace.grad_x_last), factor=per_step_factor(trace.grad_x_last),
                   cell_decay=gradient_decay(trace.grad_c_last) if lstm else None,
                   cell_factor=per_step_factor(trace.grad_c_last) if lstm else None,
                   forget=float(split_gates(trace.gates)["f"].mean()) if lstm and trace.gates is not None else None)


LONG_ENOUGH = 30    # steps: below this an RNN's and an LSTM's reach can differ little either way
FORGETFUL = 0.8     # a mean forget gate below this lets the cell lose a fifth of itself a step


def against_textbook(rnn: GradientReach, lstm: GradientReach) -> tuple[bool, list[str]]:
    """Whether a vanilla RNN and an LSTM on the same caption agree with the textbook (the
    LSTM's gradient reaches step 0 with at least as much left as the RNN's), and if not,
    the reasons these numbers give, as codes for the page to word:
    "short" (fewer than LONG_ENOUGH steps), "forgetful" (the LSTM's forget gates average
    below FORGETFUL), "rnn_holds" (the RNN's per-step factor holds or grows) and
    "cell_holds" (the LSTM's cell path keeps more than its word-vector gradient shows)."""
    if lstm.reach >= rnn.reach:
        return True, []
    reasons = []
    if min(rnn.steps, lstm.steps) < LONG_ENOUGH:
        reasons.append("short")
    if lstm.forget is not None and lstm.forget < FORGETFUL:
        reasons.append("forgetful")
    if trend(rnn.factor) != "shrinks":
        reasons.append("rnn_holds")
    if lstm.cell_decay is not None and lstm.cell_decay[0] > lstm.reach:
        reasons.append("cell_holds")
    return False, reasons


# --- one step's distribution ---------------------------------------------------------

def top_k(probs, k=10) -> tuple[np.ndarray, np.ndarray]:
    """The k most likely ids of probs (V,) and their probabilities, most likely first."""
    probs = np.asarray(probs)
    k = min(int(k), probs.shape[0])
    ids = np.argpartition(-probs, k - 1)[:k]
    ids = ids[np.lexsort((ids, -probs[ids]))]
    return ids, probs[ids]


def entropy(probs) -> float:
    """The entropy of a distribution (V,), in nats: 0 when certain, log V when uniform."""
    p = np.asarray(probs, dtype=np.float64)
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def rank_of(probs, token) -> int:
    """1 for the most likely word, 2 for the runner-up, …"""
    probs = np.asarray(probs)
    return int((probs > probs[int(token)]).sum()) + 1
