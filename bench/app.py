"""App latency in a real browser: navigation to a page -> its data drawn, for each data page.

    .venv/bin/python bench/app.py [--url http://127.0.0.1:8501] [--pages trending,compare,trends]
                                  [--pairs 10] [--repeat 3] [--browser-cache]

Run it against a running app with data (e.g. `make run`, or `trendoff run --app-only` after
loading the dev file). Uses Debian's chromium through Playwright. Each measurement opens the page
in a fresh browser tab and stops the clock when what a visitor came for is drawn:

- trending (the landing page, ``/``): the rising-terms table with its first term and the
  selected term's timeline chart, or the sentence saying why nothing trends;
- compare (``/compare?a=…&b=…``): the words-both-use chart's bars; pairs are the busiest
  accounts, so Streamlit's caches are cold for each pair's first visit;
- trends (``/trends``): the category metrics and the donut's slices.

Each tab is a fresh browser profile (the app's scripts downloaded and compiled every time, as for
a first-time visitor) unless ``--browser-cache``, which keeps one profile, as for a returning
visitor. Prints, per page, the first visit and the repeat visits: median, p95 and max; and where
the time went: when the page had loaded (Streamlit's own scripts run, before any of the page
script's output), when its title was shown (the script's first element), when it was drawn.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from pipeline.app.browser import CHROMIUM, CHROMIUM_ARGS
from pipeline.app.svg_chart import CHART_CLASS
from pipeline.serving import Serving
from pipeline.settings import get_settings

CHART = f"svg.{CHART_CLASS} .mark-rect path, svg.{CHART_CLASS} .mark-line path"
TIMEOUT_MS = 60000


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def trending_drawn(page) -> None:  # type: ignore[no-untyped-def]
    # Either the ranking with the first term's timeline chart, or the sentence saying why
    # nothing trends; then the leaderboards below them.
    drawn = page.locator(CHART).or_(page.get_by_text("Nothing is trending"))
    drawn.first.wait_for(timeout=TIMEOUT_MS)
    page.get_by_role("heading", name="Top hashtags").wait_for(timeout=TIMEOUT_MS)


def compare_drawn(page) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_selector(CHART, timeout=TIMEOUT_MS)


def trends_drawn(page) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_selector(".trendoff-metric-value", timeout=TIMEOUT_MS)
    page.wait_for_selector(f"svg.{CHART_CLASS} .mark-arc path", timeout=TIMEOUT_MS)


def visits(args: argparse.Namespace) -> dict[str, list[tuple[str, Callable]]]:  # type: ignore[type-arg]
    """Per page, the addresses of one round of visits and what marks each as drawn."""
    with Serving(get_settings()) as serving:
        handles = [account.handle for account in serving.accounts(limit=2 * args.pairs)]
    pairs = list(zip(handles[0::2], handles[1::2], strict=False))[: args.pairs]
    return {
        "trending": [("/", trending_drawn)] * args.pairs,
        "compare": [(f"/compare?a={a}&b={b}", compare_drawn) for a, b in pairs],
        "trends": [("/trends", trends_drawn)] * args.pairs,
    }


def summary(values: list[float]) -> str:
    return (
        f"median {statistics.median(values):.2f} s, p95 {percentile(values, 0.95):.2f} s, "
        f"max {max(values):.2f} s"
    )


def main() -> None:
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8501")
    parser.add_argument("--pages", default="trending,compare,trends")
    parser.add_argument("--pairs", type=int, default=10, help="visits per page and round")
    parser.add_argument("--repeat", type=int, default=3, help="rounds (the first is cold)")
    parser.add_argument("--browser-cache", action="store_true", help="one profile for all tabs")
    args = parser.parse_args()

    planned = visits(args)
    profile = "one browser profile" if args.browser_cache else "a fresh profile per tab"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        shared_profile = browser.new_context() if args.browser_cache else None
        for name in args.pages.split(","):
            first, repeat = [], []
            loaded, titled = [], []
            for round_index in range(args.repeat):
                for path, drawn in planned[name]:
                    page = (shared_profile or browser).new_page()
                    started = time.perf_counter()
                    page.goto(args.url + path)  # returns at the load event
                    loaded.append(time.perf_counter() - started)
                    page.locator("h1").first.wait_for(timeout=TIMEOUT_MS)
                    titled.append(time.perf_counter() - started)
                    drawn(page)
                    seconds = time.perf_counter() - started
                    (first if round_index == 0 else repeat).append(seconds)
                    page.close()
            print(
                f"{name}: navigation -> drawn, {len(planned[name])} visits a round "
                f"({profile}): first round {summary(first)}"
                + (f"; repeat rounds {summary(repeat)}" if repeat else "")
                + f"; medians of all visits: page loaded {statistics.median(loaded):.2f} s, "
                f"title shown {statistics.median(titled):.2f} s, "
                f"drawn {statistics.median(first + repeat):.2f} s"
            )
        browser.close()


if __name__ == "__main__":
    main()
