"""In-memory CRM data: modules, field metadata, records, deletions and a virtual clock.

The store knows nothing about HTTP. It keeps every record in its wire form (what Zoho would put in
``data[]``) plus the instant of its ``Modified_Time`` as an epoch second, so that sorting and the
``If-Modified-Since`` filter compare instants, never strings with different offsets.
"""

from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from . import visibility
from .views import View, normalise, ordered, view_records

BASE_INSTANT = datetime(2024, 1, 1, tzinfo=UTC)


class VirtualClock:
    """A clock that only moves when told to, so tests control every ``Modified_Time``.

    Zoho stamps times with one-second resolution; so does this clock. Every response carries the
    clock in its ``Date`` header (:meth:`served`). Unpinned, reads are served ``read_delay``
    seconds after the newest stamp (time passes between an edit and a read). :meth:`pin` holds
    the clock in one second: edits then share that second (a mass update, two edits within one
    second) and reads are served within it, until :meth:`unpin` or :meth:`step`.
    """

    read_delay = 10

    def __init__(self, start: datetime = BASE_INSTANT) -> None:
        self._now = int(start.timestamp())
        self._lock = threading.Lock()
        self.pinned = False

    def now(self) -> int:
        """Return the current epoch second."""
        return self._now

    def advance(self, seconds: int = 1) -> int:
        """Move forward (not while pinned) and return the epoch second an edit is stamped at."""
        with self._lock:
            if not self.pinned:
                self._now += seconds
            return self._now

    def step(self, seconds: int = 1) -> int:
        """Move forward even while pinned (the pinned second ends, the next one is pinned)."""
        with self._lock:
            self._now += seconds
            return self._now

    def pin(self) -> int:
        """Hold the clock in the next second: edits and reads from now on share it."""
        with self._lock:
            self._now += 1
            self.pinned = True
            return self._now

    def unpin(self) -> None:
        """Let time run again: the next edit is stamped in a later second."""
        self.pinned = False

    def served(self) -> int:
        """The epoch second a response is served at (its ``Date`` header)."""
        return self._now if self.pinned else self._now + self.read_delay

    def set_at_least(self, epoch: int) -> None:
        """Never let the clock fall behind data seeded with explicit instants."""
        with self._lock:
            self._now = max(self._now, epoch)


def render_datetime(epoch: int, zone: ZoneInfo) -> str:
    """Render an instant the way CRM does: second precision, the API user's zone, colon offset."""
    return datetime.fromtimestamp(epoch, zone).isoformat(timespec="seconds")


@dataclass
class FieldMeta:
    """One entry of ``/settings/fields``: the keys a client relies on."""

    api_name: str
    data_type: str
    json_type: str
    length: int | None = None
    decimal_place: int | None = None
    custom_field: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self, index: int, module_id: str) -> dict[str, Any]:
        """Render as Zoho's field metadata object."""
        body: dict[str, Any] = {
            "id": f"{module_id[:10]}{index:09d}",
            "api_name": self.api_name,
            "field_label": self.api_name.replace("_", " "),
            "display_label": self.api_name.replace("_", " "),
            "data_type": self.data_type,
            "json_type": self.json_type,
            "length": self.length,
            "decimal_place": self.decimal_place,
            "system_mandatory": self.api_name in {"Last_Name", "Name"},
            "custom_field": self.custom_field,
            "read_only": self.data_type in {"autonumber", "formula", "rollup_summary"},
            "field_read_only": False,
            "visible": True,
            "pick_list_values": [],
            "lookup": {},
            "formula": {},
            "rollup_summary": {},
            "auto_number": {},
            "created_time": None,
            "modified_time": None,
        }
        body.update(self.extra)
        return body


@dataclass
class DeletedEntry:
    """One entry of ``/{module}/deleted``."""

    record_id: str
    display_name: str | None
    kind: str  # recycle | permanent
    epoch: int


