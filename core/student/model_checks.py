"""The checks of `classifiers/rnn.py`: `CaptioningRNN.__init__`, `.loss` and `.sample`, each
for the vanilla RNN and for the LSTM.

`loss` gets the notebook's two checks (its loss with `np.linspace` weights, 9.83235591003
for the RNN and 9.82445935443 for the LSTM, and its numeric gradient check), run while
Caption Lab watches which arrays reach the layers: that is how "fed the whole caption",
"h0 not computed from the features" and "the mask not used" are told apart. Then the
same loss with Caption Lab's layers in place of the student's, which says whether the
error is in `loss` or in the layers. `sample` is compared with greedy decoding on the
same weights, up to each caption's first <END>.
"""
from __future__ import annotations

import numpy as np

from .. import layers as L
from ..checks import LAYERS
from ..gradcheck import eval_numerical_gradient
from ..model import PARAM_NAMES, CaptioningRNN, param_shapes
from ..notebook import (MODEL_CASE, MODEL_LOSS_TOLERANCE, NOTEBOOK_MODEL_LOSS, NOTEBOOK_SEED,
                        NOTEBOOK_VOCAB, linspace_params, model_case_inputs)
from ..text import message
from . import bugs
from .checks import (Context, Spec, Student, Tracer, WrongReturn, call, gradient_check,
                     kind, optional, pick, swapped, verdict, which_bug)
from .report import PASSED, WRONG, Check, Result
from .sandbox import Channel

SAMPLE_VOCAB = {"<NULL>": 0, "<START>": 1, "<END>": 2, "a": 3, "red": 4, "blue": 5, "circle": 6,
                "square": 7, "left": 8, "of": 9, "the": 10, "big": 11}
SAMPLE_SIZES = {"N": 6, "D": 6, "W": 5, "H": 8, "T": 7}
INIT_SIZES = {"D": 4, "W": 5, "H": 6}
LAYER_NAMES = ("affine_forward", "affine_backward", "word_embedding_forward", "word_embedding_backward",
               "rnn_forward", "rnn_backward", "lstm_forward", "lstm_backward", "rnn_step_forward",
               "lstm_step_forward", "temporal_affine_forward", "temporal_affine_backward",
               "temporal_softmax_loss")
CELL_LAYERS = {"rnn": ("rnn_forward", "rnn_backward"), "lstm": ("lstm_forward", "lstm_backward")}
LAYER_FUNCTIONS = ("rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward", "word_embedding_forward",
                   "word_embedding_backward", "temporal_affine_forward", "temporal_affine_backward",
                   "temporal_softmax_loss", "lstm_step_forward", "lstm_step_backward", "lstm_forward",
                   "lstm_backward")


def _model(student: Student, vocab: dict, sizes: dict, cell: str):
    cls = student.model_class()
    model = call(cls, vocab, input_dim=sizes["D"], wordvec_dim=sizes["W"], hidden_dim=sizes["H"],
                 cell_type=cell, dtype=np.float64)
    if not isinstance(getattr(model, "params", None), dict):
        raise WrongReturn(f"made a model whose params is {kind(getattr(model, 'params', None))}, not a dict")
    return model


# --- __init__ -------------------------------------------------------------------------------

def _init_run(cell: str):
    def run(student: Student, channel: Channel) -> dict:
        channel.stage(message("building the model"))
        np.random.seed(NOTEBOOK_SEED)
        model = _model(student, SAMPLE_VOCAB, INIT_SIZES, cell)
        return {"params": dict(model.params),
                "special": {k: getattr(model, k, None) for k in ("_null", "_start", "_end")}}
    return run


