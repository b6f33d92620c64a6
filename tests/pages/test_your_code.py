"""The Your code page under AppTest: a folder is checked and every verdict shown, a buggy
function in full, training beside the reference, and the access setting."""
import json

import pytest

from explorer import state
from tests.support.student_corpus import CORRECT, make_bug

from .conftest import no_exception, rerun_until, table_of

PAGE = "your_code"


def check_folder(app, folder):
    at = app(PAGE)
    at.text_input(key="code.folder").input(str(folder)).run()
    at.button[0].click().run(timeout=120)
    assert no_exception(at)
    return at


def test_a_buggy_folder_shows_every_verdict_and_the_first_bug_in_full(app, tmp_path):
    at = check_folder(app, make_bug(tmp_path, "rnn_backward_no_carry"))
    table = table_of(at, 0)
    assert list(table["Function"])[:4] == ["rnn_step_forward", "rnn_step_backward", "rnn_forward", "rnn_backward"]
    status = dict(zip(table["Function"], table["Status"]))
    assert status["rnn_forward"] == "passed" and status["rnn_backward"] == "wrong"
    # the first function to look at opens in full: its cause, the notebook's numbers, the heat map
    assert at.selectbox(key="code.function").value == "rnn_backward"
    assert any("next step is not added" in e.value for e in at.error)
    checks = table_of(at, 1)
    dx = checks.set_index("Check").loc["dx error"]
    assert dx["Result"] == "FAILED" and dx["Must be"] == "< 1e-05" and dx["From"] == "the notebook"
    heat = next(json.loads(c.proto.spec) for c in at.get("vega_lite_chart") if "timestep t" in c.proto.spec)
    assert heat["title"]["subtitle"] == "`rnn_backward`"


def test_a_crash_shows_the_traceback_of_the_students_own_file(app, tmp_path):
    at = check_folder(app, make_bug(tmp_path, "loss_feeds_whole_caption"))
    at.selectbox(key="code.function").set_value("CaptioningRNN.loss[rnn]").run()
    assert no_exception(at)
    assert any("whole caption" in e.value for e in at.error)
    code = " ".join(c.value for c in at.code)
    assert "cs231n/rnn_layers.py" in code and "ValueError" in code and "site-packages" not in code


def test_a_correct_folder_trains_beside_the_reference_and_the_curves_agree(app):
    at = check_folder(app, CORRECT)
    assert set(table_of(at, 0)["Status"]) == {"passed"}
    train = next(b for b in at.button if "Train mine" in b.label)
    train.click().run()
    assert no_exception(at)
    at = rerun_until(at, lambda a: any("over all 100 iterations" in m.value for m in a.markdown), timeout=180,
                     what="the paired run to finish")
    runner = state.runner()
    run = runner.get(at.session_state["code.run"])
    assert run.code["package"] == "cs231n" and run.label.startswith("Your RNN")
    history = runner.history(run.run_id)
    assert len(history.reference) == len(history.losses) == run.total


def test_a_folder_that_is_not_an_assignment_says_so(app, tmp_path):
    at = check_folder(app, tmp_path)
    assert any("not an assignment folder" in e.value for e in at.error)


@pytest.mark.parametrize("setting, allowed", [("off", False), ("nonsense", False), ("on", True), ("local", True)])
def test_the_access_setting(app, monkeypatch, setting, allowed):
    monkeypatch.setenv("CAPTION_LAB_STUDENT_CODE", setting)
    at = app(PAGE)
    assert no_exception(at)
    assert bool(at.button) == allowed
    if not allowed:
        assert "CAPTION_LAB_STUDENT_CODE" in at.warning[0].value


