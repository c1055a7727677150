"""The seeded worlds the tests run against.

A fifth of the seeded world proves what the whole of it proves about behaviour (every module,
every data type, converted and unapproved records, recycle-bin history) in a fraction of the
time. The whole world is for tests where size is the point: Leads past the 2,000-row position
cap, a tie second spanning pages, checkpoints every N records.
"""

from __future__ import annotations

from tests.zoho_sandbox.seed import ModuleSpec, default_specs

#: The share of the seeded world behind the ``sandbox`` fixture.
SMALL_WORLD = 0.2


def small_world() -> list[ModuleSpec]:
    """The modules of the seeded world at :data:`SMALL_WORLD` scale."""
    return default_specs(scale=SMALL_WORLD)
