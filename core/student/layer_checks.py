"""The checks of `rnn_layers.py`: the notebook's cells first, then probes that find the bug.

For every layer function: the notebook's fixed-input forward check or its numeric
gradient check (float64, the notebook's sizes, seed and tolerances), then Caption Lab's
probes on other inputs against the reference layers: sequences of length 1, 2 and 3,
repeated word ids, a partial mask. A wrong array is matched against the classic bugs
(`bugs`) and drawn as a heat map of its element-wise error.
"""
from __future__ import annotations

import numpy as np

from .. import layers as L
from ..checks import LAYERS
from ..gradcheck import eval_numerical_gradient
from ..notebook import (NOTEBOOK_FORWARD, NOTEBOOK_SEED, SOFTMAX_SANITY, gradient_inputs,
                        softmax_gradient_inputs, softmax_sanity_inputs)
from ..text import message
from . import bugs
from .checks import (Context, Spec, Student, call, compare, gradient_check, heat, numeric_gradients,
                     optional, pick, swapped, verdict, which_bug)
from .report import PASSED, WRONG, Check, Result, status_word
from .sandbox import Channel

PROBE = 1e-7                       # a probe against the reference layers, in float64
PROBE_SIZES = {"rnn_step": {"N": 3, "D": 4, "H": 5}, "rnn": {"N": 2, "T": 4, "D": 3, "H": 5},
               "lstm_step": {"N": 3, "D": 4, "H": 5}, "lstm": {"N": 2, "T": 4, "D": 3, "H": 5},
               "temporal_affine": {"N": 2, "T": 3, "D": 4, "M": 5},
               "word_embedding": {"N": 3, "T": 4, "V": 6, "D": 5}}
LENGTHS = (1, 2, 3)                # the sequence lengths every sequence layer is probed with


def probe_inputs(key: str, sizes: dict | None = None, seed: int = 1) -> list:
    return gradient_inputs(key, sizes or PROBE_SIZES[key], np.random.RandomState(seed))


def length_sizes(key: str, T: int) -> dict:
    return {**PROBE_SIZES[key], "T": T}


# what each layer's functions return, as the notebook names it
FORWARD_RETURNS = {"rnn_step": ("next_h",), "rnn": ("h",), "lstm_step": ("next_h", "next_c"),
                   "lstm": ("h",), "word_embedding": ("out",), "temporal_affine": ("out",)}
GRADIENTS = {"rnn_step": ("dx", "dprev_h", "dWx", "dWh", "db"), "rnn": ("dx", "dh0", "dWx", "dWh", "db"),
             "lstm_step": ("dx", "dprev_h", "dprev_c", "dWx", "dWh", "db"),
             "lstm": ("dx", "dh0", "dWx", "dWh", "db"), "word_embedding": ("dW",),
             "temporal_affine": ("dx", "dw", "db")}
AXES = {"rnn_step": {"next_h": "N H", "dx": "N D", "dprev_h": "N H", "dWx": "D H", "dWh": "H H", "db": "H"},
        "rnn": {"h": "N T H", "dx": "N T D", "dh0": "N H", "dWx": "D H", "dWh": "H H", "db": "H"},
        "lstm_step": {"next_h": "N H", "next_c": "N H", "dx": "N D", "dprev_h": "N H", "dprev_c": "N H",
                      "dWx": "D 4H", "dWh": "H 4H", "db": "4H"},
        "lstm": {"h": "N T H", "dx": "N T D", "dh0": "N H", "dWx": "D 4H", "dWh": "H 4H", "db": "4H"},
        "word_embedding": {"out": "N T W", "dW": "V W"},
        "temporal_affine": {"out": "N T M", "dx": "N T D", "dw": "D M", "db": "M"}}
REFERENCE = {"rnn_step": (L.rnn_step_forward, L.rnn_step_backward), "rnn": (L.rnn_forward, L.rnn_backward),
             "lstm_step": (L.lstm_step_forward, L.lstm_step_backward), "lstm": (L.lstm_forward, L.lstm_backward),
             "word_embedding": (L.word_embedding_forward, L.word_embedding_backward),
             "temporal_affine": (L.temporal_affine_forward, L.temporal_affine_backward)}
NAMES = {"rnn_step": ("rnn_step_forward", "rnn_step_backward"), "rnn": ("rnn_forward", "rnn_backward"),
         "lstm_step": ("lstm_step_forward", "lstm_step_backward"), "lstm": ("lstm_forward", "lstm_backward"),
         "word_embedding": ("word_embedding_forward", "word_embedding_backward"),
         "temporal_affine": ("temporal_affine_forward", "temporal_affine_backward")}
