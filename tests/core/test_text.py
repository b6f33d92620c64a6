"""core.text: a sentence that keeps its template, and the one codec that carries it as JSON."""
import json
import math

import numpy as np
import pytest

from core.student.report import packed, unpacked
from core.text import Message, decode_message, encode_message, message, plain_template


def round_trip(text):
    return decode_message(json.loads(json.dumps(encode_message(text))))


def test_a_message_is_its_english_and_keeps_template_and_values():
    m = message("{n:,} of {total} ({share:.0%})", n=1234, total=2000, share=0.617)
    assert m == "1,234 of 2000 (62%)" and isinstance(m, str)
    assert m.template == "{n:,} of {total} ({share:.0%})" and m.values == {"n": 1234, "total": 2000, "share": 0.617}


def test_the_codec_round_trips_nested_messages_and_numpy_numbers():
    m = message("{name} differs by {err:.1e} at step {t}", name=message("dx error"), err=np.float32(3e-4),
                t=np.int64(2))
    back = round_trip(m)
    assert isinstance(back, Message) and back == m and back.template == m.template
    assert back.values["name"].template == "dx error" and type(back.values["t"]) is int


@pytest.mark.parametrize("value", [math.nan, math.inf, True, None, [1, 2], {"a": 1}, object()])
def test_values_json_cannot_carry_as_numbers_or_strings_give_none(value):
    assert encode_message(message("{x}", x=value)) is None
    assert packed(message("{x}", x=value)) == str(message("{x}", x=value))     # English only, across the pipe


def test_a_plain_str_is_not_encoded():
    assert encode_message("just English") is None


@pytest.mark.parametrize("encoded", [
    {"template": "{x.__class__}", "values": {"x": 1}},        # attribute lookup
    {"template": "{x[0]}", "values": {"x": "ab"}},            # index lookup
    {"template": "{x:>99999}", "values": {"x": 1}},           # a huge width
    {"template": "{x:.1f}", "values": {"x": "not a number"}},  # does not format
    {"values": {}}, "not a dict", None])
def test_decoding_refuses_what_is_not_a_plain_message(encoded):
    assert decode_message(encoded) is None


def test_the_checkers_wire_and_the_status_file_share_the_codec():
    m = message("Stopped at iteration {i:,} of {n:,}.", i=1200, n=5000)
    wire = packed({"hint": m, "rows": [m, 3]})
    assert wire["hint"]["__message__"] == encode_message(m)["template"]
    assert wire["hint"]["values"] == encode_message(m)["values"]
    back = unpacked(json.loads(json.dumps(wire)))
    assert back["hint"].template == m.template and back["rows"][0] == m and back["rows"][1] == 3
    assert plain_template(m.template) and not plain_template("{0.__init__}")
