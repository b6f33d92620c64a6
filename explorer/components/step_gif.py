"""The step-through as an animated GIF for a slide: one frame per step, each showing the
image, the caption so far (the newest word in orange) and the next-word bars of that step
with the word taken, under a title that names the model and the image.

    frames = frames_of(decoder.continuation(), model.idx_to_word)
    data = step_gif(picture_bytes, frames, GifText(title, subtitle, step_label, font))

Drawn with Pillow on a 16:9 canvas. Every sentence comes in `GifText`, translated by the
caller: nothing here reads the session or the reader's language, so a deferred download's
own thread can draw it.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from core import analysis

SIZE = (960, 540)
MARGIN = 28
INK, GREY, CHOSEN, OTHER, PALE = "#212529", "#868e96", "#e8590c", "#4263eb", "#edf2ff"
TOP_K = 6                              # candidate words drawn per step


@dataclass(frozen=True)
class Frame:
    """What one step shows."""

    t: int                                        # the step, 0 for the first word
    words: tuple[str, ...]                        # the caption up to and including this step's word
    candidates: tuple[tuple[str, float], ...]     # the most likely next words and their probabilities
    chosen: str                                   # the word taken
    p: float                                      # its probability


@dataclass(frozen=True)
class GifText:
    """The sentences a GIF shows, already in the reader's language."""

    title: str                        # "Inspect · step-through"
    subtitle: str                     # the model and the image
    step_label: str                   # with {t}, {word} and {p}: "Step {t}: took “{word}” (p = {p:.2f})"
    font: str | None = None           # a TrueType file with the language's glyphs; None: Pillow's own


def frames_of(steps, idx_to_word, k: int = TOP_K) -> list[Frame]:
    """A decoder's steps (`core.decoding.DecodeStep`) as frames: the k likeliest words of each
    step, and the word taken added when it is not among them."""
    frames, words = [], []
    for step in steps:
        chosen = idx_to_word[step.chosen]
        words.append(chosen)
        ids, probs = analysis.top_k(step.probs, k)
        candidates = [(idx_to_word[int(i)], float(p)) for i, p in zip(ids, probs)]
        if step.chosen not in [int(i) for i in ids]:
            candidates.append((chosen, float(step.probs[step.chosen])))
        frames.append(Frame(step.t, tuple(words), tuple(candidates), chosen, float(step.probs[step.chosen])))
    return frames


@lru_cache(maxsize=16)
def _font(path: str | None, size: int):
    if path:
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            pass
    return ImageFont.load_default(size)


def _wrapped(draw: ImageDraw.ImageDraw, words, font, width: int) -> list[list[str]]:
    """The words in lines no wider than `width`."""
    lines, line = [], []
    for word in words:
        if line and draw.textlength(" ".join(line + [word]), font=font) > width:
            lines.append(line)
            line = []
        line.append(word)
    return lines + ([line] if line else [])


def _frame(picture: Image.Image | None, frame: Frame, text: GifText) -> Image.Image:
    canvas = Image.new("RGB", SIZE, "white")
    draw = ImageDraw.Draw(canvas)
    title, small, body, bar = (_font(text.font, s) for s in (30, 18, 26, 20))
    draw.text((MARGIN, 18), text.title, fill=INK, font=title)
    draw.text((MARGIN, 58), text.subtitle, fill=GREY, font=small)
    top, box = 100, 380
    if picture is not None:
        scale = box / max(picture.size)                      # small demo images grow, blocky
        shown = picture.resize((round(picture.width * scale), round(picture.height * scale)),
                               Image.Resampling.NEAREST if scale > 1 else Image.Resampling.LANCZOS)
        canvas.paste(shown, (MARGIN + (box - shown.width) // 2, top))
    left = MARGIN + box + 32
    width = SIZE[0] - left - MARGIN
    draw.text((left, top), text.step_label.format(t=frame.t, word=frame.chosen, p=frame.p), fill=INK, font=small)
    y = top + 34
    words = ["<START>", *frame.words]
    k = 0
    for line in _wrapped(draw, words, body, width):
        x = left
        for word in line:
            w = draw.textlength(word, font=body)
            if k == len(words) - 1:                              # the newest word
                draw.rounded_rectangle((x - 4, y - 2, x + w + 4, y + 32), radius=6, fill=CHOSEN)
                draw.text((x, y), word, fill="white", font=body)
            else:
                draw.text((x, y), word, fill=GREY if k == 0 else INK, font=body)
            x += w + draw.textlength(" ", font=body)
            k += 1
        y += 38
    y += 14
    label_width = 130
    for word, p in frame.candidates:
        colour = CHOSEN if word == frame.chosen else OTHER
        right = left + label_width
        draw.text((right - 8 - draw.textlength(word, font=bar), y), word, fill=INK, font=bar)
        length = int((width - label_width - 70) * p)
        draw.rectangle((right, y + 2, right + max(length, 1), y + 24), fill=colour)
        draw.text((right + length + 6, y), f"{p:.2f}", fill=GREY, font=bar)
        y += 32
        if y > SIZE[1] - 34:
            break
    return canvas


def step_gif(picture: bytes | Image.Image | None, frames: list[Frame], text: GifText,
             ms_per_frame: int = 1200, last_ms: int = 3000) -> bytes:
    """The frames as an animated GIF that loops, the last frame held longer."""
    if not frames:
        raise ValueError("a step-through GIF needs at least one step")
    if isinstance(picture, bytes):
        picture = Image.open(io.BytesIO(picture))
    if picture is not None:
        picture = picture.convert("RGB")
    images = [_frame(picture, f, text) for f in frames]
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:], loop=0,
                   duration=[ms_per_frame] * (len(images) - 1) + [last_ms])
    return buffer.getvalue()