def _init_judge(cell: str):
    def judge(data: dict, ctx: Context) -> Result:
        V = len(SAMPLE_VOCAB)
        shapes = param_shapes(V, INIT_SIZES["D"], INIT_SIZES["W"], INIT_SIZES["H"], cell)
        params = data["params"]
        checks = []
        for name in PARAM_NAMES:
            got = params.get(name)
            shape = getattr(got, "shape", None)
            ok = isinstance(got, np.ndarray) and shape == shapes[name]
            note = message("missing from params") if got is None else f"{shape}" if shape is not None else kind(got)
            checks.append(Check(message("params['{name}'] shape", name=name), None, 0.0, ok, "shape", note=note,
                                want=str(shapes[name])))
        extra = sorted(set(params) - set(PARAM_NAMES))
        dtypes = {str(v.dtype) for v in params.values() if isinstance(v, np.ndarray)}
        checks.append(Check(message("dtype of the parameters"), None, 0.0, dtypes == {"float64"}, "property",
                            note=", ".join(sorted(dtypes)) or message("none"), want="float64 (dtype=np.float64)"))
        special = data["special"]
        checks.append(Check("self._null, self._start, self._end", None, 0.0,
                            [special.get("_null"), special.get("_start"), special.get("_end")] == [0, 1, 2],
                            "property", note=str([special.get(k) for k in ("_null", "_start", "_end")]),
                            want="[0, 1, 2]"))
        result = verdict(f"CaptioningRNN.__init__[{cell}]", checks, optional=cell == "lstm")
        if extra:
            result.details.append(message("params also holds {names}: the solver will update those too.",
                                          names=", ".join(extra)))
        if result.status == PASSED:
            reference = CaptioningRNN(SAMPLE_VOCAB, input_dim=INIT_SIZES["D"], wordvec_dim=INIT_SIZES["W"],
                                      hidden_dim=INIT_SIZES["H"], cell_type=cell, dtype=np.float64,
                                      rng=np.random.RandomState(NOTEBOOK_SEED))
            same = all(np.array_equal(params[k], reference.params[k]) for k in PARAM_NAMES)
            result.details.append(
                message("After np.random.seed(231) it draws exactly the course's initial weights, so a seeded "
                        "run of yours starts where the notebook's does.") if same else
                message("It draws its initial weights differently from the course's __init__ (fine, but a seeded "
                        "run of yours will not match the notebook's numbers)."))
        return result
    return judge


# --- loss -----------------------------------------------------------------------------------

def _keep(name: str, args: tuple) -> dict:
    """What the loss check records of a call to one of the layers."""
    if name == "word_embedding_forward" and args:
        return {"x": np.asarray(args[0])}
    if name in ("rnn_forward", "lstm_forward") and len(args) > 1:
        return {"h0": np.asarray(args[1]), "x_shape": list(np.shape(args[0]))}
    if name == "temporal_softmax_loss" and len(args) > 2:
        return {"y": np.asarray(args[1]), "mask": np.asarray(args[2])}
    return {}


def _loss_run(cell: str):
    def run(student: Student, channel: Channel) -> dict:
        data = channel.data
        module = student.module("classifiers.rnn")
        channel.stage(message("the notebook's loss check"))
        model = _model(student, NOTEBOOK_VOCAB, MODEL_CASE, cell)
        linspace_params(model.params)
        features, captions = model_case_inputs(cell)
        with Tracer(module, list(LAYER_NAMES), _keep) as tracer:
            data["trace"] = tracer.calls        # filled as loss runs: kept if it crashes
            loss, grads = pick(call(model.loss, features, captions), 2, "(loss, grads)")
        data["loss"] = loss
        channel.stage(message("the notebook's gradient check"))
        sizes = LAYERS[f"model_{cell}"].sizes
        np.random.seed(NOTEBOOK_SEED)
        captions = np.random.randint(len(NOTEBOOK_VOCAB), size=(sizes["N"], sizes["T"]))
        features = np.random.randn(sizes["N"], sizes["D"])
        model = _model(student, NOTEBOOK_VOCAB, sizes, cell)
        loss, grads = pick(call(model.loss, features, captions), 2, "(loss, grads)")
        if not isinstance(grads, dict):
            raise WrongReturn(f"returned grads as {kind(grads)}, not a dict keyed like self.params")
        numeric = {}
        for name in sorted(grads):
            if name in model.params:
                numeric[name] = eval_numerical_gradient(lambda _: model.loss(features, captions)[0],
                                                        model.params[name], verbose=False, h=1e-6)
        data["gradients"] = {"analytic": dict(grads), "numeric": numeric}
        channel.stage(message("with Caption Lab's layers in place of yours"))
        names = [n for n in LAYER_NAMES if n in module.__dict__]

        def with_reference_layers():
            reference = {n: getattr(L, n) for n in names}
            with swapped(module, reference), swapped(student.module("rnn_layers"), reference):
                model = _model(student, NOTEBOOK_VOCAB, MODEL_CASE, cell)
                linspace_params(model.params)
                return pick(model.loss(*model_case_inputs(cell)), 2, "(loss, grads)")[0]
        data["with_reference_layers"] = optional(with_reference_layers)
        return data
    return run


