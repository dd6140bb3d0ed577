"""Trendoff: real-time social-media trend analytics on a lambda architecture."""

__version__ = "0.1.0"
