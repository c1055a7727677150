"""Subform and linking modules read whole into the spool, by listing or by Bulk Read (3.3).

A listing asks for every field of the module (``fields`` is mandatory there too), 200 rows a page,
by ``page`` and then ``page_token``, with ``converted=both&approved=both`` (rows of converted and
unapproved parents, whichever reading of the filters Zoho follows) and nothing else: whether the
Subform API honours ``If-Modified-Since``, sorting or ``ids`` is unconfirmed, so the tap needs none
of them. Each row is stored under its parent (``Parent_Id``, or the linking module's lookup to the
parent) as the parent's single-record read holds it. Whatever keeps a listing from reaching every
row (an error answer, no page token past the position cap, rows without their parent, more than
50 fields, more calls than the single-record reads it replaces) is a :class:`RouteRefused`, which
says whether a later run would meet it again (:mod:`.refusals`). Rows are spooled with the position
a single-record read gives them (:mod:`.row_order`).
"""

from __future__ import annotations

import typing as t

from tap_zoho.crm.bulk_read.csv_rows import exportable
from tap_zoho.crm.limits import ALL_RECORDS, CRM_BASE, DISCRETE_CAP, MAX_FIELDS_PER_CALL
from tap_zoho.errors import BulkRefusedError, RetriesExhaustedError, RouteRefused, ZohoApiError

from .row_order import RowOrders

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from tap_zoho.crm.bulk_read.jobs import BulkJobs

    from .plan import Source
    from .record_reads import Getter
    from .spool import Spool


