"""The probe: a model's captions of scenes read and scored, and one scene varied."""
import numpy as np
import pytest

from core import CaptioningRNN, load_coco_data
from core.data import demo
from core.data.demo_scenes import GroupSpec, compose_scene, variations
from core.data.scene_lab import SceneLab, fresh_scenes
from core.probe import ATTRIBUTES, changed_words, probe_model, vary


@pytest.fixture(scope="module")
def setup():
    folder = demo.ensure_demo_dataset()
    data = load_coco_data(folder)
    model = CaptioningRNN(data["word_to_idx"], input_dim=512, wordvec_dim=16, hidden_dim=32,
                          rng=np.random.default_rng(0))
    return SceneLab.open(folder), model


def test_a_probe_rates_every_attribute_of_every_caption(setup):
    lab, model = setup
    scenes = fresh_scenes(40, seed=2)
    _, features = lab.features([lab.render(s) for s in scenes])
    result = probe_model(model, features, scenes, batch=16)
    assert len(result.captions) == 40 and set(result.scores) == set(ATTRIBUTES)
    for s in result.scores.values():
        assert s.total == 40 and 0 <= s.right <= s.said <= 40
    # an untrained model names colours about at chance, far from always
    assert result.scores["colour"].right < 20


def test_fresh_scenes_are_seeded_and_not_the_datasets(setup):
    lab, _ = setup
    assert fresh_scenes(5, seed=1) == fresh_scenes(5, seed=1) != fresh_scenes(5, seed=2)
    assert lab.scene("train", 0) not in fresh_scenes(50, seed=0)


def test_varying_marks_the_words_that_changed_and_the_right_words_probability(setup):
    lab, model = setup
    scene = compose_scene("white", "plain", [GroupSpec(1, "star", "red", "big"),
                                             GroupSpec(2, "circle", "blue", "small")], "left")
    variants = [("as it is", scene)] + variations(scene, "colour")
    _, features = lab.features([lab.render(v) for _, v in variants])
    rows = vary(model, features, variants, "colour")
    assert [r.label for r in rows] == ["as it is", "orange", "yellow", "green", "purple"]
    assert rows[0].changed == [False] * len(rows[0].words)
    assert [r.right_word for r in rows] == ["red", "orange", "yellow", "green", "purple"]
    assert all(r.p_right is None or 0 <= r.p_right <= 1 for r in rows)


def test_changed_words_follow_a_word_diff():
    assert changed_words("a green star left of two blue circles".split(),
                         "a red star left of two blue circles".split()) == [False, True] + [False] * 6
