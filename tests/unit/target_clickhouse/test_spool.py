"""The batch file's lines: compact JSON with every token as the tap sent it."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
from hypothesis import given
from hypothesis import strategies as st
from target_clickhouse import spool
from target_clickhouse.spool import Spool, compact


def test_whitespace_between_tokens_goes_and_every_token_stays_as_written():
    text = b'{ "a" :\t1.50 ,\r\n "b": [ 1E5, -0.0 ], "s": "x  y, \\" z\\\\" , "n": null }'

    assert compact(text) == b'{"a":1.50,"b":[1E5,-0.0],"s":"x  y, \\" z\\\\","n":null}'


def test_a_lone_surrogate_escape_msgspec_will_not_reread_is_compacted_all_the_same():
    text = b'{"a": "\\ud800 x", "b": [1,  2]}'

    assert compact(text) == b'{"a":"\\ud800 x","b":[1,2]}'


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)


@given(json_values, st.sampled_from([None, 0, 2]))
def test_both_ways_of_compacting_agree(value, indent):
    text = json.dumps(value, indent=indent).encode()

    by_token = spool._TOKEN_OR_SPACE.sub(lambda found: found.group(1) or b"", text)

    assert by_token == compact(text) == json.dumps(value, separators=(",", ":")).encode()


def test_raw_records_are_spooled_compact_and_dicts_as_encoded(tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    batch = Spool(max_rows=10, max_bytes=1 << 20)

    batch.add(msgspec.Raw(b'{"id": "1", "o": {"k": [1, 2]}}'))
    batch.add_record({"id": "2", "o": {"k": [3]}})
    taken = batch.take()

    assert taken is not None
    path, rows = taken
    assert rows == 2
    written = Path(path).read_bytes()
    assert written == b'{"id":"1","o":{"k":[1,2]}}\n{"id":"2","o":{"k":[3]}}\n'
