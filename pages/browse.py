import streamlit as st

st.title("browse")
st.info("This page is being built.")