STEP_OF = {"rnn": "rnn_step", "lstm": "lstm_step"}


def _signature(names) -> str:
    return "(" + ", ".join(names) + ")"


def _forward_signature(key: str) -> str:
    return _signature((*FORWARD_RETURNS[key], "cache"))


def _backward_signature(key: str) -> str:
    names = GRADIENTS[key]
    return names[0] if len(names) == 1 else _signature(names)


def _forward_outputs(fn, key: str, inputs: list) -> list:
    n = len(FORWARD_RETURNS[key])
    return pick(call(fn, *inputs), n, _forward_signature(key))


# --- forward functions ------------------------------------------------------------------------

def _forward_run(key: str):
    name = NAMES[key][0]

    def run(student: Student, channel: Channel) -> dict:
        fn, data = student.layer(name), channel.data
        if key in NOTEBOOK_FORWARD:
            channel.stage(message("the notebook's forward check"))
            data["notebook"] = _forward_outputs(fn, key, list(NOTEBOOK_FORWARD[key].inputs()))
        channel.stage(message("random inputs"))
        data["random"] = _forward_outputs(fn, key, probe_inputs(key))
        if key in STEP_OF:
            for T in LENGTHS:
                channel.stage(message("a sequence of length {T}", T=T))
                data[f"T{T}"] = _forward_outputs(fn, key, probe_inputs(key, length_sizes(key, T), 100 + T))
            step = NAMES[STEP_OF[key]][0]
            channel.stage(message("with Caption Lab's {step} in place of yours", step=step))
            with swapped(student.module("rnn_layers"), {step: REFERENCE[STEP_OF[key]][0]}):
                data["with_reference_step"] = optional(
                    lambda: _forward_outputs(fn, key, list(NOTEBOOK_FORWARD[key].inputs())))
        return data
    return run


def _forward_judge(key: str):
    name = NAMES[key][0]
    outputs = FORWARD_RETURNS[key]

    def judge(data: dict, ctx: Context) -> Result:
        checks, found = [], {}
        if key in NOTEBOOK_FORWARD:
            case = NOTEBOOK_FORWARD[key]
            for i, out in enumerate(outputs):
                check, _ = compare(message("{name} error", name=out), data["notebook"][i], case.expected[out],
                                   case.tolerance)
                checks.append(check)
        inputs = probe_inputs(key)
        want = pick(REFERENCE[key][0](*inputs), len(outputs), "")
        for i, out in enumerate(outputs):
            check, got = compare(message("{name} on random inputs, vs Caption Lab's", name=out), data["random"][i],
                                 want[i], PROBE, notebook=False)
            checks.append(check)
            if not check.passed and got is not None:
                found.setdefault("heat", heat(out, got, want[i], AXES[key][out]))
        by_length = []
        if key in STEP_OF:
            for T in LENGTHS:
                reference = REFERENCE[key][0](*probe_inputs(key, length_sizes(key, T), 100 + T))[0]
                check, got = compare(message("T = {T}: h vs Caption Lab's", T=T), data[f"T{T}"][0], reference, PROBE,
                                     notebook=False)
                checks.append(check)
                by_length.append(check.passed)
        result = verdict(name, checks, optional=key.startswith("lstm"), heat=found.get("heat"))
        if result.status != WRONG:
            return result
        variants = {"rnn_step": bugs.rnn_step_forward_variants, "rnn": bugs.rnn_forward_variants,
                    "lstm_step": bugs.lstm_step_forward_variants, "lstm": bugs.lstm_forward_variants}.get(key)
        if variants is not None:
            result.hint = which_bug(list(data["random"]), variants(*inputs), positions=list(range(len(outputs))))
        if key in STEP_OF:
            step = NAMES[STEP_OF[key]][0]
            case = NOTEBOOK_FORWARD[key]
            swapped_h = data["with_reference_step"]
            fixed = swapped_h is not None and compare("h", swapped_h[0], case.expected["h"], case.tolerance)[0].passed
            if fixed:
                result.hint = message("{name} itself is right: with Caption Lab's {step} in place of yours it "
                                      "gives the notebook's values. The error is in your {step}.",
                                      name=name, step=step)
            elif ctx.status(step) not in (None, PASSED):
                result.details.append(message("{step} is {status} too, and {name} calls it: fix {step} first.",
                                              step=step, status=status_word(ctx.status(step)), name=name))
            if by_length and by_length[0] and not all(by_length):
                result.details.append(message("Right for a sequence of length 1, wrong from length 2 on: what is "
                                              "carried from one step to the next is wrong."))
        return result
    return judge


