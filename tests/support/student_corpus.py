"""The checker's corpus: assignment folders made from `tests/student_code/correct` by one change each.

    folder = make_assignment(tmp_path, "rnn_backward_no_carry")   # <tmp>/<name>/cs231n/...

Every change is (file, old text, new text); `make_assignment` fails when the old text is
not in the file, so a variant can never silently be the correct code. `BUGS` are the
exercise's classic mistakes, each with the function that must be found wrong and words
its hint must contain; `HOSTILE` puts a hostile act into each of several functions of one
folder. `template_files()` is the course's unfinished template: every region a student
writes, emptied to `pass`.
"""
from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

CORRECT = Path(__file__).resolve().parents[1] / "student_code" / "correct"
TEMPLATE = CORRECT.parent / "template"
LAYERS, MODEL = "cs231n/rnn_layers.py", "cs231n/classifiers/rnn.py"


@dataclass(frozen=True)
class Change:
    file: str
    old: str
    new: str
    occurrence: int = 1                 # which occurrence of `old` (1: the first)


@dataclass(frozen=True)
class Bug:
    changes: tuple[Change, ...]
    function: str                       # the function that must be found wrong (or crashed)
    hint: str                           # words its hint must contain
    status: str = "wrong"


BUGS: dict[str, Bug] = {
    "embedding_buffered_add": Bug((Change(LAYERS, "    np.add.at(dW, x, dout)", "    dW[x] += dout"),),
                                  "word_embedding_backward", "np.add.at"),
    "softmax_mask_ignored": Bug((
        Change(LAYERS, "loss = -np.sum(mask_flat * np.log(", "loss = -np.sum(np.log("),
        Change(LAYERS, "    dx_flat *= mask_flat[:, None]\n", "")), "temporal_softmax_loss", "mask is not applied"),
    "softmax_mean_over_NT": Bug((
        Change(LAYERS, "np.log(probs[np.arange(N * T), y_flat])) / N", "np.log(probs[np.arange(N * T), y_flat])) / (N * T)"),
        Change(LAYERS, "    dx_flat /= N\n", "    dx_flat /= N * T\n")), "temporal_softmax_loss", "N·T"),
    "rnn_backward_no_carry": Bug((Change(LAYERS, "rnn_step_backward(dh[:, t, :] + dprev_h, cache[t])",
                                         "rnn_step_backward(dh[:, t, :], cache[t])"),),
                                 "rnn_backward", "next step is not added"),
    "rnn_backward_overwrites_weights": Bug((
        Change(LAYERS, "        dWx += dWx_t\n        dWh += dWh_t\n        db += db_t\n",
               "        dWx = dWx_t\n        dWh = dWh_t\n        db = db_t\n"),), "rnn_backward", "overwritten"),
    "tanh_derivative_from_input": Bug((
        Change(LAYERS, "    cache = (x, prev_h, Wx, Wh, next_h)", "    cache = (x, prev_h, Wx, Wh, a)"),
        Change(LAYERS, "    x, prev_h, Wx, Wh, next_h = cache\n    da = dnext_h * (1 - next_h ** 2)",
               "    x, prev_h, Wx, Wh, a = cache\n    da = dnext_h * (1 - a ** 2)")),
        "rnn_step_backward", "tanh's input"),
    "tanh_derivative_one_minus_h": Bug((Change(LAYERS, "    da = dnext_h * (1 - next_h ** 2)",
                                               "    da = dnext_h * (1 - next_h)"),),
                                       "rnn_step_backward", "1 - next_h;"),
    "lstm_gates_ifgo": Bug((
        Change(LAYERS, "    o = sigmoid(a[:, 2 * H:3 * H])\n    g = np.tanh(a[:, 3 * H:4 * H])",
               "    g = np.tanh(a[:, 2 * H:3 * H])\n    o = sigmoid(a[:, 3 * H:4 * H])"),
        Change(LAYERS, "do * o * (1 - o), dg * (1 - g ** 2)]", "dg * (1 - g ** 2), do * o * (1 - o)]")),
        "lstm_step_forward", "i, f, g, o"),
    "lstm_cell_gradient_forgotten": Bug((
        Change(LAYERS, "lstm_step_backward(dh[:, t, :] + dprev_h, dprev_c, cache[t])",
               "lstm_step_backward(dh[:, t, :] + dprev_h, np.zeros((N, H)), cache[t])"),),
        "lstm_backward", "cell state's gradient"),
    "loss_feeds_whole_caption": Bug((Change(MODEL, "word_embedding_forward(captions_in, W_embed)",
                                            "word_embedding_forward(captions, W_embed)"),),
                                    "CaptioningRNN.loss[rnn]", "whole caption", status="crashed"),
    "loss_h0_not_from_features": Bug((Change(MODEL, "        h0, cache_proj = affine_forward(features, W_proj, b_proj)\n",
                                             "        h0, cache_proj = affine_forward(features, W_proj, b_proj)\n"
                                             "        h0 = np.zeros_like(h0)\n"),),
                                     "CaptioningRNN.loss[rnn]", "h0 is all zeros"),
    "loss_mask_unused": Bug((Change(MODEL, "temporal_softmax_loss(scores, captions_out, mask)",
                                    "temporal_softmax_loss(scores, captions_out, np.ones_like(mask))"),),
                            "CaptioningRNN.loss[rnn]", "mask is not used"),
    "loss_dh0_not_passed_back": Bug((Change(MODEL, "affine_backward(dh0, cache_proj)",
                                            "affine_backward(np.zeros_like(dh0), cache_proj)"),),
                                    "CaptioningRNN.loss[rnn]", "W_proj and b_proj"),
    "sample_writes_start": Bug((Change(MODEL, "        for t in range(max_length):\n            x = W_embed[word]",
                                       "        captions[:, 0] = self._start\n"
                                       "        for t in range(1, max_length):\n            x = W_embed[word]"),),
                               "CaptioningRNN.sample[rnn]", "<START> is written"),
    "sample_feeds_start": Bug((Change(MODEL, "            word = np.argmax(scores, axis=1)\n            captions[:, t] = word",
                                      "            captions[:, t] = np.argmax(scores, axis=1)"),),
                              "CaptioningRNN.sample[rnn]", "<START> is fed at every step"),
}

