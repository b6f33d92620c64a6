"""Slide-ready exports: safe, readable file names; titles and subtitles written into a chart;
a matplotlib figure's PNG with its title; the step-through as an animated GIF."""
import io

import numpy as np
from matplotlib.figure import Figure
from PIL import Image

from core import CaptioningRNN, StepDecoder
from explorer.components.exports import PRESENTER_FONTS, Slide, figure_png, file_name, presented, slug, titled
from explorer.components.image_picker import ImageChoice
from explorer.components.model_picker import PickedModel
from explorer.components.step_gif import CHOSEN, GifText, frames_of, step_gif

WORDS = ["<NULL>", "<START>", "<END>", "<UNK>", "a", "red", "blue", "square", "circle", "on", "grass"]


def tiny_model(cell="lstm") -> CaptioningRNN:
    return CaptioningRNN({w: i for i, w in enumerate(WORDS)}, input_dim=6, wordvec_dim=4, hidden_dim=8,
                         cell_type=cell, rng=np.random.default_rng(0))


def test_file_names_are_readable_and_safe():
    assert file_name("inspect-next-word", "LSTM H=512", "val:42") == "inspect-next-word_lstm-h512_val-42"
    for hostile in ("../../etc/passwd", "C:\\Windows\\x", "a b\tc\nd", "..", "/", "训练 损失", "a|b*c?"):
        name = file_name("train-loss", hostile)
        assert name.startswith("train-loss") and not set(name) & set("/\\ :\t\n|*?") and ".." not in name[:2]
    assert slug("RNN H=512 lr 5e-3 · run 3f2a") == "rnn-h512-lr-5e-3-run-3f2a"
    assert file_name("", "训练") == "caption-lab"                    # nothing ASCII left: still a name


def test_a_slide_names_the_model_and_the_image_in_the_title_and_the_file():
    model = tiny_model()
    picked = PickedModel(model, key="run:7", origin="run “7” (done, iteration 100)", run_id="7")
    image = ImageChoice("val", 42, "", np.zeros(6))
    slide = Slide.of("inspect", "next-word", "The next word", picked=picked, image=image, names=("step-3",))
    assert slide.name == "inspect-next-word_lstm-h8-run-7_val-42_step-3"
    assert slide.about == (picked.label, "val image #42") and "LSTM" in picked.label
    spec = titled({"mark": "bar", "title": "old"}, slide)
    assert spec["title"]["text"] == "The next word" and spec["title"]["subtitle"] == f"{picked.label} · val image #42"
    assert spec["mark"] == "bar" and "usermeta" not in spec       # Streamlit would drop a file name there
    assert titled({"mark": "bar"}, None) == {"mark": "bar"}


def test_a_figure_downloads_as_a_png_with_its_title_above_it():
    def figure():
        fig = Figure(figsize=(6, 1.2), dpi=100)
        fig.add_subplot().imshow(np.arange(12.0)[None, :], aspect="auto")
        return fig
    plain = io.BytesIO()
    figure().savefig(plain, format="png", dpi=150, bbox_inches="tight")
    titled_png = figure_png(figure(), Slide("Feature vector (PCA 512-d)", ("val image #3",), "browse-features_val-3"))
    with Image.open(io.BytesIO(titled_png)) as a, Image.open(plain) as b:
        assert a.format == "PNG" and a.width == b.width and a.height > b.height + 60   # two lines of title on top
        band = a.convert("RGB").crop((0, 0, a.width, a.height - b.height))
        assert len(band.getcolors(band.width * band.height)) > 2                  # text drawn in the band


def test_the_step_through_gif_has_one_frame_per_step_with_the_chosen_word_in_orange():
    model = tiny_model()
    decoder = StepDecoder(model, np.linspace(-1, 1, 6), max_length=5)
    for word in ("a", "red", "square"):                       # an untrained model would end at once
        decoder.step(force=WORDS.index(word))
    steps = decoder.continuation()
    frames = frames_of(steps, model.idx_to_word)
    assert [f.t for f in frames] == list(range(len(steps))) and len(frames) >= 2
    assert all(f.chosen in [w for w, _ in f.candidates] for f in frames)
    assert frames[-1].words == tuple(model.idx_to_word[s.chosen] for s in steps)
    picture = Image.new("RGB", (64, 48), "#2b8a3e")
    data = step_gif(picture, frames, GifText("Sampling word by word", "LSTM, 8 units · val image #0",
                                             "Step {t}: took “{word}” (p = {p:.2f})"))
    orange = tuple(int(CHOSEN[k:k + 2], 16) for k in (1, 3, 5))
    with Image.open(io.BytesIO(data)) as gif:
        assert gif.format == "GIF" and gif.is_animated and gif.n_frames == len(steps)
        shown = []
        for k in range(gif.n_frames):
            gif.seek(k)
            frame = gif.convert("RGB")
            assert frame.size == (960, 540)
            colours = {c for _n, c in frame.getcolors(960 * 540)}
            assert orange in colours and (0x2b, 0x8a, 0x3e) in colours      # the chosen word; the image
            assert gif.info["duration"] == (3000 if k == gif.n_frames - 1 else 1200)
            shown.append(frame.tobytes())
        assert len(set(shown)) == len(shown)                                 # every step looks different


def test_presenter_mode_enlarges_a_charts_type_wherever_it_is_set():
    spec = presented({"mark": {"type": "text", "fontSize": 12}, "data": {"values": [{"fontSize": 3}]},
                      "encoding": {"x": {"axis": {"labelFontSize": 13}}},
                      "config": {"view": {"stroke": None}, "axis": {"labelFontSize": 16}}}, scale=1.25)
    assert spec["mark"]["fontSize"] == 15 and spec["encoding"]["x"]["axis"]["labelFontSize"] == 16.2
    assert spec["data"] == {"values": [{"fontSize": 3}]}               # the data is the data
    assert spec["config"]["view"] == {"stroke": None}
    assert spec["config"]["axis"] == {"labelFontSize": 20, "titleFontSize": PRESENTER_FONTS["axis"]["titleFontSize"]}
    assert spec["config"]["legend"] == PRESENTER_FONTS["legend"] and spec["config"]["header"]["labelFontSize"] > 12
