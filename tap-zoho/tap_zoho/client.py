"""Base stream for every Zoho family: authentication, error classification, retries, timeouts.

One place decides what a Zoho answer means (``shared/zoho-api.md`` 5.4): 429 and 5xx are retried
with backoff, a rejected token is refreshed once, permission and support errors stop only the
module, every other 4xx fails fast with Zoho's code and message.
"""

from __future__ import annotations

import typing as t
import urllib.parse
from functools import cached_property
from http import HTTPStatus

import backoff
import msgspec
import requests
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from singer_sdk.helpers._util import utc_now
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.singerlib import RecordMessage
from singer_sdk.streams import RESTStream

from .credits import CreditBudgetExhaustedError
from .errors import ModuleUnavailableError, ZohoApiError, ZohoAuthError, ZohoError
from .pagination import UnsortedResponseError

if t.TYPE_CHECKING:
    from backoff.types import Details

    from .auth import ZohoAuthenticator
    from .tap import TapZoho

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


class TokenRejectedError(Exception):
    """Zoho answered 401 for this token: refresh once, then give up."""

    def __init__(self, used_token: str | None, code: str) -> None:
        """Remember which token failed, so a token another stream renewed is not renewed again."""
        super().__init__(code)
        self.used_token = used_token
        self.code = code


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


class ZohoStream(RESTStream):
    """Common HTTP behaviour of CRM, Books and Inventory streams."""

    # Zoho values are JSON already (strings, numbers, objects): nothing to conform.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    @property
    def url_base(self) -> str:
        """The configured API domain (never a hard-coded ``.com``)."""
        return t.cast("TapZoho", self._tap).api_domain

    @property
    def authenticator(self) -> ZohoAuthenticator:
        """The tap's single authenticator: one token for all streams."""
        return t.cast("TapZoho", self._tap).zoho_authenticator

    @property
    def timeout(self) -> int:
        """Seconds before a request is abandoned and retried."""
        return int(self.config.get("request_timeout", 60))

    @property
    def requests_session(self) -> requests.Session:
        """The tap's one gated session: its credit budget and concurrency limit (credits.py)."""
        return t.cast("TapZoho", self._tap).gated_session

    @cached_property
    def http_headers(self) -> dict[str, str]:
        """Headers on every request."""
        return {"User-Agent": self.config.get("user_agent") or "tap-zoho/0.1"}

    # ------------------------------------------------------------------ retries
    def backoff_wait_generator(self) -> t.Generator[float, None, None]:
        """Exponential waits from ``retry_backoff_seconds``, capped at a minute."""
        return backoff.expo(
            factor=float(self.config.get("retry_backoff_seconds", 2.0)), max_value=60
        )

    def backoff_max_tries(self) -> int:
        """One try plus ``max_retries`` retries."""
        return int(self.config.get("max_retries", 8)) + 1

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

    def _request(
        self, prepared_request: requests.PreparedRequest, context: t.Any
    ) -> requests.Response:
        """Send once; on a rejected token refresh it and send once more (pitfall 5)."""
        try:
            return super()._request(prepared_request, context)
        except TokenRejectedError as first:
            if not self.authenticator.token_rejected(first.used_token):
                raise self._token_failure(first.code) from None
            self.logger.info("Zoho rejected the access token (%s); refreshing it once.", first.code)
        try:
            return super()._request(prepared_request, context)
        except TokenRejectedError as second:
            raise self._token_failure(second.code) from None

    def _token_failure(self, code: str) -> ZohoError:
        if code == "57":  # Books/Inventory: "not authorized": a missing scope more often than not
            return ModuleUnavailableError(
                "57: not authorized for this product or organisation (missing scope?)", code=code
            )
        return ZohoAuthError(
            f"Zoho rejected a freshly issued access token at {self.url_base} ({code}): api_domain "
            f"belongs to another data centre than {self.authenticator.accounts_domain}, or the "
            "token lacks the scopes this tap needs"
        )

    # ------------------------------------------------------------------ answers
    def isolated(
        self, label: str, records: t.Iterator[dict[str, t.Any]]
    ) -> t.Iterator[dict[str, t.Any]]:
        """Yield ``records``; a failure ends only this module (or organisation) and is reported.

        Records already yielded stay emitted: the stream is sorted, so its bookmark covers exactly
        them and the next run resumes after them.
        """
        summary = t.cast("TapZoho", self._tap).summary
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
        except (
            ZohoApiError,
            FatalAPIError,
            RetriableAPIError,
            UnsortedResponseError,
            requests.RequestException,
        ) as exc:
            summary.failed(label, f"{type(exc).__name__}: {exc}", records=live)
            self.logger.error("%s failed after %d records: %s", label, live, exc)  # noqa: TRY400
            return
        summary.synced(label, live, deleted)

    def _generate_record_messages(
        self, record: dict[str, t.Any]
    ) -> t.Generator[RecordMessage, None, None]:
        """RECORD messages without the SDK's per-record pruning when nothing needs pruning.

        Streams request only the selected fields, so the SDK's recursive removal of deselected
        properties (a quarter of the tap's CPU on wide modules) is skipped unless the catalog
        deselects a nested property. Stream maps still apply.
        """
        if self._prune_nested:
            yield from super()._generate_record_messages(record)
            return
        for stream_map in self.stream_maps:
            mapped = stream_map.transform(record)
            if mapped is not None:
                yield RecordMessage(
                    stream=stream_map.stream_alias,
                    record=mapped,
                    version=self._stream_version,
                    time_extracted=utc_now(),
                )

    @cached_property
    def _prune_nested(self) -> bool:
        """True when the catalog deselects anything below a top-level property."""
        return any(
            len(crumb) > 2 and not selected  # noqa: PLR2004 - ("properties", name) is top level
            for crumb, selected in self.mask.items()
        )

    def validate_response(self, response: requests.Response) -> None:
        """Classify a Zoho answer; see the module docstring."""
        status = response.status_code
        if status < HTTPStatus.BAD_REQUEST:
            self.authenticator.mark_success()
            return
        code, message = zoho_error(response)
        where = f"{response.request.method} {urllib.parse.urlparse(response.url).path}"
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
        context: t.Any = None,
    ) -> dict[str, t.Any] | None:
        """GET ``path`` through the SDK's request pipeline; None for 204/304 (pitfall 10)."""
        prepared = self.build_prepared_request(
            method="GET",
            url=f"{self.url_base}{path}",
            params=params or {},
            headers={**self.http_headers, **(headers or {})},
        )
        response = self.request_decorator(self._request)(prepared, context)
        if response.status_code in EMPTY_STATUSES or not response.content:
            return None
        try:
            body = msgspec.json.decode(response.content)
        except msgspec.DecodeError as exc:
            msg = f"GET {path}: the answer is not JSON ({exc})"
            raise ZohoApiError(msg) from None
        if not isinstance(body, dict):
            msg = f"GET {path}: expected a JSON object, got {type(body).__name__}"
            raise ZohoApiError(msg)
        return body
