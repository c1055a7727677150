"""The run report: what was processed, written, skipped, repaired and refused, per table."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

MAX_ERRORS_LISTED = 200


@dataclass
class TableStats:
    """Counters of one ERP table."""

    total_processed: int = 0
    successful: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    skipped: int = 0
    deactivated: int = 0  # rows marked inactive because a complete listing lacked them
    repaired: int = 0  # rows stored without characters PostgreSQL cannot store (storable.py)


@dataclass
class Report:
    """Counters per table plus the failed rows, rendered as one JSON line at the end."""

    started: float = field(default_factory=time.monotonic)
    tables: dict[str, TableStats] = field(default_factory=dict)
    errors: list[dict[str, Any]] = field(default_factory=list)
    repairs: list[dict[str, Any]] = field(default_factory=list)

    def table(self, name: str) -> TableStats:
        """The counters of ``name``."""
        return self.tables.setdefault(name, TableStats())

    def failure(  # noqa: PLR0913 - one refusal is all of these
        self,
        *,
        table: str,
        stream: str,
        zoho_id: str,
        name: Any,
        column: str,
        value: str,
        error: str,
    ) -> None:
        """Record a refused row: which stream and id, the column (or Zoho field), its value."""
        self.table(table).failed += 1
        if len(self.errors) < MAX_ERRORS_LISTED:
            self.errors.append(
                {
                    "table": table,
                    "stream": stream,
                    "zoho_id": zoho_id,
                    "name": name,
                    "field": column,
                    "value": value,
                    "error": error,
                }
            )

    def repair(self, table: str, stream: str, zoho_id: str, fields: tuple[str, ...]) -> None:
        """Record a row stored without the characters PostgreSQL cannot store."""
        self.table(table).repaired += 1
        if len(self.repairs) < MAX_ERRORS_LISTED:
            self.repairs.append(
                {"table": table, "stream": stream, "zoho_id": zoho_id, "fields": list(fields)}
            )

    @property
    def first_error(self) -> dict[str, Any] | None:
        """The first refused row, for the one line a failed run ends with."""
        return self.errors[0] if self.errors else None

    @property
    def failed(self) -> int:
        """Rows refused, all tables together."""
        return sum(s.failed for s in self.tables.values())

    def as_dict(self) -> dict[str, Any]:
        """The summary: totals, per-table counters, errors, duration."""
        totals = TableStats()
        for stats in self.tables.values():
            for key in vars(totals):
                setattr(totals, key, getattr(totals, key) + getattr(stats, key))
        return {
            "total_processed": totals.total_processed,
            "successful": totals.successful,
            "failed": totals.failed,
            "skipped": totals.skipped,
            "deactivated": totals.deactivated,
            "repaired": totals.repaired,
            "errors": self.errors,
            "repairs": self.repairs,
            "duration_seconds": round(time.monotonic() - self.started, 3),
            "tables": {name: vars(stats) for name, stats in sorted(self.tables.items())},
        }

    def to_json(self) -> str:
        """One line of JSON."""
        return json.dumps(self.as_dict(), separators=(",", ":"), default=str)
