"""Zoho Inventory v1: items, contacts and price lists (the shared code is in :mod:`.finance`)."""

from __future__ import annotations

import typing as t

from .finance import ContactsStream, FinanceStream, ItemsStream, PricebooksStream

if t.TYPE_CHECKING:
    from singer_sdk import Tap


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


def inventory_streams(tap: Tap, organizations: list[str]) -> list[FinanceStream]:
    """``inventory_items``, ``inventory_contacts``, ``inventory_pricebooks``."""
    return [
        InventoryItemsStream(tap, organizations),
        InventoryContactsStream(tap, organizations),
        InventoryPricebooksStream(tap, organizations),
    ]
