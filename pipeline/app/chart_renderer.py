"""A chart renderer: a process of its own that draws Vega-Lite specs as SVG with vl-convert, for
the app (pipeline/app/svg_chart.py starts and feeds it).

Why a process: vl-convert holds the GIL while it draws (0.1-0.3 s a chart with every part of
``trendoff run`` on two cores), which in the app's process would stall everything else it does
meanwhile, including serving the page's scripts to browsers.

Protocol, a line each way: the app writes a spec as JSON on a line of standard input; the
renderer answers on a line of standard output with ``{"svg": …}`` or ``{"error": …}``, JSON
with every character beyond ASCII escaped. It ends at the end of its input, which is also what
happens when the app's process is gone, however it went: no renderer outlives its app. Run as a
file (``python chart_renderer.py``), so it imports only the standard library and vl-convert.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Iterable
from typing import IO, Any

WARM_UP_SPEC: dict[str, Any] = {"mark": "point", "data": {"values": [{}]}}


def serve(requests: Iterable[str], replies: IO[str]) -> None:
    """Answer each request line with a reply line, in order; a spec Vega cannot draw gets an
    error reply and the next one is drawn as usual."""
    import vl_convert

    for request in requests:
        try:
            reply = {"svg": vl_convert.vegalite_to_svg(json.loads(request))}
        except Exception as error:  # noqa: BLE001 - one bad spec must not end the renderer
            reply = {"error": f"{type(error).__name__}: {error}"}
        replies.write(json.dumps(reply) + "\n")
        replies.flush()


def main() -> None:
    # Ctrl-C in a terminal reaches the whole process group; a renderer ends with its input
    # instead, so it is never stopped halfway through a reply.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Standard output carries only replies: anything else that prints goes to standard error.
    replies = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="ascii")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    import vl_convert

    vl_convert.vegalite_to_svg(WARM_UP_SPEC)  # the engine starts (~0.8 s) before any request
    serve(sys.stdin, replies)


if __name__ == "__main__":
    main()
