"""The Inspect page through the real app: step-through, what if, whole caption, teacher forcing."""
import html
import json
import re
from dataclasses import replace

import numpy as np
import pytest
from streamlit.dataframe_util import convert_arrow_bytes_to_pandas_df

from core import (
    CaptioningRNN,
    StepDecoder,
    load_checkpoint,
    save_checkpoint,
    teacher_forced_trace,
)
from core.data.coco import decode_captions
from core.data.demo import ensure_demo_dataset
from explorer import state
from explorer.components import step_view
from explorer.runs.store import FINAL
from tests.support.tiny_coco import write_tiny_coco

from .conftest import no_exception, rerun_until, use_checkpoint
from tests.support.waiting import wait_for

VIEW = "inspect.view"


def decoder(at) -> StepDecoder:
    return at.session_state[step_view.DECODER]


def click(at, key, times=1):
    for _ in range(times):
        at.button(key=key).click().run()
        assert no_exception(at)
    return at


def shown(at):
    """What the step panel shows: its heading, the caption chips, and the next-word bars."""
    heading = next((m.value for m in at.markdown if m.value.startswith("### Step")), None)
    chips = next(h.value for h in at.html if "&lt;START&gt;" in h.value)
    charts = at.get("vega_lite_chart")
    bars = convert_arrow_bytes_to_pandas_df(charts[0].proto.data.data) if heading else None
    return heading, chips, bars


def test_renders_an_untrained_model_by_default(app):
    at = app("inspect")
    assert no_exception(at) and not at.error
    assert at.title[0].value == "Inspect"
    assert any("untrained" in m.value for m in at.markdown if m.value.startswith("**Model:**"))
    assert decoder(at).t == 0
    assert any("Press **Step**" in i.value for i in at.info)


def test_stepping_forward_and_back_equals_a_fresh_run(app, checkpoints, demo_data):
    at = use_checkpoint(app("inspect"), checkpoints["rnn"])
    click(at, "inspect.step", 5)
    click(at, "inspect.back", 2)
    after_back = shown(at)
    steps_after_back = list(decoder(at).steps)
    click(at, "inspect.reset")
    assert decoder(at).t == 0
    click(at, "inspect.step", 3)
    fresh = shown(at)
    assert after_back[0] == fresh[0] and "Step 2" in fresh[0]
    assert after_back[1] == fresh[1]
    assert after_back[2].equals(fresh[2])
    # and the same as the core decoder run from scratch on the same image
    model, _ = load_checkpoint(checkpoints["rnn"])
    reference = StepDecoder(model, demo_data["val_features"][0], max_length=step_view.MAX_LENGTH)
    for _ in range(3):
        reference.step()
    for a, b, c in zip(steps_after_back, decoder(at).steps, reference.steps):
        assert a.chosen == b.chosen == c.chosen
        np.testing.assert_array_equal(a.h, c.h)
        np.testing.assert_array_equal(b.probs, c.probs)
    assert after_back[2]["word"].iloc[0] == model.idx_to_word[int(reference.steps[-1].probs.argmax())]


def test_step_through_shows_the_images_ground_truth_captions_shaded_by_the_caption_so_far(app, checkpoints,
                                                                                           demo_data):
    at = use_checkpoint(app("inspect"), checkpoints["rnn"])
    truth = next(h.value for h in at.html if "Ground truth (" in h.value)
    rows = np.flatnonzero(demo_data["val_image_idxs"] == 0)          # the first val image's captions
    references = decode_captions(demo_data["val_captions"][rows], demo_data["idx_to_word"])
    assert truth.startswith('<div') and f"Ground truth ({len(rows)} captions):" in truth
    assert truth.count("<li>") == len(rows) == 5
    for caption in references:
        words = [w for w in caption.split() if w not in ("<START>", "<END>", "<NULL>")]
        assert all(html.escape(w) in truth for w in words)
    assert 'title="in a shared' not in truth                           # nothing sampled yet
    click(at, "inspect.step", 3)
    truth = next(h.value for h in at.html if "Ground truth (" in h.value)
    shares = any(w in " ".join(references).split() for w in decoder(at).words() if w != "<END>")
    assert shares and 'title="in a shared' in truth                   # the trained model's words are shaded


