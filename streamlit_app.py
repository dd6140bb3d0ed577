"""Trendoff's web app: `streamlit run streamlit_app.py` (or `make run`, which starts everything)."""

import streamlit as st

st.set_page_config(page_title="Trendoff", page_icon=":material/local_cafe:", layout="wide")

navigation = st.navigation(
    [
        st.Page(
            "pages/compare.py", title="Compare accounts", icon=":material/group:", default=True
        ),
        st.Page("pages/trends.py", title="Topic trends", icon=":material/trending_up:"),
        st.Page("pages/pipeline.py", title="Pipeline", icon=":material/settings:"),
    ]
)
navigation.run()
