"""Every call to Zoho: one session, one token, pacing, retries, and one reading of each answer.

:func:`classify` decides what a Zoho answer means (``shared/zoho-api.md`` 5.4): 429 and 5xx are
retried with backoff, a rejected token is refreshed once, permission and support errors stop only
the module, every other 4xx fails fast with Zoho's code and message.

A :class:`ZohoClient` serves one caller (a stream, discovery, a Bulk Read export) and shares the
run's session, token and pacing with every other client. Each call, the SDK's paged reads
included (:meth:`request_path` wraps the SDK's single attempt), goes from the outside in:

1. a transient failure left after the last retry becomes a :class:`RetriesExhaustedError`, so
   every failure a module can meet is a :class:`~tap_zoho.errors.ZohoError`;
2. backoff retries 429, 5xx, timeouts and dropped connections (``max_retries``,
   ``retry_backoff_seconds``);
3. a 401 for a token refreshes it once and sends once more (pitfall 5);
4. a call for a Books/Inventory organisation waits for that organisation's minute (6.3);
5. the caller's own wrapper of each attempt, if it has one;
6. one attempt: authenticate, send through the run's gated session (credits, concurrency),
   :meth:`ZohoClient.validate_response`.

Each client keeps Zoho's clock as its own answers tell it (their ``Date`` header): a bookmark may
settle only as far as the answer that returned its rows allows.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
import typing as t
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import urlsplit

import backoff
import msgspec
import requests
from singer_sdk import metrics
from singer_sdk.exceptions import RetriableAPIError

from tap_zoho.datetimes import http_date_epoch
from tap_zoho.errors import (
    ModuleUnavailableError,
    RetriesExhaustedError,
    TokenRejectedError,
    ZohoApiError,
    ZohoAuthError,
    ZohoError,
)

from .datacenters import normalise_api_domain
from .decoding import decode_json, log_repairs, repairs_message
from .pacing import organization_of

if t.TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from backoff.types import Details

    from .auth import ZohoAuthenticator
    from .credits import GatedSession
    from .decoding import Repair, RepairNote
    from .pacing import Pacer

    RequestFunc = Callable[[requests.PreparedRequest, t.Any], requests.Response]

EMPTY_STATUSES = {HTTPStatus.NO_CONTENT, HTTPStatus.NOT_MODIFIED}
TOKEN_CODES = {"INVALID_TOKEN", "AUTHENTICATION_FAILURE", "INVALID_OAUTHTOKEN"}
MODULE_UNAVAILABLE_CODES = {
    "NO_PERMISSION",
    "AUTHORIZATION_FAILED",  # a profile without the permission (the roles API, 2.4)
    "CURRENCIES_NOT_ENABLED",  # multi-currency off (2.4)
    "OAUTH_SCOPE_MISMATCH",
    "FEATURE_NOT_ENABLED",
    "FEATURE_NOT_SUPPORTED",
    "NOT_SUPPORTED",
    "API_NOT_SUPPORTED",
    "INVALID_MODULE",
    "MODULE_NOT_SUPPORTED",
}
# Retried with backoff: what the SDK's request decorator retries (``RESTStream.request_decorator``).
RETRIED_ERRORS = (
    ConnectionResetError,
    RetriableAPIError,
    requests.exceptions.Timeout,
    requests.exceptions.ConnectionError,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)
# What may still escape the retries: it becomes a RetriesExhaustedError.
TRANSIENT_ERRORS = (ConnectionResetError, requests.RequestException)
BOOKS_NOT_AUTHORIZED = "57"  # Books/Inventory's "not authorized": a missing scope, mostly


def zoho_error(response: requests.Response) -> tuple[str, str]:
    """Zoho's error code and message from an error body (CRM ``code`` string or Books number)."""
    try:
        body = response.json()
    except ValueError:
        return "", response.reason or ""
    if isinstance(body, dict) and isinstance(body.get("data"), list) and body["data"]:
        body = body["data"][0]
    if not isinstance(body, dict):
        return "", ""
    message = str(body.get("message", ""))
    details = body.get("details")
    needs = details.get("permissions") if isinstance(details, dict) else None
    if isinstance(needs, list) and needs:  # NO_PERMISSION names the permission the profile lacks
        message = f"{message} (permission {', '.join(map(str, needs))})"
    return str(body.get("code", "")), message


