"""The Compare page through the real app: train/val examples, split scores, strategies side by side."""
import html
import json
import re

import numpy as np
import pytest

from core import CaptioningRNN, load_checkpoint, save_checkpoint
from core.evaluate import (
    CaptionIndex,
    Strategy,
    caption_images,
    compare_strategies,
    evaluate,
    sample_images,
)
from explorer import state
from explorer.components import scores_view
from explorer.components.caption_diff import BLEU_NOTE

from .conftest import no_exception, use_checkpoint

VIEW = "compare.view"


def bleu_numbers(html: str) -> list[float]:
    return [float(x) for x in re.findall(r"<b>BLEU-\d</b> ([0-9.]+)", html)]


def test_examples_show_train_and_val_captions_against_their_references(app, checkpoints, demo_data):
    at = use_checkpoint(app("compare"), checkpoints["rnn"])
    assert [s.value for s in at.subheader][:2] == ["Train split", "Val split · never seen"]
    # a notebook checkpoint does not say which captions it trained on, and the page does not pretend
    assert any("seen in training only if the model trained on them" in c.value for c in at.caption)
    cards = [h.value for h in at.html if "Ground truth:" in h.value]
    assert len(cards) == 6                                      # 3 per split by default
    assert all('<img src="data:image/' in card and "<figcaption>" in card for card in cards)   # one element each
    model, _ = load_checkpoint(checkpoints["rnn"])
    index = CaptionIndex(demo_data, "val")
    expected = caption_images(model, demo_data, index, sample_images(index, 3, seed=0), Strategy("greedy"))
    for card, row in zip(cards[3:], expected):
        assert bleu_numbers(card) == [round(b, 2) for b in row.bleu]
        assert card.count("<li>") == len(row.references)
        assert f"log p = {row.logprob:.2f}" in card
        assert f'title="{html.escape(BLEU_NOTE)}"' in card           # why BLEU-4 can top BLEU-3, on hover
    at.button(key="compare.new_images").click().run()
    assert no_exception(at)
    assert [h.value for h in at.html if "Ground truth:" in h.value] != cards


def test_matching_ngrams_are_shaded(app, checkpoints):
    at = use_checkpoint(app("compare"), checkpoints["rnn"])
    card = next(h.value for h in at.html if "Ground truth:" in h.value)
    assert 'title="in a shared ' in card                         # the trained model shares some words
    legend = next(h.value for h in at.html if "Shading:" in h.value)
    assert all(f"shared {n}-gram" in legend for n in range(1, 5))


def test_split_scores_show_train_against_val_for_each_strategy(app, checkpoints, demo_data):
    at = use_checkpoint(app("compare"), checkpoints["lstm"])
    at.session_state[VIEW] = "Split scores"
    at.run()
    assert any("Compute scores" in i.value for i in at.info)
    at.select_slider(key=scores_view.COUNT).set_value(10).run()
    at.multiselect(key=scores_view.CHOICES).set_value(["greedy", "beam 3", "temperature 1 (seed 0)"]).run()
    at.button(key="compare.compute").click().run()
    assert no_exception(at)
    table = at.dataframe[0].value
    assert list(zip(table["strategy"], table["split"])) == [
        ("greedy", "train"), ("greedy", "val"), ("beam 3", "train"), ("beam 3", "val"),
        ("temperature 1 (seed 0)", "train"), ("temperature 1 (seed 0)", "val")]
    assert (table["images"] == 10).all()
    model, _ = load_checkpoint(checkpoints["lstm"])
    expected = evaluate(model, demo_data, [Strategy("greedy"), Strategy("beam", beam_size=3),
                                           Strategy("temperature")], n=10, seed=0)
    for (_, row), score in zip(table.iterrows(), expected):
        np.testing.assert_allclose([row[f"BLEU-{n}"] for n in range(1, 5)], score.bleu)
        assert row["notebook BLEU"] == pytest.approx(score.notebook_bleu)
        assert row["mean log p"] == pytest.approx(score.mean_logprob)
    assert any(m.value.startswith("**BLEU-4** — greedy: train") for m in at.markdown)
    chart = json.loads(at.get("vega_lite_chart")[0].proto.spec)
    assert chart["title"]["text"] == "Corpus BLEU, train against val"
    assert chart["title"]["subtitle"].startswith("LSTM, 48 units") and "10 images per split" in chart["title"]["subtitle"]
    # the result stays when the page reruns, and a new N asks for a new computation
    at.run()
    assert at.dataframe[0].value.equals(table)
    at.select_slider(key=scores_view.COUNT).set_value(50).run()
    assert not at.dataframe and any("Compute scores" in i.value for i in at.info)


