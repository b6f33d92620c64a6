"""The checker's sentences reach the app translatable, although they cross a process as JSON."""
import json

import numpy as np

from core.student import check, find_bundle
from core.student.report import Check, Report, Result, packed, unpacked
from core.text import Message, message
from tests.support.student_corpus import make_bug


def test_a_message_survives_json_with_its_template_and_values():
    hint = message("It needs {name}, which is not implemented yet.", name="rnn_forward")
    note = message("{name} differs by {err:.1e}", name=message("dx error"), err=np.float64(3e-4))
    report = Report("cs231n", "here", {"rnn_backward": Result("rnn_backward", "wrong", [Check(note, 1.0, 1e-5, False)],
                                                              hint=hint, details=[hint])},
                    notes=[message("No rnn.py was uploaded, so CaptioningRNN is missing.")])
    back = Report.from_dict(unpacked(json.loads(json.dumps(packed(report.to_dict())))))
    r = back.results["rnn_backward"]
    assert isinstance(r.hint, Message) and r.hint == hint and r.hint.template == hint.template
    assert r.hint.values == {"name": "rnn_forward"} and r.details == [hint]
    name = r.checks[0].name
    assert name == "dx error differs by 3.0e-04" and name.values["name"].template == "dx error"
    assert back.notes[0].template == "No rnn.py was uploaded, so CaptioningRNN is missing."


def test_plain_data_is_left_as_it_was():
    data = {"a": [1, "two", {"b": None}], "c": 3.5}
    assert unpacked(json.loads(json.dumps(packed(data)))) == data
    # an object that only looks like a message, or one whose values do not fit, stays text
    assert unpacked({"__message__": "{x:.1f}", "values": {"x": "not a number"}, "text": "x"}) == "x"


def test_the_real_checkers_hint_arrives_as_a_message(tmp_path):
    report = check(find_bundle(make_bug(tmp_path, "rnn_backward_no_carry")), only=["rnn_backward"])
    hint = report.results["rnn_backward"].hint
    assert isinstance(hint, Message) and "next step" in hint
    assert hint.template == hint            # a sentence without placeholders


def test_the_command_lines_json_stays_plain_text(tmp_path):
    report = check(find_bundle(make_bug(tmp_path, "rnn_backward_no_carry")), only=["rnn_backward"])
    printed = json.loads(json.dumps(report.to_dict()))
    assert isinstance(printed["functions"]["rnn_backward"]["hint"], str)
    assert "__message__" not in json.dumps(printed)


def test_a_timeout_names_its_stage_and_how_it_ended_translatably():
    from core.student.checks import failed
    from core.student.sandbox import Outcome

    outcome = Outcome("rnn_forward", "timeout", stage="a sequence of length 2",
                      exit=message("stopped after {seconds:g} s", seconds=5.0))
    hint = failed("rnn_forward", outcome).hint
    assert hint == "It was still running, in a sequence of length 2, when its time was up (stopped after 5 s): " \
                   "an endless loop?"
    assert hint.values["stage"].template == "a sequence of length {T}" and hint.values["stage"].values == {"T": "2"}
    assert hint.values["exit"].template == "stopped after {seconds:g} s"
    # a stage text the checker does not know stays as it is, braces and all
    odd = failed("rnn_forward", Outcome("rnn_forward", "timeout", stage="{0.__class__}", exit="x")).hint
    assert odd.values["stage"] == "{0.__class__}" and not isinstance(odd.values["stage"], Message)
