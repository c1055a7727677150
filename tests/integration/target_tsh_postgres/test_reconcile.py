"""target-tsh-postgres and ACTIVATE_VERSION: items gone from a complete listing become inactive.

Real PostgreSQL; messages as tap-zoho writes them with ``items_reconcile_deletions``: records
carrying the listing's ``version``, then ``ACTIVATE_VERSION`` once the listing is complete.
"""

from __future__ import annotations

import contextlib
import io
import json

from target_tsh_postgres.target import TargetTshPostgres

from tests.support.erp import ITEM_SCHEMA, connect, item, query, run_target

OTHER_ORG = "60012345"


def listed(version, *ids, org="10234695", **extra):
    """Item records of one listing (``version``), as the tap stamps them."""
    messages = []
    for iid in ids:
        message = item(iid, organization_id=org, **extra)
        message["version"] = version
        messages.append(message)
    return messages


def activate(version, stream="books_items"):
    return {"type": "ACTIVATE_VERSION", "stream": stream, "version": version}


def active(dsn):
    return dict(query(dsn, "SELECT zoho_item_id, is_active FROM products ORDER BY 1"))


def test_a_complete_listing_marks_what_it_lacks_inactive_and_deletes_nothing(erp_db, tmp_path):
    run_target(erp_db, [ITEM_SCHEMA, *listed(1, "a", "b", "c"), activate(1)], tmp_path)
    assert active(erp_db) == {"a": True, "b": True, "c": True}

    states, report, error = run_target(
        erp_db,
        [ITEM_SCHEMA, *listed(2, "a", "c"), activate(2), {"type": "STATE", "value": {"n": 2}}],
        tmp_path,
    )

    assert error is None
    assert active(erp_db) == {"a": True, "b": False, "c": True}
    assert report["deactivated"] == 1
    assert report["tables"]["products"]["deactivated"] == 1
    assert states == [{"n": 2}]
    # The ids of older listings are forgotten: the table stays as large as the item list.
    assert query(erp_db, "SELECT DISTINCT version FROM zoho_item_versions") == [(2,)]


def test_replaying_the_same_listing_changes_nothing(erp_db, tmp_path):
    run_target(erp_db, [ITEM_SCHEMA, *listed(1, "a", "b"), activate(1)], tmp_path)
    messages = [ITEM_SCHEMA, *listed(2, "a"), activate(2)]
    run_target(erp_db, messages, tmp_path)
    synced = query(erp_db, "SELECT last_synced FROM products WHERE zoho_item_id = 'b'")

    _, report, _ = run_target(erp_db, messages, tmp_path)

    assert report["deactivated"] == 0
    assert active(erp_db) == {"a": True, "b": False}
    assert query(erp_db, "SELECT last_synced FROM products WHERE zoho_item_id = 'b'") == synced


def test_a_listing_without_its_activate_version_marks_nothing(erp_db, tmp_path):
    """A run killed before the listing completed (the tap never sent ACTIVATE_VERSION)."""
    run_target(erp_db, [ITEM_SCHEMA, *listed(1, "a", "b", "c"), activate(1)], tmp_path)
    _, report, _ = run_target(erp_db, [ITEM_SCHEMA, *listed(2, "a")], tmp_path)
    assert report["deactivated"] == 0
    assert active(erp_db) == {"a": True, "b": True, "c": True}

    # The next, complete listing is judged on its own ids, not on the killed run's.
    run_target(erp_db, [ITEM_SCHEMA, *listed(3, "a", "b"), activate(3)], tmp_path)

    assert active(erp_db) == {"a": True, "b": True, "c": False}
    assert query(erp_db, "SELECT DISTINCT version FROM zoho_item_versions") == [(3,)]


def test_rows_buffered_when_activate_version_arrives_are_written_first(erp_db, tmp_path):
    run_target(erp_db, [ITEM_SCHEMA, *listed(1, "a", "b"), activate(1)], tmp_path)

    # One batch holds everything: the listing's rows are still buffered at ACTIVATE_VERSION.
    run_target(erp_db, [ITEM_SCHEMA, *listed(2, "a", "b", "n"), activate(2)], tmp_path)

    assert active(erp_db) == {"a": True, "b": True, "n": True}


def test_listed_ids_survive_batches_and_a_lost_connection(erp_db, tmp_path):
    run_target(erp_db, [ITEM_SCHEMA, *listed(1, *"abcdef"), activate(1)], tmp_path)
    messages = [ITEM_SCHEMA, *listed(2, *"abde"), activate(2)]
    report_path = tmp_path / "report.json"
    target = TargetTshPostgres(
        config={**erp_db, "report_path": str(report_path), "batch_size_rows": 1}
    )

    def lines():
        for n, message in enumerate(messages):
            if n == 3:  # two listed ids are committed: drop the target's connection
                target.writer.wait()
                _terminate_other_connections(erp_db)
            yield json.dumps(message) + "\n"

    with contextlib.redirect_stdout(io.StringIO()):
        target.listen(lines())

    report = json.loads(report_path.read_text())
    assert active(erp_db) == {"a": True, "b": True, "c": False, "d": True, "e": True, "f": False}
    assert report["deactivated"] == 2


def _terminate_other_connections(dsn):
    conn = connect(dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (dsn["database"],),
        )
        assert cur.fetchone()[0] >= 1
    conn.close()


