"""Schemas: the Avro post record and the Cassandra CQL applied by `trendoff init`."""
