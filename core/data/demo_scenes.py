"""Scenes for the demo dataset: sample one, draw it with Pillow, describe it in words.

A scene is a plain background (white, grey or black; plain, striped or dotted) with one
or two groups of identical objects. A group has a count (1-3), a shape (circle, square,
triangle, star, diamond), a colour (red, orange, yellow, green, blue, purple) and a size
(small or big). One group sits at a position ("on the left"); two groups stand in a
relation ("two red circles to the left of a blue square"). The two groups of a scene
always differ in colour, and objects never touch, so what a caption says is visible.

Captions come from a small grammar with synonyms, several word orders and optional
clauses; a few rare synonyms are drawn so seldom that the vocabulary threshold turns
them into `<UNK>`. This module knows nothing about features or files: see
`demo_features.py` and `demo.py`.
"""
from __future__ import annotations

import colorsys
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from ..text import message

SHAPES = ("circle", "square", "triangle", "star", "diamond")
# Hues (degrees) sit in the middle of distinct 30-degree sectors, so the feature
# extractor's hue histogram separates them even after the per-object jitter below.
COLOUR_HUES = {"red": 0.0, "orange": 28.0, "yellow": 55.0, "green": 125.0,
               "blue": 235.0, "purple": 275.0}
BACKGROUNDS = {"white": 242, "grey": 140, "black": 28}          # grey level
TEXTURE_SHADE = {"white": -38, "grey": -34, "black": +34}       # tone of stripes and dots
TEXTURES = ("plain", "striped", "dotted")
POSITIONS = ("left", "right", "top", "bottom", "middle")
RELATIONS = ("left", "right", "above", "below")                # group 0 <relation> group 1
RADIUS = {"small": (8.0, 10.5), "big": (14.5, 17.5)}            # on a 128-pixel canvas
HUE_JITTER = 5.0                                                # degrees either side


@dataclass(frozen=True)
class Group:
    """Identical objects: how many, what they look like, where their centres are."""

    count: int
    shape: str
    colour: str
    size: str                                   # "small" or "big"
    centres: tuple[tuple[float, float], ...]    # (x, y) as fractions of the canvas
    radius: float                               # as a fraction of the canvas
    angles: tuple[float, ...]                   # rotation of each object, degrees
    colours: tuple[tuple[int, int, int], ...]   # jittered RGB of each object


@dataclass(frozen=True)
class Scene:
    """Background plus one group at `position`, or two groups where groups[0] is `relation` of groups[1]."""

    background: str
    texture: str
    texture_phase: int                          # offset of stripes or dots, pixels
    groups: tuple[Group, ...]
    position: str | None = None
    relation: str | None = None


# ---------------------------------------------------------------------------
# sampling a scene

