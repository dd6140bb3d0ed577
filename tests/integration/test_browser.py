"""End to end in a real browser: Debian's chromium, headless, driven by Playwright, against a
running app on a slice of the dev data replayed with --retime now. It checks what a user must see
on each page, and that the browser console stays clean (no failed request, nothing fetched from
outside the machine, no Vega warning). Screenshots land in test-artifacts/ for people to look at
(the README's docs/screenshots are copies of them)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest

from pipeline.app.browser import CHROMIUM, CHROMIUM_ARGS
from pipeline.app.svg_chart import CHART_CLASS
from tests.conftest import REPO_ROOT, RISING_HASHTAG

pytestmark = [pytest.mark.integration, pytest.mark.browser]

ARTIFACTS = REPO_ROOT / "test-artifacts"
METRICS_SUM_TO = """total => [...document.querySelectorAll('.trendoff-metric-value')]
    .reduce((sum, metric) => sum + Number(metric.innerText.replaceAll(',', '')), 0) === total"""
ERROR_MARKERS = ("Traceback", "Error:", "Exception", "KeyError", "StreamlitAPIException")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(seeded_app_data) -> Iterator[str]:
    settings, _ = seeded_app_data
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRENDOFF_")}
    env.update(
        TRENDOFF_NAMESPACE=settings.namespace,
        TRENDOFF_STATE_DIR=str(settings.state_dir),
        TRENDOFF_APP_PORT=str(port),
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "run", "--app-only"],
        env=env,
        cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as answer:
                if answer.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
    else:
        process.kill()
        pytest.fail("the app did not answer its health check within 60 s")
    yield url
    process.terminate()
    process.wait(timeout=60)
    # SIGTERM stops what `trendoff run` started, not only the runner itself.
    with pytest.raises(OSError):
        urllib.request.urlopen(f"{url}/_stcore/health", timeout=2)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def assert_no_error_text(page) -> None:
    body = page.inner_text("body")
    for marker in ERROR_MARKERS:
        assert marker not in body, f"{marker!r} on {page.url}"


def chart_marks(page, timeout_ms: int = 30000) -> None:
    """Wait until a chart (SVG drawn on the server) shows marks."""
    page.wait_for_selector(
        f"svg.{CHART_CLASS} .mark-rect path, svg.{CHART_CLASS} .mark-arc path, "
        f"svg.{CHART_CLASS} .mark-line path",
        # A flat line has an empty bounding box, which Playwright never calls visible.
        state="attached",
        timeout=timeout_ms,
    )


class Console:
    """Everything the browser complains about while the test runs."""

    def __init__(self, page) -> None:
        self.errors: list[str] = []
        self.warnings: list[str] = []
        page.on("console", self._message)
        page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        page.on("requestfailed", lambda request: self.errors.append(f"failed: {request.url}"))
        page.on(
            "response",
            lambda answer: (
                answer.status >= 400 and self.errors.append(f"{answer.status}: {answer.url}")
            ),
        )

    def _message(self, message) -> None:
        if message.type == "error":
            self.errors.append(message.text)
        elif message.type == "warning":
            self.warnings.append(message.text)


# The data pages' tables are HTML (pipeline/app/html_table.py); the Pipeline page's are
# Streamlit's grid, which keeps an accessible copy of the visible cells in the DOM.
TABLE_CELLS = ".trendoff-table td, [role=gridcell]"
FIRST_CELL_IS = "text => document.querySelector('.trendoff-table td')?.innerText === text"


def table_rows(page, index: int = 0) -> list[list[str]]:
    """The cells of the page's ``index``-th HTML table, row by row."""
    rows = page.locator(".trendoff-table").nth(index).locator("tbody tr")
    return [row.locator("td").all_inner_texts() for row in rows.all()]


NAV_TITLES = ["Trending now", "Compare accounts", "Topic trends", "Pipeline"]


