"""The Train page through the real router: a preset run from Start to the runs list, the
form's messages beside bad fields, the chart, and a run watched by a second session.

The runner is the real one (worker processes) on a temporary runs folder; the page is
polled by rerunning it, as the browser's fragment timer would. Deadlines are generous
and nothing asserts speed.
"""
import json
import re

from core.data.demo import ensure_demo_dataset
from explorer import state
from explorer.components.evolution import SAMPLE_ROW
from explorer.runs.settings import RunConfig

from .conftest import no_exception, rerun_until, table_of


def runs_table(at):
    return table_of(at, -1)


def chart_spec(at) -> dict:
    charts = at.get("vega_lite_chart")
    assert charts, "no loss chart on the page"
    return json.loads(charts[0].proto.spec)


def column_with(at, label):
    """The innermost column that holds the number input called `label`: the field's own."""
    return min((c for c in at.columns if any(n.label == label for n in c.number_input)),
               key=lambda c: len(c.number_input))


def test_a_preset_run_trains_to_completion_and_is_listed_as_done(app):
    at = app(page="train")
    assert any("No runs yet" in i.value for i in at.info)
    assert at.radio(key=state.TRAIN_PRESET).value == "Notebook RNN overfit"
    at.button[0].click().run()                      # Start
    assert no_exception(at)
    run_id = at.session_state[state.TRAIN_RUN]

    rerun_until(at, lambda at: at.dataframe and runs_table(at)["Status"].tolist() == ["done"],
                what="the run to be listed as done")
    row = runs_table(at).iloc[0]
    assert row["Id"] == run_id and row["By"] == "you" and row["Iterations"] == "100 / 100"
    assert row["Run"].startswith("RNN H=512 lr 5e-3 · ") and row["Final loss"] < 0.5
    assert row["Training time"].endswith("s")
    assert not at.error

    # the followed run: done, its loss curve and its captions
    assert any(":green-badge[" in m.value and "done" in m.value for m in at.markdown)
    assert any("Iteration 100 / 100" in p.text for p in at.get("progress"))
    spec = chart_spec(at)
    assert [layer["encoding"]["y"]["field"] for layer in spec["layer"]] == ["loss", "smoothed"]
    assert spec["layer"][0]["encoding"]["y"]["scale"]["type"] == "log"
    assert spec["title"]["text"] == "Training loss" and spec["title"]["subtitle"].startswith("RNN H=512 lr 5e-3")
    samples = [m.value for m in at.markdown if SAMPLE_ROW in m.value]     # one element: four rows
    assert len(samples) == 1 and samples[0].count(SAMPLE_ROW) == 4 and samples[0].count("words right") == 4
    assert samples[0].count('<img src="data:image/') == 4                   # each with its picture inline
    assert "longest common subsequence" in at.select_slider[0].proto.help       # how words right are counted
    assert at.select_slider[0].value == 100        # scrub back through the snapshots
    at.select_slider[0].set_value(0).run()
    assert no_exception(at)

    # reload its checkpoint for Inspect and Compare
    next(b for b in at.button if b.label == "Use in Inspect & Compare").click().run()
    assert at.session_state[state.MODEL_RUN] == run_id
    assert any("Inspect and Compare use this model" in m.value for m in at.markdown)


def test_the_chart_controls_change_smoothing_and_scale(app):
    at = app(page="train")
    at.button[0].click().run()
    rerun_until(at, lambda at: at.dataframe and runs_table(at)["Status"].tolist() == ["done"])
    at.toggle(key=state.TRAIN_LOG_Y).set_value(False).run()
    at.slider(key=state.TRAIN_SMOOTHING).set_value(0.0).run()
    assert no_exception(at)
    spec = chart_spec(at)
    assert len(spec["layer"]) == 1 and spec["layer"][0]["encoding"]["y"]["scale"] == {"zero": False}


def test_bad_custom_values_get_a_message_beside_their_field_and_start_is_disabled(app):
    at = app(page="train")
    at.radio(key=state.TRAIN_PRESET).set_value("Custom").run()
    assert no_exception(at)
    fields = {n.label: n for n in at.number_input}
    assert fields["Hidden size H"].value == 512 and fields["Learning rate"].value == 5e-3
    fields["Batch size"].set_value(60)
    fields["Learning rate"].set_value(0.0)
    fields["Hidden size H"].set_value(100_000)
    at.run()
    assert no_exception(at)
    assert not at.error                              # messages, not error boxes, and no traceback
    beside = {label: [c.value for c in column_with(at, label).caption]
              for label in ("Batch size", "Learning rate", "Hidden size H", "Epochs")}
    assert "more than the 50 training captions" in beside["Batch size"][0]
    assert "positive number" in beside["Learning rate"][0]
    assert "At most 2,048" in beside["Hidden size H"][0]
    assert beside["Epochs"] == []
    assert next(b for b in at.button if b.label == "Start").disabled

    fields = {n.label: n for n in at.number_input}
    fields["Batch size"].set_value(25)
    fields["Learning rate"].set_value(1e-2)
    fields["Hidden size H"].set_value(64)
    at.run()
    assert not any(":red[" in c.value for c in at.caption)
    assert not next(b for b in at.button if b.label == "Start").disabled
    assert any("100 iterations" in c.value for c in at.caption)


