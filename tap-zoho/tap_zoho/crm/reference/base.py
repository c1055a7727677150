"""What every CRM reference stream shares: its endpoints' pages, its calls, why it may be empty.

None of the reference entities is a module (``shared/zoho-api.md`` 2.4): each has an endpoint, an
envelope key and a scope of its own, and most have no paging and no modified-time filter, so each
stream re-reads its entity whole every run, one call per endpoint (a page each where Zoho pages).
Zoho pages users, profiles and territories by position, with no page token: a listing that took
more than one page is read again until two passes agree (:mod:`.passes`), which costs nothing
more when the listing fits one page.

An entity this account cannot read is not a failure of the run: a feature that is off (territory
management, multi-currency), a scope the refresh token lacks or a permission the API user's profile
lacks empties the stream, with one warning saying what to enable or which scope to add, and the
run summary's ``reference_streams`` says why. Any other error fails the stream like a module
(:meth:`~tap_zoho.sdk.stream.ZohoStream.isolated`).
"""

from __future__ import annotations

import copy
import functools
import threading
import typing as t
from dataclasses import dataclass

from typing_extensions import override

from tap_zoho.errors import EndpointUnavailableError, ModuleUnavailableError, ZohoApiError
from tap_zoho.sdk.shaped import ShapedStream

from .passes import Passes

if t.TYPE_CHECKING:
    import requests
    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context, RequestFunc

    from tap_zoho.run_context import RunContext

PREFIX = "crm-"  # no module stream can start so: modules are lowercased API names, [a-z][a-z0-9_]*
CRM = "/crm/v8"


@dataclass(frozen=True)
class Endpoint:
    """One reference endpoint: where, which envelope key, which scope, how it pages."""

    path: str
    envelope: str
    scope: str  # the READ scope a token needs (2.4)
    what: str  # what it lists, for messages
    max_per_page: int = 0  # 0: one answer holds everything
    enable: str = ""  # what to switch on in Zoho when Zoho says the feature is off


class ReferenceRun:
    """What the reference streams of one run share: reads made once, warnings given once."""

    def __init__(self, stage_values: list[dict[str, t.Any]] | None) -> None:
        """``stage_values``: the Deals ``Stage`` picklist if discovery read it, else None."""
        self.stage_values = stage_values
        self.lock = threading.RLock()
        self.reads: dict[str, t.Any] = {}  # what one stream read for others (pipelines)
        self._said: set[str] = set()

    def first_time(self, reason: str) -> bool:
        """True the first time this run gives ``reason`` for an empty stream."""
        with self.lock:
            if reason in self._said:
                return False
            self._said.add(reason)
            return True