def _value(x) -> float | None:
    if isinstance(x, (int, float)) and not isinstance(x, bool):
        return float(x)
    if isinstance(x, np.ndarray) and x.size == 1:
        return float(x.ravel()[0])
    return None


def _trace_hint(data: dict, cell: str) -> str | None:
    """What the arrays that reached the layers say about the loss's bug."""
    features, captions = model_case_inputs(cell)
    trace = data.get("trace") or []
    null = NOTEBOOK_VOCAB["<NULL>"]
    for call_ in trace:
        if call_["function"] == "word_embedding_forward" and "x" in call_:
            x = call_["x"]
            if x.shape == captions.shape and np.array_equal(x, captions):
                return message("The whole caption goes into the RNN: its input must be captions[:, :-1] "
                               "(everything but the last word) and its targets captions[:, 1:].")
            if x.shape == captions[:, 1:].shape and np.array_equal(x, captions[:, 1:]):
                return message("The RNN is fed captions[:, 1:], the targets: its input is captions[:, :-1], "
                               "starting with <START>.")
        if call_["function"] == "temporal_softmax_loss" and "y" in call_:
            y, mask = call_["y"], call_["mask"]
            if y.shape == captions[:, :-1].shape and np.array_equal(y, captions[:, :-1]):
                return message("The targets are the inputs: the loss must compare the scores with the next "
                               "words, captions[:, 1:].")
            out = captions[:, 1:]
            if mask.shape == out.shape and (out == null).any() and mask.astype(bool).all():
                return message("The mask is not used: positions whose target is <NULL> count in the loss. "
                               "Pass mask = captions_out != self._null to temporal_softmax_loss.")
        if call_["function"] in ("rnn_forward", "lstm_forward") and "h0" in call_:
            h0 = call_["h0"]
            model = CaptioningRNN(NOTEBOOK_VOCAB, input_dim=MODEL_CASE["D"], wordvec_dim=MODEL_CASE["W"],
                                  hidden_dim=MODEL_CASE["H"], cell_type=cell, dtype=np.float64,
                                  rng=np.random.RandomState(0))
            linspace_params(model.params)
            want = features @ model.params["W_proj"] + model.params["b_proj"]
            if h0.shape == want.shape and not np.allclose(h0, want):
                if not h0.any():
                    return message("h0 is all zeros: the image never reaches the RNN. Compute it from the "
                                   "features: h0 = features @ W_proj + b_proj.")
                return message("The h0 given to the RNN is not features @ W_proj + b_proj.")
    return None