def test_every_inspect_chart_downloads_with_its_title_the_model_and_the_image(app, checkpoints):
    at = use_checkpoint(app("inspect"), checkpoints["rnn"])
    click(at, "inspect.step", 2)
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    read = decoder(at).model.idx_to_word[decoder(at).steps[-1].input_token]
    assert [s["title"]["text"] for s in specs] == [f"After reading “{read}”: the next word", "The state after step 1"]
    for spec in specs:
        assert spec["title"]["text"] and "RNN, 48 units" in spec["title"]["subtitle"]
        assert spec["title"]["subtitle"].endswith("val image #0")
    gif = at.get("download_button")[0]
    assert gif.proto.label == "GIF" and gif.proto.ignore_rerun          # a download that keeps the page
    for view in ("Whole caption", "Teacher forcing", "RNN vs LSTM gradients"):
        at.session_state[VIEW] = view
        at.run()
        assert no_exception(at)
        for chart in at.get("vega_lite_chart"):
            spec = json.loads(chart.proto.spec)
            assert spec["title"]["text"] and "val image #0" in spec["title"]["subtitle"]


def test_temperature_sampling_is_repeatable_and_keeps_the_position(app, checkpoints):
    at = use_checkpoint(app("inspect"), checkpoints["rnn"])
    click(at, "inspect.step", 3)
    at.segmented_control(key=step_view.STRATEGY).set_value("temperature").run()
    at.slider(key=step_view.TEMPERATURE).set_value(2.0).run()
    assert no_exception(at)
    dec = decoder(at)
    assert dec.strategy == "temperature" and dec.temperature == 2.0 and dec.t == 3
    first = [s.chosen for s in dec.steps]
    click(at, "inspect.back", 3)
    click(at, "inspect.step", 3)
    assert [s.chosen for s in decoder(at).steps] == first


def test_forcing_a_word_shows_the_forced_continuation(app, checkpoints):
    at = use_checkpoint(app("inspect"), checkpoints["lstm"])
    click(at, "inspect.step", 2)
    before = next(m.value for m in at.markdown if m.value.startswith("**From here the model goes on:**"))
    original = [s.chosen for s in decoder(at).steps]
    options = at.selectbox(key=step_view.FORCE_WORD).options
    assert len(options) > 10 and "(p = " in options[0]
    forced = at.selectbox(key=step_view.FORCE_WORD).value
    assert forced != original[1]                     # the default pick is the runner-up
    click(at, "inspect.force")
    dec = decoder(at)
    assert dec.t == 2 and dec.steps[1].forced and dec.steps[1].chosen == forced
    assert dec.steps[0].chosen == original[0]
    after = next(m.value for m in at.markdown if m.value.startswith("**From here the model goes on:**"))
    # what the page says comes next is the forced caption's own continuation, decoded afresh here
    # (it may happen to read like the unforced one: the continuation is the model's to choose)
    def goes_on(steps):
        words = " ".join(dec.model.idx_to_word[s.chosen] for s in steps[2:]) or "(nothing more)"
        return "**From here the model goes on:** " + html.escape(words)

    unforced = StepDecoder(dec.model, dec.feature, max_length=dec.max_length)
    forced_run = StepDecoder(dec.model, dec.feature, max_length=dec.max_length)
    forced_run.step()
    forced_run.step(force=forced)
    assert before == goes_on(unforced.run()) and after == goes_on(forced_run.run())
    assert any(m.value.startswith("**Without your forced words it said:**") for m in at.markdown)
    assert "✎" in shown(at)[1]
    # the whole-caption view decodes on from the forced word
    at.session_state[VIEW] = "Whole caption"
    at.run()
    assert no_exception(at)
    chips = next(h.value for h in at.html if "&lt;START&gt;" in h.value)
    assert "✎" in chips


