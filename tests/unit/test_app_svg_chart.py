"""Charts drawn on the server: hover titles, fitting to the container, and real renders of the
app's own charts (vl-convert runs Vega in the app's renderer processes: no server, nothing to
mock)."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.app import svg_chart
from pipeline.app.charts import (
    hover_bands,
    share_donut,
    shared_words_chart,
    term_timeline,
    trend_lines,
)
from pipeline.app.svg_chart import CHART_CLASS, Drawing, chart_svg, fluid, with_hover_titles
from pipeline.views import SharedWord
from tests.table_reader import chart_titles as titles

HOSTILE = '#x_<b>"win"</b>&<script>alert(1)</script>'


def test_a_mark_gets_its_label_as_title_and_other_elements_stay_as_they_were() -> None:
    svg = (
        '<svg><g role="graphics-object" aria-label="container"/>'
        '<path aria-label="word: a&lt;b &amp; c; uses: 3" role="graphics-symbol" d="M0,0"/>'
        '<path role="graphics-symbol" d="M1,1"/><rect width="2" height="2"/></svg>'
    )
    assert with_hover_titles(svg) == (
        '<svg><g role="graphics-object" aria-label="container"/>'
        '<path aria-label="word: a&lt;b &amp; c; uses: 3" role="graphics-symbol" d="M0,0">'
        "<title>word: a&lt;b &amp; c; uses: 3</title></path>"
        '<path role="graphics-symbol" d="M1,1"/><rect width="2" height="2"/></svg>'
    )


def test_an_unescaped_angle_bracket_in_a_label_neither_ends_the_tag_nor_reaches_the_title() -> None:
    # Vega escapes `&` and `"` in attribute values, not `<` or `>`.
    svg = '<path aria-label="word: <script>x</script>" role="graphics-symbol" d="M0,0"/>'
    titled = with_hover_titles(svg)
    assert titled.endswith("<title>word: &lt;script&gt;x&lt;/script&gt;</title></path>")
    assert titled.count("<script>") == 1  # only inside the attribute, where it is inert


def test_fluid_replaces_the_fixed_size_and_keeps_the_view_box() -> None:
    svg = (
        '<svg xmlns="x" class="marks" width="749" height="392" viewBox="0 0 749 392">'
        '<rect width="749"/></svg>'
    )
    assert fluid(svg) == (
        f'<svg xmlns="x" viewBox="0 0 749 392" class="marks {CHART_CLASS}" '
        'style="width:100%;height:auto"><rect width="749"/></svg>'
    )
    with pytest.raises(ValueError, match="not an SVG"):
        fluid("<div></div>")


def shared_words(count: int) -> list[SharedWord]:
    return [SharedWord(f"word{i}", 10 * (i + 1), 3 * (i + 1), 50_000, 4_000) for i in range(count)]


def test_the_compare_chart_draws_a_titled_bar_per_word_and_account() -> None:
    words = [*shared_words(7), SharedWord(HOSTILE, 1, 2, 50_000, 4_000)]
    svg = chart_svg(shared_words_chart("alice", "bob", words), 1000)
    assert svg.startswith("<svg") and f'class="marks {CHART_CLASS}"' in svg
    assert 'viewBox="0 0 1000 ' in svg  # drawn 1000 pixels wide, axes and legend included
    bars = [title for title in titles(svg) if title.startswith("word: ")]
    assert len(bars) == 2 * len(words)
    assert any(f"word: {HOSTILE};" in title and "account: bob" in title for title in bars)
    assert "<script>" not in re.sub(r'"[^"]*"', '""', svg)  # no live markup outside attributes


def test_the_trend_charts_draw_every_slice_and_a_hover_band_per_time_step() -> None:
    start = datetime(2026, 11, 28, 12, tzinfo=UTC)
    series = {
        "Coffee": [(start + timedelta(minutes=m), m % 4) for m in range(10)],
        "Tea": [(start + timedelta(minutes=m), 1) for m in range(10)],
    }
    donut = chart_svg(share_donut({"Coffee": 18, "Tea": 10}, ["Coffee", "Tea"]), 333, 260)
    assert sorted(title for title in titles(donut) if "posts" in title) == [
        "category: Coffee; posts: 18",
        "category: Tea; posts: 10",
    ]
    lines = chart_svg(trend_lines(series, "Posts per category", ["Coffee", "Tea"]), 666)
    # A band per minute, hovered in UTC with every category's posts; the lines have no hover
    # text and no point marks (a point per category and minute was 3.6x the markup).
    assert titles(lines)[:2] == [
        "time: 2026-11-28 12:00 UTC; Coffee: 0; Tea: 1",
        "time: 2026-11-28 12:01 UTC; Coffee: 1; Tea: 1",
    ]
    assert len(titles(lines)) == 10
    assert 'class="mark-symbol role-mark' not in lines and 'class="mark-line role-mark' in lines
    timeline = chart_svg(
        term_timeline(series["Coffee"], (start + timedelta(minutes=5), start), "#coffee"), 1000
    )
    assert ">#coffee</text>" in timeline and titles(timeline) == []


def test_a_hover_band_reaches_half_way_to_each_neighbour_and_names_every_series() -> None:
    start = datetime(2026, 11, 28, 12, tzinfo=UTC)
    step = timedelta(minutes=10)
    series = {"Tea": [(start, 2), (start + step, 0)], "Coffee": [(start + step, 5)]}
    bands = hover_bands(series).to_dict("records")
    assert [(band["start"], band["end"]) for band in bands] == [
        (start - step / 2, start + step / 2),
        (start + step / 2, start + 3 * step / 2),
    ]
    assert [band["hover"] for band in bands] == [
        "time: 2026-11-28 12:00 UTC; Tea: 2; Coffee: 0",
        "time: 2026-11-28 12:10 UTC; Tea: 0; Coffee: 5",
    ]


def test_time_axes_read_in_utc_whatever_the_process_time_zone() -> None:
    # A process of its own: the rendering engine reads the time zone once, when it starts.
    script = (
        "from datetime import UTC, datetime, timedelta\n"
        "from pipeline.app.charts import term_timeline\n"
        "from pipeline.app.svg_chart import chart_svg\n"
        "start = datetime(2026, 11, 28, 12, tzinfo=UTC)\n"
        "points = [(start + timedelta(minutes=15 * step), step) for step in range(5)]\n"
        "print(chart_svg(term_timeline(points, (start, start + timedelta(hours=1)), 't'), 700))\n"
    )
    drawn = subprocess.run(
        [sys.executable, "-c", script],
        env={**os.environ, "TZ": "America/New_York"},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert ">12 PM</text>" in drawn.stdout and ">12:15</text>" in drawn.stdout


def test_the_same_chart_is_rendered_once() -> None:
    chart = shared_words_chart("alice", "bob", shared_words(3))
    assert chart_svg(chart, 500) is chart_svg(chart, 500)
    assert chart_svg(chart, 500) != chart_svg(chart, 600)


def test_a_renderer_that_died_is_replaced_and_the_chart_still_drawn() -> None:
    svg_chart.warm_up()
    renderers = children_of(os.getpid(), "chart_renderer.py")
    assert len(renderers) == svg_chart.RENDERERS
    for pid in renderers:  # as if killed by the kernel for memory
        os.kill(pid, signal.SIGKILL)
    for name in ("carol", "erin", "frank"):  # more charts than renderers: each is replaced
        svg = chart_svg(shared_words_chart(name, "dave", shared_words(2)), 400)
        assert len([title for title in titles(svg) if title.startswith("word: ")]) == 4
    assert not set(children_of(os.getpid(), "chart_renderer.py")) & set(renderers)


def test_a_spec_vega_cannot_draw_is_a_clear_error_and_the_next_chart_is_drawn() -> None:
    with pytest.raises(svg_chart.RenderError, match="conversion failed"):
        svg_chart._render(json.dumps({"mark": "no-such-mark", "data": {"values": []}}))
    svg = chart_svg(shared_words_chart("gina", "hal", shared_words(1)), 400)
    assert len([title for title in titles(svg) if title.startswith("word: ")]) == 2


def test_charts_drawn_together_are_shown_in_their_containers_in_order() -> None:
    class Container:
        def __init__(self) -> None:
            self.shown: list[str] = []

        def markdown(self, body: str, unsafe_allow_html: bool) -> None:
            assert unsafe_allow_html and body.startswith("<div><svg") and "\n" not in body
            self.shown.append(body)

    left, right = Container(), Container()
    charts = [shared_words_chart(name, "bob", shared_words(n)) for name, n in (("x", 1), ("y", 3))]
    svg_chart.draw_all([Drawing(left, charts[0], 300), Drawing(right, charts[1], 500)])
    assert [len(titles(body)) for body in left.shown + right.shown] == [2, 6]
    assert 'viewBox="0 0 300 ' in left.shown[0] and 'viewBox="0 0 500 ' in right.shown[0]


def test_renderers_exit_when_their_app_is_killed() -> None:
    script = (
        "import sys\n"
        "from pipeline.app import svg_chart\n"
        "svg_chart.warm_up()\n"
        "print('ready', flush=True)\n"
        "sys.stdin.read()\n"  # until killed
    )
    app = subprocess.Popen(
        [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert app.stdout is not None and app.stdout.readline() == "ready\n"
    renderers = children_of(app.pid, "chart_renderer.py")
    assert len(renderers) == svg_chart.RENDERERS
    app.kill()
    app.wait()
    deadline = time.monotonic() + 20
    while any(alive(pid) for pid in renderers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in renderers if alive(pid)]


def children_of(parent: int, running: str) -> list[int]:
    """The live processes whose parent is ``parent`` and whose command line has ``running``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            command = (stat.parent / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if int(fields[1]) == parent and fields[0] != "Z" and running in command:
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has exited; only its parent's bookkeeping remains
