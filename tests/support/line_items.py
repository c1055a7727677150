"""Line items moved about in a quote of the sandbox: a line added at the top, the others renumbered."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.zoho_sandbox import Sandbox

ITEMS = "Quoted_Items"


def reorder_a_quote(sandbox: Sandbox) -> str:
    """Add a line at the top of a quote with lines: Sequence_Number 1, the newest id."""
    quotes = sandbox.records("Quotes")
    qid = next(q for q, record in quotes.items() if len(record[ITEMS]) >= 2)
    items = quotes[qid][ITEMS]
    added = {k: v for k, v in items[0].items() if k not in {"id", "Parent_Id"}}
    added.update(Description="top", Sequence_Number=1)
    renumbered = [{**item, "Sequence_Number": n} for n, item in enumerate(items, start=2)]
    sandbox.update("Quotes", qid, {ITEMS: [*renumbered, added]})  # given out of either order
    return qid
