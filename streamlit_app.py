"""Trendoff's web app: `streamlit run pipeline/app/server.py` (or `make run`, which starts
everything); `streamlit run streamlit_app.py` works too."""

from pathlib import Path

import streamlit as st

# A local file: a material-icon favicon is fetched from fonts.gstatic.com, which fails offline.
ICON = Path(__file__).resolve().parent / "pipeline" / "resources" / "icon.png"
st.set_page_config(page_title="Trendoff", page_icon=str(ICON), layout="wide")

navigation = st.navigation(
    [
        st.Page(
            "pages/trending.py",
            title="Trending now",
            icon=":material/local_fire_department:",
            default=True,
        ),
        st.Page("pages/compare.py", title="Compare accounts", icon=":material/group:"),
        st.Page("pages/trends.py", title="Topic trends", icon=":material/trending_up:"),
        st.Page("pages/pipeline.py", title="Pipeline", icon=":material/settings:"),
    ]
)
navigation.run()
