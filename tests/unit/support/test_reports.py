"""Unit tests of ``tests.support.reports``: a report with a lone surrogate can still be sent."""

from __future__ import annotations

import json

import pytest

from tests.support.reports import pytest_runtest_logreport, sendable


def test_a_lone_surrogate_becomes_its_backslash_escape_and_the_rest_is_kept():
    assert sendable("stream \ud834 é 🙂") == "stream \\ud834 é 🙂"


def test_a_report_that_captured_a_lone_surrogate_encodes_as_utf_8():
    report = pytest.TestReport(
        "t.py::test",
        ("t.py", 1, "test"),
        {},
        "failed",
        "assert '\ud834' == 'x'",
        "call",
        sections=[("Captured log call", "WARNING stream \ud834")],
    )

    pytest_runtest_logreport(report)

    json.dumps(report._to_json(), ensure_ascii=False).encode("utf-8")  # what execnet needs
    assert report.sections == [("Captured log call", "WARNING stream \\ud834")]
