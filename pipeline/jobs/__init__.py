"""The Spark jobs: master dataset and speed layer (Structured Streaming), batch layer."""
