"""Lists and exports cut rich text at 500 characters (contract 3.2), counted in UTF-16 units in
the strict reading: an emoji across units 500 and 501 loses its low half, and the answer carries
the high half alone (a JSON escape; in a CSV export, bytes that are not UTF-8)."""

from __future__ import annotations

import io
import zipfile

from tests.support.sandbox_api import SandboxApi
from tests.zoho_sandbox import Limits, Sandbox
from tests.zoho_sandbox.bulk_read import BulkOptions
from tests.zoho_sandbox.seed import completion_specs
from tests.zoho_sandbox.text_cut import cut_rich_text

EMOJI = "\U0001f642"


def start(**options):
    sandbox = Sandbox(
        specs=completion_specs(16, 0),
        bulk=BulkOptions(delay_seconds=0, rich_text_chars=500),
        **options,
    )
    sandbox.start()
    return sandbox, SandboxApi.signed_in(sandbox)


def split_values(sandbox):
    return {
        rid: r["Richtext_4"]
        for rid, r in sandbox.records("Leads").items()
        if (r["Richtext_4"] or "")[499:500] == EMOJI
    }


def test_the_cut_counts_utf16_units_and_can_split_a_surrogate_pair():
    assert cut_rich_text("a" + EMOJI, 2) == "a\ud83d"
    assert cut_rich_text("a" + EMOJI, 2, utf16=False) == "a" + EMOJI
    assert cut_rich_text("ü" * 600, 500) == "ü" * 500


def test_a_list_answers_a_split_value_with_a_lone_surrogate_escape():
    sandbox, api = start()
    try:
        split = split_values(sandbox)
        answer = api.get("/crm/v8/Leads", fields="Richtext_4", approved="both")
    finally:
        sandbox.stop()

    assert len(split) >= 2
    assert answer.content.count(b'x\\ud83d"') == len(split)  # the high half alone, escaped
    listed = {row["id"]: row["Richtext_4"] for row in answer.json()["data"]}
    assert all(listed[rid] == whole[:499] + "\ud83d" for rid, whole in split.items())


def test_the_other_reading_counts_code_points_and_keeps_the_emoji_whole():
    sandbox, api = start(limits=Limits(rich_text_cut_utf16=False))
    try:
        split = split_values(sandbox)
        listed = api.get("/crm/v8/Leads", fields="Richtext_4", approved="both").json()["data"]
    finally:
        sandbox.stop()

    by_id = {row["id"]: row["Richtext_4"] for row in listed}
    assert all(by_id[rid] == whole[:500] for rid, whole in split.items())


def test_an_export_cut_inside_a_character_holds_bytes_that_are_not_utf8():
    sandbox, api = start()
    try:
        split = split_values(sandbox)
        job = api.session.post(
            f"{sandbox.base_url}/crm/bulk/v8/read",
            json={"query": {"module": {"api_name": "Leads"}, "fields": ["id", "Richtext_4"]}},
            timeout=10,
        ).json()["data"][0]["details"]["id"]
        api.get(f"/crm/bulk/v8/read/{job}")
        archive = zipfile.ZipFile(io.BytesIO(api.get(f"/crm/bulk/v8/read/{job}/result").content))
        content = archive.read(archive.namelist()[0])
    finally:
        sandbox.stop()

    for whole in split.values():
        assert whole[:499].encode() + b"\xed\xa0\xbd" in content  # the high half, as is
    assert content.count(b"\xed\xa0\xbd") == len(split)
