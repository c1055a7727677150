"""The one sandbox of the SDK's standard tap suite, started while pytest collects that suite.

``get_tap_test_class`` discovers streams while pytest imports the suite's module (its stream
tests are parametrised by stream), so this sandbox must run before that import. The collection
hook below starts it right before the module is collected and stops it when pytest ends;
importing a test module never starts a server. Registered as a plugin by ``tests/conftest.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.zoho_sandbox import Sandbox
from tests.zoho_sandbox.seed import default_specs

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

#: The module that holds the standard suite (tests/integration/tap_zoho/).
SUITE = ("tap_zoho", "test_sdk_standard.py")
_running: list[Sandbox] = []


def start() -> None:
    """Start it (once per pytest process)."""
    if not _running:
        sandbox = Sandbox(specs=default_specs(scale=0.1))
        sandbox.start()
        _running.append(sandbox)


def stop() -> None:
    """Stop it, if it runs."""
    while _running:
        _running.pop().stop()


def running() -> Sandbox:
    """The running sandbox; only pytest's collection of the standard suite starts it."""
    if not _running:
        msg = "the standard suite's sandbox is started by pytest (tests.support.standard_sandbox)"
        raise RuntimeError(msg)
    return _running[0]


def pytest_pycollect_makemodule(module_path: Path, parent: pytest.Collector) -> None:
    """Start the standard suite's sandbox right before its module is collected."""
    if (module_path.parent.name, module_path.name) == SUITE:
        start()
        parent.config.add_cleanup(stop)