class LinkedRows:
    """Reads the subform and linking modules of one parent module."""

    def __init__(self, get_json: Getter, per_page: int, orders: RowOrders | None = None) -> None:
        """``get_json(path, params, headers)`` goes through the module's request path."""
        self._get = get_json
        self.per_page = per_page
        self.orders = orders or RowOrders({})
        self.metadata: dict[str, list[dict[str, t.Any]]] = {}

    def fields(self, source: Source) -> list[dict[str, t.Any]]:
        """The field metadata of a source's module (a linking module's two lookups are known)."""
        module = str(source.module)
        if module in self.metadata:
            return self.metadata[module]
        if source.kind == "linking":
            fields = [
                {"api_name": source.connected, "data_type": "lookup", "json_type": "jsonobject"},
                {"api_name": source.lookup, "data_type": "lookup", "json_type": "jsonobject"},
            ]
        else:
            try:
                body = self._get(f"{CRM_BASE}/settings/fields", {"module": module}, None)
            except ZohoApiError as exc:
                msg = f"GET /settings/fields?module={module} answered {_why(exc)}"
                raise RouteRefused(msg, module, lasting=_lasting(exc)) from None
            fields = [
                f for f in (body or {}).get("fields") or [] if f.get("api_name") not in {None, "id"}
            ]
            if not fields:
                msg = f"{module} has no field metadata"
                raise RouteRefused(msg, module)
        self.metadata[module] = fields
        return fields

    def list_into(self, spool: Spool, source: Source, max_calls: int | None) -> int:
        """List every row of the source's module into ``spool``; the calls it took."""
        module = str(source.module)
        names = [str(f["api_name"]) for f in self.fields(source)]
        if len(names) > MAX_FIELDS_PER_CALL:
            msg = f"{module} has more than {MAX_FIELDS_PER_CALL} fields"
            raise RouteRefused(msg, module)
        calls = 0
        for rows in self.list_pages(module, names, max_calls):
            calls += 1
            self.add_listed(spool, source, rows)
        return calls

    def list_pages(
        self, module: str, names: list[str], max_calls: int | None
    ) -> Iterator[list[dict[str, t.Any]]]:
        """Every row of ``module`` with ``names``, one answer (a call) at a time.

        Paged as Get Records: 200 a page, ``sort_by=id``, by position then by token.
        """
        calls, page, token = 0, 1, None
        while True:
            if max_calls is not None and calls >= max_calls:
                msg = f"listing {module} would cost more than the {max_calls} reads it replaces"
                raise RouteRefused(msg, module, lasting=False)
            params: dict[str, t.Any] = {
                "fields": ",".join(names),
                "per_page": self.per_page,
                "sort_by": "id",
                "sort_order": "asc",
                **ALL_RECORDS,
            }
            if token:
                params["page_token"] = token
            elif page > 1:
                params["page"] = page
            try:
                body = self._get(f"{CRM_BASE}/{module}", params, None)
            except ZohoApiError as exc:
                msg = f"GET /crm/v8/{module} answered {_why(exc)}"
                raise RouteRefused(msg, module, lasting=_lasting(exc)) from None
            calls += 1
            rows = list((body or {}).get("data") or [])
            yield rows
            info = (body or {}).get("info") or {}
            if not rows or not info.get("more_records"):
                return
            token = info.get("next_page_token") or None
            page += 1
            if not token and (page - 1) * self.per_page >= DISCRETE_CAP:
                msg = f"{module} offers no page token past {DISCRETE_CAP:,} rows"
                raise RouteRefused(msg, module)

    def add_listed(self, spool: Spool, source: Source, rows: list[dict[str, t.Any]]) -> int:
        """Store rows of ``source``'s module, as listed, under their parents; how many."""
        return spool.add_rows(source.field, self._elements(source, rows), self._position(source))

    def _position(self, source: Source) -> t.Callable[[dict[str, t.Any]], int | None]:
        """Where a row of ``source`` stands among its parent's (None: by id)."""
        reading = self.orders.reading(str(source.module)) if source.kind == "subform" else None
        return lambda element: RowOrders.position(element, reading)

    @staticmethod
    def _elements(
        source: Source, rows: t.Iterable[dict[str, t.Any]]
    ) -> Iterator[tuple[str, dict[str, t.Any]]]:
        for row in rows:
            parent = source.parent_of(row)
            if parent is None or (source.kind == "linking" and source.lookup not in row):
                msg = f"{source.module} rows do not name their parent ({source.parent_key})"
                raise RouteRefused(msg, source.module)
            yield parent, source.element(row)

    # ------------------------------------------------------------------ Bulk Read
    def export_query(self, source: Source) -> dict[str, t.Any]:
        """The Bulk Read query exporting every row of a source's module."""
        names = [str(f["api_name"]) for f in self.fields(source) if exportable(f)]
        return {"module": {"api_name": source.module}, "fields": ["id", *names], "page": 1}

    def start_export(self, jobs: BulkJobs, source: Source) -> dict[str, t.Any]:
        """Create the job (beside the parent's); its details."""
        try:
            return jobs.create(self.export_query(source))
        except ZohoApiError as exc:
            msg = f"Bulk Read refused {source.module} ({_why(exc)})"
            raise RouteRefused(msg, source.module, lasting=False) from None

    def finish_export(
        self, jobs: BulkJobs, spool: Spool, source: Source, job: dict[str, t.Any]
    ) -> int:
        """Download the job's rows (every page) into ``spool``; how many."""
        fields = {str(f["api_name"]): f for f in self.fields(source)}
        try:
            records = jobs.records(job, self.export_query(source), fields)
            elements = self._elements(source, records)
            return spool.add_rows(source.field, elements, self._position(source))
        except BulkRefusedError as exc:
            msg = f"the Bulk Read job of {source.module} failed ({_why(exc)})"
            raise RouteRefused(msg, source.module, lasting=False) from None


def _lasting(exc: ZohoApiError) -> bool:
    """A refusal a later run would meet again: a 4xx answer, not throttling or a retried fault."""
    status = exc.status
    return not isinstance(exc, RetriesExhaustedError) and 400 <= status < 500 and status != 429  # noqa: PLR2004


def _why(exc: ZohoApiError) -> str:
    return exc.code or (f"HTTP {exc.status}" if exc.status else str(exc))
