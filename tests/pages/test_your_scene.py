"""Your scene under AppTest: compose in Inspect, change one thing, edit a dataset image,
vary one attribute, probe a model; and on COCO data the composer says why it is not there."""
import json

import numpy as np

from core.data.demo_scenes import scene_from_dict
from explorer import state
from tests.support.tiny_coco import write_tiny_coco

from .conftest import no_exception, use_checkpoint

FROM = "inspect.image_from"


def open_scene(at):
    at.segmented_control(key=FROM).set_value("scene").run()
    assert no_exception(at)
    return at


def variant_labels(at) -> list[str]:
    """The bold labels of the variation grid's cards."""
    return [m.value.strip("*") for m in at.markdown
            if m.value.startswith("**") and m.value.endswith("**") and ":" not in m.value and "group" not in m.value]


def decoder_feature(at) -> np.ndarray:
    return at.session_state["inspect.decoder"].feature.copy()


def test_compose_a_scene_change_its_colour_and_the_model_sees_the_new_picture(app, checkpoints):
    at = open_scene(use_checkpoint(app("inspect"), checkpoints["rnn"]))
    assert at.selectbox(key="inspect.scene_colour0").value == "red"
    before = decoder_feature(at)
    pictures = len(at.get("imgs"))
    at.selectbox(key="inspect.scene_colour0").set_value("green").run()
    assert no_exception(at) and not at.warning
    after = decoder_feature(at)
    assert not np.allclose(before, after)                        # the model sees the new picture
    scene = at.session_state["inspect.scene_scene"]
    assert scene["groups"][0]["colour"] == "green" and len(at.get("imgs")) == pictures
    # the same colour for both groups is one the generator never draws: refused, scene kept
    at.selectbox(key="inspect.scene_colour0").set_value("blue").run()
    assert any("same colour" in w.value for w in at.warning)
    assert at.session_state["inspect.scene_scene"]["groups"][0]["colour"] == "green"


def test_edit_this_image_opens_a_dataset_images_scene(app, checkpoints):
    at = use_checkpoint(app("inspect"), checkpoints["rnn"])
    at.segmented_control(key=FROM).set_value("val").run()
    at.number_input(key="inspect.image_index").set_value(17).run()
    feature = decoder_feature(at)
    next(b for b in at.button if b.label == "Edit this image").click().run()
    assert no_exception(at) and at.segmented_control(key=FROM).value == "scene"
    lab = state.scene_lab(state.dataset())
    assert scene_from_dict(at.session_state["inspect.scene_scene"]) == lab.scene("val", 17)
    assert np.allclose(decoder_feature(at), feature, rtol=1e-5, atol=2e-5)   # the same picture, seen the same


def test_teacher_forcing_runs_on_a_composed_scenes_reference_captions(app, checkpoints):
    at = open_scene(use_checkpoint(app("inspect"), checkpoints["rnn"]))
    at.session_state["inspect.view"] = "Teacher forcing"
    at.run()
    assert no_exception(at) and not at.error
    captions = next(s for s in at.selectbox if (s.key or "").startswith("inspect.true_caption")).options
    assert len(captions) == 5 and any("star" in c for c in captions)


def test_vary_one_thing_captions_every_variant(app, checkpoints):
    at = open_scene(use_checkpoint(app("inspect"), checkpoints["rnn"]))
    at.session_state["inspect.view"] = "Vary one thing"
    at.run()
    assert no_exception(at)
    assert variant_labels(at) == ["as it is", "orange", "yellow", "green", "purple"]
    assert sum("p(“" in c.value for c in at.caption) >= 1
    at.segmented_control(key="inspect.vary_attribute").set_value("position").run()
    assert no_exception(at)
    assert variant_labels(at) == ["as it is", "right", "above", "below"]


def test_probe_reports_every_attribute_beside_an_untrained_model(app, checkpoints):
    at = use_checkpoint(app("compare"), checkpoints["rnn"])
    at.session_state["compare.view"] = "What it sees"
    at.run()
    at.slider(key="compare.probe_scenes").set_value(100).run()
    next(b for b in at.button if b.label == "Probe").click().run(timeout=120)
    assert no_exception(at)
    table = at.dataframe[0].value
    assert list(table["attribute"]) == ["colour", "shape", "count", "size", "position or relation", "background"]
    assert list(table.columns) == ["attribute", "this model", "untrained"]
    assert table["this model"].str.contains(r"of \d+|never said").all()
    chart = json.loads(at.get("vega_lite_chart")[0].proto.spec)      # its PNG says the model and the scenes
    assert chart["title"]["text"] == "What it sees" and chart["title"]["subtitle"].startswith("RNN, 48 units")
    assert chart["title"]["subtitle"].endswith("100 fresh scenes")


def test_on_coco_data_the_composer_says_why_it_is_not_there(app, tmp_path):
    folder = write_tiny_coco(tmp_path / "coco")
    at = app()
    at.sidebar.radio[0].set_value(state.COCO).run()
    at.sidebar.text_input[0].set_value(str(folder)).run()
    at.switch_page("../pages/inspect.py").run()
    assert no_exception(at)
    assert "Your scene" not in at.segmented_control(key=FROM).options
    assert any("needs the demo dataset" in c.value and "VGG-16" in c.value for c in at.caption)
    at.session_state["inspect.view"] = "Vary one thing"
    at.run()
    assert any("Varying needs a scene" in i.value for i in at.info)


def test_the_second_group_switched_off_and_on_again_comes_back(app, checkpoints):
    """Streamlit drops the values of widgets a run did not draw: the composer takes them from
    the scene again (this raised a KeyError)."""
    at = open_scene(use_checkpoint(app("inspect"), checkpoints["rnn"]))
    key = next(t.key for t in at.toggle if t.key.endswith(".scene_second"))
    prefix = key.rsplit(".scene_second", 1)[0]
    start = bool(at.toggle(key=key).value)
    for value in (not start, start, not start, start):
        at.toggle(key=key).set_value(value).run()
        assert no_exception(at) and not at.error, [e.value for e in at.error]
        shown = {s.key for s in at.selectbox}
        assert (f"{prefix}.scene_colour1" in shown) == value and (f"{prefix}.scene_position" in shown) != value
        assert len(at.session_state[f"{prefix}.scene_scene"]["groups"]) == (2 if value else 1)
