"""Slide-ready exports: a chart or figure that says, in the picture and in its file name, what
it shows, for which model and which image.

    slide = Slide.of("inspect", "next-word", _("The next word"), picked=picked, image=image)
    st.vega_lite_chart(frame, titled(spec, slide), width="stretch")

`titled` writes the slide's title and a subtitle (the model, the image) into a Vega-Lite spec,
so the PNG that the chart's toolbar downloads carries them, and the slide's name as the
spec's description, which Vega puts on the chart as its `aria-label`. Streamlit 1.67 names
every download of its chart toolbar `<date>_chart.png` (it turns vega-embed's own menu off
and drops every embed option but theme, renderer and padding, so a spec cannot name it);
`name_downloads()`, drawn once per page, installs a small script that gives such a
download the name of the chart whose toolbar was pressed, when that chart has one.
`figure_download` gives a matplotlib figure a download button for a PNG with the same title
and subtitle drawn on it, under the slide's name; the step-through's animated GIF
(`explorer.components.step_gif`) is named the same way. Names are ASCII, lower case, with no
spaces and no path characters: `inspect-next-word_lstm-h512_val-42.png`.
"""
from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass
from typing import Sequence

import streamlit as st
from matplotlib.figure import Figure

from explorer import presenter
from explorer.fonts import font_file
from explorer.i18n import _

SUBTITLE_COLOUR = "#868e96"
MAX_NAME = 150                 # characters of a file name, its extension left out


def slug(text) -> str:
    """`text` as a file name's part: ASCII letters, digits and dots, the rest one hyphen
    ("LSTM H=512" -> "lstm-h512", "val:42" -> "val-42", "../x" -> "x")."""
    plain = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9.]+", "-", plain.replace("=", "")).strip("-.")


def file_name(*parts) -> str:
    """The parts as one safe file name without its extension, "_" between them (empty parts left out)."""
    name = "_".join(s for s in (slug(p) for p in parts if p) if s) or "caption-lab"
    return name[:MAX_NAME].rstrip("-._")          # a file name, not a sentence: the naming script takes 200 at most


def model_name(picked) -> str:
    """A model for a file name: its cell and size, and its run or "untrained" ("lstm-h512-run-3")."""
    model = picked.model
    where = f"run-{picked.run_id}" if picked.run_id else "untrained" if picked.untrained else ""
    return slug(f"{model.cell_type}-h{model.hidden_dim}-{where}")


@dataclass(frozen=True)
class Slide:
    """What a downloaded chart says about itself."""

    title: str                     # what it shows, in the reader's language
    about: tuple[str, ...]         # the model, the image, …: the subtitle under the title
    name: str                      # the file's name without its extension

    @property
    def subtitle(self) -> str:
        return " · ".join(self.about)

    @classmethod
    def of(cls, page: str, chart: str, title: str, *, picked=None, image=None,
           about: Sequence[str] = (), names: Sequence[str] = ()) -> "Slide":
        """The slide of chart `chart` (English, for the file name) on `page`, titled `title`:
        about `picked` (a PickedModel) and `image` (an ImageChoice) when given, then `about`
        (shown) and `names` (in the file name only)."""
        shown = ([picked.label] if picked is not None else []) + ([image.label] if image is not None else [])
        named = ([model_name(picked)] if picked is not None else []) + (
            [f"{image.split}-{image.image}"] if image is not None else [])
        return cls(title, tuple(shown) + tuple(about), file_name(f"{page}-{chart}", *named, *names))


# in presenter mode, a chart's axes, legends and facet headers are as large as its page's
# type: these are their config's defaults, and every font size the spec sets grows by SCALE
PRESENTER_FONTS = {part: {"labelFontSize": 15, "titleFontSize": 16} for part in ("axis", "legend", "header")}


def _larger(part, scale: float):
    if isinstance(part, dict):
        return {k: round(v * scale, 1) if k.lower().endswith("fontsize") and isinstance(v, (int, float))
                else v if k in ("data", "datasets", "values") else _larger(v, scale) for k, v in part.items()}
    if isinstance(part, list):
        return [_larger(v, scale) for v in part]
    return part


