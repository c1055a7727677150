"""What makes a record hidden by Get Records' defaults: a converted Lead, or a record under
approval (3.1). The filtering itself is ``store.Module.listed``."""

from __future__ import annotations

from typing import Any


def is_converted(record: dict[str, Any]) -> bool:
    """A converted Lead (``$converted`` flag or ``Converted__s`` field)."""
    return record.get("$converted") is True or record.get("Converted__s") is True


def is_unapproved(record: dict[str, Any]) -> bool:
    """A record still in an approval process."""
    return record.get("$approved") is False
