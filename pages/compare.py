"""Compare accounts: the words two accounts both use most, and what sets each apart."""

import streamlit as st

from pipeline.app import loaders
from pipeline.app.charts import shared_words_chart, shared_words_frame, shared_words_table
from pipeline.app.html_table import columns_of, html_table
from pipeline.app.params import markdown_literal, parse_choice, parse_count
from pipeline.app.svg_chart import FULL_WIDTH, draw

RANKINGS = ("both", "combined")
RANKING_LABELS = {"both": "how much both use it", "combined": "combined count"}
MIN_WORDS, MAX_WORDS, DEFAULT_WORDS = 5, 50, 20

st.title("Compare accounts")

directory = loaders.account_directory()
if not directory:
    st.info("No accounts yet: start a source (`make run` starts the demo generator).")
    st.stop()

handles = [handle for handle, _ in directory]
posts = dict(directory)
params = st.query_params
link_a = params.get("a", handles[0])
link_b = params.get("b", handles[1] if len(handles) > 1 else handles[0])
unknown = [handle for handle in (link_a, link_b) if handle not in posts]
if unknown:
    shown = ", ".join(markdown_literal(handle) for handle in unknown)
    st.warning(f"Unknown account in the link: {shown}. Pick one from the lists.")
link_n = parse_count(
    params.get("n"), name="n", low=MIN_WORDS, high=MAX_WORDS, default=DEFAULT_WORDS
)
link_by = parse_choice(params.get("by"), name="by", choices=RANKINGS, default="both")
for problem in (link_n.problem, link_by.problem):
    if problem:
        st.warning(problem)


def label(handle: str) -> str:
    return f"{handle} ({posts[handle]:,} posts)"


# The pair the page shows: the form's last submitted values, or the link's on a first visit.
a = st.session_state.get("account_a", link_a if link_a in posts else handles[0])
b = st.session_state.get(
    "account_b", link_b if link_b in posts else handles[min(1, len(handles) - 1)]
)
by = st.session_state.get("rank_by", RANKINGS[link_by.value])
shared = loaders.shared_words(a, b, by) if a != b else []
# The slider offers no more words than the pair shares.
most = max(MIN_WORDS + 1, min(MAX_WORDS, len(shared)))
if "top_n" not in st.session_state:
    st.session_state["top_n"] = min(link_n.value, most)
st.session_state["top_n"] = min(st.session_state["top_n"], most)

with st.form("compare", border=True):
    left, right, size, order = st.columns([3, 3, 2, 2])
    left.selectbox(
        "First account", handles, index=handles.index(a), format_func=label, key="account_a"
    )
    right.selectbox(
        "Second account", handles, index=handles.index(b), format_func=label, key="account_b"
    )
    size.slider("Words", MIN_WORDS, most, key="top_n")
    order.radio(
        "Rank by",
        RANKINGS,
        index=RANKINGS.index(by),
        format_func=RANKING_LABELS.__getitem__,
        key="rank_by",
        help="“How much both use it”: the smaller of the two rates per 1,000 words, so a word "
        "one account uses all the time and the other once does not lead. “Combined”: the sum "
        "of the two counts.",
    )
    submitted = st.form_submit_button("Compare", type="primary", key="compare_submit")

if submitted:
    # Submitted values are in session state from the start of this run; the link follows them.
    st.query_params.update({"a": a, "b": b, "n": str(st.session_state["top_n"]), "by": by})

if a == b:
    st.info("Pick two different accounts to compare.")
    st.stop()

top_n = st.session_state["top_n"]
words = shared[:top_n]
name_a, name_b = markdown_literal(a), markdown_literal(b)
if not words:
    st.info(f"{name_a} and {name_b} share no words yet.")
else:
    st.caption(
        f"{len(shared):,} words both {name_a} and {name_b} use; the top {len(words)}, ranked by "
        f"{RANKING_LABELS[by]}. Bars are uses per 1,000 words of each account (log scale), so a "
        "busy account and a quiet one compare fairly; the table has the counts."
    )
    draw(st, shared_words_chart(a, b, words), FULL_WIDTH)
    table = shared_words_table(a, b, words)
    st.html(html_table(table, columns_of(table)))
    st.download_button(
        "Download as CSV",
        shared_words_frame(a, b, words).to_csv(index=False).encode(),
        file_name="shared-words.csv",
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
    column.markdown(f"**{markdown_literal(handle)}**")
    if not items:
        column.caption("No word stands out yet.")
        continue
    rows = [
        {"word": i.word, "z": round(abs(i.z), 2), "uses": i.count_a if handle == a else i.count_b}
        for i in items
    ]
    column.html(html_table(rows, columns_of(rows)))
