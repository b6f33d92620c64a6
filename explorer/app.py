"""Caption Lab's entry point: `streamlit run explorer/app.py` from the repo root."""
import streamlit as st

st.set_page_config(page_title="Caption Lab", page_icon="🖼️", layout="wide")
st.title("Caption Lab")
st.write("An interactive explorer for image captioning with recurrent neural networks. "
         "Coming next: Browse COCO minibatches, a Layer lab for gradient checks, a Training lab, "
         "Inspect (hidden states step by step) and Compare (sampled against ground truth).")
