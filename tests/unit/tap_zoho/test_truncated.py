"""Parents a single-record read cut, completed from the lists (``tap_zoho.crm.completion.truncated``).

Zoho is a function answering the three calls the pass makes: the probe of the newest parents, the
subform module's field metadata and its list.
"""

from __future__ import annotations

import logging

from tap_zoho.crm.completion.budget import DetailBudget
from tap_zoho.crm.completion.budgeted_reads import DETAIL_PENDING, BudgetedReads
from tap_zoho.crm.completion.inputs import CompletionRun
from tap_zoho.crm.completion.linked_rows import LinkedRows
from tap_zoho.crm.completion.plan import CompletionFields, Source
from tap_zoho.crm.completion.refusals import REFUSED, Refusals
from tap_zoho.crm.completion.truncated import TruncatedParents
from tap_zoho.errors import ZohoApiError
from tap_zoho.summary import RunSummary

SUBFORM = Source.of(
    {"api_name": "Subform_1", "data_type": "subform", "associated_module": {"module": "Items"}}
)
ROWS = [
    {"id": "11", "Item": "b", "Sequence_Number": 2, "Parent_Id": {"id": "1"}},
    {"id": "12", "Item": "a", "Sequence_Number": 1, "Parent_Id": {"id": "1"}},
    {"id": "13", "Item": "c", "Sequence_Number": 3, "Parent_Id": {"id": "1"}},
]


def zoho(rows=ROWS, refuse=False):
    def get_json(path, params, headers):
        if path.endswith("/settings/fields"):
            return {"fields": [{"api_name": n} for n in ("Item", "Sequence_Number", "Parent_Id")]}
        if path.endswith("/Items"):
            if refuse:
                raise ZohoApiError("refused", code="INVALID_MODULE", status=400)
            return {"data": rows, "info": {"more_records": False}}
        return {"data": [{"id": "1", "Modified_Time": "2024-01-01T00:00:00+00:00"}]}

    return get_json


def parts(get_json):
    run = CompletionRun(
        "Leads", "/crm/v8/Leads", get_json, logging.getLogger("t"), RunSummary(),
        DetailBudget(10), True, 10, 200, True, lambda: 1_700_000_000,
    )  # fmt: skip
    fields = CompletionFields(sources=(SUBFORM,))
    state: dict = {}
    budgeted = BudgetedReads(None, run, fields, state)  # type: ignore[arg-type]
    refusals = Refusals(state, 1_700_000_000)
    truncated = TruncatedParents(run, fields, LinkedRows(get_json, 200), budgeted, refusals)
    budgeted.hold = truncated.hold
    return truncated, budgeted, state


def cut_parent(truncated, budgeted):
    budgeted.wait("1")
    truncated.hold({"id": "1", "Subform_1": [ROWS[1]]}, ("Subform_1",))


def test_a_held_parent_takes_every_listed_row_in_its_order_and_waits_no_more():
    truncated, budgeted, state = parts(zoho())
    cut_parent(truncated, budgeted)
    notes = []

    got = list(truncated.records(lambda source, note: notes.append(note)))

    assert [[row["Item"] for row in r["Subform_1"]] for r in got] == [["a", "b", "c"]]
    assert DETAIL_PENDING not in state
    assert budgeted.incomplete == 0
    assert "1 parents a single-record read cut ($has_more) completed from the Items list" in notes
    truncated.close()


def test_a_refused_listing_leaves_the_parent_as_read_counted_and_remembered():
    truncated, budgeted, state = parts(zoho(refuse=True))
    cut_parent(truncated, budgeted)
    notes = []

    got = list(truncated.records(lambda source, note: notes.append(note)))

    assert [len(r["Subform_1"]) for r in got] == [1]
    assert budgeted.incomplete == 1
    assert DETAIL_PENDING not in state  # a read next run would be cut the same way
    assert "Items" in state[REFUSED]
    assert "left cut: GET /crm/v8/Items answered INVALID_MODULE" in notes[0]
    truncated.close()


def test_a_parent_whose_listed_rows_are_fewer_than_its_read_gave_waits_for_the_next_run():
    truncated, budgeted, state = parts(zoho(rows=[]))  # its rows went away since its read
    cut_parent(truncated, budgeted)

    got = list(truncated.records(lambda source, note: None))

    assert [len(r["Subform_1"]) for r in got] == [1]
    assert budgeted.incomplete == 1
    assert state[DETAIL_PENDING] == ["1"]
    truncated.close()
