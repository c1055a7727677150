"""The two jobs the soak drives: CRM → ClickHouse and Books → ERP (PostgreSQL).

A family knows its tap and target configs, the edits users make between and during runs, and
how to compare the destination with the sandbox's truth once the soak is over. Every edit writes
a value that names its cycle (``c3-17``), so a stale destination value is visible as such.
"""

from __future__ import annotations

import abc
import random
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.zoho_sandbox import BOOKS_ORG, Sandbox
from tests.zoho_sandbox import mutations as mut
from tests.zoho_sandbox.finance import parse as books_epoch

if TYPE_CHECKING:
    from tests.zoho_sandbox.read_hooks import ReadHooks

CRM_MODULES = ("Leads", "Deals")
# Fields every edit changes and the comparison checks (besides the modification time).
CRM_FIELDS = {
    "Leads": ("Company", "Last_Name", "Annual_Revenue", "Converted__s"),
    "Deals": ("Deal_Name", "Amount", "Stage"),
}
MASS_UPDATE_RANGE = (250, 450)  # more than one 200-record page, in one second
ITEM_IMPORT = 1500  # Books items created in one import (one second), on top of the 120 seeded
MAX_EXAMPLES = 12
Step = Callable[[random.Random, int, Counter[str]], None]  # (generator, cycle, counts)
MASS_RE_EDIT_SHARE = 0.35
MASS_UPDATE_SHARE = 0.5
READ_WAIT_SECONDS = 1.5  # how long a same-second pair waits for the reader before its 2nd edit


@dataclass
class Table:
    """Comparison counts for one destination table."""

    rows: int = 0
    missing: int = 0
    extra: int = 0
    stale: int = 0
    stale_same_second: int = 0  # of ``stale``: the newest modification time, another value
    deleted_visible: int = 0

    @property
    def problems(self) -> int:
        """Rows that are wrong in any way."""
        return self.missing + self.extra + self.stale + self.deleted_visible


@dataclass
class Hidden:
    """Records Zoho's default lists hide (converted, under approval, inactive): all must land."""

    label: str
    total: int = 0
    correct: int = 0


@dataclass
class Comparison:
    """The destination against the truth, table by table."""

    tables: dict[str, Table] = field(default_factory=dict)
    hidden: list[Hidden] = field(default_factory=list)
    examples: list[str] = field(default_factory=list)

    def table(self, name: str) -> Table:
        """The counts of ``name`` (created on first use)."""
        return self.tables.setdefault(name, Table())

    def note(self, text: str) -> None:
        """Keep the first few problems verbatim (expected vs got) for the report."""
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(text)

    def total(self, attribute: str) -> int:
        """One count summed over the tables."""
        return sum(int(getattr(t, attribute)) for t in self.tables.values())


def _same(expected: Any, got: Any) -> bool:
    if isinstance(expected, bool) or isinstance(got, bool):
        return bool(expected) == bool(got) if got is not None else expected in {None, False}
    if isinstance(expected, (int, float, Decimal)) and got is not None:
        try:
            return Decimal(str(expected)) == Decimal(str(got))
        except ArithmeticError:
            return False
    if expected in {None, ""} and got in {None, ""}:
        return True
    return bool(expected == got)