def test_lstm_step_shows_the_cell_and_all_four_gates(app, checkpoints):
    at = use_checkpoint(app("inspect"), checkpoints["lstm"])
    click(at, "inspect.step")
    strips = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart") if "vconcat" in c.proto.spec]
    assert len(strips) == 1
    titles = [part["title"]["text"].split(" ")[0] for part in strips[0]["vconcat"]]
    assert titles == ["h_t,", "c_t,", "input", "forget", "output", "candidate"]
    rows = convert_arrow_bytes_to_pandas_df(at.get("vega_lite_chart")[1].proto.data.data)
    assert list(rows["row"].unique()) == ["h", "c", "i", "f", "o", "g"]
    assert len(rows) == 6 * 48
    gates = rows[rows.row.isin(["i", "f", "o"])]["value"]
    assert gates.between(0, 1).all()


def test_play_steps_on_a_timer_until_the_caption_ends(app, checkpoints):
    at = use_checkpoint(app("inspect"), checkpoints["rnn"])
    at.button(key="inspect.play").click().run()
    assert no_exception(at)
    assert at.session_state[step_view.PLAYING] and decoder(at).t == 1
    assert at.button(key="inspect.play").label == "Pause"
    for _ in range(step_view.MAX_LENGTH + 2):        # each rerun is one tick of the timer
        if not at.session_state[step_view.PLAYING]:
            break
        at.run()
    assert not at.session_state[step_view.PLAYING]
    assert decoder(at).finished
    assert at.button(key="inspect.play").label == "Play"


def test_whole_caption_heatmap_orders_units_and_colours_tokens(app, checkpoints):
    at = use_checkpoint(app("inspect"), checkpoints["rnn"])
    click(at, "inspect.finish")
    T = decoder(at).t
    at.session_state[VIEW] = "Whole caption"
    at.run()
    assert no_exception(at)
    heat = convert_arrow_bytes_to_pandas_df(at.get("vega_lite_chart")[0].proto.data.data)
    assert heat["t"].nunique() == T and heat["unit"].nunique() == 48   # "all" units for H <= 64
    first = heat[heat.t == 0].sort_values("pos")["unit"].tolist()
    h = np.stack([s.h for s in decoder(at).steps])
    assert first == list(np.argsort(-h.var(axis=0), kind="stable"))
    at.segmented_control(key="inspect.unit_order").set_value("activation").run()
    heat = convert_arrow_bytes_to_pandas_df(at.get("vega_lite_chart")[0].proto.data.data)
    values = heat[heat.t == T - 1].sort_values("pos")["value"].to_numpy()
    assert (np.diff(values) <= 0).all()              # ordered by activation at the shown step
    at.number_input(key="inspect.unit").set_value(7).run()
    tokens = next(x.value for x in at.html if "font-size:1.6rem;line-height:2.1" in x.value)
    values = [float(v) for v in re.findall(r'title="([-+][0-9.]+)"', tokens)]
    np.testing.assert_allclose(values, h[:, 7], atol=5e-4)
    assert any("The 6 most variable units" in m.value for m in at.markdown)


def test_teacher_forcing_shows_p_true_divergence_and_gradient_norms(app, checkpoints, demo_data):
    at = use_checkpoint(app("inspect"), checkpoints["rnn"])
    at.session_state[VIEW] = "Teacher forcing"
    at.run()
    assert no_exception(at) and not at.error
    table = at.dataframe[0].value
    caption_choice = at.selectbox(key="inspect.true_caption.val.0")
    rows = np.flatnonzero(demo_data["val_image_idxs"] == 0)
    captions = demo_data["val_captions"][rows]
    model, _ = load_checkpoint(checkpoints["rnn"])
    k = caption_choice.index
    trace = teacher_forced_trace(model, demo_data["val_features"][0], captions[k])
    np.testing.assert_allclose(table["p(true)"].to_numpy(), trace.p_true, rtol=1e-5)
    assert table["true next word"].iloc[-1] == "<END>"
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Caption loss  −Σ log p(true word)"] == f"{trace.loss:.2f}"
    messages = [w.value for w in at.warning] + [s.value for s in at.success]
    if trace.divergence_step is None:
        assert any("exactly this caption" in m for m in messages)
    else:
        assert any(f"step {trace.divergence_step}" in m for m in messages)
    charts = at.get("vega_lite_chart")
    grads = [convert_arrow_bytes_to_pandas_df(c.proto.data.data) for c in charts
             if "log" in c.proto.spec]
    assert len(grads) == 1
    last = grads[0][grads[0].series == "last word's loss only"].sort_values("t")["value"].to_numpy()
    np.testing.assert_allclose(last, trace.grad_norm_last, rtol=1e-5)


