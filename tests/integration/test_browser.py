"""End to end in a real browser: Debian's chromium, headless, driven by Playwright, against a
running app on seeded dev data. Screenshots land in test-artifacts/ for people to look at."""

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
from tests.conftest import REPO_ROOT

pytestmark = [pytest.mark.integration, pytest.mark.browser]

ARTIFACTS = REPO_ROOT / "test-artifacts"
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
    """Wait until a Vega chart has drawn marks (its SVG paths or its canvas)."""
    page.wait_for_selector(
        ".vega-embed svg .mark-rect path, .vega-embed svg .mark-arc path, "
        ".vega-embed svg .mark-line path, .vega-embed canvas",
        # A flat line has an empty bounding box, which Playwright never calls visible.
        state="attached",
        timeout=timeout_ms,
    )


def test_every_page_renders_and_the_compare_form_draws_a_chart(
    app_url, browser, seeded_app_data
) -> None:
    _, truth = seeded_app_data
    ranked = sorted(truth.posts_by_author.items(), key=lambda item: (-item[1], item[0]))
    a, b = ranked[0][0], ranked[2][0]
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1300, "height": 1000})

    page.goto(app_url)
    page.get_by_text("Compare accounts").first.wait_for()
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
    assert_no_error_text(page)
    page.screenshot(path=str(ARTIFACTS / "compare.png"), full_page=True)

    for path, title, name in (
        ("/trends", "Topic trends", "trends.png"),
        ("/pipeline", "Pipeline", "pipeline.png"),
    ):
        page.goto(app_url + path)
        page.get_by_role("heading", name=title).wait_for()
        if name == "trends.png":
            page.get_by_text("Newest counted post").wait_for(timeout=30000)
            chart_marks(page)
        else:
            page.get_by_text("Batch runs").wait_for()
        assert_no_error_text(page)
        page.screenshot(path=str(ARTIFACTS / name), full_page=True)
    page.close()