def title_of(link_text: str) -> str:
    """A sidebar link's title without its icon (a ligature name such as "trending_up")."""
    return next((title for title in NAV_TITLES if link_text.endswith(title)), link_text)


def assert_no_none(page) -> None:
    body = page.inner_text("body")
    cells = page.locator(TABLE_CELLS).all_inner_texts()
    assert "None" not in body.split(), page.url
    assert "None" not in cells and "NaT" not in cells, page.url


def test_every_page_shows_real_numbers_and_the_console_stays_clean(
    app_url, browser, seeded_app_data
) -> None:
    from pipeline.text import load_lexicon

    _, truth = seeded_app_data
    ranked = sorted(truth.posts_by_author.items(), key=lambda item: (-item[1], item[0]))
    a, b = ranked[0][0], ranked[2][0]
    ARTIFACTS.mkdir(exist_ok=True)

    # The app's first visitor comes from a bookmark of a page other than the landing page. A
    # tab of its own: closed while its page still loads, its aborted requests are no app error.
    bookmark = browser.new_page(viewport={"width": 1300, "height": 1000})
    bookmark.goto(app_url + "/compare")
    bookmark.get_by_role("heading", name="Compare accounts").wait_for()
    bookmark.locator('[data-testid="stSidebarNav"] a').first.wait_for()
    links = bookmark.locator('[data-testid="stSidebarNav"] a').all_inner_texts()
    assert [title_of(link) for link in links] == NAV_TITLES, links
    bookmark.close()

    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    console = Console(page)

    # The landing page: rising terms (or the sentence saying why none), both leaderboards.
    page.goto(app_url)
    page.get_by_role("heading", name="Trending now").wait_for()
    page.get_by_text("Newest counted post").wait_for(timeout=30000)
    page.get_by_role("heading", name="Top hashtags").wait_for()
    page.get_by_role("heading", name="Alerts").wait_for()
    # The hashtag 30 accounts just used leads the rising terms, with its count and authors.
    page.wait_for_function(FIRST_CELL_IS, arg=RISING_HASHTAG, timeout=30000)
    top_row = table_rows(page)[0]
    assert top_row[:4] == [RISING_HASHTAG, "hashtag", "30", "30"], top_row
    # Its sparkline (baseline and window) is drawn beside it.
    sparkline = page.locator(".trendoff-table").first.locator("tbody tr").first.locator("img")
    assert sparkline.evaluate("image => image.complete && image.naturalWidth > 0")
    assert_no_error_text(page)
    assert_no_none(page)
    page.screenshot(path=str(ARTIFACTS / "trending.png"), full_page=True)

    page.goto(app_url + "/compare")
    page.get_by_role("heading", name="Compare accounts").wait_for()
    # Fill the form as a person would: open each picker, type part of a handle, pick it.
    for label, handle in (("First account", a), ("Second account", b)):
        picker = page.get_by_label(label)
        picker.click()
        page.keyboard.type(handle)
        page.get_by_role("option", name=f"{handle} (").first.click()
    page.get_by_role("button", name="Compare").click()
    page.wait_for_function(
        "([a, b]) => location.search.includes('a=' + a) && location.search.includes('b=' + b)",
        arg=[a, b],
        timeout=30000,
    )
    chart_marks(page)
    page.get_by_text(f"Words {a} and {b} both use").wait_for()
    expected = truth.shared_words(a, b, None)
    # The table: word, a's uses, a per 1,000, b's uses, b per 1,000, combined. Until the rerun
    # for the submitted pair finishes, it still shows the first pair.
    page.wait_for_function(FIRST_CELL_IS, arg=expected[0].word, timeout=30000)
    top_row = table_rows(page)[0]
    assert top_row[0] == expected[0].word
    assert int(top_row[1].replace(",", "")) > 0 and int(top_row[3].replace(",", "")) > 0
    assert expected[0].both == max(item.both for item in expected)
    page.get_by_text(f"{len(expected):,} words both").wait_for()
    # The chart's first word is the table's, with a bar for each account (hover text).
    hovers = page.locator(f"svg.{CHART_CLASS} .mark-rect path title").all_text_contents()
    first_word = [text for text in hovers if text.startswith(f"word: {expected[0].word};")]
    assert [f"account: {a};" in first_word[0], f"account: {b};" in first_word[1]] == [True, True]
    assert_no_error_text(page)
    assert_no_none(page)
    page.screenshot(path=str(ARTIFACTS / "compare.png"), full_page=True)

    # Opened at their own addresses, as after a reload or from a bookmark.
    page.goto(app_url + "/trends")
    page.get_by_role("heading", name="Topic trends").wait_for()
    # The sidebar lists the app's own page titles, not Streamlit's names for the files in pages/.
    links = page.locator('[data-testid="stSidebarNav"] a').all_inner_texts()
    assert [title_of(link) for link in links] == NAV_TITLES, links
    page.get_by_text("Newest counted post").wait_for(timeout=30000)
    chart_marks(page)
    expected_total = sum(truth.topic_totals().values())
    # The page refreshes itself every few seconds; judge the metrics once a render has settled
    # on the fitted window (a render in progress can show the previous window's values).
    try:
        page.wait_for_function(
            METRICS_SUM_TO,
            arg=expected_total,
            timeout=30000,
        )
    finally:
        page.screenshot(path=str(ARTIFACTS / "trends.png"), full_page=True)
    values = page.locator(".trendoff-metric-value").all_inner_texts()
    labels = {load_lexicon().label(c) for c in truth.topic_totals()}
    # Pointing anywhere over the trend lines shows that time's posts of every category.
    lines = page.locator(f"svg.{CHART_CLASS}").nth(1).bounding_box()
    hovered = page.evaluate(
        "([x, y]) => document.elementFromPoint(x, y).querySelector('title').textContent",
        [lines["x"] + lines["width"] * 0.5, lines["y"] + lines["height"] * 0.4],
    )
    assert hovered.startswith("time: ") and all(f"; {label}: " in hovered for label in labels)
    assert sum(int(value.replace(",", "")) for value in values) == expected_total
    assert any(value != "0" for value in values)
    assert page.locator(f"svg.{CHART_CLASS} .mark-arc path").count() > 0  # the donut has slices
    body = page.inner_text("body")
    assert all(label in body for label in labels)
    assert "_" not in "".join(page.locator(".trendoff-metric-label").all_inner_texts())
    assert_no_error_text(page)
    assert_no_none(page)
    page.screenshot(path=str(ARTIFACTS / "trends.png"), full_page=True)

    page.goto(app_url + "/pipeline")
    page.get_by_role("heading", name="Pipeline").wait_for()
    page.get_by_text("Batch runs").wait_for()
    page.locator("[role=gridcell]").first.wait_for(state="attached")
    # Health probes each server with a real request: wait for it before judging the page.
    page.get_by_text("Dead letters").wait_for(timeout=30000)
    page.get_by_text("ready").first.wait_for(timeout=30000)
    assert "unreachable" not in page.inner_text("body")
    # The jobs' table is drawn after the health probes: each streaming job's progress, caught up.
    page.locator("[data-testid=stDataFrame]").nth(1).wait_for(timeout=30000)
    page.locator("[data-testid=stDataFrame]").nth(1).locator("[role=gridcell]").first.wait_for(
        state="attached"
    )
    cells = page.locator("[role=gridcell]").all_inner_texts()
    assert {"master", "speed", "0 s"} <= set(cells)
    assert any(cell.endswith(" UTC") for cell in cells)
    assert_no_error_text(page)
    assert_no_none(page)
    page.screenshot(path=str(ARTIFACTS / "pipeline.png"), full_page=True)
    page.close()

    assert console.errors == []
    assert [w for w in console.warnings if "WARN" in w or "Infinite extent" in w] == []