def test_rnn_against_lstm_gradients_side_by_side(app, checkpoints):
    at = use_checkpoint(app("inspect"), checkpoints["rnn"])
    at.session_state[VIEW] = "RNN vs LSTM gradients"
    at.run()
    assert no_exception(at) and not at.error
    at.radio(key="inspect.other.source").set_value("Checkpoint file").run()
    at.text_input(key="inspect.other.file").input(str(checkpoints["lstm"])).run()
    assert no_exception(at)
    chart = convert_arrow_bytes_to_pandas_df(at.get("vega_lite_chart")[0].proto.data.data)
    names = list(chart["series"].unique())
    assert len(names) == 3 and "vanilla RNN" in names[0] and "LSTM" in names[1]
    assert names[2] == f"{names[1]}, along its cell c_t"                # the LSTM's own path back
    last_step = chart["t"].max()
    assert np.allclose(chart[chart.t == last_step]["value"], 1.0)    # normalised at the last step
    labels = [m.label for m in at.metric]
    assert labels == ["A: reaches step 0", "B: reaches step 0"]
    first_step = chart[chart.t == 0].set_index("series")["value"]
    assert [m.value for m in at.metric] == [f"×{first_step[name]:.3g}" for name in names[:2]]
    rnn, lstm = first_step[names[0]], first_step[names[1]]
    verdict = (at.success if lstm >= rnn else at.warning)[-1].value     # the page's own numbers decide
    assert ("As the textbook says" if lstm >= rnn else "disagree with the textbook") in verdict
    assert f"×{lstm:.3g}" in verdict and f"×{rnn:.3g}" in verdict


def test_a_model_for_other_features_or_words_is_refused_with_a_message(app, tmp_path, demo_data):
    wide = CaptioningRNN(demo_data["word_to_idx"], input_dim=4096, hidden_dim=16, wordvec_dim=8,
                         rng=np.random.default_rng(0))
    other_words = CaptioningRNN({w: i for i, w in enumerate(["<NULL>", "<START>", "<END>", "cat"])},
                                input_dim=512, hidden_dim=16, wordvec_dim=8, rng=np.random.default_rng(0))
    at = use_checkpoint(app("inspect"), save_checkpoint(tmp_path / "fc7.h5", wide), check=False)
    assert no_exception(at)
    assert "4096-d" in at.error[0].value and "PCA 512-d features" in at.error[0].value
    assert not at.get("vega_lite_chart")
    at = use_checkpoint(at, save_checkpoint(tmp_path / "words.h5", other_words), check=False)
    assert no_exception(at)
    assert "vocabulary of 4 words" in at.error[0].value
    assert f"dataset has {len(demo_data['idx_to_word'])}" in at.error[0].value
    at.text_input(key="model.file").input(str(tmp_path / "missing.h5")).run()
    assert no_exception(at) and any("There is no file" in i.value for i in at.info)
    (tmp_path / "junk.h5").write_bytes(b"not a checkpoint")
    at.text_input(key="model.file").input(str(tmp_path / "junk.h5")).run()
    assert no_exception(at) and any("junk.h5" in i.value for i in at.info)
    at.text_input(key="model.file").input(str(tmp_path)).run()
    assert no_exception(at) and any("is a folder" in i.value for i in at.info)
    at.text_input(key="model.file").input("model\x00.h5").run()
    assert no_exception(at) and any("not a usable file path" in i.value for i in at.info)


def test_random_image_and_train_split_rebuild_the_decoder(app, checkpoints):
    at = use_checkpoint(app("inspect"), checkpoints["rnn"])
    click(at, "inspect.step", 2)
    at.segmented_control(key="inspect.image_from").set_value("train").run()
    assert decoder(at).t == 0
    assert at.session_state[step_view.DECODER_SPEC][1] == ("train", 0)
    at.button(key="inspect.image_index_random").click().run()
    assert no_exception(at)
    split, image = at.session_state[step_view.DECODER_SPEC][1]
    assert split == "train" and image == at.number_input(key="inspect.image_index").value != 0