@dataclass
class Module:
    """A CRM module with its metadata, live records and deletion log."""

    api_name: str
    module_id: str
    generated_type: str = "default"
    api_supported: bool = True
    permitted: bool = True
    has_field_metadata: bool = True
    fields: list[FieldMeta] = field(default_factory=list)
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    modified: dict[str, int] = field(default_factory=dict)
    created: dict[str, int] = field(default_factory=dict)
    deleted: list[DeletedEntry] = field(default_factory=list)
    unapproved: set[str] = field(default_factory=set)
    # A subform or linking module (views.py): its rows belong to records of ``parent``.
    parent: Module | None = None
    row_parent: dict[str, str] = field(default_factory=dict)
    children: dict[str, list[str]] = field(default_factory=dict)
    _order_cache: dict[str, tuple[list[str], list[int]]] = field(default_factory=dict)

    @property
    def field_names(self) -> list[str]:
        """API names of every field, in metadata order."""
        return [f.api_name for f in self.fields]

    def has_field(self, name: str) -> bool:
        """True when ``name`` is a field of this module."""
        return any(f.api_name == name for f in self.fields)

    def is_approved(self, rid: str) -> bool:
        """False while the record is in an approval process (seeded, or ``$approved: false``).

        A subform row or a link is as approved as its parent record.
        """
        if self.parent is not None:
            return self.parent.is_approved(self.row_parent[rid])
        return rid not in self.unapproved and not visibility.is_unapproved(self.records[rid])

    def listed(self, rid: str, *, converted: str, approved: str) -> bool:
        """Whether Get Records shows this record under ``converted`` / ``approved`` (3.1).

        ``converted``: ``false`` (Zoho's default) hides converted Leads, ``true`` shows only them,
        ``both`` shows all; ``approved``: ``true`` (default) hides records still in an approval
        process, ``false`` shows only those, ``both`` shows all.
        """
        if self.parent is not None:  # a row is shown with its parent record
            parent_id = self.row_parent[rid]
            return self.parent.listed(parent_id, converted=converted, approved=approved)
        is_converted = visibility.is_converted(self.records[rid])
        is_approved = self.is_approved(rid)
        return (converted == "both" or (converted == "true") == is_converted) and (
            approved == "both" or (approved == "true") == is_approved
        )

    def invalidate(self) -> None:
        """Drop cached sort orders after a mutation."""
        self._order_cache.clear()

    def ordered_ids(self, sort_by: str) -> tuple[list[str], list[int]]:
        """Record ids sorted ascending by ``sort_by`` (ties by id), with their sort keys."""
        cached = self._order_cache.get(sort_by)
        if cached is not None:
            return cached
        if sort_by == "Modified_Time":
            keys = self.modified
        elif sort_by == "Created_Time":
            keys = self.created
        else:
            keys = {rid: int(rid) for rid in self.records}
        ordered = sorted(self.records, key=lambda rid: (keys.get(rid, 0), int(rid)))
        result = (ordered, [keys.get(rid, 0) for rid in ordered])
        self._order_cache[sort_by] = result
        return result


