"""The end-of-run report, shaped like the legacy service's response (``shared/seeds/000``)."""

from __future__ import annotations

import json
import threading
import typing as t
from dataclasses import dataclass, field

if t.TYPE_CHECKING:
    import enum


@dataclass
class RunSummary:
    """Modules synced with their counts, modules failed with their errors.

    ``expected`` failures (no permission, no scope, not API-supported, no field metadata) of
    modules the user did not name are warnings; any other failure fails the run.
    """

    named_modules: frozenset[str] = frozenset()
    strict: bool = False
    synced_modules: list[dict[str, object]] = field(default_factory=list)
    failed_modules: list[dict[str, object]] = field(default_factory=list)
    cut_short_modules: list[dict[str, object]] = field(default_factory=list)
    credits_used: int = 0
    incomplete_records: dict[str, int] = field(default_factory=dict)
    unlisted_deletions: list[dict[str, str]] = field(default_factory=list)
    completion_routes: list[dict[str, str]] = field(default_factory=list)
    reference_streams: list[dict[str, object]] = field(default_factory=list)
    repaired_values: dict[str, int] = field(default_factory=dict)
    _fatal: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def synced(self, module: str, records: int, deleted: int = 0) -> None:
        """Record a module that completed."""
        with self._lock:
            self.synced_modules.append(
                {"module": module, "record_count": records, "deleted_count": deleted}
            )

    def failed(self, module: str, error: str, *, expected: bool = False, records: int = 0) -> None:
        """Record a module that was skipped or stopped."""
        with self._lock:
            self.failed_modules.append({"module": module, "error": error, "record_count": records})
            if not expected or self.strict or module in self.named_modules:
                self._fatal = True

    def cut_short(self, module: str, reason: str, *, records: int, deleted: int = 0) -> None:
        """Record a module stopped by the credit budget: not a failure, the next run goes on."""
        with self._lock:
            self.cut_short_modules.append(
                {
                    "module": module,
                    "reason": reason,
                    "record_count": records,
                    "deleted_count": deleted,
                }
            )

    def incomplete(self, module: str, records: int) -> None:
        """Record records emitted with list values only (detail reads off or over the cap)."""
        with self._lock:
            self.incomplete_records[module] = self.incomplete_records.get(module, 0) + records

    def completion(self, module: str, values: str, route: enum.Enum, reason: str) -> None:
        """Record how the values a list leaves out reached ``module``'s records, and why.

        ``values`` names where they live (a subform or linking module, or "rich text"); the
        report names ``route`` by its value.
        """
        entry = {"module": module, "values": values, "route": str(route.value), "reason": reason}
        with self._lock:
            self.completion_routes = [
                e for e in self.completion_routes if (e["module"], e["values"]) != (module, values)
            ]
            self.completion_routes.append(entry)

    def repaired(self, module: str, values: int) -> None:
        """Record values Zoho cut inside a character, emitted with U+FFFD for the half."""
        with self._lock:
            self.repaired_values[module] = self.repaired_values.get(module, 0) + values

    def unlisted(self, module: str, kind: str, since: str, until: str) -> None:
        """Record deletions Zoho's ``/deleted`` holds past its cap, out of any request's reach."""
        with self._lock:
            self.unlisted_deletions.append(
                {"module": module, "type": kind, "from": since, "to": until}
            )

    def reference(self, stream: str, records: int, calls: int, skipped: str | None = None) -> None:
        """Record a reference stream (users, roles...): its records and calls, or why it is empty.

        Kept apart from ``synced_modules`` (the legacy report's shape): a skipped reference stream
        (a feature off, a scope or a permission missing) never fails the run.
        """
        entry: dict[str, object] = {"stream": stream, "record_count": records, "calls": calls}
        if skipped is not None:
            entry["skipped"] = skipped
        with self._lock:
            self.reference_streams.append(entry)

    @property
    def success(self) -> bool:
        """False when a failure should make the run exit non-zero."""
        return not self._fatal

    def as_dict(self) -> dict[str, object]:
        """The report as a JSON-ready dict."""
        synced_total = sum(
            t.cast("int", m["record_count"])  # always an int: see synced() and cut_short()
            for m in [*self.synced_modules, *self.cut_short_modules]
        )
        report: dict[str, object] = {
            "success": self.success,
            "synced_modules": self.synced_modules,
            "failed_modules": self.failed_modules,
            "cut_short_modules": self.cut_short_modules,
            "credits_used": self.credits_used,
            "total_records": synced_total,
            "errors": [f"{m['module']}: {m['error']}" for m in self.failed_modules],
        }
        if self.incomplete_records:
            report["incomplete_records"] = dict(self.incomplete_records)
        if self.unlisted_deletions:
            report["unlisted_deletions"] = list(self.unlisted_deletions)
        if self.completion_routes:
            report["completion"] = list(self.completion_routes)
        if self.repaired_values:
            report["repaired_values"] = dict(self.repaired_values)
        if self.reference_streams:
            report["reference_streams"] = list(self.reference_streams)
        return report

    def to_json(self) -> str:
        """One line of JSON."""
        return json.dumps(self.as_dict(), separators=(",", ":"))
