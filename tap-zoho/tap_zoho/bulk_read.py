"""First full syncs of large CRM modules through Bulk Read (``shared/zoho-api.md`` 4.4).

Get Records costs ceil(records/200) x ceil(fields/50) credits; one Bulk Read job exports 200,000
records for 50 + a few. So a module's first full sync (no bookmark) goes through Bulk Read when it
holds at least ``crm_bulk_read_min_records`` records:

1. Create a job over the selected fields Bulk Read can export (``id`` first).
2. While Zoho prepares it, read what the export may lack by Get Records: converted Leads and
   records under approval (whether an export holds them is unconfirmed: ``converted=true`` and
   ``approved=false`` list exactly those, so both readings end with every record once), and the
   values of fields Bulk Read cannot export (subforms, multi-select and multi-user lookups, uploads,
   line taxes, multi-reminders), kept by id in a temporary SQLite file, not in memory.
3. Poll with backoff; download within 10 a minute; stream the CSV out of the ZIP (the ZIP is
   spooled to a temporary file); follow ``next_page_token`` past 200,000 records.
4. Bookmark ``bookmark_lag_seconds`` + 1 seconds before the first job's ``created_time`` (a change
   in those seconds may or may not be in the export), with no boundary rows; the incremental Get
   Records pass that follows reads every change made from then on, and skips a record it already
   emitted in the same form.

Modules or fields Bulk Read refuses fall back to Get Records with a log line.
"""

from __future__ import annotations

import contextlib
import csv
import io
import sqlite3
import tempfile
import threading
import time
import typing as t
import zipfile
from collections import deque
from pathlib import Path

import msgspec
import requests
from singer_sdk.exceptions import RetriableAPIError

from .bulk_csv import BadCellError, RowConverter, bulk_shape, exportable
from .datetimes import to_epoch, utc_iso
from .errors import TokenRejectedError, ZohoApiError
from .keyset import ModifiedTimeCursor, PageRequest, PositionCursor
from .progress_log import ProgressLog
from .sdk.bookmarks import BOUNDARY_FINGERPRINTS, BOUNDARY_IDS

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from .crm import CrmModuleStream

BULK_BASE = "/crm/bulk/v8/read"
DEFAULT_MIN_RECORDS = 10_000
FIRST_POLL_WAIT = 0.5
MAX_POLL_WAIT = 30.0
MAX_POLLS = 400
DOWNLOADS_PER_MINUTE = 10
DOWNLOAD_WINDOW_SECONDS = 61.0  # Zoho's minute, plus a second for transit and clock skew
SPOOL_IN_MEMORY_BYTES = 8 << 20
CONVERSION_MODULES = {"Leads", "Contacts"}
MODIFIED_TIME = "Modified_Time"
MAX_FIELDS_PER_CALL = 50
MAX_IDS_PER_CALL = 100
COMPLETION_BATCH = 200  # export rows completed by detail reads at a time


class BulkRefusedError(ZohoApiError):
    """Bulk Read cannot export this module (or its job failed): read it by Get Records."""


class DownloadThrottle:
    """At most ``limit`` downloads in any ``window`` seconds, across every module of the run."""

    def __init__(self, limit: int = DOWNLOADS_PER_MINUTE) -> None:
        """Start with no downloads."""
        self.limit = limit
        self._times: deque[float] = deque()
        self._lock = threading.Lock()

    def acquire(self) -> None:
        """Wait for a free slot, then take it."""
        while True:
            with self._lock:
                now = time.monotonic()
                window = DOWNLOAD_WINDOW_SECONDS
                while self._times and now - self._times[0] >= window:
                    self._times.popleft()
                if len(self._times) < self.limit:
                    self._times.append(now)
                    return
                wait = window - (now - self._times[0])
            time.sleep(max(wait, 0.01))

    def penalise(self) -> None:
        """Zoho said 429: treat the window as full from now on."""
        with self._lock:
            now = time.monotonic()
            self._times = deque([now] * self.limit)


DOWNLOADS = DownloadThrottle()


