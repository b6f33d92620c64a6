"""The Layer lab page through the real app: every layer's checks run and pass, the broken
backward pass makes them fail with big errors, user sizes are used or refused politely."""
import json

import pytest

from core.checks import LAYERS

from .conftest import no_exception, table_of


def results(at):
    """The results table: one row per check."""
    return table_of(at, 0)


def choose(at, key):
    at.pills(key="lab.layer").set_value(key).run()
    assert no_exception(at)


def test_layer_lab_opens_on_the_rnn_step_and_passes(app):
    at = app("layer_lab")
    assert no_exception(at) and not at.error
    assert at.title[0].value == "Layer lab"
    assert at.subheader[0].value == "RNN step"
    assert at.success[0].value == "All 6 checks passed."
    table = results(at)
    assert table["quantity"].tolist() == ["next_h", "dx", "dprev_h", "dWx", "dWh", "db"]
    assert (table["result"] == "passed").all()
    assert all(float(v) < 1e-7 for v in table["value"])
    assert len(at.latex) >= 2 and "tanh" in at.latex[0].value   # forward and backward equations
    chart = json.loads(at.get("vega_lite_chart")[0].proto.spec)   # its PNG names the layer
    assert (chart["title"]["text"], chart["title"]["subtitle"]) == ("Errors and their thresholds", "RNN step")


@pytest.mark.parametrize("key", LAYERS)
def test_every_layer_runs_its_checks_and_passes(app, key):
    at = app("layer_lab")
    choose(at, key)
    assert at.subheader[0].value == LAYERS[key].title
    assert not at.error and at.success[0].value.startswith("All ")
    table = results(at)
    assert (table["check"] == "gradient").sum() >= 1
    assert table["result"].str.startswith("passed").all()


def test_breaking_the_backward_pass_makes_the_errors_jump(app):
    at = app("layer_lab")
    before = results(at).set_index("quantity")["value"].astype(float)
    at.toggle(key="lab.broken").set_value(True).run()
    assert no_exception(at)
    assert at.error[0].value == "5 of 6 checks failed: dx, dprev_h, dWx, dWh, db."
    after = results(at).set_index("quantity")
    assert after.loc["next_h", "result"] == "passed"            # the forward pass is still right
    for name in ("dx", "dprev_h", "dWx", "dWh", "db"):
        assert after.loc[name, "result"] == "FAILED"
        assert float(after.loc[name, "value"]) > 1e6 * before[name]
    assert any("textcolor" in tex.value and "1 - h_t)" in tex.value for tex in at.latex)
    at.toggle(key="lab.broken").set_value(False).run()
    assert at.success and not at.error


def test_broken_model_check_points_at_the_image_projection(app):
    at = app("layer_lab")
    choose(at, "model_lstm")
    at.toggle(key="lab.broken").set_value(True).run()
    table = results(at).set_index("quantity")
    failed = sorted(table.index[table["result"] == "FAILED"])
    assert failed == ["W_proj", "b_proj"]


def test_own_sizes_and_seed_are_used(app):
    at = app("layer_lab")
    choose(at, "lstm")
    notebook = results(at)["value"].tolist()
    at.segmented_control(key="lab.setup").set_value("My own").run()
    assert results(at)["value"].tolist() == notebook               # the notebook's values to start
    at.number_input(key="lab.size.lstm.H").set_value(3).run()
    at.number_input(key="lab.seed").set_value(7).run()
    assert no_exception(at) and at.success
    assert results(at)["value"].tolist() != notebook


def test_sizes_too_big_get_a_message_not_a_traceback(app):
    at = app("layer_lab")
    choose(at, "lstm")
    at.segmented_control(key="lab.setup").set_value("My own").run()
    at.number_input(key="lab.size.lstm.H").set_value(60).run()
    at.number_input(key="lab.size.lstm.D").set_value(60).run()
    assert no_exception(at)
    assert "numbers to perturb" in at.warning[0].value and "smaller sizes" in at.warning[0].value
    assert not at.dataframe and not at.success