@pytest.fixture(scope="module")
def trained_code_runs(tmp_path_factory):
    """Two finished runs of the RNN overfit preset on student code, trained once per module:
    (runs folder, {"correct": run id, "sample_feeds_start": run id})."""
    from core.data.demo import ensure_demo_dataset
    from core.student import find_bundle
    from explorer.runs.settings import PRESETS
    from explorer.runs.local import LocalRunner

    folder = tmp_path_factory.mktemp("code-runs")
    runner = LocalRunner(folder / "runs")
    dataset = {"base_dir": str(ensure_demo_dataset()), "pca_features": True, "is_demo": True}
    ids = {"correct": runner.start(PRESETS["Notebook RNN overfit"], dataset, "tester", code=find_bundle(CORRECT)),
           "sample_feeds_start": runner.start(PRESETS["Notebook RNN overfit"], dataset, "tester",
                                              code=find_bundle(make_bug(folder, "sample_feeds_start")))}
    try:
        for run_id in ids.values():
            info = runner.wait(run_id, timeout=300)
            assert info.status == "done", info.message
    finally:
        runner.shutdown()
    return folder / "runs", ids


@pytest.fixture
def code_runs(tmp_path, trained_code_runs):
    """The two runs, copied into this test's runs folder (the app's): {name: run id}."""
    import shutil
    runs, ids = trained_code_runs
    for run_id in ids.values():
        shutil.copytree(runs / run_id, tmp_path / "runs" / run_id, symlinks=True)
    return ids


@pytest.mark.parametrize("which, agrees", [("correct", True), ("sample_feeds_start", False)])
def test_compare_shows_the_students_sample_beside_the_reference_decoder(app, code_runs, which, agrees):
    at = app()
    at.session_state[state.MODEL_RUN] = code_runs[which]      # "Use your model in Inspect & Compare"
    at.session_state["compare.view"] = "Your sample"
    at.switch_page("../pages/compare.py").run(timeout=120)
    assert no_exception(at) and "Your sample" in [t.label for t in at.tabs]
    table = table_of(at, 0)
    assert len(table) == 16 and set(table["Split"]) == {"train", "val"}
    assert (set(table["Same"]) == {"yes"}) == agrees
    if agrees:
        assert "for all 16 images" in at.success[0].value
    else:
        assert "differs from greedy decoding" in at.error[0].value


@pytest.mark.parametrize("lang", ["en", "zh", "ko"])
def test_the_overview_shows_every_figure_whole_in_each_language(app, tmp_path, lang):
    import json
    import re

    from explorer.components.code_report import text_width
    at = app(PAGE, query={"lang": lang})
    at.text_input(key="code.folder").input(str(make_bug(tmp_path, "rnn_backward_no_carry"))).run()
    at.button[0].click().run(timeout=120)
    assert no_exception(at)
    table, proto = table_of(at, 0), at.dataframe[0].proto
    config = json.loads(proto.column_config) if hasattr(proto, "column_config") else json.loads(proto.columns)
    number, bound = table.columns[2], table.columns[3]
    figures = [str(v) for v in table[number] if str(v)]
    # the number column holds figures only (the check's name has a column of its own)
    assert figures and all(re.fullmatch(r"-|\d\.\d\de[+-]\d\d|\d+\.\d{4}|\d+", f) for f in figures), figures
    assert table.set_index(table.columns[0]).loc["rnn_backward", number] != "-"
    for column in (number, bound, table.columns[4]):          # the check's name may hold a figure too
        width = config[column]["width"]
        widest = max(text_width(str(v)) for v in list(table[column]) + [config[column].get("label") or column])
        assert width >= widest + 16, (lang, column, width, widest)


def test_a_remote_browser_on_a_class_server_may_only_upload(app, monkeypatch):
    from explorer import code_access
    monkeypatch.setenv("CAPTION_LAB_STUDENT_CODE", "on")
    monkeypatch.setattr(code_access, "is_local_browser", lambda ip, headers: False)   # as seen from 10.0.0.7
    at = app(PAGE)
    assert no_exception(at)
    control = at.get("button_group")[0]
    assert [o.content for o in control.proto.options] == ["Upload files"]
    assert not any(t.key == "code.folder" for t in at.text_input)
