"""Browse: minibatches of images with their captions, caption search, dataset statistics."""
import streamlit as st

from core.data.coco import SPLITS
from core.data.stats import MATCH_MODES, minibatch_rows, parse_query, sample_rows
from explorer import presenter, state
from explorer.components import browse_data, plots
from explorer.components.image_grid import caption_markdown, minibatch_grid
from explorer.components.kept_tabs import kept_tabs
from explorer.i18n import N_, _, n_

SPLIT = "browse.split"
SIZE = "browse.size"
SEED = "browse.seed"
QUERY = "browse.query"
MODE = "browse.match"
TAB = "browse.tab"
CARD = "browse.card"
TABS = (N_("Minibatch"), N_("Statistics"))
SPLIT_LABELS = {"train": N_("train"), "val": N_("val")}
MODE_LABELS = {"all": N_("all words"), "any": N_("any words")}
COUNT_LABELS = {"train": N_("**{count:,}** train captions ({rate:.2%}) of {images:,} images"),
                "val": N_("**{count:,}** val captions ({rate:.2%}) of {images:,} images")}
NO_MATCH = {"train": N_("No train caption matches; try the other split or fewer words."),
            "val": N_("No val caption matches; try the other split or fewer words.")}
MAX_BATCH = 25
DEFAULT_SEED = 231


def _resample() -> None:
    st.session_state[SEED] = st.session_state.get(SEED, DEFAULT_SEED) + 1


presenter.heading(_("Browse"), _(
    "What the model learns from: each training example is one caption row of word ids, paired "
    "with its image's feature vector (the image itself is only for us). Draw a minibatch as "
    "`sample_coco_minibatch` does and open a card's title to see every caption of its image, the "
    "ids the model reads and is scored on with the loss mask, and the feature vector. Search the "
    "captions for words, or look at the vocabulary's statistics."))

ds = state.dataset()
data = ds.data
dataset_key = ds.key

with st.container(horizontal=True, vertical_alignment="bottom", gap="medium"):
    split = st.segmented_control(_("Split"), SPLITS, default="train", required=True, key=SPLIT,
                                 persist_state="session", format_func=lambda s: _(SPLIT_LABELS[s]))
    split_size = len(data[f"{split}_captions"])
    size = st.slider(_("Batch size"), 1, min(MAX_BATCH, split_size), min(10, split_size), key=SIZE,
                     persist_state="session", width=260)
    st.session_state.setdefault(SEED, DEFAULT_SEED)   # no widget default: Re-sample sets it
    seed = st.number_input(_("Seed"), 0, 2**31 - 1, step=1, key=SEED, persist_state="session",
                           width=170, help=_("The same split, size, seed and search always give "
                                             "the same minibatch."))
    st.button(_("Re-sample"), icon=":material/casino:", on_click=_resample, type="primary",
              help=_("Draw a new minibatch: the seed goes up by one."))

with st.container(horizontal=True, vertical_alignment="bottom", gap="medium"):
    words = parse_query(st.text_input(
        _("Search captions"), key=QUERY, persist_state="session", placeholder=_("e.g. dog frisbee"),
        help=_("One or more words; the minibatch is then drawn from the captions that match.")))
    mode = st.segmented_control(_("Match"), MATCH_MODES, default="all", required=True, key=MODE,
                                format_func=lambda m: _(MODE_LABELS[m]), persist_state="session")

rows = None
if words:
    found = browse_data.search(dataset_key, words, mode, data)
    counts = " · ".join(_(COUNT_LABELS[s]).format(count=m.count, rate=m.rate, images=m.images)
                        for s, m in found.matches.items())
    joiner = _(" and ") if mode == "all" else _(" or ")
    st.markdown(_("Captions with {words}: {counts}").format(
        words=joiner.join(caption_markdown(w, [w]) for w in words), counts=counts))
    if found.unknown:
        st.caption(_("Not in the vocabulary: {words}. Rare words became `<UNK>` when the dataset was "
                     "built; search for `<UNK>` to see them.").format(
                         words=caption_markdown(", ".join(found.unknown))))
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
            st.info(_(NO_MATCH[split]))
        else:
            shown = (_("{n} of {total:,} matching captions").format(n=len(rows), total=len(matches)) if words
                     else n_("{n} caption drawn with replacement, as the notebook does",
                             "{n} captions drawn with replacement, as the notebook does",
                             len(rows)).format(n=len(rows)))
            st.caption(_("{shown}; the Inspect page can use this minibatch.").format(shown=shown))
            minibatch_grid(ds, split, [int(r) for r in rows], words, key=CARD)

if stats_tab.open:
    with stats_tab:
        stats = browse_data.stats(dataset_key, split, data)
        dataset = "demo" if ds.is_demo else "COCO"               # for the charts' titles: no folder
        # two by two: a value such as "1,000 of 1,004" must fit at 1024 px in every language
        (a, b), (c, d) = st.columns(2), st.columns(2)
        a.metric(_("Captions"), f"{stats.num_captions:,}", border=True,
                 help=_("of {n:,} images").format(n=stats.num_images))
        b.metric(_("Mean length"), _("{n:.1f} words").format(n=stats.mean_length), border=True,
                 help=_("Words between <START> and <END>; <UNK> counts as a word."))
        c.metric(_("<UNK> rate"), f"{stats.unk_token_rate:.2%}", border=True,
                 help=_("{unk:,} of {words:,} words are <UNK>; {captions:.1%} of captions hold at least one.")
                 .format(unk=stats.unk_tokens, words=stats.word_tokens, captions=stats.unk_caption_rate))
        d.metric(_("Vocabulary used"), _("{used:,} of {size:,}").format(used=stats.words_used, size=stats.vocab_size),
                 border=True, help=_("Words that appear at least once in this split, of the vocabulary's {size:,} words; "
                        "the special tokens <NULL>, <START>, <END> and <UNK> are not counted, as in the "
                        "sidebar.").format(size=stats.vocab_size))
        left, right = st.columns(2, gap="large")
        with left:
            plots.caption_length_chart(stats, dataset)
            plots.captions_per_image_chart(stats, dataset)
        with right:
            plots.top_words_chart(stats, dataset)
