"""Per-record reads within the run's cap (``tap_zoho.crm.completion.budgeted_reads``)."""

from __future__ import annotations

import logging

import pytest
from tap_zoho.crm.completion.budgeted_reads import BudgetedReads
from tap_zoho.crm.completion.plan import CompletionFields, Source


@pytest.mark.parametrize("has_more", [{"Quoted_Items": True}, ["Quoted_Items"]])
def test_has_more_is_read_as_a_map_or_a_list_of_field_names(has_more):
    fields = CompletionFields(sources=(Source("Quoted_Items", "subform", None),))
    reads = BudgetedReads.__new__(BudgetedReads)
    reads.fields, reads.incomplete = fields, 0
    reads.module, reads.logger = "Quotes", logging.getLogger("test")

    reads.count_truncated("1", {"id": "1", "Quoted_Items": [{"id": "9"}], "$has_more": has_more})

    assert reads.incomplete == 1
