"""Zoho Books v3 and Inventory v1 (``shared/zoho-api.md`` section 6): one backend, two paths.

Organisation enforcement, the ``{code, message, <plural>, page_context}`` envelope, ``per_page`` at
most 200, ``filter_by`` / ``sort_column`` / ``sort_order`` / ``last_modified_time`` on items and
contacts, colon-less offsets in the organisation's zone, ``X-Rate-Limit-*`` headers and the
100 requests/minute throttle (429 with a non-zero code), ``/pricebooks`` present and
``/pricelists`` answering 404. Unknown query parameters are ignored, as Zoho does (pitfall 13).

Rows have the shapes of real answers (6.5-6.7): custom fields only as flat ``cf_<api_name>`` /
``cf_<api_name>_unformatted`` keys (no ``custom_fields`` array), ``""`` in numeric fields that
hold no value (``reorder_level``), ``tax_percentage`` as a number or a numeric string, Inventory
contacts with ``*_formatted`` twins, and price-list rows without ``pricebook_items`` (only
``GET /pricebooks/{id}`` carries the per-item rates). Where a default that may hide records is
not confirmed, the sandbox takes the stricter reading (``DEFAULT_FILTERS``): without
``filter_by`` items and contacts are active ones only and price lists are sales lists only.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from .oauth import AccessToken, has_scope
from .store import BASE_INSTANT

FAMILIES = {"books": ("/books/v3", "ZohoBooks"), "inventory": ("/inventory/v1", "ZohoInventory")}
# filter_by values Zoho documents per list (6.5-6.7), and what the sandbox does when it is omitted.
ITEM_FILTERS = {"Status.All": None, "Status.Active": "active", "Status.Inactive": "inactive"}
CONTACT_FILTERS = ITEM_FILTERS
PRICEBOOK_FILTERS = {
    "SalesOrPurchaseType.All": None,
    "SalesOrPurchaseType.Sales": "sales",
    "SalesOrPurchaseType.Purchases": "purchases",
}
# Documented values the sandbox does not model: answered 400 with a message saying so, so a tap
# that starts sending one sees a failing test instead of silently unfiltered rows.
UNMODELLED_FILTERS = {
    "Status.Lowstock",
    "Status.Unmapped",
    "Status.Uncategorized",
    "Status.Grouped",
    "Status.Duplicate",
    "Status.Crm",
    "ItemType.All",
    "ItemType.Sales",
    "ItemType.Purchases",
    "ItemType.SalesAndPurchases",
    "ItemType.Inventory",
    "ItemType.NonInventory",
    "ItemType.Service",
}
DEFAULT_FILTERS = {
    "items": "Status.Active",  # unconfirmed whether inactive items are included: stricter reading
    "contacts": "Status.Active",  # no documented default: stricter reading
    "pricebooks": "SalesOrPurchaseType.Sales",  # no documented default: stricter reading
}
PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8"
    "cf000000030101005f2c9a0e0000000049454e44ae426082"
)


def render(epoch: int, zone: timezone) -> str:
    """Books form: ``2024-01-05T10:20:30+0530`` (no colon in the offset)."""
    return datetime.fromtimestamp(epoch, zone).strftime("%Y-%m-%dT%H:%M:%S%z")


def custom_field(api_name: str, formatted: Any, unformatted: Any) -> dict[str, Any]:
    """A custom field as list rows carry it: ``cf_<name>`` and ``cf_<name>_unformatted``."""
    return {f"cf_{api_name}": formatted, f"cf_{api_name}_unformatted": unformatted}


def json_copy(row: dict[str, Any]) -> dict[str, Any]:
    """A deep copy of a JSON row (answers never share lists with the stored data)."""
    return json.loads(json.dumps(row))


def with_formatted_times(row: dict[str, Any]) -> dict[str, Any]:
    """Inventory contact rows add display twins of their times (6.6); they must not be parsed."""
    for key in ("created_time", "last_modified_time"):
        if row.get(key):
            stamp = datetime.strptime(row[key], "%Y-%m-%dT%H:%M:%S%z")
            row[f"{key}_formatted"] = stamp.strftime("%d/%m/%Y %I:%M %p")
    return row


def parse(value: str) -> int:
    """Epoch of ``yyyy-MM-ddTHH:mm:ss`` with ``+0530``, ``+05:30`` or ``Z``."""
    return int(datetime.strptime(value.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S%z").timestamp())


@dataclass
class Org:
    """One organisation's items, contacts and price lists (shared by Books and Inventory)."""

    organization_id: str
    zone: timezone
    items: dict[str, dict[str, Any]] = field(default_factory=dict)
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    pricebooks: dict[str, dict[str, Any]] = field(default_factory=dict)
    modified: dict[str, int] = field(default_factory=dict)
    second: bool = False  # the second seeded organisation has other custom fields
    calls: deque[float] = field(default_factory=deque)