def _epoch(value: Any) -> int | None:
    """Epoch second of a stored datetime; a naive one is UTC (how ClickHouse returns UTC)."""
    if isinstance(value, datetime):
        return int((value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp())
    return None


class Family(abc.ABC):
    """Common parts: a seeded generator per cycle, a shared mutex for multi-step edits."""

    name = ""
    mass_module = ""  # the module (or "items") mass updates edit
    hook_family = ""  # "crm" or "books": which lists of ReadHooks this family's reader uses

    def __init__(
        self, sandbox: Sandbox, hooks: ReadHooks, workdir: Path, seed: int, mutex: threading.Lock
    ) -> None:
        self.sandbox = sandbox
        self.hooks = hooks
        self.workdir = workdir
        self.seed = seed
        self.mutex = mutex  # held by every edit; a same-second pair holds it across its pause
        self.counter = 0
        self.last_mass: list[str] = []

    def rng(self, cycle: int, purpose: str) -> random.Random:
        """A generator fixed by the seed, the family, the cycle and what it is for."""
        return random.Random(f"{self.seed}:{self.name}:{cycle}:{purpose}")

    def tag(self, cycle: int) -> str:
        """A fresh value naming the cycle that wrote it."""
        self.counter += 1
        return f"c{cycle}-{self.counter}"

    @abc.abstractmethod
    def between_steps(self) -> list[tuple[int, Step]]:
        """The edits made between two runs: how many of each."""

    def mutate(self, rng: random.Random, cycle: int, counts: Counter[str]) -> None:
        """The edits made between two runs; every other cycle or so, a mass update too."""
        for times, step in self.between_steps():
            for _ in range(times):
                step(rng, cycle, counts)
        if rng.random() < MASS_UPDATE_SHARE:
            self._mass_update(rng, cycle, counts)

    @abc.abstractmethod
    def racing_steps(self) -> list[tuple[float, Step]]:
        """The edits made while a run reads, with their weights."""

    def race_step(self, rng: random.Random, cycle: int, counts: Counter[str]) -> None:
        """One edit made while a run reads: often a record of the last mass update again (it
        leaves the second being paged), otherwise one of :meth:`racing_steps`."""
        if self.last_mass and rng.random() < MASS_RE_EDIT_SHARE:
            with self.mutex:
                done = self.reedit(rng, cycle, self.mass_module, rng.choice(self.last_mass))
            counts["mass_re_edit"] += done
            return
        weights, steps = zip(*self.racing_steps(), strict=True)
        rng.choices(steps, weights)[0](rng, cycle, counts)

    @abc.abstractmethod
    def _mass_update(self, rng: random.Random, cycle: int, counts: Counter[str]) -> None:
        """A mass update: more than a page of records in one second."""

    @abc.abstractmethod
    def reedit(self, rng: random.Random, cycle: int, module: str, rid: str) -> bool:
        """Edit a record again (False when it is gone)."""

    def race(self, cycle: int, purpose: str, stop: threading.Event, counts: Counter[str]) -> None:
        """Edit until ``stop``, a step every 50-400 ms; sometimes a mass update at a random
        call, and re-edits of records a window already served, right before its next page."""
        rng = self.rng(cycle, purpose)
        faults = self.sandbox.faults
        hook = None
        if rng.random() < 0.5:
            hook_rng = self.rng(cycle, f"{purpose}-mass")

            def mass() -> None:
                self._mass_update(hook_rng, cycle, counts)

            hook = (self.sandbox.stats.api_calls + rng.randint(3, 40), mass)
            faults.hooks.append(hook)
        if rng.random() < 0.7:
            page_rng = self.rng(cycle, f"{purpose}-page")

            def shift(module: str, served: list[str]) -> None:
                # Records already served move to the end: the rest shift back one place each.
                chosen = page_rng.sample(served, min(len(served), page_rng.randint(5, 30)))
                with self.mutex:
                    done = sum(self.reedit(page_rng, cycle, module, rid) for rid in chosen)
                counts["served_re_edit"] += done

            self.hooks.before_next_page(self.hook_family, shift)
        try:
            while not stop.wait(rng.uniform(0.05, 0.4)):
                self.race_step(rng, cycle, counts)
        finally:
            if hook is not None and hook in faults.hooks:
                faults.hooks.remove(hook)
            self.hooks.clear(self.hook_family)

    @abc.abstractmethod
    def tap_config(self) -> dict[str, Any]:
        """The tap's config for this job."""

    @abc.abstractmethod
    def target_command(self) -> list[str]:
        """The target's name (an executable next to the Python running the soak)."""

    @abc.abstractmethod
    def target_config(self) -> dict[str, Any]:
        """The target's config: 1-second flushes, 1,000-row batches."""

    @abc.abstractmethod
    def compare(self) -> Comparison:
        """Destination vs truth (after the final run, nothing editing)."""


class CrmFamily(Family):
    """Leads and Deals into ClickHouse (embedded chDB under the soak's temporary directory)."""

    name = "crm"
    mass_module = "Leads"
    hook_family = "crm"

    def __init__(
        self, sandbox: Sandbox, hooks: ReadHooks, workdir: Path, seed: int, mutex: threading.Lock
    ) -> None:
        super().__init__(sandbox, hooks, workdir, seed, mutex)
        self.chdb_path = workdir / "clickhouse"

    # ------------------------------------------------------------------ configs
    def tap_config(self) -> dict[str, Any]:
        return self.sandbox.tap_config(crm_modules=list(CRM_MODULES))

    def target_command(self) -> list[str]:
        return ["target-clickhouse"]

    def target_config(self) -> dict[str, Any]:
        return {
            "path": str(self.chdb_path),
            "table_prefix": "zoho_",
            "flush_interval_seconds": 1,
            "batch_size_rows": 1000,
        }

    # ------------------------------------------------------------------ edits
    def _ids(self, module: str) -> list[str]:
        with self.sandbox.store.lock:
            return sorted(self.sandbox.store.modules[module].records)

    def _changes(self, module: str, cycle: int, rng: random.Random) -> dict[str, Any]:
        tag = self.tag(cycle)
        if module == "Leads":
            return {"Company": f"Co {tag}", "Annual_Revenue": round(rng.uniform(0, 99999), 2)}
        return {"Deal_Name": f"Deal {tag}", "Amount": round(rng.uniform(0, 99999), 2)}

    def _edit(self, rng: random.Random, cycle: int, counts: Counter[str]) -> None:
        module = rng.choice(CRM_MODULES)
        rid = rng.choice(self._ids(module))
        with self.mutex:
            self.sandbox.update(module, rid, self._changes(module, cycle, rng))
        counts["edit"] += 1

    def _insert(self, rng: random.Random, cycle: int, counts: Counter[str]) -> None:
        module = rng.choice(CRM_MODULES)
        template = self.sandbox.records(module)[rng.choice(self._ids(module))]
        values = {k: v for k, v in template.items() if k not in {"id", "Created_Time"}}
        values.update(self._changes(module, cycle, rng))
        values.update({"Converted__s": False, "Converted_Date_Time": None, "$approved": True})
        with self.mutex:
            self.sandbox.create(module, values)
        counts["insert"] += 1

    def _delete(self, rng: random.Random, cycle: int, counts: Counter[str]) -> None:
        module = rng.choice(CRM_MODULES)
        rid = rng.choice(self._ids(module))
        with self.mutex:
            self.sandbox.delete(module, rid, permanent=rng.random() < 0.3)
        counts["delete"] += 1

    def _convert(self, rng: random.Random, cycle: int, counts: Counter[str]) -> None:
        leads = self.sandbox.records("Leads")
        candidates = sorted(r for r, v in leads.items() if not v.get("Converted__s"))
        rid = rng.choice(candidates)
        deal = {k: v for k, v in self.sandbox.records("Deals")[self._ids("Deals")[0]].items()}
        deal = {k: v for k, v in deal.items() if k not in {"id", "Created_Time"}}
        deal.update(self._changes("Deals", cycle, rng), **{"$approved": True})
        with self.mutex:
            mut.convert_lead(self.sandbox, rid, deal)
        counts["convert"] += 1

    def _approval(self, rng: random.Random, cycle: int, counts: Counter[str]) -> None:
        module = rng.choice(CRM_MODULES)
        ids = self._ids(module)
        pending = [r for r in ids if mut.is_pending_approval(self.sandbox, module, r)]
        leave = bool(pending) and rng.random() < 0.5
        rid = rng.choice(pending) if leave else rng.choice(ids)
        with self.mutex:
            mut.set_approval(
                self.sandbox,
                module,
                rid,
                pending=not leave,
                changes=self._changes(module, cycle, rng),
            )
        counts["approval_leave" if leave else "approval_enter"] += 1

    def _mass_update(self, rng: random.Random, cycle: int, counts: Counter[str]) -> None:
        ids = self._ids("Leads")
        chosen = rng.sample(ids, min(len(ids), rng.randint(*MASS_UPDATE_RANGE)))
        tag = self.tag(cycle)
        with self.mutex:
            mut.mass_update(self.sandbox, "Leads", chosen, lambda rid: {"Company": f"Mass {tag}"})
        self.last_mass = chosen
        counts["mass_update"] += 1
        counts["mass_updated_records"] += len(chosen)

    def reedit(self, rng: random.Random, cycle: int, module: str, rid: str) -> bool:
        if rid not in self.sandbox.store.modules[module].records:
            return False
        self.sandbox.update(module, rid, self._changes(module, cycle, rng))
        return True

    def _same_second(self, rng: random.Random, cycle: int, counts: Counter[str]) -> None:
        module = rng.choice(CRM_MODULES)
        rid = rng.choice(self._ids(module))
        with self.mutex, mut.one_second(self.sandbox):
            read = self.hooks.after_read("crm", rid)
            self.sandbox.update(module, rid, self._changes(module, cycle, rng))
            was_read = read.wait(READ_WAIT_SECONDS)  # the reader sees the first edit
            done = mut.edit_within_second(
                self.sandbox, module, rid, self._changes(module, cycle, rng)
            )
        counts[
            ("same_second_read_between" if was_read else "same_second_pair") if done else "edit"
        ] += 1

    def between_steps(self) -> list[tuple[int, Step]]:
        return [
            (15, self._edit),
            (4, self._insert),
            (2, self._delete),
            (1, self._convert),
            (2, self._approval),
        ]

    def racing_steps(self) -> list[tuple[float, Step]]:
        return [
            (25, self._edit),
            (15, self._same_second),
            (7, self._insert),
            (6, self._delete),
            (6, self._convert),
            (6, self._approval),
        ]

    # ------------------------------------------------------------------ truth
    def compare(self) -> Comparison:
        import clickhouse_connect

        result = Comparison()
        client = clickhouse_connect.get_client(interface="chdb", path=str(self.chdb_path))
        try:
            for module in CRM_MODULES:
                self._compare_module(client, module, result)
        finally:
            client.close()
        return result

    def _compare_module(self, client: Any, module: str, result: Comparison) -> None:
        table_name = f"zoho_{module.lower()}"
        fields = CRM_FIELDS[module]
        columns = ", ".join(f"`{c}`" for c in ("id", "Modified_Time", *fields, "_sdc_is_deleted"))
        rows = client.query(f"SELECT {columns} FROM `{table_name}` FINAL").result_rows
        stored = {str(r[0]): r for r in rows}
        store = self.sandbox.store
        with store.lock:
            mod = store.modules[module]
            live = {rid: dict(rec) for rid, rec in mod.records.items()}
            modified = dict(mod.modified)
            pending = {rid for rid in live if not mod.is_approved(rid)}
            deleted = {e.record_id for e in mod.deleted} - set(live)
        table = result.table(table_name)
        table.rows = len(live)
        converted = Hidden(f"{module}: converted")
        unapproved = Hidden(f"{module}: under approval")
        for rid, record in live.items():
            row = stored.get(rid)
            ok = False
            if row is None or row[-1]:
                table.missing += 1
                result.note(f"{table_name} {rid}: missing (stored: {row and 'deleted'})")
            else:
                got = dict(zip(("Modified_Time", *fields), row[1:-1], strict=True))
                wrong = [
                    f"{f} expected {record.get(f)!r} got {got[f]!r}"
                    for f in fields
                    if not _same(record.get(f), got[f])
                ]
                same_second = _epoch(got["Modified_Time"]) == modified[rid]
                if not same_second:
                    wrong.insert(
                        0, f"Modified_Time expected {modified[rid]} got {got['Modified_Time']}"
                    )
                if wrong:
                    table.stale += 1
                    table.stale_same_second += same_second
                    result.note(f"{table_name} {rid}: stale: {'; '.join(wrong)}")
                ok = not wrong
            if module == "Leads" and record.get("Converted__s"):
                converted.total += 1
                converted.correct += ok
            if rid in pending:
                unapproved.total += 1
                unapproved.correct += ok
        for rid, row in stored.items():
            if rid in live or row[-1]:
                continue
            if rid in deleted:
                table.deleted_visible += 1
                result.note(f"{table_name} {rid}: deleted in Zoho, visible")
            else:
                table.extra += 1
                result.note(f"{table_name} {rid}: extra (never in Zoho)")
        result.hidden += [h for h in (converted, unapproved) if h.total or module == "Leads"]


class ErpFamily(Family):
    """Books items, contacts and price lists into the ERP's PostgreSQL (the products job)."""

    name = "erp"
    mass_module = "items"
    hook_family = "books"

    def __init__(
        self,
        sandbox: Sandbox,
        hooks: ReadHooks,
        workdir: Path,
        seed: int,
        mutex: threading.Lock,
        *,
        dsn: dict[str, Any],
        tap_extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(sandbox, hooks, workdir, seed, mutex)
        self.dsn = dsn
        self.tap_extra = dict(tap_extra or {})
        self.org = sandbox.finance.orgs[BOOKS_ORG]
        self.deleted_items: set[str] = set()

    def prepare(self, count: int = ITEM_IMPORT) -> None:
        """A realistic catalogue: ``count`` more items from one import (one second, many pages)."""
        with self.sandbox.finance.lock:
            templates = list(self.org.items.values())
        rows = []
        for n in range(count):
            base = {
                k: v
                for k, v in templates[n % len(templates)].items()
                if k not in {"item_id", "item_name", "created_time", "last_modified_time"}
            }
            base.update(name=f"Imported part {n}", sku=f"IMP-{n:05d}")
            rows.append(base)
        mut.import_items(self.sandbox, BOOKS_ORG, rows)

    # ------------------------------------------------------------------ configs
    def tap_config(self) -> dict[str, Any]:
        return self.sandbox.tap_config(
            crm_enabled=False,
            books_organization_id=BOOKS_ORG,
            items_active_only=True,  # as the tap-zoho-products job of meltano.yml
            **self.tap_extra,
        )

    def target_command(self) -> list[str]:
        return ["target-tsh-postgres"]

    def target_config(self) -> dict[str, Any]:
        return {**self.dsn, "flush_interval_seconds": 1, "batch_size_rows": 1000}

    # ------------------------------------------------------------------ edits
    def _items(self) -> list[str]:
        with self.sandbox.finance.lock:
            return sorted(self.org.items)

    def _item_changes(self, cycle: int, rng: random.Random) -> dict[str, Any]:
        return {"name": f"Part {self.tag(cycle)}", "rate": round(rng.uniform(1, 999), 2)}

    def _edit_item(self, rng: random.Random, cycle: int, counts: Counter[str]) -> None:
        iid = rng.choice(self._items())
        changes = self._item_changes(cycle, rng)
        if rng.random() < 0.15:
            active = self.org.items[iid].get("status") == "active"
            changes["status"] = "inactive" if active else "active"
            counts["item_status"] += 1
        with self.mutex:
            self.sandbox.finance.update_item(BOOKS_ORG, iid, changes)
        counts["item_edit"] += 1

    def _insert_item(self, rng: random.Random, cycle: int, counts: Counter[str]) -> None:
        template = self.org.items[rng.choice(self._items())]
        values = {
            k: v
            for k, v in template.items()
            if k not in {"item_id", "created_time", "last_modified_time"}
        }
        values.update(self._item_changes(cycle, rng), sku=f"NEW-{self.counter}", status="active")
        with self.mutex, self.sandbox.finance.lock:
            self.sandbox.finance.put_item(self.org, values)
        counts["item_insert"] += 1

    def _delete_item(self, rng: random.Random, cycle: int, counts: Counter[str]) -> None:
        iid = rng.choice(self._items())
        with self.mutex:
            mut.delete_item(self.sandbox, BOOKS_ORG, iid)
        self.deleted_items.add(iid)
        counts["item_delete"] += 1

    def _edit_contact(self, rng: random.Random, cycle: int, counts: Counter[str]) -> None:
        with self.sandbox.finance.lock:
            cid = rng.choice(sorted(self.org.contacts))
            active = self.org.contacts[cid].get("status") == "active"
        changes: dict[str, Any] = {"contact_name": f"Trader {self.tag(cycle)}"}
        if rng.random() < 0.2:
            changes["status"] = "inactive" if active else "active"
        with self.mutex:
            mut.update_contact(self.sandbox, BOOKS_ORG, cid, changes)
        counts["contact_edit"] += 1

    def _edit_price(self, rng: random.Random, cycle: int, counts: Counter[str]) -> None:
        with self.sandbox.finance.lock:
            books = sorted(
                b
                for b, v in self.org.pricebooks.items()
                if v["pricebook_type"] == "per_item" and v["sales_or_purchase_type"] == "sales"
            )
            book = rng.choice(books)
        iid = rng.choice(self._items())
        with self.mutex:
            mut.set_pricebook_rate(self.sandbox, BOOKS_ORG, book, iid, round(rng.uniform(1, 99), 2))
        counts["price_edit"] += 1

    def _mass_update(self, rng: random.Random, cycle: int, counts: Counter[str]) -> None:
        ids = self._items()
        chosen = rng.sample(ids, min(len(ids), rng.randint(*MASS_UPDATE_RANGE)))
        rates = {iid: round(rng.uniform(1, 999), 2) for iid in chosen}
        with self.mutex:
            mut.mass_update_items(self.sandbox, BOOKS_ORG, chosen, lambda iid: {"rate": rates[iid]})
        self.last_mass = chosen
        counts["mass_update"] += 1
        counts["mass_updated_records"] += len(chosen)

    def reedit(self, rng: random.Random, cycle: int, module: str, rid: str) -> bool:
        if rid not in self.org.items:
            return False
        self.sandbox.finance.update_item(BOOKS_ORG, rid, self._item_changes(cycle, rng))
        return True

    def _same_second(self, rng: random.Random, cycle: int, counts: Counter[str]) -> None:
        iid = rng.choice(self._items())
        with self.mutex, mut.one_second(self.sandbox):
            read = self.hooks.after_read("books", iid)
            self.sandbox.finance.update_item(BOOKS_ORG, iid, self._item_changes(cycle, rng))
            was_read = read.wait(READ_WAIT_SECONDS)
            done = mut.edit_item_within_second(
                self.sandbox, BOOKS_ORG, iid, self._item_changes(cycle, rng)
            )
        counts[
            ("same_second_read_between" if was_read else "same_second_pair")
            if done
            else "item_edit"
        ] += 1

    def between_steps(self) -> list[tuple[int, Step]]:
        return [
            (10, self._edit_item),
            (3, self._insert_item),
            (2, self._delete_item),
            (3, self._edit_contact),
            (3, self._edit_price),
        ]

    def racing_steps(self) -> list[tuple[float, Step]]:
        return [
            (25, self._edit_item),
            (12, self._same_second),
            (8, self._edit_contact),
            (8, self._edit_price),
            (6, self._insert_item),
            (6, self._delete_item),
        ]

    # ------------------------------------------------------------------ truth
    def compare(self) -> Comparison:
        import psycopg2

        result = Comparison()
        conn = psycopg2.connect(
            host=self.dsn["host"],
            port=self.dsn["port"],
            user=self.dsn["user"],
            dbname=self.dsn["database"],
        )
        try:
            with conn.cursor() as cur:
                self._compare_products(cur, result)
                self._compare_prices(cur, result)
                self._compare_customers(cur, result)
        finally:
            conn.close()
        return result

    @staticmethod
    def _deletion_columns(cur: Any) -> list[str]:
        """Columns the target may use to mark an item deleted in Zoho (issue 9, point 8)."""
        cur.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'products'"
        )
        names = {r[0] for r in cur.fetchall()}
        return sorted(names & {"is_deleted", "deleted_at", "zoho_deleted_at", "source_deleted_at"})

    def _compare_products(self, cur: Any, result: Comparison) -> None:
        marks = self._deletion_columns(cur)
        extra = "".join(f", {m}" for m in marks)
        cur.execute(
            "SELECT zoho_item_id, name, price, is_active, source_modified_at"
            f"{extra} FROM products WHERE organization_id = %s",
            (BOOKS_ORG,),
        )
        stored = {r[0]: r for r in cur.fetchall()}
        with self.sandbox.finance.lock:
            live = {i: dict(v) for i, v in self.org.items.items()}
            modified = dict(self.org.modified)
        table = result.table("products")
        table.rows = len(live)
        inactive = Hidden("items: inactive (left out by items_active_only lists)")
        for iid, item in live.items():
            row = stored.get(iid)
            ok = False
            if row is None:
                table.missing += 1
                result.note(f"products {iid}: missing")
            else:
                wrong = []
                if not _same(item.get("name"), row[1]):
                    wrong.append(f"name expected {item.get('name')!r} got {row[1]!r}")
                if not _same(item.get("rate"), row[2]):
                    wrong.append(f"price expected {item.get('rate')!r} got {row[2]}")
                if row[3] != (item.get("status") == "active"):
                    wrong.append(f"is_active expected {item.get('status')} got {row[3]}")
                same_second = _epoch(row[4]) == modified[iid]
                if not same_second:
                    wrong.append(f"source_modified_at expected {modified[iid]} got {row[4]}")
                if wrong:
                    table.stale += 1
                    table.stale_same_second += same_second
                    result.note(f"products {iid}: stale: {'; '.join(wrong)}")
                ok = not wrong
            if item.get("status") != "active":
                inactive.total += 1
                inactive.correct += ok
        for iid, row in stored.items():
            if iid in live:
                continue
            marked = any(v not in {None, False} for v in row[5:])
            if iid in self.deleted_items:
                if row[3] and not marked:
                    table.deleted_visible += 1
                    result.note(f"products {iid}: deleted in Zoho, still active in the ERP")
            else:
                table.extra += 1
                result.note(f"products {iid}: extra (never in Zoho)")
        result.hidden.append(inactive)

    def _compare_prices(self, cur: Any, result: Comparison) -> None:
        cur.execute(
            "SELECT zoho_item_id, zoho_pricebook_id, price FROM product_prices"
            " WHERE organization_id = %s",
            (BOOKS_ORG,),
        )
        stored = {(r[0], r[1]): r[2] for r in cur.fetchall()}
        with self.sandbox.finance.lock:
            expected = {(i, "base"): v.get("rate") for i, v in self.org.items.items()}
            for book_id, book in self.org.pricebooks.items():
                if book["sales_or_purchase_type"] != "sales":
                    continue
                for entry in book["pricebook_items"]:
                    expected[(entry["item_id"], book_id)] = entry["pricebook_rate"]
        table = result.table("product_prices")
        table.rows = len(expected)
        for key, rate in expected.items():
            if key not in stored:
                table.missing += 1
                result.note(f"product_prices {key}: missing")
            elif not _same(rate, stored[key]):
                table.stale += 1
                result.note(f"product_prices {key}: stale: expected {rate} got {stored[key]}")

    def _compare_customers(self, cur: Any, result: Comparison) -> None:
        cur.execute(
            "SELECT zoho_contact_id, name, is_active, source_modified_at FROM customers"
            " WHERE organization_id = %s",
            (BOOKS_ORG,),
        )
        stored = {r[0]: r for r in cur.fetchall()}
        with self.sandbox.finance.lock:
            live = {
                c: dict(v)
                for c, v in self.org.contacts.items()
                if v.get("contact_type") == "customer"
            }
        table = result.table("customers")
        table.rows = len(live)
        for cid, contact in live.items():
            row = stored.get(cid)
            if row is None:
                table.missing += 1
                result.note(f"customers {cid}: missing")
                continue
            wrong = []
            if row[1] != contact.get("contact_name"):
                wrong.append(f"name expected {contact.get('contact_name')!r} got {row[1]!r}")
            if row[2] != (contact.get("status") == "active"):
                wrong.append(f"is_active expected {contact.get('status')} got {row[2]}")
            if _epoch(row[3]) != books_epoch(contact["last_modified_time"]):
                wrong.append(
                    f"source_modified_at expected {contact['last_modified_time']} got {row[3]}"
                )
            if wrong:
                table.stale += 1
                result.note(f"customers {cid}: stale: {'; '.join(wrong)}")
        table.extra += len(set(stored) - set(live))