def test_strategies_side_by_side_with_their_log_probabilities(app, checkpoints, demo_data):
    at = use_checkpoint(app("compare"), checkpoints["rnn"])
    at.session_state[VIEW] = "Strategies side by side"
    at.run()
    assert no_exception(at)
    table = at.dataframe[0].value
    assert list(table["strategy"]) == (["greedy"] + [f"beam {k}" for k in range(1, 6)]
                                       + [f"temperature 1 (seed {s})" for s in range(3)])
    assert np.isfinite(table["log p"]).all() and (table["log p"] < 0).all()
    assert table["log p"].iloc[0] == pytest.approx(table["log p"].iloc[1])   # beam 1 is greedy
    model, _ = load_checkpoint(checkpoints["rnn"])
    refs = CaptionIndex(demo_data, "val").references(0)
    rows = compare_strategies(model, demo_data["val_features"][0], refs,
                              [Strategy("beam", beam_size=3)])
    beam3 = table.set_index("strategy").loc["beam 3"]
    assert beam3["log p"] == pytest.approx(rows[0].logprob)
    assert beam3["caption"] == " ".join(rows[0].words)
    html_table = next(h.value for h in at.html if "<table" in h.value)
    assert html_table.count("<tr") == 1 + len(table)
    assert f"{rows[0].logprob:.2f}" in html_table
    assert any(BLEU_NOTE in c.value for c in at.caption)             # smoothed BLEU, said under the table
    at.slider(key="compare.side_samples").set_value(1).run()
    assert len(at.dataframe[0].value) == 7


def test_a_mismatched_model_shows_a_message_not_a_traceback(app, tmp_path, demo_data):
    wide = CaptioningRNN(demo_data["word_to_idx"], input_dim=4096, hidden_dim=16, wordvec_dim=8,
                         rng=np.random.default_rng(0))
    at = use_checkpoint(app("compare"), save_checkpoint(tmp_path / "fc7.h5", wide), check=False)
    assert no_exception(at)
    assert "4096-d" in at.error[0].value and not at.tabs


def test_the_model_chosen_on_inspect_is_kept_on_compare(app, checkpoints):
    at = use_checkpoint(app("inspect"), checkpoints["lstm"])
    at.switch_page("../pages/compare.py").run()
    assert no_exception(at)
    assert at.radio(key="model.source").value == "Checkpoint file"
    assert any("LSTM, 48 units" in m.value for m in at.markdown if m.value.startswith("**Model:**"))


def test_train_split_note_says_how_much_of_the_split_a_model_has_seen():
    from explorer.components.model_picker import PickedModel
    from explorer.components.strategy_view import train_split_note

    def picked(**fields):
        return PickedModel(model=None, key="k", origin="o", **fields)

    assert "only 50 captions drawn from this split's 10,000" in train_split_note(
        picked(config={"max_train": 50}), 10_000)
    assert "expect little gap" in train_split_note(picked(config={"max_train": 50}), 10_000)
    assert "many of these images are new" in train_split_note(picked(config={"max_train": 3_000}), 10_000)
    whole = train_split_note(picked(config={"max_train": 10_000}), 10_000)
    assert "10,000 captions drawn" in whole and "new to it" not in whole
    assert "seen no images" in train_split_note(picked(untrained=True), 10_000)
    assert "only if the model trained on them" in train_split_note(picked(), 10_000)
    assert "only if" in train_split_note(picked(config={"max_train": True}), 10_000)   # not a count


