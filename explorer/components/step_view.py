"""Step-through sampling: one word at a time, with the state, the distribution and "what if".

The `StepDecoder` lives in session state and is stepped in place, never rebuilt on a
rerun: `current_decoder` makes a new one only when the model or image changes, and
carries the position (and any forced words) over when only the strategy, temperature
or seed changes. The address holds the step on show and the sampling settings
(`?t=3&strategy=temperature&temperature=0.7&seed=3`), so a link or a reload opens the same
step. `step_through` is a fragment, so Step, Back and Play rerun only this panel; Play
reruns it on a timer until the caption ends.
"""
from __future__ import annotations

import contextlib
import html
import re
from dataclasses import dataclass

import streamlit as st

from core import analysis
from core.data.characters import SPACE, is_characters, join_characters, join_tokens, shown
from core.decoding import StepDecoder
from explorer import address, presenter, state
from explorer.components.caption_diff import highlighted
from explorer.components.charts import chart_pair, next_word_bars
from explorer.components.exports import Slide
from explorer.components.heatmaps import state_strips
from explorer.components.image_picker import PICTURE, ImageChoice, references_of, show_image
from explorer.components.step_gif import GifText, frames_of, step_gif
from explorer.components.model_picker import PickedModel
from explorer.fonts import font_file
from explorer.i18n import N_, _, n_

DECODER = "inspect.decoder"            # the StepDecoder being stepped
DECODER_SPEC = "inspect.decoder_spec"  # what it was built for: (model, image, strategy, temperature, seed)
PLAYING = "inspect.playing"            # True while Play steps on a timer
SPEED = "inspect.play_speed"           # seconds per word while playing
TOP_K = "inspect.top_k"                # how many candidate words the bar chart shows
FORCE_WORD = "inspect.force_word"      # the word picked in "what if"
FORCE_FOR = "inspect.force_for"        # the (step, word) the "what if" default was set for
STRATEGY = "inspect.strategy"
TEMPERATURE = "inspect.temperature"
SEED = "inspect.seed"

MAX_LENGTH = 20                        # words at most: COCO captions have up to 16
CHARACTER_MAX_LENGTH = 120             # characters at most: the demo's longest caption has 94
MAX_SEED = 10_000
SPEEDS = (0.25, 0.5, 1.0, 2.0)
STRATEGY_NAMES = {"greedy": N_("Greedy (most likely word)"), "temperature": N_("Temperature sampling")}


@dataclass(frozen=True)
class DecodeSettings:
    strategy: str                      # "greedy" or "temperature"
    temperature: float
    seed: int


def _linked_settings() -> None:
    """Seed the controls with the strategy, temperature and seed the address opened with."""
    strategy, temperature, seed = (address.take(name) for name in ("strategy", "temperature", "seed"))
    wrong = []
    if strategy is not None:
        if strategy in STRATEGY_NAMES:
            st.session_state[STRATEGY] = strategy
        else:
            wrong.append("strategy")
    if temperature is not None:
        if re.fullmatch(r"\d(\.\d{1,3})?", temperature.strip()) and 0.1 <= float(temperature) <= 3.0:
            st.session_state[TEMPERATURE] = round(float(temperature), 1)
        else:
            wrong.append("temperature")
    if seed is not None:
        if address.whole_number(seed, 0, MAX_SEED) is not None:
            st.session_state[SEED] = int(seed)
        else:
            wrong.append("seed")
    if wrong:
        address.problem(_("The link's {names} cannot be used (strategy is greedy or temperature, temperature a "
                          "number from 0.1 to 3, seed a whole number from 0 to {most:,}): the default is "
                          "used instead.").format(names=", ".join(wrong), most=MAX_SEED))


