"""Reads of one record at a time: the single-record read and the Rich Text API (3.2, 3.3).

Both cost a credit a record and are bounded by the run's ``crm_detail_reads_max_per_run``
(:class:`~.budget.DetailBudget`). A few run side by side, within every edition's
concurrency. The Rich Text API (``GET /{module}/{id}/actions/fetch_full_data`` with just the
rich-text fields) is documented for another Zoho product; if v8 refuses it, the module's rich text
comes from single-record reads instead, said once in the log.
"""

from __future__ import annotations

import typing as t
from concurrent.futures import ThreadPoolExecutor

from tap_zoho.crm.limits import MAX_FIELDS_PER_CALL
from tap_zoho.errors import ModuleUnavailableError, ZohoApiError

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Callable

MAX_PARALLEL_READS = 4
GONE = "INVALID_DATA"  # an unknown (deleted) record id

Getter = t.Callable[[str, dict[str, t.Any] | None, dict[str, str] | None], dict[str, t.Any] | None]


class RecordReads:
    """Single-record reads and rich-text reads of one module, a few at a time."""

    def __init__(self, get_json: Getter, path: str, name: str, logger: logging.Logger) -> None:
        """``path`` is ``/crm/v8/{module}``."""
        self._get = get_json
        self._path = path
        self._name = name
        self._logger = logger
        self._pool: ThreadPoolExecutor | None = None
        self.rich_text_api: bool | None = None  # None: not tried yet
        self.rich_text_refusal = ""

    def close(self) -> None:
        """Stop the worker threads."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _map(
        self, read: Callable[[str], dict[str, t.Any] | None], ids: list[str]
    ) -> list[dict[str, t.Any] | None]:
        if not ids:
            return []
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                max_workers=MAX_PARALLEL_READS, thread_name_prefix=f"{self._name}-reads"
            )
        futures = [self._pool.submit(read, rid) for rid in ids]
        try:
            return [future.result() for future in futures]
        except BaseException:
            for future in futures:
                future.cancel()  # the module stops: no more calls on its behalf
            raise

    def whole(self, ids: list[str], fields: t.Sequence[str] = ()) -> list[dict[str, t.Any] | None]:
        """``GET /{module}/{id}`` of each id (just ``fields`` when at most 50); None when gone."""
        params = {"fields": ",".join(fields)} if 0 < len(fields) <= MAX_FIELDS_PER_CALL else {}
        return self._map(lambda rid: self._single(rid, params), ids)

    def _single(self, rid: str, params: dict[str, str]) -> dict[str, t.Any] | None:
        try:
            body = self._get(f"{self._path}/{rid}", params, None)
        except ZohoApiError as exc:
            if exc.code == GONE:
                return None
            raise
        return _the_record(body, rid)

    def rich_text(self, ids: list[str], fields: t.Sequence[str]) -> list[dict[str, t.Any] | None]:
        """The rich-text ``fields`` of each id, whole: the Rich Text API, else single reads."""
        if not ids:
            return []
        if self.rich_text_api is None:  # the first answer decides for the module
            first = self._fetch_full_data(ids[0], fields)
            return [first, *self.rich_text(ids[1:], fields)]
        if not self.rich_text_api:
            return self.whole(ids, fields)
        return self._map(lambda rid: self._fetch_full_data(rid, fields), ids)

    def _fetch_full_data(self, rid: str, fields: t.Sequence[str]) -> dict[str, t.Any] | None:
        params = {"fields": ",".join(fields)}
        try:
            body = self._get(f"{self._path}/{rid}/actions/fetch_full_data", params, None)
        except ModuleUnavailableError as exc:
            return self._refused(rid, fields, exc)
        except ZohoApiError as exc:
            if exc.code != GONE:
                return self._refused(rid, fields, exc)
            if self.rich_text_api:
                return None  # the API answers: this record is gone
            # Unknown id, or Zoho refuses these fields here: a single read tells which.
            found = self._single(rid, {"fields": ",".join(fields)})
            return None if found is None else self._refused(rid, fields, exc, found=found)
        self.rich_text_api = True
        return _the_record(body, rid)

    def _refused(
        self,
        rid: str,
        fields: t.Sequence[str],
        exc: ZohoApiError,
        found: dict[str, t.Any] | None = None,
    ) -> dict[str, t.Any] | None:
        """The Rich Text API refused: this module's rich text comes from single reads."""
        if self.rich_text_api:
            raise exc  # it answered before: a real error, not a missing endpoint
        self.rich_text_api = False
        self.rich_text_refusal = f"the Rich Text API answered {exc.code or exc.status or exc}"
        self._logger.info(
            "%s: %s; rich text comes from single-record reads (GET /%s/{id}).",
            self._name,
            self.rich_text_refusal,
            self._name,
        )
        if found is not None:
            return found
        return self._single(rid, {"fields": ",".join(fields)})


def _the_record(body: dict[str, t.Any] | None, rid: str) -> dict[str, t.Any] | None:
    data = (body or {}).get("data") or []
    found = [r for r in data if isinstance(r, dict) and r.get("id") == rid]
    return found[0] if found else None
