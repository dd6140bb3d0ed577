"""How Trendoff drives a headless browser (its end-to-end test and bench/app.py).

Debian's chromium package, never a downloaded browser. Without the background-networking flags,
headless Chromium keeps calling Google services, which a closed network refuses many times over.
"""

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
