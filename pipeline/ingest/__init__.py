"""Ingest: reading posts from sources, validating them, and encoding them as Avro.

``model`` holds the post and rejection records every source yields, ``avro`` the wire format,
``sources`` the readers (CSV, JSON Lines, synthetic) and the pacing wrappers over them.
"""