# --- backward functions -------------------------------------------------------------------------

def _gradient_probe(fwd, bwd, key: str, sizes: dict, rng) -> dict:
    """The notebook's gradient-check cell on the student's pair: the forward's outputs, the
    upstream gradients drawn after it, the backward's gradients and the numeric ones."""
    inputs = gradient_inputs(key, sizes, rng)
    n_out = len(FORWARD_RETURNS[key])
    out = pick(call(fwd, *inputs), n_out + 1, _forward_signature(key))
    douts = [rng.randn(*np.shape(o)) for o in out[:n_out]]
    first = 1 if key == "word_embedding" else 0
    grads = pick(call(bwd, *douts, out[n_out]), len(inputs) - first, _backward_signature(key))
    numeric = numeric_gradients(fwd, inputs, douts, n_out, first)
    return {"outputs": out[:n_out], "douts": douts, "analytic": grads, "numeric": numeric}


def _backward_run(key: str):
    forward_name, backward_name = NAMES[key]

    def run(student: Student, channel: Channel) -> dict:
        fwd, bwd, data = student.layer(forward_name), student.layer(backward_name), channel.data
        channel.stage(message("the notebook's gradient check"))
        data["notebook"] = _gradient_probe(fwd, bwd, key, LAYERS[key].sizes,
                                           np.random.RandomState(NOTEBOOK_SEED))
        if key in STEP_OF:
            for T in LENGTHS:
                channel.stage(message("a sequence of length {T}", T=T))
                data[f"T{T}"] = _gradient_probe(fwd, bwd, key, length_sizes(key, T),
                                                np.random.RandomState(100 + T))
            step_forward, step_backward = (REFERENCE[STEP_OF[key]][0], REFERENCE[STEP_OF[key]][1])
            names = NAMES[STEP_OF[key]]
            channel.stage(message("with Caption Lab's {forward} and {backward} in place of yours",
                                  forward=names[0], backward=names[1]))
            with swapped(student.module("rnn_layers"), {names[0]: step_forward, names[1]: step_backward}):
                data["with_reference_step"] = optional(lambda: _gradient_probe(
                    fwd, bwd, key, LAYERS[key].sizes, np.random.RandomState(NOTEBOOK_SEED)))
        if key == "word_embedding":
            channel.stage(message("repeated word ids"))
            for label, ids in (("unique", [[0, 3], [4, 1]]), ("repeated", [[1, 1, 1], [1, 2, 1]])):
                rng = np.random.RandomState(7)
                x, W = np.asarray(ids), rng.randn(5, 4)
                out, cache = pick(call(fwd, x, W), 2, "(out, cache)")
                dout = rng.randn(*np.shape(out))
                data[label] = {"dout": dout, "dW": pick(call(bwd, dout, cache), 1, "dW")[0]}
        return data
    return run


def _reference_gradients(key: str, sizes: dict, seed: int, douts) -> tuple[list, list]:
    """The inputs of a gradient probe and Caption Lab's gradients for the same upstream gradients."""
    inputs = gradient_inputs(key, sizes, np.random.RandomState(seed))
    forward, backward = REFERENCE[key]
    out = forward(*inputs)
    grads = backward(*douts, out[-1])
    grads = list(grads) if isinstance(grads, tuple) else [grads]
    return inputs, grads


def _gradient_checks(probe: dict, key: str, threshold: float, T: int | None = None, notebook: bool = True):
    return [gradient_check(message("T = {T}: {name} error", T=T, name=g) if T is not None else
                           message("{name} error", name=g), a, n, threshold, notebook=notebook)
            for g, a, n in zip(GRADIENTS[key], probe["analytic"], probe["numeric"])]


