"""Zoho Books v3 and Zoho Inventory v1: where each product lives, and its streams.

The two products differ only in their stream names (``books_*``, ``inventory_*``) and paths
(``/books/v3``, ``/inventory/v1``); each gets items, contacts and price lists for the
organisations its setting names.
"""

from __future__ import annotations

import typing as t

from .resources import ContactsStream, ItemsStream, PricebooksStream

if t.TYPE_CHECKING:
    from collections.abc import Mapping

    from singer_sdk import Tap

    from tap_zoho.run_context import RunContext

    from .stream import FinanceStream

BOOKS_SETTING = "books_organization_id"
INVENTORY_SETTING = "inventory_organization_id"


def organization_ids(value: t.Any) -> list[str]:
    """``"123"``, ``123`` or ``["123", "456"]`` -> ``["123", "456"]``."""
    if value in (None, "", []):
        return []
    values = value if isinstance(value, list) else [value]
    return [str(v).strip() for v in values if str(v).strip()]


class BooksApi:
    """Where Books lives: stream names ``books_*``, paths under ``/books/v3``."""

    family: t.ClassVar[str] = "books"
    base_path: t.ClassVar[str] = "/books/v3"


class BooksItemsStream(BooksApi, ItemsStream):
    """``books_items``: ``GET /books/v3/items``."""


class BooksContactsStream(BooksApi, ContactsStream):
    """``books_contacts``: ``GET /books/v3/contacts``."""


class BooksPricebooksStream(BooksApi, PricebooksStream):
    """``books_pricebooks``: ``GET /books/v3/pricebooks``."""


class InventoryApi:
    """Where Inventory lives: stream names ``inventory_*``, paths under ``/inventory/v1``."""

    family: t.ClassVar[str] = "inventory"
    base_path: t.ClassVar[str] = "/inventory/v1"


class InventoryItemsStream(InventoryApi, ItemsStream):
    """``inventory_items``: ``GET /inventory/v1/items``."""


class InventoryContactsStream(InventoryApi, ContactsStream):
    """``inventory_contacts``: ``GET /inventory/v1/contacts``."""


class InventoryPricebooksStream(InventoryApi, PricebooksStream):
    """``inventory_pricebooks``: ``GET /inventory/v1/pricebooks``."""


PRODUCTS: tuple[tuple[str, tuple[type[FinanceStream], ...]], ...] = (
    (BOOKS_SETTING, (BooksItemsStream, BooksContactsStream, BooksPricebooksStream)),
    (
        INVENTORY_SETTING,
        (InventoryItemsStream, InventoryContactsStream, InventoryPricebooksStream),
    ),
)


def finance_streams(
    tap: Tap, run_context: RunContext, config: Mapping[str, t.Any]
) -> list[FinanceStream]:
    """Books, then Inventory streams, for the organisations the settings name (none: none)."""
    streams: list[FinanceStream] = []
    for setting, classes in PRODUCTS:
        organizations = organization_ids(config.get(setting))
        if organizations:
            streams += [cls(tap, run_context, organizations) for cls in classes]
    return streams