def test_the_browse_minibatch_offers_its_images(app, demo_data):
    at = app("browse")                                  # the real page records its minibatch
    drawn = at.session_state[state.BROWSE_BATCH]
    assert drawn.dataset == f"{ensure_demo_dataset()}|True" and drawn.rows
    at.session_state[state.BROWSE_BATCH] = replace(drawn, split="train", rows=(10, 11, 500))
    at.switch_page("../pages/inspect.py").run()
    at.segmented_control(key="inspect.image_from").set_value("browse").run()
    assert no_exception(at)
    images = at.selectbox(key="inspect.image_browse").options
    expected = list(dict.fromkeys(int(demo_data["train_image_idxs"][r]) for r in (10, 11, 500)))
    assert images == [f"train image #{i}" for i in expected]
    assert at.session_state[step_view.DECODER_SPEC][1] == ("train", expected[0])


def test_a_browse_minibatch_of_another_dataset_is_not_offered(app, tmp_path, demo_data):
    folder = write_tiny_coco(tmp_path / "coco")
    at = app()
    at.sidebar.radio[0].set_value(state.COCO).run()
    at.sidebar.text_input[0].set_value(str(folder)).run()
    at.switch_page("../pages/browse.py").run()
    tiny = at.session_state[state.BROWSE_BATCH]
    assert no_exception(at) and tiny.dataset == f"{folder}|True"
    at.switch_page("../pages/inspect.py").run()
    assert "Browse minibatch" in at.segmented_control(key="inspect.image_from").options
    at.sidebar.radio[0].set_value(state.DEMO).run()   # its rows are rows of the tiny folder
    assert no_exception(at) and max(tiny.rows) < len(demo_data["train_captions"])
    assert at.segmented_control(key="inspect.image_from").options == ["Val", "Train", "Your scene"]


# --- models from the Train page's runner ------------------------------------------

@pytest.fixture
def runs(tmp_path):
    """A Runner on the app's runs folder (the `app` fixture points the app at the same one)."""
    from explorer.runs.settings import RunConfig
    from explorer.runs.local import LocalRunner

    runner = LocalRunner(tmp_path / "runs")
    dataset = {"base_dir": str(ensure_demo_dataset()), "pca_features": True, "is_demo": True}
    small = RunConfig(cell_type="lstm", hidden_dim=32, wordvec_dim=16, num_epochs=10, snapshot_every=5)

    def start(**changes):
        return runner.start(small.replace(**changes), dataset, owner="tester")

    yield runner, start
    runner.shutdown()


def test_a_finished_run_chosen_on_the_train_page_is_inspected(app, runs):
    runner, start = runs
    run_id = start()
    info = runner.wait(run_id)
    assert info.status == "done" and info.has_checkpoint
    at = app()
    at.session_state[state.MODEL_RUN] = run_id          # what "use in Inspect/Compare" does
    at.switch_page("../pages/inspect.py").run()
    assert no_exception(at) and not at.error
    assert at.radio(key="model.source").value == "Training run"
    assert at.selectbox(key="model.run").value == run_id
    assert any("LSTM, 32 units" in m.value and info.label in m.value for m in at.markdown)
    click(at, "inspect.step", 2)
    model, _ = runner.load_model(run_id)
    np.testing.assert_array_equal(decoder(at).model.params["Wh"], model.params["Wh"])
    # switching to an untrained model clears the shared choice
    at.radio(key="model.source").set_value("Untrained").run()
    assert at.session_state[state.MODEL_RUN] is None
    assert decoder(at).model.hidden_dim == 512