def test_items_skipped_by_with_stock_only_still_count_as_listed(erp_db, tmp_path):
    run_target(erp_db, [ITEM_SCHEMA, *listed(1, "a", "b"), activate(1)], tmp_path)

    run_target(
        erp_db,
        [ITEM_SCHEMA, *listed(2, "a"), *listed(2, "b", stock_on_hand=0.0), activate(2)],
        tmp_path,
        with_stock_only=True,
    )

    assert active(erp_db) == {"a": True, "b": True}


def test_only_the_organisations_in_the_listing_are_touched(erp_db, tmp_path):
    run_target(
        erp_db,
        [ITEM_SCHEMA, *listed(1, "a", "b"), *listed(1, "x", org=OTHER_ORG), activate(1)],
        tmp_path,
    )

    run_target(erp_db, [ITEM_SCHEMA, *listed(2, "a"), activate(2)], tmp_path)

    assert active(erp_db) == {"a": True, "b": False, "x": True}


def test_an_older_listing_replayed_after_a_newer_one_marks_nothing(erp_db, tmp_path):
    run_target(erp_db, [ITEM_SCHEMA, *listed(1, "a", "b", "c"), activate(1)], tmp_path)
    run_target(erp_db, [ITEM_SCHEMA, *listed(3, "a", "b"), activate(3)], tmp_path)

    _, report, _ = run_target(erp_db, [ITEM_SCHEMA, *listed(2, "c"), activate(2)], tmp_path)

    assert report["deactivated"] == 0
    assert active(erp_db) == {"a": True, "b": True, "c": False}


def test_activate_version_of_other_streams_changes_nothing(erp_db, tmp_path):
    contact_schema = {
        "type": "SCHEMA",
        "stream": "books_contacts",
        "key_properties": ["contact_id"],
        "schema": {"properties": {"contact_id": {"type": ["string"]}}},
    }
    run_target(erp_db, [ITEM_SCHEMA, *listed(1, "a"), activate(1)], tmp_path)

    _, report, error = run_target(erp_db, [contact_schema, activate(5, "books_contacts")], tmp_path)

    assert error is None
    assert report["deactivated"] == 0
    assert active(erp_db) == {"a": True}


def test_rows_of_a_sink_replaced_by_a_grown_schema_are_written_before_the_marking(erp_db, tmp_path):
    """tap-zoho re-announces a SCHEMA mid-stream when a custom field appears (the SDK then
    swaps the stream's sink and drains the old one only later)."""
    run_target(erp_db, [ITEM_SCHEMA, *listed(1, "a", "b", "c"), activate(1)], tmp_path)
    grown = {**ITEM_SCHEMA, "schema": {"properties": {**ITEM_SCHEMA["schema"]["properties"]}}}
    grown["schema"]["properties"]["cf_colour"] = {"type": ["string", "null"]}

    _, report, _ = run_target(
        erp_db, [ITEM_SCHEMA, *listed(2, "a"), grown, *listed(2, "b"), activate(2)], tmp_path
    )

    assert active(erp_db) == {"a": True, "b": True, "c": False}
    assert report["deactivated"] == 1


def test_process_activate_version_messages_false_marks_nothing(erp_db, tmp_path):
    run_target(erp_db, [ITEM_SCHEMA, *listed(1, "a", "b"), activate(1)], tmp_path)

    _, report, _ = run_target(
        erp_db,
        [ITEM_SCHEMA, *listed(2, "a"), activate(2)],
        tmp_path,
        process_activate_version_messages=False,
    )

    assert report["deactivated"] == 0
    assert active(erp_db) == {"a": True, "b": True}


def test_a_role_that_may_not_create_the_ids_table_still_writes_items_and_warns(
    erp_db, tmp_path, caplog
):
    run_target(erp_db, [ITEM_SCHEMA, *listed(1, "a")], tmp_path, create_tables=True)
    conn = connect(erp_db)
    with conn.cursor() as cur:
        cur.execute("DROP TABLE zoho_item_versions")
        cur.execute(
            "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'erp_writer') "
            "THEN CREATE ROLE erp_writer LOGIN; END IF; END $$"
        )
        cur.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        cur.execute("GRANT USAGE ON SCHEMA public TO erp_writer")
        cur.execute("GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO erp_writer")
        cur.execute("GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO erp_writer")
    conn.commit()
    conn.close()

    _, report, error = run_target(
        {**erp_db, "user": "erp_writer"},
        [ITEM_SCHEMA, *listed(2, "b"), activate(2)],
        tmp_path,
    )

    assert error is None
    assert active(erp_db) == {"a": True, "b": True}
    assert report["deactivated"] == 0
    assert any("zoho_item_versions is missing" in r.getMessage() for r in caplog.records)


def test_a_product_a_listing_lacked_is_restored_by_a_later_read_of_it(erp_db, tmp_path):
    # An item missing from one listing is marked inactive without changing its Zoho content;
    # when a later listing reads the very same version of it again, it is active once more
    # (the marking is part of what a later read may correct, not a new content).
    def read_at(message, at):
        return {**message, "time_extracted": at}

    first = [read_at(m, "2026-12-01T10:00:00+00:00") for m in listed(1, "a", "b")]
    run_target(erp_db, [ITEM_SCHEMA, *first, activate(1)], tmp_path)
    run_target(erp_db, [ITEM_SCHEMA, *listed(2, "a"), activate(2)], tmp_path)
    assert active(erp_db) == {"a": True, "b": False}

    again = [read_at(m, "2026-12-01T11:00:00+00:00") for m in listed(3, "a", "b")]
    run_target(erp_db, [ITEM_SCHEMA, *again, activate(3)], tmp_path)

    assert active(erp_db) == {"a": True, "b": True}
