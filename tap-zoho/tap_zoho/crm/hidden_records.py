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

from tap_zoho.errors import ZohoApiError

from .limits import CRM_BASE, DISCRETE_CAP, MAX_IDS_PER_CALL, MAX_PER_PAGE

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Iterator

    from .completion.record_reads import Getter

CONVERSION_MODULES = {"Leads", "Contacts"}
CONVERTED = "Converted__s"
APPROVAL_STATE = "$approval_state"
APPROVED = "approved"
Page = list[dict[str, t.Any]]


class HiddenRecords:
    """The hidden records of one module's backfill."""

    def __init__(
        self,
        module: str,
        get_json: Getter,
        groups: list[list[str]],
        fields: t.Collection[str],
        logger: logging.Logger,
    ) -> None:
        """Nothing is read until asked.

        ``get_json(path, params, headers)`` goes through the module's request path; ``groups``
        are its field groups, ``fields`` every field it has.
        """
        self._name = module
        self._path = f"{CRM_BASE}/{module}"
        self._get = get_json
        self._groups = groups
        self._fields = fields
        self._logger = logger
        self.since: dict[str, str] | None = None  # If-Modified-Since of a start_date
        self.known: set[str] = set()  # hidden ids a listing told apart
        self.emitted: set[str] = set()  # hidden ids emitted from Get Records

    def detecting_fields(self) -> list[str] | None:
        """What a listing asks for to tell hidden records apart; None when it cannot tell."""
        if self._name in CONVERSION_MODULES and CONVERTED not in self._fields:
            return None
        names = [APPROVAL_STATE]
        if CONVERTED in self._fields:
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
        groups = len(self._groups)
        by_ids = math.ceil(len(missing) / MAX_IDS_PER_CALL) * groups
        by_list = (math.ceil(len(self.known) / MAX_PER_PAGE) + len(self._passes())) * groups
        self._logger.info(
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
                self._logger.info("%s: Zoho does not list %s records (%s).", self._name, extra, exc)

    def _listed(self, extra: dict[str, str]) -> Iterator[dict[str, t.Any]]:
        """Every record matching ``extra``, by id order; the field groups page in step."""
        groups = self._groups
        page, token = 1, None
        while True:
            params: dict[str, t.Any] = {
                "per_page": MAX_PER_PAGE,
                "sort_by": "id",
                "sort_order": "asc",
            }
            params.update(extra)
            if token:
                params["page_token"] = token
            elif page > 1:
                params["page"] = page
            body = self._get(self._path, {**params, "fields": ",".join(groups[0])}, self.since)
            rows = list((body or {}).get("data") or [])
            info = (body or {}).get("info") or {}
            if rows and len(groups) > 1:
                rows = self._merge(rows, groups[1:], None if token else params, extra)
            yield from rows
            if not rows or not info.get("more_records"):
                return
            page += 1
            # By position while it reaches (the field groups ask the same page), then by token.
            past_cap = (page - 1) * MAX_PER_PAGE >= DISCRETE_CAP
            token = (info.get("next_page_token") or None) if past_cap else None

    def _by_ids(self, ids: list[str]) -> Page:
        extra = {"converted": "both", "approved": "both"}
        rows = self._merge([{"id": rid} for rid in ids], self._groups, None, extra)
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
        merged = {row["id"]: row for row in rows}
        for fields in groups:
            found: dict[str, dict[str, t.Any]] = {}
            if params is not None:  # a position page: the same question with other fields
                query = {**params, "fields": ",".join(fields)}
                body = self._get(self._path, query, self.since)
                found = {r["id"]: r for r in (body or {}).get("data") or [] if r["id"] in merged}
            missing = [rid for rid in merged if rid not in found]
            for start in range(0, len(missing), MAX_IDS_PER_CALL):
                chunk = ",".join(missing[start : start + MAX_IDS_PER_CALL])
                query = {"fields": ",".join(fields), "ids": chunk, **extra}
                body = self._get(self._path, query, None) or {}
                found.update({r["id"]: r for r in body.get("data") or [] if r["id"] in merged})
            for rid, row in found.items():
                merged[rid].update(row)
        return [row for row in merged.values() if all(f in row for g in groups for f in g)]
