"""``trendoff query|reference trending`` and ``… top``: the term views on the command line.

``query`` asks the serving layer; ``reference`` recounts the same answer from input files with the
pure rules. On the same input both print the same JSON (docs/trending.md).
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.errors import TrendoffError
from pipeline.settings import Settings
from pipeline.trending import KINDS, TopTerm, Trending, TrendParams

if TYPE_CHECKING:
    from pipeline.ingest.model import Post, Rejected

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration(text: str) -> timedelta:
    """``90s``, ``15m``, ``1h``, ``7d``: a positive length of time."""
    match = _DURATION.match(text)
    if not match or int(match.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"expected a length like 30m, 1h or 7d, not {text!r}")
    return timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def moment(text: str) -> datetime:
    """An ISO-8601 time; without an offset it is UTC."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO-8601 time like 2026-11-20T12:00:00Z, not {text!r}"
        ) from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def add_term_views(views: argparse._SubParsersAction, *, with_file: bool) -> None:  # type: ignore[type-arg]
    """Add ``trending`` and ``top`` to a ``query`` or ``reference`` command."""
    trending = views.add_parser("trending", help="terms rising now against their baseline")
    top = views.add_parser("top", help="terms with the most posts over a range (leaderboard)")
    for target in (trending, top):
        if with_file:
            target.add_argument(
                "files", nargs="+", type=Path, help="input files (CSV, gzip or not)"
            )
            target.add_argument("--format", default="auto", help="CSV profile: ira, fth or auto")
        target.add_argument("--kind", choices=[*KINDS, "all"], default="all")
        target.add_argument("-n", type=int, default=20, help="how many terms (default 20)")
        target.add_argument("--json", action="store_true", help="machine-readable output")
    trending.add_argument("--window", type=duration, help="default: the trend_window setting")
    trending.add_argument("--baseline", type=duration, help="default: the trend_baseline setting")
    trending.add_argument("--at", type=moment, help="end of the window (default now, UTC)")
    trending.add_argument("--min-count", type=int, help="default: the trend_min_count setting")
    trending.add_argument("--min-authors", type=int, help="default: the trend_min_authors setting")
    trending.add_argument("--min-score", type=float, help="default: the trend_min_score setting")
    top.add_argument("--since", type=moment, required=True, help="first moment (ISO-8601)")
    top.add_argument("--until", type=moment, help="end (ISO-8601, default now)")
    trending.set_defaults(handler=cmd_trending, from_files=with_file)
    top.set_defaults(handler=cmd_top, from_files=with_file)


def trend_params(args: argparse.Namespace, settings: Settings) -> TrendParams:
    defaults = settings.trend_params()
    try:
        return TrendParams(
            bucket_seconds=defaults.bucket_seconds,
            window=args.window or defaults.window,
            baseline=args.baseline or defaults.baseline,
            min_count=defaults.min_count if args.min_count is None else args.min_count,
            min_authors=defaults.min_authors if args.min_authors is None else args.min_authors,
            min_score=defaults.min_score if args.min_score is None else args.min_score,
        )
    except ValueError as exc:
        raise TrendoffError(str(exc)) from None


def _records(args: argparse.Namespace) -> Iterator[Post | Rejected]:
    from pipeline.ingest.sources import open_source

    return itertools.chain.from_iterable(
        open_source("csv", [path], fmt=args.format).records() for path in args.files
    )


def cmd_trending(args: argparse.Namespace, settings: Settings) -> int:
    params = trend_params(args, settings)
    at = args.at or datetime.now(UTC)
    answer: Trending
    if args.from_files:
        from pipeline import reference

        answer = reference.trending(_records(args), params, at, args.kind, args.n)
    else:
        from pipeline.serving import Serving

        with Serving(settings) as serving:
            answer = serving.trending(args.kind, at, params, args.n)
    if args.json:
        print(json.dumps(answer.to_json(), ensure_ascii=False))
        return 0
    span = answer.span
    print(
        f"trending {args.kind} terms, window {span.window_start:%Y-%m-%d %H:%M} to "
        f"{span.end:%H:%M} UTC against the {params.baseline} before"
    )
    _print_rows(
        ("term", "kind", "count", "authors", "expected", "score"),
        (
            (t.term, t.kind, t.count, t.authors, f"{t.expected:.2f}", f"{t.score:.2f}")
            for t in answer.terms
        ),
        empty=f"nothing passes the guards ({params.min_count} posts, {params.min_authors} "
        f"authors, score {params.min_score}) in this window",
    )
    return 0


def cmd_top(args: argparse.Namespace, settings: Settings) -> int:
    until = args.until or datetime.now(UTC)
    bucket_seconds = settings.trend_bucket_seconds
    leaders: list[TopTerm]
    if args.from_files:
        from pipeline import reference

        leaders = reference.top_terms(
            _records(args), args.kind, args.since, until, bucket_seconds, args.n
        )
    else:
        from pipeline.serving import Serving

        with Serving(settings) as serving:
            leaders = serving.top_terms(args.kind, args.since, until, args.n)
    if args.json:
        print(json.dumps([leader.to_json() for leader in leaders], ensure_ascii=False))
        return 0
    _print_rows(
        ("term", "kind", "count", "authors"),
        ((t.term, t.kind, t.count, t.authors) for t in leaders),
        empty="no posts in this range",
    )
    return 0


def _print_rows(header: tuple[str, ...], rows: Iterable[tuple[object, ...]], empty: str) -> None:
    listed = list(rows)
    if not listed:
        print(empty)
        return
    print(f"{header[0]:<32}" + "".join(f"{name:>10}" for name in header[1:]))
    for row in listed:
        print(f"{row[0]!s:<32}" + "".join(f"{value!s:>10}" for value in row[1:]))
