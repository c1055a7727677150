"""Bulk Read jobs of any CRM module: create, poll, download, follow pages (``zoho-api.md`` 4.4).

Used by a module's own backfill (:mod:`tap_zoho.crm.backfill`) and by the exports of its subform
and linking modules (:mod:`tap_zoho.crm.completion`). Polls back off from 0.5 s to 30 s;
downloads are throttled to 10 a minute across every module of the run (a 429 waits for the
window); each ZIP is spooled to a temporary file and its CSV streamed out; a job past 200,000 rows
continues with the next page's ``page_token`` (or ``page + 1``).
"""

from __future__ import annotations

import contextlib
import csv
import io
import tempfile
import threading
import time
import typing as t
import zipfile
from collections import deque

import msgspec
import requests
from singer_sdk.exceptions import RetriableAPIError

from tap_zoho.errors import BulkRefusedError, TokenRejectedError, ZohoApiError

from .csv_rows import RowConverter

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from tap_zoho.api.client import ZohoClient

BULK_BASE = "/crm/bulk/v8/read"
FIRST_POLL_WAIT = 0.5
MAX_POLL_WAIT = 30.0
MAX_POLLS = 400
DOWNLOADS_PER_MINUTE = 10
DOWNLOAD_WINDOW_SECONDS = 61.0  # Zoho's minute, plus a second for transit and clock skew
SPOOL_IN_MEMORY_BYTES = 8 << 20


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


class BulkJobs:
    """Bulk Read calls for one module read, through its client's request path."""

    def __init__(self, client: ZohoClient, context: t.Any, label: str) -> None:
        """``label`` names the module in messages."""
        self.client = client
        self.context = context
        self.label = label

    def create(self, query: dict[str, t.Any]) -> dict[str, t.Any]:
        """Create a CSV job for ``query``; its ``details`` (id, created_time)."""
        answer = self._call("POST", BULK_BASE, {"query": query, "file_type": "csv"})
        try:
            details: dict[str, t.Any] = answer["data"][0]["details"]
            _ = details["id"], details["created_time"]
        except (KeyError, IndexError, TypeError):
            msg = f"{self.label}: unexpected Bulk Read job answer"
            raise BulkRefusedError(msg) from None
        return details

    def records(
        self, job: dict[str, t.Any], first_query: dict[str, t.Any], fields: dict[str, t.Any]
    ) -> Iterator[dict[str, t.Any]]:
        """Every exported record of a job and of the jobs that continue it, typed by ``fields``."""
        job_id = str(job["id"])
        while True:
            result = self.wait(job_id)
            yield from self.download(job_id, result, fields)
            if not result.get("more_records"):
                return
            token = result.get("next_page_token")
            if token:
                query: dict[str, t.Any] = {"page_token": token}
            else:
                query = {**first_query, "page": int(result.get("page") or 1) + 1}
            job_id = str(self.create(query)["id"])

    def wait(self, job_id: str) -> dict[str, t.Any]:
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
        msg = f"{self.label}: Bulk Read job {job_id} did not complete"
        raise ZohoApiError(msg)

    def _call(self, method: str, path: str, body: t.Any = None) -> dict[str, t.Any]:
        client = self.client
        prepared = client.build_prepared_request(
            method=method,
            url=f"{client.url_base}{path}",
            json=body,
            headers=dict(client.http_headers),
        )
        response = client.send(prepared, self.context)
        try:
            answer = msgspec.json.decode(response.content) if response.content else {}
        except msgspec.DecodeError:
            msg = f"{method} {path}: the answer is not JSON"
            raise ZohoApiError(msg) from None
        return answer if isinstance(answer, dict) else {}

    def download(
        self, job_id: str, result: dict[str, t.Any], fields: dict[str, t.Any]
    ) -> Iterator[dict[str, t.Any]]:
        """The records of one completed job, streamed out of its ZIP."""
        path = str(result.get("download_url") or f"{BULK_BASE}/{job_id}/result")
        url = path if path.startswith("http") else f"{self.client.url_base}{path}"
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES) as spool:
            self._fetch_zip(url, spool)
            spool.seek(0)
            try:
                archive = zipfile.ZipFile(spool)
            except zipfile.BadZipFile:
                msg = f"{self.label}: Bulk Read result of job {job_id} is not a ZIP"
                raise ZohoApiError(msg) from None
            with archive:
                names = [n for n in archive.namelist() if n.lower().endswith(".csv")]
                member = f"{job_id}.csv" if f"{job_id}.csv" in names else (names or [""])[0]
                if not member:
                    msg = f"{self.label}: Bulk Read ZIP of job {job_id} holds no CSV"
                    raise ZohoApiError(msg)
                with archive.open(member) as raw:
                    # surrogateescape: a value cut inside a character is repaired by the
                    # converter (and warned of), not a decode error ending the module
                    text = io.TextIOWrapper(
                        raw, encoding="utf-8-sig", errors="surrogateescape", newline=""
                    )
                    reader = csv.reader(text, delimiter=",", quotechar='"', strict=True)
                    header = next(reader, None)
                    if header is None:
                        return
                    converter = RowConverter(header, fields, self.label, self.client.repaired)
                    for row in reader:
                        if row:
                            yield converter.record(row)

    def _fetch_zip(self, url: str, spool: t.IO[bytes]) -> None:
        """Download to ``spool``: 10 a minute, a 429 waits a minute, a rejected token renews."""
        client = self.client
        retries = client.settings.max_retries
        renewed = False
        for attempt in range(retries + 1):
            DOWNLOADS.acquire()
            prepared = client.build_prepared_request(
                method="GET", url=url, headers=dict(client.http_headers)
            )
            try:
                response = client.send_unread(prepared, stream=True)
            except requests.RequestException:
                if attempt == retries:
                    raise
                self._pause(attempt)
                continue
            with contextlib.closing(response):
                if response.status_code < requests.codes.bad_request:
                    spool.seek(0)
                    spool.truncate()
                    for chunk in response.iter_content(1 << 20):
                        spool.write(chunk)
                    return
                renewed = self._failed_download(response, attempt, retries, renewed=renewed)
        msg = f"{self.label}: Bulk Read download failed after {retries + 1} tries"
        raise ZohoApiError(msg)

    def _failed_download(
        self, response: requests.Response, attempt: int, retries: int, *, renewed: bool
    ) -> bool:
        """Decide about a failed download: wait and retry, renew the token once, or raise."""
        client = self.client
        _ = response.content
        if response.status_code == requests.codes.too_many_requests:
            DOWNLOADS.penalise()
            client.logger.info("%s: Zoho throttled the download; waiting.", self.label)
            return renewed
        try:
            client.validate_response(response)
        except TokenRejectedError as exc:
            if renewed or not client.authenticator.token_rejected(exc.used_token):
                raise client.token_failure(exc.code) from None
            return True
        except RetriableAPIError:
            if attempt == retries:
                raise
            self._pause(attempt)
        return renewed

    def _pause(self, attempt: int) -> None:
        factor = self.client.settings.backoff_seconds
        time.sleep(min(factor * 2.0**attempt, 60.0))