def _region(where: str) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) of the part of the canvas a group is placed in."""
    return {"left": (0.0, 0.0, 0.5, 1.0), "right": (0.5, 0.0, 1.0, 1.0),
            "top": (0.0, 0.0, 1.0, 0.5), "bottom": (0.0, 0.5, 1.0, 1.0),
            "middle": (0.22, 0.22, 0.78, 0.78), "all": (0.0, 0.0, 1.0, 1.0)}[where]


def _place(rng: np.random.Generator, count: int, radius: float, region, taken: list) -> list | None:
    """Centres for `count` objects of `radius` in `region`, clear of `taken` (x, y, r); None on failure."""
    x0, y0, x1, y1 = region
    margin = radius + 0.02
    if x1 - x0 < 2 * margin or y1 - y0 < 2 * margin:
        return None
    placed = []
    for _ in range(count):
        for _attempt in range(60):
            x, y = rng.uniform(x0 + margin, x1 - margin), rng.uniform(y0 + margin, y1 - margin)
            if all(np.hypot(x - u, y - v) > radius + r + 0.04 for u, v, r in taken + placed):
                placed.append((float(x), float(y), radius))
                break
        else:
            return None
    return placed


def _rgb(colour: str, rng: np.random.Generator) -> tuple[int, int, int]:
    hue = (COLOUR_HUES[colour] + rng.uniform(-HUE_JITTER, HUE_JITTER)) % 360.0
    sat, val = rng.uniform(0.72, 0.92), rng.uniform(0.78, 0.95)
    if colour == "green":
        val *= 0.82                       # a pure green this bright reads as lime
    return tuple(int(round(255 * c)) for c in colorsys.hsv_to_rgb(hue / 360.0, sat, val))


def _group(rng: np.random.Generator, colour: str, where: str, taken: list, max_count: int) -> Group | None:
    count = int(rng.integers(1, max_count + 1))
    size = str(rng.choice(["small", "big"]))
    shape = str(rng.choice(SHAPES))
    radius = rng.uniform(*RADIUS[size]) / 128.0
    placed = _place(rng, count, radius, _region(where), taken)
    if placed is None:
        return None
    taken.extend(placed)
    return Group(count=count, shape=shape, colour=colour, size=size,
                 centres=tuple((x, y) for x, y, _ in placed), radius=float(radius),
                 angles=tuple(float(a) for a in rng.uniform(-8, 8, size=count)),
                 colours=tuple(_rgb(colour, rng) for _ in range(count)))


def sample_scene(rng: np.random.Generator) -> Scene:
    """Draw one random scene from `rng` (retries until its objects fit)."""
    while True:
        background = str(rng.choice(list(BACKGROUNDS)))
        texture = str(rng.choice(TEXTURES, p=[0.4, 0.3, 0.3]))
        phase = int(rng.integers(0, 12))
        colours = rng.permutation(list(COLOUR_HUES))
        taken: list = []
        if rng.random() < 0.3:
            position = str(rng.choice(POSITIONS))
            g = _group(rng, str(colours[0]), position, taken, max_count=3)
            if g is not None:
                return Scene(background, texture, phase, (g,), position=position)
        else:
            relation = str(rng.choice(RELATIONS))
            first, second = {"left": ("left", "right"), "right": ("right", "left"),
                             "above": ("top", "bottom"), "below": ("bottom", "top")}[relation]
            a = _group(rng, str(colours[0]), first, taken, max_count=3)
            b = _group(rng, str(colours[1]), second, taken, max_count=2) if a else None
            if a is not None and b is not None:
                return Scene(background, texture, phase, (a, b), relation=relation)


# ---------------------------------------------------------------------------
# drawing

def _polygon(shape: str, x: float, y: float, r: float, angle: float) -> list[tuple[float, float]]:
    if shape == "square":
        pts = [(np.cos(t), np.sin(t)) for t in np.deg2rad([45, 135, 225, 315])]   # half-side 0.71 r
    elif shape == "diamond":
        pts = [(0.0, -1.0), (0.72, 0.0), (0.0, 1.0), (-0.72, 0.0)]
    elif shape == "triangle":
        pts = [(np.cos(t), np.sin(t)) for t in np.deg2rad([-90, 30, 150])]
        pts = [(px, py + 0.12) for px, py in pts]
    elif shape == "star":
        ts = np.deg2rad(-90 + 36 * np.arange(10))
        rs = np.where(np.arange(10) % 2 == 0, 1.0, 0.45)
        pts = list(zip(rs * np.cos(ts), rs * np.sin(ts)))
    else:
        raise ValueError(f"no polygon for shape {shape!r}")
    c, s = np.cos(np.deg2rad(angle)), np.sin(np.deg2rad(angle))
    return [(x + r * (c * px - s * py), y + r * (s * px + c * py)) for px, py in pts]


def render_scene(scene: Scene, size: int = 128) -> Image.Image:
    """Draw `scene` on a `size` x `size` RGB canvas (no anti-aliasing, so colours stay pure)."""
    level = BACKGROUNDS[scene.background]
    image = Image.new("RGB", (size, size), (level,) * 3)
    draw = ImageDraw.Draw(image)
    shade = (level + TEXTURE_SHADE[scene.background],) * 3
    step = max(4, size // 11)
    if scene.texture == "striped":
        width = max(2, step // 3)
        for k in range(-size, size, step):
            o = k + scene.texture_phase
            draw.polygon([(o, 0), (o + width, 0), (o + width + size, size), (o + size, size)], fill=shade)
    elif scene.texture == "dotted":
        dot = max(1.0, step / 6)
        for yy in range(scene.texture_phase % step, size, step):
            for xx in range(scene.texture_phase % step + (step // 2) * ((yy // step) % 2), size, step):
                draw.ellipse([xx - dot, yy - dot, xx + dot, yy + dot], fill=shade)
    for g in scene.groups:
        r = g.radius * size
        for (cx, cy), angle, rgb in zip(g.centres, g.angles, g.colours):
            x, y = cx * size, cy * size
            if g.shape == "circle":
                rr = 0.85 * r
                draw.ellipse([x - rr, y - rr, x + rr, y + rr], fill=rgb)
            else:
                draw.polygon(_polygon(g.shape, x, y, r, angle), fill=rgb)
    return image


# ---------------------------------------------------------------------------
# describing: a grammar with synonyms, word orders and optional clauses

def _pick(rng: np.random.Generator, options: dict):
    """One key of `options`, drawn with probability proportional to its weight."""
    keys = list(options)
    cumulative = np.cumsum([options[k] for k in keys])
    i = int(np.searchsorted(cumulative, rng.random() * cumulative[-1], side="right"))
    return keys[min(i, len(keys) - 1)]


# Weights around 0.001 make a word rare enough (a handful of uses in 10,000 captions)
# to fall under the vocabulary threshold and become <UNK>.
COLOUR_WORDS = {
    "red": {"red": 1.0, "crimson": 0.0008, "scarlet": 0.002, "ruby": 0.0005},
    "orange": {"orange": 1.0, "tangerine": 0.001},
    "yellow": {"yellow": 1.0, "golden": 0.01, "lemon": 0.0008},
    "green": {"green": 1.0, "emerald": 0.001, "jade": 0.0005},
    "blue": {"blue": 1.0, "azure": 0.0008, "cobalt": 0.0012, "sapphire": 0.0005},
    "purple": {"purple": 1.0, "violet": 0.12, "lilac": 0.0008},
}
SHAPE_WORDS = {  # singular -> plural, with weights
    "circle": {("circle", "circles"): 1.0, ("ball", "balls"): 0.3, ("dot", "dots"): 0.08,
               ("disc", "discs"): 0.002, ("orb", "orbs"): 0.0008},
    "square": {("square", "squares"): 1.0, ("box", "boxes"): 0.2, ("block", "blocks"): 0.12,
               ("cube", "cubes"): 0.001},
    "triangle": {("triangle", "triangles"): 1.0, ("wedge", "wedges"): 0.001},
    "star": {("star", "stars"): 1.0, ("pentagram", "pentagrams"): 0.0008},
    "diamond": {("diamond", "diamonds"): 1.0, ("rhombus", "rhombuses"): 0.06,
                ("lozenge", "lozenges"): 0.001},
}
SIZE_WORDS = {"small": {"small": 1.0, "little": 0.4, "tiny": 0.15, "minuscule": 0.0008, "teeny": 0.0008},
              "big": {"big": 1.0, "large": 0.5, "huge": 0.12, "giant": 0.002, "enormous": 0.0008}}
COUNT_WORDS = {1: {"a": 1.0, "one": 0.15, "a single": 0.06},
               2: {"two": 1.0, "a pair of": 0.08},
               3: {"three": 1.0, "a trio of": 0.001}}
BACKGROUND_WORDS = {"white": {"white": 1.0, "pale": 0.002, "snowy": 0.0008},
                    "grey": {"grey": 1.0, "gray": 0.5},
                    "black": {"black": 1.0, "dark": 0.25}}
TEXTURE_WORDS = {"plain": {"": 1.0, "plain": 0.35, "solid": 0.08},
                 "striped": {"striped": 1.0, "stripy": 0.1, "lined": 0.001},
                 "dotted": {"dotted": 1.0, "spotted": 0.25, "speckled": 0.001}}
RELATION_WORDS = {
    "left": {"to the left of": 1.0, "left of": 0.5, "on the left of": 0.3, "next to": 0.1},
    "right": {"to the right of": 1.0, "right of": 0.5, "on the right of": 0.3, "next to": 0.1},
    "above": {"above": 1.0, "over": 0.4, "on top of": 0.1},
    "below": {"below": 1.0, "under": 0.4, "beneath": 0.15, "underneath": 0.002},
}
RELATION_PRONOUN = {  # group 0 seen from group 1: "a blue square with two red circles <to its left>"
    "left": {"to its left": 1.0, "on its left": 0.4, "beside it": 0.2, "next to it": 0.1},
    "right": {"to its right": 1.0, "on its right": 0.4, "beside it": 0.2, "next to it": 0.1},
    "above": {"above it": 1.0, "over it": 0.4},
    "below": {"below it": 1.0, "under it": 0.4, "beneath it": 0.1},
}
PLURAL_PRONOUN = {"its": "their", "it": "them"}
INVERSE = {"left": "right", "right": "left", "above": "below", "below": "above"}
POSITION_WORDS = {
    "left": {"on the left": 1.0, "on the left side": 0.3, "at the left": 0.1},
    "right": {"on the right": 1.0, "on the right side": 0.3, "at the right": 0.1},
    "top": {"at the top": 1.0, "near the top": 0.4, "at the top of the picture": 0.05},
    "bottom": {"at the bottom": 1.0, "near the bottom": 0.4, "at the bottom of the picture": 0.05},
    "middle": {"in the middle": 1.0, "in the center": 0.5, "in the centre": 0.2},
}
PREFIXES = {"": 5.0, "a picture of": 0.4, "an image of": 0.4, "a drawing of": 0.3,
            "a simple drawing of": 0.05, "a sketch of": 0.002}


def _article(words: list[str]) -> list[str]:
    """Turn "a" into "an" before a vowel."""
    return [("an" if w == "a" and i + 1 < len(words) and words[i + 1][0] in "aeiou" else w)
            for i, w in enumerate(words)]


def _noun_phrase(rng: np.random.Generator, g: Group) -> str:
    singular, plural = _pick(rng, SHAPE_WORDS[g.shape])
    parts = [_pick(rng, COUNT_WORDS[g.count])]
    if rng.random() < 0.6:
        parts.append(_pick(rng, SIZE_WORDS[g.size]))
    parts.append(_pick(rng, COLOUR_WORDS[g.colour]))
    parts.append(singular if g.count == 1 else plural)
    return " ".join(parts)


def _background(rng: np.random.Generator, scene: Scene) -> str:
    colour = _pick(rng, BACKGROUND_WORDS[scene.background])
    texture = _pick(rng, TEXTURE_WORDS[scene.texture])
    noun = _pick(rng, {"background": 1.0, "backdrop": 0.15})
    adjectives = [w for w in ((texture, colour) if rng.random() < 0.5 else (colour, texture)) if w]
    lead = _pick(rng, {"on a": 1.0, "against a": 0.3, "with a": 0.2})
    return " ".join([lead, *adjectives, noun])


def _be(g: Group) -> str:
    return "is" if g.count == 1 else "are"


def _sentence(rng: np.random.Generator, scene: Scene) -> str:
    """One caption of `scene`: a sentence form, its words, maybe a background clause."""
    prefix = _pick(rng, PREFIXES)
    if scene.relation is None:
        g = scene.groups[0]
        np_ = _noun_phrase(rng, g)
        pos = _pick(rng, POSITION_WORDS[scene.position]) if rng.random() < 0.8 else ""
        form = int(rng.choice(4, p=[0.45, 0.25, 0.15, 0.15]))
        if form == 0 or (form == 2 and not pos):
            words = [prefix, np_, pos]
        elif form == 1:
            words = ["there", _be(g), np_, pos]
        elif form == 2:
            words = [np_, _be(g), pos]
        else:
            words = [pos, "there", _be(g), np_] if pos else [prefix, np_]
    else:
        a, b = scene.groups
        np_a, np_b = _noun_phrase(rng, a), _noun_phrase(rng, b)
        rel = _pick(rng, RELATION_WORDS[scene.relation])
        inv = _pick(rng, RELATION_WORDS[INVERSE[scene.relation]])
        form = int(rng.choice(6, p=[0.3, 0.2, 0.15, 0.1, 0.15, 0.1]))
        if form == 0:
            words = [prefix, np_a, rel, np_b]
        elif form == 1:
            words = [prefix, np_b, inv, np_a]
        elif form == 2:
            words = ["there", _be(a), np_a, rel, np_b]
        elif form == 3:
            words = [np_a, _be(a), rel, np_b]
        elif form == 4:
            where = _pick(rng, RELATION_PRONOUN[scene.relation]).split()
            if b.count > 1:
                where = [PLURAL_PRONOUN.get(w, w) for w in where]
            words = [prefix, np_b, "with", np_a, *where]
        else:
            first, second = (np_a, np_b) if rng.random() < 0.5 else (np_b, np_a)
            words = [prefix, first, "and", second]
    if rng.random() < 0.3:
        words.append(_background(rng, scene))
    return " ".join(_article(" ".join(w for w in words if w).split()))


def describe_scene(scene: Scene, rng: np.random.Generator, count: int = 5, max_words: int = 15) -> list[str]:
    """`count` different captions of `scene`, each at most `max_words` words."""
    captions: list[str] = []
    for _attempt in range(200):
        text = _sentence(rng, scene)
        if len(text.split()) <= max_words and text not in captions:
            captions.append(text)
            if len(captions) == count:
                return captions
    raise RuntimeError(f"could not write {count} distinct captions for {scene}")


# ---------------------------------------------------------------------------
# scenes as data: stored with the dataset, composed by hand, varied one attribute at a time

class SceneError(ValueError):
    """A scene the generator would never draw, or whose objects do not fit; the message says which."""


MAX_COUNTS = (3, 2)                   # the generator's most objects in the first and the second group
LAYOUT_REGIONS = {"left": ("left", "right"), "right": ("right", "left"),
                  "above": ("top", "bottom"), "below": ("bottom", "top")}


def scene_to_dict(scene: Scene) -> dict:
    """A scene as plain JSON-able data (floats kept exactly)."""
    return {"background": scene.background, "texture": scene.texture, "texture_phase": scene.texture_phase,
            "position": scene.position, "relation": scene.relation,
            "groups": [{"count": g.count, "shape": g.shape, "colour": g.colour, "size": g.size,
                        "centres": [list(c) for c in g.centres], "radius": g.radius,
                        "angles": list(g.angles), "colours": [list(c) for c in g.colours]}
                       for g in scene.groups]}


def scene_from_dict(d: dict) -> Scene:
    """The scene `scene_to_dict` wrote; SceneError when it is not one the generator could draw."""
    try:
        groups = tuple(Group(count=int(g["count"]), shape=str(g["shape"]), colour=str(g["colour"]),
                             size=str(g["size"]), centres=tuple((float(x), float(y)) for x, y in g["centres"]),
                             radius=float(g["radius"]), angles=tuple(float(a) for a in g["angles"]),
                             colours=tuple(tuple(int(v) for v in c) for c in g["colours"]))
                       for g in d["groups"])
        scene = Scene(str(d["background"]), str(d["texture"]), int(d["texture_phase"]), groups,
                      position=d.get("position"), relation=d.get("relation"))
    except (KeyError, TypeError, ValueError) as e:
        raise SceneError(message("not a scene description: {error}", error=str(e))) from None
    check_scene(scene)
    return scene


def check_scene(scene: Scene) -> None:
    """SceneError unless `scene` uses only the generator's words and shapes its layout."""
    problems = []
    if scene.background not in BACKGROUNDS:
        problems.append(message("background {word} (choose {words})", word=repr(scene.background),
                                words=", ".join(BACKGROUNDS)))
    if scene.texture not in TEXTURES:
        problems.append(message("texture {word} (choose {words})", word=repr(scene.texture),
                                words=", ".join(TEXTURES)))
    if len(scene.groups) not in (1, 2):
        problems.append(message("{n} groups of objects (the generator draws 1 or 2)", n=len(scene.groups)))
    for k, g in enumerate(scene.groups[:2]):
        if g.shape not in SHAPES:
            problems.append(message("shape {word}", word=repr(g.shape)))
        if g.colour not in COLOUR_HUES:
            problems.append(message("colour {word}", word=repr(g.colour)))
        if g.size not in RADIUS:
            problems.append(message("size {word}", word=repr(g.size)))
        if not 1 <= g.count <= MAX_COUNTS[k] or len(g.centres) != g.count:
            problems.append(message("{n} objects in group {group} (at most {most})", n=g.count, group=k + 1,
                                    most=MAX_COUNTS[k]))
    if len(scene.groups) == 1 and (scene.position not in POSITIONS or scene.relation is not None):
        problems.append(message("one group needs a position ({words})", words=", ".join(POSITIONS)))
    if len(scene.groups) == 2:
        if scene.relation not in RELATIONS or scene.position is not None:
            problems.append(message("two groups need a relation ({words})", words=", ".join(RELATIONS)))
        if scene.groups[0].colour == scene.groups[1].colour:
            problems.append(message("two groups of the same colour (the generator always makes them differ, so "
                                    "a caption can tell them apart)"))
    if problems:                        # one problem stays translatable as a whole sentence
        raise SceneError(message("The demo generator never draws {problems}.",
                                 problems=problems[0] if len(problems) == 1 else "; ".join(problems)))


