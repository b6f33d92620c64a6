"""Browse: minibatches of images with their captions, caption search, dataset statistics."""
import streamlit as st

from core.data.coco import SPLITS
from core.data.stats import (MATCH_MODES, minibatch_rows, parse_query, sample_rows,
                             search_captions, split_stats)
from explorer import state
from explorer.components import plots
from explorer.components.image_grid import caption_markdown, minibatch_grid
from explorer.components.kept_tabs import kept_tabs

SPLIT = "browse.split"
SIZE = "browse.size"
SEED = "browse.seed"
QUERY = "browse.query"
MODE = "browse.match"
TAB = "browse.tab"
CARD = "browse.card"
TABS = ("Minibatch", "Statistics")
MAX_BATCH = 25
DEFAULT_SEED = 231


@st.cache_data(show_spinner="Counting words…", max_entries=8)
def _stats(dataset_key: str, split: str, _data: dict):
    return split_stats(_data, split)


@st.cache_data(show_spinner="Searching the captions…", max_entries=32)
def _search(dataset_key: str, words: tuple, mode: str, _data: dict):
    return search_captions(_data, words, mode)


def _resample() -> None:
    st.session_state[SEED] = st.session_state.get(SEED, DEFAULT_SEED) + 1


st.title("Browse")
st.markdown(
    "What the model learns from: each training example is one caption row of word ids, paired "
    "with its image's feature vector (the image itself is only for us). Draw a minibatch as "
    "`sample_coco_minibatch` does and open a card's title to see every caption of its image, the "
    "ids the model reads and is scored on with the loss mask, and the feature vector. Search the "
    "captions for words, or look at the vocabulary's statistics.")

ds = state.dataset()
data = ds.data
dataset_key = ds.key

with st.container(horizontal=True, vertical_alignment="bottom", gap="medium"):
    split = st.segmented_control("Split", SPLITS, default="train", required=True, key=SPLIT,
                                 persist_state="session")
    split_size = len(data[f"{split}_captions"])
    size = st.slider("Batch size", 1, min(MAX_BATCH, split_size), min(10, split_size), key=SIZE,
                     persist_state="session", width=260)
    st.session_state.setdefault(SEED, DEFAULT_SEED)   # no widget default: Re-sample sets it
    seed = st.number_input("Seed", 0, 2**31 - 1, step=1, key=SEED, persist_state="session",
                           width=170, help="The same split, size, seed and search always give "
                                           "the same minibatch.")
    st.button("Re-sample", icon=":material/casino:", on_click=_resample, type="primary",
              help="Draw a new minibatch: the seed goes up by one.")

with st.container(horizontal=True, vertical_alignment="bottom", gap="medium"):
    words = parse_query(st.text_input(
        "Search captions", key=QUERY, persist_state="session", placeholder="e.g. dog frisbee",
        help="One or more words; the minibatch is then drawn from the captions that match."))
    mode = st.segmented_control("Match", MATCH_MODES, default="all", required=True, key=MODE,
                                format_func=lambda m: f"{m} words", persist_state="session")

rows = None
if words:
    found = _search(dataset_key, words, mode, data)
    counts = " · ".join(f"**{m.count:,}** {s} captions ({m.rate:.2%}) of {m.images:,} images"
                        for s, m in found.matches.items())
    joiner = " and " if mode == "all" else " or "
    st.markdown(f"Captions with {joiner.join(caption_markdown(w, [w]) for w in words)}: {counts}")
    if found.unknown:
        st.caption(f"Not in the vocabulary: {caption_markdown(', '.join(found.unknown))}. Rare "
                   f"words became `<UNK>` when the dataset was built; search for `<UNK>` to see them.")
    matches = found.matches[split].rows
    if len(matches):
        rows = sample_rows(matches, size, seed)
else:
    rows = minibatch_rows(data, split, size, seed)

if rows is not None:
    st.session_state[state.BROWSE_BATCH] = state.Minibatch(split, tuple(int(r) for r in rows), seed, ds.key)

minibatch_tab, stats_tab = kept_tabs(TABS, key=TAB)

if minibatch_tab.open:
    with minibatch_tab:
        if rows is None:
            st.info(f"No {split} caption matches; try the other split or fewer words.")
        else:
            shown = (f"{len(rows)} of {len(matches):,} matching captions" if words
                     else f"{len(rows)} captions drawn with replacement, as the notebook does")
            st.caption(f"{shown}; the Inspect page can use this minibatch.")
            minibatch_grid(ds, split, [int(r) for r in rows], words, key=CARD)

if stats_tab.open:
    with stats_tab:
        stats = _stats(dataset_key, split, data)
        a, b, c, d = st.columns(4)
        a.metric("Captions", f"{stats.num_captions:,}", border=True,
                 help=f"of {stats.num_images:,} images")
        b.metric("Mean length", f"{stats.mean_length:.1f} words", border=True,
                 help="Words between <START> and <END>; <UNK> counts as a word.")
        c.metric("<UNK> rate", f"{stats.unk_token_rate:.2%}", border=True,
                 help=f"{stats.unk_tokens:,} of {stats.word_tokens:,} words are <UNK>; "
                      f"{stats.unk_caption_rate:.1%} of captions hold at least one.")
        d.metric("Vocabulary used", f"{stats.words_used:,} of {stats.vocab_size:,}", border=True,
                 help="Words (specials left out) that appear at least once in this split.")
        left, right = st.columns(2, gap="large")
        with left:
            plots.caption_length_chart(stats)
            plots.captions_per_image_chart(stats)
        with right:
            plots.top_words_chart(stats)