class CrmStore:
    """Thread-safe holder of all modules, with the mutations tests use between syncs."""

    def __init__(self, zone: str = "Asia/Kolkata") -> None:
        self.zone = ZoneInfo(zone)
        self.clock = VirtualClock()
        self.modules: dict[str, Module] = {}
        self.lock = threading.RLock()
        self._next_id = 5843104000001000000
        self.views: dict[str, View] = {}  # subform and linking modules by name (views.py)
        self.link_created: dict[str, int] = {}  # when each link of a multi lookup was made
        self.row_order = "sequence"  # a single read's subform row order (views.ordered)

    # ----------------------------------------------------------------- identity
    def new_id(self) -> str:
        """Return a fresh 19-digit record id."""
        with self.lock:
            self._next_id += 1
            return str(self._next_id)

    def dt(self, epoch: int) -> str:
        """Render an epoch second in the API user's zone."""
        return render_datetime(epoch, self.zone)

    # ----------------------------------------------------------------- mutations
    def add_module(self, module: Module) -> Module:
        """Register a module."""
        with self.lock:
            self.modules[module.api_name] = module
            return module

    def add_view(self, view: View, fields: list[FieldMeta]) -> Module:
        """Register the subform or linking module fed by ``view.field`` of ``view.parent``."""
        with self.lock:
            parent = self.modules[view.parent]
            module = self.add_module(
                Module(
                    api_name=view.name,
                    module_id=str(5843104000000003000 + len(self.modules)),
                    generated_type=view.kind,
                    fields=fields,
                    parent=parent,
                )
            )
            self.views[view.name] = view
            for rid, record in parent.records.items():
                epoch = parent.modified.get(rid, self.clock.now())
                record[view.field] = normalise(self, view, rid, record, old=None, epoch=epoch)
                self._refresh_views(parent, rid)
            return module

    def reorder_rows(self, reading: str) -> None:
        """Hold every parent's subform rows in the order ``reading`` says (views.ordered)."""
        with self.lock:
            self.row_order = reading
            for view in self.views.values():
                if view.kind != "subform":
                    continue
                for record in self.modules[view.parent].records.values():
                    record[view.field] = ordered(record.get(view.field) or [], reading)

    def views_of(self, module_name: str) -> list[View]:
        """The subform and linking modules fed by a module's fields."""
        return [v for v in self.views.values() if v.parent == module_name]

    def _normalise_views(
        self, module: Module, rid: str, record: dict[str, Any], old: dict[str, Any], epoch: int
    ) -> None:
        for view in self.views_of(module.api_name):
            record[view.field] = normalise(
                self, view, rid, record, old=old.get(view.field), epoch=epoch
            )

    def _refresh_views(self, module: Module, rid: str) -> None:
        """Make every view module hold exactly the rows the parent record ``rid`` holds now."""
        record = module.records.get(rid)
        for view in self.views_of(module.api_name):
            rows = self.modules[view.name]
            for row_id in rows.children.pop(rid, []):
                rows.records.pop(row_id, None)
                rows.modified.pop(row_id, None)
                rows.created.pop(row_id, None)
                rows.row_parent.pop(row_id, None)
            if record is not None:
                for row, epoch in view_records(self, view, rid, record):
                    rows.records[row["id"]] = row
                    rows.modified[row["id"]] = epoch
                    rows.created.setdefault(row["id"], epoch)
                    rows.row_parent[row["id"]] = rid
                    rows.children.setdefault(rid, []).append(row["id"])
            rows.invalidate()

    def put_record(
        self,
        module_name: str,
        values: dict[str, Any],
        *,
        modified_epoch: int | None = None,
        record_id: str | None = None,
    ) -> str:
        """Create a record (or replace one) with ``Modified_Time`` at ``modified_epoch`` or now."""
        with self.lock:
            module = self.modules[module_name]
            rid = record_id or self.new_id()
            epoch = self.clock.now() if modified_epoch is None else modified_epoch
            self.clock.set_at_least(epoch)
            record = dict.fromkeys(module.field_names)
            record.update(values)
            record["id"] = rid
            self._normalise_views(module, rid, record, module.records.get(rid) or {}, epoch)
            module.created.setdefault(rid, epoch)
            if module.has_field("Created_Time"):
                record["Created_Time"] = self.dt(module.created[rid])
            if module.has_field("Modified_Time"):
                record["Modified_Time"] = self.dt(epoch)
            module.records[rid] = record
            module.modified[rid] = epoch
            module.invalidate()
            self._refresh_views(module, rid)
            return rid

    def update_record(self, module_name: str, record_id: str, changes: dict[str, Any]) -> None:
        """Change some values; ``Modified_Time`` moves to the clock's next second."""
        with self.lock:
            module = self.modules[module_name]
            record = module.records[record_id]
            epoch = self.clock.advance()
            old = dict(record)
            record.update(changes)
            self._normalise_views(module, record_id, record, old, epoch)
            if module.has_field("Modified_Time"):
                record["Modified_Time"] = self.dt(epoch)
            module.modified[record_id] = epoch
            module.invalidate()
            self._refresh_views(module, record_id)

    def delete_record(self, module_name: str, record_id: str, *, permanent: bool = False) -> None:
        """Move a record to the recycle bin (or purge it) at the clock's next second."""
        with self.lock:
            module = self.modules[module_name]
            record = module.records.pop(record_id)
            module.modified.pop(record_id, None)
            module.created.pop(record_id, None)
            epoch = self.clock.advance()
            name = None if permanent else str(record.get("Last_Name") or record.get("Name") or "")
            module.deleted.append(
                DeletedEntry(record_id, name, "permanent" if permanent else "recycle", epoch)
            )
            module.invalidate()
            self._refresh_views(module, record_id)

    def add_field(self, module_name: str, meta: FieldMeta, default: Any = None) -> None:
        """Add a custom field; existing records get ``default`` without changing Modified_Time."""
        with self.lock:
            module = self.modules[module_name]
            module.fields.append(meta)
            for record in module.records.values():
                record[meta.api_name] = default
            module.invalidate()

    # ----------------------------------------------------------------- queries
    def window(
        self,
        module: Module,
        *,
        sort_by: str,
        descending: bool,
        modified_after: int | None,
        ids: list[str] | None,
        converted: str = "both",
        approved: str = "both",
    ) -> list[str]:
        """Ids matching a Get Records query, in response order."""
        with self.lock:
            result = self._window(module, sort_by, modified_after, ids)
            if converted != "both" or approved != "both":
                result = [
                    rid
                    for rid in result
                    if module.listed(rid, converted=converted, approved=approved)
                ]
            return list(reversed(result)) if descending else list(result)

    @staticmethod
    def _window(
        module: Module, sort_by: str, modified_after: int | None, ids: list[str] | None
    ) -> list[str]:
        if ids is not None:
            wanted = [rid for rid in ids if rid in module.records]
            if modified_after is not None:
                wanted = [rid for rid in wanted if module.modified[rid] > modified_after]
            ordered, _ = module.ordered_ids(sort_by)
            rank = {rid: i for i, rid in enumerate(ordered) if rid in set(wanted)}
            result = sorted(wanted, key=rank.__getitem__)
        else:
            ordered, keys = module.ordered_ids(sort_by)
            if modified_after is not None and sort_by == "Modified_Time":
                start = bisect.bisect_right(keys, modified_after)
                result = ordered[start:]
            elif modified_after is not None:
                result = [rid for rid in ordered if module.modified[rid] > modified_after]
            else:
                result = ordered
        return list(result)

    def deleted_since(self, module: Module, kind: str, after: int | None) -> list[DeletedEntry]:
        """Deletion entries, oldest first, filtered by type and ``If-Modified-Since``."""
        with self.lock:
            entries = [
                e
                for e in module.deleted
                if kind in {"all", e.kind} and (after is None or e.epoch > after)
            ]
            return sorted(entries, key=lambda e: (e.epoch, int(e.record_id)))


def epoch_of(value: str) -> int:
    """Parse an ISO-8601 datetime with offset into an epoch second."""
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp())


def days(n: int) -> int:
    """Seconds in ``n`` days."""
    return int(timedelta(days=n).total_seconds())
