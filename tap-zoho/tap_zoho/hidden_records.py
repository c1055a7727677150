"""Converted Leads and records under approval: whether a Bulk Read export holds them is unconfirmed.

Get Records hides both unless asked (``converted``, ``approved``; ``shared/zoho-api.md`` 3.1), and
4.4 does not say whether an export holds them. A backfill makes sure every one of them is emitted
once, under either reading, as cheaply as it can:

* when it lists the module anyway (the pass over the fields Bulk Read cannot export), that pass
  also asks for ``Converted__s`` and ``$approval_state``, which tell the hidden records apart; those
  the export then leaves out are read afterwards, by ``ids`` or by listing them, whichever takes
  fewer calls: nothing extra when the export holds them;
* otherwise it lists them while the export runs: ``converted=true`` and ``approved=false`` list
  exactly those, each page asked of every field group in step.
"""

from __future__ import annotations

import math
import typing as t

from .errors import ZohoApiError
from .timeutil import to_epoch, utc_iso

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from .crm import CrmModuleStream

CONVERSION_MODULES = {"Leads", "Contacts"}
CONVERTED = "Converted__s"
APPROVAL_STATE = "$approval_state"
APPROVED = "approved"
PAGE = 200
MAX_IDS_PER_CALL = 100
DISCRETE_CAP = 2000
Page = list[dict[str, t.Any]]


class HiddenRecords:
    """The hidden records of one module's backfill."""

    def __init__(self, stream: CrmModuleStream, context: t.Any) -> None:
        """Nothing is read until asked."""
        self.stream = stream
        self.context = context
        self.known: set[str] = set()  # hidden ids a listing told apart
        self.emitted: set[str] = set()  # hidden ids emitted from Get Records

    @property
    def _name(self) -> str:
        return self.stream.module_name

    def detecting_fields(self) -> list[str] | None:
        """What a listing asks for to tell hidden records apart; None when it cannot tell."""
        if self._name in CONVERSION_MODULES and CONVERTED not in self.stream.field_meta:
            return None
        names = [APPROVAL_STATE]
        if CONVERTED in self.stream.field_meta:
            names.append(CONVERTED)
        return names

    def note(self, row: dict[str, t.Any]) -> None:
        """Remember ``row`` if a default list would hide it."""
        state = row.get(APPROVAL_STATE)
        if row.get(CONVERTED) is True or (state is not None and state != APPROVED):
            self.known.add(str(row["id"]))

    def left_out(self, exported: set[str]) -> Iterator[dict[str, t.Any]]:
        """The hidden records an export left out, by ``ids`` or by listing, the cheaper."""
        missing = sorted(self.known - exported - self.emitted, key=int)
        if not missing:
            return
        groups = len(self.stream._field_groups())  # noqa: SLF001
        by_ids = math.ceil(len(missing) / MAX_IDS_PER_CALL) * groups
        by_list = (math.ceil(len(self.known) / PAGE) + len(self._passes())) * groups
        self.stream.logger.info(
            "%s: the export left out %d converted or unapproved records; reading them %s.",
            self._name,
            len(missing),
            "by ids" if by_ids <= by_list else "by listing them",
        )
        if by_ids <= by_list:
            for start in range(0, len(missing), MAX_IDS_PER_CALL):
                yield from self._by_ids(missing[start : start + MAX_IDS_PER_CALL])
        else:
            wanted = set(missing)
            yield from (r for r in self.listed() if r["id"] in wanted)

    def _passes(self) -> list[dict[str, str]]:
        if self._name in CONVERSION_MODULES:
            return [
                {"converted": "true", "approved": "both"},
                {"converted": "both", "approved": "false"},
            ]
        return [{"approved": "false"}]

    def listed(self) -> Iterator[dict[str, t.Any]]:
        """Every hidden record, each once, by listing exactly those."""
        for extra in self._passes():
            try:
                for record in self._listed(extra):
                    if record["id"] not in self.emitted:
                        self.emitted.add(record["id"])
                        yield record
            except ZohoApiError as exc:
                self.stream.logger.info(
                    "%s: Zoho does not list %s records (%s).", self._name, extra, exc
                )

    def _listed(self, extra: dict[str, str]) -> Iterator[dict[str, t.Any]]:
        """Every record matching ``extra``, by id order; the field groups page in step."""
        stream = self.stream
        groups = stream._field_groups()  # noqa: SLF001
        page, token = 1, None
        while True:
            params: dict[str, t.Any] = {"per_page": PAGE, "sort_by": "id", "sort_order": "asc"}
            params.update(extra)
            if token:
                params["page_token"] = token
            elif page > 1:
                params["page"] = page
            body = stream.get_json(
                stream.path, {**params, "fields": ",".join(groups[0])}, self.since(), self.context
            )
            rows = list((body or {}).get("data") or [])
            info = (body or {}).get("info") or {}
            if rows and len(groups) > 1:
                rows = self._merge(rows, groups[1:], None if token else params, extra)
            yield from rows
            if not rows or not info.get("more_records"):
                return
            page += 1
            # By position while it reaches (the field groups ask the same page), then by token.
            past_cap = (page - 1) * PAGE >= DISCRETE_CAP
            token = (info.get("next_page_token") or None) if past_cap else None

    def _by_ids(self, ids: list[str]) -> Page:
        groups = self.stream._field_groups()  # noqa: SLF001
        extra = {"converted": "both", "approved": "both"}
        rows = self._merge([{"id": rid} for rid in ids], groups, None, extra)
        self.emitted.update(r["id"] for r in rows)
        return rows

    def _merge(
        self,
        rows: Page,
        groups: list[list[str]],
        params: dict[str, t.Any] | None,
        extra: dict[str, str],
    ) -> Page:
        """Rows with every other field group: the same page where it lines up, else by ``ids``.

        A record gone meanwhile (some group has no row for it) is left out.
        """
        stream = self.stream
        merged = {row["id"]: row for row in rows}
        for fields in groups:
            found: dict[str, dict[str, t.Any]] = {}
            if params is not None:  # a position page: the same question with other fields
                query = {**params, "fields": ",".join(fields)}
                body = stream.get_json(stream.path, query, self.since(), self.context)
                found = {r["id"]: r for r in (body or {}).get("data") or [] if r["id"] in merged}
            missing = [rid for rid in merged if rid not in found]
            for start in range(0, len(missing), MAX_IDS_PER_CALL):
                chunk = ",".join(missing[start : start + MAX_IDS_PER_CALL])
                query = {"fields": ",".join(fields), "ids": chunk, **extra}
                body = stream.get_json(stream.path, query, None, self.context) or {}
                found.update({r["id"]: r for r in body.get("data") or [] if r["id"] in merged})
            for rid, row in found.items():
                merged[rid].update(row)
        return [row for row in merged.values() if all(f in row for g in groups for f in g)]

    def since(self) -> dict[str, str] | None:
        """``If-Modified-Since`` for ``start_date``, where the module has ``Modified_Time``."""
        start = self.stream.config.get("start_date")
        if start and self.stream.has_modified_time:
            return {"If-Modified-Since": utc_iso(to_epoch(start) - 1)}
        return None
