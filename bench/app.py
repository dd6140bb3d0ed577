"""App latency in a real browser: navigation to a compare URL -> the grouped bar chart drawn.

    .venv/bin/python bench/app.py [--url http://127.0.0.1:8501] [--pairs 10] [--repeat 3]
                                  [--browser-cache]

Run it against a running app with data (e.g. `make run`, or `trendoff run --app-only` after
loading the dev file). Uses Debian's chromium through Playwright. Each measurement loads the page
in a fresh browser tab with the pair in the URL and stops the clock when the chart's bars exist;
pairs are the busiest accounts, so Streamlit's caches are cold for each first visit. Each tab is
a fresh browser profile (the app's scripts downloaded and compiled every time, as for a first-time
visitor) unless ``--browser-cache``, which keeps one profile, as for a returning visitor.
"""

from __future__ import annotations

import argparse
import statistics
import time

from pipeline.app.browser import CHROMIUM, CHROMIUM_ARGS
from pipeline.serving import Serving
from pipeline.settings import get_settings

BARS = ".vega-embed svg .mark-rect path, .vega-embed canvas"


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8501")
    parser.add_argument("--pairs", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--browser-cache", action="store_true", help="one profile for all tabs")
    args = parser.parse_args()

    with Serving(get_settings()) as serving:
        handles = [account.handle for account in serving.accounts(limit=2 * args.pairs)]
    pairs = list(zip(handles[0::2], handles[1::2], strict=False))[: args.pairs]
    cold, warm = [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        shared_profile = browser.new_context() if args.browser_cache else None
        for round_index in range(args.repeat):
            for a, b in pairs:
                page = (shared_profile or browser).new_page()
                started = time.perf_counter()
                page.goto(f"{args.url}/?a={a}&b={b}")
                page.wait_for_selector(BARS, timeout=60000)
                seconds = time.perf_counter() - started
                (cold if round_index == 0 else warm).append(seconds)
                page.close()
        browser.close()
    print(
        f"navigation -> compare chart visible over {len(pairs)} pairs "
        f"({'one browser profile' if args.browser_cache else 'a fresh profile per tab'}): "
        f"first visit median {statistics.median(cold):.2f} s (max {max(cold):.2f} s)"
        + (
            f"; repeat visits median {statistics.median(warm):.2f} s (max {max(warm):.2f} s)"
            if warm
            else ""
        )
    )


if __name__ == "__main__":
    main()
