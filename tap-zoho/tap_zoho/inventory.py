"""Zoho Inventory v1: items, contacts and price lists (the shared code is in :mod:`.finance`)."""

from __future__ import annotations

import typing as t

from .finance import FinanceStream, family_streams

if t.TYPE_CHECKING:
    from singer_sdk import Tap

BASE_PATH = "/inventory/v1"


def inventory_streams(tap: Tap, organizations: list[str]) -> list[FinanceStream]:
    """``inventory_items``, ``inventory_contacts``, ``inventory_pricebooks``."""
    return family_streams(tap, "inventory", BASE_PATH, organizations)
