"""The disk spool that joins subform and linking rows to their parents (``tap_zoho.crm.completion.spool``)."""

from __future__ import annotations

from tap_zoho.crm.completion.spool import Spool, digest


def test_the_spool_joins_rows_to_their_parents_in_id_order_and_holds_parents_back():
    spool = Spool()
    try:
        spool.add_rows("F", [("p1", {"id": "10"}), ("p2", {"id": "3"}), ("p1", {"id": "9"})])
        found = spool.rows_for(["p1", "p2", "p3"])
        assert found == {"p1": {"F": [{"id": "9"}, {"id": "10"}]}, "p2": {"F": [{"id": "3"}]}}
        assert spool.row_count("F") == 3
        spool.hold([{"id": str(n)} for n in range(5)])
        assert [[r["id"] for r in page] for page in spool.held(2)] == [
            ["0", "1"],
            ["2", "3"],
            ["4"],
        ]
        assert list(spool.held(2)) == []
    finally:
        spool.close()
    assert digest({"F": [1]}) == digest({"F": [1]}) != digest({"F": [2]})


def test_rows_with_a_position_come_in_that_order_before_rows_without_then_by_id():
    spool = Spool()
    try:
        rows = [("p", {"id": "30", "n": 1}), ("p", {"id": "10", "n": 3}), ("p", {"id": "20"})]
        rows += [("p", {"id": "9", "n": 2})]
        spool.add_rows("F", rows, lambda row: row.get("n"))
        assert [r["id"] for r in spool.rows_for(["p"])["p"]["F"]] == ["30", "9", "10", "20"]
    finally:
        spool.close()
