"""How the X sources talk HTTP through tweepy: errors as one-line messages, another base URL
for a server that answers like the v2 endpoints, and the bearer token kept out of tweepy's logs."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import tweepy
from pydantic import SecretStr
from requests import PreparedRequest, Response
from requests.adapters import HTTPAdapter
from requests.exceptions import JSONDecodeError, RequestException

from pipeline.errors import TrendoffError

DEFAULT_BASE_URL = "https://api.twitter.com"


@contextlib.contextmanager
def api_errors(doing: str) -> Iterator[None]:
    """tweepy's and requests' errors as one-line :class:`TrendoffError`s."""
    try:
        yield
    except tweepy.errors.Unauthorized:
        raise TrendoffError(
            f"the X API refused the bearer token while {doing}",
            hint="check TRENDOFF_X_BEARER_TOKEN",
        ) from None
    except tweepy.errors.HTTPException as exc:
        detail = "; ".join(exc.api_messages) or exc.response.reason
        raise TrendoffError(
            f"the X API answered HTTP {exc.response.status_code} while {doing}: {detail}"
        ) from None
    except JSONDecodeError:  # before RequestException, of which it is one
        raise TrendoffError(
            f"the X API answered with something that is not JSON while {doing}"
        ) from None
    except RequestException as exc:
        raise TrendoffError(f"cannot reach the X API while {doing}: {exc}") from None


class RedirectAdapter(HTTPAdapter):
    """Sends the requests tweepy addresses to api.twitter.com to another base URL. tweepy 4.17
    writes that host into Client.request and StreamingClient._connect; redirecting underneath
    keeps all of tweepy's own request, paging, rate-limit and reconnect handling in play."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float | None, float | None] | None = None,
        verify: bool | str = True,
        cert: str | tuple[str, str] | None = None,
        proxies: dict[str, str] | None = None,
    ) -> Response:
        request.url = self.base_url + str(request.url).removeprefix(DEFAULT_BASE_URL)
        # requests chose proxies from the environment for api.twitter.com; a server of your own
        # (a test server on 127.0.0.1) is reached directly.
        return super().send(
            request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies={}
        )


def use_base_url(session: Any, base_url: str) -> None:
    if base_url.rstrip("/") != DEFAULT_BASE_URL:
        session.mount(DEFAULT_BASE_URL + "/", RedirectAdapter(base_url))


class RedactSecrets(logging.Filter):
    """tweepy's client logs every request's headers at DEBUG, the bearer token among them."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def add(self, secret: SecretStr) -> None:
        if secret:  # replacing "" would mangle every message
            self.secrets.add(secret.get_secret_value())

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = message
        for secret in tuple(self.secrets):  # a copy: another thread may add a secret meanwhile
            redacted = redacted.replace(secret, "**********")
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


_REDACT = RedactSecrets()


def hide_in_tweepy_logs(secret: SecretStr) -> None:
    _REDACT.add(secret)
    tweepy_client_logger = logging.getLogger("tweepy.client")
    if _REDACT not in tweepy_client_logger.filters:
        tweepy_client_logger.addFilter(_REDACT)
