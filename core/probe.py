"""What a captioning model has learnt to see on the demo dataset: read its captions against the scenes.

    reading = read_caption("two red circles to the left of a blue square".split())
    scores = score(scene, reading)                # {"colour": True, "relation": True, "size": None, ...}
    report = probe({"trained": model, ...}, scenes, features)

`read_caption` parses a caption with the demo grammar's own word lists (synonyms
included; `core.data.demo_scenes`), so it reads every caption the grammar writes:

- a noun phrase is [count] [size] colour shape, e.g. "a pair of tiny violet dots";
  a plural shape with no count word counts as two;
- between two noun phrases, a relation phrase ("to the left of", "under") says where the
  first is from the second; "<b> with <a> to its left" says where <a> is from <b>;
  "next to" and "beside it" say left or right;
- a position phrase ("on the left", "in the centre") places a single group;
- a background clause ("on a dotted grey background") names its colour and texture.

`score` matches each noun phrase to the scene's group of its colour (the generator gives
two groups different colours), else of its shape, else in order, and rates every
attribute right (True), wrong (False) or not said (None): colour and shape are right
when every group is named with its own; count when each named group has its count and
as many groups are named as there are; size, position or relation and background only
when the caption says them.

Dimension letters: N scenes, T caption steps, V vocabulary.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from difflib import SequenceMatcher

import numpy as np

from .data.demo_scenes import (BACKGROUND_WORDS, COLOUR_WORDS, COUNT_WORDS, INVERSE, PLURAL_PRONOUN,
                               POSITION_WORDS, PREFIXES, RELATION_PRONOUN, RELATION_WORDS, SHAPE_WORDS,
                               SIZE_WORDS, TEXTURE_WORDS, Scene)
from .data.characters import decode_length
from .decoding import greedy_with_distributions
from .evaluate import caption_words
from .text import message

ATTRIBUTES = ("colour", "shape", "count", "size", "relation", "background")
LABELS = {"colour": message("colour"), "shape": message("shape"), "count": message("count"), "size": message("size"),
          "relation": message("position or relation"), "background": message("background")}


def _inverse(table: dict) -> dict[str, str]:
    return {word: key for key, words in table.items() for word in words}


COLOUR_OF = _inverse(COLOUR_WORDS)
SIZE_OF = _inverse(SIZE_WORDS)
SHAPE_OF = {w: (shape, plural) for shape, forms in SHAPE_WORDS.items()
            for singular_plural in forms for w, plural in zip(singular_plural, (False, True))}
COUNT_PHRASES = sorted([(tuple(p.split()), n) for n, words in COUNT_WORDS.items() for p in words] +
                       [(("an",), 1)], key=lambda x: -len(x[0]))
BACKGROUND_OF = _inverse(BACKGROUND_WORDS)
TEXTURE_OF = {w: t for t, words in TEXTURE_WORDS.items() for w in words if w}
POSITION_PHRASES = sorted(((tuple(p.split()), pos) for pos, words in POSITION_WORDS.items() for p in words),
                          key=lambda x: -len(x[0]))
RELATION_PHRASES = sorted(((tuple(p.split()), rel) for rel, words in RELATION_WORDS.items() for p in words),
                          key=lambda x: -len(x[0]))
PRONOUN_PHRASES = sorted({(tuple(p.split()), rel) for rel, words in RELATION_PRONOUN.items() for p in words} |
                         {(tuple(PLURAL_PRONOUN.get(w, w) for w in p.split()), rel)
                          for rel, words in RELATION_PRONOUN.items() for p in words}, key=lambda x: -len(x[0]))
SIDEWAYS = {("next", "to"), ("next", "to", "it"), ("beside", "it"), ("next", "to", "them"), ("beside", "them")}
PREFIX_PHRASES = sorted((tuple(p.split()) for p in PREFIXES if p), key=len, reverse=True)
BACKGROUND_NOUNS = {"background", "backdrop"}
BACKGROUND_LEADS = (("on", "a"), ("against", "a"), ("with", "a"), ("on", "an"), ("with", "an"))


@dataclass(frozen=True)
class Phrase:
    """One noun phrase of a caption."""

    shape: str
    colour: str | None
    size: str | None
    count: int | None
    start: int                       # word span [start, end)
    end: int


@dataclass(frozen=True)
class Reading:
    """What a caption says, attribute by attribute."""

    phrases: tuple[Phrase, ...] = ()
    relation: tuple[int, str, int] | None = None     # (phrase a, "left", phrase b): a is left of b
    sideways: tuple[int, int] | None = None          # "next to": a is left or right of b
    position: str | None = None
    background: str | None = None
    texture: str | None = None


def _match(words: list[str], at: int, phrases) -> tuple[tuple, str] | None:
    for phrase, value in phrases:
        if tuple(words[at:at + len(phrase)]) == phrase:
            return phrase, value
    return None


def read_caption(words: list[str]) -> Reading:
    """What caption `words` (special tokens removed) says about a scene (see the module docstring)."""
    words = [w.lower() for w in words]
    background = texture = None
    nouns = [i for i, w in enumerate(words) if w in BACKGROUND_NOUNS]
    if nouns:                                         # the background clause, cut off the end
        end = nouns[-1]
        start = max((i for i in range(end) for lead in BACKGROUND_LEADS
                     if tuple(words[i:i + len(lead)]) == lead), default=end)
        for w in words[start:end]:
            background = BACKGROUND_OF.get(w, background)
            texture = TEXTURE_OF.get(w, texture)
        words = words[:start] + words[end + 1:]
    for prefix in PREFIX_PHRASES:
        if tuple(words[:len(prefix)]) == prefix:
            words = words[len(prefix):]
            break
    phrases = []
    for i, w in enumerate(words):
        if w not in SHAPE_OF:
            continue
        shape, plural = SHAPE_OF[w]
        j = i
        colour = size = count = None
        if j > 0 and words[j - 1] in COLOUR_OF:
            colour, j = COLOUR_OF[words[j - 1]], j - 1
        if j > 0 and words[j - 1] in SIZE_OF:
            size, j = SIZE_OF[words[j - 1]], j - 1
        for phrase, n in COUNT_PHRASES:
            if j >= len(phrase) and tuple(words[j - len(phrase):j]) == phrase:
                count, j = n, j - len(phrase)
                break
        if count is None and plural:
            count = 2
        phrases.append(Phrase(shape, colour, size, count, j, i + 1))
    relation = sideways = None
    position = None
    for a in range(len(phrases) - 1):
        gap = words[phrases[a].end:phrases[a + 1].start]
        gap = gap[1:] if gap[:1] and gap[0] in ("is", "are") else gap
        found = _match(gap, 0, RELATION_PHRASES) if gap else None
        if found and len(found[0]) == len(gap):
            if found[0][:2] == ("next", "to"):
                sideways = (a, a + 1)
            else:
                relation = (a, found[1], a + 1)
        if gap == ["with"]:                           # "<b> with <a> to its left": a is left of b
            after = words[phrases[a + 1].end:]
            pronoun = _match(after, 0, PRONOUN_PHRASES)
            if pronoun and tuple(after[:len(pronoun[0])]) in SIDEWAYS:
                sideways = (a + 1, a)
            elif pronoun:
                relation = (a + 1, pronoun[1], a)
    for i in range(len(words)):
        found = _match(words, i, POSITION_PHRASES)
        if found:
            position = found[1]
            break
    return Reading(tuple(phrases), relation, sideways, position, background, texture)


def _assign(scene: Scene, phrases: tuple[Phrase, ...]) -> dict[int, int]:
    """Phrase index -> scene group index: by colour, then by shape, then in order."""
    groups = list(range(len(scene.groups)))
    assigned: dict[int, int] = {}
    for key in ("colour", "shape"):
        for p, phrase in enumerate(phrases):
            if p in assigned:
                continue
            for g in groups:
                if g not in assigned.values() and getattr(phrase, key) is not None \
                        and getattr(phrase, key) == getattr(scene.groups[g], key):
                    assigned[p] = g
                    break
    for p in range(len(phrases)):
        if p not in assigned:
            free = [g for g in groups if g not in assigned.values()]
            if free:
                assigned[p] = free[0]
    return assigned


def score(scene: Scene, reading: Reading) -> dict[str, bool | None]:
    """Each attribute of ATTRIBUTES said right (True), wrong (False) or not said (None)."""
    phrases = reading.phrases
    assigned = _assign(scene, phrases)
    named = set(assigned.values())
    all_named = len(phrases) == len(scene.groups) and named == set(range(len(scene.groups)))
    out: dict[str, bool | None] = {}
    for key in ("colour", "shape"):
        out[key] = all_named and all(getattr(phrases[p], key) == getattr(scene.groups[g], key)
                                     for p, g in assigned.items())
    out["count"] = all_named and all(phrases[p].count == scene.groups[g].count for p, g in assigned.items())
    sized = [(p, g) for p, g in assigned.items() if phrases[p].size is not None]
    out["size"] = None if not sized else all(phrases[p].size == scene.groups[g].size for p, g in sized)
    if len(scene.groups) == 1:
        out["relation"] = None if reading.position is None else reading.position == scene.position
    elif reading.relation is not None:
        a, rel, b = reading.relation
        ga, gb = assigned.get(a), assigned.get(b)
        said = rel if (ga, gb) == (0, 1) else INVERSE[rel] if (ga, gb) == (1, 0) else None
        out["relation"] = said == scene.relation
    elif reading.sideways is not None:
        out["relation"] = scene.relation in ("left", "right")
    else:
        out["relation"] = None
    if reading.background is None and reading.texture is None:
        out["background"] = None
    else:
        out["background"] = ((reading.background is None or reading.background == scene.background)
                             and (reading.texture is None or reading.texture == scene.texture))
    return out


# --- a model over many scenes --------------------------------------------------------

@dataclass(frozen=True)
class AttributeScore:
    right: int                       # captions that say it right
    said: int                        # captions that say it at all
    total: int                       # captions

    @property
    def accuracy(self) -> float:
        return self.right / self.said if self.said else float("nan")

    @property
    def said_share(self) -> float:
        return self.said / self.total if self.total else float("nan")


@dataclass
class ProbeResult:
    """One model's captions of the probe's scenes, read and scored."""

    captions: list[list[str]] = field(default_factory=list)
    scores: dict[str, AttributeScore] = field(default_factory=dict)


def probe_model(model, features: np.ndarray, scenes: list[Scene], max_length: int = 16,
                batch: int = 100, progress=None) -> ProbeResult:
    """Greedy captions of every scene (features (N, D)), each attribute rated (see `score`).
    `progress(done, total)` hears each batch."""
    captions, rated = [], []
    for start in range(0, len(scenes), batch):
        decoded, _ = greedy_with_distributions(model, features[start:start + batch],
                                               max_length=decode_length(model.idx_to_word, max_length))
        for row, scene in zip(decoded.captions, scenes[start:start + batch]):
            words = caption_words(row, model.idx_to_word)
            captions.append(words)
            rated.append(score(scene, read_caption(words)))
        if progress is not None:
            progress(min(start + batch, len(scenes)), len(scenes))
    result = ProbeResult(captions=captions)
    for attribute in ATTRIBUTES:
        said = [r[attribute] for r in rated if r[attribute] is not None]
        result.scores[attribute] = AttributeScore(sum(said), len(said), len(rated))
    return result


# --- one scene, one attribute varied ---------------------------------------------------

@dataclass(frozen=True)
class Variant:
    """One variant of a scene and the model's caption of it."""

    label: str                       # what changed: "blue", "right", "3"
    scene: Scene
    words: list[str]                 # the caption
    changed: list[bool]              # per word: not in the original caption at that place
    right_word: str | None           # the word that names the changed attribute's new value
    p_right: float | None            # the most p(right_word) at any place where the caption says that attribute


