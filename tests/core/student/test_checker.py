"""The whole check on the corpus: the right verdict for the right function, and why.

Each case is a real assignment folder (`tests/support/student_corpus.py`), checked by the
real checker process with its forked, confined children, as the app and the command line
do it.
"""
import socket
import threading

import pytest

from core.student import check, find_bundle
from core.student.report import STATUSES
from tests.support.student_corpus import (BUGS, CORRECT, HOSTILE, LAYERS, TEMPLATE, UNTOUCHED, Change,
                                          make_assignment, make_bug, make_hostile)
from tests.core.student.test_sandbox import needs_landlock

LAYER_FUNCTIONS = ("rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward",
                   "word_embedding_forward", "word_embedding_backward", "temporal_affine_forward",
                   "temporal_affine_backward", "temporal_softmax_loss", "lstm_step_forward",
                   "lstm_step_backward", "lstm_forward", "lstm_backward")
MODEL_FUNCTIONS = tuple(f"CaptioningRNN.{m}[{c}]" for c in ("rnn", "lstm") for m in ("__init__", "loss", "sample"))


def test_a_correct_implementation_passes_everything_with_the_notebooks_numbers():
    report = check(find_bundle(CORRECT))
    assert tuple(report.results) == LAYER_FUNCTIONS + MODEL_FUNCTIONS
    assert {n: r.status for n, r in report.results.items() if r.status != "passed"} == {}
    rows = {c.name: c for c in report.results["rnn_step_backward"].checks}
    assert {"dx error", "dprev_h error", "dWx error", "dWh error", "db error"} <= set(rows)
    assert all(rows[f"{g} error"].value < 1e-7 for g in ("dx", "dprev_h", "dWx", "dWh", "db"))
    loss = report.results["CaptioningRNN.loss[rnn]"].checks[0]
    assert loss.name == "loss difference from 9.83235591003" and loss.value < 1e-9
    assert report.sandbox.get("files", "").startswith(("Landlock", "Python"))


def test_the_unfinished_template_is_not_implemented_and_the_lstm_is_optional():
    report = check(find_bundle(TEMPLATE))
    status = {n: r.status for n, r in report.results.items()}
    for name in ("rnn_step_forward", "rnn_backward", "word_embedding_backward", "lstm_step_forward",
                 "CaptioningRNN.loss[rnn]", "CaptioningRNN.sample[lstm]"):
        assert status[name] == "not_implemented", name
    # the course hands these out written
    for name in ("temporal_affine_forward", "temporal_affine_backward", "temporal_softmax_loss",
                 "CaptioningRNN.__init__[rnn]"):
        assert status[name] == "passed", name
    assert report.results["lstm_forward"].optional and not report.results["rnn_forward"].optional


@pytest.mark.parametrize("name", BUGS)
def test_each_classic_bug_is_found_in_its_function_with_its_cause(tmp_path, name):
    bug = BUGS[name]
    report = check(find_bundle(make_bug(tmp_path, name)))
    result = report.results[bug.function]
    assert result.status == bug.status, (result.status, result.hint, [c for c in result.checks if not c.passed])
    assert bug.hint in (result.hint or ""), result.hint
    # a bug in one function leaves the functions that do not use it passing
    assert report.results["temporal_affine_forward"].status == "passed"


def test_a_wrong_array_shows_where_it_is_wrong(tmp_path):
    report = check(find_bundle(make_bug(tmp_path, "rnn_backward_no_carry")))
    result = report.results["rnn_backward"]
    assert result.heat is not None and result.heat.rows == "timestep t"
    errors = [max(row) for row in result.heat.values]            # one row per timestep
    assert errors[-1] < 1e-6 < min(errors[:-1]), errors          # only the last timestep is right
    # and the numbers a student prints, next to the thresholds
    dx = next(c for c in result.checks if c.name == "dx error")
    assert dx.value > dx.threshold == 1e-5 and not dx.passed
    assert "Right for a sequence of length 1" in " ".join(result.details) or result.hint


@pytest.mark.parametrize("folder", HOSTILE)
def test_hostile_code_is_reported_for_its_function_and_the_rest_is_still_checked(tmp_path, folder):
    needs_landlock()
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(20)
    connections = []
    threading.Thread(target=lambda: connections.append(_accept(server)), daemon=True).start()
    outside = tmp_path / "written-by-the-student.txt"
    report = check(find_bundle(make_hostile(tmp_path, folder, outside, server.getsockname()[1])), seconds=3)
    server.close()
    for function, (_, status, words) in HOSTILE[folder].items():
        result = report.results[function]
        assert result.status == status, (function, result.status, result.hint)
        assert words in f"{result.hint} {result.error}", (function, result.hint)
    for function in UNTOUCHED[folder]:
        assert report.results[function].status == "passed", (function, report.results[function].hint)
    assert not outside.exists()
    assert connections in ([], [None])
    if folder == "hostile_a":                                   # 3 MB printed at import: kept short
        output = report.results["rnn_step_forward"].output
        assert output.startswith("x" * 100) and "more bytes not shown" in output and len(output) < 10_000


def _accept(server):
    try:
        return server.accept()
    except OSError:
        return None


def test_an_import_that_fails_or_hangs_is_reported_for_every_function(tmp_path):
    missing = make_assignment(tmp_path, "needs_torch", [Change(LAYERS, "import numpy as np\n",
                                                               "import numpy as np\nimport torch_not_here\n")])
    report = check(find_bundle(missing))
    assert {r.status for r in report.results.values()} == {"crashed"}
    assert "rnn_layers.py could not be imported" in report.results["rnn_forward"].hint
    assert report.results["rnn_forward"].error["traceback"][-1]["line"] == 3
    hangs = make_assignment(tmp_path, "hangs", [Change(LAYERS, "import numpy as np\n",
                                                       "import numpy as np\nwhile True:\n    pass\n")])
    report = check(find_bundle(hangs), seconds=2)
    assert {r.status for r in report.results.values()} == {"timeout"}
    assert "importing" in report.results["lstm_forward"].hint


def test_a_fork_with_absolute_imports_and_no_layers_file_works(tmp_path):
    change = Change("cs231n/classifiers/rnn.py", "from ..rnn_layers import *\n",
                    "from daseCV.layers import *\nfrom daseCV.rnn_layers import *\n")
    folder = make_assignment(tmp_path, "dase", [change], package="daseCV")
    report = check(find_bundle(folder))
    assert report.package == "daseCV" and report.provided == ["layers.py"]
    assert {r.status for r in report.results.values()} == {"passed"}


def test_a_missing_function_or_class(tmp_path):
    no_sample = make_assignment(tmp_path, "no_sample", [Change("cs231n/classifiers/rnn.py",
                                                               "    def sample(self", "    def _sample(self")])
    report = check(find_bundle(no_sample), only=["CaptioningRNN.sample[rnn]", "rnn_forward"])
    assert report.results["CaptioningRNN.sample[rnn]"].status == "missing"
    assert report.results["rnn_forward"].status == "passed"
    assert set(report.results) == {"CaptioningRNN.sample[rnn]", "rnn_forward"}


def test_every_status_name_is_the_one_the_json_promises():
    assert STATUSES == ("passed", "wrong", "not_implemented", "missing", "crashed", "timeout", "memory")
