"""Races between Zoho edits and the tap's reads of one ``Modified_Time`` second (issue 9, 1 and 2).

Two scenarios, for CRM and for Books, each seeded so every attempt races differently:

* **mass update re-edited while read**: more than a page of records share one second (a mass
  update, an import); while the tap pages through that second, some already-read records are
  edited again, leave the second, and the rest shift back by position.
* **two edits within one second, read in between**: a record is edited, read, and edited again
  in the same second (the sandbox clock is pinned to that second).

Each returns the tap runs (baseline first) and the sandbox's final rows; the tap, ClickHouse and
ERP tests assert that the runs end with every record at its newest value.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from tests.support.tap import TapRun, run_tap
from tests.zoho_sandbox import BOOKS_ORG, Sandbox
from tests.zoho_sandbox.seed import ModuleSpec

CRM_MODULE = "Mass_X"
CRM_STREAM = "mass_x"
PAGE = 100
BOOKS_PAGE = 25


@dataclass
class Scenario:
    """What the tap emitted over its runs, and what Zoho holds at the end."""

    sandbox: Sandbox
    config: dict[str, Any]
    runs: list[TapRun] = field(default_factory=list)

    def run(self) -> TapRun:
        """One more tap run from the last run's state."""
        state = self.runs[-1].state if self.runs else None
        result = run_tap(self.config, state=state)
        assert result.error is None, result.error
        self.runs.append(result)
        return result

    def latest(self, stream: str, key: str) -> dict[str, dict[str, Any]]:
        """Each record's last emitted version over all runs."""
        merged: dict[str, dict[str, Any]] = {}
        for run in self.runs:
            for record in run.records[stream]:
                merged[str(record[key])] = record
        return merged

    def messages(self) -> list[list[dict[str, Any]]]:
        """Each run's Singer messages, for a target run per tap run."""
        return [run.messages for run in self.runs]


def _crm_sandbox(records: int) -> Sandbox:
    sandbox = Sandbox(specs=[ModuleSpec(CRM_MODULE, records, [("Name", "text")], [])])
    sandbox.start()
    return sandbox


def crm_mass_update(seed: int, *, records: int = 600, page: int = PAGE, **config: Any) -> Scenario:
    """Records updated in one second; 20-60 already-read ones edited again mid-paging."""
    rng = random.Random(seed)
    sandbox = _crm_sandbox(records)
    scenario = Scenario(
        sandbox,
        sandbox.tap_config(crm_include_deleted=False, page_size=page, **config),
    )
    scenario.run()
    ids = sorted(sandbox.records(CRM_MODULE), key=int)
    sandbox.store.clock.pin()
    for rid in ids:
        sandbox.update(CRM_MODULE, rid, {"Name": f"mass-{seed}"})
    sandbox.store.clock.unpin()
    read_pages = rng.randint(2, 4)  # pages of the mass-update second read before the re-edits
    again = rng.sample(ids[: (read_pages - 1) * page], rng.randint(20, 60))

    def edit_again() -> None:
        for rid in again:
            sandbox.update(CRM_MODULE, rid, {"Name": f"again-{seed}"})

    # Call 1 opens the window before that second, call 2 its first page, call n+1 page n.
    sandbox.on_path_call(f"/crm/v8/{CRM_MODULE}", read_pages + 2, edit_again)
    scenario.run()
    return scenario


def crm_same_second(seed: int, **config: Any) -> Scenario:
    """A few records edited, read, and edited again within the same second."""
    rng = random.Random(seed)
    sandbox = _crm_sandbox(50)
    scenario = Scenario(sandbox, sandbox.tap_config(crm_include_deleted=False, **config))
    scenario.run()
    ids = sorted(sandbox.records(CRM_MODULE), key=int)
    touched = rng.sample(ids, rng.randint(1, 5))
    sandbox.store.clock.pin()
    for rid in touched:
        sandbox.update(CRM_MODULE, rid, {"Name": f"first-{seed}"})
    scenario.run()  # reads the first edits within their second
    for rid in touched:
        sandbox.update(CRM_MODULE, rid, {"Name": f"second-{seed}"})
    sandbox.store.clock.unpin()
    scenario.run()
    return scenario


def _books_config(sandbox: Sandbox, **config: Any) -> dict[str, Any]:
    return sandbox.tap_config(
        crm_enabled=False, books_organization_id=BOOKS_ORG, page_size=BOOKS_PAGE, **config
    )