PLACE_WORDS = {"left", "right", "above", "below", "over", "under", "beneath", "underneath", "top", "bottom",
               "middle", "center", "centre"}
COUNT_SINGLE_WORDS = {"a", "an", "one", "single", "two", "pair", "three", "trio"}


def _word_class(attribute: str) -> set[str] | None:
    """The words with which a caption says `attribute`."""
    return {"colour": set(COLOUR_OF), "shape": set(SHAPE_OF), "size": set(SIZE_OF),
            "background": set(BACKGROUND_OF), "count": COUNT_SINGLE_WORDS, "position": PLACE_WORDS}.get(attribute)


def right_word(scene: Scene, attribute: str, group: int, word_to_idx: dict) -> str | None:
    """The plain word for the value of `attribute` in `scene` ("red", "circles", "two", "left"),
    when the vocabulary has it."""
    g = scene.groups[min(group, len(scene.groups) - 1)]
    singular, plural = next(iter(SHAPE_WORDS[g.shape]))
    word = {"colour": g.colour, "shape": singular if g.count == 1 else plural, "size": g.size,
            "count": {1: "a", 2: "two", 3: "three"}[g.count], "background": scene.background,
            "position": scene.position if len(scene.groups) == 1 else scene.relation}.get(attribute)
    return word if word in word_to_idx else None


