"""CRM Bulk Read v8 (``shared/zoho-api.md`` 4.4): jobs, their states, paged ZIP-of-CSV results.

Strict where the contract is unconfirmed: the module must be ``{"api_name": ...}``; the types Bulk
Read cannot export are refused by name (400 ``FIELD_NOT_SUPPORTED``); the id column is headed
``Id``; lookups are bare ids, booleans lowercase, multi-selects and Tags ``,``-joined, decimals
padded to their ``decimal_place``; rows in id order, unrelated to ``Modified_Time``. The export is
the matching records at job creation; a job for ``page_token`` takes its own snapshot, and its
position counts over the records matching then (a deletion between two jobs shifts rows). Only 10
downloads a minute are served, the 11th gets 429. Create, poll and download cost 50, 1 and 1
credits.
"""

from __future__ import annotations

import csv
import io
import json
import secrets
import threading
import time
import zipfile
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .crm_api import ApiError
from .store import CrmStore, FieldMeta, Module, epoch_of
from .text_cut import csv_bytes, cut_rich_text

BASE = "/crm/bulk/v8/read"
CREATE_COST, POLL_COST, DOWNLOAD_COST = 50, 1, 1
MAX_CRITERIA = 25
MAX_PAGE = 50
MAX_FIELDS = 1000
COMPARATORS = {
    "equal",
    "not_equal",
    "in",
    "not_in",
    "contains",
    "not_contains",
    "starts_with",
    "ends_with",
    "greater_than",
    "greater_equal",
    "less_than",
    "less_equal",
    "between",
    "not_between",
}
NOT_EXPORTABLE = {
    "subform",
    "multiselectlookup",
    "multiuserlookup",
    "imageupload",
    "linetax",
    "multireminder",
    # Not in the contract's list, but its CSV form is unknown and estuary leaves it out.
    "fileupload",
}
ID_ONLY = {"lookup", "ownerlookup", "userlookup", "multi_module_lookup", "consent_lookup"}
PADDED = {"double", "currency", "decimal", "percent"}
REFUSED_MODULES = {"Notes", "Attachments", "Emails"}
CREATED_BY = {"id": "5843104000000231001", "name": "Ana Silva"}


@dataclass
class BulkOptions:
    """The ``--bulk-*`` knobs."""

    delay_seconds: float = 2.0
    page_size: int = 200_000
    hide_converted: bool = False
    downloads_per_window: int = 10
    download_window_seconds: float = 60.0
    # Readings of what 3.3 leaves unconfirmed about exports of subform and linking modules:
    dotted_lookups: bool = False  # their lookup columns headed ``Parent_Id.id``, not ``Parent_Id``
    rich_text_chars: int | None = None  # exports cut rich text to this many characters


@dataclass
class Job:
    """One export job and its frozen result."""

    job_id: str
    module: Module
    fields: list[str] | None
    criteria: dict[str, Any] | None
    page: int
    created_epoch: int
    started: float
    offset: int
    result_ids: list[str]
    more: bool
    zip_bytes: bytes = b""
    next_token: str | None = None
    failed: bool = False


