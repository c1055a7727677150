"""The comparison the end-to-end tests rely on tells equal values from different ones."""

from __future__ import annotations

import pytest

from tests.support.compare import differences, same


@pytest.mark.parametrize(
    ("source", "stored"),
    [
        (None, None),
        (True, True),
        (12.5, "12.50"),
        (42, 42),
        ("2024-01-05T10:20:30+05:30", "2024-01-05 04:50:30"),
        ("2024-01-05", "2024-01-05"),
        ({"id": "1", "name": "Acme"}, '{"name":"Acme","id":"1"}'),
        (["a", "b"], '["a","b"]'),
        ("9007199254740993", "9007199254740993"),
    ],
)
def test_equal_values_match(source, stored):
    assert same(source, stored)


@pytest.mark.parametrize(
    ("source", "stored"),
    [
        (None, ""),
        (True, False),
        (12.5, "12.51"),
        ("2024-01-05T10:20:30+05:30", "2024-01-05 10:20:30"),
        ({"id": "1"}, '{"id":"2"}'),
        ("text", "Text"),
    ],
)
def test_different_values_do_not_match(source, stored):
    assert not same(source, stored)


def test_differences_lists_missing_extra_and_changed_rows():
    expected = {"1": {"id": "1", "n": 1}, "2": {"id": "2", "n": 2}}
    stored = {"1": {"id": "1", "n": 5}, "3": {"id": "3", "n": 3}}
    problems = differences(expected, stored)
    assert "missing id 2" in problems
    assert "unexpected id 3" in problems
    assert any(p.startswith("1.n") for p in problems)
