"""The base stream of every Zoho family: the SDK's hooks, answered by the run's services.

A :class:`ZohoStream` is what the Singer SDK sees of a Zoho endpoint. Every HTTP hook of the SDK's
``RESTStream`` (base URL, authenticator, session, timeout, headers, ``validate_response`` and the
``request_decorator`` around each attempt) is answered by the stream's own
:class:`~tap_zoho.api.client.ZohoClient`, so the SDK's paged reads (``request_records``) and the
tap's own calls (:meth:`ZohoStream.get_json`, :meth:`ZohoStream.send`) take one request path:
retries, token refresh, pacing and classification live in the client, not here.

What stays here is what only a stream knows: which failures end only its module and how the run
summary hears of it (:meth:`ZohoStream.isolated`), and how its records become RECORD messages.
"""

from __future__ import annotations

import typing as t
from datetime import UTC, datetime
from functools import cached_property

from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.singerlib import RecordMessage
from singer_sdk.streams import RESTStream
from typing_extensions import override

from tap_zoho.errors import (
    CreditBudgetExhaustedError,
    ModuleUnavailableError,
    ZohoAuthError,
    ZohoError,
)

if t.TYPE_CHECKING:
    import requests
    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context, RequestFunc

    from tap_zoho.api.auth import ZohoAuthenticator
    from tap_zoho.api.client import ZohoClient
    from tap_zoho.run_context import RunContext


class ZohoStream(RESTStream):
    """Common behaviour of CRM, Books and Inventory streams."""

    # Zoho values are JSON already (strings, numbers, objects): nothing to conform.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    def __init__(self, tap: Tap, run_context: RunContext, **kwargs: t.Any) -> None:
        """A stream of ``tap`` (the SDK's) using ``run_context``'s services (the run's)."""
        self.run_context = run_context
        super().__init__(tap=tap, **kwargs)

    @cached_property
    def client(self) -> ZohoClient:
        """This stream's client over the run's session, token and pacing."""
        return self.run_context.client(self.name, self.logger, self.path)

    def server_now(self) -> int:
        """Zoho's clock by this stream's latest answer; the local clock when none came."""
        return self.client.server_now()

    # ------------------------------------------------------------------ SDK hooks -> the client
    @property
    @override
    def url_base(self) -> str:
        """The configured API domain (never a hard-coded ``.com``)."""
        return self.client.url_base

    @property
    @override
    def authenticator(self) -> ZohoAuthenticator:
        """The run's single authenticator: one token for all streams."""
        return self.client.authenticator

    @property
    @override
    def timeout(self) -> int:
        """Seconds before a request is abandoned and retried."""
        return self.client.timeout

    @property
    @override
    def requests_session(self) -> requests.Session:
        """The run's one gated session: its credit budget and concurrency limit."""
        return self.client.requests_session

    @property
    @override
    def http_headers(self) -> dict[str, str]:
        """Headers on every request."""
        return self.client.http_headers

    @override
    def validate_response(self, response: requests.Response) -> None:
        """The client's one reading of an answer (:func:`tap_zoho.api.client.classify`)."""
        self.client.validate_response(response)

    @override
    def request_decorator(self, func: RequestFunc) -> RequestFunc:
        """The client's request path around one attempt of the SDK's, ``func``."""
        return self.client.request_path(self.each_attempt(func))

    def each_attempt(self, func: RequestFunc) -> RequestFunc:
        """Wrap every single attempt, retries included: nothing to add here."""
        return func

    # ------------------------------------------------------------------ the tap's own calls
    def send(
        self, prepared: requests.PreparedRequest, context: Context | None
    ) -> requests.Response:
        """Send ``prepared`` through the whole request path (retries, token refresh, pacing)."""
        return self.client.send(prepared, context, each_attempt=self.each_attempt)

    def get_json(
        self,
        path: str,
        params: dict[str, t.Any] | None = None,
        headers: dict[str, str] | None = None,
        context: Context | None = None,
    ) -> dict[str, t.Any] | None:
        """GET ``path`` through the request path; None for 204/304 or an empty body (pitfall 10)."""
        return self.client.get_json(path, params, headers, context, each_attempt=self.each_attempt)

    def token_failure(self, code: str) -> ZohoError:
        """The error a token Zoho keeps rejecting ends with."""
        return self.client.token_failure(code)

    def close(self) -> None:
        """Release what this stream opened for itself (the run closes the shared session)."""

    # ------------------------------------------------------------------ a module's fate
    def isolated(
        self, label: str, records: t.Iterator[dict[str, t.Any]]
    ) -> t.Iterator[dict[str, t.Any]]:
        """Yield ``records``; a failure ends only this module (or organisation) and is reported.

        Records already yielded stay emitted: the stream is sorted, so its bookmark covers exactly
        them and the next run resumes after them. Every failure of the request path is a
        :class:`ZohoError` (:mod:`tap_zoho.errors`); authentication errors stop the whole run.
        """
        summary = self.run_context.summary
        live = deleted = 0
        repairs = self.client.repairs
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
            self.report_unavailable(label, exc, live)
            return
        except ZohoError as exc:
            summary.failed(label, f"{type(exc).__name__}: {exc}", records=live)
            self.logger.error("%s failed after %d records: %s", label, live, exc)  # noqa: TRY400
            return
        finally:
            if repaired := self.client.repairs - repairs:
                summary.repaired(label, repaired)  # warned of once; counted here
        self.report_synced(label, live, deleted)

    def report_unavailable(self, label: str, exc: ModuleUnavailableError, records: int) -> None:
        """This account cannot read ``label`` (scope, permission, feature): a warning, a skip."""
        self.run_context.summary.failed(label, str(exc), expected=True, records=records)
        self.logger.warning("Skipping %s: %s", label, exc)

    def report_synced(self, label: str, records: int, deleted: int) -> None:
        """``label`` was read to its end."""
        self.run_context.summary.synced(label, records, deleted)

    # ------------------------------------------------------------------ records
    @override
    def _generate_record_messages(
        self, record: dict[str, t.Any]
    ) -> t.Generator[RecordMessage, None, None]:
        """RECORD messages without the SDK's per-record pruning when nothing needs pruning.

        Streams request only the selected fields, so the SDK's recursive removal of deselected
        properties (a large share of the tap's CPU on wide modules) is skipped unless the catalog
        deselects a nested property; stream maps still apply. No public hook can skip that walk,
        so this overrides a private SDK member: the SDK's minor series is pinned in
        pyproject.toml and the tap's SDK contract tests fail when the SDK changes what this
        member does or who calls it.
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