def _backward_judge(key: str):
    forward_name, name = NAMES[key]
    threshold = LAYERS[key].threshold

    def judge(data: dict, ctx: Context) -> Result:
        notebook = data["notebook"]
        checks = _gradient_checks(notebook, key, threshold)
        result_heat = None
        for g, check, a, n in zip(GRADIENTS[key], checks, notebook["analytic"], notebook["numeric"]):
            if not check.passed and check.value is not None:
                result_heat = heat(g, np.asarray(a), np.asarray(n), AXES[key][g], "numeric")
                break
        inputs, reference = _reference_gradients(key, LAYERS[key].sizes, NOTEBOOK_SEED, notebook["douts"])
        ref_out = pick(REFERENCE[key][0](*inputs), len(FORWARD_RETURNS[key]), "")
        forward_right = all(compare("", got, want, PROBE)[0].passed
                            for got, want in zip(notebook["outputs"], ref_out))
        details = []
        if forward_right:
            for g, got, want in zip(GRADIENTS[key], notebook["analytic"], reference):
                check, array = compare(message("{name} vs Caption Lab's", name=g), got, want, PROBE, notebook=False)
                checks.append(check)
                if not check.passed and result_heat is None and array is not None:
                    result_heat = heat(g, array, want, AXES[key][g])
        else:
            details.append(message("Your {forward} gives other values than Caption Lab's on these inputs, "
                                   "so this checks {name} against the numeric gradient of your own forward "
                                   "pass only: see {forward}.", forward=forward_name, name=name))
        by_length = []
        if key in STEP_OF:
            for T in LENGTHS:
                rows = _gradient_checks(data[f"T{T}"], key, threshold, T=T, notebook=False)
                by_length.append(all(r.passed for r in rows))
                checks.extend(r for r in rows if not r.passed)
        if key == "word_embedding":
            for label in ("unique", "repeated"):
                probe = data[label]
                x = np.asarray([[0, 3], [4, 1]] if label == "unique" else [[1, 1, 1], [1, 2, 1]])
                W = np.random.RandomState(7).randn(5, 4)
                want = L.word_embedding_backward(probe["dout"], (x, W))
                check, _ = compare(message("dW with unique word ids, vs Caption Lab's") if label == "unique" else
                                   message("dW with repeated word ids, vs Caption Lab's"), probe["dW"], want, PROBE,
                                   notebook=False)
                checks.append(check)
        result = verdict(name, checks, heat=result_heat, details=details, optional=key.startswith("lstm"))
        if result.status != WRONG:
            return result
        result.hint = _backward_hint(key, data, inputs, ctx, by_length)
        return result
    return judge


def _backward_hint(key: str, data: dict, inputs: list, ctx: Context, by_length: list[bool]) -> str | None:
    notebook = data["notebook"]
    douts = notebook["douts"]
    got = list(notebook["analytic"])
    if key == "rnn_step":
        hint = which_bug(got, bugs.rnn_step_backward_variants(douts[0], *inputs))
    elif key == "rnn":
        hint = which_bug(got, bugs.rnn_backward_variants(douts[0], *inputs))
    elif key == "lstm_step":
        hint = which_bug(got, bugs.lstm_step_backward_variants(douts[0], douts[1], *inputs))
    elif key == "lstm":
        hint = which_bug(got, bugs.lstm_backward_variants(douts[0], *inputs))
    elif key == "word_embedding":
        x, W = inputs
        hint = which_bug(got, bugs.word_embedding_backward_variants(douts[0], x, W))
        if hint is None:
            unique, repeated = (data[k] for k in ("unique", "repeated"))
            x_rep = np.asarray([[1, 1, 1], [1, 2, 1]])
            W_rep = np.random.RandomState(7).randn(5, 4)
            want = L.word_embedding_backward(repeated["dout"], (x_rep, W_rep))
            x_uni = np.asarray([[0, 3], [4, 1]])
            want_unique = L.word_embedding_backward(unique["dout"], (x_uni, W_rep))
            if compare("", unique["dW"], want_unique, PROBE)[0].passed and \
                    not compare("", repeated["dW"], want, PROBE)[0].passed:
                hint = message("Right when every word id appears once, wrong when one repeats: a repeated word "
                               "must add its gradient every time (np.add.at(dW, x, dout)).")
    else:
        hint = None
    if hint is None and key in STEP_OF:
        step = STEP_OF[key]
        swapped_probe = data["with_reference_step"]
        if swapped_probe is not None and all(c.passed for c in _gradient_checks(swapped_probe, key, LAYERS[key].threshold)):
            names = NAMES[step]
            hint = message("{name} itself is right: with Caption Lab's {forward} and {backward} in "
                           "place of yours it passes. The error is in your step functions.",
                           name=NAMES[key][1], forward=names[0], backward=names[1])
        elif by_length and by_length[0] and not all(by_length):
            hint = message("Right for a sequence of length 1, wrong from length 2 on: the gradient carried "
                           "from one step to the one before it, or the sums of dWx, dWh and db over the "
                           "steps, is wrong.")
    return hint


# --- the temporal softmax loss --------------------------------------------------------------------

SOFTMAX_PROBE = {"N": 3, "T": 4, "V": 5}


def _softmax_probe_inputs():
    rng = np.random.RandomState(5)
    N, T, V = SOFTMAX_PROBE["N"], SOFTMAX_PROBE["T"], SOFTMAX_PROBE["V"]
    x = rng.randn(N, T, V)
    y = rng.randint(V, size=(N, T))
    mask = np.ones((N, T), dtype=bool)
    mask[0, 2:], mask[2, 1:] = False, False                 # captions of different lengths
    return x, y, mask


