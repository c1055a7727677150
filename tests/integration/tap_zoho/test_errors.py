"""One error tree: every failure a module meets is a ZohoError; what the tap opens, it closes."""

from __future__ import annotations

import contextlib
import io
import threading
import typing as t

from tap_zoho.tap import TapZoho

from tests.support.tap import FAST


def _pool_threads() -> list[str]:
    return [
        th.name
        for th in threading.enumerate()
        if th.name.startswith(("leads-groups", "leads-details"))
    ]


def test_worker_pools_and_http_sessions_are_closed_when_the_run_ends(sandbox, monkeypatch):
    tap = TapZoho(config={**FAST, **sandbox.tap_config(crm_modules=["Leads"])})
    opened: list[str] = []
    stream = tap.streams["leads"]
    read = stream.get_records

    def spy(context: t.Any) -> t.Iterator[dict[str, t.Any]]:
        for record in read(context):
            opened[:] = opened or _pool_threads()
            yield record

    monkeypatch.setattr(stream, "get_records", spy)
    with contextlib.redirect_stdout(io.TextIOWrapper(io.BytesIO(), encoding="utf-8")):
        tap.sync_all()

    assert opened  # the module was read in field groups, on worker threads
    assert _pool_threads() == []
    assert not tap.run_context.session.get_adapter(sandbox.base_url).poolmanager.pools
    assert tap.summary.success