class BulkBackfill:
    """One module's Bulk Read backfill and the bookkeeping its follow-up pass needs."""

    def __init__(self, stream: CrmModuleStream, context: t.Any) -> None:
        """Nothing is read until :meth:`records` runs."""
        self.stream = stream
        self.context = context
        self.ran = False
        self.fields: dict[str, dict[str, t.Any]] = dict(stream.field_meta)
        self._recent: dict[str, dict[str, t.Any]] = {}
        self._hidden: set[str] = set()
        self._bookmark: int | None = None
        self._first_query: dict[str, t.Any] = {}
        self._exported_rows = 0

    # ------------------------------------------------------------------ decision
    def _min_records(self) -> int:
        value = self.stream.config.get("crm_bulk_read_min_records", DEFAULT_MIN_RECORDS)
        return int(DEFAULT_MIN_RECORDS if value is None else value)

    def _wanted(self) -> bool:
        stream = self.stream
        minimum = self._min_records()
        if minimum <= 0:
            return False
        if stream.has_modified_time:
            saved = stream.get_context_state(self.context).get("replication_key_value")
            if saved:
                return False
        try:
            body = stream.get_json(f"{stream.path}/actions/count", None, None, self.context)
        except ZohoApiError as exc:
            stream.logger.info("%s: no record count (%s); using Get Records.", self._name, exc)
            return False
        count = (body or {}).get("count")
        if not isinstance(count, int) or count < minimum:
            return False
        stream.logger.info(
            "%s: %s records, at least crm_bulk_read_min_records=%s: backfilling by Bulk Read.",
            self._name,
            f"{count:,}",
            f"{minimum:,}",
        )
        return True

    @property
    def _name(self) -> str:
        return self.stream.module_name

    # ------------------------------------------------------------------ records
    def records(self) -> Iterator[dict[str, t.Any]]:
        """The backfill's records; nothing when the module is read by Get Records instead."""
        if not self._wanted():
            return
        stream = self.stream
        selected = [name for group in stream._field_groups() for name in group]  # noqa: SLF001
        columns = [n for n in selected if n in self.fields and exportable(self.fields[n])]
        missing = [n for n in selected if n in self.fields and not exportable(self.fields[n])]
        query: dict[str, t.Any] = {
            "module": {"api_name": self._name},
            "fields": ["id", *columns],
            "page": 1,
        }
        start = stream.config.get("start_date")
        if start and stream.has_modified_time:
            query["criteria"] = {
                "field": {"api_name": MODIFIED_TIME},
                "comparator": "greater_equal",
                "value": utc_iso(to_epoch(start)).replace("+00:00", "Z"),
            }
        try:
            job = self._create({"query": query, "file_type": "csv"})
        except ZohoApiError as exc:
            stream.logger.warning(
                "%s: Bulk Read refused the export (%s); reading it through Get Records.",
                self._name,
                exc,
            )
            return
        self.ran = True
        stream._bookmark_paused = True  # noqa: SLF001 - export rows are not in Modified_Time order
        try:
            # Changes up to bookmark_lag_seconds before the job may be missing from the export.
            self._bookmark = to_epoch(job["created_time"]) - 1 - stream.lag_seconds
            yield from self._hidden_records()
            with _FillStore() as fill:
                for chunk_start in range(0, len(missing), MAX_FIELDS_PER_CALL - 1):
                    fill.add(
                        self._fill_values(
                            missing[chunk_start : chunk_start + MAX_FIELDS_PER_CALL - 1]
                        )
                    )
                try:
                    yield from self._exported(job["id"], fill, missing)
                except BulkRefusedError as exc:
                    if self._exported_rows:
                        raise
                    stream.logger.warning(
                        "%s: %s; reading it through Get Records.", self._name, exc
                    )
                    self.ran = False
                    return
        finally:
            stream._bookmark_paused = False  # noqa: SLF001
        self._save_bookmark()

    def _exported(
        self, job_id: str, fill: _FillStore, missing: list[str]
    ) -> Iterator[dict[str, t.Any]]:
        progress = ProgressLog(
            self.stream.logger,
            f"{self._name} (Bulk Read)",
            None,
            float(self.stream.config.get("progress_interval_seconds", 30)),
        )
        while True:
            result = self._wait(job_id)
            batch: list[dict[str, t.Any]] = []
            for record in self._download(job_id, result):
                if record["id"] in self._hidden:
                    continue
                values = fill.get(record["id"])
                for name in missing:
                    record[name] = values.get(name) if values else None
                self._note(record)
                self._exported_rows += 1
                progress.add(1)
                batch.append(record)
                if len(batch) >= COMPLETION_BATCH:
                    yield from self._completed(batch)
                    batch = []
            yield from self._completed(batch)
            if not result.get("more_records"):
                break
            token = result.get("next_page_token")
            if token:
                next_query: dict[str, t.Any] = {"page_token": token}
            else:
                next_query = {**self._first_query, "page": int(result.get("page") or 1) + 1}
            job_id = self._create({"query": next_query, "file_type": "csv"})["id"]
        progress.done()

    def _note(self, record: dict[str, t.Any]) -> None:
        """Remember what the follow-up pass must not emit again."""
        if not self.stream.has_modified_time or self._bookmark is None:
            return
        modified = record.get(MODIFIED_TIME)
        if not modified:
            return
        if to_epoch(modified) >= self._bookmark:
            self._recent[record["id"]] = bulk_shape(record, self.fields)

    def _save_bookmark(self) -> None:
        stream = self.stream
        if not stream.has_modified_time or self._bookmark is None:
            return
        state = stream.get_context_state(self.context)
        state["replication_key"] = MODIFIED_TIME
        state["replication_key_value"] = utc_iso(self._bookmark)
        # The follow-up pass re-reads the bookmark second whole and skips rows in export form.
        state[BOUNDARY_FINGERPRINTS] = {}
        state.pop(BOUNDARY_IDS, None)

    def follow_up(self, records: Iterator[dict[str, t.Any]]) -> Iterator[dict[str, t.Any]]:
        """The incremental pass after a backfill: records not already emitted in this form."""
        if not self.ran:
            yield from records
            return
        if not self.stream.has_modified_time:
            return  # a module without Modified_Time is read whole each run: the export was it
        for record in records:
            seen = self._recent.pop(record["id"], None)
            if seen is not None and seen == bulk_shape(record, self.fields):
                self.stream.count_as_emitted(record, self.context)  # the export emitted it
                continue
            yield record

    # ------------------------------------------------------------------ Get Records side passes
    def _hidden_records(self) -> Iterator[dict[str, t.Any]]:
        """Converted and unapproved records, which an export may leave out (4.4, unconfirmed)."""
        passes: list[dict[str, str]] = []
        if self._name in CONVERSION_MODULES:
            passes.append({"converted": "true", "approved": "both"})
            passes.append({"converted": "both", "approved": "false"})
        else:
            passes.append({"approved": "false"})
        for extra in passes:
            try:
                batch: list[dict[str, t.Any]] = []
                for record in self._listed(extra):
                    if record["id"] in self._hidden:
                        continue
                    self._hidden.add(record["id"])
                    self._note(record)
                    batch.append(record)
                yield from self._completed(batch)
            except ZohoApiError as exc:
                self.stream.logger.info(
                    "%s: Zoho does not list %s records (%s).", self._name, extra, exc
                )

    def _completed(self, batch: list[dict[str, t.Any]]) -> Iterator[dict[str, t.Any]]:
        """The batch with what lists and exports leave out filled in, cleaned, in order.

        Subforms, multi-select and multi-user lookups, line items and long rich text come only
        from single-record reads (3.2); the stream's detail reads complete export rows exactly
        as they complete Get Records pages (same plan, same per-run budget).
        """
        stream = self.stream
        if batch and stream._detail_plan:  # noqa: SLF001
            stream._complete(batch, self.context)  # noqa: SLF001
        for record in batch:
            yield stream._clean(record)  # noqa: SLF001

    def _listed(self, extra: dict[str, str]) -> Iterator[dict[str, t.Any]]:
        """Every record matching ``extra``, by id order, all selected field groups merged."""
        stream = self.stream
        groups = stream._field_groups()  # noqa: SLF001
        page, token = 1, None
        while True:
            params: dict[str, t.Any] = {
                "fields": ",".join(groups[0] or ["id"]),
                "per_page": 200,
                "sort_by": "id",
                "sort_order": "asc",
                **extra,
            }
            if token:
                params["page_token"] = token
            elif page > 1:
                params["page"] = page
            body = stream.get_json(stream.path, params, self._since_header(), self.context)
            rows = list((body or {}).get("data") or [])
            info = (body or {}).get("info") or {}
            if rows and len(groups) > 1:
                rows = self._merge(rows, groups[1:], extra)
            yield from rows
            if not rows or not info.get("more_records"):
                return
            page += 1
            token = info.get("next_page_token") or None

    def _merge(
        self, rows: list[dict[str, t.Any]], groups: list[list[str]], extra: dict[str, str]
    ) -> list[dict[str, t.Any]]:
        merged = {row["id"]: row for row in rows}
        ids = list(merged)
        for fields in groups:
            for start in range(0, len(ids), MAX_IDS_PER_CALL):
                params = {
                    "fields": ",".join(fields),
                    "ids": ",".join(ids[start : start + MAX_IDS_PER_CALL]),
                    **extra,
                }
                body = self.stream.get_json(self.stream.path, params, None, self.context) or {}
                for row in body.get("data") or []:
                    if row.get("id") in merged:
                        merged[row["id"]].update(row)
        return [row for row in merged.values() if all(f in row for g in groups for f in g)]

    def _since_header(self) -> dict[str, str] | None:
        start = self.stream.config.get("start_date")
        if start and self.stream.has_modified_time:
            return {"If-Modified-Since": utc_iso(to_epoch(start) - 1)}
        return None

    def _fill_values(self, names: list[str]) -> Iterator[tuple[str, dict[str, t.Any]]]:
        """``(id, values)`` of fields Bulk Read cannot export, read by Get Records."""
        stream = self.stream
        cursor: ModifiedTimeCursor | PositionCursor
        if stream.has_modified_time:
            start = stream.config.get("start_date")
            cursor = ModifiedTimeCursor(
                to_epoch(start) if start else None,
                per_page=stream._per_page,  # noqa: SLF001
            )
            fields = [MODIFIED_TIME, *names]
        else:
            cursor = PositionCursor()
            fields = names
        while not cursor.finished:
            request: PageRequest = cursor.next_request()
            rows, info = stream._page(fields, request, self.context)  # noqa: SLF001
            more, token = bool(info.get("more_records")), info.get("next_page_token")
            if isinstance(cursor, ModifiedTimeCursor):
                cursor.accept(
                    [(r["id"], to_epoch(r[MODIFIED_TIME])) for r in rows],
                    more=more,
                    next_token=token,
                )
            else:
                cursor.accept([r["id"] for r in rows], more=more, next_token=token)
            for row in rows:
                yield row["id"], {name: row.get(name) for name in names}

    # ------------------------------------------------------------------ Bulk Read calls
    def _create(self, body: dict[str, t.Any]) -> dict[str, t.Any]:
        """Create a job; its ``details`` (id, created_time)."""
        if "module" in body["query"]:
            self._first_query = body["query"]
        answer = self._call("POST", BULK_BASE, body)
        try:
            details: dict[str, t.Any] = answer["data"][0]["details"]
            _ = details["id"], details["created_time"]
        except (KeyError, IndexError, TypeError):
            msg = f"{self._name}: unexpected Bulk Read job answer"
            raise BulkRefusedError(msg) from None
        return details

    def _wait(self, job_id: str) -> dict[str, t.Any]:
        """Poll until the job completes; its ``result``."""
        wait = FIRST_POLL_WAIT
        for _ in range(MAX_POLLS):
            answer = self._call("GET", f"{BULK_BASE}/{job_id}")
            details = ((answer or {}).get("data") or [{}])[0]
            state = str(details.get("state") or "")
            result = details.get("result")
            if state == "COMPLETED" and isinstance(result, dict):
                return result
            if state in {"FAILURE", "FAILED"}:
                msg = f"Bulk Read job {job_id} ended in {state}"
                raise BulkRefusedError(msg, code=state)
            time.sleep(wait)
            wait = min(wait * 2, MAX_POLL_WAIT)
        msg = f"{self._name}: Bulk Read job {job_id} did not complete"
        raise ZohoApiError(msg)

    def _call(self, method: str, path: str, body: t.Any = None) -> dict[str, t.Any]:
        stream = self.stream
        prepared = stream.build_prepared_request(
            method=method,
            url=f"{stream.url_base}{path}",
            json=body,
            headers=dict(stream.http_headers),
        )
        response = stream.send(prepared, self.context)
        try:
            answer = msgspec.json.decode(response.content) if response.content else {}
        except msgspec.DecodeError:
            msg = f"{method} {path}: the answer is not JSON"
            raise ZohoApiError(msg) from None
        return answer if isinstance(answer, dict) else {}

    def _download(self, job_id: str, result: dict[str, t.Any]) -> Iterator[dict[str, t.Any]]:
        """The records of one completed job, streamed out of its ZIP."""
        path = str(result.get("download_url") or f"{BULK_BASE}/{job_id}/result")
        url = path if path.startswith("http") else f"{self.stream.url_base}{path}"
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES) as spool:
            self._fetch_zip(url, spool)
            spool.seek(0)
            try:
                archive = zipfile.ZipFile(spool)
            except zipfile.BadZipFile:
                msg = f"{self._name}: Bulk Read result of job {job_id} is not a ZIP"
                raise ZohoApiError(msg) from None
            with archive:
                names = [n for n in archive.namelist() if n.lower().endswith(".csv")]
                member = f"{job_id}.csv" if f"{job_id}.csv" in names else (names or [""])[0]
                if not member:
                    msg = f"{self._name}: Bulk Read ZIP of job {job_id} holds no CSV"
                    raise ZohoApiError(msg)
                with archive.open(member) as raw:
                    text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
                    reader = csv.reader(text, delimiter=",", quotechar='"', strict=True)
                    header = next(reader, None)
                    if header is None:
                        return
                    converter = RowConverter(header, self.fields, self.stream.name)
                    for row in reader:
                        if row:
                            yield converter.record(row)

    def _fetch_zip(self, url: str, spool: t.IO[bytes]) -> None:
        """Download to ``spool``: 10 a minute, a 429 waits a minute, a rejected token renews."""
        stream = self.stream
        retries = int(stream.config.get("max_retries", 8))
        renewed = False
        for attempt in range(retries + 1):
            DOWNLOADS.acquire()
            prepared = stream.build_prepared_request(
                method="GET", url=url, headers=dict(stream.http_headers)
            )
            try:
                response = stream.requests_session.send(
                    prepared, stream=True, timeout=stream.timeout
                )
            except requests.RequestException:
                if attempt == retries:
                    raise
                _pause(stream, attempt)
                continue
            with contextlib.closing(response):
                if response.status_code < requests.codes.bad_request:
                    spool.seek(0)
                    spool.truncate()
                    for chunk in response.iter_content(1 << 20):
                        spool.write(chunk)
                    return
                renewed = self._failed_download(response, attempt, retries, renewed=renewed)
        msg = f"{self._name}: Bulk Read download failed after {retries + 1} tries"
        raise ZohoApiError(msg)

    def _failed_download(
        self, response: requests.Response, attempt: int, retries: int, *, renewed: bool
    ) -> bool:
        """Decide about a failed download: wait and retry, renew the token once, or raise."""
        stream = self.stream
        _ = response.content
        if response.status_code == requests.codes.too_many_requests:
            DOWNLOADS.penalise()
            stream.logger.info("%s: Zoho throttled the download; waiting.", self._name)
            return renewed
        try:
            stream.validate_response(response)
        except TokenRejectedError as exc:
            if renewed or not stream.authenticator.token_rejected(exc.used_token):
                raise stream.token_failure(exc.code) from None
            return True
        except RetriableAPIError:
            if attempt == retries:
                raise
            _pause(stream, attempt)
        return renewed


