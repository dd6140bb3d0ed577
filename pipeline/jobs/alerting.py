"""The alert checker: every ``alert_check_seconds``, the trending terms at "now" are checked
against ``trend_alert_score``; each new alert is recorded and sent to the webhook
(docs/alerts.md). ``trendoff jobs`` runs it in a thread beside the batch scheduler, and
``trendoff alerts check`` runs one check.

Nothing here may stop the pipeline: a failed check is logged and the next tick tries again.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime

from pipeline.alerts import (
    Alert,
    AlertStore,
    WebhookSender,
    alert_message,
    alert_worthy,
    check_moment,
    claim_ttl,
)
from pipeline.serving import Serving
from pipeline.settings import Settings

logger = logging.getLogger(__name__)


def webhook_sender(
    settings: Settings, *, backoff_seconds: float = 1.0, stop: threading.Event | None = None
) -> WebhookSender:
    """The webhook of the settings; given ``stop``, its retries end once the event is set, so a
    dead webhook does not hold up the jobs' shutdown."""
    return WebhookSender(
        settings.alert_webhook_url,
        timeout_seconds=settings.alert_webhook_timeout_seconds,
        retries=settings.alert_webhook_retries,
        backoff_seconds=backoff_seconds,
        sleep=stop.wait if stop is not None else time.sleep,
    )


class AlertChecker:
    """One serving connection, the alert store on its session, and the webhook."""

    def __init__(self, settings: Settings, sender: WebhookSender | None = None) -> None:
        self.settings = settings
        self.sender = sender or webhook_sender(settings)
        self.serving = Serving(settings)
        try:
            self.store = AlertStore(self.serving.session, settings.keyspace)
        except BaseException:
            self.serving.close()
            raise

    def close(self) -> None:
        self.serving.close()

    def __enter__(self) -> AlertChecker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def check(self, at: datetime | None = None, stop: threading.Event | None = None) -> list[Alert]:
        """One check at ``at`` (default: :func:`pipeline.alerts.check_moment`); the alerts it
        fired, each with its webhook outcome. Once ``stop`` is set no further alert is claimed
        (the next check, after a restart, finds them again)."""
        wall_clock = datetime.now(UTC)
        if at is None:
            at = check_moment(self.serving.newest_post(), wall_clock)
        params = self.settings.trend_params()
        trending = self.serving.trending("all", at, params, limit=None)
        fired = []
        for term in alert_worthy(trending.terms, self.settings.trend_alert_score):
            if stop is not None and stop.is_set():
                break
            alert = Alert.of(term, trending.span, wall_clock)
            if not self.store.record_if_new(alert, claim_ttl(params)):
                continue
            delivery = self.sender.send(alert_message(alert))
            alert = self.store.set_outcome(alert, delivery.outcome, delivery.attempts)
            logger.info(
                "alert: %s score %.1f (%d posts, %d authors); webhook %s",
                alert.term,
                alert.score,
                alert.posts,
                alert.authors,
                alert.webhook,
            )
            fired.append(alert)
        return fired


def run_checks(
    settings: Settings,
    stop: threading.Event,
    sender: WebhookSender | None = None,
    *,
    first_check_in: float = 0.0,
) -> None:
    """Check every ``alert_check_seconds`` until ``stop`` is set, the first after
    ``first_check_in`` seconds. Failures (Cassandra away, a namespace not initialised yet) are
    logged and retried on the next tick, with a fresh connection."""
    interval = settings.alert_check_seconds
    sender = sender or webhook_sender(settings, stop=stop)
    logger.info(
        "alert checker: every %g s, score >= %g, webhook %s",
        interval,
        settings.trend_alert_score,
        sender.host if sender.configured else "not configured",
    )
    checker: AlertChecker | None = None
    failing = False
    stop.wait(first_check_in)
    try:
        while not stop.is_set():
            try:
                checker = checker or AlertChecker(settings, sender)
                checker.check(stop=stop)
                failing = False
            except Exception as exc:  # alerts must never stop the pipeline
                logger.warning(
                    "alert check failed (next in %g s): %s",
                    interval,
                    str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__,
                    exc_info=not failing,  # the traceback once, not every tick
                )
                failing = True
                if checker is not None:
                    checker.close()
                    checker = None
            stop.wait(interval)
    finally:
        if checker is not None:
            checker.close()
