import streamlit as st

st.title("Topic trends")
st.info(
    "Live counts, market share and trend lines per topic (drinks by default). This page fills "
    "in once the speed and batch layers are running (`make run` starts them)."
)
