"""Base stream for every Zoho family: authentication, error classification, retries, timeouts.

One place decides what a Zoho answer means (``shared/zoho-api.md`` 5.4): 429 and 5xx are retried
with backoff, a rejected token is refreshed once, permission and support errors stop only the
module, every other 4xx fails fast with Zoho's code and message.

Every call, the SDK's paged reads and the tap's own (:meth:`ZohoStream.send`), goes through one
request path built on the SDK's public ``request_decorator``, from the outside in:

1. a transient failure left after the last retry becomes a :class:`RetriesExhaustedError`, so
   every failure a module can meet is a :class:`ZohoError`;
2. the SDK's backoff (``backoff_*`` hooks) retries 429, 5xx, timeouts and dropped connections;
3. a 401 for a token refreshes it once and sends once more (pitfall 5);
4. subclasses may wrap each attempt (Books/Inventory pace every attempt, retries included);
5. one attempt: authenticate, send through the tap's gated session, :meth:`validate_response`.
"""

from __future__ import annotations

import functools
import time
import typing as t
from datetime import UTC, datetime
from functools import cached_property
from http import HTTPStatus
from urllib.parse import urlsplit

import backoff
import msgspec
import requests
from singer_sdk import metrics
from singer_sdk.exceptions import RetriableAPIError
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.singerlib import RecordMessage
from singer_sdk.streams import RESTStream
from typing_extensions import override

from .errors import (
    CreditBudgetExhaustedError,
    ModuleUnavailableError,
    RetriesExhaustedError,
    TokenRejectedError,
    ZohoApiError,
    ZohoAuthError,
    ZohoError,
)
from .timeutil import http_date_epoch

if t.TYPE_CHECKING:
    from backoff.types import Details
    from singer_sdk.helpers.types import Context, RequestFunc
    from singer_sdk.mapper import PluginMapper

    from .auth import ZohoAuthenticator
    from .credits import GatedSession
    from .details import DetailBudget
    from .finance import Pacer
    from .summary import RunSummary

EMPTY_STATUSES = {HTTPStatus.NO_CONTENT, HTTPStatus.NOT_MODIFIED}
TOKEN_CODES = {"INVALID_TOKEN", "AUTHENTICATION_FAILURE", "INVALID_OAUTHTOKEN"}
MODULE_UNAVAILABLE_CODES = {
    "NO_PERMISSION",
    "OAUTH_SCOPE_MISMATCH",
    "FEATURE_NOT_ENABLED",
    "FEATURE_NOT_SUPPORTED",
    "NOT_SUPPORTED",
    "API_NOT_SUPPORTED",
    "INVALID_MODULE",
    "MODULE_NOT_SUPPORTED",
}
# What the SDK's backoff retries besides RetriableAPIError (``RESTStream.request_decorator``).
TRANSIENT_ERRORS = (ConnectionResetError, requests.RequestException)


class ZohoTap(t.Protocol):
    """What the streams use of the tap (``tap.TapZoho``): one of each per run."""

    api_domain: str
    zoho_authenticator: ZohoAuthenticator
    gated_session: GatedSession
    summary: RunSummary
    detail_budget: DetailBudget
    finance_pacer: Pacer
    mapper: PluginMapper
    live_state: dict[str, t.Any]


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
    return str(body.get("code", "")), str(body.get("message", ""))


def decode_object(response: requests.Response, where: str) -> dict[str, t.Any] | None:
    """The JSON object of a body; None for 204/304 or an empty body (pitfall 10)."""
    if response.status_code in EMPTY_STATUSES or not response.content:
        return None
    try:
        body = msgspec.json.decode(response.content)
    except msgspec.DecodeError as exc:
        msg = f"{where}: the answer is not JSON ({exc})"
        raise ZohoApiError(msg) from None
    if not isinstance(body, dict):
        msg = f"{where}: expected a JSON object, got {type(body).__name__}"
        raise ZohoApiError(msg)
    return body


