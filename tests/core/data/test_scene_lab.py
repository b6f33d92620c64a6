"""Your scene's data: stored scenes redraw the dataset exactly, composing changes only what was
asked, variants differ in one attribute, references come from the grammar, uploads are safe."""
import io
import json

import numpy as np
import pytest
from PIL import Image

from core import load_coco_data
from core.data import demo
from core.data.demo_scenes import (GroupSpec, SceneError, compose_scene, scene_from_dict, scene_to_dict, spec_of,
                                   variations)
from core.data.scene_lab import SceneLab, UploadError, fresh_scenes, picture_from_upload, why_not
from core.probe import read_caption, score


@pytest.fixture(scope="module")
def lab():
    return SceneLab.open(demo.ensure_demo_dataset())


@pytest.fixture(scope="module")
def demo_data():
    return load_coco_data(demo.ensure_demo_dataset())


@pytest.fixture(scope="module")
def fc7_data():
    return load_coco_data(demo.ensure_demo_dataset(), pca_features=False)


@pytest.mark.parametrize("split, image", [("train", 0), ("train", 1999), ("val", 17), ("val", 499)])
def test_a_stored_scene_redraws_the_datasets_pixels_and_features(lab, demo_data, fc7_data, split, image):
    scene = lab.scene(split, image)
    picture = lab.render(scene)
    stored = Image.open(demo_data[f"{split}_urls"][image].removeprefix("file://"))
    assert np.array_equal(np.asarray(picture), np.asarray(stored.convert("RGB")))   # byte for byte
    fc7, pca = lab.features([picture])
    # within float32 rounding: one image's products are summed in another order than a batch's
    assert np.allclose(pca[0], demo_data[f"{split}_features"][image], rtol=1e-5, atol=2e-5)
    assert np.allclose(fc7[0], fc7_data[f"{split}_features"][image], rtol=1e-5, atol=2e-5)


def test_the_scenes_survive_json_exactly(lab):
    scene = lab.scene("val", 3)
    assert scene_from_dict(json.loads(json.dumps(scene_to_dict(scene)))) == scene


def test_a_folder_without_scenes_has_no_lab_and_says_why(tmp_path):
    assert SceneLab.open(tmp_path) is None
    assert "VGG-16" in why_not(tmp_path)


STAR_LEFT_OF_CIRCLES = ([GroupSpec(1, "star", "red", "big"), GroupSpec(2, "circle", "blue", "small")], "left")


def test_changing_a_colour_keeps_every_object_where_it_was():
    groups, layout = STAR_LEFT_OF_CIRCLES
    scene = compose_scene("white", "plain", groups, layout, seed=3)
    repainted = compose_scene("white", "plain", [GroupSpec(1, "star", "green", "big"), groups[1]], layout,
                              previous=scene)
    assert repainted.groups[0].centres == scene.groups[0].centres and repainted.groups[1] == scene.groups[1]
    assert repainted.groups[0].colour == "green"


def test_moving_the_star_to_the_right_puts_it_in_the_right_half():
    groups, _ = STAR_LEFT_OF_CIRCLES
    left = compose_scene("white", "plain", groups, "left", seed=3)
    right = compose_scene("white", "plain", groups, "right", seed=3, previous=left)
    assert all(x < 0.5 for x, _ in left.groups[0].centres) and all(x > 0.5 for x, _ in right.groups[0].centres)
    assert right.relation == "right"


@pytest.mark.parametrize("groups, layout, words", [
    ([GroupSpec(1, "star", "red", "big"), GroupSpec(1, "circle", "red", "small")], "left", "same colour"),
    ([GroupSpec(1, "star", "red", "big"), GroupSpec(3, "circle", "blue", "small")], "left", "at most 2"),
    ([GroupSpec(1, "star", "red", "big")], "above", "needs a position"),
    ([GroupSpec(1, "hexagon", "red", "big")], "left", "shape"),
])
def test_a_scene_the_generator_never_draws_is_refused_with_the_reason(groups, layout, words):
    with pytest.raises(SceneError, match=words):
        compose_scene("white", "plain", groups, layout)


