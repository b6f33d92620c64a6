"""Home: what Caption Lab is, what each page teaches, the dataset at a glance, a quick start."""
import streamlit as st

from core.data.coco import describe_dataset
from explorer import state
from explorer.components.tables import table
from explorer.i18n import N_, _, p_

st.title("Caption Lab")
st.markdown(_(
    "An image goes in as a feature vector; a recurrent network turns it into a sentence, one "
    "word at a time. Caption Lab is the CS231n captioning exercise (COCO 2014, VGG-16 features "
    "reduced to 512 numbers, a vanilla RNN or an LSTM trained with Adam) made into something "
    "you can poke: every number on every page comes from the same numpy code a student writes "
    "in the notebook."))

PAGES = [
    (N_("Lesson"), "../pages/lesson.py", N_("The notebook's story in twelve steps, each with a live view and a "
     "question: the data, one RNN step with its numbers, training live, sampling, the LSTM. Start here.")),
    (N_("Browse"), "../pages/browse.py", N_("What the data really is: images, five captions each, word ids, "
     "`<START>`/`<END>`/`<NULL>` padding and the loss mask, feature vectors, vocabulary statistics.")),
    (N_("Layer lab"), "../pages/layer_lab.py", N_("Every layer's forward and numeric gradient check from the "
     "notebook, with the equations, and what a wrong backward pass looks like.")),
    (N_("Train"), "../pages/train.py", N_("Overfit a small set and watch the loss fall live; compare runs, "
     "learning rates, RNN against LSTM; see captions turn from noise into sentences.")),
    (N_("Inspect"), "../pages/inspect.py", N_("Step through sampling one word at a time: the hidden state, "
     "the LSTM gates, the next-word distribution, and \"what if\" a different word came next; "
     "compose your own scene and vary one thing at a time.")),
    (N_("Compare"), "../pages/compare.py", N_("Sampled captions against the ground truth with BLEU, greedy "
     "against beam search, train against val: where overfitting shows.")),
    (N_("Your code"), "../pages/your_code.py", N_("Check your own rnn_layers.py and rnn.py function by function: "
     "what is wrong, where, and why; then train your model beside Caption Lab's.")),
]

cards = st.grid(len(PAGES), min_column_width=180, border=True)    # fewer across on a narrow screen
for name, path, text in PAGES:
    with cards.cell():
        st.page_link(path, label=f"**{_(name)}**")
        st.caption(_(text))

st.subheader(_("Quick start"))
st.markdown(_(
    "1. New to RNNs, or teaching? Follow the **Lesson**: Next and Back (or the arrow keys) walk "
    "through the notebook's story; *Presenter mode* in the sidebar sizes it for a projector.\n"
    "2. **Browse** a minibatch: press *Re-sample* and read the captions next to their word ids.\n"
    "3. **Layer lab**: check one RNN step's forward pass and gradient, then break the backward pass.\n"
    "4. **Train** the *Notebook RNN overfit* preset: 50 captions, a few seconds to a minute, and "
    "the loss falls from tens (about 60 on the demo data) to about 0.1.\n"
    "5. **Inspect** that run: it opens on an image it trained on; *Step* through the caption it "
    "learned and watch which word the model picks, and why. Then pick a *Val* image it never saw.\n"
    "6. **Compare** it on the images it trained on against val: near-perfect BLEU on one, far lower "
    "on the other. That gap is overfitting."))

ds = state.dataset()
st.subheader(_("The dataset"))
st.caption(_("{dataset}: the notebook's `for k, v in data.items(): print(k, type(v), v.shape, v.dtype)`.")
           .format(dataset=ds.label))
rows = describe_dataset(ds.data)
st.dataframe(table({_("key"): [r["key"] for r in rows], _("type"): [r["type"] for r in rows],
                    p_("an array's shape", "shape"): [str(r["shape"]) for r in rows],
                    _("dtype"): [r["dtype"] or "" for r in rows], _("in memory"): [r["in_memory"] for r in rows]}),
             hide_index=True, width="stretch")
