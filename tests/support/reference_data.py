"""More of the sandbox's reference data than its seed holds: listings that take several pages."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.zoho_sandbox import Sandbox

EXTRA_ID_BASE = 5843104000000900000  # after every seeded id


def add_users(sandbox: Sandbox, count: int) -> list[str]:
    """``count`` more active users, in id order after the seeded ones; their ids."""
    world = sandbox.reference.world
    template = next(u for u in world.users.values() if u["status"] == "active")
    newest = max(int(uid) for uid in world.users)
    ids = []
    for n in range(1, count + 1):
        user = copy.deepcopy(template)
        user.update(id=str(newest + n), full_name=f"Extra User {n}", email=f"extra{n}@example.org")
        world.users[user["id"]] = user
        world.user_modified[user["id"]] = world.user_modified[template["id"]]
        ids.append(user["id"])
    return ids


def add_rows(sandbox: Sandbox, entity: str, count: int) -> list[str]:
    """``count`` more profiles or territories (``entity``), listed after the seeded ones."""
    rows: list[dict[str, Any]] = getattr(sandbox.reference.world, entity)
    template = next(r for r in rows if r.get("custom", True) and r.get("reporting_to", True))
    ids = []
    for n in range(1, count + 1):
        row = copy.deepcopy(template)
        row.update(id=str(EXTRA_ID_BASE + n), name=f"Extra {n}", api_name=f"Extra_{n}")
        rows.append(row)
        ids.append(row["id"])
    return ids


def listed_users(sandbox: Sandbox) -> list[dict[str, Any]]:
    """The users ``type=AllUsers`` lists in the default reading, in its (id) order."""
    users = sandbox.reference.world.users.values()
    return sorted((u for u in users if u["status"] != "deleted"), key=lambda u: int(u["id"]))
