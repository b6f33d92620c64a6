"""The notebook's verdict on real students' code (issue 21), each case a class of defect.

Every case is an assignment folder made from the correct one by one change
(`NOTEBOOK_VERDICTS` in tests/support/student_corpus.py), checked by the real checker.
"""
import numpy as np
import pytest

from core.student import check, find_bundle
from core.student.report import CRASHED, NOT_IMPLEMENTED, PASSED, WRONG
from tests.support.student_corpus import BUGS, CORRECT, NOTEBOOK_VERDICTS, make_assignment, make_bug
from tests.core.student.test_checker import LAYER_FUNCTIONS, MODEL_FUNCTIONS


def _check(tmp_path, name, **options):
    return check(find_bundle(make_assignment(tmp_path, name, NOTEBOOK_VERDICTS[name])), **options)


def test_a_file_that_does_not_import_crashes_every_function_with_its_syntax_error(tmp_path):
    report = _check(tmp_path, "syntax_error_in_rnn_backward")
    # the model imports rnn_layers, so it does not import either: nothing of either file runs
    assert {n: r.status for n, r in report.results.items()} == {n: CRASHED for n in LAYER_FUNCTIONS + MODEL_FUNCTIONS}
    line = next(i for i, text in enumerate((tmp_path / "syntax_error_in_rnn_backward" / "cs231n" / "rnn_layers.py")
                                           .read_text().splitlines(), 1) if text == "    dh0 = (dprev_h")
    for name, r in report.results.items():
        assert f"line {line}" in str(r.hint) and "rnn_layers.py" in str(r.hint), (name, r.hint)
        assert r.error["type"] == "SyntaxError" and r.error["traceback"][0]["line"] == line
        assert r.checks == []                               # no number beside a crash
    # the salvage, as a note of its own: the other functions once the error is fixed
    assert report.results["rnn_backward"].details == []
    assert "passed" in str(report.results["rnn_forward"].details)
    assert "passed" in str(report.results["CaptioningRNN.__init__[rnn]"].details)
    assert "rnn_backward" in str(report.results["CaptioningRNN.loss[rnn]"].details)


def test_a_stub_is_judged_by_what_it_does_not_by_how_it_looks(tmp_path):
    report = _check(tmp_path, "code_after_a_string", only=["rnn_step_forward", "rnn_forward"])
    assert report.results["rnn_step_forward"].status == PASSED, report.results["rnn_step_forward"].hint
    assert report.results["rnn_forward"].status == PASSED
    report = _check(tmp_path, "raises_not_implemented", only=["rnn_step_forward", "rnn_forward", "rnn_step_backward"])
    assert report.results["rnn_step_forward"].status == NOT_IMPLEMENTED
    # what needs a stub is not implemented either, and says which
    assert report.results["rnn_forward"].status == NOT_IMPLEMENTED
    assert "rnn_step_forward" in str(report.results["rnn_forward"].hint)


def test_a_function_that_changes_its_inputs_gets_the_notebooks_verdict_and_a_warning(tmp_path):
    report = _check(tmp_path, "changes_dnext_c", only=["lstm_step_forward", "lstm_step_backward", "lstm_forward",
                                                       "lstm_backward"])
    result = report.results["lstm_step_backward"]
    assert result.status == PASSED, (result.hint, [c for c in result.checks if not c.passed])
    assert any("lstm_step_backward changes dnext_c in place" in str(w) for w in result.warnings), result.warnings
    assert report.results["lstm_backward"].status == PASSED
    clean = check(find_bundle(CORRECT), only=["lstm_step_backward"])
    assert clean.results["lstm_step_backward"].warnings == []


@pytest.mark.parametrize("name", ["affine_bias_doubled", "rnn_forward_last_step_halved"])
def test_a_wrong_verdict_no_bug_explains_says_what_differs_and_where(tmp_path, name):
    report = _check(tmp_path, name)
    wrong = {n: r for n, r in report.results.items() if r.status == WRONG}
    assert wrong, {n: r.status for n, r in report.results.items()}
    for n, r in wrong.items():
        assert r.hint and str(r.hint).strip(), n
    hint = str(report.results["rnn_forward" if name.startswith("rnn") else "temporal_affine_forward"].hint)
    assert "No mistake Caption Lab knows matches" in hint and "must be" in hint
    if name == "rnn_forward_last_step_halved":                # only the last timestep differs
        assert "timestep t 3 " in hint, hint


def test_every_wrong_verdict_of_the_catalogue_has_a_sentence(tmp_path):
    for name in ("rnn_backward_no_carry", "loss_mask_unused", "sample_feeds_start"):
        report = check(find_bundle(make_bug(tmp_path / name, name)))
        for n, r in report.results.items():
            assert r.status != WRONG or (r.hint and str(r.hint).strip()), (name, n)


def test_the_number_beside_a_verdict_is_the_number_it_used():
    report = check(find_bundle(CORRECT))
    for name, r in report.results.items():
        for c in r.checks:
            if c.value is None:
                continue
            used = (c.low < c.value < c.threshold) if c.low is not None else c.value < c.threshold
            assert c.passed == used, (name, c.name, c.value, c.threshold, c.passed)
    # where only near-zero entries are noisy, the element-wise maximum is a note
    noisy = [c for r in report.results.values() for c in r.checks if c.measure == "error over the whole array"]
    assert noisy                   # the LSTM model's Wx: 1.02e-03 element-wise, right over the array
    for c in noisy:
        assert "element-wise maximum" in str(c.note) and c.passed


def test_all_passed_verdicts_are_untouched_by_the_copies():
    report = check(find_bundle(CORRECT))
    assert {r.status for r in report.results.values()} == {PASSED}
    assert all(r.warnings == [] for r in report.results.values())
    assert np.isfinite(report.seconds)
