"""What a person reads on a page rendered by AppTest, and the English left in it.

`page_texts(at)` gathers every string the page shows: markdown and captions, titles,
alerts and toasts, widget labels, help texts, placeholders and option labels, tab and
expander labels, metric labels and values, table headers and chart titles (Vega-Lite
specs). Code blocks, images and element ids are left out.

`english_left(texts, vocabulary)` finds English that should have been translated: a run of
three or more English words with at least one word that is neither a dataset word (the
vocabulary: captions stay English) nor a name kept in every language, or a whole text that
is exactly an English message of the catalogue (unless it is dataset words, like a scene's
"right"). Code spans, LaTeX, links and icons are
removed first.
"""
from __future__ import annotations

import json
import re

from google.protobuf.json_format import MessageToDict

SKIPPED_FIELDS = {"id", "formId", "key", "src", "url", "data", "arrowData", "styles", "spec",
                  "theme", "markdownAllowed", "icon", "avatar", "elementId", "useContainerWidth",
                  "vegaLiteChartId", "selectionMode", "deltaPath", "widthConfig", "heightConfig",
                  "type", "dataframeId", "columns", "fragmentId", "pageScriptHash", "page"}
SKIPPED_TYPES = {"code", "imgs", "image", "json", "empty", "html", "latex", "video", "audio"}
KEPT_NAMES = {
    "rnn", "lstm", "coco", "caption", "lab", "pca", "vgg", "adam", "bleu", "cs231n", "numpy",
    "streamlit", "flickr", "redis", "rq", "nginx", "dasecv", "fc7", "vanilla", "url", "html",
    "json", "hdf5", "h5", "http", "https", "png", "jpeg", "jpg", "zip", "gpu", "cpu", "ok",
    "english", "id", "ip", "utc", "sgd", "tanh", "softmax", "sigmoid", "relu", "argmax", "max",
    "min", "log", "exp", "np", "py", "api", "cli", "mb", "gb", "kb", "ms", "e.g", "vs",
}
LATIN_RUN = re.compile(r"[A-Za-z][A-Za-z'’\-]*(?:[ ,/]+[A-Za-z][A-Za-z'’\-]*)+")
NOISE = [re.compile(p, re.S) for p in (
    r"```.*?```", r"`[^`]*`", r"\$\$.*?\$\$", r"\$[^$]*\$", r"https?://\S+", r":material/[a-z_]+:",
    r":[a-z_]+:", r"<[A-Z]+>", r"\b[\w./-]+\.(?:py|h5|json|zip|png|jpg|npz|txt|po)\b",
    r"\b\w*_\w*\b", r"\b[A-Za-z]*\d\w*\b", r"/[\w./-]+", r"\b[A-Z][a-z]*[A-Z]\w*\b")]


def _strings(value, out: list) -> None:
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, dict):
        for k, v in value.items():
            if k not in SKIPPED_FIELDS:
                _strings(v, out)
    elif isinstance(value, list):
        for v in value:
            _strings(v, out)


def _chart_titles(spec: str, out: list) -> None:
    def walk(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "title" and isinstance(v, str):
                    out.append(v)
                elif k == "title" and isinstance(v, dict) and isinstance(v.get("text"), str):
                    out.append(v["text"])
                elif k not in ("data", "datasets", "values"):
                    walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    try:
        walk(json.loads(spec))
    except ValueError:
        pass


def translated_english(catalog) -> list[str]:
    """The English messages of a catalogue whose translation differs from them: what must not
    be left on a page shown in that language."""
    return [e.id for e in catalog if isinstance(e.id, str) and e.id and e.string and e.string != e.id]


def page_texts(at) -> list[str]:
    """Every string the rendered page shows (see the module)."""
    out: list[str] = []

    def visit(node) -> None:
        proto = getattr(node, "proto", None)
        kind = getattr(node, "type", "")
        if kind in SKIPPED_TYPES:
            return
        if kind == "dataframe":
            try:
                out.extend(str(c) for c in node.value.columns)
            except Exception:
                pass
        if proto is not None:
            fields = MessageToDict(proto, preserving_proto_field_name=False)
            _strings(fields, out)
            spec = fields.get("spec") if isinstance(fields, dict) else None
            if isinstance(spec, str):
                _chart_titles(spec, out)
        for child in getattr(node, "children", {}).values():
            visit(child)

    visit(at._tree)
    return [t for t in out if t.strip()]


def _cleaned(text: str) -> str:
    for pattern in NOISE:
        text = pattern.sub(" ", text)
    return text


def english_left(texts, vocabulary, messages=()) -> list[str]:
    """The English runs in `texts` that a translation should have replaced (see the module).
    `vocabulary`: the dataset's words; `messages`: English catalogue messages whose
    translation differs from them."""
    allowed = {w.lower() for w in vocabulary} | KEPT_NAMES
    exact = {m.strip() for m in messages if len(m.strip()) > 1}
    found = []
    for text in texts:
        words = re.findall(r"[A-Za-z][A-Za-z'’\-]*", text)
        if text.strip() in exact and not all(w.lower() in allowed for w in words):
            found.append(text.strip())        # a dataset word that is also a message stays
            continue
        for run in LATIN_RUN.findall(_cleaned(text)):
            words = re.findall(r"[A-Za-z][A-Za-z'’\-]*", run)
            if len(words) >= 3 and any(w.lower().strip("'’-") not in allowed for w in words):
                found.append(run.strip())
    return sorted(set(found))