def decoding_controls() -> DecodeSettings:
    """Greedy or temperature sampling, with its temperature and seed (the address says which)."""
    _linked_settings()
    strategy = st.segmented_control(
        _("Sampling"), ("greedy", "temperature"), key=STRATEGY, default="greedy", required=True,
        persist_state="session", format_func=lambda s: _(STRATEGY_NAMES[s]),
        help=_("Greedy takes the most likely word every step. Temperature sampling draws the word "
               "from softmax(scores / T): T < 1 sharpens the distribution, T > 1 flattens it."))
    row = st.container(horizontal=True)           # side by side: one element, not two columns
    temperature = row.slider(_("Temperature T"), 0.1, 3.0, 1.0, 0.1, key=TEMPERATURE, persist_state="session",
                           disabled=strategy == "greedy")
    seed = row.number_input(_("Seed"), 0, MAX_SEED, 0, key=SEED, persist_state="session",
                          disabled=strategy == "greedy",
                          help=_("The same seed draws the same words, so stepping back and forth is "
                                 "repeatable."))
    address.show("strategy", strategy)
    if strategy == "temperature":
        address.show("temperature", f"{temperature:g}")
        address.show("seed", int(seed))
    return DecodeSettings(strategy, float(temperature), int(seed))


def current_decoder(picked: PickedModel, image: ImageChoice, settings: DecodeSettings) -> StepDecoder:
    """The session's decoder for this model and image, rebuilt only when they or the settings change."""
    spec = (picked.key, image.key, settings.strategy,
            settings.temperature if settings.strategy == "temperature" else None,
            settings.seed if settings.strategy == "temperature" else None)
    decoder, old = st.session_state.get(DECODER), st.session_state.get(DECODER_SPEC)
    if decoder is None or old != spec:
        new = StepDecoder(picked.model, image.feature, settings.strategy, settings.temperature,
                          settings.seed, max_length=_max_length(picked.model), key=image.image)
        if decoder is not None and old is not None and old[:2] == spec[:2]:
            new.replay(decoder.steps)        # same model and image: keep the position
        else:
            st.session_state[PLAYING] = False
        st.session_state[DECODER], st.session_state[DECODER_SPEC] = new, spec
    decoder = st.session_state[DECODER]
    linked = address.take("t")
    if linked is not None:
        last = _max_length(decoder.model) - 1
        t = address.whole_number(linked, 0, last)
        if t is None:
            address.problem(_("The link's step `t` must be a whole number from 0 to {last}: step-through starts "
                              "from the beginning.").format(last=last))
        else:
            decoder.reset()
            while decoder.t <= t and not decoder.finished:
                decoder.step()
    return decoder


def _max_length(model) -> int:
    """Steps at most: a character model writes one letter or space a step."""
    return CHARACTER_MAX_LENGTH if is_characters(model.idx_to_word) else MAX_LENGTH


# --- the caption so far --------------------------------------------------------------

def caption_html(words: list[str], forced: list[bool], *, current: int | None = None,
                 size: str = "1.6rem") -> str:
    """<START> and the words as chips: word `current` (default: the newest) in orange, forced ones marked ✎."""
    current = len(words) - 1 if current is None else current
    chips = ['<span style="color:#868e96">&lt;START&gt;</span>']
    letters = any(word == SPACE for word in words)          # a character model's: one chip per character
    for k, (word, was_forced) in enumerate(zip(words, forced)):
        word = shown(word)
        style = ("background:#e8590c;color:#fff;" if k == current else "background:#edf2ff;color:#1c2a5a;")
        if was_forced:
            style += "outline:3px dashed #ae3ec9;outline-offset:1px;"
        mark = "✎ " if was_forced else ""
        chips.append(f'<span style="{style}padding:0.1em 0.4em;border-radius:0.3em">'
                     f'{mark}{html.escape(word)}</span>')
    return (f'<div style="font-size:{size};line-height:2.2;display:flex;flex-wrap:wrap;'
            f'gap:{"0.12em" if letters else "0.35em"}">' + "".join(chips) + "</div>")


