"""Caption Lab's message catalogues: extract, update, fill, check and compile them.

    python tools/i18n_catalogues.py                 # extract, update zh/ko, check, compile
    python tools/i18n_catalogues.py --parts DIR     # also fill entries from DIR/*.json
    python tools/i18n_catalogues.py --english-left browse   # a page in zh and ko: English left?

The same steps as `make translations` (pybabel extract / update / compile), with the checks
a translator wants after them: every message translated in every language, the same
placeholders in each translation, and no English sentence left on a rendered page. A
parts file is a JSON list of {"msgid", ["msgid_plural"], "zh", "ko"} written by a
translator; its translations replace the catalogue's.
"""
from __future__ import annotations

import argparse
import json
import string
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from babel.messages.catalog import Catalog  # noqa: E402
from babel.messages.extract import extract_from_dir  # noqa: E402
from babel.messages.frontend import parse_mapping_cfg  # noqa: E402
from babel.messages.mofile import write_mo  # noqa: E402
from babel.messages.pofile import write_po  # noqa: E402

from explorer.i18n import BABEL_LOCALES, DOMAIN, LANGUAGES, catalogue_path, read_catalogue  # noqa: E402

KEYWORDS = {"_": None, "n_": (1, 2), "p_": ((1, "c"), 2), "N_": None, "message": None}
TRANSLATED = [lang for lang in LANGUAGES if lang != "en"]


def extract() -> Catalog:
    """Every marked message of explorer/, pages/ and core/ (babel.cfg's method map)."""
    with open(ROOT / "babel.cfg") as f:
        method_map, options_map = parse_mapping_cfg(f)
    template = Catalog(project="Caption Lab", domain=DOMAIN)
    for filename, lineno, msg, comments, context in extract_from_dir(
            ROOT, method_map, options_map, keywords=KEYWORDS, comment_tags=("TRANSLATORS:",),
            strip_comment_tags=True):
        template.add(msg, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def placeholders(text: str) -> list[tuple[str, str]]:
    """The `{name:spec}` fields of a brace-format message, sorted."""
    try:
        return sorted((name, spec or "") for _, name, spec, _ in string.Formatter().parse(text) if name is not None)
    except ValueError as error:
        return [("<unparsable>", str(error))]


def _write_atomically(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        write(f)
    tmp.replace(path)


def update(template: Catalog, parts: list[dict]) -> dict[str, Catalog]:
    """Each language's catalogue updated from `template` and filled from `parts`; written."""
    catalogs = {}
    for lang in TRANSLATED:
        po = catalogue_path(lang)
        po.parent.mkdir(parents=True, exist_ok=True)
        if po.exists():
            catalog = read_catalogue(lang)
        else:
            catalog = Catalog(locale=BABEL_LOCALES[lang], domain=DOMAIN, project="Caption Lab")
        catalog.update(template, no_fuzzy_matching=True)
        catalog.fuzzy = False
        catalog.project, catalog.version = "Caption Lab", "1"
        catalog.language_team = catalog.last_translator = "Caption Lab <see locale/GLOSSARY.md>"
        catalog.msgid_bugs_address = ""
        catalog.obsolete.clear()
        for entry in catalog:            # the app's messages are brace templates, never %-formats:
            entry.flags.discard("python-format")   # Babel guesses one from "1% o…" and then refuses it
        for part in parts:
            entry = catalog.get(part["msgid"])
            if entry is None or not part.get(lang):
                continue
            entry.string = (part[lang],) * catalog.num_plurals if entry.pluralizable else part[lang]
            entry.flags.discard("fuzzy")
        _write_atomically(po, lambda f, c=catalog: write_po(f, c, width=100, sort_output=True))
        _write_atomically(po.with_suffix(".mo"), lambda f, c=catalog: write_mo(f, c))
        catalogs[lang] = catalog
    return catalogs


def problems(catalogs: dict[str, Catalog]) -> list[str]:
    """Untranslated messages and placeholder mismatches, one line each."""
    found = []
    for lang, catalog in catalogs.items():
        for entry in catalog:
            if not entry.id:
                continue
            ids = entry.id if isinstance(entry.id, (list, tuple)) else (entry.id,)
            strings = entry.string if isinstance(entry.string, (list, tuple)) else (entry.string,)
            where = ", ".join(f"{f}:{n}" for f, n in entry.locations[:2])
            if not all(strings):
                found.append(f"{lang}: untranslated ({where}): {ids[0]!r}")
                continue
            if "fuzzy" in entry.flags:
                found.append(f"{lang}: fuzzy ({where}): {ids[0]!r}")
            for s in strings:
                if placeholders(s) != placeholders(ids[-1]) and placeholders(s) != placeholders(ids[0]):
                    found.append(f"{lang}: placeholders differ ({where}): {ids[0]!r} -> {s!r}")
    return found


def english_left_on(page: str) -> dict[str, list[str]]:
    """The English left on `page` rendered by AppTest in each translated language."""
    import os
    import tempfile

    from streamlit.testing.v1 import AppTest

    from core import load_coco_data
    from core.data.demo import ensure_demo_dataset
    from tests.support.page_text import english_left, page_texts, translated_english

    tmp = Path(tempfile.mkdtemp())
    os.environ.setdefault("CAPTION_LAB_RUNS", str(tmp / "runs"))
    os.environ.setdefault("CAPTION_LAB_IMAGE_CACHE", str(tmp / "image-cache"))
    vocabulary = load_coco_data(ensure_demo_dataset(), max_train=1)["idx_to_word"]
    out = {}
    from explorer import i18n
    for lang in TRANSLATED:
        i18n.use(lang)                 # AppTest formats widgets' options in this thread too
        at = AppTest.from_file(str(ROOT / "explorer" / "app.py"), default_timeout=120)
        at.query_params["lang"] = lang
        at.run()
        if page != "home":
            at.switch_page(f"../pages/{page}.py").run()
        out[lang] = english_left(page_texts(at), vocabulary, translated_english(read_catalogue(lang)))
        if at.exception:
            out[lang].insert(0, f"EXCEPTION: {[e.value for e in at.exception]}")
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", type=Path,
                        help="a folder of translators' JSON parts to fill in")
    parser.add_argument("--english-left", metavar="PAGE", help="render PAGE in zh and ko and list the English left")
    parser.add_argument("--quiet", action="store_true", help="counts only")
    args = parser.parse_args(argv)
    if args.english_left:
        for lang, runs in english_left_on(args.english_left).items():
            print(f"--- {lang}: {len(runs)} English left on {args.english_left}")
            for run in runs:
                print("   ", run)
        return 0
    parts = []
    if args.parts:
        for path in sorted(args.parts.glob("*.json")):
            try:
                parts.extend(json.loads(path.read_text()))
            except ValueError as error:
                print(f"{path}: not JSON ({error}); skipped")
    template = extract()
    catalogs = update(template, parts)
    found = problems(catalogs)
    print(f"{len(template)} messages; {len(found)} problems")
    for line in found if not args.quiet else []:
        print("  ", line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
