"""Captions as characters: the notebook's closing question ("words or characters?") made runnable.

`characters(data)` takes the dict `load_coco_data` returns and gives a new one with the
same keys, types and layout, whose captions are character ids: `<START>`, the words'
letters with one space between words, `<END>`, then `<NULL>` padding. A word the word
vocabulary lacks stays one `<UNK>` token (its letters are gone from the data). Features,
image indices and URLs are the same objects as the word dict's.

The character vocabulary is the four special words at their usual ids (0..3), the space
at id 4, then every letter of the word vocabulary in code-point order. The space at id 4
is what marks a vocabulary as characters (`is_characters`): a word vocabulary never holds
a space, so anything that reads ids (`row_words`, BLEU, the app's cards) can tell from the
vocabulary alone how to join tokens back into words. `CaptioningRNN`, `CaptioningSolver`
and the decoders never need to know: to them it is a vocabulary like any other.

Caption width: a character caption row is as wide as the longest caption of either split
needs (its letters and spaces plus `<START>` and `<END>`), so no caption is cut; the demo
data's widest is 96 columns against the words' 17 (real COCO's, of up to 15 words, is computed
the same way). Decoding a character model needs a longer limit than the words' 30:
`decode_length` counts six characters a word (180 for 30 words).

Dimension letters: N captions, T caption length (tokens).
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from .layout import SPECIAL_WORDS

SPACE = " "
SPACE_ID = len(SPECIAL_WORDS)          # 4: right after <NULL>, <START>, <END>, <UNK>
WORD_DECODE_LENGTH = 30                # the decoders' default limit, in tokens
CHARACTERS_PER_WORD = 6                # a limit in words, in characters (letters and a space): the demo's
                                       # longest caption is 94 characters for 15 words
CHARACTER_DECODE_LENGTH = WORD_DECODE_LENGTH * CHARACTERS_PER_WORD
TOKENS = ("words", "characters")       # the two kinds of vocabulary
SPACE_SHOWN = "␣"                      # the space, where one token is shown on its own


def is_characters(idx_to_word: Sequence[str] | Mapping) -> bool:
    """Whether a vocabulary (list or {id: token}) is one `characters` built: a space at id 4."""
    if isinstance(idx_to_word, Mapping):
        return idx_to_word.get(SPACE_ID, idx_to_word.get(str(SPACE_ID))) == SPACE
    return len(idx_to_word) > SPACE_ID and idx_to_word[SPACE_ID] == SPACE


def tokens_kind(idx_to_word) -> str:
    """"characters" or "words", as the vocabulary says."""
    return TOKENS[1] if is_characters(idx_to_word) else TOKENS[0]


def decode_length(idx_to_word, words: int = WORD_DECODE_LENGTH) -> int:
    """How many tokens a decoder may generate for a model with this vocabulary, to write
    `words` words (the decoders' default 30): that many, or six times as many characters."""
    return words * CHARACTERS_PER_WORD if is_characters(idx_to_word) else words


def shown(token: str) -> str:
    """One token as a person can see it on its own: the space as ␣."""
    return SPACE_SHOWN if token == SPACE else token


def join_characters(tokens: Sequence[str]) -> list[str]:
    """Character tokens to words: letters run together, a space ends a word; a special
    token (`<START>`, `<END>`, `<UNK>`, `<NULL>`) is a word of its own."""
    words, letters = [], []
    for token in tokens:
        if token == SPACE or token in SPECIAL_WORDS:
            if letters:
                words.append("".join(letters))
                letters = []
            if token != SPACE:
                words.append(token)
        else:
            letters.append(token)
    if letters:
        words.append("".join(letters))
    return words


def join_tokens(tokens: Sequence[str], idx_to_word) -> str:
    """Tokens as text to read: letters run together for a character vocabulary (specials
    set off by spaces), words separated by spaces otherwise."""
    return " ".join(join_characters(tokens) if is_characters(idx_to_word) else tokens)


def character_vocabulary(idx_to_word: Sequence[str]) -> list[str]:
    """The character vocabulary for a word vocabulary: specials, the space, its letters sorted."""
    letters = sorted({ch for word in idx_to_word if word not in SPECIAL_WORDS for ch in word} - {SPACE})
    return [*SPECIAL_WORDS, SPACE, *letters]


def characters(data: Mapping[str, Any]) -> dict[str, Any]:
    """The dict `load_coco_data` returns, its captions as characters (see the module).

    Returns a new dict with the same keys: `{train,val}_captions` (N, T') int32 character
    ids (T' the widest caption's length), `idx_to_word` the character list, `word_to_idx`
    its inverse; every other value is the input's own. A dict that already holds
    characters is returned as a copy, unchanged.
    """
    idx_to_word = list(data["idx_to_word"])
    if is_characters(idx_to_word):
        return dict(data)
    vocab = character_vocabulary(idx_to_word)
    char_to_idx = {ch: i for i, ch in enumerate(vocab)}
    # every word id as its character ids followed by a space: (V, longest + 1), -1 padding
    spelled = [[SPECIAL_WORDS["<UNK>"]] if w == "<UNK>" else
               ([] if w in SPECIAL_WORDS else [char_to_idx[ch] for ch in w]) for w in idx_to_word]
    table = np.full((len(idx_to_word), max(map(len, spelled)) + 1), -1, dtype=np.int64)
    for w, ids in enumerate(spelled):
        table[w, :len(ids) + 1] = ids + [SPACE_ID]

    out = dict(data)
    splits = [key[:-len("_captions")] for key in data if key.endswith("_captions")]
    rows = {split: _spell(np.asarray(data[f"{split}_captions"]), table) for split in splits}
    width = max(max((len(r) for r in split_rows), default=0) for split_rows in rows.values()) + 2
    for split, split_rows in rows.items():
        captions = np.zeros((len(split_rows), width), dtype=np.int32)       # <NULL> padding
        captions[:, 0] = SPECIAL_WORDS["<START>"]
        for n, row in enumerate(split_rows):
            captions[n, 1:len(row) + 1] = row
            captions[n, len(row) + 1] = SPECIAL_WORDS["<END>"]
        out[f"{split}_captions"] = captions
    out["idx_to_word"] = vocab
    out["word_to_idx"] = char_to_idx
    return out


def _spell(captions: np.ndarray, table: np.ndarray) -> list[np.ndarray]:
    """Each caption row (N, T) of word ids as its character ids between <START> and <END>."""
    end = SPECIAL_WORDS["<END>"]
    before_end = np.cumsum(captions == end, axis=1) == 0                    # (N, T)
    words = before_end & (captions != SPECIAL_WORDS["<NULL>"]) & (captions != SPECIAL_WORDS["<START>"])
    out = []
    for row, keep in zip(captions, words):
        ids = row[keep]
        if ids.size == 0:
            out.append(np.zeros(0, dtype=np.int64))
            continue
        spelled = table[ids]                                               # (words, longest + 1)
        flat = spelled[spelled >= 0]                                       # letters and a space per word
        out.append(flat[:-1])                                              # no space after the last word
    return out