@pytest.mark.parametrize("attribute", ["colour", "shape", "size", "count", "position", "background"])
def test_every_variant_differs_in_its_attribute_only(lab, attribute):
    scene = lab.scene("val", 5)
    variants = variations(scene, attribute)
    assert variants
    (specs, layout), base = spec_of(scene), (scene.background, scene.texture)
    for label, variant in variants:
        (new_specs, new_layout) = spec_of(variant)
        changed = {"layout": new_layout != layout, "background": (variant.background, variant.texture) != base,
                   **{f: getattr(new_specs[0], f) != getattr(specs[0], f) for f in ("colour", "shape", "size", "count")}}
        expected = "layout" if attribute == "position" else attribute
        assert changed.pop(expected), label
        assert not any(changed.values()), (label, changed)
        assert new_specs[1:] == specs[1:]


def test_a_composed_scene_gets_grammar_captions_that_read_right(lab):
    scene = compose_scene("grey", "dotted", *STAR_LEFT_OF_CIRCLES)
    references = lab.references(scene)
    assert len(references) == 5 and len(set(references)) == 5
    for caption in references:
        assert all(v is not False for v in score(scene, read_caption(caption.split())).values()), caption


def test_the_grammar_always_reads_right_and_a_wrong_caption_does_not():
    for scene in fresh_scenes(200, seed=1):
        rng = np.random.default_rng(0)
        for caption in demo.describe_scene(scene, rng, 5):
            scores = score(scene, read_caption(caption.split()))
            assert all(v is not False for v in scores.values()), (caption, scores)
    scene = compose_scene("white", "striped", *STAR_LEFT_OF_CIRCLES)
    wrong = score(scene, read_caption("two blue circles to the left of a small green star on a black background"
                                      .split()))
    assert wrong == {"colour": False, "shape": True, "count": True, "size": False, "relation": False,
                     "background": False}


def _png(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, **options)
    return buffer.getvalue()


def test_an_upload_is_turned_upright_flattened_and_resized():
    tall = Image.new("RGBA", (60, 100), (255, 0, 0, 0))          # transparent: becomes white
    tall.paste((0, 0, 255, 255), (0, 0, 60, 50))                # blue on top
    picture = picture_from_upload(_png(tall, format="PNG"))
    assert picture.size == (128, 128) and picture.mode == "RGB"
    assert picture.getpixel((64, 2))[2] > 200 and picture.getpixel((64, 125)) == (255, 255, 255)
    photo = Image.new("RGB", (60, 100), (255, 255, 255))
    photo.paste((0, 0, 255), (0, 0, 60, 50))                    # blue on top, white below
    exif = Image.Exif()
    exif[0x0112] = 3                                             # "rotate 180": the blue goes to the bottom
    rotated = picture_from_upload(_png(photo, format="JPEG", exif=exif))
    top, bottom = rotated.getpixel((64, 2)), rotated.getpixel((64, 125))
    assert min(top) > 200 and bottom[2] > 200 and bottom[0] < 60


def test_a_bad_upload_is_refused_with_the_reason():
    with pytest.raises(UploadError, match="not a PNG or JPEG"):
        picture_from_upload(b"this is not a picture")
    with pytest.raises(UploadError, match="GIF"):
        picture_from_upload(_png(Image.new("RGB", (8, 8)), format="GIF"))
    with pytest.raises(UploadError, match="at most 10 MB"):
        picture_from_upload(b"\0" * (11 << 20))
    bomb = _png(Image.new("1", (20_000, 20_000)), format="PNG", optimize=True)   # tiny file, 400 M pixels
    assert len(bomb) < 1 << 20
    with pytest.raises(UploadError, match="too large|decompression bomb"):
        picture_from_upload(bomb)