def _loss_judge(cell: str):
    name = f"CaptioningRNN.loss[{cell}]"

    def judge(data: dict, ctx: Context) -> Result:
        expected = NOTEBOOK_MODEL_LOSS[cell]
        loss = _value(data["loss"])
        checks = [Check(message("loss difference from {expected}", expected=expected),
                        None if loss is None else abs(loss - expected),
                        MODEL_LOSS_TOLERANCE, loss is not None and abs(loss - expected) < MODEL_LOSS_TOLERANCE,
                        "difference", note="" if loss is not None else
                        message("the loss is {what}", what=kind(data["loss"])))]
        grads = data["gradients"]
        threshold = LAYERS[f"model_{cell}"].threshold
        for p in PARAM_NAMES:
            if p not in grads["analytic"]:
                checks.append(Check(message("{name} relative error", name=p), None, threshold, False,
                                    note=message("grads has no entry for it")))
            elif p in grads["numeric"]:
                checks.append(gradient_check(message("{name} relative error", name=p), grads["analytic"][p],
                                             grads["numeric"][p], threshold))
        result = verdict(name, checks, optional=cell == "lstm")
        if result.status != WRONG:
            return result
        result.hint = _trace_hint(data, cell) or _loss_hint(data, checks, cell, ctx)
        return result
    return judge


def _loss_hint(data: dict, checks: list[Check], cell: str, ctx: Context) -> str | None:
    """The likely cause of a wrong loss when the arrays reaching the layers looked right."""
    loss_right = checks[0].passed
    layers = [r.name for r in ctx.results.values() if r.name in LAYER_FUNCTIONS and r.status != PASSED
              and not (r.optional and cell == "rnn")]
    reference = _value(data.get("with_reference_layers"))
    if not loss_right and reference is not None and abs(reference - NOTEBOOK_MODEL_LOSS[cell]) < MODEL_LOSS_TOLERANCE:
        if layers:
            return message("With Caption Lab's layers in place of yours, your loss gives the notebook's value: "
                           "the error is in your layers ({layers}).", layers=", ".join(layers))
        return message("With Caption Lab's layers in place of yours, your loss gives the notebook's value: the "
                       "error is in your layers.")
    if loss_right and layers:
        if len(layers) == 1:
            return message("The loss is right but not all of its gradients: {layers} is not right yet (see "
                           "above), and loss uses it.", layers=layers[0])
        return message("The loss is right but not all of its gradients: {layers} are not right yet (see above), "
                       "and loss uses them.", layers=", ".join(layers))
    proj = [c for c in checks if c.name.startswith(("W_proj", "b_proj"))]
    others = [c for c in checks[1:] if c not in proj]
    if loss_right and proj and not any(c.passed for c in proj) and all(c.passed for c in others):
        return message("W_proj and b_proj get the wrong gradient, the rest is right: dh0, the gradient the RNN "
                       "passes back to its initial state, must flow back through h0 = features @ W_proj + b_proj.")
    return None


def explain_loss(cell: str):
    """For a loss that crashed: what the arrays that reached the layers before the crash say."""
    return lambda data: _trace_hint(data, cell) if data.get("trace") else None


# --- sample ---------------------------------------------------------------------------------

def sample_case(cell: str) -> tuple[dict, np.ndarray]:
    """Seeded weights (float64) and features for the sampling check: words vary and some
    captions end early."""
    s = SAMPLE_SIZES
    rng = np.random.RandomState(11)
    shapes = param_shapes(len(SAMPLE_VOCAB), s["D"], s["W"], s["H"], cell)
    params = {name: rng.randn(*shape) * (0.8 if name != "W_vocab" else 1.5) for name, shape in shapes.items()}
    # like a trained model, never emit <NULL> or <START>: they are never training targets
    params["b_vocab"][[SAMPLE_VOCAB["<NULL>"], SAMPLE_VOCAB["<START>"]]] -= 20
    features = np.random.RandomState(12).randn(s["N"], s["D"])
    return params, features


def _sample_run(cell: str):
    def run(student: Student, channel: Channel) -> dict:
        channel.stage(message("sampling captions"))
        np.random.seed(0)
        model = _model(student, SAMPLE_VOCAB, SAMPLE_SIZES, cell)
        params, features = sample_case(cell)
        for k, v in params.items():
            model.params[k] = v.copy()
        captions = call(model.sample, features, max_length=SAMPLE_SIZES["T"])
        return {"captions": captions}
    return run