def references_html(references: list[list[str]], words: list[str]) -> str:
    """The image's ground-truth captions, small, under the caption being sampled: each word
    shaded by the longest n-gram it shares with the caption so far."""
    sampled = [w for w in join_characters(words) if w != "<END>"] if SPACE in words else \
        [w for w in words if w != "<END>"]
    if not references:
        return (f'<div style="font-size:0.9rem;color:#868e96">'
                f'{html.escape(_("This picture has no ground-truth captions."))}</div>')
    heading = html.escape(n_("Ground truth ({n} caption):", "Ground truth ({n} captions):",
                             len(references)).format(n=len(references)))
    items = "".join(f'<li>{highlighted(ref, [sampled] if sampled else [], "0.95rem")}</li>' for ref in references)
    return (f'<div style="font-size:0.9rem;color:#495057">{heading}'
            f'<ol style="margin:0 0 0.2em 1.3em;padding:0;line-height:1.25">{items}</ol></div>')


def _caption_text(steps, idx_to_word, start: int = 0) -> str:
    """The caption the steps from `start` on wrote: words, or characters run together."""
    return join_tokens([idx_to_word[s.chosen] for s in steps[start:]], idx_to_word).strip() or _("(nothing more)")


# --- the panel -----------------------------------------------------------------------

def _paused(action) -> None:
    """A button's callback: stop Play, then move the decoder (`action`, one of its methods)."""
    st.session_state[PLAYING] = False
    action()


def _toggle_play(decoder: StepDecoder) -> None:
    st.session_state[PLAYING] = not st.session_state.get(PLAYING, False) and not decoder.finished


def _force(decoder: StepDecoder, at: int) -> None:
    st.session_state[PLAYING] = False
    decoder.force(int(st.session_state[FORCE_WORD]), at=at)


def _gif_download(decoder: StepDecoder, image: ImageChoice, picked: PickedModel | None) -> None:
    """A button that downloads the whole caption, decoded on from here, as an animated GIF: one
    frame per step (drawn only when pressed, in Streamlit's download thread)."""
    slide = Slide.of("inspect", "step-through", _("Sampling word by word"), picked=picked, image=image)
    text = GifText(slide.title, slide.subtitle, _("Step {t}: took “{word}” (p = {p:.2f})"), font_file())
    if image.picture is not None:
        picture = image.picture
    else:
        fetched = state.image_fetcher().picture(image.url, PICTURE)
        picture = fetched.data if fetched.ok else None
    itw = decoder.model.idx_to_word
    ahead = decoder.snapshot()                  # decoded on only when pressed: a rerun costs no model steps
    st.download_button(_("GIF"), lambda: step_gif(picture, frames_of(ahead.snapshot().run(), itw), text),
                       file_name=f"{slide.name}.gif", mime="image/gif", on_click="ignore",
                       icon=":material/download:", key="inspect.gif",
                       help=_("The whole caption as an animated GIF for a slide: one frame per step, with the "
                              "image, the caption so far and the next-word bars."))


