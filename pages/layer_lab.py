import streamlit as st

st.title("layer_lab")
st.info("This page is being built.")
