"""The app's words in the reader's language: English, 简体中文 or 한국어.

Every sentence a person reads in the app goes through `_` (or `n_` where it counts
something): gettext message catalogues in `locale/<lang>/LC_MESSAGES/caption_lab.po`, which
Babel extracts from the code, updates and compiles (`make translations`; the glossary of
each language is `locale/GLOSSARY.md`). Messages are whole sentences with named
placeholders, so that each language keeps its own word order:

    st.caption(_("{n:,} images from {folder}").format(n=n, folder=folder))
    st.caption(n_("{n} caption", "{n} captions", n).format(n=n))

The language is one per browser tab: chosen in the sidebar (`language_selector`),
remembered in the address (`?lang=zh`) and, on a first visit, taken from the browser's
language (`st.context.locale`). `start()` sets it at the top of every script run, in the
script's own thread, so `_` needs no argument and code outside the app (the run
workers, the command line, `core`) reads English.

What stays English: the dataset's words and special tokens, the notebook's code names,
and exceptions raised by `core` for programmers. `core` marks the sentences it shows to a
person with `core.text.message` (an English `str` that remembers its template), and `_`
translates those too.
"""
from __future__ import annotations

import gettext
import threading
from functools import lru_cache
from pathlib import Path

from core.text import Message

ROOT = Path(__file__).resolve().parents[1]
LOCALE_DIR = ROOT / "locale"
DOMAIN = "caption_lab"
LANGUAGES = {"en": "English", "zh": "简体中文", "ko": "한국어"}   # each in its own words
DEFAULT = "en"
PARAM = "lang"                      # ?lang=zh in the address
KEY = "app.lang"                    # the session's language
BABEL_LOCALES = {"en": "en_US", "zh": "zh_Hans_CN", "ko": "ko_KR"}   # Babel's names, for numbers

_current = threading.local()


# --- the catalogues ------------------------------------------------------------------

def catalogue_path(lang: str) -> Path:
    """Where the catalogue of `lang` lives: `locale/<lang>/LC_MESSAGES/caption_lab.po`."""
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalogue(lang: str):
    """The `.po` catalogue of `lang` as Babel reads it (for the app's fallback, the catalogue
    tool and the tests)."""
    from babel.messages.pofile import read_po

    with open(catalogue_path(lang), "rb") as f:
        return read_po(f, locale=BABEL_LOCALES[lang], domain=DOMAIN)


@lru_cache(maxsize=None)
def translations(lang: str) -> gettext.NullTranslations:
    """The catalogue of `lang`: its compiled `.mo` when that is at least as new as its
    `.po`, else the `.po` compiled in memory (a checkout before `make translations`); no
    catalogue (English) is the messages themselves."""
    po = catalogue_path(lang)
    mo = po.with_suffix(".mo")
    if lang == DEFAULT or not po.exists():
        return gettext.NullTranslations()
    if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
        with open(mo, "rb") as f:
            return gettext.GNUTranslations(f)
    import io

    from babel.messages.mofile import write_mo
    buffer = io.BytesIO()
    write_mo(buffer, read_catalogue(lang))
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def language() -> str:
    """The language of this thread's script run (English outside the app)."""
    return getattr(_current, "lang", DEFAULT)


def use(lang: str) -> None:
    """Read `lang` in this thread from now on (the app's `start()`; a test; a CLI)."""
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {sorted(LANGUAGES)}, not {lang!r}")
    _current.lang = lang


def _(message: str) -> str:
    """`message` in this run's language. A `core.text.Message` is translated from its
    template and filled in with its own values."""
    catalog = translations(language())
    if isinstance(message, Message):
        return catalog.gettext(message.template).format(**{k: _(v) if isinstance(v, Message) else v
                                                            for k, v in message.values.items()})
    return catalog.gettext(message)


