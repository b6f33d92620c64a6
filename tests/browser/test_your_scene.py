"""Your scene in a real browser: compose a scene, move an object, see the caption change; vary
one thing; probe the model; and nothing is cut off on a 1024 x 768 projector."""
import numpy as np
import pytest

from core import CaptioningRNN, CaptioningSolver, load_coco_data, save_checkpoint
from core.data.demo import ensure_demo_dataset

from .conftest import assert_no_errors, load_checkpoint_in_sidebar, open_page, screenshot, wait_idle
from .test_inspect_compare import OVERFLOW_JS, PROJECTOR, TALL, button, open_tab

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def seeing_model(tmp_path_factory):
    """A small RNN trained on every demo training caption for a few epochs: it reads the images."""
    data = load_coco_data(ensure_demo_dataset(), seed=0)
    rng = np.random.default_rng(0)
    model = CaptioningRNN(data["word_to_idx"], input_dim=512, wordvec_dim=64, hidden_dim=128, rng=rng)
    CaptioningSolver(model, data, update_rule="adam", optim_config={"learning_rate": 5e-3}, lr_decay=0.9,
                     batch_size=100, num_epochs=4, verbose=False, rng=rng).train()
    return save_checkpoint(tmp_path_factory.mktemp("scene-model") / "rnn-128.h5", model)


def caption(page) -> str:
    button(page, "inspect.finish").click()
    wait_idle(page)
    return page.locator('[data-testid="stMain"] .stHtml').filter(has_text="<START>").first.inner_text()


def test_compose_a_scene_move_the_star_and_the_caption_changes(page, seeing_model):
    page.set_viewport_size(TALL)
    open_page(page, "Inspect")
    load_checkpoint_in_sidebar(page, seeing_model)
    page.get_by_text("Your scene", exact=True).first.click()
    wait_idle(page)
    assert_no_errors(page)
    left = caption(page)
    screenshot(page, "scene-star-left")
    relation = page.locator('[data-testid="stSelectbox"]', has_text="The first group is")
    relation.click()
    page.get_by_role("option", name="right of").click()
    wait_idle(page)
    right = caption(page)
    screenshot(page, "scene-star-right")
    assert left != right, left
    open_tab(page, "Vary one thing")
    assert page.get_by_text("as it is", exact=True).count() == 1
    assert_no_errors(page)
    screenshot(page, "scene-vary")
    page.set_viewport_size(PROJECTOR)
    wait_idle(page)
    assert page.evaluate(OVERFLOW_JS) == []
    screenshot(page, "scene-vary-projector")


def test_probe_what_the_model_sees(page, seeing_model):
    page.set_viewport_size(TALL)
    open_page(page, "Compare")
    load_checkpoint_in_sidebar(page, seeing_model)
    open_tab(page, "What it sees")
    page.get_by_role("button", name="Probe").click()
    page.wait_for_selector('[data-testid="stDataFrame"]', timeout=120_000)
    wait_idle(page)
    assert_no_errors(page)
    screenshot(page, "scene-probe")
    page.set_viewport_size(PROJECTOR)
    wait_idle(page)
    assert page.evaluate(OVERFLOW_JS) == []


def test_an_uploaded_picture_is_captioned(page, seeing_model, tmp_path):
    from PIL import Image
    photo = Image.new("RGBA", (300, 200), (255, 255, 255, 0))
    photo.paste((30, 60, 220, 255), (40, 60, 120, 140))          # a blue square on a transparent ground
    path = tmp_path / "mine.png"
    photo.save(path)
    open_page(page, "Inspect")
    load_checkpoint_in_sidebar(page, seeing_model)
    page.get_by_text("Your scene", exact=True).first.click()
    wait_idle(page)
    page.get_by_text("Upload a picture", exact=True).click()
    wait_idle(page)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))
    wait_idle(page)
    assert_no_errors(page)
    assert page.get_by_text("your picture", exact=True).count() >= 1
    assert "shape words" in page.locator('[data-testid="stMain"]').inner_text()
    assert len(caption(page).split()) >= 3
    screenshot(page, "scene-upload")
