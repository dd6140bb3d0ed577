"""Settings of trending terms and their alerts (docs/trending.md, docs/alerts.md). Part of
:class:`pipeline.settings.Settings`, which is where they are read from."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Self
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator

if TYPE_CHECKING:
    from pipeline.trending import TrendParams


class TrendSettings(BaseModel):
    """When a term trends, when it alerts, and where alerts go."""

    trend_bucket_seconds: int = Field(
        300,
        ge=60,
        description="Event-time bucket of the term counts: posts are tallied per term and "
        "created_at floored to this many seconds. Windows and baselines are multiples of it.",
    )
    trend_window_seconds: int = Field(
        3600, ge=60, description="Trending window: how far back 'now' reaches."
    )
    trend_baseline_seconds: int = Field(
        86400,
        ge=60,
        description="Baseline before the window whose rate gives a term's expected count.",
    )
    trend_min_count: int = Field(
        5, ge=1, description="Fewest posts in the window for a term to trend."
    )
    trend_min_authors: int = Field(
        3,
        ge=1,
        description="Fewest distinct authors in the window for a term to trend (one account "
        "cannot make a trend).",
    )
    trend_min_score: float = Field(3.0, description="Lowest burst score listed as trending.")
    trend_alert_score: float = Field(
        10.0,
        description="An alert fires when a trending term's burst score reaches this "
        "(docs/alerts.md); at most one per term and trend window.",
    )
    alert_webhook_url: SecretStr | None = Field(
        None,
        description="When set (http or https), each alert is POSTed here as Slack-compatible "
        'JSON `{"text": ...}`. Never logged: logs name only its host.',
    )
    alert_check_seconds: float = Field(
        30.0, gt=0, description="How often `trendoff jobs` checks the trending terms for alerts."
    )
    alert_webhook_timeout_seconds: float = Field(
        5.0, gt=0, description="Timeout of one webhook attempt (connecting and answering)."
    )
    alert_webhook_retries: int = Field(
        2,
        ge=0,
        description="Webhook attempts after a failed first one (time-outs, connection errors, "
        "HTTP 408, 429 and 5xx), 1 s, 2 s, 4 s ... apart.",
    )

    @field_validator("alert_webhook_url")
    @classmethod
    def _check_webhook_url(cls, value: SecretStr | None) -> SecretStr | None:
        # urllib would also open file:// and ftp:// URLs: refuse anything but a web address.
        if value is None:
            return None
        parts = urlsplit(value.get_secret_value().strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        return value

    @model_validator(mode="after")
    def _check_trend_lengths(self) -> Self:
        # TrendParams repeats the check for CLI overrides; failing here names the settings.
        for name in ("trend_window_seconds", "trend_baseline_seconds"):
            if getattr(self, name) % self.trend_bucket_seconds:
                raise ValueError(
                    f"{name} must be a multiple of trend_bucket_seconds "
                    f"({self.trend_bucket_seconds})"
                )
        return self

    def trend_params(self) -> TrendParams:
        from pipeline.trending import TrendParams

        return TrendParams(
            bucket_seconds=self.trend_bucket_seconds,
            window=timedelta(seconds=self.trend_window_seconds),
            baseline=timedelta(seconds=self.trend_baseline_seconds),
            min_count=self.trend_min_count,
            min_authors=self.trend_min_authors,
            min_score=self.trend_min_score,
        )
