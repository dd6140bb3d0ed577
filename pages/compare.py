"""Compare accounts: the words two accounts both use most, and what sets each apart."""

import pandas as pd
import streamlit as st

from pipeline.app import loaders
from pipeline.app.charts import shared_words_chart, shared_words_frame

st.title("Compare accounts")

directory = loaders.account_directory()
if not directory:
    st.info("No accounts yet: start a source (`make run` starts the demo generator).")
    st.stop()

handles = [handle for handle, _ in directory]
posts = dict(directory)
params = st.query_params
default_a = params.get("a", handles[0])
default_b = params.get("b", handles[1] if len(handles) > 1 else handles[0])
unknown = [handle for handle in (default_a, default_b) if handle not in posts]
if unknown:
    st.warning(f"Unknown account in the link: {', '.join(unknown)}. Pick one from the lists.")


def label(handle: str) -> str:
    return f"{handle} ({posts[handle]:,} posts)"


with st.form("compare", border=True):
    left, right, size = st.columns([3, 3, 2])
    a = left.selectbox(
        "First account",
        handles,
        index=handles.index(default_a) if default_a in posts else 0,
        format_func=label,
        key="account_a",
    )
    b = right.selectbox(
        "Second account",
        handles,
        index=handles.index(default_b) if default_b in posts else min(1, len(handles) - 1),
        format_func=label,
        key="account_b",
    )
    top_n = size.slider("Words", 5, 50, int(params.get("n", 20)), key="top_n")
    submitted = st.form_submit_button("Compare", type="primary", key="compare_submit")

if submitted:
    st.query_params.update({"a": a, "b": b, "n": str(top_n)})

if a == b:
    st.info("Pick two different accounts to compare.")
    st.stop()

words = loaders.shared_words(a, b, top_n)
if not words:
    st.info(f"{a} and {b} share no words yet.")
else:
    st.altair_chart(shared_words_chart(a, b, words), width="stretch")
    table = pd.DataFrame(
        [{"word": w.word, a: w.count_a, b: w.count_b, "combined": w.combined} for w in words]
    )
    st.dataframe(table, hide_index=True, width="stretch")
    st.download_button(
        "Download as CSV",
        shared_words_frame(a, b, words).to_csv(index=False).encode(),
        file_name=f"shared-words-{a}-{b}.csv",
        mime="text/csv",
        key="download_shared",
    )

st.subheader("Distinctive words")
st.caption(
    "Weighted log-odds with an informative prior: words each account uses more than the other."
)
of_a, of_b = loaders.distinctive(a, b)
col_a, col_b = st.columns(2)
for column, handle, items in ((col_a, a, of_a), (col_b, b, of_b)):
    column.markdown(f"**{handle}**")
    column.dataframe(
        pd.DataFrame(
            [
                {
                    "word": i.word,
                    "z": round(abs(i.z), 2),
                    "uses": i.count_a if handle == a else i.count_b,
                }
                for i in items
            ]
        ),
        hide_index=True,
        width="stretch",
    )
