"""Test reports reach the xdist controller whatever a test printed or logged.

Tests that feed lone surrogates to a command line (the "any input" tests) can leave them in the
output pytest captures. execnet sends reports as strict UTF-8, so such a report crashed its worker
with an INTERNALERROR instead of being reported. Before xdist sends a report, its captured
sections (and a failure's text) are re-encoded with a backslash escape for each such character.
"""

from __future__ import annotations

import pytest


def sendable(text: str) -> str:
    """``text`` with each code point UTF-8 cannot encode (a lone surrogate) as ``\\udxxx``."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Make the report's captured output and failure text encodable before it is sent."""
    report.sections = [(title, sendable(text)) for title, text in report.sections]
    if report.longrepr is not None and not _encodable(str(report.longrepr)):
        report.longrepr = sendable(str(report.longrepr))