class Finance:
    """The Books/Inventory route of the sandbox, with its own data and throttle."""

    def __init__(self, clock: Any, *, per_minute: int = 100, seed: int = 11) -> None:
        self.clock = clock
        self.per_minute = per_minute
        self.window_seconds = 60.0  # tests shorten the minute
        self.orgs: dict[str, Org] = {}
        self.lock = threading.RLock()
        self.pricebooks_missing: set[str] = set()  # orgs whose /pricebooks answers 404
        self.queries: list[tuple[str, dict[str, str]]] = []
        self.default_filters = dict(DEFAULT_FILTERS)  # tests may set Zoho's other reading
        # (path, parameter) pairs answered as if the parameter were absent: the other reading of
        # an unconfirmed filter, e.g. ("/books/v3/contacts", "last_modified_time") (6.4).
        self.ignored_params: set[tuple[str, str]] = set()
        self._rng = random.Random(seed)
        self._next = 3850050000000100000

    # ------------------------------------------------------------------ seeding
    def new_id(self) -> str:
        """Return a fresh 19-digit id."""
        self._next += 1
        return str(self._next)

    def add_org(self, organization_id: str, offset_minutes: int = 330) -> Org:
        """Create an organisation in a zone (default +05:30)."""
        org = Org(
            organization_id, timezone(timedelta(minutes=offset_minutes)), second=bool(self.orgs)
        )
        self.orgs[organization_id] = org
        return org

    def seed(self, org: Org, items: int = 120, contacts: int = 40) -> None:
        """Items (active, inactive, with and without stock and images), contacts, price lists."""
        start = int(BASE_INSTANT.timestamp()) - 30 * 86400
        for n in range(items):
            self.put_item(org, self._item_values(org, n), epoch=start + n * 61)
        for n in range(contacts):
            self.put_contact(org, self._contact_values(org, n), epoch=start + n * 97)
        item_ids = list(org.items)
        books = [
            ("Wholesale 0", "per_item", "sales", item_ids[0:25]),
            ("Wholesale 1", "per_item", "sales", item_ids[20:45]),
            ("Supplier costs", "per_item", "purchases", item_ids[40:65]),
            ("Ten percent off", "fixed_percentage", "sales", []),
        ]
        for n, (name, kind, side, priced) in enumerate(books):
            book_id = self.new_id()
            org.pricebooks[book_id] = {
                "pricebook_id": book_id,
                "name": name,
                "description": "",
                "currency_id": "460000000000097",
                "currency_code": "USD",
                "decimal_place": 2,
                "is_default": n == 0,
                "is_increase": False,
                "percentage": 10 if kind == "fixed_percentage" else 0,
                "pricebook_type": kind,
                "pricing_scheme": "unit",
                "rounding_type": "no_rounding",
                "sales_or_purchase_type": side,
                "status": "active",
                "pricebook_items": [
                    {
                        "item_id": iid,
                        "pricebook_rate": round(10 + k * 1.5 + n, 2),
                        "pricebook_item_id": self.new_id(),
                    }
                    for k, iid in enumerate(priced)
                ],
            }

    def _contact_values(self, org: Org, n: int) -> dict[str, Any]:
        values: dict[str, Any] = {
            "contact_name": f"Trader {n}",
            "company_name": f"Trader {n} LLC",
            "contact_type": "vendor" if n % 5 == 4 else "customer",
            "customer_sub_type": "business",
            "status": "inactive" if n % 9 == 8 else "active",
            "first_name": "Mei",
            "last_name": f"Tan{n}",
            "email": f"t{n}@example.org",
            "phone": "+65 6123 4567",
            "mobile": "",
            "currency_code": "SGD",
            "payment_terms": "" if n % 8 == 7 else 30,
            "payment_terms_label": "" if n % 8 == 7 else "Net 30",
            "outstanding_receivable_amount": round(self._rng.uniform(0, 900), 2),
            "unused_credits_receivable_amount": 0.0,
        }
        if org.second:
            values.update(custom_field("region", *(("North",) * 2 if n % 2 else ("",) * 2)))
        else:
            segment = ["Retail", "Wholesale", ""][n % 3]
            limit = 5000 * (n % 4)
            values.update(custom_field("segment", segment, segment))
            values.update(
                custom_field("credit_limit", f"{limit:,.2f}" if limit else "", limit or "")
            )
        return values

    def _item_values(self, org: Org, n: int) -> dict[str, Any]:
        inventory = n % 6 != 5
        has_image = n % 3 != 2
        values: dict[str, Any] = {
            "name": f"Oil filter OD{n}",
            "sku": f"OF-{n:04d}",
            "status": "inactive" if n % 10 == 9 else "active",
            "source": "user",
            "item_type": "inventory" if inventory else "sales",
            "product_type": "goods" if inventory else "service",
            "unit": "pcs",
            "description": f"Filter {n}",
            "rate": round(10 + n * 0.75, 2),
            "purchase_rate": round(6 + n * 0.5, 2) if inventory else "",
            "tax_id": "",
            "tax_name": "",
            "tax_percentage": "12.5" if n % 7 == 0 else "70%" if n % 13 == 0 else 0,
            "brand": ["Bosch", "Mann", ""][n % 3],
            "manufacturer": "",
            "category_name": ["Filters", "Spare parts"][n % 2],
            "image_document_id": self.new_id() if has_image else "",
            "image_name": f"of{n}.jpg" if has_image else "",
            "image_type": "jpg" if has_image else "",
            "is_linked_with_zohocrm": False,
            "zcrm_product_id": "",
            "reorder_level": 5.0 if inventory and n % 4 == 0 else "",
        }
        if inventory:
            stock = 0.0 if n % 4 == 3 else float(n % 40)
            values.update(stock_on_hand=stock, available_stock=stock, actual_available_stock=stock)
        if org.second:
            values.update(custom_field("colour", *(["Red", "Blue", ""][n % 3],) * 2))
        else:
            values.update(custom_field("aro", *((str(700 + n),) * 2 if n % 4 else ("",) * 2)))
            months = 12 * (n % 3)
            values.update(
                custom_field("warranty_months", str(months), months)
                if months
                else custom_field("warranty_months", "", "")
            )
            launch = f"2025-{1 + n % 12:02d}-{1 + n % 28:02d}"
            values.update(
                custom_field("launch_date", f"{launch[8:]}/{launch[5:7]}/{launch[:4]}", launch)
                if n % 5
                else custom_field("launch_date", "", "")
            )
            values.update(custom_field("hazardous", "true" if n % 2 else "false", n % 2 == 1))
        return values

    def add_custom_field(self, organization_id: str, entity: str, api_name: str) -> None:
        """A custom field created in Zoho: every row then carries it, empty (no edit stamp)."""
        org = self.orgs[organization_id]
        with self.lock:
            for row in getattr(org, entity).values():
                row.update(custom_field(api_name, "", ""))

    # ------------------------------------------------------------------ mutations
    def put_item(
        self,
        org: Org,
        values: dict[str, Any],
        *,
        epoch: int | None = None,
        item_id: str | None = None,
    ) -> str:
        """Create or replace an item stamped at ``epoch`` (default: the clock's next second)."""
        with self.lock:
            iid = item_id or self.new_id()
            epoch = self.clock.advance() if epoch is None else epoch
            record = {"item_id": iid, "item_name": values.get("name"), **values}
            record.setdefault("created_time", render(epoch, org.zone))
            record["last_modified_time"] = render(epoch, org.zone)
            previous = org.items.get(iid)
            if previous:
                record["created_time"] = previous["created_time"]
            org.items[iid] = record
            org.modified[iid] = epoch
            return iid

    def update_item(self, organization_id: str, item_id: str, changes: dict[str, Any]) -> None:
        """Change an item; its ``last_modified_time`` moves to now."""
        org = self.orgs[organization_id]
        with self.lock:
            self.put_item(org, {**org.items[item_id], **changes}, item_id=item_id)

    def update_contact(
        self, organization_id: str, contact_id: str, changes: dict[str, Any]
    ) -> None:
        """Change a contact; its ``last_modified_time`` moves to now."""
        org = self.orgs[organization_id]
        with self.lock:
            self.put_contact(org, {**org.contacts[contact_id], **changes}, contact_id=contact_id)

    def delete_item(self, organization_id: str, item_id: str) -> None:
        """Delete an item as Zoho does: gone from every list and price list, and
        ``GET /items/{id}`` answers 404 ``1002 Item does not exist.`` (contract 6.2). Zoho keeps
        no deletion feed for Books/Inventory, so nothing else records it."""
        org = self.orgs[organization_id]
        with self.lock:
            del org.items[item_id]
            org.modified.pop(item_id, None)
            for book in org.pricebooks.values():
                book["pricebook_items"] = [
                    e for e in book["pricebook_items"] if e["item_id"] != item_id
                ]

    def put_contact(
        self,
        org: Org,
        values: dict[str, Any],
        *,
        epoch: int | None = None,
        contact_id: str | None = None,
    ) -> str:
        """Create or replace a contact."""
        with self.lock:
            cid = contact_id or self.new_id()
            epoch = self.clock.advance() if epoch is None else epoch
            record = {"contact_id": cid, **values}
            record.setdefault("created_time", render(epoch, org.zone))
            record["last_modified_time"] = render(epoch, org.zone)
            org.contacts[cid] = record
            org.modified[cid] = epoch
            return cid

    # ------------------------------------------------------------------ HTTP
    def handles(self, path: str) -> bool:
        """True for Books and Inventory paths."""
        return any(path.startswith(prefix) for prefix, _ in FAMILIES.values())

    def serve(  # noqa: PLR0911
        self, method: str, path: str, query: dict[str, str], headers: Any, access: AccessToken
    ) -> tuple[int, Any, dict[str, str], str]:
        """Answer one call: (status, body, headers, kind for the counters)."""
        family = next(name for name, (prefix, _) in FAMILIES.items() if path.startswith(prefix))
        prefix, scope_prefix = FAMILIES[family]
        resource = path[len(prefix) :].strip("/").split("/")
        if not has_scope(
            access.scopes, f"{scope_prefix}.fullaccess.all", f"{scope_prefix}.{resource[0]}.READ"
        ):
            return (
                401,
                {"code": 57, "message": "You are not authorized to perform this operation"},
                {},
                "scope",
            )
        if method != "GET":
            return 405, {"code": 37, "message": "The HTTP method is not allowed"}, {}, "method"
        if resource == ["organizations"]:
            orgs = [
                {
                    "organization_id": o.organization_id,
                    "name": f"Org {o.organization_id}",
                    "is_default_org": True,
                }
                for o in self.orgs.values()
            ]
            return (
                200,
                {"code": 0, "message": "success", "organizations": orgs},
                {},
                "organizations",
            )
        with self.lock:
            self.queries.append((path, dict(query)))
        org_id = query.get("organization_id")
        if not org_id:
            return 400, {"code": 6041, "message": "organization_id is required"}, {}, "org_missing"
        org = self.orgs.get(org_id)
        if org is None:
            return (
                400,
                {"code": 6041, "message": "This user is not associated with the organization"},
                {},
                "org_unknown",
            )
        throttled = self._throttle(org)
        if throttled is not None:
            return throttled
        limits = self._rate_headers(org)
        if resource[0] == "pricelists":
            return 404, {"code": 5, "message": "Invalid URL Passed"}, limits, "not_found"
        if resource[0] == "pricebooks" and org_id in self.pricebooks_missing:
            return 404, {"code": 5, "message": "Invalid URL Passed"}, limits, "not_found"
        if resource[0] in {"items", "contacts", "pricebooks"} and len(resource) == 1:
            return self._list_resource(family, org, resource[0], query, limits)
        if resource[0] == "pricebooks" and len(resource) == 2:
            book = org.pricebooks.get(resource[1])
            if book is None:
                body = {"code": 1002, "message": "Price list does not exist."}
                return 404, body, limits, "not_found"
            detail = {"code": 0, "message": "success", "pricebook": json_copy(book)}
            return 200, detail, limits, "pricebook"
        if resource[0] == "items" and len(resource) == 2:
            found = org.items.get(resource[1])
            if found is None:
                return 404, {"code": 1002, "message": "Item does not exist."}, limits, "not_found"
            detail = {"code": 0, "message": "success", "item": json_copy(found)}
            return 200, detail, limits, "item"
        if (
            len(resource) == 3
            and resource[0] == "items"
            and resource[2] == "image"
            and family == "inventory"
        ):
            item = org.items.get(resource[1])
            if not item or not item.get("image_document_id"):
                return (
                    404,
                    {"code": 1002, "message": "Item image does not exist."},
                    limits,
                    "not_found",
                )
            return 200, PNG_1PX, {**limits, "Content-Type": "image/png"}, "image"
        return 404, {"code": 5, "message": "Invalid URL Passed"}, limits, "not_found"

    def _throttle(self, org: Org) -> tuple[int, Any, dict[str, str], str] | None:
        now = time.monotonic()
        with self.lock:
            while org.calls and now - org.calls[0] >= self.window_seconds:
                org.calls.popleft()
            if len(org.calls) >= self.per_minute:
                reset = max(1, int(self.window_seconds - (now - org.calls[0])))
                headers = {
                    "X-Rate-Limit-Limit": str(self.per_minute),
                    "X-Rate-Limit-Remaining": "0",
                    "X-Rate-Limit-Reset": str(reset),
                    "Retry-After": str(reset),
                }
                body = {
                    "code": 44,
                    "message": "You have exceeded the maximum number of requests per minute.",
                }
                return 429, body, headers, "TOO_MANY_REQUESTS"
            org.calls.append(now)
        return None

    def _rate_headers(self, org: Org) -> dict[str, str]:
        return {
            "X-Rate-Limit-Limit": str(self.per_minute),
            "X-Rate-Limit-Remaining": str(max(0, self.per_minute - len(org.calls))),
            "X-Rate-Limit-Reset": "60",
        }

    def _list_resource(
        self, family: str, org: Org, plural: str, query: dict[str, str], limits: dict[str, str]
    ) -> tuple[int, Any, dict[str, str], str]:
        """A list call: ``filter_by`` checked (default: ``default_filters``), then one page."""
        allowed = {"items": ITEM_FILTERS, "contacts": CONTACT_FILTERS}.get(
            plural, PRICEBOOK_FILTERS
        )
        applied = query.get("filter_by") or self.default_filters[plural]
        if applied not in allowed:
            message = (
                f"the sandbox does not model filter_by={applied}"
                if applied in UNMODELLED_FILTERS
                else f"Invalid value passed for filter_by: {applied}"
            )
            return 400, {"code": 2, "message": message}, limits, "invalid"
        wanted = allowed[applied]
        with self.lock:
            if plural == "pricebooks":
                rows = [
                    {k: v for k, v in json_copy(b).items() if k != "pricebook_items"}
                    for b in org.pricebooks.values()
                    if wanted is None or b["sales_or_purchase_type"] == wanted
                ]
            else:
                honoured = {
                    k: v
                    for k, v in query.items()
                    if (f"{FAMILIES[family][0]}/{plural}", k) not in self.ignored_params
                }
                rows = self._filtered(org, getattr(org, plural), honoured, wanted)
                if family == "inventory" and plural == "contacts":
                    rows = [with_formatted_times(r) for r in rows]
        return self._list(org, plural, rows, {**query, "filter_by": applied}, limits)

    def _filtered(
        self,
        org: Org,
        rows: dict[str, dict[str, Any]],
        query: dict[str, str],
        status: str | None,
    ) -> list[dict[str, Any]]:
        selected = list(rows.values())
        if status:
            selected = [r for r in selected if r.get("status") == status]
        if query.get("contact_type"):
            selected = [r for r in selected if r.get("contact_type") == query["contact_type"]]
        since = query.get("last_modified_time")
        if since:
            after = parse(since)
            selected = [r for r in selected if org.modified[self._id(r)] > after]
        column = query.get("sort_column", "name")
        key_of = {
            "last_modified_time": lambda r: (org.modified[self._id(r)], self._id(r)),
            "created_time": lambda r: (r.get("created_time"), self._id(r)),
        }.get(column, lambda r: (str(r.get(column) or r.get("contact_name") or ""), self._id(r)))
        ordered = sorted(selected, key=key_of, reverse=query.get("sort_order", "A") == "D")
        return [json_copy(r) for r in ordered]

    @staticmethod
    def _id(row: dict[str, Any]) -> str:
        return str(row.get("item_id") or row.get("contact_id"))

    @staticmethod
    def _list(
        org: Org,
        plural: str,
        rows: list[dict[str, Any]],
        query: dict[str, str],
        limits: dict[str, str],
    ) -> tuple[int, Any, dict[str, str], str]:
        try:
            page = int(query.get("page", "1"))
            per_page = int(query.get("per_page", "200"))
        except ValueError:
            return 400, {"code": 2, "message": "Invalid value passed for page"}, limits, "invalid"
        if page < 1 or not 1 <= per_page <= 200:
            return (
                400,
                {"code": 2, "message": "Invalid value passed for per_page"},
                limits,
                "invalid",
            )
        chunk = rows[(page - 1) * per_page : page * per_page]
        context = {
            "page": page,
            "per_page": per_page,
            "has_more_page": page * per_page < len(rows),
            "report_name": plural.title(),
            "applied_filter": query["filter_by"],
            "sort_column": query.get("sort_column", "name"),
            "sort_order": query.get("sort_order", "A"),
            "custom_fields": [],
            "search_criteria": [],
        }
        return (
            200,
            {
                "code": 0,
                "message": "success",
                plural: chunk,
                "page_context": context,
            },
            limits,
            plural,
        )