class ZohoStream(RESTStream):
    """Common HTTP behaviour of CRM, Books and Inventory streams."""

    # Zoho values are JSON already (strings, numbers, objects): nothing to conform.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    server_epoch: int | None = None  # the Date of Zoho's latest answer, as an epoch second

    def server_now(self) -> int:
        """Zoho's clock by its latest ``Date`` header; the local clock when none was sent."""
        return self.server_epoch or int(time.time())

    @property
    def zoho_tap(self) -> ZohoTap:
        """The tap this stream belongs to, with the services it shares between streams."""
        return t.cast("ZohoTap", self._tap)

    @property
    @override
    def url_base(self) -> str:
        """The configured API domain (never a hard-coded ``.com``)."""
        return self.zoho_tap.api_domain

    @property
    @override
    def authenticator(self) -> ZohoAuthenticator:
        """The tap's single authenticator: one token for all streams."""
        return self.zoho_tap.zoho_authenticator

    @property
    @override
    def timeout(self) -> int:
        """Seconds before a request is abandoned and retried."""
        return int(self.config.get("request_timeout", 60))

    @property
    @override
    def requests_session(self) -> requests.Session:
        """The tap's one gated session: its credit budget and concurrency limit (credits.py)."""
        return self.zoho_tap.gated_session

    @cached_property
    @override
    def http_headers(self) -> dict[str, str]:
        """Headers on every request."""
        return {"User-Agent": self.config.get("user_agent") or "tap-zoho/0.1"}

    # ------------------------------------------------------------------ retries
    @override
    def backoff_wait_generator(self) -> t.Generator[float, None, None]:
        """Exponential waits from ``retry_backoff_seconds``, capped at a minute."""
        return backoff.expo(
            factor=float(self.config.get("retry_backoff_seconds", 2.0)), max_value=60
        )

    @override
    def backoff_max_tries(self) -> int:
        """One try plus ``max_retries`` retries."""
        return int(self.config.get("max_retries", 8)) + 1

    @override
    def backoff_handler(self, details: Details) -> None:
        """A retry is routine (429, 5xx, a dropped connection): WARNING with the attempt number.

        The SDK logs each retry at ERROR, which makes monitoring alert on runs that succeed. A
        retry that never succeeds ends its module, and :meth:`isolated` logs that at ERROR with
        its cause. Only the status or the exception's class is named: URLs and bodies stay out.
        """
        exc = details.get("exception")
        response = getattr(exc, "response", None)
        cause = f"HTTP {response.status_code}" if response is not None else type(exc).__name__
        self.logger.warning(
            "%s: attempt %d of %d failed (%s); retrying in %.1f s",
            self.name,
            details.get("tries", 0),
            self.backoff_max_tries(),
            cause,
            float(details.get("wait") or 0),
        )

    # ------------------------------------------------------------------ request path
    @override
    def request_decorator(self, func: RequestFunc) -> RequestFunc:
        """The request path of the module docstring around one attempt, ``func``."""
        retried = super().request_decorator(self._refreshing_token(self.each_attempt(func)))
        return self._final_failure(retried)

    def each_attempt(self, func: RequestFunc) -> RequestFunc:
        """Wrap every single attempt, retries included: nothing to add here."""
        return func

    def send(
        self, prepared: requests.PreparedRequest, context: Context | None
    ) -> requests.Response:
        """Send ``prepared`` through the whole request path (retries, token refresh, pacing)."""
        return self.request_decorator(self.send_once)(prepared, context)

    def send_once(
        self, prepared: requests.PreparedRequest, context: Context | None
    ) -> requests.Response:
        """One attempt: authenticate, send through the tap's gated session, classify."""
        response = self.requests_session.send(
            self.authenticator(prepared), timeout=self.timeout, allow_redirects=self.allow_redirects
        )
        self.log_request_duration(response, context)
        self.validate_response(response)
        return response

    def log_request_duration(self, response: requests.Response, context: Context | None) -> None:
        """The SDK's ``http_request_duration`` METRIC line, as its own paged requests write it."""
        tags: dict[str, t.Any] = {
            metrics.Tag.STREAM: self.name,
            metrics.Tag.ENDPOINT: self.path,
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
        metrics.log(self.metrics_logger, point)

    def _refreshing_token(self, func: RequestFunc) -> RequestFunc:
        """Send once; on a rejected token refresh it and send once more (pitfall 5)."""

        @functools.wraps(func)
        def send(prepared: requests.PreparedRequest, context: Context | None) -> requests.Response:
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
        def send(prepared: requests.PreparedRequest, context: Context | None) -> requests.Response:
            try:
                return func(prepared, context)
            except RetriableAPIError as exc:
                status = exc.response.status_code if exc.response is not None else 0
                tries = self.backoff_max_tries()
                msg = f"{exc} (after {tries} tries)"
                raise RetriesExhaustedError(msg, status=status) from exc
            except TRANSIENT_ERRORS as exc:
                path = urlsplit(prepared.url or "").path
                tries = self.backoff_max_tries()
                msg = f"{prepared.method} {path}: {type(exc).__name__} (after {tries} tries)"
                raise RetriesExhaustedError(msg) from exc

        return send

    def token_failure(self, code: str) -> ZohoError:
        """The error a token Zoho keeps rejecting ends with."""
        if code == "57":  # Books/Inventory: "not authorized": a missing scope more often than not
            return ModuleUnavailableError(
                "57: not authorized for this product or organisation (missing scope?)", code=code
            )
        return ZohoAuthError(
            f"Zoho rejected a freshly issued access token at {self.url_base} ({code}): api_domain "
            f"belongs to another data centre than {self.authenticator.accounts_domain}, or the "
            "token lacks the scopes this tap needs"
        )

    def close(self) -> None:
        """Release what this stream opened for itself (the tap closes the shared session)."""

    # ------------------------------------------------------------------ answers
    def isolated(
        self, label: str, records: t.Iterator[dict[str, t.Any]]
    ) -> t.Iterator[dict[str, t.Any]]:
        """Yield ``records``; a failure ends only this module (or organisation) and is reported.

        Records already yielded stay emitted: the stream is sorted, so its bookmark covers exactly
        them and the next run resumes after them. Every failure of the request path is a
        :class:`ZohoError` (:mod:`.errors`); authentication errors stop the whole run.
        """
        summary = self.zoho_tap.summary
        live = deleted = 0
        try:
            for record in records:
                if record.get("_sdc_deleted_at"):
                    deleted += 1
                else:
                    live += 1
                yield record
        except ZohoAuthError:
            raise
        except CreditBudgetExhaustedError as exc:
            summary.cut_short(label, str(exc), records=live, deleted=deleted)
            self.logger.warning("%s cut short after %d records: %s", label, live, exc)
            return
        except ModuleUnavailableError as exc:
            summary.failed(label, str(exc), expected=True, records=live)
            self.logger.warning("Skipping %s: %s", label, exc)
            return
        except ZohoError as exc:
            summary.failed(label, f"{type(exc).__name__}: {exc}", records=live)
            self.logger.error("%s failed after %d records: %s", label, live, exc)  # noqa: TRY400
            return
        summary.synced(label, live, deleted)

    # ------------------------------------------------------------------ records
    @override
    def _generate_record_messages(
        self, record: dict[str, t.Any]
    ) -> t.Generator[RecordMessage, None, None]:
        """RECORD messages without the SDK's per-record pruning when nothing needs pruning.

        Streams request only the selected fields, so the SDK's recursive removal of deselected
        properties (a fifth of the tap's CPU on a 120-field module) is skipped unless the catalog
        deselects a nested property; stream maps still apply. No public hook can skip that walk,
        so this is the tap's one override of a private SDK member: the SDK range is pinned
        (``singer-sdk<0.55`` in pyproject.toml) and ``tests/tap/test_sdk_contract.py`` fails
        when the SDK changes what this member does or who calls it.
        """
        if self.prunes_nested_properties:
            yield from super()._generate_record_messages(record)
            return
        for stream_map in self.stream_maps:
            mapped = stream_map.transform(record)
            if mapped is not None:
                yield RecordMessage(
                    stream=stream_map.stream_alias,
                    record=mapped,
                    version=self._stream_version,
                    time_extracted=datetime.now(UTC),
                )

    @cached_property
    def prunes_nested_properties(self) -> bool:
        """True when the catalog deselects anything below a top-level property."""
        return any(
            len(crumb) > 2 and not selected  # noqa: PLR2004 - ("properties", name) is top level
            for crumb, selected in self.mask.items()
        )

    @override
    def validate_response(self, response: requests.Response) -> None:
        """Classify a Zoho answer; see the module docstring."""
        # Zoho's clock, from every answer's Date header: how far a bookmark may settle.
        self.server_epoch = http_date_epoch(response.headers.get("Date")) or self.server_epoch
        status = response.status_code
        if status < HTTPStatus.BAD_REQUEST:
            self.authenticator.mark_success()
            return
        code, message = zoho_error(response)
        where = f"{response.request.method} {urlsplit(response.url).path}"
        if status == HTTPStatus.UNAUTHORIZED and code in TOKEN_CODES | {"", "57"}:
            header = response.request.headers.get("Authorization", "")
            raise TokenRejectedError(header.partition(" ")[2] or None, code or str(status))
        if status == HTTPStatus.TOO_MANY_REQUESTS or status >= HTTPStatus.INTERNAL_SERVER_ERROR:
            # Transient: concurrency or credit limits, Zoho-side faults.
            msg = f"{where}: HTTP {status} {code} {message}".strip()
            raise RetriableAPIError(msg, response)
        if code in MODULE_UNAVAILABLE_CODES or status == HTTPStatus.FORBIDDEN:
            raise ModuleUnavailableError(f"{code or status}: {message}", code=code, status=status)
        raise ZohoApiError(f"{where}: HTTP {status} {code}: {message}", code=code, status=status)

    def get_json(
        self,
        path: str,
        params: dict[str, t.Any] | None = None,
        headers: dict[str, str] | None = None,
        context: Context | None = None,
    ) -> dict[str, t.Any] | None:
        """GET ``path`` through the request path; None for 204/304 or an empty body (pitfall 10)."""
        prepared = self.build_prepared_request(
            method="GET",
            url=f"{self.url_base}{path}",
            params=params or {},
            headers={**self.http_headers, **(headers or {})},
        )
        return decode_object(self.send(prepared, context), f"GET {path}")
