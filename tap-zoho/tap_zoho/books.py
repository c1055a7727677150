"""Zoho Books v3: items, contacts and price lists (the shared code is in :mod:`.finance`)."""

from __future__ import annotations

import typing as t

from .finance import FinanceStream, family_streams

if t.TYPE_CHECKING:
    from singer_sdk import Tap

BASE_PATH = "/books/v3"


def books_streams(tap: Tap, organizations: list[str]) -> list[FinanceStream]:
    """``books_items``, ``books_contacts``, ``books_pricebooks``."""
    return family_streams(tap, "books", BASE_PATH, organizations)
