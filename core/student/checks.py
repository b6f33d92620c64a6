"""How a function of the student's is checked: a `Spec` in two halves, and their tools.

`Spec.run(student, channel)` runs inside the sandbox (a forked, confined child): it calls
the student's functions on the notebook's inputs and on probes, and returns what they
returned, as data. `Spec.judge(data, context)` runs in the checker: it compares that data
with Caption Lab's reference layers and the notebook's numbers, and gives the `Result`:
the checks a student would print, the likely cause (`bugs`), where in the array the error
sits (`Heat`). The student's code never runs in the checker, and the checker never trusts
more of the child than its data.

The child side raises two exceptions of its own, which the checker reads by name:
`ReturnedNothing` (the function returned None: the course's stub) and `WrongReturn` (it
returned something else than the notebook's signature says).
"""
from __future__ import annotations

import contextlib
import importlib
import inspect
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..checks import array_error
from ..gradcheck import eval_numerical_gradient_array, rel_error
from ..text import message
from .report import (CRASHED, MEMORY, NOT_IMPLEMENTED, PASSED, TIMEOUT, WRONG, Check, Heat,
                     Result)
from .sandbox import Channel, Outcome
from .wire import Opaque

MATCH = 1e-7                       # an array this close (over the whole array) to a bug's is that bug


class ReturnedNothing(Exception):
    """The function returned None (or only Nones): it is still the course's stub."""


class WrongReturn(Exception):
    """The function returned something of another kind than its notebook signature."""


# --- the child's side ------------------------------------------------------------------------

# the inputs the student's functions changed in place, as [function, argument] pairs (the child's)
CHANGED: list[list[str]] = []
WATCHED_CALLS = 3                  # calls of each function whose inputs are compared after it returns


