"""What users do to Zoho data while a sync runs, as the soak test needs it (contract 3.1, 6.4).

Plain edits, inserts and deletes are :class:`~.server.Sandbox` methods; this module adds the edits
that break naive incremental reads:

* a **mass update**: many records stamped with one ``Modified_Time`` second (an import, a
  workflow, a mass update), so a reader pages through one second;
* an **edit within the same second** as the record's previous edit (Zoho's times have one-second
  resolution), which only counts when that second is still the clock's current one;
* a Lead **conversion** (the Lead becomes hidden by Get Records' defaults and a Deal appears) and
  records **entering or leaving an approval process** (hidden by default while pending);
* Books **item deletion** (Books has no deletion feed: the item simply vanishes from lists and
  from the price lists that priced it) and price-list **rate edits** (price lists carry no
  modification time).

Every function takes the store's or the finance backend's lock, so a mass update is atomic for
readers, as one Zoho operation is.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from .store import render_datetime

if TYPE_CHECKING:
    from .server import Sandbox


def mass_update(
    sandbox: Sandbox,
    module_name: str,
    record_ids: Iterable[str],
    changes: Callable[[str], dict[str, Any]],
) -> int:
    """Change every record in one operation: all get the same, new ``Modified_Time`` second."""
    store = sandbox.store
    with store.lock:
        module = store.modules[module_name]
        epoch = store.clock.advance()
        for rid in record_ids:
            record = module.records[rid]
            store.put_record(
                module_name, {**record, **changes(rid)}, modified_epoch=epoch, record_id=rid
            )
        return epoch


@contextlib.contextmanager
def one_second(sandbox: Sandbox) -> Iterator[None]:
    """Hold the sandbox clock in one second while the block runs, where the clock can be held
    (edits and reads then share that second, and answers' ``Date`` says so); a clock without
    ``pin`` only moves with edits anyway."""
    clock = sandbox.store.clock
    pin, unpin = getattr(clock, "pin", None), getattr(clock, "unpin", None)
    if pin is None or unpin is None:
        yield
        return
    pin()
    try:
        yield
    finally:
        unpin()


def still_in_second(sandbox: Sandbox, epoch: int) -> bool:
    """True while an edit can still be stamped at ``epoch``: it is the clock's second, and the
    clock (when it can be held) is held there, so no answer has been served past it."""
    clock = sandbox.store.clock
    return epoch == clock.now() and bool(getattr(clock, "pinned", True))


def edit_within_second(
    sandbox: Sandbox, module_name: str, record_id: str, changes: dict[str, Any]
) -> bool:
    """Edit a record again within the second of its last edit (inside :func:`one_second`);
    False (nothing done) when that second is over, as a real edit can then no longer share it."""
    store = sandbox.store
    with store.lock:
        module = store.modules[module_name]
        epoch = module.modified.get(record_id)
        if epoch is None or not still_in_second(sandbox, epoch):
            return False
        store.put_record(
            module_name,
            {**module.records[record_id], **changes},
            modified_epoch=epoch,
            record_id=record_id,
        )
        return True


def convert_lead(sandbox: Sandbox, lead_id: str, deal_values: dict[str, Any]) -> str:
    """Convert a Lead: it is flagged converted (hidden by default lists) and a Deal is created."""
    store = sandbox.store
    with store.lock:
        when = render_datetime(store.clock.now() + 1, store.zone)
        sandbox.update("Leads", lead_id, {"Converted__s": True, "Converted_Date_Time": when})
        return sandbox.create("Deals", deal_values)


def set_approval(
    sandbox: Sandbox, module_name: str, record_id: str, *, pending: bool, changes: dict[str, Any]
) -> None:
    """Put a record into an approval process (``pending``) or approve it, editing it too."""
    store = sandbox.store
    with store.lock:
        module = store.modules[module_name]
        if not pending:
            module.unapproved.discard(record_id)
        sandbox.update(module_name, record_id, {**changes, "$approved": not pending})


def is_pending_approval(sandbox: Sandbox, module_name: str, record_id: str) -> bool:
    """True while the record is in an approval process (hidden by default lists)."""
    with sandbox.store.lock:
        return not sandbox.store.modules[module_name].is_approved(record_id)


# ---------------------------------------------------------------------- Books / Inventory
def mass_update_items(
    sandbox: Sandbox,
    organization_id: str,
    item_ids: Iterable[str],
    changes: Callable[[str], dict[str, Any]],
) -> int:
    """Change many items in one operation: one ``last_modified_time`` second for all."""
    finance = sandbox.finance
    org = finance.orgs[organization_id]
    with finance.lock:
        epoch = int(finance.clock.advance())
        for iid in item_ids:
            finance.put_item(org, {**org.items[iid], **changes(iid)}, epoch=epoch, item_id=iid)
        return epoch


def import_items(sandbox: Sandbox, organization_id: str, rows: list[dict[str, Any]]) -> list[str]:
    """Create many items in one import: they share one ``last_modified_time`` second."""
    finance = sandbox.finance
    org = finance.orgs[organization_id]
    with finance.lock:
        epoch = finance.clock.advance()
        return [finance.put_item(org, row, epoch=epoch) for row in rows]


def edit_item_within_second(
    sandbox: Sandbox, organization_id: str, item_id: str, changes: dict[str, Any]
) -> bool:
    """Edit an item again within the second of its last edit (False when that second is over)."""
    finance = sandbox.finance
    org = finance.orgs[organization_id]
    with finance.lock:
        epoch = org.modified.get(item_id)
        if epoch is None or not still_in_second(sandbox, epoch):
            return False
        finance.put_item(org, {**org.items[item_id], **changes}, epoch=epoch, item_id=item_id)
        return True


def update_contact(
    sandbox: Sandbox, organization_id: str, contact_id: str, changes: dict[str, Any]
) -> None:
    """Change a contact; its ``last_modified_time`` moves to the clock's next second."""
    sandbox.finance.update_contact(organization_id, contact_id, changes)


def delete_item(sandbox: Sandbox, organization_id: str, item_id: str) -> None:
    """Delete an item as Zoho does (gone from every list and price list; 404 code 1002)."""
    sandbox.finance.delete_item(organization_id, item_id)


def set_pricebook_rate(
    sandbox: Sandbox, organization_id: str, pricebook_id: str, item_id: str, rate: float
) -> None:
    """Change (or add) one item's rate in a per-item price list."""
    finance = sandbox.finance
    with finance.lock:
        book = finance.orgs[organization_id].pricebooks[pricebook_id]
        for entry in book["pricebook_items"]:
            if entry["item_id"] == item_id:
                entry["pricebook_rate"] = rate
                return
        book["pricebook_items"].append(
            {"item_id": item_id, "pricebook_rate": rate, "pricebook_item_id": finance.new_id()}
        )