@dataclass(frozen=True)
class GroupSpec:
    """What a group is, without where its objects are: the composer's choice."""

    count: int
    shape: str
    colour: str
    size: str


def spec_of(scene: Scene) -> tuple[tuple[GroupSpec, ...], str]:
    """A scene's groups as specs, and its layout (the position of one group, the relation of two)."""
    return (tuple(GroupSpec(g.count, g.shape, g.colour, g.size) for g in scene.groups),
            scene.position if len(scene.groups) == 1 else scene.relation)


def _regions_for(layout: str, n_groups: int) -> list[str]:
    return [layout] if n_groups == 1 else list(LAYOUT_REGIONS[layout])


def compose_scene(background: str, texture: str, groups: list[GroupSpec] | tuple[GroupSpec, ...], layout: str,
                  seed: int = 0, previous: Scene | None = None) -> Scene:
    """The scene of `groups` on a background, laid out by `layout` (a position for one
    group, a relation for two), as the generator would place them.

    With `previous`, what did not change is kept as it was: a group whose count, size and
    region are the same keeps its objects where they were (a new colour or shape only
    repaints them), so varying one attribute changes only that. Raises SceneError when
    the scene is not one the generator draws, or its objects cannot be made to fit.
    """
    groups = tuple(groups)
    _check_specs(background, texture, groups, layout)
    rng = np.random.default_rng([seed, 7])
    regions = _regions_for(layout, len(groups))
    old_regions = _regions_for(*_layout_of(previous)) if previous is not None else []
    for _attempt in range(40):
        taken, built = [], []
        for k, spec in enumerate(groups):
            old = previous.groups[k] if previous is not None and k < len(previous.groups) else None
            same_place = (old is not None and old.count == spec.count and old.size == spec.size
                          and k < len(old_regions) and old_regions[k] == regions[k])
            if same_place:
                centres, radius, angles = old.centres, old.radius, old.angles
                taken.extend((x, y, radius) for x, y in centres)
            else:
                radius = rng.uniform(*RADIUS[spec.size]) / 128.0
                placed = _place(rng, spec.count, radius, _region(regions[k]), taken)
                if placed is None:
                    built = None
                    break
                taken.extend(placed)
                centres, angles = tuple((x, y) for x, y, _ in placed), \
                    tuple(float(a) for a in rng.uniform(-8, 8, size=spec.count))
            colours = old.colours if old is not None and old.colour == spec.colour and old.count == spec.count \
                else tuple(_rgb(spec.colour, rng) for _ in range(spec.count))
            built.append(Group(spec.count, spec.shape, spec.colour, spec.size, tuple(centres), float(radius),
                               tuple(angles), tuple(colours)))
        if built is not None:
            phase = previous.texture_phase if previous is not None else int(rng.integers(0, 12))
            scene = Scene(background, texture, phase, tuple(built),
                          position=layout if len(groups) == 1 else None,
                          relation=layout if len(groups) == 2 else None)
            check_scene(scene)
            return scene
        previous = None                   # what was kept may be what does not fit: place all anew
        old_regions = []
    if len(groups) == 1:
        raise SceneError(message("These objects do not fit where asked ({layout}): make them smaller or fewer.",
                                 layout=layout))
    raise SceneError(message("These objects do not fit as asked ({layout}): make them smaller or fewer.",
                             layout=layout))