def _copied(value):
    """`value` with every array in it (in tuples, lists and dicts too) a fresh copy."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, (tuple, list)):
        return type(value)(_copied(v) for v in value) if type(value) in (tuple, list) else value
    if isinstance(value, dict):
        return {k: _copied(v) for k, v in value.items()}
    return value


def _same(before, after) -> bool:
    """Whether `after` (what a function was given) still holds what `before` held."""
    if isinstance(before, np.ndarray):
        if not isinstance(after, np.ndarray) or before.shape != after.shape:
            return False
        return bool(np.array_equal(before, after)) or \
            bool(before.dtype.kind in "fc" and np.array_equal(before, after, equal_nan=True))
    if isinstance(before, (tuple, list)) and isinstance(after, (tuple, list)) and len(before) == len(after):
        return all(_same(b, a) for b, a in zip(before, after))
    if isinstance(before, dict) and isinstance(after, dict):
        return all(k in after and _same(v, after[k]) for k, v in before.items())
    return True


def guarded(fn, name: str | None = None):
    """`fn` called on fresh copies of its array arguments, so that a function that changes
    its inputs in place (as the notebook lets it) never changes the checker's own; each
    change is recorded in CHANGED as [function, argument] (the verdict stays the notebook's)."""
    if getattr(fn, "_guarded", False) or not callable(fn):
        return fn
    name = name or getattr(fn, "__qualname__", None) or getattr(fn, "__name__", "it")
    try:
        parameters = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        parameters = []

    watched = [0]                       # calls compared so far: a change in place shows on the first ones

    def call_with_copies(*args, **kwargs):
        given = [_copied(a) for a in args]
        given_kw = {k: _copied(v) for k, v in kwargs.items()}
        try:
            return fn(*given, **given_kw)
        finally:
            if watched[0] < WATCHED_CALLS:
                watched[0] += 1
                pairs = [(parameters[i] if i < len(parameters) else f"argument {i + 1}", a, g)
                         for i, (a, g) in enumerate(zip(args, given))] + \
                        [(k, kwargs[k], given_kw[k]) for k in kwargs]
                for argument, original, passed in pairs:
                    if not _same(original, passed) and [name, argument] not in CHANGED and len(CHANGED) < 20:
                        CHANGED.append([name, argument])
    call_with_copies._guarded = True
    call_with_copies.__name__ = getattr(fn, "__name__", "it")
    call_with_copies.__wrapped__ = fn
    return call_with_copies


class Student:
    """The student's package, imported inside the sandbox from `src/<package>`."""

    def __init__(self, src: Path, package: str):
        self.src, self.package = Path(src), package

    def module(self, name: str):
        """Import `<package>.<name>` ("rnn_layers", "classifiers.rnn")."""
        if str(self.src) not in sys.path:
            sys.path.insert(0, str(self.src))
        sys.dont_write_bytecode = True
        return importlib.import_module(f"{self.package}.{name}")

    def layer(self, name: str):
        """The student's layer function `name`, called on fresh copies of its inputs (`guarded`)."""
        return guarded(getattr(self.module("rnn_layers"), name), name)

    def model_class(self):
        return self.module("classifiers.rnn").CaptioningRNN


def kind(value) -> str:
    """What a returned value is, for a message: 'a list of 3', 'an ndarray (4, 5)'."""
    if isinstance(value, np.ndarray):
        return message("an array of shape {shape}", shape=str(value.shape))
    if isinstance(value, (tuple, list)):
        return message("a {type} of {n}", type=type(value).__name__, n=len(value))
    return message("a {type}", type=type(value).__name__)


def call(fn, *args, **kwargs):
    """fn(*args) on fresh copies of the arguments (`guarded`), raising ReturnedNothing when it
    gives None or only Nones."""
    out = guarded(fn)(*args, **kwargs)
    if out is None or (isinstance(out, (tuple, list)) and len(out) and all(o is None for o in out)):
        raise ReturnedNothing(f"{getattr(fn, '__name__', 'it')} returned None")
    return out


def pick(out, n: int, signature: str) -> list:
    """The first n items of a returned tuple; WrongReturn naming `signature` otherwise."""
    if n == 1 and not isinstance(out, (tuple, list)):
        return [out]
    if isinstance(out, (tuple, list)) and len(out) >= n:
        return list(out[:n])
    raise WrongReturn(f"returned {kind(out)}, not {signature}")


@contextlib.contextmanager
def swapped(module, replacements: dict):
    """Put Caption Lab's functions in place of the student's names in `module`, for a while."""
    saved = {name: module.__dict__.get(name) for name in replacements}
    module.__dict__.update(replacements)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                module.__dict__.pop(name, None)
            else:
                module.__dict__[name] = value


class Tracer:
    """Records the arguments of calls to some functions of a module (by their global names)."""

    def __init__(self, module, names: list[str], keep: Callable[[str, tuple], dict]):
        self.module, self.names, self.keep = module, names, keep
        self.calls: list[dict] = []

    def __enter__(self):
        replacements = {}
        for name in self.names:
            original = self.module.__dict__.get(name)
            if callable(original):
                replacements[name] = self._wrap(name, original)
        self._swap = swapped(self.module, replacements)
        self._swap.__enter__()
        return self

    def __exit__(self, *exc):
        return self._swap.__exit__(*exc)

    def _wrap(self, name, original):
        def traced(*args, **kwargs):
            if len(self.calls) < 200:
                try:
                    self.calls.append({"function": name, **self.keep(name, args)})
                except Exception:
                    pass
            return original(*args, **kwargs)
        traced.__name__ = name
        return traced


def optional(probe: Callable[[], object]):
    """A probe that only helps name a bug: its value, or None when the student's code
    raises on it (that crash is not the function's verdict)."""
    try:
        return probe()
    except Exception:
        return None


def numeric_gradients(forward, inputs: list, douts: list, n_out: int, first: int = 0) -> list:
    """The notebook's numeric gradient of every input from `first` on: for input k, the sum
    over outputs j of eval_numerical_gradient_array(output j as a function of input k)."""
    grads = []
    for k in range(first, len(inputs)):
        total = 0
        for j in range(n_out):
            def f(value, k=k, j=j):
                args = list(inputs)
                args[k] = value
                return pick(forward(*args), n_out, "its outputs")[j]
            total = total + eval_numerical_gradient_array(f, inputs[k], douts[j])
        grads.append(total)
    return grads


# --- the checker's side ----------------------------------------------------------------------

@dataclass(frozen=True)
class Spec:
    """The check of one function."""

    name: str                                 # the report's key
    module: str                               # "rnn_layers" or "classifiers.rnn"
    attribute: str                            # "rnn_step_forward", "CaptioningRNN.loss"
    run: Callable[[Student, Channel], dict]   # in the sandbox
    judge: Callable[[dict, "Context"], Result]
    optional: bool = False                    # the LSTM: optional in the course
    uses: tuple[str, ...] = ()                # other specs it needs (a backward needs its forward)
    explain: Callable[[dict], str | None] | None = None   # a crash's likely cause, from the data so far
    calls: tuple[str, ...] | None = None      # what it calls, for "crashed because X did" (default: uses)
    cost: float = 0.05                        # seconds its check takes on correct code: the longest start first


@dataclass
class Context:
    """What the judge of one function may know about the others."""

    results: dict[str, Result] = field(default_factory=dict)

    def status(self, name: str) -> str | None:
        r = self.results.get(name)
        return r.status if r else None

    def not_done(self, names) -> list[str]:
        """Those of `names` that are not implemented, missing or crashed."""
        return [n for n in names if self.status(n) not in (None, PASSED, WRONG)]


def as_array(value) -> tuple[np.ndarray | None, str]:
    """A returned value as a float array, or None and what it was instead."""
    if isinstance(value, np.ndarray):
        return value.astype(np.float64, copy=False), ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return np.asarray(float(value)), ""
    if isinstance(value, Opaque):
        return None, message("returned {what}, not an array", what=str(value))
    if value is None:
        return None, message("returned None")
    return None, message("returned {what}, not an array", what=kind(value))


def compare(name: str, got, want: np.ndarray, threshold: float, *, notebook: bool = True,
            measure: str = "relative error") -> tuple[Check, np.ndarray | None]:
    """A check of `got` against `want` with the notebook's rel_error; the got array when its
    shape is right (for a heat map), else None."""
    array, problem = as_array(got)
    want = np.asarray(want, dtype=np.float64)
    if array is None:
        return Check(name, None, threshold, False, measure, note=problem, notebook=notebook), None
    if array.shape != want.shape:
        return Check(name, None, threshold, False, measure,
                     note=message("shape {got}, expected {want}", got=str(array.shape), want=str(want.shape)),
                     notebook=notebook), None
    if not np.all(np.isfinite(array)):
        return Check(name, None, threshold, False, measure, note=message("holds NaN or infinity"),
                     notebook=notebook), None
    value = rel_error(want, array)
    return Check(name, value, threshold, value < threshold, measure, notebook=notebook), array


def gradient_check(name: str, analytic, numeric, threshold: float, *, notebook: bool = True) -> Check:
    """A gradient's check as the layer lab rates it: the notebook's (max) relative error, or,
    where only near-zero entries push that over, the error over the whole array."""
    check, array = compare(name, analytic, numeric, threshold, notebook=notebook)
    if array is None or check.passed:
        return check
    whole = array_error(array, numeric)
    if whole < threshold:
        return Check(check.name, whole, threshold, True, "error over the whole array",
                     note=message("the element-wise maximum, {value:.2e}, is over the threshold only at noisy "
                                  "near-zero entries", value=check.value), notebook=notebook)
    return check


def matches(got, want) -> bool:
    """Whether `got` is `want` to round-off (over the whole array)."""
    array, _ = as_array(got)
    want = np.asarray(want, dtype=np.float64)
    return array is not None and array.shape == want.shape and bool(np.all(np.isfinite(array))) \
        and array_error(array, want) < MATCH


def which_bug(got: list, variants: list[tuple[str, object]], positions: list[int] | None = None) -> str | None:
    """The sentence of the first variant that `got` matches (every one of `positions` of it)."""
    for sentence, outputs in variants:
        outputs = list(outputs) if isinstance(outputs, tuple) else [outputs]
        chosen = positions if positions is not None else range(len(outputs))
        if all(i < len(got) and matches(got[i], outputs[i]) for i in chosen):
            return sentence
    return None


AXES = {"N": message("example n"), "T": message("timestep t"), "D": message("input dimension"),
        "H": message("hidden unit"), "V": message("word id"), "W": message("word-vector dimension"),
        "4H": message("gate unit (i, f, o, g)")}
AGAINST = {"the reference": message("the reference"), "numeric": message("numeric")}


def heat(name: str, got: np.ndarray, want, axes: str, against: str = "the reference") -> Heat | None:
    """Where `got` differs from `want`: element-wise relative error, the largest over the
    batch for a 3-d array. `axes` names the dimensions, e.g. "N T H" or "D 4H"."""
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape or got.ndim == 0:
        return None
    error = np.abs(got - want) / np.maximum(1e-8, np.abs(got) + np.abs(want))
    names = axes.split()
    if error.ndim == 3:                        # (N, T, X): the worst example at each (t, x)
        error, names = error.max(axis=0), names[1:]
    elif error.ndim == 1:
        error, names = error[None, :], ["", names[0]]
    if error.ndim != 2:
        return None
    rows, columns = (AXES.get(n, n) for n in names)
    against = AGAINST.get(against, against)
    if got.ndim == 3:
        title = message("{name}: |yours − {against}| / (|yours| + |{against}|), largest over the batch",
                        name=name, against=against)
    else:
        title = message("{name}: |yours − {against}| / (|yours| + |{against}|)", name=name, against=against)
    return Heat(title, np.round(error, 6).tolist(), rows, columns)


# the stages with values that the child reports (`Channel.stage` sends plain text), read back
STAGES = ("a sequence of length {T}", "with Caption Lab's {forward} and {backward} in place of yours",
          "with Caption Lab's {step} in place of yours", "importing {file}")
_FIELDS = {"T": r"\d+", "file": r"[\w./]+"}           # step, forward, backward: function names
_STAGE_PATTERNS = [(t, re.compile("^" + re.sub(r"\\{(\w+)\\}",
                                                lambda m: f"(?P<{m[1]}>{_FIELDS.get(m[1], r'[a-z]+_[a-z_]+')})",
                                                re.escape(t)) + "$"))
                   for t in STAGES]


def _stage(stage: str | None):
    """The stage a task was in, as a translatable sentence when it is one of the checker's
    own stage texts (the text itself otherwise)."""
    if not stage or "{" in stage or "}" in stage:
        return stage
    for template, pattern in _STAGE_PATTERNS:
        found = pattern.match(stage)
        if found:
            return message(template, **found.groupdict())
    return message(stage)


def _exit(how) -> str:
    """How a process ended (a Message from `sandbox`, kept translatable)."""
    return how if isinstance(how, str) else str(how)


SANDBOX_WALLS = message(" (the sandbox allows no network, no signals to other processes and no writing "
                        "outside its own folder)")


def failed(result_name: str, outcome: Outcome, optional: bool = False) -> Result | None:
    """The Result of a task that did not finish normally, or None when it did."""
    base = dict(name=result_name, output=outcome.output, seconds=outcome.seconds, optional=optional)
    stage = _stage(outcome.stage)
    if outcome.kind == "timeout":
        hint = (message("It was still running, in {stage}, when its time was up ({exit}): an endless loop?",
                        stage=stage, exit=_exit(outcome.exit)) if stage else
                message("It was still running when its time was up ({exit}): an endless loop?",
                        exit=_exit(outcome.exit)))
        return Result(status=TIMEOUT, hint=hint, **base)
    if outcome.kind == "memory":
        text = (outcome.error or {}).get("message") or outcome.exit or ""
        hint = (message("It asked for more memory than a check may use, in {stage}: {message}",
                        stage=stage, message=text) if stage else
                message("It asked for more memory than a check may use: {message}", message=text))
        return Result(status=MEMORY, error=outcome.error, hint=hint, **base)
    if outcome.kind == "died":
        hint = (message("Its process ended without an answer, in {stage} ({exit}): the code called os._exit, "
                        "or crashed the interpreter (a segfault, for one).", stage=stage, exit=_exit(outcome.exit))
                if stage else
                message("Its process ended without an answer ({exit}): the code called os._exit, or crashed "
                        "the interpreter (a segfault, for one).", exit=_exit(outcome.exit)))
        return Result(status=CRASHED, error=outcome.error, hint=hint, **base)
    if outcome.kind == "error":
        error = outcome.error or {}
        if error.get("type") == "NotImplementedError":
            return Result(status=NOT_IMPLEMENTED, hint=None if optional else
                          message("It raises NotImplementedError: it is not written yet."), **base)
        if error.get("type") == "ReturnedNothing":
            return Result(status=NOT_IMPLEMENTED, hint=None if optional else
                          message("It returns None: it is still the course's template."), **base)
        if error.get("type") == "WrongReturn":
            what = str(error.get("message"))
            hint = (message("It {what}, in {stage}.", what=what, stage=stage) if stage else
                    message("It {what}.", what=what))
            return Result(status=WRONG, hint=hint, **base)
        if error.get("type") == "MemoryError":
            hint = message("MemoryError, in {stage}.", stage=stage) if stage else message("MemoryError.")
            return Result(status=MEMORY, error=error, hint=hint, **base)
        frames = error.get("traceback") or []
        why = SANDBOX_WALLS if error.get("type") == "PermissionError" else ""
        values = dict(type=str(error.get("type")), message=str(error.get("message")), why=why)
        if error.get("student") and frames:
            values.update(file=str(frames[-1]["file"]), line=frames[-1]["line"])
            hint = (message("It raised {type} at {file}, line {line}, in {stage}: {message}{why}",
                            stage=stage, **values) if stage else
                    message("It raised {type} at {file}, line {line}: {message}{why}", **values))
        else:
            hint = (message("It raised {type}, in {stage}: {message}{why}", stage=stage, **values) if stage else
                    message("It raised {type}: {message}{why}", **values))
        return Result(status=CRASHED, error=error, hint=hint, **base)
    return None


def what_differs(result: Result):
    """The sentence for a wrong verdict no catalogued bug explains: which check failed, by how
    much, and where the array differs most (from its heat map)."""
    failing = [c for c in result.checks if not c.passed] or result.checks
    if not failing:
        return message("It returned other values than the notebook expects.")
    first = failing[0]
    shown = (f"{first.value:.4f}" if first.measure == "value" else f"{first.value:.2e}") \
        if first.value is not None else (first.note or "-")
    heat_ = result.heat
    where = None
    if heat_ is not None and heat_.values and heat_.values[0]:
        errors = np.asarray(heat_.values, dtype=np.float64)
        rows = np.flatnonzero(errors.max(axis=1) >= 0.5 * errors.max())
        columns = np.flatnonzero(errors.max(axis=0) >= 0.5 * errors.max())
        if heat_.rows and len(rows) < len(errors):
            where = (heat_.rows, ", ".join(str(i) for i in rows[:8]) + (" …" if len(rows) > 8 else ""))
        elif len(columns) < errors.shape[1]:
            where = (heat_.columns, ", ".join(str(i) for i in columns[:8]) + (" …" if len(columns) > 8 else ""))
    values = dict(check=first.name, value=shown, expected=first.expected)
    if where is not None:
        return message("No mistake Caption Lab knows matches: {check} is {value} (it must be {expected}); "
                       "the difference is largest at {axis} {where} (see the map "
                       "below).", axis=where[0], where=where[1], **values)
    return message("No mistake Caption Lab knows matches: {check} is {value} (it must be {expected}).", **values)


def verdict(name: str, checks: list[Check], **extra) -> Result:
    """Passed when every check passed, else wrong."""
    status = PASSED if checks and all(c.passed for c in checks) else WRONG
    return Result(name=name, status=status, checks=checks, **extra)