def decode_object(
    response: requests.Response, where: str, repaired: RepairNote | None = None
) -> dict[str, t.Any] | None:
    """The JSON object of a body; None for 204/304 or an empty body (pitfall 10).

    A value Zoho cut inside a character is made valid (:mod:`.decoding`) and told to
    ``repaired`` (a client's :meth:`ZohoClient.repaired`), or logged here without one.
    """
    if response.status_code in EMPTY_STATUSES or not response.content:
        return None
    try:
        body, repairs = decode_json(response.content)
    except msgspec.DecodeError as exc:
        msg = f"{where}: the answer is not JSON ({exc})"
        raise ZohoApiError(msg) from None
    if repairs:
        (repaired or log_repairs)(repairs, where)
    if not isinstance(body, dict):
        msg = f"{where}: expected a JSON object, got {type(body).__name__}"
        raise ZohoApiError(msg)
    return body


def classify(response: requests.Response) -> None:
    """Raise what a Zoho answer of 400 or more means; return for any other answer.

    * 401 for a token: :class:`TokenRejectedError` (the request path refreshes it once);
    * 429 and 5xx: the SDK's ``RetriableAPIError`` (concurrency or credit limits, Zoho faults);
    * permission, scope or support codes, and 403: :class:`ModuleUnavailableError`;
    * any other 4xx: :class:`ZohoApiError` with Zoho's code and message.
    """
    status = response.status_code
    if status < HTTPStatus.BAD_REQUEST:
        return
    code, message = zoho_error(response)
    where = f"{response.request.method} {urlsplit(response.url).path}"
    if status == HTTPStatus.UNAUTHORIZED and code in TOKEN_CODES | {"", BOOKS_NOT_AUTHORIZED}:
        header = response.request.headers.get("Authorization", "")
        raise TokenRejectedError(header.partition(" ")[2] or None, code or str(status))
    if status == HTTPStatus.TOO_MANY_REQUESTS or status >= HTTPStatus.INTERNAL_SERVER_ERROR:
        msg = f"{where}: HTTP {status} {code} {message}".strip()
        raise RetriableAPIError(msg, response)
    if code in MODULE_UNAVAILABLE_CODES or status == HTTPStatus.FORBIDDEN:
        raise ModuleUnavailableError(f"{code or status}: {message}", code=code, status=status)
    raise ZohoApiError(f"{where}: HTTP {status} {code}: {message}", code=code, status=status)


@dataclass(frozen=True)
class ClientSettings:
    """The settings every call obeys."""

    api_domain: str
    timeout: int = 60
    max_retries: int = 8
    backoff_seconds: float = 2.0
    user_agent: str = "tap-zoho/0.1"

    @classmethod
    def from_config(cls, config: Mapping[str, t.Any]) -> ClientSettings:
        """The tap's settings (``api_domain``, ``request_timeout``, ``max_retries``...)."""
        return cls(
            api_domain=normalise_api_domain(config.get("api_domain") or "https://www.zohoapis.com"),
            timeout=int(config.get("request_timeout", 60)),
            max_retries=int(config.get("max_retries", 8)),
            backoff_seconds=float(config.get("retry_backoff_seconds", 2.0)),
            user_agent=config.get("user_agent") or "tap-zoho/0.1",
        )


@dataclass(frozen=True)
class Connection:
    """What every client of a run shares: the settings, the token, the session, the pacing."""

    settings: ClientSettings
    authenticator: ZohoAuthenticator
    session: GatedSession
    pacer: Pacer


