"""Every test carries exactly one tier, given by the folder it lives in, and a unit test is pure.

- ``tests/unit/``: no sockets, no subprocesses (enforced: both raise during a unit test).
- ``tests/integration/``: the sandbox, chDB and PostgreSQL, called from the test process.
- ``tests/e2e/``: command lines in subprocesses, Meltano, released wheels, the soak, the service.

The slowest tier is collected first, so parallel workers start on the long tests and the many
short ones fill in around them.
"""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path
from typing import Any

import pytest

TIERS = ("e2e", "integration", "unit")
TESTS = Path(__file__).resolve().parent.parent


class PureTestError(AssertionError):
    """A unit test reached for a socket or a subprocess: it belongs in another tier."""


def tier_of(path: Path) -> str | None:
    """The tier of a test file: the first folder under ``tests/``."""
    try:
        first = path.resolve().relative_to(TESTS).parts[0]
    except (ValueError, IndexError):
        return None
    return first if first in TIERS else None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test with its folder's tier; refuse a test outside the tiers or marked twice."""
    misplaced = []
    for item in items:
        tier = tier_of(item.path)
        declared = {m.name for m in item.iter_markers() if m.name in TIERS}
        if tier is None or declared - {tier}:
            misplaced.append(f"{item.nodeid} (folder tier {tier}, marked {sorted(declared)})")
            continue
        item.add_marker(getattr(pytest.mark, tier))
    if misplaced:
        lines = "\n  ".join(misplaced)
        raise pytest.UsageError(
            f"every test lives in tests/<tier>/ and carries only that tier:\n  {lines}"
        )
    items.sort(key=lambda item: TIERS.index(tier_of(item.path) or "unit"))


def _refuse(what: str) -> Any:
    def refuse(*args: Any, **kwargs: Any) -> None:
        msg = f"a unit test may not use {what}: move it to tests/integration or tests/e2e"
        raise PureTestError(msg)

    return refuse


@pytest.fixture(autouse=True)
def _unit_tests_stay_pure(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """During a unit test, opening a connection, binding a port or starting a process fails."""
    if request.node.get_closest_marker("unit") is None:
        return
    for member in ("connect", "connect_ex", "bind"):
        monkeypatch.setattr(socket.socket, member, _refuse(f"socket.{member}"))
    monkeypatch.setattr(subprocess.Popen, "__init__", _refuse("a subprocess"))