def test_an_overfit_run_is_scored_on_the_images_it_trained_on_and_shows_the_gap(app, overfit_run, demo_data):
    runner, run_id, trained = overfit_run
    images = np.unique(trained["train_image_idxs"])
    at = app()
    at.session_state[state.MODEL_RUN] = run_id          # "Use in Inspect & Compare"
    at.switch_page("../pages/compare.py").run()
    assert no_exception(at) and not at.error
    assert [s.value for s in at.subheader][:2] == ["Train split · trained on", "Val split · never seen"]
    note = next(c.value for c in at.caption if "this run trained on" in c.value)
    assert f"the {len(images)} images this run trained on" in note and "50 training captions" in note
    assert not any("captions drawn from this split" in c.value for c in at.caption)
    # the train cards are images it learned, and it says their learned captions word for word
    cards = [h.value for h in at.html if "Ground truth:" in h.value]
    model, _ = runner.load_model(run_id)
    shown = caption_images(model, demo_data, CaptionIndex(demo_data, "train"),
                           sample_images(CaptionIndex(demo_data, "train"), 3, seed=0, pool=images),
                           Strategy("greedy"))
    assert set(r.image for r in shown) <= set(images.tolist())
    for card, row in zip(cards[:3], shown):
        assert bleu_numbers(card) == [1.0] * 4
        assert f"log p = {row.logprob:.2f}" in card
        assert f'title="{html.escape(BLEU_NOTE)}"' in card           # why BLEU-4 can top BLEU-3, on hover

    at.session_state[VIEW] = "Split scores"
    at.run()
    assert any(f"N of the {len(images)} train images the model trained on" in i.value for i in at.info)
    at.button(key="compare.compute").click().run()
    assert no_exception(at)
    table = at.dataframe[0].value
    assert list(zip(table["split"], table["images"])) == [("train", len(images)), ("val", 100),
                                                          ("train", len(images)), ("val", 100)]
    expected = evaluate(model, demo_data, [Strategy("greedy"), Strategy("beam", beam_size=3)], n=100,
                        seed=0, pools={"train": images})
    for (_, row), score in zip(table.iterrows(), expected):
        np.testing.assert_allclose([row[f"BLEU-{n}"] for n in range(1, 5)], score.bleu)
    # memorised: train near perfect, val far below it
    train, val = table[table.split == "train"], table[table.split == "val"]
    assert (train["BLEU-4"] > 0.9).all() and (val["BLEU-4"] < 0.3).all()
    assert (train["BLEU-4"].to_numpy() - val["BLEU-4"].to_numpy() > 0.6).all()
    gap = next(m.value for m in at.markdown if m.value.startswith("**BLEU-4** — greedy: train"))
    assert f"train {train['BLEU-4'].iloc[0]:.3f} against val {val['BLEU-4'].iloc[0]:.3f}" in gap
    assert any(f"the {len(images)} images this run trained on" in c.value for c in at.caption)
    # what the page used to show: any 100 train images, on which the run is no better than on val
    whole = evaluate(model, demo_data, [Strategy("greedy")], n=100, seed=0)
    assert whole[0].bleu[3] < 0.5 and abs(whole[0].bleu[3] - whole[1].bleu[3]) < 0.3

    # strategies side by side start on an image it trained on, too
    at.session_state[VIEW] = "Strategies side by side"
    at.run()
    assert no_exception(at)
    assert at.segmented_control(key="compare.image_from").value == "trained"
    side = at.dataframe[0].value.set_index("strategy")
    assert side.loc["greedy", "BLEU-4"] == pytest.approx(1.0)


def test_a_run_on_another_copy_of_the_data_says_it_trained_on_a_sample_of_the_split(app, overfit_run, demo_copy):
    _, run_id, _ = overfit_run
    at = app()
    at.sidebar.radio[0].set_value(state.COCO).run()
    at.sidebar.text_input[0].set_value(str(demo_copy)).run()
    at.session_state[state.MODEL_RUN] = run_id
    at.switch_page("../pages/compare.py").run()
    assert no_exception(at) and not at.error
    assert [s.value for s in at.subheader][:2] == ["Train split", "Val split · never seen"]
    notes = [c.value for c in at.caption if "captions drawn from this split" in c.value]
    assert len(notes) == 1 and "only 50 captions drawn from this split's 10,000" in notes[0]
    at.session_state[VIEW] = "Split scores"
    at.run()
    at.select_slider(key=scores_view.COUNT).set_value(10).run()
    at.button(key="compare.compute").click().run()
    assert no_exception(at)
    assert (at.dataframe[0].value["images"] == 10).all()
    assert any("only 50 captions" in c.value for c in at.caption)


def test_a_rerun_decodes_only_what_changed(app, checkpoints, monkeypatch):
    from explorer.components import strategy_view

    decoded = []
    real = strategy_view.compare_strategies

    def counting(model, feature, references, strategies, **kwargs):
        decoded.extend(s.label for s in strategies)
        return real(model, feature, references, strategies, **kwargs)

    monkeypatch.setattr(strategy_view, "compare_strategies", counting)
    strategy_view._strategy_caption.clear()                  # other tests may have decoded the same
    at = use_checkpoint(app("compare"), checkpoints["lstm"])
    at.session_state[VIEW] = "Strategies side by side"
    at.run()
    assert len(decoded) == 9                                 # greedy, beams 1-5, three samples
    decoded.clear()
    at.slider(key="compare.side_temperature").set_value(0.5).run()
    assert no_exception(at)
    assert decoded == [f"temperature 0.5 (seed {s})" for s in range(3)]
    assert list(at.dataframe[0].value["strategy"])[-1] == "temperature 0.5 (seed 2)"
