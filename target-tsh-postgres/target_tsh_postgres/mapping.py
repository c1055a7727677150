"""Pure mapping of Zoho records to ERP rows: which table, which columns, which key.

No I/O: every rule (active flag, stock filter, customers only, base prices) is unit-testable.
The ERP tables are described once here; :mod:`.ddl` and :mod:`.upsert` turn them into SQL.
Each record passes :func:`.storable.source` first, so every row holds only what PostgreSQL can
store as text (or the record is refused).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .errors import BadRecord, RecordRefusedError, SkipRow
from .storable import READ_AT, is_storable, preview, source

__all__ = [
    "BASE_PRICE_KEY",
    "CUSTOMERS",
    "PRODUCTS",
    "PRODUCT_PRICES",
    "TABLES",
    "BadRecord",
    "SkipRow",
    "Table",
    "base_price_row",
    "customer_row",
    "item_rows",
    "price_rows",
    "product_row",
    "table_for",
]

REPAIRED = "_repaired"  # in a row (never a column): the fields characters were removed from


@dataclass(frozen=True)
class Table:
    """One ERP table the sync owns columns of."""

    name: str
    key: tuple[str, ...]
    columns: tuple[tuple[str, str], ...]  # (name, SQL type) written by the sync, key included
    guard: str | None  # column compared for "newer wins"; None: the latest load wins
    tiebreak: str | None = None  # decides equal guards: the later-read version wins...
    # ...when these columns differ (an unchanged re-read is a no-op). Columns the target itself
    # changes (is_active, when a listing lacked the item) belong here: a later read heals them.
    content: tuple[str, ...] = ()

    @property
    def column_names(self) -> list[str]:
        """Names of the columns the sync writes."""
        return [name for name, _ in self.columns]


PRODUCTS = Table(
    "products",
    ("zoho_item_id",),
    (
        ("zoho_item_id", "TEXT NOT NULL"),
        ("organization_id", "TEXT"),
        ("sku", "TEXT"),
        ("name", "TEXT"),
        ("description", "TEXT"),
        ("unit", "TEXT"),
        ("price", "NUMERIC(20, 6)"),
        ("cost", "NUMERIC(20, 6)"),
        ("stock_on_hand", "NUMERIC(20, 6)"),
        ("available_stock", "NUMERIC(20, 6)"),
        ("is_active", "BOOLEAN"),
        ("image_url", "TEXT"),
        ("brand", "TEXT"),
        ("category", "TEXT"),
        ("source_modified_at", "TIMESTAMPTZ"),
        ("source_read_at", "TIMESTAMPTZ"),
        ("zoho_data", "JSONB"),
    ),
    "source_modified_at",
    "source_read_at",
    ("zoho_data", "is_active"),
)

PRODUCT_PRICES = Table(
    "product_prices",
    ("zoho_item_id", "zoho_pricebook_id"),
    (
        ("zoho_item_id", "TEXT NOT NULL"),
        ("zoho_pricebook_id", "TEXT NOT NULL"),
        ("organization_id", "TEXT"),
        ("pricebook_name", "TEXT"),
        ("currency_code", "TEXT"),
        ("price", "NUMERIC(20, 6)"),
    ),
    None,  # price lists carry no modification time
)

CUSTOMERS = Table(
    "customers",
    ("zoho_contact_id",),
    (
        ("zoho_contact_id", "TEXT NOT NULL"),
        ("organization_id", "TEXT"),
        ("name", "TEXT"),
        ("company_name", "TEXT"),
        ("email", "TEXT"),
        ("phone", "TEXT"),
        ("mobile", "TEXT"),
        ("currency_code", "TEXT"),
        ("payment_terms", "INTEGER"),
        ("outstanding_receivable", "NUMERIC(20, 6)"),
        ("is_active", "BOOLEAN"),
        ("source_modified_at", "TIMESTAMPTZ"),
        ("source_read_at", "TIMESTAMPTZ"),
        ("zoho_data", "JSONB"),
    ),
    "source_modified_at",
    "source_read_at",
    ("zoho_data",),
)

TABLES = (PRODUCTS, PRODUCT_PRICES, CUSTOMERS)

# The product_prices row holding an item's own selling price (Zoho ``rate``), written with every
# product next to the rows of its price lists (whose keys are Zoho's numeric price-list ids).
BASE_PRICE_KEY = "base"
BASE_PRICE_NAME = "Base price (item rate)"


def table_for(stream: str) -> Table | None:
    """Route ``books_items`` / ``inventory_items`` etc. to their ERP table."""
    if stream.endswith("_items") or stream == "items":
        return PRODUCTS
    if stream.endswith("_pricebooks") or stream == "pricebooks":
        return PRODUCT_PRICES
    if stream.endswith("_contacts") or stream == "contacts":
        return CUSTOMERS
    return None


def _time(value: Any) -> str | None:
    """The modified time as sent (PostgreSQL reads ``+0530`` offsets); checked, not converted.

    A time without an offset (Zoho always sends one; a stream map or another tap may not) is
    UTC: it gets ``+00:00`` rather than the session's time zone, so every server and session
    reads the same instant from it.
    """
    if value in (None, ""):
        return None
    text = str(value)
    if len(text) < 19 or text[4] != "-" or text[10] != "T":  # noqa: PLR2004
        raise BadRecord(f"unreadable last_modified_time {value!r}")
    if not any(mark in text[19:] for mark in ("+", "-", "Z", "z")):
        return f"{text}+00:00"
    return text


def _required(record: dict[str, Any], key: str) -> str:
    value = record.get(key)
    if value in (None, ""):
        raise BadRecord(f"record without {key}")
    return str(value)


def _with_repairs(row: dict[str, Any], repaired: tuple[str, ...]) -> dict[str, Any]:
    if repaired:
        row[REPAIRED] = repaired
    return row


def item_rows(
    record: dict[str, Any], *, with_stock_only: bool
) -> tuple[dict[str, Any], dict[str, Any]]:
    """An item's ``products`` row and its base-price ``product_prices`` row.

    ``SkipRow`` for an item without stock under ``with_stock_only``; ``RecordRefusedError``
    for an item PostgreSQL cannot store (:mod:`.storable`).
    """
    stock = record.get("stock_on_hand")
    if with_stock_only and not (
        isinstance(stock, (int, float, Decimal)) and not isinstance(stock, bool) and stock > 0
    ):
        raise SkipRow("no stock")
    stored = source(record, ("item_id",))
    record = stored.record
    item_id = _required(record, "item_id")
    name = record.get("name") or record.get("item_name")
    available = record.get("available_stock")
    product = {
        "zoho_item_id": item_id,
        "organization_id": record.get("organization_id"),
        "sku": record.get("sku"),
        "name": name,
        "description": record.get("description"),
        "unit": record.get("unit"),
        "price": record.get("rate"),
        "cost": record.get("purchase_rate"),
        "stock_on_hand": record.get("stock_on_hand"),
        "available_stock": available
        if available is not None
        else record.get("actual_available_stock"),
        "is_active": record.get("status", "active") == "active",
        "image_url": record.get("image_url") or None,
        "brand": record.get("brand") or None,
        "category": record.get("category_name") or None,
        "source_modified_at": _time(record.get("last_modified_time")),
        "source_read_at": record.get(READ_AT),
        "zoho_data": stored.json,
    }
    # ``name`` is not a column: it names the product in the run report when the row is refused.
    base_price = {
        "zoho_item_id": item_id,
        "zoho_pricebook_id": BASE_PRICE_KEY,
        "organization_id": record.get("organization_id"),
        "pricebook_name": BASE_PRICE_NAME,
        "currency_code": None,  # item rows carry no currency: the organisation's base currency
        "price": record.get("rate"),
        "name": name,
    }
    return _with_repairs(product, stored.repaired), base_price


def product_row(record: dict[str, Any], *, with_stock_only: bool) -> dict[str, Any]:
    """A ``products`` row from an item record."""
    return item_rows(record, with_stock_only=with_stock_only)[0]


def base_price_row(record: dict[str, Any]) -> dict[str, Any]:
    """The item's own price as a ``product_prices`` row (key ``BASE_PRICE_KEY``).

    ``name`` is not a column: it names the product in the run report when the row is refused.
    """
    return item_rows(record, with_stock_only=False)[1]


def customer_row(record: dict[str, Any]) -> dict[str, Any]:
    """A ``customers`` row from a contact record (vendors are skipped)."""
    if record.get("contact_type", "customer") != "customer":
        raise SkipRow("not a customer")
    stored = source(record, ("contact_id",))
    record = stored.record
    row = {
        "zoho_contact_id": _required(record, "contact_id"),
        "organization_id": record.get("organization_id"),
        "name": record.get("contact_name"),
        "company_name": record.get("company_name"),
        "email": record.get("email"),
        "phone": record.get("phone"),
        "mobile": record.get("mobile"),
        "currency_code": record.get("currency_code"),
        "payment_terms": record.get("payment_terms"),
        "outstanding_receivable": record.get("outstanding_receivable_amount"),
        "is_active": record.get("status", "active") == "active",
        "source_modified_at": _time(record.get("last_modified_time")),
        "source_read_at": record.get(READ_AT),
        "zoho_data": stored.json,
    }
    return _with_repairs(row, stored.repaired)


def price_rows(record: dict[str, Any]) -> list[dict[str, Any]]:
    """One ``product_prices`` row per item of a sales price list (purchase lists are skipped).

    ``product_prices`` holds selling prices; a purchase price list holds what suppliers charge,
    which the ERP must not mistake for a price (its records still reach other targets).
    """
    book_id = _required(record, "pricebook_id")
    if record.get("sales_or_purchase_type") == "purchases":
        raise SkipRow("purchase price list")
    stored = source(record, ("pricebook_id",))
    entries = record.get("pricebook_items") or []
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise BadRecord(f"pricebook_items is not a list of items: {preview(entries)}")
    if "pricebook_items" in stored.repaired:  # ids are never altered: refused instead
        for entry in entries:
            item_id = entry.get("item_id")
            if isinstance(item_id, str) and not is_storable(item_id):
                reason = "an id holding characters PostgreSQL cannot store (NUL, lone surrogates)"
                raise RecordRefusedError("pricebook_items.item_id", preview(item_id), reason)
    record = stored.record
    entries = record["pricebook_items"] if "pricebook_items" in stored.repaired else entries
    rows = [
        {
            "zoho_item_id": _required(entry, "item_id"),
            "zoho_pricebook_id": book_id,
            "organization_id": record.get("organization_id"),
            "pricebook_name": record.get("name"),
            "currency_code": record.get("currency_code"),
            "price": entry.get("pricebook_rate"),
        }
        for entry in entries
    ]
    if rows and stored.repaired:
        rows[0][REPAIRED] = stored.repaired
    return rows