def _until_end(row, end: int) -> list[int]:
    row = [int(w) for w in row]
    return row[:row.index(end) + 1] if end in row else row


def _words(row, idx_to_word: dict) -> str:
    return " ".join(idx_to_word.get(int(w), f"#{int(w)}") for w in row)


def _sample_judge(cell: str):
    name = f"CaptioningRNN.sample[{cell}]"

    def judge(data: dict, ctx: Context) -> Result:
        s = SAMPLE_SIZES
        start, end, null = SAMPLE_VOCAB["<START>"], SAMPLE_VOCAB["<END>"], SAMPLE_VOCAB["<NULL>"]
        params, features = sample_case(cell)
        want = bugs.greedy(params, cell, features, start, null, s["T"])
        got = data["captions"]
        itw = {i: w for w, i in SAMPLE_VOCAB.items()}
        if not isinstance(got, np.ndarray) or got.shape != want.shape or got.dtype.kind not in "iu":
            shape = getattr(got, "shape", None)
            what = (message("an array of shape {shape} and dtype {dtype}", shape=str(shape), dtype=str(got.dtype))
                    if isinstance(got, np.ndarray) else kind(got))
            return Result(name, WRONG, [Check(message("captions"), None, 0.0, False, "shape", note=what,
                                              want=message("integer ids of shape {shape}", shape=str(want.shape)))],
                          hint=message("sample returned {what}: it must return integer word ids of shape "
                                       "(N, max_length) = {shape}.", what=what, shape=str(want.shape)),
                          optional=cell == "lstm")
        differ = [i for i in range(len(want)) if _until_end(got[i], end)[:len(_until_end(want[i], end))]
                  != _until_end(want[i], end)]
        table = [{"greedy (Caption Lab)": _words(_until_end(want[i], end), itw),
                  "yours": _words(got[i], itw), "same": message("yes") if i not in differ else message("NO")}
                 for i in range(len(want))]
        check = Check(message("captions unlike greedy decoding (up to <END>)"), float(len(differ)), 0.5, not differ,
                      "count", want="0", notebook=False)
        result = verdict(name, [check], optional=cell == "lstm", table=table)
        if result.status == WRONG:
            if not got.any() or (got == null).all():
                result.hint = message("It returns only <NULL>: is sample still the course's template?")
            else:
                result.hint = which_bug([got], [(sentence, (c,)) for sentence, c in
                                                bugs.sample_variants(params, cell, features, start, null, s["T"])])
                if result.hint is None and (got[:, 0] == start).all():
                    result.hint = message("<START> is written into the output: column 0 must hold the first "
                                          "sampled word.")
        return result
    return judge


def _cell_specs(cell: str) -> list[Spec]:
    optional_cell = cell == "lstm"
    return [
        Spec(f"CaptioningRNN.__init__[{cell}]", "classifiers.rnn", "CaptioningRNN.__init__", _init_run(cell),
             _init_judge(cell), optional=optional_cell),
        Spec(f"CaptioningRNN.loss[{cell}]", "classifiers.rnn", "CaptioningRNN.loss", _loss_run(cell),
             _loss_judge(cell), optional=optional_cell, uses=CELL_LAYERS[cell], explain=explain_loss(cell),
             calls=tuple(f for f in LAYER_FUNCTIONS if cell in f or not f.startswith(("rnn", "lstm"))),
             cost=0.27 if cell == "lstm" else 0.11),
        Spec(f"CaptioningRNN.sample[{cell}]", "classifiers.rnn", "CaptioningRNN.sample", _sample_run(cell),
             _sample_judge(cell), optional=optional_cell,
             uses=("rnn_step_forward",) if cell == "rnn" else ("lstm_step_forward",)),
    ]


SPECS: list[Spec] = [*_cell_specs("rnn"), *_cell_specs("lstm")]
