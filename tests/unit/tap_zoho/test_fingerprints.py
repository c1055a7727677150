"""A row's fingerprint: equal content, equal print; order, empties and UI flags do not count."""

from __future__ import annotations

from tap_zoho.fingerprints import fingerprint


def test_fingerprints_ignore_key_order_empty_values_and_ui_flags_only():
    assert fingerprint({"a": 1, "b": "x"}) == fingerprint(
        {"b": "x", "a": 1, "c": None, "d": "", "f": [], "$e": 1}
    )
    assert fingerprint({"a": 0, "b": False}) != fingerprint({})
    assert fingerprint({"a": 1}) != fingerprint({"a": 2})
    assert fingerprint({"a": 1, "b": "x"}) != fingerprint({"a": 1})
    assert len(fingerprint({"a": 1})) == 16
