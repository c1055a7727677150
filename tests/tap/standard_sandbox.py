"""The one sandbox of the SDK's standard tap suite: started by ``conftest.py``, never on import."""

from __future__ import annotations

from tests.zoho_sandbox import Sandbox
from tests.zoho_sandbox.seed import default_specs

_running: list[Sandbox] = []


def start() -> None:
    """Start it (once per pytest session)."""
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
        msg = "the standard suite's sandbox is started by pytest (tests/tap/conftest.py)"
        raise RuntimeError(msg)
    return _running[0]
