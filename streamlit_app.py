"""Trendoff's web app: `streamlit run streamlit_app.py` (or `make run`, which starts everything)."""

import streamlit as st

st.set_page_config(page_title="Trendoff", page_icon="☕", layout="wide")

navigation = st.navigation(
    [
        st.Page("pages/compare.py", title="Compare accounts", icon="👥", default=True),
        st.Page("pages/trends.py", title="Topic trends", icon="📈"),
        st.Page("pages/pipeline.py", title="Pipeline", icon="⚙️"),
    ]
)
navigation.run()
