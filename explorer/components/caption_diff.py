"""A sampled caption against its ground-truth captions, shared n-grams highlighted, with BLEU.

A word is shaded by the longest n-gram (n = 1..4) it belongs to that the other side also
contains: pale for a shared word, dark for a shared 4-gram. In the sample, "the other
side" is any reference; in a reference, it is the sample. That is what BLEU counts.
"""
from __future__ import annotations

import functools
import html

import streamlit as st

from core.metrics import ngram_matches
from explorer.i18n import N_, _, language

BLEU_NOTE = N_("Sentence BLEU is smoothed: an n-gram length with no match counts 0.1 of a match, which "
               "weighs more where a short caption has fewer n-grams of that length, so its BLEU-3 or "
               "BLEU-4 can come out a little above the score before it. A caption that shares no word "
               "with the references scores 0.")
SHADES = {0: ("transparent", "inherit"), 1: ("#dbe4ff", "#1c2a5a"), 2: ("#91a7ff", "#10194a"),
          3: ("#4c6ef5", "#ffffff"), 4: ("#364fc7", "#ffffff")}


def highlighted(words: list[str], others: list[list[str]], size: str = "1.2rem") -> str:
    """HTML for `words`, each shaded by the longest n-gram it shares with any of `others`."""
    if not words:
        empty = html.escape(_("(empty caption)"))
        return f'<span style="font-size:{size};color:#868e96">{empty}</span>'
    levels = _levels(tuple(words), tuple(map(tuple, others))) if others else [0] * len(words)
    titles = {n: html.escape(_("in a shared {n}-gram").format(n=n) if n else _("not in any reference"))
              for n in set(levels)}
    spans = []
    for word, n in zip(words, levels):
        bg, ink = SHADES[n]
        spans.append(f'<span title="{titles[n]}" '
                     f'style="background:{bg};color:{ink};padding:0.05em 0.12em;border-radius:0.2em">'
                     f'{html.escape(word)}</span>')
    return f'<span style="font-size:{size};line-height:1.75">{" ".join(spans)}</span>'


@functools.lru_cache(maxsize=4096)
def _levels(words: tuple, others: tuple) -> tuple[int, ...]:
    """`ngram_matches` of a caption against others, kept for the process: every rerun of every
    session shades the same samples against the same references (Compare's side-by-side tab
    shades up to 11 captions on every run, whose n-gram sets took about 2 ms of its 27)."""
    return tuple(ngram_matches(words, others))


def legend_html() -> str:
    names = {n: html.escape(_("shared {n}-gram").format(n=n)) for n in range(1, 5)}
    items = " ".join(f'<span style="background:{SHADES[n][0]};color:{SHADES[n][1]};padding:0.1em 0.4em;'
                     f'border-radius:0.2em">{names[n]}</span>' for n in range(1, 5))
    legend = _("Shading: {items} · unshaded: in no reference").format(items=items)
    return f'<div style="font-size:1rem">{legend}</div>'


def bleu_html(bleu) -> str:
    cells = "".join(f'<span style="white-space:nowrap"><b>BLEU-{n}</b> {b:.2f}</span>'
                    for n, b in enumerate(bleu, start=1))
    note = html.escape(_(BLEU_NOTE))
    return (f'<div title="{note}" style="font-size:1.1rem;display:flex;flex-wrap:wrap;column-gap:1.1em">'
            f'{cells}<span style="color:#868e96;cursor:help">ⓘ</span></div>')


def caption_against_references(words: list[str], references: list[list[str]], bleu=None, *,
                               note: str = "") -> None:
    """The sample (shaded by what the references share), then every reference (shaded by what
    the sample shares), then BLEU-1..4."""
    st.html(against_html(words, references, bleu, note=note))


def against_html(words: list[str], references: list[list[str]], bleu=None, *, note: str = "") -> str:
    """The HTML `caption_against_references` draws (for a page that puts it in an element of its own)."""
    return _against_html(tuple(words), tuple(tuple(r) for r in references),
                         None if bleu is None else tuple(float(b) for b in bleu), note, language())


@functools.lru_cache(maxsize=4096)
def _against_html(words: tuple, references: tuple, bleu: tuple | None, note: str, lang: str) -> str:
    """The HTML of `caption_against_references`: the same for every session that looks at the
    same captions in the same language (`lang`, this run's), so it is written once (matching
    n-grams is most of a Compare rerun)."""
    words, references = list(words), [list(r) for r in references]
    sampled = html.escape(_("Sampled{note}:").format(note=note))
    parts = [f'<div style="margin-bottom:0.3em"><span style="font-size:0.95rem;color:#495057">'
             f'{sampled}</span><br>{highlighted(words, references, "1.35rem")}</div>']
    truth = html.escape(_("Ground truth:"))
    parts.append(f'<div style="font-size:0.95rem;color:#495057">{truth}</div>'
                 '<ol style="margin:0 0 0.4em 1.2em;padding:0">')
    for ref in references:
        parts.append(f"<li>{highlighted(ref, [words], '1.05rem')}</li>")
    parts.append("</ol>")
    if bleu is not None:
        parts.append(bleu_html(bleu))
    return "".join(parts)
