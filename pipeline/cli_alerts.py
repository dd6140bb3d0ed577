"""``trendoff alerts check|list``: one alert check now (or at a given moment), and the history."""

from __future__ import annotations

import argparse
import json

from pipeline.alerts import Alert
from pipeline.cli_terms import moment
from pipeline.settings import Settings


def add_alert_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    alerts = commands.add_parser("alerts", help="alerts on trending terms (docs/alerts.md)")
    actions = alerts.add_subparsers(dest="alerts_command", required=True, metavar="ACTION")
    check = actions.add_parser(
        "check", help="check the trending terms once; print the alerts that fired"
    )
    check.add_argument(
        "--at",
        type=moment,
        help="end of the window (ISO-8601; default: the newest post, or now if that is later)",
    )
    check.set_defaults(handler=cmd_alerts_check)
    listing = actions.add_parser("list", help="the newest alerts, newest first")
    listing.add_argument("-n", type=int, default=20, help="how many (default 20)")
    listing.set_defaults(handler=cmd_alerts_list)
    for action in (check, listing):
        action.add_argument("--json", action="store_true", help="machine-readable output")


def cmd_alerts_check(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.jobs.alerting import AlertChecker

    with AlertChecker(settings) as checker:
        fired = checker.check(args.at)
    _print_alerts(fired, args.json, empty="no new alerts")
    return 0


def cmd_alerts_list(args: argparse.Namespace, settings: Settings) -> int:
    from pipeline.serving import Serving

    with Serving(settings) as serving:
        alerts = serving.recent_alerts(args.n)
    _print_alerts(alerts, args.json, empty="no alerts in the last 30 days")
    return 0


def _print_alerts(alerts: list[Alert], as_json: bool, empty: str) -> None:
    if as_json:
        print(json.dumps([alert.to_json() for alert in alerts], ensure_ascii=False))
        return
    if not alerts:
        print(empty)
        return
    print(
        f"{'alerted at (UTC)':<20} {'term':<28} {'count':>6} {'authors':>8} {'score':>8}  webhook"
    )
    for alert in alerts:
        print(
            f"{alert.alerted_at:%Y-%m-%d %H:%M:%S} {alert.term:<28} {alert.posts:>6} "
            f"{alert.authors:>8} {alert.score:>8.1f}  {alert.webhook}"
        )