def changed_words(words: list[str], original: list[str]) -> list[bool]:
    """Per word of `words`: whether it is new against the original caption (not part of the
    longest run of words the two share, in order, as a word diff finds them)."""
    changed = [True] * len(words)
    for block in SequenceMatcher(a=original, b=words, autojunk=False).get_matching_blocks():
        for j in range(block.b, block.b + block.size):
            changed[j] = False
    return changed


def vary(model, features: np.ndarray, variants: list[tuple[str, Scene]], attribute: str, group: int = 0,
         max_length: int = 16) -> list[Variant]:
    """Caption every variant (features (N, D) in the same order) and mark the words that
    changed against the first variant's caption (the scene as it is)."""
    decoded, probs = greedy_with_distributions(model, features,
                                               max_length=decode_length(model.idx_to_word, max_length))
    itw, wti = model.idx_to_word, model.word_to_idx
    klass = _word_class(attribute)
    rows = []
    original = caption_words(decoded.captions[0], itw)
    for k, (label, scene) in enumerate(variants):
        words = caption_words(decoded.captions[k], itw)
        right = right_word(scene, attribute, group, wti)
        p_right = None
        if right is not None and klass is not None:
            steps = [t for t in range(int(decoded.lengths[k])) if itw[int(decoded.captions[k, t])] in klass]
            if steps:
                p_right = float(max(probs[k, t, wti[right]] for t in steps))
        rows.append(Variant(label, scene, words, changed_words(words, original), right, p_right))
    return rows
