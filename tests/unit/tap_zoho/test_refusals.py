"""Listings Zoho refuses for good, remembered in state (``tap_zoho.crm.completion.refusals``)."""

from __future__ import annotations

from tap_zoho.crm.completion.plan import Source
from tap_zoho.crm.completion.refusals import DAY, REFUSED, RETRY_DAYS, Refusals

NOW = 1_700_000_000
FIELD = {"api_name": "Subform_1", "data_type": "subform", "associated_module": {"module": "X"}}


def test_a_refusal_stands_until_the_retry_bound_then_is_forgotten():
    state: dict = {}
    source = Source.of(FIELD)
    Refusals(state, NOW).remember(source, "X offers no page token past 2,000 rows")

    later = Refusals(state, NOW + RETRY_DAYS * DAY - 1).active(source)
    assert later is not None
    assert "no page token" in later.describe()
    assert Refusals(state, NOW + RETRY_DAYS * DAY).active(source) is None
    assert REFUSED not in state


def test_a_layout_edit_of_the_parent_field_lifts_the_refusal_at_once():
    state: dict = {}
    Refusals(state, NOW).remember(Source.of(FIELD), "refused")
    edited = Source.of({**FIELD, "display_label": "Items (renamed)"})

    assert Refusals(state, NOW + 1).active(Source.of(FIELD)) is not None
    assert Refusals(state, NOW + 1).active(edited) is None


def test_a_refusal_of_one_module_leaves_the_others_and_a_damaged_entry_is_dropped():
    other = Source.of({**FIELD, "associated_module": {"module": "Y"}})
    state: dict = {REFUSED: {"Y": {"reason": "r", "since": 12}}}
    Refusals(state, NOW).remember(Source.of(FIELD), "refused")

    assert Refusals(state, NOW).active(other) is None  # a since that is not a datetime
    assert list(state[REFUSED]) == ["X"]