@dataclass
class BulkRead:
    """Bulk Read jobs over a :class:`CrmStore`."""

    store: CrmStore
    options: BulkOptions = field(default_factory=BulkOptions)
    refused: set[str] = field(default_factory=lambda: set(REFUSED_MODULES))
    jobs: dict[str, Job] = field(default_factory=dict)
    tokens: dict[str, tuple[str, int]] = field(default_factory=dict)
    downloads: deque[float] = field(default_factory=deque)
    fail_next: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    reachable: Callable[[Module], bool] = lambda module: True  # set by the server

    @staticmethod
    def handles(path: str) -> bool:
        """True for Bulk Read paths."""
        return path.rstrip("/") == BASE or path.startswith(f"{BASE}/")

    def serve(self, method: str, path: str, body: bytes) -> tuple[str, int, Any, dict, int]:
        """Answer one call: (kind, status, body, headers, credits)."""
        rest = path.rstrip("/").removeprefix(BASE).strip("/")
        parts = rest.split("/") if rest else []
        if method == "POST" and not parts:
            return "crm_bulk_create", 201, self.create(body), {}, CREATE_COST
        if method == "GET" and len(parts) == 1:
            return "crm_bulk_poll", 200, self.poll(parts[0]), {}, POLL_COST
        if method == "GET" and len(parts) == 2 and parts[1] == "result":
            payload, headers = self.download(parts[0])
            return "crm_bulk_download", 200, payload, headers, DOWNLOAD_COST
        raise ApiError(
            404, "INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one"
        )

    # ------------------------------------------------------------ create
    def create(self, raw: bytes) -> dict[str, Any]:
        """``POST /crm/bulk/v8/read``."""
        if not raw.strip():
            raise ApiError(400, "REQUEST_BODY_IS_EMPTY", "the request body is empty")
        try:
            body = json.loads(raw)
        except ValueError:
            raise ApiError(
                400, "REQUEST_BODY_NOT_SUPPORTED", "the request body is not valid JSON"
            ) from None
        if not isinstance(body, dict) or not isinstance(body.get("query"), dict):
            raise _invalid("query", "query must be an object")
        self._check_callback(body.get("callback"))
        file_type = body.get("file_type", "csv")
        if file_type not in {"csv", "ics"}:
            raise _invalid("file_type", "file_type must be csv or ics")
        query = body["query"]
        if "page_token" in query:
            module, fields, criteria, offset = self._from_token(query)
            page = offset // self.options.page_size + 1
        else:
            module = self._module(query.get("module"))
            fields = self._fields(module, query.get("fields"))
            criteria = query.get("criteria")
            if criteria is not None:
                self._check_criteria(module, criteria, [0])
            page = query.get("page", 1)
            if not isinstance(page, int) or isinstance(page, bool) or page < 1:
                raise _invalid("page", "page must be a positive integer")
            if page > MAX_PAGE:
                raise ApiError(
                    400, "PAGE_RANGE_EXCEEDED", "page range exceeded", {"max_limit": MAX_PAGE}
                )
            offset = (page - 1) * self.options.page_size
        if file_type == "ics" and module.api_name != "Events":
            raise _invalid("file_type", "ics is only for Events")
        with self.store.lock:
            matching = self._matching(module, criteria)
            chunk = matching[offset : offset + self.options.page_size]
            job = Job(
                job_id=self.store.new_id(),
                module=module,
                fields=fields,
                criteria=criteria,
                page=page,
                created_epoch=self.store.clock.now(),
                started=time.monotonic(),
                offset=offset,
                result_ids=chunk,
                more=offset + self.options.page_size < len(matching),
            )
            job.zip_bytes = self._render(job)
        if job.more:
            token = secrets.token_hex(48)
            self.tokens[token] = (job.job_id, offset + self.options.page_size)
            job.next_token = token
        if self.fail_next > 0:
            self.fail_next -= 1
            job.failed = True
        with self.lock:
            self.jobs[job.job_id] = job
        return {
            "data": [
                {
                    "status": "success",
                    "code": "ADDED_SUCCESSFULLY",
                    "message": "Added successfully.",
                    "details": {
                        "id": job.job_id,
                        "operation": "read",
                        "state": "ADDED",
                        "created_by": CREATED_BY,
                        "created_time": self.store.dt(job.created_epoch),
                    },
                }
            ],
            "info": {},
        }

    @staticmethod
    def _check_callback(callback: Any) -> None:
        if callback is None:
            return
        url = callback.get("url") if isinstance(callback, dict) else None
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ApiError(400, "INVALID_CALLBACK_URL", "invalid callback url")
        if callback.get("method") != "post":
            raise ApiError(400, "INVALID_CALLBACK_METHOD", "invalid callback method")

    def _module(self, spec: Any) -> Module:
        if not isinstance(spec, dict) or not isinstance(spec.get("api_name"), str):
            raise _invalid("module", 'module must be {"api_name": ...}')
        name = spec["api_name"]
        module = self.store.modules.get(name)
        if module is None or not self.reachable(module):
            raise ApiError(
                400, "INVALID_MODULE", "the module name given seems to be invalid", {"module": name}
            )
        if not module.permitted:
            raise ApiError(403, "NO_PERMISSION", "permission denied", {"module": name})
        # A subform or linking module is exported as its own module (Kaizen #124, #195; 3.3).
        if name in self.refused or not module.api_supported:
            raise ApiError(
                400,
                "MODULE_NOT_SUPPORTED",
                "the module is not supported for bulk read",
                {"module": name},
            )
        return module

    @staticmethod
    def _fields(module: Module, names: Any) -> list[str] | None:
        if names is None:
            return None
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise _invalid("fields", "fields must be a list of API names")
        if len(names) > MAX_FIELDS:
            raise ApiError(
                400,
                "LIMIT_EXCEEDED",
                "too many fields",
                {"limit": MAX_FIELDS, "api_name": "fields"},
            )
        metas = {f.api_name: f for f in module.fields}
        for name in names:
            if name == "id":
                continue
            base, _, sub = name.partition(".")
            meta = metas.get(base)
            if meta is None or (sub and meta.data_type not in ID_ONLY):
                raise _invalid(name, f"invalid field {name}")
            if meta.data_type in NOT_EXPORTABLE:
                raise ApiError(
                    400,
                    "FIELD_NOT_SUPPORTED",
                    "the field is not supported for bulk read",
                    {"api_name": name},
                )
        return list(names)

    def _check_criteria(self, module: Module, node: Any, count: list[int]) -> None:
        if not isinstance(node, dict):
            raise ApiError(400, "INVALID_CRITERIA", "invalid criteria")
        if "group" in node:
            if node.get("group_operator") not in {"and", "or"}:
                raise ApiError(400, "GROUP_OPERATOR_NOT_SUPPORTED", "group operator not supported")
            if not isinstance(node["group"], list) or not node["group"]:
                raise ApiError(400, "INVALID_CRITERIA", "invalid criteria")
            for child in node["group"]:
                self._check_criteria(module, child, count)
            return
        count[0] += 1
        if count[0] > MAX_CRITERIA:
            raise ApiError(
                400, "CRITERIA_LIMIT_EXCEEDED", "too many conditions", {"limit": MAX_CRITERIA}
            )
        name = _criterion_field(node)
        if name is None or (name != "id" and not module.has_field(name)):
            raise ApiError(400, "INVALID_CRITERIA", "invalid criteria field")
        if node.get("comparator") not in COMPARATORS:
            raise ApiError(
                400,
                "FIELD_COMPARATOR_IN_CRITERIA_NOT_SUPPORTED",
                "comparator not supported",
                {"supported": sorted(COMPARATORS)},
            )
        if "value" not in node:
            raise ApiError(400, "INVALID_CRITERIA", "criteria value missing")

    def _from_token(self, query: dict[str, Any]) -> tuple[Module, list[str] | None, Any, int]:
        entry = self.tokens.get(str(query["page_token"]))
        if entry is None:
            raise _invalid("page_token", "invalid page_token")
        job = self.jobs[entry[0]]
        module = query.get("module")
        if module is not None and (
            not isinstance(module, dict) or module.get("api_name") != job.module.api_name
        ):
            raise _invalid("module", "module does not match the page_token")
        return job.module, job.fields, job.criteria, entry[1]

    def _matching(self, module: Module, criteria: Any) -> list[str]:
        ids = sorted(module.records, key=int)
        if self.options.hide_converted:
            # The other reading: the export holds only what Get Records shows by default.
            ids = [rid for rid in ids if module.listed(rid, converted="false", approved="true")]
        if criteria is not None:
            ids = [rid for rid in ids if _matches(module, module.records[rid], criteria)]
        return ids

    # ------------------------------------------------------------ CSV
    def _render(self, job: Job) -> bytes:
        module = job.module
        metas = {f.api_name: f for f in module.fields}
        if job.fields is None:
            columns = ["id"] + [
                f.api_name for f in module.fields if f.data_type not in NOT_EXPORTABLE
            ]
        else:
            columns = job.fields
        text = io.StringIO()
        writer = csv.writer(text, delimiter=",", quotechar='"', lineterminator="\r\n")
        writer.writerow([self._header(module, metas.get(c), c) for c in columns])
        cut = self.options.rich_text_chars
        rich = {f.api_name for f in module.fields if _is_rich_text(f)} if cut else set()
        for rid in job.result_ids:
            record = module.records[rid]
            cells = [_cell(metas.get(c.partition(".")[0]), c, record) for c in columns]
            if rich:
                cells = [
                    cut_rich_text(v, cut) if c in rich else v
                    for c, v in zip(columns, cells, strict=True)
                ]
            writer.writerow(cells)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(f"{job.job_id}.csv", csv_bytes(text.getvalue()))
        return buffer.getvalue()

    def _header(self, module: Module, meta: FieldMeta | None, column: str) -> str:
        """``Id``; a subform or linking module's lookup as ``X.id`` in the dotted reading."""
        if column == "id":
            return "Id"
        dotted = self.options.dotted_lookups and module.parent is not None
        if dotted and meta is not None and meta.data_type in ID_ONLY and "." not in column:
            return f"{column}.id"
        return column

    # ------------------------------------------------------------ poll / download
    def _job(self, job_id: str) -> Job:
        with self.lock:
            job = self.jobs.get(job_id)
        if job is None:
            raise ApiError(
                404, "RESOURCE_NOT_FOUND", "the job does not exist", {"resource": job_id}
            )
        return job

    def state(self, job: Job) -> str:
        """``ADDED`` -> ``QUEUED`` -> ``IN PROGRESS`` -> ``COMPLETED`` (or ``FAILURE``)."""
        elapsed = time.monotonic() - job.started
        delay = self.options.delay_seconds
        if elapsed >= delay:
            return "FAILURE" if job.failed else "COMPLETED"
        if elapsed < delay / 4:
            return "ADDED"
        return "QUEUED" if elapsed < delay / 2 else "IN PROGRESS"

    def poll(self, job_id: str) -> dict[str, Any]:
        """``GET /crm/bulk/v8/read/{id}``."""
        job = self._job(job_id)
        state = self.state(job)
        query: dict[str, Any] = {
            "module": {"api_name": job.module.api_name, "id": job.module.module_id},
            "page": job.page,
        }
        if job.fields is not None:
            query["fields"] = job.fields
        if job.criteria is not None:
            query["criteria"] = job.criteria
        details: dict[str, Any] = {
            "id": job.job_id,
            "operation": "read",
            "state": state,
            "query": query,
            "created_by": CREATED_BY,
            "created_time": self.store.dt(job.created_epoch),
            "file_type": "csv",
        }
        if state == "COMPLETED":
            result: dict[str, Any] = {
                "page": job.page,
                "per_page": self.options.page_size,
                "count": len(job.result_ids),
                "download_url": f"{BASE}/{job.job_id}/result",
                "more_records": job.more,
            }
            if job.next_token:
                result["next_page_token"] = job.next_token
            details["result"] = result
        return {"data": [details]}

    def download(self, job_id: str) -> tuple[bytes, dict[str, str]]:
        """``GET /crm/bulk/v8/read/{id}/result``: the ZIP, at most 10 a minute."""
        now = time.monotonic()
        with self.lock:
            while (
                self.downloads and now - self.downloads[0] >= self.options.download_window_seconds
            ):
                self.downloads.popleft()
            if len(self.downloads) >= self.options.downloads_per_window:
                raise ApiError(
                    429,
                    "TOO_MANY_REQUESTS",
                    "the download request will be processed only after one minute",
                )
            self.downloads.append(now)
        job = self._job(job_id)
        if self.state(job) != "COMPLETED":
            raise ApiError(
                404, "RESOURCE_NOT_FOUND", "the result is not ready", {"resource": job_id}
            )
        headers = {
            "Content-Type": "application/zip",
            "Content-Disposition": f'attachment; filename="{job_id}.zip"',
        }
        return job.zip_bytes, headers


