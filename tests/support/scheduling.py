"""How pytest-xdist shares the tests out between its processes (``make test``: ``-n 3``).

Every test is a unit of work of its own, handed to whichever process is free, so the long
end-to-end tests (collected first, see :mod:`.tiers`) spread over the processes. The tests of a
module in :data:`SHARED` go to one process together instead, in order: they share a fixture too
expensive to build in every process.

This is a scheduler (pytest-xdist's public ``pytest_xdist_make_scheduler`` hook) rather than
``xdist_group`` marks: ``--dist loadgroup`` names a group by rewriting the test's node id
through an attribute pytest 9.2 no longer reads, and then shares nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from xdist.scheduler import LoadScopeScheduling

if TYPE_CHECKING:
    from xdist.remote import Producer

#: Test module -> the unit of work its tests join.
SHARED = {
    # The release artefacts (the session-scoped ``dist``), built once for both modules.
    "tests/e2e/packaging/test_wheels.py": "release",
    "tests/e2e/packaging/test_lower_bounds.py": "release",
    # One Meltano run read by the module's tests (its ``troubled`` fixture).
    "tests/e2e/pipelines/test_meltano_under_faults.py": "meltano-under-faults",
    # One running service stack for the module (its ``stack`` fixture).
    "tests/e2e/zoho_sync_service/test_service.py": "service",
    # One live service for the hardening tests (the session-scoped ``live`` fixture).
    "tests/e2e/zoho_sync_service/test_channel_tokens.py": "live-service",
    "tests/e2e/zoho_sync_service/test_database_privacy.py": "live-service",
    "tests/e2e/zoho_sync_service/test_flood.py": "live-service",
    "tests/e2e/zoho_sync_service/test_health.py": "live-service",
    "tests/e2e/zoho_sync_service/test_hostile_bodies.py": "live-service",
    "tests/e2e/zoho_sync_service/test_legacy_calls.py": "live-service",
    "tests/e2e/zoho_sync_service/test_replay.py": "live-service",
    "tests/e2e/zoho_sync_service/test_run_environment.py": "live-service",
    "tests/e2e/zoho_sync_service/test_single_instance.py": "live-service",
}


class SharedFixtureScheduling(LoadScopeScheduling):
    """One unit of work per test, one per :data:`SHARED` group (the largest units go first)."""

    def _split_scope(self, nodeid: str) -> str:
        return SHARED.get(nodeid.split("::", 1)[0], nodeid)


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist: unknown when it is not loaded
def pytest_xdist_make_scheduler(config: pytest.Config, log: Producer) -> SharedFixtureScheduling:
    """The scheduler of ``-n N`` (with any ``--dist`` that spreads tests over the processes)."""
    return SharedFixtureScheduling(config, log)