def test_another_session_sees_a_run_read_only_and_its_owner_can_stop_it(app, monkeypatch):
    monkeypatch.setenv("CAPTION_LAB_ADMIN_TOKEN", "secret")    # no browser is the admin without the token
    owner = app(page="train")
    owner.radio(key=state.TRAIN_PRESET).set_value("Custom").run()
    {n.label: n for n in owner.number_input}["Epochs"].set_value(10_000).run()   # 20,000 iterations
    next(b for b in owner.button if b.label == "Start").click().run()
    run_id = owner.session_state[state.TRAIN_RUN]

    other = app(page="train")                     # a second browser: its own owner id
    assert other.session_state[state.OWNER] != owner.session_state[state.OWNER]
    rerun_until(other, lambda at: at.session_state[state.TRAIN_RUN] == run_id and at.get("progress")
                and "Iteration" in at.get("progress")[0].text, what="the run to train")
    stop = next(b for b in other.button if b.label == "Stop")
    assert stop.disabled
    assert "other (" in runs_table(other).iloc[0]["By"]

    stop = next(b for b in owner.run().button if b.label == "Stop")
    assert not stop.disabled
    stop.click().run()
    rerun_until(owner, lambda at: runs_table(at)["Status"].tolist() == ["stopped"],
                what="the run to stop")
    assert any("what it learned so far is saved" in i.value for i in owner.info)


def test_one_person_cannot_fill_the_queue(app):
    at = app(page="train")
    runner = state.runner()
    runner.max_per_owner = 1
    runner.start(RunConfig(hidden_dim=32, wordvec_dim=16, num_epochs=10_000),
                 {"base_dir": ensure_demo_dataset(), "pca_features": True, "is_demo": True},
                 owner=at.session_state[state.OWNER])
    at.run()
    next(b for b in at.button if b.label == "Start").click().run()
    assert no_exception(at)
    assert any("limit is 1 per person" in w.value for w in at.warning)
    runner.shutdown()


def test_a_double_click_on_start_starts_one_run_but_new_settings_start_another(app):
    at = app(page="train")
    for _ in range(2):                               # two clicks moments apart: two script runs
        next(b for b in at.button if b.label == "Start").click().run()
        assert no_exception(at)
    assert len(runs_table(at)) == 1
    at.radio(key=state.TRAIN_PRESET).set_value("Notebook LSTM overfit").run()
    next(b for b in at.button if b.label == "Start").click().run()
    assert no_exception(at)
    assert len(runs_table(at)) == 2 and at.session_state[state.TRAIN_RUN] == runs_table(at).iloc[0]["Id"]
    assert runs_table(at).iloc[0]["Run"].startswith("LSTM")


def test_a_link_never_carries_its_owner_so_who_opens_it_cannot_stop_the_run(app, monkeypatch):
    monkeypatch.setenv("CAPTION_LAB_ADMIN_TOKEN", "secret")    # no browser is the admin without the token
    first = app(page="train")
    me = first.session_state[state.OWNER]
    assert re.fullmatch(state.OWNER_PATTERN, me) and state.OWNER_PARAM not in first.query_params
    runner = state.runner()
    run_id = runner.start(RunConfig(hidden_dim=32, wordvec_dim=16, num_epochs=10_000),
                          {"base_dir": ensure_demo_dataset(), "pca_features": True, "is_demo": True}, owner=me)
    first.run()
    assert runs_table(first).iloc[0]["By"] == "you"
    assert not next(b for b in first.button if b.label in ("Stop", "Leave the queue")).disabled

    for given in (me, "../not an id"):                    # an old link's ?me=, or a forged one
        opened = app(page="train", query={state.OWNER_PARAM: given})
        assert opened.session_state[state.OWNER] not in (me, given)
        assert state.OWNER_PARAM not in opened.query_params           # dropped from the address
        assert runs_table(opened).iloc[0]["By"] == f"other ({me[:4]})"
        assert next(b for b in opened.button if b.label in ("Stop", "Leave the queue")).disabled
    runner.stop(run_id, owner=me)
    assert runner.wait(run_id).status == "stopped"