def _invalid(name: str, message: str) -> ApiError:
    return ApiError(400, "INVALID_DATA", message, {"api_name": name})


def _criterion_field(node: dict[str, Any]) -> str | None:
    spec = node.get("field")
    if isinstance(spec, dict):
        return spec.get("api_name")
    return node.get("api_name")  # the v2 form


def _is_rich_text(meta: FieldMeta) -> bool:
    return meta.data_type == "textarea" and (meta.extra.get("textarea") or {}).get("type") == (
        "rich_text"
    )


def _effective_type(meta: FieldMeta) -> str:
    if meta.data_type in {"formula", "rollup_summary"}:
        return str((meta.extra.get(meta.data_type) or {}).get("return_type") or "text")
    return meta.data_type


def _cell(meta: FieldMeta | None, column: str, record: dict[str, Any]) -> str:  # noqa: PLR0911
    """One CSV cell in Bulk Read's form (4.4 table, simulator column)."""
    if column == "id":
        return str(record["id"])
    value = record.get(column.partition(".")[0])
    if meta is None or value is None or value == []:
        return ""
    kind = _effective_type(meta)
    if "." in column:
        return str(value.get(column.partition(".")[2], "")) if isinstance(value, dict) else ""
    if kind in ID_ONLY:
        return str(value.get("id", "")) if isinstance(value, dict) else str(value)
    if kind in {"ALARM", "RRULE"}:
        return str(value.get(kind, "")) if isinstance(value, dict) else str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v.get("name", "")) if isinstance(v, dict) else str(v) for v in value)
    if kind in PADDED and isinstance(value, int | float):
        places = meta.decimal_place
        return f"{value:.{places}f}" if isinstance(places, int) else repr(float(value))
    return str(value)


