"""What a tap run's items listing claimed: its versions, its ACTIVATE_VERSION, the ids it listed.

Shared by the tests of ``items_reconcile_deletions`` in the test process and through the CLI.
"""

from __future__ import annotations

from typing import Any

from tests.zoho_sandbox import BOOKS_ORG

ITEMS = "books_items"


def activations(run: Any, stream: str = ITEMS) -> list[dict[str, Any]]:
    """The ACTIVATE_VERSION messages of ``stream``."""
    return [m for m in run.messages if m["type"] == "ACTIVATE_VERSION" and m["stream"] == stream]


def versions(run: Any, stream: str = ITEMS) -> set[Any]:
    """The versions the records of ``stream`` carry."""
    return {
        m.get("version") for m in run.messages if m["type"] == "RECORD" and m["stream"] == stream
    }


def listed(run: Any, version: Any, stream: str = ITEMS) -> set[str]:
    """Ids of the records stamped with ``version``."""
    return {
        m["record"]["item_id"]
        for m in run.messages
        if m["type"] == "RECORD" and m["stream"] == stream and m.get("version") == version
    }


def item_calls(sandbox: Any, since: int = 0) -> list[dict[str, str]]:
    """The query parameters of the sandbox's Books item list calls since call ``since``."""
    return [q for path, q in sandbox.finance.queries[since:] if path == "/books/v3/items"]


def delete(sandbox: Any, *ids: str, org: str = BOOKS_ORG) -> None:
    """Delete Books items as Zoho does (gone from every list, 404 on a read)."""
    for iid in ids:
        sandbox.finance.delete_item(org, iid)
