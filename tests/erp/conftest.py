"""PostgreSQL fixtures live in the top-level conftest (the end-to-end tests use them too)."""

from __future__ import annotations

from tests.conftest import connect

__all__ = ["connect"]