def _books_sandbox() -> Sandbox:
    sandbox = Sandbox(specs=[])
    sandbox.start()
    return sandbox


def _ordered(rows: dict[str, dict[str, Any]], modified: dict[str, int]) -> list[str]:
    return sorted(rows, key=lambda rid: (modified[rid], rid))


def books_mass_update(seed: int, **config: Any) -> Scenario:
    """Every item and contact updated in one second; some already read edited again mid-paging."""
    rng = random.Random(seed)
    sandbox = _books_sandbox()
    finance = sandbox.finance
    org = finance.orgs[BOOKS_ORG]
    scenario = Scenario(sandbox, _books_config(sandbox, **config))
    scenario.run()
    sandbox.store.clock.pin()
    for n, iid in enumerate(sorted(org.items)):
        finance.update_item(BOOKS_ORG, iid, {"rate": round(100 + seed + n * 0.25, 2)})
    for cid in sorted(org.contacts):
        finance.update_contact(BOOKS_ORG, cid, {"contact_name": f"mass {seed} {cid}"})
    sandbox.store.clock.unpin()
    items = _ordered(org.items, org.modified)
    contacts = _ordered(org.contacts, org.modified)
    item_pages = rng.randint(2, 3)
    items_again = rng.sample(items[: (item_pages - 1) * BOOKS_PAGE], rng.randint(5, 20))
    contacts_again = rng.sample(contacts[:BOOKS_PAGE], rng.randint(3, 10))

    def edit_items() -> None:
        for n, iid in enumerate(items_again):
            finance.update_item(BOOKS_ORG, iid, {"rate": round(900 + seed + n, 2)})

    def edit_contacts() -> None:
        for cid in contacts_again:
            finance.update_contact(BOOKS_ORG, cid, {"contact_name": f"again {seed} {cid}"})

    sandbox.on_path_call("/books/v3/items", item_pages + 2, edit_items)
    sandbox.on_path_call("/books/v3/contacts", 3, edit_contacts)
    scenario.run()
    return scenario


def books_same_second(seed: int, **config: Any) -> Scenario:
    """Items and contacts edited, read, and edited again within the same second."""
    rng = random.Random(seed)
    sandbox = _books_sandbox()
    finance = sandbox.finance
    org = finance.orgs[BOOKS_ORG]
    scenario = Scenario(sandbox, _books_config(sandbox, **config))
    scenario.run()
    items = rng.sample(sorted(org.items), rng.randint(1, 5))
    contacts = rng.sample(sorted(org.contacts), rng.randint(1, 3))
    sandbox.store.clock.pin()
    for iid in items:
        finance.update_item(BOOKS_ORG, iid, {"rate": 11.5 + seed})
    for cid in contacts:
        finance.update_contact(BOOKS_ORG, cid, {"contact_name": f"first {seed}"})
    scenario.run()
    for n, iid in enumerate(items):
        finance.update_item(BOOKS_ORG, iid, {"rate": 22.75 + seed + n})
    for cid in contacts:
        finance.update_contact(BOOKS_ORG, cid, {"contact_name": f"second {seed} {cid}"})
    sandbox.store.clock.unpin()
    scenario.run()
    return scenario


def crm_problems(scenario: Scenario) -> list[str]:
    """Records whose last emitted version is not Zoho's newest."""
    emitted = scenario.latest(CRM_STREAM, "id")
    final = scenario.sandbox.records(CRM_MODULE)
    problems = [f"{rid}: never emitted" for rid in final if rid not in emitted]
    problems += [
        f"{rid}: {emitted[rid]['Name']!r} instead of {row['Name']!r}"
        for rid, row in final.items()
        if rid in emitted and emitted[rid]["Name"] != row["Name"]
    ]
    return problems


def books_problems(scenario: Scenario) -> list[str]:
    """Items and contacts whose last emitted version is not Zoho's newest."""
    org = scenario.sandbox.finance.orgs[BOOKS_ORG]
    problems: list[str] = []
    for stream, key, rows, value in (
        ("books_items", "item_id", org.items, "rate"),
        ("books_contacts", "contact_id", org.contacts, "contact_name"),
    ):
        emitted = scenario.latest(stream, key)
        for rid, row in rows.items():
            if rid not in emitted:
                problems.append(f"{stream} {rid}: never emitted")
            elif emitted[rid][value] != row[value]:
                problems.append(f"{stream} {rid}: {emitted[rid][value]!r} not {row[value]!r}")
    return problems
