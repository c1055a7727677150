"""CRM v8 endpoints: module and field metadata, Get Records, deleted records, record count.

Every rule of sections 2-5 of ``shared/zoho-api.md`` that a reader can trip over is enforced:
``fields`` required and at most 50, ``per_page`` at most 200, the 2,000-record ``page`` cap, page
tokens bound to their parameters, expiring and capped at 100,000, ``sort_by``/``sort_order``,
``If-Modified-Since`` with 304, 204 for empty results. Limits come from :class:`Limits`.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

from . import visibility
from .store import CrmStore, Module, epoch_of
from .text_cut import cut_rich_text


@dataclass
class Limits:
    """Zoho's limits; tests lower them to reach the caps with small data."""

    max_fields: int = 50
    max_per_page: int = 200
    discrete_cap: int = 2000
    token_cap: int = 100_000
    token_ttl_seconds: int = 86_400
    max_ids: int = 100
    deleted_page_cap: bool = True  # unconfirmed (4.1): ``/deleted`` stops at position 2,000
    deleted_page_tokens: bool = False  # the other reading: ``/deleted`` pages by token too
    deleted_newest_first: bool = False  # ``/deleted`` order is undocumented (4.1's example)
    deleted_if_modified_since: bool = True  # off: ``/deleted`` ignores ``If-Modified-Since``
    rich_text_list_chars: int = 500
    rich_text_cut_utf16: bool = True  # the cut counts UTF-16 units and can split a pair (3.2)
    detail_array_cap: int | None = None  # rows of a subform/lookup array a single GET returns
    # Row order of a subform in a single read (undocumented): "sequence" (Sequence_Number where
    # the rows carry it, else id) or "id" (creation order). Applied to the store (views.ordered).
    detail_row_order: str = "sequence"
    # Completing what lists leave out (3.3); each flag picks a reading of an unconfirmed point.
    subform_modules: frozenset[str] | None = frozenset({"Lead_Items", "Quoted_Items"})
    list_subform_modules: bool = False  # /settings/modules lists subform modules
    list_multiuser_linking: bool = True  # /settings/modules lists multi-user linking modules
    subform_list_filters: bool = False  # the Subform API honours If-Modified-Since/sort/ids/...
    subform_page_tokens: bool = True  # the Subform API pages by token past the position cap
    # Get Records' If-Modified-Since compares "modified after" (3.1); which way Zoho rounds the
    # second is unconfirmed: True reads it as "at or after".
    records_modified_since_inclusive: bool = False
    rich_text_api: bool = True  # ``actions/fetch_full_data`` exists on v8
    refused_modules: frozenset[str] = frozenset()  # answer INVALID_MODULE (a route refused)


class ApiError(Exception):
    """A Zoho error envelope with its HTTP status."""

    def __init__(self, status: int, code: str, message: str, details: dict | None = None) -> None:
        super().__init__(code)
        self.status = status
        self.body = {"code": code, "details": details or {}, "message": message, "status": "error"}


Response = tuple[int, Any]


def page_and_token_error() -> ApiError:
    """``page`` and ``page_token`` in one call (3.1: must not be combined)."""
    return ApiError(
        400,
        "AMBIGUITY_DURING_PROCESSING",
        "ambiguity during processing",
        {"ambiguity_due_to": [{"param_name": "page"}, {"param_name": "page_token"}]},
    )


@dataclass
class PageToken:
    """Server-side state behind an opaque ``next_page_token``."""

    bound: tuple
    offset: int
    expires_at: float


SORTABLE = ("id", "Created_Time", "Modified_Time")
# Values a list (Get Records) leaves out: they come only with a single-record GET (3.2).
LIST_OMITTED_TYPES = {"subform", "multiselectlookup", "multiuserlookup", "lineitem"}
LINE_ITEM_FIELDS = {
    "Quotes": "Quoted_Items",
    "Invoices": "Invoiced_Items",
    "Sales_Orders": "Ordered_Items",
    "Purchase_Orders": "Purchased_Items",
}
VISIBILITY_PARAMS = {"converted": ("false", "true", "both"), "approved": ("true", "false", "both")}
APPROVAL_STATE = "$approval_state"


def list_omitted(module: Module) -> set[str]:
    """Fields whose values Get Records leaves out (subforms, multi lookups, line items)."""
    omitted = {f.api_name for f in module.fields if f.data_type in LIST_OMITTED_TYPES}
    line_items = LINE_ITEM_FIELDS.get(module.api_name)
    if line_items and module.has_field(line_items):
        omitted.add(line_items)
    return omitted


