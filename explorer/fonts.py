"""Fonts for the text matplotlib draws: Chinese and Korean glyphs, not boxes.

The browser draws the app's own text with its fonts; pictures made on the server
(matplotlib) need a font that has the glyphs. `figure_text(message)` is `message` in the
reader's language when a CJK font is installed (Debian's `fonts-noto-cjk`: `apt-get
install fonts-noto-cjk`, which `.ci/run` installs), and the English message when none is:
a readable English label rather than a row of boxes. Drawn with `fontfamily=families()`,
such text takes its Latin letters from matplotlib's own font and each CJK glyph from the
CJK one (no process-wide matplotlib setting is changed).
"""
from __future__ import annotations

from functools import lru_cache

from explorer.i18n import _, language

# the regional face first: the same Noto family has every glyph, in each region's forms
CJK_FAMILIES = {
    "zh": ["Noto Sans CJK SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "Noto Sans CJK KR", "Noto Sans CJK JP"],
    "ko": ["Noto Sans CJK KR", "Source Han Sans K", "NanumGothic", "Noto Sans CJK SC", "Noto Sans CJK JP"],
}


@lru_cache(maxsize=None)
def cjk_family(lang: str) -> str | None:
    """The installed font family that draws `lang`'s glyphs, or None."""
    installed = _installed_families()
    return next((name for name in CJK_FAMILIES.get(lang, []) if name in installed), None)


@lru_cache(maxsize=None)
def _installed_families() -> frozenset[str]:
    """The font families matplotlib can draw with, fonts installed since it wrote its font
    cache included: matplotlib reads that cache and never looks at the system again, so
    `apt-get install fonts-noto-cjk` on a machine that had drawn a figure before would
    otherwise change nothing. Such fonts are added to matplotlib's font list (once, 10 ms)."""
    from matplotlib import font_manager

    manager = font_manager.fontManager
    known = {f.fname for f in manager.ttflist}
    for path in font_manager.findSystemFonts():
        if path not in known:
            try:
                manager.addfont(path)
            except Exception:          # noqa: BLE001 - a font matplotlib cannot read is not one to draw with
                pass
    return frozenset(f.name for f in manager.ttflist)


@lru_cache(maxsize=None)
def families() -> tuple[str, ...]:
    """The font families for a figure's text: matplotlib's default sans-serif face, then the
    installed CJK faces. Latin text keeps its look, and a glyph that face lacks is taken
    from the next (matplotlib's font fallback; each face has Chinese and Korean glyphs)."""
    from matplotlib import font_manager

    latin = font_manager.FontProperties(family=["sans-serif"]).get_name()
    return (latin, *[f for f in dict.fromkeys((cjk_family("zh"), cjk_family("ko"))) if f])


def figure_text(message: str) -> str:
    """`message` for a matplotlib figure: translated when the language's glyphs can be drawn
    (draw it with `fontfamily=families()`), else English."""
    if language() == "en" or cjk_family(language()):
        return _(message)
    return message


def font_file() -> str | None:
    """A TrueType file that draws the reader's language (for pictures drawn with Pillow): the
    language's CJK face, else matplotlib's own sans-serif; None when neither is found."""
    return _font_file(language())


@lru_cache(maxsize=None)
def _font_file(lang: str) -> str | None:
    """`font_file` for `lang`, looked up once (Inspect asks on every run, for its GIF's text)."""
    from matplotlib import font_manager

    family = cjk_family(lang) if lang != "en" else None
    try:
        return font_manager.findfont(font_manager.FontProperties(family=family or "sans-serif"),
                                     fallback_to_default=True)
    except Exception:              # a broken font cache: Pillow's own font will do
        return None