# real students' code the notebook judges otherwise than a first checker did (issue 21)
START = "    # *****START OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****\n"
END = "    # *****END OF YOUR CODE (DO NOT DELETE/MODIFY THIS LINE)*****\n"
STEP_FORWARD_CODE = ("    a = x.dot(Wx) + prev_h.dot(Wh) + b\n    next_h = np.tanh(a)\n"
                     "    cache = (x, prev_h, Wx, Wh, next_h)\n")
NOTEBOOK_VERDICTS: dict[str, tuple[Change, ...]] = {
    # one syntax error in one function: the notebook's import fails, so nothing of the file runs
    "syntax_error_in_rnn_backward": (Change(LAYERS, "    dh0 = dprev_h\n", "    dh0 = (dprev_h\n"),),
    # the template's region left as `pass` beside a commented attempt, a bare string, then working code
    "code_after_a_string": (Change(LAYERS, START + "\n" + STEP_FORWARD_CODE + "\n" + END,
                                   START + "    # next_h = np.tanh(x @ Wx)   (my first try)\n    pass\n" + END
                                   + "    '''\n    The version that works:\n    '''\n" + STEP_FORWARD_CODE),),
    # a stub that says so by raising
    "raises_not_implemented": (Change(LAYERS, "    a = x.dot(Wx) + prev_h.dot(Wh) + b\n",
                                      "    raise NotImplementedError('rnn_step_forward')\n"),),
    # the upstream gradient changed in place on the first line: right for the inputs it got
    "changes_dnext_c": (Change(LAYERS, "    dc = dnext_c + dnext_h * o * (1 - tanh_c ** 2)\n",
                               "    dnext_c += dnext_h * o * (1 - tanh_c ** 2)\n    dc = dnext_c\n"),),
    # mutants no bug of the catalogue matches: a wrong verdict still says what differs and where
    "affine_bias_doubled": (Change(LAYERS, "    out = x.reshape(N * T, D).dot(w).reshape(N, T, M) + b\n",
                                   "    out = x.reshape(N * T, D).dot(w).reshape(N, T, M) + 2 * b\n"),),
    "rnn_forward_last_step_halved": (Change(LAYERS, "        h[:, t, :] = prev_h\n",
                                            "        h[:, t, :] = prev_h if t < T - 1 else 0.5 * prev_h\n"),),
}