class ReferenceStream(ShapedStream):
    """One reference entity, re-read whole each run (users: see :mod:`.users`)."""

    entity: t.ClassVar[str]  # the stream is named PREFIX + entity
    endpoint: t.ClassVar[Endpoint]
    declared_schema: t.ClassVar[dict[str, t.Any]]
    primary_keys: t.ClassVar[list[str]] = ["id"]
    params: t.ClassVar[dict[str, str]] = {}  # every call asks for these
    optional_params: t.ClassVar[dict[str, str]] = {}  # asked for, dropped if Zoho refuses them
    read_with: t.ClassVar[tuple[str, ...]] = ()  # other streams built from the same calls

    def __init__(self, tap: Tap, run_context: RunContext, run: ReferenceRun) -> None:
        """A stream of the reference run ``run``, with a schema of its own (it grows)."""
        self.run = run
        self.calls = 0  # calls this stream made, retries included
        super().__init__(
            tap,
            run_context,
            name=PREFIX + self.entity,
            schema=copy.deepcopy(self.declared_schema),
        )
        self.path = self.endpoint.path

    @override
    def get_records(self, context: Context | None) -> t.Iterable[dict[str, t.Any]]:
        """The entity's rows, shaped to the SCHEMA; an entity out of reach leaves it empty."""
        for row in self.isolated(self.name, self.rows(context)):
            yield self.shaped(row)

    def rows(self, context: Context | None) -> t.Iterator[dict[str, t.Any]]:
        """Every row of the endpoint (streams with more to do override this)."""
        del context
        yield from self.listing(self.endpoint, self.params, self.optional_params)

    def listing(
        self,
        endpoint: Endpoint,
        params: dict[str, str],
        optional: dict[str, str] | None = None,
    ) -> list[dict[str, t.Any]]:
        """Every row of ``endpoint``; if Zoho refuses the ``optional`` parameters, without them.

        ``include_types`` and ``include_inner_details`` add rows and keys the contract names,
        but not the exact form of a value listing several: a 400 ``INVALID_DATA`` is answered
        by reading again without them (one more call, logged).
        """
        try:
            return self.whole(endpoint, {**params, **(optional or {})})
        except ZohoApiError as exc:
            if not optional or exc.code != "INVALID_DATA":
                raise
            self.logger.info(
                "%s: Zoho refused %s (%s); reading without them", self.name, sorted(optional), exc
            )
        return self.whole(endpoint, params)

    def whole(self, endpoint: Endpoint, params: dict[str, str]) -> list[dict[str, t.Any]]:
        """Each row of ``endpoint`` once, over the passes it needs (:mod:`.passes`)."""
        rows: dict[str, dict[str, t.Any]] = {}
        for page in self.passes(endpoint, params):
            for row in page:
                rows[str(row.get("id"))] = row
        return list(rows.values())

    def passes(
        self,
        endpoint: Endpoint,
        params: dict[str, str],
        headers: dict[str, str] | None = None,
        *,
        what: str = "",
        unsettled: str = "the next run lists them whole again",
    ) -> Passes:
        """The pages of ``endpoint``, read again while a page may have shifted (:mod:`.passes`)."""
        return Passes(
            lambda: self.pages(endpoint, params, headers),
            label=self.name,
            what=what or endpoint.what,
            logger=self.logger,
            unsettled=unsettled,
        )

    def pages(
        self,
        endpoint: Endpoint,
        params: dict[str, str],
        headers: dict[str, str] | None = None,
    ) -> t.Iterator[list[dict[str, t.Any]]]:
        """The endpoint's answers, one list of rows per call, while ``info.more_records`` says so.

        204 and 304 (nothing, or nothing newer) are an empty page: after the first page it tells
        :mod:`.passes` that the listing shrank under its pages. A refusal of this account becomes
        an :class:`EndpointUnavailableError` naming the endpoint.
        """
        page = 1
        while True:
            query: dict[str, t.Any] = dict(params)
            if endpoint.max_per_page:
                query.update(page=page, per_page=endpoint.max_per_page)
            try:
                body = self.get_json(endpoint.path, query, headers)
            except ModuleUnavailableError as exc:
                raise EndpointUnavailableError(
                    exc, scope=endpoint.scope, what=endpoint.what, enable=endpoint.enable
                ) from None
            if body is None:
                yield []
                return
            rows = [row for row in body.get(endpoint.envelope) or [] if isinstance(row, dict)]
            yield rows
            more = (body.get("info") or {}).get("more_records")
            if not (endpoint.max_per_page and rows and more):
                return
            page += 1

    # ------------------------------------------------------------------ accounting
    @override
    def each_attempt(self, func: RequestFunc) -> RequestFunc:
        """Count every call (each costs a credit, 5.1) for the run summary."""

        @functools.wraps(func)
        def counted(prepared: requests.PreparedRequest, context: Context | None) -> t.Any:
            self.calls += 1
            return func(prepared, context)

        return counted

    @override
    def report_synced(self, label: str, records: int, deleted: int) -> None:
        """In the summary's ``reference_streams``, not among the modules."""
        self.run_context.summary.reference(self.name, records, self.calls)

    @override
    def report_unavailable(self, label: str, exc: ModuleUnavailableError, records: int) -> None:
        """Empty, never failed: one warning a run saying what to enable or which scope to add."""
        reason = exc.advice() if isinstance(exc, EndpointUnavailableError) else str(exc)
        self.run_context.summary.reference(self.name, records, self.calls, skipped=reason)
        names = ", ".join(sorted({self.name, *self.read_with}))
        if self.run.first_time(reason):
            self.logger.warning("%s: empty this run: %s", names, reason)
        else:
            self.logger.info("%s: empty this run (see the warning above)", self.name)
