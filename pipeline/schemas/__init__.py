"""Schemas: the Avro post record and the Cassandra CQL applied by `trendoff init`."""

# Every table of cql/*.cql: what the jobs and serving check for before they start.
SLOTS = (0, 1)
# The one row of batch_state.
STATE_ID = "current"
# The batch views; each exists once per slot, as ``<view>_<slot>``.
BATCH_VIEWS = ("batch_vocab", "batch_topics", "batch_account_tallies", "batch_term_tallies")
TABLES = (
    "posts",
    "job_progress",
    "speed_vocab",
    "speed_topics",
    "speed_account_tallies",
    "speed_term_tallies",
    *(f"{view}_{slot}" for view in BATCH_VIEWS for slot in SLOTS),
    "batch_state",
    "batch_runs",
    "batch_requests",
    "alerts",
    "alert_claims",
    "batch_lease",
)