# hostile acts, each in a function no other function of the folder calls, so each must be
# reported for its own function: folder name -> {function: (change, status, words its report holds)}
OUTSIDE_PLACEHOLDER = "OUTSIDE_FILE"
PORT_PLACEHOLDER = "99999"
HOSTILE: dict[str, dict[str, tuple[Change, str, str]]] = {
    "hostile_a": {
        "rnn_backward": (Change(LAYERS, "    for t in reversed(range(T)):\n        dx_t, dprev_h, dWx_t",
                                "    while True:\n        pass\n    for t in reversed(range(T)):\n        dx_t, dprev_h, dWx_t"),
                         "timeout", "still running"),
        "word_embedding_backward": (Change(LAYERS, "    x, shape = cache\n",
                                           "    open('OUTSIDE_FILE', 'w').write('written by a student')\n"
                                           "    x, shape = cache\n"), "crashed", "PermissionError"),
        "temporal_affine_backward": (Change(LAYERS, "    x, w, b, out = cache\n",
                                            "    import os\n    os._exit(3)\n    x, w, b, out = cache\n"),
                                     "crashed", "exit code 3"),
        "lstm_backward": (Change(LAYERS, "    D = cache[0][0].shape[1]\n    dx = np.zeros((N, T, D))\n    dWx = np.zeros((D, 4 * H))",
                                 "    import ctypes\n    ctypes.string_at(0)\n"
                                 "    D = cache[0][0].shape[1]\n    dx = np.zeros((N, T, D))\n    dWx = np.zeros((D, 4 * H))"),
                          "crashed", "SIGSEGV"),
        "CaptioningRNN.sample[rnn]": (Change(MODEL, "        h, _ = affine_forward(features, W_proj, b_proj)\n        c = ",
                                             "        import os, signal\n        os.kill(os.getppid(), signal.SIGKILL)\n"
                                             "        h, _ = affine_forward(features, W_proj, b_proj)\n        c = "),
                                      "passed", ""),      # first of its own pid namespace: no parent to kill
    },
    "hostile_b": {
        "temporal_softmax_loss": (Change(LAYERS, "    N, T, V = x.shape\n",
                                         "    import socket\n    socket.create_connection(('127.0.0.1', 99999), timeout=2)\n"
                                         "    N, T, V = x.shape\n"), "crashed", "PermissionError"),
        "lstm_backward": (Change(LAYERS, "    dprev_c = np.zeros((N, H))\n    for t in reversed(range(T)):",
                                 "    huge = np.ones(40_000_000_000 // 8)\n    dprev_c = np.zeros((N, H))\n"
                                 "    for t in reversed(range(T)):"), "memory", "memory"),
        "word_embedding_backward": (Change(LAYERS, "    x, shape = cache\n",
                                           "    import torch_is_not_installed_here\n    x, shape = cache\n"),
                                    "crashed", "ModuleNotFoundError"),
    },
}
# the functions none of a hostile folder's acts reach: they must still pass
UNTOUCHED = {"hostile_a": ("rnn_step_forward", "rnn_step_backward", "rnn_forward", "word_embedding_forward",
                           "temporal_affine_forward", "temporal_softmax_loss", "lstm_step_forward",
                           "lstm_step_backward", "lstm_forward", "CaptioningRNN.__init__[rnn]"),
             "hostile_b": ("rnn_step_forward", "rnn_step_backward", "rnn_forward", "word_embedding_forward",
                           "temporal_affine_forward", "temporal_affine_backward", "lstm_step_forward",
                           "lstm_step_backward", "lstm_forward", "CaptioningRNN.__init__[lstm]",
                           "CaptioningRNN.sample[rnn]", "CaptioningRNN.sample[lstm]")}
PRINTS_AT_IMPORT = Change(LAYERS, "import numpy as np\n", "import numpy as np\n\nprint('x' * 3_000_000)\n")


def _apply(folder: Path, changes) -> None:
    for change in changes:
        path = folder / change.file
        text = path.read_text()
        at = -1
        for _ in range(change.occurrence):
            at = text.find(change.old, at + 1)
            assert at >= 0, f"{change.file} has no {change.old!r} (occurrence {change.occurrence})"
        path.write_text(text[:at] + change.new + text[at + len(change.old):])


def make_assignment(root: Path, name: str, changes=(), package: str = "cs231n") -> Path:
    """An assignment folder `root/name` holding the correct code with `changes` applied
    (and the package renamed to `package`); returns the folder."""
    folder = Path(root) / name
    shutil.copytree(CORRECT, folder, ignore=shutil.ignore_patterns("__pycache__"))
    _apply(folder, changes)
    if package != "cs231n":
        (folder / "cs231n").rename(folder / package)
    return folder


def make_bug(root: Path, name: str) -> Path:
    return make_assignment(root, name, BUGS[name].changes)


def make_hostile(root: Path, name: str, outside: Path, port: int) -> Path:
    """Hostile folder `name` of HOSTILE (hostile_a also prints 3 MB when imported)."""
    changes = [c for c, _, _ in HOSTILE[name].values()]
    if name == "hostile_a":
        changes.insert(0, PRINTS_AT_IMPORT)
    folder = make_assignment(root, name, changes)
    for file in (LAYERS, MODEL):
        path = folder / file
        path.write_text(path.read_text().replace(OUTSIDE_PLACEHOLDER, str(outside))
                        .replace(PORT_PLACEHOLDER, str(port)))
    return folder


_REGION = re.compile(r"(# \*{5}START OF YOUR CODE \(DO NOT DELETE/MODIFY THIS LINE\)\*{5}\n)(.*?)"
                     r"(\s*# \*{5}END OF YOUR CODE)", re.S)


def template_files() -> dict[str, str]:
    """The course's unfinished template: every student region of `correct` emptied to `pass`."""
    files = {}
    for path in sorted(CORRECT.rglob("*.py")):
        text = path.read_text()
        indent = lambda m: re.match(r"\s*", m.group(3).lstrip("\n")).group(0)   # noqa: E731
        text = _REGION.sub(lambda m: f"{m.group(1)}\n{indent(m)}pass\n\n{m.group(3).lstrip(chr(10))}", text)
        files[path.relative_to(CORRECT).as_posix()] = text
    return files
