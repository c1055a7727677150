"""Tap tests: the sandbox the SDK's standard tap suite discovers its streams from.

``get_tap_test_class`` discovers streams while pytest collects ``test_sdk_standard.py`` (its
stream tests are parametrised by stream), so that sandbox must run before the module is imported.
It is started here, by pytest, only when that module is collected, and stopped when pytest ends;
importing a test module never starts a server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.tap import standard_sandbox

if TYPE_CHECKING:
    from pathlib import Path

    import pytest


def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> None:
    """Start the standard suite's sandbox right before its module is collected."""
    if module_path.name == "test_sdk_standard.py" and module_path.parent.name == "tap":
        standard_sandbox.start()
        parent.config.add_cleanup(standard_sandbox.stop)