def criteria_epoch(value: Any) -> int | None:
    """A criteria datetime (``Z`` or offset form) as an epoch second."""
    try:
        return epoch_of(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _matches(module: Module, record: dict[str, Any], node: dict[str, Any]) -> bool:
    if "group" in node:
        results = [_matches(module, record, child) for child in node["group"]]
        return all(results) if node["group_operator"] == "and" else any(results)
    name = _criterion_field(node) or ""
    comparator, wanted = node["comparator"], node["value"]
    if name == "Modified_Time":
        actual: Any = module.modified.get(record["id"])
        wanted = (
            [criteria_epoch(v) for v in wanted]
            if isinstance(wanted, list)
            else criteria_epoch(wanted)
        )
    elif name == "Created_Time":
        actual = module.created.get(record["id"])
        wanted = (
            [criteria_epoch(v) for v in wanted]
            if isinstance(wanted, list)
            else criteria_epoch(wanted)
        )
    else:
        actual = record.get(name)
        if isinstance(actual, dict):
            actual = actual.get("id")
    return _compare(comparator, actual, wanted)


def _compare(comparator: str, actual: Any, wanted: Any) -> bool:  # noqa: PLR0911
    if comparator in {"in", "not_in"}:
        inside = actual in (wanted if isinstance(wanted, list) else [wanted])
        return inside if comparator == "in" else not inside
    if comparator in {"between", "not_between"}:
        low, high = wanted
        inside = actual is not None and low <= actual <= high
        return inside if comparator == "between" else not inside
    if comparator == "equal":
        return actual == wanted
    if comparator == "not_equal":
        return actual != wanted
    text, probe = str(actual or ""), str(wanted)
    if comparator in {"contains", "not_contains"}:
        return (probe in text) == (comparator == "contains")
    if comparator == "starts_with":
        return text.startswith(probe)
    if comparator == "ends_with":
        return text.endswith(probe)
    if actual is None or wanted is None:
        return False
    return {
        "greater_than": actual > wanted,
        "greater_equal": actual >= wanted,
        "less_than": actual < wanted,
        "less_equal": actual <= wanted,
    }[comparator]