def rich_text_fields(module: Module) -> set[str]:
    """``textarea`` fields with ``textarea.type = "rich_text"``: cut at 500 characters in lists."""
    return {
        f.api_name
        for f in module.fields
        if f.data_type == "textarea" and (f.extra.get("textarea") or {}).get("type") == "rich_text"
    }


class CrmApi:
    """Stateless request handling over a :class:`CrmStore`; page tokens live here."""

    def __init__(self, store: CrmStore, limits: Limits) -> None:
        self.store = store
        self.limits = limits
        self.tokens: dict[str, PageToken] = {}

    # ------------------------------------------------------------ metadata
    def reachable(self, module: Module) -> bool:
        """False for a subform module this sandbox does not model (3.3): as if it did not exist."""
        modelled = self.limits.subform_modules
        return module.generated_type != "subform" or modelled is None or module.api_name in modelled

    def _listed_module(self, module: Module) -> bool:
        """Whether ``/settings/modules`` names this module (subform and multi-user linking
        modules are reachable either way; 3.3 leaves their listing unconfirmed)."""
        if module.generated_type == "subform":
            return self.reachable(module) and self.limits.list_subform_modules
        view = self.store.views.get(module.api_name)
        return not (view and view.multiuser and not self.limits.list_multiuser_linking)

    def _module_json(self, m: Module) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": m.module_id,
            "api_name": m.api_name,
            "module_name": m.api_name,
            "singular_label": m.api_name.rstrip("s"),
            "plural_label": m.api_name.replace("_", " "),
            "api_supported": m.api_supported,
            "generated_type": m.generated_type,
            "creatable": m.permitted,
            "editable": m.permitted,
            "viewable": m.permitted,
            "deletable": m.permitted,
            "visibility": 1,
            "status": "visible",
            "modified_time": None,
        }
        if m.parent is not None:
            body["parent_module"] = {"api_name": m.parent.api_name, "id": m.parent.module_id}
        return body

    def module(self, name: str) -> Response:
        """``GET /crm/v8/settings/modules/{name}``: answers whether the listing names it or not."""
        return 200, {"modules": [self._module_json(self._module(name, for_records=False))]}

    def modules(self) -> Response:
        """``GET /crm/v8/settings/modules``."""
        listed = [m for m in self.store.modules.values() if self._listed_module(m)]
        return 200, {"modules": [self._module_json(m) for m in listed]}

    def fields(self, query: dict[str, str]) -> Response:
        """``GET /crm/v8/settings/fields?module=X``."""
        name = query.get("module")
        if not name:
            raise ApiError(
                400,
                "REQUIRED_PARAM_MISSING",
                "One of the expected parameter is missing",
                {"param_name": "module"},
            )
        module = self._module(name, for_records=False)
        if not module.has_field_metadata:
            return 204, None
        return 200, {
            "fields": [f.to_json(i, module.module_id) for i, f in enumerate(module.fields)]
        }

    def _module(self, name: str, *, for_records: bool) -> Module:
        module = self.store.modules.get(name)
        if module is None or not self.reachable(module):
            raise ApiError(
                400,
                "INVALID_MODULE",
                "the module name given seems to be invalid",
                {"resource_path_index": 0},
            )
        if for_records and name in self.limits.refused_modules:
            raise ApiError(
                400,
                "INVALID_MODULE",
                "the module name given seems to be invalid",
                {"resource_path_index": 0},
            )
        if for_records and not module.api_supported:
            raise ApiError(
                400, "API_NOT_SUPPORTED", "API is not supported for this module", {"module": name}
            )
        if for_records and not module.permitted:
            raise ApiError(
                403,
                "NO_PERMISSION",
                "permission denied",
                {"permissions": [f"Crm_Implied_View_{name}"]},
            )
        return module

    # ------------------------------------------------------------ Get Records
    def records(self, name: str, query: dict[str, str], headers: dict[str, str]) -> Response:
        """``GET /crm/v8/{module}``; also the Subform API's list of a subform module (3.3)."""
        module = self._module(name, for_records=True)
        subform = module.generated_type == "subform"
        if subform and not self.limits.subform_list_filters:
            # The stricter reading: every row of every live parent, ascending id, never 304.
            kept = {
                k: v for k, v in query.items() if k in {"fields", "per_page", "page", "page_token"}
            }
            query = {**kept, "sort_by": "id", "sort_order": "asc"}
            query.update(converted="both", approved="both")
            headers = {}
        fields = self._fields_param(module, query)
        per_page = self._int_param(query, "per_page", 200, 1, self.limits.max_per_page)
        sort_by = query.get("sort_by", "id")
        if sort_by not in SORTABLE:
            raise ApiError(
                400,
                "INVALID_DATA",
                "invalid data",
                {"param_name": "sort_by", "supported_values": list(SORTABLE)},
            )
        sort_order = query.get("sort_order", "desc")
        if sort_order not in {"asc", "desc"}:
            raise ApiError(
                400,
                "INVALID_DATA",
                "invalid data",
                {"param_name": "sort_order", "supported_values": ["asc", "desc"]},
            )
        since = self._if_modified_since(headers)
        ids = self._ids_param(query)
        converted, approved = (self._choice(query, key) for key in VISIBILITY_PARAMS)
        bound = (
            name,
            tuple(fields),
            per_page,
            sort_by,
            sort_order,
            since,
            tuple(ids or ()),
            converted,
            approved,
        )

        token = query.get("page_token")
        if token is not None and "page" in query:
            raise page_and_token_error()
        if token is not None:
            offset = self._consume_token(token, bound)
            page = None
        else:
            page = self._int_param(query, "page", 1, 1, 10**9)
            offset = (page - 1) * per_page
            if offset + 1 > self.limits.discrete_cap:
                raise ApiError(
                    400,
                    "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
                    "you can only get the first 2000 records without page_token",
                    {"limit": self.limits.discrete_cap},
                )

        # One page is one snapshot, as a database query answers it: an edit racing the read lands
        # before or after it, never between choosing the rows and rendering them (which would
        # show a row with a newer Modified_Time than the rows after it).
        with self.store.lock:
            matching = self.store.window(
                module,
                sort_by=sort_by,
                descending=sort_order == "desc",
                modified_after=self._listed_after(since),
                ids=ids,
                converted=converted,
                approved=approved,
            )
            chunk = matching[offset : offset + per_page]
            if not chunk:
                return (304 if since is not None and offset == 0 else 204), None
            more = offset + per_page < len(matching)
            tokens = not subform or self.limits.subform_page_tokens
            next_token = self._mint_token(bound, offset + per_page) if more and tokens else None
            omitted, rich = list_omitted(module), rich_text_fields(module)
            data = [self._list_row(module, rid, fields, omitted, rich) for rid in chunk]
        info = {
            "per_page": per_page,
            "count": len(data),
            "page": page if page is not None else offset // per_page + 1,
            "sort_by": sort_by,
            "sort_order": sort_order,
            "more_records": more,
            "next_page_token": next_token,
            "previous_page_token": None,
            "page_token_expiry": self.store.dt(int(time.time()) + self.limits.token_ttl_seconds)
            if next_token
            else None,
            "call": False,
            "email": False,
        }
        return 200, {"data": data, "info": info}

    @staticmethod
    def _project(module: Module, rid: str, fields: list[str]) -> dict[str, Any]:
        record = module.records[rid]
        out = {"id": record["id"]}
        for name in fields:
            if name == APPROVAL_STATE:
                out[name] = "approved" if module.is_approved(rid) else "approval_process_pending"
            else:
                out[name] = record.get(name)
        out["$editable"] = True
        out["$approved"] = module.is_approved(rid)
        if module.has_field("Converted__s") or "$converted" in record:
            out["$converted"] = visibility.is_converted(record)
        return out

    def _list_row(
        self, module: Module, rid: str, fields: list[str], omitted: set[str], rich: set[str]
    ) -> dict[str, Any]:
        """A record as a list shows it: omitted kinds null, rich text cut at 500 characters."""
        out = self._project(module, rid, fields)
        cut = self.limits.rich_text_list_chars
        for name in fields:
            if name in omitted:
                out[name] = None
            elif name in rich and isinstance(out[name], str):
                out[name] = cut_rich_text(out[name], cut, utf16=self.limits.rich_text_cut_utf16)
        return out

    def record(self, name: str, rid: str, query: dict[str, str]) -> Response:
        """``GET /crm/v8/{module}/{id}``: every value whole; ``$has_more`` for capped arrays."""
        module = self._module(name, for_records=True)
        if not rid.isdigit() or rid not in module.records:
            raise ApiError(
                400,
                "INVALID_DATA",
                "the related id given seems to be invalid",
                {"resource_path_index": 1},
            )
        fields = self._fields_param(module, query) if query.get("fields") else module.field_names
        with self.store.lock:
            out = self._project(module, rid, fields)
        cap = self.limits.detail_array_cap
        has_more = {}
        for field_name in sorted(list_omitted(module) & set(fields)):
            value = out.get(field_name)
            has_more[field_name] = cap is not None and isinstance(value, list) and len(value) > cap
            if has_more[field_name]:
                out[field_name] = value[:cap]
        if has_more:
            out["$has_more"] = has_more
        return 200, {"data": [out]}

    def rich_text(self, name: str, rid: str, query: dict[str, str]) -> Response:
        """``GET /crm/v8/{module}/{id}/actions/fetch_full_data``: rich-text fields whole (3.3).

        Only rich-text fields (all of them without ``fields``); any other field or an unknown id
        is 400 ``INVALID_DATA``. Whether v8 has this endpoint at all is unconfirmed: with
        ``Limits.rich_text_api`` off it answers as an unknown URL.
        """
        if not self.limits.rich_text_api:
            raise ApiError(
                404,
                "INVALID_URL_PATTERN",
                "Please check if the URL trying to access is a correct one",
            )
        module = self._module(name, for_records=True)
        if not rid.isdigit() or rid not in module.records:
            raise ApiError(
                400, "INVALID_DATA", "the id given seems to be invalid", {"resource_path_index": 1}
            )
        rich = rich_text_fields(module)
        raw = query.get("fields")
        names = [f for f in raw.split(",") if f and f != "id"] if raw else sorted(rich)
        for field_name in names:
            if field_name not in rich:
                raise ApiError(
                    400, "INVALID_DATA", "not a rich text field", {"api_name": field_name}
                )
        with self.store.lock:
            record = module.records[rid]
            out = {"id": rid, **{f: record.get(f) for f in names}}
        return 200, {"data": [out]}

    @staticmethod
    def _choice(query: dict[str, str], name: str) -> str:
        allowed = VISIBILITY_PARAMS[name]
        value = query.get(name, allowed[0])
        if value not in allowed:
            raise ApiError(
                400,
                "INVALID_DATA",
                "invalid data",
                {"param_name": name, "supported_values": list(allowed)},
            )
        return value

    def _fields_param(self, module: Module, query: dict[str, str]) -> list[str]:
        raw = query.get("fields")
        if not raw:
            raise ApiError(
                400,
                "REQUIRED_PARAM_MISSING",
                "One of the expected parameter is missing",
                {"param_name": "fields"},
            )
        names = [f for f in raw.split(",") if f]
        if len(names) > self.limits.max_fields:
            raise ApiError(
                400,
                "LIMIT_EXCEEDED",
                "limit exceeded",
                {"limit": self.limits.max_fields, "param_name": "fields"},
            )
        for f in names:
            if f not in {"id", APPROVAL_STATE} and not module.has_field(f):
                raise ApiError(400, "INVALID_DATA", "invalid field", {"api_name": f})
        return [f for f in names if f != "id"]

    def _ids_param(self, query: dict[str, str]) -> list[str] | None:
        raw = query.get("ids")
        if raw is None:
            return None
        ids = [i for i in raw.split(",") if i]
        if len(ids) > self.limits.max_ids:
            raise ApiError(
                400,
                "LIMIT_EXCEEDED",
                "limit exceeded",
                {"limit": self.limits.max_ids, "param_name": "ids"},
            )
        return ids

    @staticmethod
    def _int_param(query: dict[str, str], name: str, default: int, low: int, high: int) -> int:
        raw = query.get(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            value = low - 1
        if not low <= value <= high:
            raise ApiError(
                400,
                "INVALID_DATA",
                "invalid data",
                {"param_name": name, "minimum": low, "maximum": high},
            )
        return value

    def _listed_after(self, since: int | None) -> int | None:
        """The last second a list leaves out under ``If-Modified-Since`` (whole seconds)."""
        inclusive = since is not None and self.limits.records_modified_since_inclusive
        return since - 1 if inclusive else since

    @staticmethod
    def _if_modified_since(headers: dict[str, str]) -> int | None:
        raw = headers.get("if-modified-since")
        if raw is None:
            return None
        try:
            return epoch_of(raw)
        except ValueError:
            raise ApiError(
                400,
                "INVALID_DATA",
                "invalid If-Modified-Since",
                {"header_name": "If-Modified-Since"},
            ) from None

    def _mint_token(self, bound: tuple, offset: int) -> str:
        token = secrets.token_hex(20)
        self.tokens[token] = PageToken(bound, offset, time.time() + self.limits.token_ttl_seconds)
        return token

    def _consume_token(self, token: str, bound: tuple) -> int:
        state = self.tokens.get(token)
        if state is None or len(token) > 96:
            raise ApiError(400, "INVALID_DATA", "invalid page_token", {"param_name": "page_token"})
        if state.expires_at <= time.time():
            raise ApiError(
                400,
                "EXPIRED_VALUE",
                "page_token expired",
                {"api_name": "page_token", "json_path": "$.query.page_token"},
            )
        if state.bound != bound:
            raise ApiError(
                400,
                "TOKEN_BOUND_DATA_MISMATCH",
                "the given page_token does not match the request parameters",
                {"param_name": "page_token"},
            )
        if state.offset >= self.limits.token_cap:
            raise ApiError(
                400,
                "PAGINATION_LIMIT_EXCEEDED",
                f"You can only get upto {self.limits.token_cap} records using page_token param",
                {"param_name": "page_token"},
            )
        return state.offset

    # ------------------------------------------------------------ deleted / count
    def deleted(self, name: str, query: dict[str, str], headers: dict[str, str]) -> Response:
        """``GET /crm/v8/{module}/deleted``."""
        module = self._module(name, for_records=True)
        kind = query.get("type", "all")
        if kind not in {"all", "recycle", "permanent"}:
            raise ApiError(
                400, "PATTERN_NOT_MATCHED", "pattern not matched", {"param_name": "type"}
            )
        per_page = self._int_param(query, "per_page", 200, 1, self.limits.max_per_page)
        since = self._if_modified_since(headers)
        if not self.limits.deleted_if_modified_since:
            since = None  # the reading in which /deleted ignores the header
        offset, page = self._deleted_position(query, (name, kind, per_page, since), per_page)
        with self.store.lock:
            entries = self.store.deleted_since(module, kind, since)
            if self.limits.deleted_newest_first:
                entries.reverse()
            chunk = entries[offset : offset + per_page]
            if not chunk:
                return 204, None
            more = offset + per_page < len(entries)
            next_token = None
            if self.limits.deleted_page_tokens and more:
                next_token = self._mint_token((name, kind, per_page, since), offset + per_page)
        data = [
            {
                "id": e.record_id,
                "display_name": e.display_name,
                "type": e.kind,
                "deleted_time": self.store.dt(e.epoch),
                "deleted_by": None
                if e.kind == "permanent"
                else {"name": "Ana Silva", "id": "5843104000000231001"},
                "created_by": None
                if e.kind == "permanent"
                else {"name": "Ana Silva", "id": "5843104000000231001"},
            }
            for e in chunk
        ]
        info: dict[str, Any] = {
            "per_page": per_page,
            "count": len(data),
            "page": page,
            "more_records": more,
        }
        if self.limits.deleted_page_tokens:
            info["next_page_token"] = next_token
        return 200, {"data": data, "info": info}

    def _deleted_position(
        self, query: dict[str, str], bound: tuple, per_page: int
    ) -> tuple[int, int]:
        """Offset and page of a ``/deleted`` call, under the reading the limits select.

        The contract lists no ``page_token`` here (4.1): by default one is refused like any
        parameter the endpoint does not take; ``deleted_page_tokens`` is the other reading.
        """
        token = query.get("page_token")
        if token is not None and not self.limits.deleted_page_tokens:
            raise ApiError(
                400, "INVALID_DATA", "page_token is not supported", {"param_name": "page_token"}
            )
        if token is not None and "page" in query:
            raise page_and_token_error()
        if token is not None:
            offset = self._consume_token(token, bound)
            return offset, offset // per_page + 1
        page = self._int_param(query, "page", 1, 1, 10**9)
        offset = (page - 1) * per_page
        if self.limits.deleted_page_cap and offset + 1 > self.limits.discrete_cap:
            raise ApiError(
                400,
                "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
                "page limit exceeded",
                {"limit": self.limits.discrete_cap},
            )
        return offset, page

    def count(self, name: str) -> Response:
        """``GET /crm/v8/{module}/actions/count``."""
        module = self._module(name, for_records=True)
        return 200, {"count": len(module.records)}