def presented(spec: dict, scale: float = presenter.SCALE) -> dict:
    """`spec` for a projector: each font size it sets times `scale`, PRESENTER_FONTS where it sets none."""
    spec = _larger(spec, scale)
    config = dict(spec.get("config") or {})
    for part, sizes in PRESENTER_FONTS.items():
        config[part] = {**sizes, **(config.get(part) or {})}
    return {**spec, "config": config}


def titled(spec: dict, slide: Slide | None) -> dict:
    """`spec` (a Vega-Lite spec) with the slide's title and subtitle drawn in it, so the PNG
    that the chart's toolbar downloads says what it shows (no slide: no title), its type
    larger in presenter mode (`presented`)."""
    scale = presenter.SCALE if presenter.on() else 1.0
    if scale != 1.0:
        spec = presented(spec)
    if slide is None:
        return spec
    title = {"text": slide.title, "anchor": "start", "fontSize": round(17 * scale), "fontWeight": "normal",
             "limit": 0}
    if slide.about:
        title.update(subtitle=slide.subtitle, subtitleColor=SUBTITLE_COLOUR, subtitleFontSize=round(13 * scale),
                     subtitlePadding=4)
    return {**spec, "title": title, "description": slide.name}


# A chart toolbar's download is an <a download="<date>_chart.png"> that Streamlit clicks at
# once; rename it after the chart last pressed on, when that chart's aria-label is one of our
# file names (lower-case ASCII, digits, ".", "_", "-"). Installed once per browser tab.
NAMING_SCRIPT = """<script>
(() => {
  if (window.captionLabDownloadNames) return;
  window.captionLabDownloadNames = true;
  let pressed = null;
  document.addEventListener("click", (event) => {    // a click, by mouse or by keyboard, on the toolbar
    const box = event.target.closest && event.target.closest('[data-testid="stElementContainer"]');
    const chart = box && box.querySelector('[data-testid="stVegaLiteChart"][aria-label]');
    pressed = chart ? chart.getAttribute("aria-label") : null;
  }, true);
  const click = HTMLAnchorElement.prototype.click;
  HTMLAnchorElement.prototype.click = function () {
    const kind = /_chart[.](png|svg)$/.exec(this.download || "");
    if (kind && pressed && /^[a-z0-9][a-z0-9._-]{0,199}$/.test(pressed)) this.download = pressed + "." + kind[1];
    return click.call(this);
  };
})();
</script>"""


def name_downloads() -> None:
    """Install the script that names a chart's toolbar download after its slide (see the module)."""
    st.html(NAMING_SCRIPT, unsafe_allow_javascript=True)


def figure_png(fig: Figure, slide: Slide, dpi: int = 150) -> bytes:
    """The figure as a PNG under a band with the slide's title and subtitle (whatever the
    figure's own layout; the figure itself is left as it was)."""
    from PIL import Image, ImageDraw, ImageFont

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", facecolor="white")
    body = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    scale = dpi / 100
    path = font_file()
    fonts = [ImageFont.truetype(path, round(size * scale)) if path else ImageFont.load_default(round(size * scale))
             for size in (17, 12)]
    band = round((62 if slide.about else 40) * scale)
    canvas = Image.new("RGB", (body.width, body.height + band), "white")
    canvas.paste(body, (0, band))
    draw = ImageDraw.Draw(canvas)
    pad = round(10 * scale)
    draw.text((pad, pad), slide.title, fill="#212529", font=fonts[0])
    if slide.about:
        draw.text((pad, pad + round(26 * scale)), slide.subtitle, fill=SUBTITLE_COLOUR, font=fonts[1])
    out = io.BytesIO()
    canvas.save(out, format="PNG")
    return out.getvalue()


def figure_download(fig: Figure, slide: Slide, key: str) -> None:
    """A button that downloads the figure as a slide-ready PNG (no rerun: a dialog stays open)."""
    st.download_button(_("Download as PNG"), figure_png(fig, slide), file_name=f"{slide.name}.png",
                       mime="image/png", key=key, icon=":material/download:", on_click="ignore",
                       type="tertiary")