def test_a_running_run_shows_its_snapshot_and_can_be_refreshed(app, runs):
    runner, start = runs
    run_id = start(num_epochs=10_000, snapshot_every=2)   # trains for minutes: stays "running"
    wait_for(lambda: runner.get(run_id).has_checkpoint, 120, "a first snapshot")
    at = app("inspect", query={"run": run_id})           # a link to it (another person's run)
    assert no_exception(at)
    assert at.radio(key="model.source").value == "Training run"
    note = next(i.value for i in at.info if "still training" in i.value)
    first = at.session_state[step_view.DECODER_SPEC][0]
    pinned = at.session_state["model.refresh"][run_id]
    wait_for(lambda: runner.get(run_id).checkpoint_iteration != pinned, 120, "a newer snapshot")

    # the app's runner re-reads a run's status at most every SYNC_SECONDS
    rerun_until(at, lambda at: "iteration" in at.button(key="model.refresh_button").label,
                what="the page to offer the newer snapshot")
    assert at.session_state[step_view.DECODER_SPEC][0] == first     # kept until the user asks
    at.button(key="model.refresh_button").click().run()
    assert no_exception(at)
    assert at.session_state[step_view.DECODER_SPEC][0] != first
    assert next(i.value for i in at.info if "still training" in i.value) != note
    runner.stop(run_id, owner="tester")


# --- the Quick start: Train the Notebook RNN overfit preset, then Inspect it -----------

def learned_captions(trained, image) -> set[str]:
    """The captions of `image` among a run's training captions, as the decoder writes them."""
    rows = trained["train_captions"][trained["train_image_idxs"] == image]
    return {" ".join(w for w in c.split() if w not in ("<START>", "<END>"))
            for c in decode_captions(rows, trained["idx_to_word"])}


def test_an_overfit_run_opens_on_an_image_it_trained_on_and_says_its_caption(app, overfit_run):
    runner, run_id, trained = overfit_run
    images = sorted(set(trained["train_image_idxs"].tolist()))
    at = app()
    at.session_state[state.MODEL_RUN] = run_id          # "Use in Inspect & Compare"
    at.switch_page("../pages/inspect.py").run()
    assert no_exception(at) and not at.error
    source = at.segmented_control(key="inspect.image_from")
    assert source.value == "trained" and source.options == ["Trained on", "Val", "Train", "Your scene"]
    assert at.selectbox(key="inspect.image_trained").options == [f"train image #{i}" for i in images]
    assert at.session_state[step_view.DECODER_SPEC][1] == ("train", images[0])
    assert any("*Val* has images it has never seen" in c.value for c in at.caption)
    # the worker's own Evolution images are among the images the page lists
    assert {s["image_idx"] for s in runner.evolution(run_id).images} <= set(images)
    # the run memorised its captions: greedy decoding says the one it learned for this image
    click(at, "inspect.finish")
    said = " ".join(w for w in decoder(at).words() if w != "<END>")
    assert said in learned_captions(trained, images[0])
    at.button(key="inspect.image_trained_random").click().run()
    assert no_exception(at)
    split, image = at.session_state[step_view.DECODER_SPEC][1]
    assert split == "train" and image in images and image != images[0]
    # val is still a click away, and stays chosen
    at.segmented_control(key="inspect.image_from").set_value("val").run()
    at.run()
    assert at.session_state[step_view.DECODER_SPEC][1] == ("val", 0)
    # an untrained model has trained on nothing: the source goes, val is shown
    at.radio(key="model.source").set_value("Untrained").run()
    assert no_exception(at)
    assert at.segmented_control(key="inspect.image_from").options == ["Val", "Train", "Your scene"]


def test_a_checkpoint_file_written_by_a_run_knows_its_images_a_notebook_one_does_not(
        app, overfit_run, checkpoints):
    runner, run_id, trained = overfit_run
    at = use_checkpoint(app("inspect"), checkpoints["rnn"])      # saved by hand: no run settings
    assert no_exception(at) and not at.error
    assert at.segmented_control(key="inspect.image_from").value == "val"
    assert "Trained on" not in at.segmented_control(key="inspect.image_from").options
    use_checkpoint(at, runner.runs_dir / run_id / FINAL)      # the run's own model file
    assert no_exception(at) and not at.error
    assert at.segmented_control(key="inspect.image_from").value == "trained"
    images = sorted(set(trained["train_image_idxs"].tolist()))
    assert at.selectbox(key="inspect.image_trained").options == [f"train image #{i}" for i in images]