def _controls(decoder: StepDecoder, playing: bool, image: ImageChoice, picked: PickedModel | None,
              compact: bool = False) -> None:
    # a row that wraps on a narrow screen, so no button's label is ever cut short
    with st.container(horizontal=True, vertical_alignment="bottom", gap="small"):
        if not compact:                  # on a projector Back does it, one word at a time
            st.button(_("Reset"), icon=":material/first_page:", on_click=_paused, args=(decoder.reset,),
                      key="inspect.reset", disabled=not decoder.steps)
        st.button(_("Back"), icon=":material/chevron_left:", on_click=_paused, args=(decoder.back,),
                  key="inspect.back", disabled=not decoder.steps, shortcut="Left")
        st.button(_("Step"), icon=":material/chevron_right:", on_click=_paused, args=(decoder.step,),
                  key="inspect.step", type="primary", disabled=decoder.finished, shortcut="Right")
        st.button(_("Pause") if playing else _("Play"), icon=":material/pause:" if playing else ":material/play_arrow:",
                  on_click=_toggle_play, args=(decoder,), key="inspect.play",
                  disabled=decoder.finished and not playing, shortcut="P")
        st.button(_("To the end"), icon=":material/last_page:", on_click=_paused, args=(decoder.run,),
                  key="inspect.finish", disabled=decoder.finished)
        if compact:                      # a projector: what if and the state fold into this row
            if decoder.steps:
                with st.popover(_("What if?"), icon=":material/edit:"):
                    _what_if(decoder, decoder.steps[-1])
                with st.popover(_("The state"), icon=":material/grid_on:"):
                    _state(decoder.steps[-1], image, picked)
        else:
            st.select_slider(_("Play speed"), SPEEDS, value=0.5, key=SPEED, persist_state="session", width=240,
                             format_func=lambda s: _("{s:g} s per word").format(s=s))
        _gif_download(decoder, image, picked)


def _what_if(decoder: StepDecoder, step) -> None:
    """Pick another word for the step on show, and see where decoding goes from there."""
    model = decoder.model
    itw = model.idx_to_word
    at = step.t
    order, _probs = analysis.top_k(step.probs, len(step.probs))
    options = [int(i) for i in order if itw[int(i)] not in ("<NULL>", "<START>")]
    if st.session_state.get(FORCE_FOR) != (at, step.chosen):
        runner_up = next((i for i in options if i != step.chosen), options[0])
        st.session_state[FORCE_WORD] = runner_up
        st.session_state[FORCE_FOR] = (at, step.chosen)
    st.markdown(_("#### What if step {at} took another word?").format(at=at))
    st.caption(_("Words are listed from most to least likely at this step."))
    word = st.selectbox(_("Word to use instead"), options, key=FORCE_WORD,
                        format_func=lambda i: f"{shown(itw[i])}  (p = {step.probs[i]:.3f})")
    st.button(_("Use “{word}” at step {at}").format(word=shown(itw[word]), at=at), icon=":material/edit:",
              on_click=_force, args=(decoder, at), key="inspect.force", width="stretch")
    ahead = decoder.continuation()
    st.markdown(_("**From here the model goes on:** {caption}").format(
        caption=html.escape(_caption_text(ahead, itw, decoder.t))))
    if any(s.forced for s in decoder.steps):
        st.markdown(_("**Without your forced words it said:** {caption}").format(
            caption=html.escape(_caption_text(decoder.unforced(), itw))))