def test_the_admin_stops_anyones_run_and_an_owner_deletes_an_ended_one(app, monkeypatch):
    monkeypatch.setenv("CAPTION_LAB_ADMIN_TOKEN", "secret")
    student = app(page="train")
    runner = state.runner()
    run_id = runner.start(RunConfig(hidden_dim=32, wordvec_dim=16, num_epochs=10_000),
                          {"base_dir": ensure_demo_dataset(), "pca_features": True, "is_demo": True},
                          owner=student.session_state[state.OWNER])
    admin = app(page="train", query={"admin": "secret"})
    assert "admin" not in admin.query_params                   # the token leaves the address at once
    admin.session_state[state.TRAIN_RUN] = run_id
    admin.run()
    assert "admin" not in admin.query_params
    folder = str(runner.runs_dir)                               # where the server keeps runs: the admin's to see
    assert any(folder in c.value for c in admin.caption) and not any(folder in c.value for c in student.caption)
    assert any("at a time" in c.value for c in student.caption)
    stop = next(b for b in admin.button if b.label in ("Stop", "Leave the queue"))
    assert not stop.disabled                                    # not the admin's run, but the admin's to stop
    stop.click().run()
    assert runner.wait(run_id, timeout=60).status == "stopped"
    rerun_until(admin, lambda at: not runner.capacity().running, what="its worker to exit")
    student.session_state[state.TRAIN_RUN] = run_id
    student.run()
    assert not [b for b in app(page="train").button if b.label == "Delete"]   # someone else: no Delete
    next(b for b in student.button if b.label == "Delete").click().run()
    assert any("for good" in w.value for w in student.warning) and (runner.runs_dir / run_id).is_dir()
    next(b for b in student.button if b.label == "Yes, delete it").click().run()
    assert no_exception(student) and not (runner.runs_dir / run_id).exists()
    assert runner.runs() == [] and not list(runner.runs_dir.glob(".deleted-*"))
    assert runner.deletion(run_id).by == student.session_state[state.OWNER]


def test_a_wrong_admin_token_grants_nothing_and_leaves_the_address_too(app, monkeypatch):
    monkeypatch.setenv("CAPTION_LAB_ADMIN_TOKEN", "secret")
    at = app(query={"admin": "secreT"})
    assert "admin" not in at.query_params and not at.session_state["app.admin"]
    assert any("not this server's" in t.value for t in at.toast)
    at.switch_page("../pages/train.py").run()
    assert "admin" not in at.query_params and not at.session_state["app.admin"]


def test_with_redis_gone_the_page_says_so_and_still_shows_saved_runs(app, monkeypatch, tmp_path):
    from explorer.runs.local import LocalRunner
    from tests.support.http_server import free_port

    saved = LocalRunner(tmp_path / "runs")              # a run saved while the class still had its queue
    run_id = saved.start(RunConfig(hidden_dim=32, wordvec_dim=16, num_epochs=10),
                         {"base_dir": ensure_demo_dataset(), "pca_features": True, "is_demo": True}, owner="x")
    assert saved.wait(run_id, timeout=120).status == "done"
    saved.shutdown()
    monkeypatch.setenv("CAPTION_LAB_REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")   # nothing listens
    at = app(page="train")
    assert no_exception(at)
    assert runs_table(at)["Id"].tolist() == [run_id]
    assert any("cannot be reached" in w.value for w in at.warning)
    next(b for b in at.button if b.label == "Start").click().run()
    assert no_exception(at)
    assert any("cannot be reached, so no run can start now" in e.value for e in at.error)


def test_a_character_run_trains_saves_its_tokens_and_reloads_as_characters(app):
    """Tokens: characters in the custom form: the worker trains on character captions, its
    checkpoint keeps the character vocabulary and the setting, and Inspect reads it back as one."""
    from explorer.components import step_view

    at = app(page="train")
    at.radio(key=state.TRAIN_PRESET).set_value("Notebook RNN overfit, characters").run()
    assert any("one letter or space per step" in c.value for c in at.caption)
    at.radio(key=state.TRAIN_PRESET).set_value("Custom").run()
    assert at.segmented_control(key=state.TRAIN_FIELD + "tokens").value == "characters"   # from the preset
    fields = {n.label: n for n in at.number_input}
    fields["Hidden size H"].set_value(16)
    fields["Word-vector size W"].set_value(8)
    fields["Epochs"].set_value(2)
    at.run()
    next(b for b in at.button if b.label == "Start").click().run()
    assert no_exception(at)
    run_id = at.session_state[state.TRAIN_RUN]
    rerun_until(at, lambda at: at.dataframe and runs_table(at)["Status"].tolist() == ["done"],
                what="the character run to be listed as done")
    assert runs_table(at).iloc[0]["Run"].startswith("RNN H=16 lr 5e-3, characters · ")
    model, meta = state.runner().load_model(run_id)
    assert model.idx_to_word[4] == " " and meta["config"]["tokens"] == "characters"
    next(b for b in at.button if b.label == "Use in Inspect & Compare").click().run()
    at.switch_page("../pages/inspect.py").run()
    assert no_exception(at) and not at.error
    assert at.session_state[step_view.DECODER].max_length == step_view.CHARACTER_MAX_LENGTH