def _softmax_run(student: Student, channel: Channel) -> dict:
    fn, data = student.layer("temporal_softmax_loss"), channel.data
    channel.stage(message("the notebook's sanity checks"))
    rng = np.random.RandomState(NOTEBOOK_SEED)
    data["sanity"] = [pick(call(fn, *softmax_sanity_inputs(N, T, V, p, rng)), 2, "(loss, dx)")[0]
                      for N, T, V, p, _, _ in SOFTMAX_SANITY]
    channel.stage(message("the notebook's gradient check"))
    x, y, mask = softmax_gradient_inputs(LAYERS["temporal_softmax_loss"].sizes, np.random.RandomState(NOTEBOOK_SEED))
    loss, dx = pick(call(fn, x, y, mask), 2, "(loss, dx)")
    numeric = eval_numerical_gradient(lambda v: pick(fn(v, y, mask), 2, "(loss, dx)")[0], x, verbose=False)
    data["gradient"] = {"dx": dx, "numeric": numeric}
    channel.stage(message("a partial mask"))
    data["probe"] = pick(call(fn, *_softmax_probe_inputs()), 2, "(loss, dx)")
    return data


def _softmax_judge(data: dict, ctx: Context) -> Result:
    checks = []
    for (N, T, V, p, low, high), loss in zip(SOFTMAX_SANITY, data["sanity"]):
        value = float(loss) if isinstance(loss, (int, float)) else float(np.asarray(loss).ravel()[0]) \
            if isinstance(loss, np.ndarray) and loss.size == 1 else None
        checks.append(Check(message("loss (N={N}, T={T}, V={V}, p={p:g})", N=N, T=T, V=V, p=p), value, high,
                            value is not None and low < value < high, "value", low=low,
                            note="" if value is not None else message("not a number")))
    threshold = LAYERS["temporal_softmax_loss"].threshold
    grad = data["gradient"]
    checks.append(gradient_check(message("{name} error", name="dx"), grad["dx"], grad["numeric"], threshold))
    x, y, mask = _softmax_probe_inputs()
    want_loss, want_dx = L.temporal_softmax_loss(x, y, mask)
    got_loss, got_dx = data["probe"]
    loss_check, _ = compare(message("loss with a partial mask, vs Caption Lab's"), got_loss, want_loss, PROBE,
                            notebook=False)
    dx_check, dx_array = compare(message("dx with a partial mask, vs Caption Lab's"), got_dx, want_dx, PROBE,
                                 notebook=False)
    checks += [loss_check, dx_check]
    result = verdict("temporal_softmax_loss", checks)
    if result.status == WRONG:
        result.hint = which_bug([got_loss, got_dx], bugs.softmax_loss_variants(x, y, mask))
        if dx_array is not None and not dx_check.passed:
            error = np.abs(dx_array - want_dx) / np.maximum(1e-8, np.abs(dx_array) + np.abs(want_dx))
            from .report import Heat
            result.heat = Heat(message("dx: error at each position (largest over the vocabulary); the mask keeps "
                                       "example 0 up to t = 1 and example 2 up to t = 0"),
                               np.round(error.max(axis=2), 6).tolist(), message("example n"), message("timestep t"))
    return result


# --- the list -------------------------------------------------------------------------------------

# seconds a backward's check takes on correct code (AMD EPYC), where well above the rest: a
# numeric gradient of the whole LSTM is the longest task, so it starts first
BACKWARD_COST = {"rnn": 0.08, "lstm_step": 0.13, "lstm": 0.7}


def _pair(key: str) -> list[Spec]:
    forward_name, backward_name = NAMES[key]
    optional = key.startswith("lstm")
    uses = (NAMES[STEP_OF[key]] if key in STEP_OF else ())
    return [Spec(forward_name, "rnn_layers", forward_name, _forward_run(key), _forward_judge(key),
                 optional=optional, uses=uses[:1]),
            Spec(backward_name, "rnn_layers", backward_name, _backward_run(key), _backward_judge(key),
                 optional=optional, uses=(forward_name, *uses), cost=BACKWARD_COST.get(key, 0.05))]


SPECS: list[Spec] = [
    *_pair("rnn_step"), *_pair("rnn"), *_pair("word_embedding"), *_pair("temporal_affine"),
    Spec("temporal_softmax_loss", "rnn_layers", "temporal_softmax_loss", _softmax_run, _softmax_judge,
         cost=0.17),
    *_pair("lstm_step"), *_pair("lstm"),
]