def _panel(decoder: StepDecoder, image: ImageChoice, references: list[list[str]], picked: PickedModel | None,
           timer_on: bool) -> None:
    playing = st.session_state.get(PLAYING, False)
    if playing:
        decoder.step()
        if decoder.finished:
            st.session_state[PLAYING] = playing = False
    if playing != timer_on:
        st.rerun()                                 # start or stop the timer: a full rerun
    itw = decoder.model.idx_to_word
    address.show("t", decoder.steps[-1].t if decoder.steps else None)   # the step on show, as its heading numbers it
    compact = presenter.on()            # a projector: picture, caption and bars in one row, the rest folded
    _controls(decoder, playing, image, picked, compact)
    if compact:
        left, right, bars_column = st.columns([1, 2, 2], gap="medium")
    else:
        left, right = st.columns([1, 4], gap="medium")
    with left:
        show_image(image)
    with right:
        st.html(caption_html(decoder.words(), [s.forced for s in decoder.steps],
                             size="1.05rem" if compact else "1.6rem"))
        with st.expander(_("The true captions")) if compact else contextlib.nullcontext():
            st.html(references_html(references, decoder.words()))
        if not decoder.steps:
            st.info(_("Press **Step** (or the → key) to feed `<START>` and see the distribution "
                      "over the first word."), icon=":material/touch_app:")
            return
        step = decoder.steps[-1]
        rank = analysis.rank_of(step.probs, step.chosen)
        how = (_("you forced it") if step.forced
               else _("drawn") if decoder.strategy == "temperature" else _("the most likely"))
        heading = _("### Step {t}: read “{read}” → took “{took}”").format(
            t=step.t, read=shown(itw[step.input_token]), took=shown(itw[step.chosen]))
        if compact:
            heading = "##" + heading                   # a smaller heading: the row is narrow
        detail = _("p = **{p:.3f}** ({how}; rank {rank} of {V:,}) · entropy **{entropy:.2f}** nats "
                   "(uniform would be {uniform:.2f})").format(
            p=step.probs[step.chosen], how=how, rank=rank, V=len(step.probs),
            entropy=analysis.entropy(step.probs),
            uniform=analysis.entropy([1 / len(step.probs)] * len(step.probs)))
        done = "  \n" + _("The caption is complete.") if decoder.finished else ""
        # on a projector the numbers go under the bars: a long caption's chips take the column's height
        st.markdown(f"{heading}\n{done}" if compact else f"{heading}\n{detail}{done}")
    if compact:
        bars = bars_column
    else:
        bars_and_what_if = chart_pair()
        bars, what_if = bars_and_what_if.cell(), bars_and_what_if.cell()
    with bars:
        k = (min(st.session_state.get(TOP_K, 10), 5) if compact
             else st.slider(_("Words shown"), 3, 20, 10, key=TOP_K, persist_state="session"))
        ids, probs = analysis.top_k(step.probs, k)
        ids, probs = list(ids), list(probs)
        if step.chosen not in ids:                 # a drawn or forced word outside the top k
            ids.append(step.chosen)
            probs.append(step.probs[step.chosen])
        words = [shown(itw[int(i)]) if int(i) != step.chosen or rank <= k
                 else _("{word} (rank {rank})").format(word=shown(itw[int(i)]), rank=rank)
                 for i in ids]
        next_word_bars(words, probs, [int(i) == step.chosen for i in ids],
                       slide=Slide.of("inspect", "next-word", _("After reading “{word}”: the next word").format(
                           word=itw[step.input_token]), picked=picked, image=image, names=(f"step-{step.t}",)))
        if compact:
            st.markdown(detail)
    if not compact:
        with what_if:
            _what_if(decoder, step)
        _state(step, image, picked)


def _state(step, image: ImageChoice, picked: PickedModel | None) -> None:
    """The hidden state (and an LSTM's cell and gates) after `step`, as strips."""
    st.markdown(_("#### The state after this step"))
    rows = {"h": step.h}
    if step.c is not None:
        rows.update({"c": step.c, **step.gates})
    state_strips(rows, slide=Slide.of("inspect", "state", _("The state after step {t}").format(t=step.t),
                                      picked=picked, image=image, names=(f"step-{step.t}",)))
    st.caption(n_("{n} hidden unit, left to right. Blue is -1, white 0, red +1; gates run from 0 "
                  "(closed, dark purple) to 1 (open, yellow). Hover a cell for its value.",
                  "{n} hidden units, left to right. Blue is -1, white 0, red +1; gates run from 0 "
                  "(closed, dark purple) to 1 (open, yellow). Hover a cell for its value.",
                  len(step.h)).format(n=len(step.h)))


def step_through(decoder: StepDecoder, image: ImageChoice, picked: PickedModel | None = None) -> None:
    """The step-through panel: controls, caption so far beside the image's ground-truth captions,
    next-word bars, what if, state strips (their downloads name `picked`'s model and the image)."""
    timer_on = bool(st.session_state.get(PLAYING, False))
    speed = st.session_state.get(SPEED, 0.5)
    references = references_of(state.dataset(), image)
    st.fragment(_panel, run_every=speed if timer_on else None)(decoder, image, references, picked, timer_on)
