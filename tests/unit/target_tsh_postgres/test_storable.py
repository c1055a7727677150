"""What PostgreSQL cannot store, decided before the database sees it (no database here)."""

from __future__ import annotations

import json

import pytest
from target_tsh_postgres.errors import RecordRefusedError
from target_tsh_postgres.storable import TooDeep, clean_text, is_storable, preview, source


def test_a_clean_record_is_its_json_unchanged_and_nothing_is_repaired():
    record = {"item_id": "1", "name": "فلتر زيت", "rate": 12.5, "_sdc_extracted_at": "2024-01-05"}

    stored = source(record, ("item_id",))

    assert stored.record is record
    assert stored.repaired == ()
    assert json.loads(stored.json) == {"item_id": "1", "name": "فلتر زيت", "rate": 12.5}


def test_nul_and_lone_surrogates_are_removed_from_values_and_property_names_anywhere():
    record = {
        "item_id": "1",
        "name": "Oil\x00 filter",
        "description": "half an emoji \ud83d here",
        "custom_fields": [{"label": "Col\x00our", "value": ["deep \udc00"]}],
        "cf\x00_x": "ok",
        "sku": "untouched",
    }

    stored = source(record, ("item_id",))

    assert stored.record["name"] == "Oil filter"
    assert stored.record["description"] == "half an emoji  here"
    assert stored.record["custom_fields"] == [{"label": "Colour", "value": ["deep "]}]
    assert stored.record["cf_x"] == "ok"
    assert set(stored.repaired) == {"name", "description", "custom_fields", "cf\x00_x"}
    assert "\\u0000" not in stored.json
    assert json.loads(stored.json)["name"] == "Oil filter"


def test_the_read_time_is_cleaned_too_though_it_is_not_in_zoho_data():
    stored = source({"item_id": "1", "_sdc_extracted_at": "2024-01-05\x00T10:00:00Z"}, ("item_id",))

    assert stored.record["_sdc_extracted_at"] == "2024-01-05T10:00:00Z"
    assert stored.repaired == ("_sdc_extracted_at",)


@pytest.mark.parametrize("item_id", ["12\x003", "12\ud8003"])
def test_an_id_is_never_altered_its_record_is_refused_naming_field_and_value(item_id):
    with pytest.raises(RecordRefusedError) as refused:
        source({"item_id": item_id, "name": "x"}, ("item_id",))

    assert refused.value.field == "item_id"
    assert refused.value.value == repr(item_id)
    assert "cannot store" in refused.value.reason


def test_a_property_too_deep_for_the_reader_refuses_its_record():
    with pytest.raises(RecordRefusedError) as refused:
        source({"item_id": "1", "tree": TooDeep("[[[[[[")}, ("item_id",))

    assert refused.value.field == "tree"
    assert "nested deeper" in refused.value.reason


def test_a_nul_deep_inside_is_removed_and_a_value_too_deep_to_encode_is_refused():
    nested: list[object] = ["a\x00"]
    for _ in range(400):
        nested = [nested]
    too_deep: list[object] = []
    for _ in range(5_000):
        too_deep = [too_deep]

    stored = source({"item_id": "1", "tree": nested}, ("item_id",))
    with pytest.raises(RecordRefusedError) as refused:
        source({"item_id": "1", "ok": 1, "tree": too_deep}, ("item_id",))

    assert stored.repaired == ("tree",)
    assert "\\u0000" not in stored.json
    assert stored.json.count("[") == 401
    assert refused.value.field == "tree"


def test_text_checks_and_previews_are_one_printable_line():
    assert is_storable("ok ✓")
    assert not is_storable("a\x00")
    assert not is_storable("\udfff")
    assert clean_text("a\x00b\ud800c") == "abc"
    assert preview("line\nbreak\x00") == repr("line\nbreak\x00")
    assert preview("\ud800") == "'\\ud800'"
    assert len(preview({"k": list(range(1000))})) <= 80


def test_a_record_needing_cleaning_and_holding_a_value_too_deep_is_refused_not_crashed():
    record = {"item_id": "1", "k\ud800": "x", "tree": TooDeep("[[[[")}

    with pytest.raises(RecordRefusedError) as refused:
        source(record, ("item_id",))

    assert refused.value.field == "tree"
