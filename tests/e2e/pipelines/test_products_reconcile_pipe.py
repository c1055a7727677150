"""Items deleted in Zoho end inactive in the ERP: ``tap-zoho | target-tsh-postgres``, real processes.

The products job's settings (``items_active_only``) and ``items_reconcile_deletions`` in its three
states; the sandbox deletes items between runs, and one run is SIGKILLed in the middle of its
listing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess

from tests.support.erp import query
from tests.support.paths import BIN
from tests.support.pipes import pipe_into_erp as pipe
from tests.support.pipes import write_json
from tests.support.tap import FAST
from tests.zoho_sandbox import BOOKS_ORG


def products_job(sandbox, **extra):
    return sandbox.tap_config(
        crm_enabled=False, books_organization_id=BOOKS_ORG, items_active_only=True, **extra
    )


def erp_products(dsn):
    return dict(query(dsn, "SELECT zoho_item_id, is_active FROM products"))


def delete(sandbox, *ids):
    for iid in ids:
        sandbox.finance.delete_item(BOOKS_ORG, iid)


def active_in_zoho(sandbox):
    return {i for i, r in sandbox.finance.orgs[BOOKS_ORG].items.items() if r["status"] == "active"}


def test_deleted_items_end_inactive_only_when_a_complete_listing_says_so(finance, erp_db, tmp_path):
    state, summary = pipe(tmp_path, products_job(finance), erp_db)
    everything = set(erp_products(erp_db))
    assert {i for i, a in erp_products(erp_db).items() if a} == active_in_zoho(finance)
    assert summary["deactivated"] == 0
    first, second, third = sorted(active_in_zoho(finance))[:3]
    delete(finance, first, second)

    # An incremental run (auto) reads what changed: Zoho tells it nothing of deletions.
    state, summary = pipe(tmp_path, products_job(finance), erp_db, state)
    assert erp_products(erp_db)[first] is True
    assert summary["deactivated"] == 0

    # Told to reconcile, the incremental run lists every item and the ERP follows.
    state, summary = pipe(
        tmp_path, products_job(finance, items_reconcile_deletions=True), erp_db, state
    )
    products = erp_products(erp_db)
    assert set(products) == everything  # marked, never deleted
    assert products[first] is False
    assert products[second] is False
    assert {i for i, a in products.items() if a} == active_in_zoho(finance)
    assert summary["deactivated"] == 2
    assert summary["tables"]["products"]["deactivated"] == 2

    # Told not to, even a full refresh leaves the ERP as it is.
    delete(finance, third)
    pipe(tmp_path, products_job(finance, items_reconcile_deletions=False), erp_db)
    assert erp_products(erp_db)[third] is True

    # A full refresh (no state) in auto mode reconciles at no extra cost.
    _, summary = pipe(tmp_path, products_job(finance), erp_db)
    assert erp_products(erp_db)[third] is False
    assert summary["deactivated"] == 1
    assert query(erp_db, "SELECT count(*) FROM products")[0][0] == len(everything)


def test_a_listing_killed_midway_marks_nothing_and_its_resume_marks_exactly_the_deleted(
    finance, erp_db, tmp_path
):
    pipe(tmp_path, products_job(finance), erp_db)  # the ERP holds every item
    before = erp_products(erp_db)
    finance.faults.latency_seconds = 0.05
    config = {
        **FAST,
        **products_job(
            finance,
            page_size=10,
            items_reconcile_deletions=True,
            state_checkpoint_records=15,
            state_checkpoint_seconds=0,
        ),
    }
    state = _state_of_a_killed_full_refresh(tmp_path, config, erp_db)
    finance.faults.latency_seconds = 0

    assert erp_products(erp_db) == before  # the killed listing marked nothing
    partition = state["bookmarks"]["books_items"]["partitions"][0]
    assert partition["reconcile_pending"] is True
    listed_before = {
        i
        for (i,) in query(
            erp_db,
            "SELECT zoho_item_id FROM zoho_item_versions "
            "WHERE version = (SELECT max(version) FROM zoho_item_versions)",
        )
    }  # what the killed run's listing wrote before the kill
    assert 0 < len(listed_before) < len(active_in_zoho(finance))
    deleted = {sorted(listed_before)[0], sorted(active_in_zoho(finance) - listed_before)[0]}
    delete(finance, *deleted)
    resume = {k: v for k, v in config.items() if k != "items_reconcile_deletions"}  # auto

    _, summary = pipe(tmp_path, resume, erp_db, state)

    products = erp_products(erp_db)
    assert {i for i, a in products.items() if not a} == {
        i for i, a in before.items() if not a
    } | deleted
    assert {i for i, a in products.items() if a} == active_in_zoho(finance)
    assert summary["deactivated"] == 2


def _state_of_a_killed_full_refresh(tmp_path, config, dsn):
    """Pipe a full refresh into the target, SIGKILL the tap mid-listing; the target's last STATE."""
    tap = subprocess.Popen(
        [str(BIN / "tap-zoho"), "--config", str(write_json(tmp_path / "kill.json", config))],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    target = subprocess.Popen(
        [
            str(BIN / "target-tsh-postgres"),
            "--config",
            str(write_json(tmp_path / "kill-target.json", {**dsn, "batch_size_rows": 10})),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    checkpoints = 0
    for line in tap.stdout:
        target.stdin.write(line.decode())
        message = json.loads(line)
        partitions = (
            message.get("value", {}).get("bookmarks", {}).get("books_items", {}).get("partitions")
        )
        if message["type"] == "STATE" and partitions and partitions[0].get("replication_key_value"):
            checkpoints += 1
            if checkpoints == 3:
                os.killpg(tap.pid, signal.SIGKILL)
                break
    tap.wait(timeout=30)
    tap.stdout.close()
    out, _ = target.communicate(timeout=120)
    assert target.returncode == 0
    assert checkpoints == 3, "the tap ended before its listing could be killed"
    return json.loads(out.strip().splitlines()[-1])
