"""The contract's floor for completing a CRM module's values, computed from the sandbox's data.

Contract 3.3's cost table, per module of N parents (F fields a list returns), R_s rows in each of
its subform and linking modules and T records whose rich text a list or an export may have cut:

* Get Records + lists: ceil(N/200) x ceil(F/50) + sum_s ceil(R_s/200) + T;
* Bulk Read: per module (parent, subform, linking) one job per 200,000 rows, 50 credits + a poll
  + a download (3 calls at least), + Get Records pages for the fields Bulk Read cannot export that
  lists return, + T;
* per subform or linking module, the cheaper of its list pages and its job.

The floor counts only what the data needs: no metadata, no deletions (the tests allow for those).
Calls and credits are floored apart (a job is one call but 50 credits).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.zoho_sandbox import Sandbox

LIST_OMITTED = {"subform", "multiselectlookup", "multiuserlookup"}
NOT_EXPORTABLE = {"imageupload", "linetax", "multireminder", "fileupload"}  # lists return them
JOB_CREDITS, JOB_CALLS = 52, 3
RICH_TEXT_CUT = 500


@dataclass(frozen=True)
class Floor:
    """Calls and credits a route needs, at least."""

    calls: int
    credits: int

    def __add__(self, other: Floor) -> Floor:
        return Floor(self.calls + other.calls, self.credits + other.credits)


def pages(count: int, fields: int = 1) -> int:
    """Get Records calls for ``count`` records of ``fields`` fields."""
    return math.ceil(count / 200) * math.ceil(fields / 50) if count else 0


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def rich_text_reads(sandbox: Sandbox, module: str) -> int:
    """T: records whose rich text a list (cut at 500) may have cut."""
    meta = sandbox.store.modules[module]
    rich = [
        f.api_name
        for f in meta.fields
        if f.data_type == "textarea" and (f.extra.get("textarea") or {}).get("type") == "rich_text"
    ]
    return sum(
        1
        for record in sandbox.records(module).values()
        if any(utf16(record.get(name) or "") >= RICH_TEXT_CUT for name in rich)
    )


def linked_rows(sandbox: Sandbox, module: str) -> dict[str, int]:
    """R_s of each subform or linking module fed by ``module``."""
    return {
        view.name: len(sandbox.store.modules[view.name].records)
        for view in sandbox.store.views_of(module)
    }


def module_floor(sandbox: Sandbox, module: str, *, bulk: bool = False) -> Floor:
    """The floor of a first full sync of ``module`` with every value whole."""
    meta = sandbox.store.modules[module]
    n = len(meta.records)
    listed_fields = [f for f in meta.fields if f.data_type not in LIST_OMITTED]
    rows = linked_rows(sandbox, module)
    rich = rich_text_reads(sandbox, module)
    if not bulk:
        calls = pages(n, len(listed_fields)) + sum(pages(r) for r in rows.values()) + rich
        return Floor(calls, calls)
    fill = pages(n, len([f for f in listed_fields if f.data_type in NOT_EXPORTABLE]))
    floor = Floor(JOB_CALLS + fill + rich, JOB_CREDITS + fill + rich)
    for count in rows.values():
        floor += Floor(min(pages(count), JOB_CALLS), min(pages(count), JOB_CREDITS))
    return floor
