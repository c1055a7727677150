"""Zoho Books v3: items, contacts and price lists (the shared code is in :mod:`.finance`)."""

from __future__ import annotations

import typing as t

from .finance import ContactsStream, FinanceStream, ItemsStream, PricebooksStream

if t.TYPE_CHECKING:
    from singer_sdk import Tap


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


def books_streams(tap: Tap, organizations: list[str]) -> list[FinanceStream]:
    """``books_items``, ``books_contacts``, ``books_pricebooks``."""
    return [
        BooksItemsStream(tap, organizations),
        BooksContactsStream(tap, organizations),
        BooksPricebooksStream(tap, organizations),
    ]
