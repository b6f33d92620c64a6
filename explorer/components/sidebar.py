"""The sidebar every page shares: which dataset, which features, and how healthy it is."""
from __future__ import annotations

import socket

import streamlit as st

from core.data.layout import SPECIAL_WORDS
from explorer import i18n, presenter, runs, state
from explorer.admin import ONLY_ADMIN, is_admin
from explorer.i18n import _


def _download_panel() -> None:
    """Start, follow and pause the one-step COCO download (starting and pausing: the admin only,
    since there is one download for the whole server)."""
    job = state.coco_download()
    admin = is_admin()
    st.caption(_("The course's COCO captioning archive (about 1 GB) is fetched, checked and "
                 "unpacked into `{dest}`. A stopped download resumes where it stopped.").format(dest=job.dest))
    if not admin:
        st.caption(_(":material/lock: One download serves the whole server. {only_admin} On the server, "
                     "`python -m core.data download` does the same.").format(only_admin=_(ONLY_ADMIN)))
    if job.running:
        st.button(_("Pause download"), on_click=job.stop, key="app.download_stop", width="stretch",
                  disabled=not admin)
        _download_progress()
        return
    if job.error:
        st.error(_(job.error))
    partial = job.dest.with_name(job.dest.name + ".zip.part").exists()
    label = _("Resume download") if partial else _("Try again") if job.error else _("Download COCO")
    if st.button(label, key="app.download_start", type="primary", width="stretch", disabled=not admin):
        job.start()
        st.rerun()


@st.fragment(run_every=1.0)
def _download_progress() -> None:
    job = state.coco_download()
    p = job.progress
    if p is None:
        st.progress(0.0, text=_("Connecting…"))
    else:
        st.progress(p.fraction or 0.0, text=_(p.message))
    if not job.running:
        st.rerun(scope="app")


def _health(ds: state.Dataset, slot) -> None:
    """The dataset's counts in `slot` (an `st.empty`), with what else there is to say under them."""
    data = ds.data
    n_img = {s: len(data[f"{s}_features"]) for s in ("train", "val")}
    n_cap = {s: len(data[f"{s}_captions"]) for s in ("train", "val")}
    fetcher = state.image_fetcher()
    stats = fetcher.stats()
    specials = sum(word in SPECIAL_WORDS for word in data["idx_to_word"])   # <NULL> <START> <END> <UNK>
    counts = "  \n".join([
        f"**{ds.label}**",
        _("train: {images:,} images, {captions:,} captions").format(images=n_img["train"], captions=n_cap["train"]),
        _("val: {images:,} images, {captions:,} captions").format(images=n_img["val"], captions=n_cap["val"]),
        _("vocabulary: {words:,} words + {specials} special tokens").format(
            words=len(data["idx_to_word"]) - specials, specials=specials),
        _("images so far: {live:,} live, {dead:,} dead").format(live=stats["live"], dead=stats["dead"])])
    notes = []
    if runs.redis_url():             # one of several app servers: say which, for whoever debugs the class
        notes.append(_(":material/dns: Served by `{host}:{port}`; runs queue on Redis and any app server "
                       "of the class shows them.").format(host=socket.gethostname(), port=st.get_option("server.port")))
    notice = fetcher.take_offline_notice()
    if notice:
        st.toast(_(notice), icon="📡")
    if fetcher.offline:
        notes.append(_("📡 Offline: web images are skipped; local and cached ones still show."))
    if not notes:                    # the counts alone: one element in the slot, not a container of one
        slot.markdown(counts)
        return
    with slot.container():
        st.markdown(counts)
        for note in notes:
            st.caption(note)


def dataset_sidebar():
    """Draw the shared sidebar's dataset choice; return a function that fills in the
    dataset's health, to call after the page ran (so its image counts include that page's)."""
    with st.sidebar:
        i18n.language_selector()
        presenter.toggle()
        st.subheader(_("Dataset"))
        source = st.radio(_("Source"), list(state.SOURCES), key=state.SOURCE, label_visibility="collapsed",
                          format_func=lambda s: _(state.SOURCES[s]))
        # the folder's field, or the download's panel (filled below, once the dataset is known);
        # the demo's needs none (each element is a message on every page run of every session)
        choice = st.container() if source in (state.COCO, state.DOWNLOAD) else None
        if source == state.COCO:
            with choice:
                st.text_input(_("COCO captioning folder"), key=state.COCO_DIR,
                              placeholder="/path/to/coco_captioning")
        st.radio(_("Features"), state.FEATURE_KINDS, key=state.FEATURES, horizontal=True,
                 help=_("PCA: the course's 512-d reduction of VGG-16 fc7. fc7: the full "
                        "4096-d vectors, read lazily from disk."))
        ds = state.dataset()
        # decided from the dataset actually loaded, so a download that finishes during this
        # run shows as the dataset, not as a panel still downloading
        downloading = source == state.DOWNLOAD and ds.is_demo
        if downloading:
            with choice:
                _download_panel()
            if ds.problem and state.chosen_folder().exists():     # a download there is damaged
                st.error(_(ds.problem))
            st.info(_("Showing the demo dataset until the download has finished."))
        elif ds.problem and source == state.COCO and state.chosen_folder() is None:
            st.info(_("{problem} Showing the demo dataset meanwhile.").format(problem=_(ds.problem)))
        elif ds.problem:
            st.error(_(ds.problem))
            st.info(_("Showing the demo dataset meanwhile."))
        slot = st.empty()

    def health() -> None:
        _health(ds, slot)
    return health
