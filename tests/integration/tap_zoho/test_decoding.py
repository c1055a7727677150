"""Rich text cut inside a character (contract 3.2): lists cut at 500 UTF-16 units, so an emoji
across units 500 and 501 leaves its high surrogate alone, a ``"\\ud83d"`` escape msgspec refuses;
a Bulk Read export cut the same way holds bytes that are not UTF-8. The tap reads both, puts
U+FFFD where the half was, warns once per stream naming the record and the field, and counts
them in the run summary."""

from __future__ import annotations

import logging

import pytest
from jsonschema import Draft7Validator, FormatChecker
from tap_zoho.crm.bulk_read import jobs as bulk_jobs

from tests.support.tap import run_tap
from tests.zoho_sandbox import Sandbox
from tests.zoho_sandbox.bulk_read import BulkOptions
from tests.zoho_sandbox.crm_api import rich_text_fields
from tests.zoho_sandbox.seed import completion_specs

EMOJI = "\U0001f642"


@pytest.fixture(autouse=True)
def fresh_download_throttle(monkeypatch):
    """The 10-a-minute download budget is per process: each test starts with a full one."""
    monkeypatch.setattr(bulk_jobs, "DOWNLOADS", bulk_jobs.DownloadThrottle())


@pytest.fixture
def world():
    sandbox = Sandbox(
        specs=completion_specs(40, 16),
        bulk=BulkOptions(delay_seconds=0, rich_text_chars=500),
    )
    sandbox.start()
    yield sandbox
    sandbox.stop()


def split(sandbox, module):
    """{record id: (field, whole value)} of the values a cut at 500 units splits in two."""
    out = {}
    for rid, record in sandbox.records(module).items():
        for name in rich_text_fields(sandbox.store.modules[module]):
            value = record.get(name) or ""
            if value.encode("utf-16-le")[998:1000] == EMOJI.encode("utf-16-le")[:2]:
                out[rid] = (name, value)
    return out


def warnings_of(caplog, stream):
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and r.getMessage().startswith(f"{stream}: record ")
    ]


def conforms(run, stream):
    validator = Draft7Validator(run.schemas[stream], format_checker=FormatChecker())
    return [e.message for r in run.records[stream] for e in validator.iter_errors(r)]


def test_a_listed_value_cut_inside_a_surrogate_pair_arrives_with_u_fffd_and_one_warning(
    world, caplog
):
    caplog.set_level(logging.DEBUG)
    cut = {"leads": split(world, "Leads"), "quotes": split(world, "Quotes")}
    assert len(cut["leads"]) > 1
    assert cut["quotes"]

    run = run_tap(world.tap_config(crm_modules=["Leads", "Quotes"], crm_detail_reads=False))

    assert run.error is None, run.error
    for stream, values in cut.items():
        got = {r["id"]: r for r in run.records[stream]}
        for rid, (field, whole) in values.items():
            assert got[rid][field] == whole[:499] + "\ufffd"  # 500 units, like the cut value
        (warning,) = warnings_of(caplog, stream)
        rid, (field, _) = next((r, v) for r, v in values.items() if f"record {r}," in warning)
        assert f"field {field}:" in warning
        assert "U+FFFD" in warning
        assert conforms(run, stream) == []
    assert run.summary is not None
    assert run.summary["repaired_values"] == {
        "Leads": len(cut["leads"]),
        "Quotes": len(cut["quotes"]),
    }


def test_values_completed_from_the_rich_text_api_arrive_whole(world):
    cut = split(world, "Leads")

    run = run_tap(world.tap_config(crm_modules=["Leads"]))

    assert run.error is None, run.error
    got = {r["id"]: r for r in run.records["leads"]}
    for rid, (field, whole) in cut.items():
        assert got[rid][field] == whole
        assert got[rid][field][499] == EMOJI


def test_an_export_cut_inside_a_character_arrives_with_u_fffd_and_one_warning(world, caplog):
    caplog.set_level(logging.INFO)
    cut = split(world, "Leads")
    config = world.tap_config(
        crm_modules=["Leads"], crm_bulk_read_min_records=10, crm_detail_reads=False
    )

    run = run_tap(config)

    assert run.error is None, run.error
    assert world.stats.requests["crm_bulk_download"] >= 1
    got = {r["id"]: r for r in run.records["leads"]}
    for rid, (field, whole) in cut.items():
        assert got[rid][field].startswith(whole[:499] + "\ufffd")  # each byte of the half
        assert set(got[rid][field][499:]) == {"\ufffd"}
    (warning,) = warnings_of(caplog, "leads")
    assert "Bulk Read CSV of Leads" in warning
    assert any(f"record {rid}, field {field}:" in warning for rid, (field, _) in cut.items())
    assert conforms(run, "leads") == []
    assert run.summary is not None
    assert run.summary["repaired_values"] == {"Leads": len(cut)}
