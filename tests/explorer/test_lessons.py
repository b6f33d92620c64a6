"""The lessons are well-formed data, and the lesson's own models build from the demo data."""
import numpy as np
import pytest

from core import load_checkpoint, load_coco_data
from core.data.demo import ensure_demo_dataset
from core.evaluate import check_compatible
from explorer.components.lesson_views import VIEWS
from explorer.lessons import DEFAULT, LESSONS, models
from explorer.runs.settings import PRESETS, RunConfig


@pytest.mark.parametrize("lesson", LESSONS.values(), ids=list(LESSONS))
def test_every_step_names_a_view_that_exists_and_a_possible_answer(lesson):
    keys = [step.key for step in lesson.steps]
    assert len(keys) == len(set(keys)), "step keys name answers and tests: they must be unique"
    for step in lesson.steps:
        assert step.title.strip() and step.text.strip(), step.key
        assert step.view in VIEWS, f"{step.key} asks for the view {step.view!r}"
        q = step.question
        if q is not None:
            assert len(q.choices) >= 2 and 0 <= q.answer < len(q.choices) and q.why.strip(), step.key
            assert len(set(q.choices)) == len(q.choices), step.key


def test_the_captioning_lesson_follows_the_notebook():
    lesson = LESSONS[DEFAULT]
    views = [step.view for step in lesson.steps]
    # the path, in the notebook's order
    expected = ["data", "vocabulary", "rnn_step", "gradient_check", "unroll", "embedding", "loss", "model",
                "overfit", "sampling", "train_val", "lstm", "words_or_characters"]
    assert views == expected


def test_the_lesson_models_are_the_notebooks_overfit_cells_saved_once(tmp_path, monkeypatch):
    """The LSTM that `make test` built at set-up is the notebook's overfit cell; in an empty
    data root, the app's way (a fresh process) builds what is missing, and only that."""
    base = ensure_demo_dataset()                   # the demo dataset `make test` built
    if models.missing(base):                       # (run without make: build them here)
        models.build(base)
    model, meta = load_checkpoint(models.path(base, True, "lstm"))
    assert RunConfig.from_dict(meta["config"]) == PRESETS["Notebook LSTM overfit"] and meta["iteration"] == 100
    assert meta["dataset"]["is_demo"] is True
    data = load_coco_data(base, max_train=50)
    check_compatible(model, data)                  # raises when it does not fit
    assert model.cell_type == "lstm" and model.hidden_dim == 512 and np.isfinite(model.params["W_vocab"]).all()
    built_lstm = models.path(base, True, "lstm").read_bytes()

    monkeypatch.setenv("CAPTION_LAB_DATA", str(tmp_path))     # an empty root (the child reads it too)
    assert models.missing(base) == ["rnn", "lstm"]
    assert models.folder(base, True) != models.folder(base, False)   # fc7 models are kept apart
    models.folder(base, True).mkdir(parents=True)
    models.path(base, True, "lstm").write_bytes(built_lstm)            # one there already: it is kept
    assert models.missing(base) == ["rnn"]
    process = models.start_building(base, True)
    assert process.wait(timeout=120) == 0, models.build_log(base, True)
    assert models.missing(base) == [] and models.start_building(base, True) is None
    assert models.path(base, True, "lstm").read_bytes() == built_lstm
    rnn, meta = load_checkpoint(models.path(base, True, "rnn"))
    assert rnn.cell_type == "rnn" and RunConfig.from_dict(meta["config"]) == PRESETS["Notebook RNN overfit"]
