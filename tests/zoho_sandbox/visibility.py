"""Which records a read can see: converted Leads and records under approval (3.1, 4.4)."""

from __future__ import annotations

from typing import Any


def is_converted(record: dict[str, Any]) -> bool:
    """A converted Lead (``$converted`` flag or ``Converted__s`` field)."""
    return record.get("$converted") is True or record.get("Converted__s") is True


def is_unapproved(record: dict[str, Any]) -> bool:
    """A record still in an approval process."""
    return record.get("$approved") is False


def visible_to(query: dict[str, str], record: dict[str, Any]) -> bool:
    """Get Records' ``converted``/``approved`` filters, when the caller sends them explicitly."""
    converted = query.get("converted")
    if converted == "true" and not is_converted(record):
        return False
    if converted == "false" and is_converted(record):
        return False
    approved = query.get("approved")
    if approved == "true" and is_unapproved(record):
        return False
    return not (approved == "false" and not is_unapproved(record))