def sentence(error: BaseException) -> str:
    """An error's message for a person, as it was raised: a `core.text.Message` keeps its
    template (`str(error)` would not), so it can be shown translated with `_` later."""
    text = error.args[0] if len(error.args) == 1 else None
    return text if isinstance(text, str) else str(error)


def said(error: BaseException) -> str:
    """An error's message in this run's language (translated when it was raised with a
    `core.text.message`; other errors' own words otherwise)."""
    return _(sentence(error))


def p_(context: str, message: str) -> str:
    """`message` in this run's language, where the same English word means two things:
    `p_("a word's count", "count")` and `p_("how many", "count")` are separate entries."""
    return translations(language()).pgettext(context, message)


def n_(singular: str, plural: str, n: int) -> str:
    """The form of `singular`/`plural` for the count `n` in this run's language (Chinese
    and Korean have one form; English two)."""
    return translations(language()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """`message` unchanged, marked for the catalogue: for constants translated where
    they are shown (`_(LABEL)`)."""
    return message


def number(value: float, digits: int | None = None) -> str:
    """`value` written the reader's way (grouping, decimal sign), with `digits` decimals."""
    from babel.numbers import format_decimal
    pattern = None if digits is None else ("#,##0." + "0" * digits if digits else "#,##0")
    return format_decimal(value, format=pattern, locale=BABEL_LOCALES[language()])


# --- choosing it ---------------------------------------------------------------------

def from_browser(locale: str | None) -> str:
    """The app's language for a browser's `Accept-Language`-style locale ("zh-CN", "ko")."""
    code = (locale or "").replace("_", "-").split("-")[0].lower()
    return code if code in LANGUAGES else DEFAULT


def start() -> str:
    """Settle this run's language, at the top of every script run: the session's choice;
    on a first visit the address's `?lang=`, else the browser's language. Keeps the
    address saying it, so a shared link opens in the same language."""
    import streamlit as st

    if st.session_state.get(KEY) not in LANGUAGES:
        given = st.query_params.get(PARAM)
        if given not in LANGUAGES:
            try:
                given = from_browser(st.context.locale)
            except Exception:           # no browser behind this run (AppTest, a bare script)
                given = DEFAULT
        st.session_state[KEY] = given if isinstance(given, str) and given in LANGUAGES else DEFAULT
    lang = st.session_state[KEY]
    if st.query_params.get(PARAM) != lang:
        st.query_params[PARAM] = lang
    use(lang)
    return lang


def language_selector() -> None:
    """The sidebar's language choice (its label in the reader's language, the languages
    each in their own)."""
    import streamlit as st

    st.selectbox(_("Language"), list(LANGUAGES), format_func=LANGUAGES.get, key=KEY,
                 on_change=_switched)


def _switched() -> None:
    import streamlit as st

    use(st.session_state[KEY])
    st.query_params[PARAM] = st.session_state[KEY]
    _resend_choices(st.session_state)


def _is_choice(value) -> bool:
    """True for what a choice widget holds: a str or number, or a list or tuple of them
    (not a bool: a button's or a checkbox's, whose labels have no options)."""
    if isinstance(value, (list, tuple)):
        return all(_is_choice(v) for v in value)
    return isinstance(value, (str, int, float)) and not isinstance(value, bool)


def _resend_choices(session_state) -> None:
    """Write every choice back into the session, so that this run sends it to the browser
    again, in the new language's labels.

    Streamlit's choice widgets (radio, selectbox, segmented control, pills, select slider)
    keep the choice in the browser as its *label*, and send it only when it changes. After
    a switch the labels are the new language's while the browser still holds the old one,
    which matches no option: a radio group showed nothing chosen although the choice held.
    A value written into the session state counts as changed, so the widget sends it anew.
    Buttons, uploads and the like hold other values and are left alone; writing back a
    plain entry (not a widget's) changes nothing."""
    for key in list(session_state.keys()):
        value = session_state[key]
        if _is_choice(value):
            session_state[key] = value