def test_a_run_on_another_copy_of_the_data_does_not_guess_its_images(app, overfit_run, demo_copy):
    _, run_id, _ = overfit_run
    at = app()
    at.sidebar.radio[0].set_value(state.COCO).run()
    at.sidebar.text_input[0].set_value(str(demo_copy)).run()
    at.session_state[state.MODEL_RUN] = run_id
    at.switch_page("../pages/inspect.py").run()
    assert no_exception(at) and not at.error                # same words and features: it fits
    assert "Trained on" not in at.segmented_control(key="inspect.image_from").options
    note = next(i.value for i in at.info if "which train images it saw is unknown" in i.value)
    assert "the demo dataset" in note and str(demo_copy) in note


def test_a_remote_browser_cannot_have_the_server_read_a_checkpoint_path(app, monkeypatch):
    """A path typed in a browser is read on the server's disk: the server's own browser and
    the admin may, a student on a class server may not, not even by forging the choice."""
    from explorer import code_access
    monkeypatch.setenv("CAPTION_LAB_ADMIN_TOKEN", "secret")
    monkeypatch.setattr(code_access, "is_local_browser", lambda ip, headers: False)    # as seen from 10.0.0.7
    at = app("inspect")
    radio = at.radio(key="model.source")
    assert "Checkpoint file" not in radio.options and "Training run" in radio.options
    at.session_state["model.choice"] = {"source": "Checkpoint file", "file": "/etc/passwd"}
    at.run()
    assert no_exception(at) and at.radio(key="model.source").value == "Untrained"
    assert not any(t.key == "model.file" for t in at.text_input)
    admin = app("inspect", query={"admin": "secret"})                 # the admin, from anywhere
    assert "Checkpoint file" in admin.radio(key="model.source").options


def test_a_character_model_steps_one_character_at_a_time(app, char_checkpoints):
    """A character model reads the dataset's captions as characters: step-through takes one
    letter or space per step (the space shown as ␣), the caption reads as words, and teacher
    forcing and the gradient race run on a character caption, tens of steps long."""
    at = use_checkpoint(app("inspect"), char_checkpoints["rnn"])
    assert any("characters" in m.value for m in at.markdown if m.value.startswith("**Model:**"))
    click(at, "inspect.step", 6)
    dec = decoder(at)
    assert dec.t == 6 and dec.max_length == step_view.CHARACTER_MAX_LENGTH
    assert all(len(w) == 1 or w.startswith("<") for w in dec.words())
    heading = next(m.value for m in at.markdown if m.value.startswith("### Step 5"))
    took = dec.model.idx_to_word[dec.steps[-1].chosen]
    assert f"took “{'␣' if took == ' ' else took}”" in heading
    at.session_state[VIEW] = "Whole caption"
    at.run()
    assert no_exception(at) and not at.error
    steps = next(s for s in at.selectbox if s.label == "Step (for the order and the outline)")
    assert len(steps.options) == len(dec.continuation()) and "␣" in "".join(steps.options)
    at.session_state[VIEW] = "Teacher forcing"
    at.run()
    assert no_exception(at) and not at.error
    table = at.dataframe[0].value
    assert len(table) > 30 and table.iloc[:, 1].map(len).max() <= 7      # one character (or <START>) a step
    assert "␣" in table.iloc[:, 1].tolist() and " " not in table.iloc[:, 1].tolist()   # the space, visible
    left = [w.value for w in at.warning if "leaves this caption" in w.value]
    if left:                                          # where it leaves the caption: a step and its character
        step = int(re.search(r"step (\d+)", left[0]).group(1))
        assert f"**“{table.iloc[step, 2]}”**" in left[0]                  # the true character at that step
    at.session_state[VIEW] = "RNN vs LSTM gradients"
    at.run()
    at.radio(key="inspect.other.source").set_value("Checkpoint file").run()
    at.text_input(key="inspect.other.file").input(str(char_checkpoints["lstm"])).run()
    assert no_exception(at) and not at.error
    assert [m.label for m in at.metric] == ["A: reaches step 0", "B: reaches step 0"]
    assert at.success or at.warning                                   # the pair, held against the textbook