class ZohoClient:
    """One caller's way to Zoho, over the run's shared :class:`Connection`."""

    def __init__(
        self, connection: Connection, *, label: str, logger: logging.Logger, endpoint: str = ""
    ) -> None:
        """``label`` names the caller in logs and metrics; ``endpoint`` tags its metric lines."""
        self.settings = connection.settings
        self.authenticator = connection.authenticator
        self.requests_session = connection.session
        self.pacer = connection.pacer
        self.label = label
        self.logger = logger
        self.endpoint = endpoint
        self.server_epoch: int | None = None  # the Date of this caller's latest answer
        self.repairs = 0  # values Zoho cut inside a character, made valid (:mod:`.decoding`)
        self._repairs_lock = threading.Lock()

    # ------------------------------------------------------------------ what every call carries
    @property
    def url_base(self) -> str:
        """Base URL of every call: the configured API domain, never a hard-coded ``.com``."""
        return self.settings.api_domain

    @property
    def timeout(self) -> int:
        """Seconds before a request is abandoned and retried."""
        return self.settings.timeout

    @property
    def http_headers(self) -> dict[str, str]:
        """Headers on every request."""
        return {"User-Agent": self.settings.user_agent}

    def server_now(self) -> int:
        """Zoho's clock by this caller's latest ``Date`` header; the local clock when none came."""
        return self.server_epoch or int(time.time())

    # ------------------------------------------------------------------ calls
    def build_prepared_request(self, **kwargs: t.Any) -> requests.PreparedRequest:
        """A request (``requests.Request`` arguments) ready to send; authenticated when sent."""
        request = requests.Request(**kwargs)
        request.headers.setdefault("User-Agent", self.settings.user_agent)
        return self.requests_session.prepare_request(request)

    def get_json(
        self,
        path: str,
        params: dict[str, t.Any] | None = None,
        headers: dict[str, str] | None = None,
        context: t.Any = None,
        *,
        each_attempt: Callable[[RequestFunc], RequestFunc] | None = None,
    ) -> dict[str, t.Any] | None:
        """GET ``path`` through the request path; None for 204/304 or an empty body (pitfall 10)."""
        prepared = self.build_prepared_request(
            method="GET",
            url=f"{self.url_base}{path}",
            params=params or {},
            headers={**self.http_headers, **(headers or {})},
        )
        response = self.send(prepared, context, each_attempt=each_attempt)
        return decode_object(response, f"GET {path}", self.repaired)

    def repaired(self, repairs: Sequence[Repair], where: str) -> None:
        """Values cut inside a character were made valid: one warning per caller, then DEBUG."""
        with self._repairs_lock:
            first = self.repairs == 0
            self.repairs += len(repairs)
        self.logger.log(
            logging.WARNING if first else logging.DEBUG,
            "%s: %s (%s)%s",
            self.label,
            repairs_message(repairs),
            where,
            "; more such values in this stream are logged at DEBUG" if first else "",
        )

    def send(
        self,
        prepared: requests.PreparedRequest,
        context: t.Any = None,
        *,
        each_attempt: Callable[[RequestFunc], RequestFunc] | None = None,
    ) -> requests.Response:
        """Send ``prepared`` through the whole request path (module docstring)."""
        attempt = each_attempt(self.send_once) if each_attempt else self.send_once
        return self.request_path(attempt)(prepared, context)

    def send_once(self, prepared: requests.PreparedRequest, context: t.Any) -> requests.Response:
        """One attempt: authenticate, send through the run's gated session, check the answer."""
        response = self.requests_session.send(
            self.authenticator(prepared), timeout=self.timeout, allow_redirects=True
        )
        self.log_request_duration(response, context)
        self.validate_response(response)
        return response

    def send_unread(self, prepared: requests.PreparedRequest, **kwargs: t.Any) -> requests.Response:
        """One authenticated attempt through the run's session, its answer left to the caller.

        For a caller that streams the body and decides retries itself (Bulk Read downloads).
        """
        return self.requests_session.send(
            self.authenticator(prepared), timeout=self.timeout, **kwargs
        )

    def validate_response(self, response: requests.Response) -> None:
        """Note Zoho's clock, then :func:`classify` the answer; a success proves the token."""
        self.server_epoch = http_date_epoch(response.headers.get("Date")) or self.server_epoch
        classify(response)
        self.authenticator.mark_success()

    def log_request_duration(self, response: requests.Response, context: t.Any) -> None:
        """The SDK's ``http_request_duration`` METRIC line, as its own paged requests write it."""
        tags: dict[str, t.Any] = {
            metrics.Tag.STREAM: self.label,
            metrics.Tag.ENDPOINT: self.endpoint or urlsplit(response.url).path,
            metrics.Tag.HTTP_STATUS_CODE: response.status_code,
            metrics.Tag.STATUS: metrics.Status.SUCCEEDED
            if response.status_code < HTTPStatus.BAD_REQUEST
            else metrics.Status.FAILED,
        }
        if context:
            tags[metrics.Tag.CONTEXT] = context
        point = metrics.Point(
            "timer",
            metric=metrics.Metric.HTTP_REQUEST_DURATION,
            value=response.elapsed.total_seconds(),
            tags=tags,
        )
        metrics.log(metrics.get_metrics_logger(), point)

    # ------------------------------------------------------------------ the request path
    def request_path(self, attempt: RequestFunc) -> RequestFunc:
        """The request path of the module docstring around one attempt, ``attempt``."""
        retried = backoff.on_exception(
            self._waits,
            RETRIED_ERRORS,
            max_tries=self.max_tries,
            on_backoff=self._retrying,
            jitter=backoff.random_jitter,
            logger=self.logger,
        )(self._refreshing_token(self._paced(attempt)))
        return self._final_failure(retried)

    @property
    def max_tries(self) -> int:
        """One try plus ``max_retries`` retries."""
        return self.settings.max_retries + 1

    def _waits(self) -> t.Generator[float, None, None]:
        """Exponential waits from ``retry_backoff_seconds``, capped at a minute."""
        return backoff.expo(factor=self.settings.backoff_seconds, max_value=60)

    def _retrying(self, details: Details) -> None:
        """A retry is routine (429, 5xx, a dropped connection): WARNING with the attempt number.

        A retry that never succeeds ends its module, and that is logged at ERROR with its cause
        (:meth:`tap_zoho.sdk.stream.ZohoStream.isolated`). Only the status or the exception's
        class is named: URLs and bodies stay out of the log.
        """
        exc = details.get("exception")
        response = getattr(exc, "response", None)
        cause = f"HTTP {response.status_code}" if response is not None else type(exc).__name__
        self.logger.warning(
            "%s: attempt %d of %d failed (%s); retrying in %.1f s",
            self.label,
            details.get("tries", 0),
            self.max_tries,
            cause,
            float(details.get("wait") or 0),
        )

    def _paced(self, func: RequestFunc) -> RequestFunc:
        """Each attempt for a Books/Inventory organisation waits for its minute (6.3)."""

        @functools.wraps(func)
        def send(prepared: requests.PreparedRequest, context: t.Any) -> requests.Response:
            organization = organization_of(prepared.url or "")
            if organization is not None:
                self.pacer.wait(organization)
            return func(prepared, context)

        return send

    def _refreshing_token(self, func: RequestFunc) -> RequestFunc:
        """Send once; on a rejected token refresh it and send once more (pitfall 5)."""

        @functools.wraps(func)
        def send(prepared: requests.PreparedRequest, context: t.Any) -> requests.Response:
            try:
                return func(prepared, context)
            except TokenRejectedError as first:
                if not self.authenticator.token_rejected(first.used_token):
                    raise self.token_failure(first.code) from None
                self.logger.info(
                    "Zoho rejected the access token (%s); refreshing it once.", first.code
                )
            try:
                return func(prepared, context)
            except TokenRejectedError as second:
                raise self.token_failure(second.code) from None

        return send

    def _final_failure(self, func: RequestFunc) -> RequestFunc:
        """A transient failure that outlived every retry becomes a :class:`ZohoError`."""

        @functools.wraps(func)
        def send(prepared: requests.PreparedRequest, context: t.Any) -> requests.Response:
            try:
                return func(prepared, context)
            except RetriableAPIError as exc:
                status = exc.response.status_code if exc.response is not None else 0
                msg = f"{exc} (after {self.max_tries} tries)"
                raise RetriesExhaustedError(msg, status=status) from exc
            except TRANSIENT_ERRORS as exc:
                path = urlsplit(prepared.url or "").path
                msg = (
                    f"{prepared.method} {path}: {type(exc).__name__} (after {self.max_tries} tries)"
                )
                raise RetriesExhaustedError(msg) from exc

        return send

    def token_failure(self, code: str) -> ZohoError:
        """The error a token Zoho keeps rejecting ends with."""
        if code == BOOKS_NOT_AUTHORIZED:
            return ModuleUnavailableError(
                "57: not authorized for this product or organisation (missing scope?)", code=code
            )
        return ZohoAuthError(
            f"Zoho rejected a freshly issued access token at {self.url_base} ({code}): api_domain "
            f"belongs to another data centre than {self.authenticator.accounts_domain}, or the "
            "token lacks the scopes this tap needs"
        )
