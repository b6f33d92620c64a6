"""`python -m core.student check PATH [--json]` as a student or a grader runs it."""
import json
import subprocess
import sys
from pathlib import Path

from tests.support.student_corpus import CORRECT, make_bug

ROOT = Path(__file__).resolve().parents[3]


def cli(*args):
    return subprocess.run([sys.executable, "-m", "core.student", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=180)


def test_json_has_the_promised_shape_and_spelling(tmp_path):
    done = cli("check", make_bug(tmp_path, "rnn_backward_no_carry"), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["package"] == "cs231n"
    rnn_backward = report["functions"]["rnn_backward"]
    assert rnn_backward["status"] == "wrong" and "next step" in rnn_backward["hint"]
    assert {"name", "value", "threshold", "passed"} <= set(rnn_backward["checks"][0])
    assert report["functions"]["rnn_forward"]["status"] == "passed"
    assert {f["status"] for f in report["functions"].values()} <= {
        "passed", "wrong", "not_implemented", "missing", "crashed", "timeout", "memory"}


def test_the_plain_table_reads_like_the_notebook():
    done = cli("check", CORRECT)
    assert done.returncode == 0, done.stderr
    assert "rnn_step_backward" in done.stdout and "passed" in done.stdout
    assert "19 passed" in done.stdout


def test_a_folder_that_is_not_an_assignment_exits_2_with_a_message(tmp_path):
    done = cli("check", tmp_path)
    assert done.returncode == 2
    assert "not an assignment folder" in done.stderr and done.stdout == ""