def _pause(stream: CrmModuleStream, attempt: int) -> None:
    factor = float(stream.config.get("retry_backoff_seconds", 2.0))
    time.sleep(min(factor * 2.0**attempt, 60.0))


class _FillStore:
    """Values of non-exportable fields by record id, on disk (memory stays flat)."""

    def __enter__(self) -> t.Self:
        self._dir = tempfile.TemporaryDirectory(prefix="tap-zoho-bulk-")
        self._db = sqlite3.connect(str(Path(self._dir.name) / "fill.db"))
        self._db.execute("CREATE TABLE fill (id TEXT PRIMARY KEY, body BLOB)")
        self._used = False
        return self

    def __exit__(self, *exc: object) -> None:
        self._db.close()
        self._dir.cleanup()

    def add(self, rows: Iterator[tuple[str, dict[str, t.Any]]]) -> None:
        """Store (or merge into) the values of each id."""
        for rid, values in rows:
            self._used = True
            old = self.get(rid) or {}
            self._db.execute(
                "INSERT OR REPLACE INTO fill (id, body) VALUES (?, ?)",
                (rid, msgspec.json.encode({**old, **values})),
            )
        self._db.commit()

    def get(self, rid: str) -> dict[str, t.Any] | None:
        """The stored values of ``rid``."""
        if not self._used:
            return None
        row = self._db.execute("SELECT body FROM fill WHERE id = ?", (rid,)).fetchone()
        return msgspec.json.decode(row[0]) if row else None


__all__ = ["BadCellError", "BulkBackfill", "BulkRefusedError", "DownloadThrottle"]
