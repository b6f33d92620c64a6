"""The app's languages: catalogues complete and consistent, messages translated at run time."""
from __future__ import annotations

import pickle

import pytest

from core.text import Message, message
from explorer import fonts, i18n
from explorer.i18n import _, n_
from tools.i18n_catalogues import extract, placeholders

TRANSLATED = ["zh", "ko"]


@pytest.fixture(autouse=True)
def english_afterwards():
    yield
    i18n.use("en")


@pytest.fixture(scope="module")
def template():
    return extract()


def catalogue(lang: str):
    return i18n.read_catalogue(lang)


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_message_of_the_code_has_a_translation_with_the_same_placeholders(template, lang):
    catalog = catalogue(lang)
    missing, empty, differ = [], [], []
    for entry in template:
        if not entry.id:
            continue
        found = catalog.get(entry.id, context=entry.context)
        if found is None:
            missing.append(entry.id)
            continue
        strings = found.string if isinstance(found.string, (list, tuple)) else (found.string,)
        ids = entry.id if isinstance(entry.id, (list, tuple)) else (entry.id,)
        if not all(strings) or "fuzzy" in found.flags:
            empty.append(ids[0])
        differ += [(ids[0], s) for s in strings if s and placeholders(s) not in (placeholders(ids[0]), placeholders(ids[-1]))]
    assert not missing, f"{len(missing)} messages not in the {lang} catalogue (run make translations): {missing[:5]}"
    assert not empty, f"{len(empty)} messages untranslated in {lang}: {empty[:5]}"
    assert not differ, f"placeholders differ in {lang}: {differ[:5]}"
    assert len(template) > 300                          # the extraction saw the app's sentences


def test_a_message_is_its_english_sentence_and_keeps_its_template_through_a_pickle():
    m = message("{n:,} captions in {split}", n=1234, split="train")
    assert m == "1,234 captions in train" and isinstance(m, str)
    assert (m.template, m.values) == ("{n:,} captions in {split}", {"n": 1234, "split": "train"})
    back = pickle.loads(pickle.dumps(m))
    assert isinstance(back, Message) and back == m and back.template == m.template


def test_translation_follows_the_threads_language_and_english_is_the_message_itself():
    i18n.use("en")
    assert _("Language") == "Language"
    translated = {}
    for lang in TRANSLATED:
        i18n.use(lang)
        translated[lang] = _("Language")
    assert translated["zh"] == "语言" and translated["ko"] == "언어", translated
    with pytest.raises(ValueError, match="language must be one of"):
        i18n.use("fr")


def test_plural_forms_follow_each_language():
    i18n.use("en")
    assert n_("{n} word", "{n} words", 1) == "{n} word" and n_("{n} word", "{n} words", 2) == "{n} words"
    assert i18n.translations("zh").plural(5) == 0 and i18n.translations("ko").plural(1) == 0  # one form each


def test_a_core_message_is_translated_from_its_template_with_its_own_values():
    entry = next(e for e in catalogue("zh") if isinstance(e.id, str) and e.string and placeholders(e.id)
                 and all(name.isidentifier() and not spec for name, spec in placeholders(e.id)))
    values = {name: "X" for name, _spec in placeholders(entry.id)}
    english = message(entry.id, **values)
    i18n.use("zh")
    assert _(english) == entry.string.format(**values) != str(english)


def test_the_browsers_language_picks_the_apps():
    assert [i18n.from_browser(x) for x in ("zh-CN", "zh_TW", "ko-KR", "ko", "en-GB", "fr-FR", "", None)] == \
        ["zh", "zh", "ko", "ko", "en", "en", "en", "en"]


def test_numbers_are_written_the_readers_way():
    i18n.use("en")
    assert i18n.number(12345.678, 1) == "12,345.7" and i18n.number(3) == "3"
    i18n.use("ko")
    assert i18n.number(12345.678, 1) == "12,345.7"


def test_figure_text_is_translated_where_a_cjk_font_draws_it_and_english_where_none_does(monkeypatch):
    i18n.use("zh")
    if fonts.cjk_family("zh") is None:
        assert fonts.figure_text("Language") == "Language"
    else:
        assert fonts.figure_text("Language") == "语言"
    monkeypatch.setattr(fonts, "cjk_family", lambda lang: None)       # a machine without the font
    assert fonts.figure_text("Language") == "Language"


def test_a_figure_draws_chinese_and_korean_glyphs_with_the_cjk_font(tmp_path):
    import warnings

    from matplotlib.figure import Figure

    if fonts.cjk_family("zh") is None:
        message = "no CJK font installed (apt-get install fonts-noto-cjk)"
        if __import__("os").environ.get("CI"):
            pytest.fail(f"mandatory in CI: {message}")
        pytest.skip(message)
    fig = Figure(figsize=(4, 1))
    fig.add_subplot().set_xlabel("特征维度 특징 차원 feature", fontfamily=fonts.families())
    with warnings.catch_warnings():
        warnings.simplefilter("error")                 # matplotlib warns for every missing glyph
        fig.savefig(tmp_path / "label.png")
    assert fonts.families()[0] == "DejaVu Sans" and len(fonts.families()) > 1


@pytest.mark.parametrize("lang", TRANSLATED)
def test_pybabel_compiles_the_catalogue_with_no_error(tmp_path, lang):
    import subprocess
    import sys
    from pathlib import Path

    po = i18n.catalogue_path(lang)
    pybabel = Path(sys.executable).with_name("pybabel")
    done = subprocess.run([str(pybabel), "compile", "-i", str(po), "-o", str(tmp_path / "out.mo"), "-l", lang],
                          capture_output=True, text=True)
    assert done.returncode == 0 and "error" not in done.stderr, done.stderr
    assert (tmp_path / "out.mo").stat().st_size > 10_000


@pytest.mark.parametrize("lang", ["zh", "ko"])
def test_no_bold_text_that_markdown_cannot_close(lang):
    """`**问题。**{prompt}` shows its asterisks: a closing ** right after punctuation must be
    followed by a space or punctuation, which Chinese and Korean text easily forgets."""
    import re
    closing = re.compile(r"(?<=[。．：！？，、）」』.:!?,)\]])\*\*(?=[{\w\u3000-\u9fff\uac00-\ud7af])")
    broken = []
    for entry in i18n.read_catalogue(lang):
        texts = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        for text in filter(None, texts):
            if any(text[:m.start()].count("**") % 2 == 1 for m in closing.finditer(text)):
                broken.append(text)
    assert broken == []


def test_a_font_installed_after_matplotlib_wrote_its_cache_is_found(monkeypatch):
    from matplotlib import font_manager

    system = [p for p in font_manager.findSystemFonts()
              if any(f.fname == p for f in font_manager.fontManager.ttflist)]
    if not system:
        message = "no system font to test with (apt-get install fonts-noto-cjk)"
        if __import__("os").environ.get("CI"):
            pytest.fail(f"mandatory in CI: {message}")
        pytest.skip(message)
    path = system[0]
    # as on a machine where matplotlib's cache was written before the font was installed
    monkeypatch.setattr(font_manager.fontManager, "ttflist",
                        [f for f in font_manager.fontManager.ttflist if f.fname != path])
    fonts._installed_families.cache_clear()
    try:
        found = fonts._installed_families()
        back = [f.name for f in font_manager.fontManager.ttflist if f.fname == path]
        assert back and set(back) <= found
    finally:
        fonts._installed_families.cache_clear()
        fonts.cjk_family.cache_clear()
