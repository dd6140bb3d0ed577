import streamlit as st

st.title("Compare accounts")
st.info(
    "Pick two accounts and see the words they both use most. This page fills in once the "
    "serving layer is running (`make run` starts it)."
)
