"""Fixtures of the tap tests."""

from __future__ import annotations

import pytest

from tests.zoho_sandbox import Sandbox


@pytest.fixture
def finance():
    """A sandbox with Books and Inventory data only (no CRM seed: quick to build)."""
    sandbox = Sandbox(specs=[])
    sandbox.start()
    yield sandbox
    sandbox.stop()