def _check_specs(background: str, texture: str, groups: tuple[GroupSpec, ...], layout: str) -> None:
    """SceneError unless the generator could draw these groups with this layout."""
    if len(groups) not in (1, 2):
        raise SceneError(message("The demo generator draws 1 or 2 groups of objects, not {n}.", n=len(groups)))
    layouts = POSITIONS if len(groups) == 1 else RELATIONS
    if layout not in layouts:
        values = dict(words=", ".join(layouts), word=repr(layout))
        raise SceneError(message("One group needs a position: {words}, not {word}.", **values) if len(groups) == 1
                         else message("Two groups need a relation: {words}, not {word}.", **values))
    placeholder = tuple(Group(g.count, g.shape, g.colour, g.size, ((0.5, 0.5),) * g.count, 0.1,
                              (0.0,) * g.count, ((0, 0, 0),) * g.count) for g in groups)
    check_scene(Scene(background, texture, 0, placeholder, position=layout if len(groups) == 1 else None,
                      relation=layout if len(groups) == 2 else None))


def _layout_of(scene: Scene) -> tuple[str, int]:
    return (scene.position if len(scene.groups) == 1 else scene.relation), len(scene.groups)


# one attribute at a time: (label of the variant, the scene)
ATTRIBUTES = ("colour", "shape", "size", "count", "position", "background")


def variations(scene: Scene, attribute: str, group: int = 0, seed: int = 0) -> list[tuple[str, Scene]]:
    """Every scene that differs from `scene` in one attribute only: the colour, shape, size
    or count of group `group`, the layout (position or relation), or the background and its
    texture. Variants the generator would not draw (two groups of one colour) are left out."""
    specs, layout = spec_of(scene)
    specs = list(specs)
    found = []

    def add(label, new_specs=None, new_layout=None, background=None, texture=None):
        try:
            found.append((label, compose_scene(background or scene.background, texture or scene.texture,
                                               new_specs or specs, new_layout or layout, seed=seed,
                                               previous=scene)))
        except SceneError:
            pass

    g = specs[group]
    if attribute == "colour":
        for colour in COLOUR_HUES:
            if colour != g.colour and all(colour != s.colour for s in specs):
                add(colour, [*specs[:group], GroupSpec(g.count, g.shape, colour, g.size), *specs[group + 1:]])
    elif attribute == "shape":
        for shape in SHAPES:
            if shape != g.shape:
                add(shape, [*specs[:group], GroupSpec(g.count, shape, g.colour, g.size), *specs[group + 1:]])
    elif attribute == "size":
        for size in RADIUS:
            if size != g.size:
                add(size, [*specs[:group], GroupSpec(g.count, g.shape, g.colour, size), *specs[group + 1:]])
    elif attribute == "count":
        for count in range(1, MAX_COUNTS[group] + 1):
            if count != g.count:
                add(str(count), [*specs[:group], GroupSpec(count, g.shape, g.colour, g.size), *specs[group + 1:]])
    elif attribute == "position":
        for other in (POSITIONS if len(specs) == 1 else RELATIONS):
            if other != layout:
                add(other, new_layout=other)
    elif attribute == "background":
        for background in BACKGROUNDS:
            for texture in TEXTURES:
                if (background, texture) != (scene.background, scene.texture):
                    add(f"{background} {texture}", background=background, texture=texture)
    else:
        raise ValueError(f"no attribute {attribute!r}; choose one of {', '.join(ATTRIBUTES)}")
    return found
