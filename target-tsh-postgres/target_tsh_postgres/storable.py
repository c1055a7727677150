r"""Text PostgreSQL cannot store, and what the target does with it: the rule, written once.

PostgreSQL's ``text`` and ``jsonb`` cannot hold U+0000 (NUL), and a UTF-8 database cannot hold
a lone surrogate (U+D800 to U+DFFF: half of a UTF-16 pair, which JSON's ``\ud83d`` escapes can
carry). Neither character means anything in a name, a description or an address, so:

* in values and property names, they are **removed**: the row is stored and the sink logs a
  warning naming the stream, the item and the fields (the run report lists them);
* in ids (the Zoho fields a row's key comes from), they would change which row is written: the
  record is **refused** (:class:`.errors.RecordRefusedError`), reported with its field and
  value, and every other record goes on.

A record nested deeper than Python can read (the reader keeps such a property as
:class:`TooDeep`) or encode is refused the same way. Everything else PostgreSQL may refuse
(numbers out of range for a column, impossible dates, values over a bounded column's length)
is refused by PostgreSQL itself, and :mod:`.upsert` names the column.

The check costs nothing extra on clean records: the record is encoded to JSON anyway (its
``zoho_data``), and only an encoding that fails or holds an escaped NUL is looked at closely.
"""

from __future__ import annotations

import re
import reprlib
import typing as t

import msgspec
from typing_extensions import override

from .errors import RecordRefusedError, TooDeepFound

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
_ESCAPED_NUL = b"\\u0000"  # how msgspec writes U+0000 inside a JSON string
METADATA_PREFIX = "_sdc_"  # Singer metadata the SDK adds: stored in columns, not in zoho_data
READ_AT = "_sdc_extracted_at"  # when the tap read the record (the RECORD's time_extracted)
_PREVIEW = reprlib.Repr()
_PREVIEW.maxlevel, _PREVIEW.maxstring, _PREVIEW.maxother = 3, 60, 60
_PREVIEW.maxlist = _PREVIEW.maxdict = 4


class TooDeep:
    """A property the reader could not decode: nested deeper than Python's recursion allows."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        """``text``: the start of the property's JSON, for the report."""
        self.text = text

    @override
    def __repr__(self) -> str:
        """The start of the JSON it holds."""
        return f"{self.text[:40]}..."


def _encode_hook(value: t.Any) -> t.Any:
    if isinstance(value, TooDeep):
        raise TooDeepFound
    return str(value)


_JSON = msgspec.json.Encoder(decimal_format="number", enc_hook=_encode_hook)


def is_storable(text: str) -> bool:
    """Whether PostgreSQL can store ``text`` as it is."""
    return _UNSTORABLE.search(text) is None


def clean_text(text: str) -> str:
    """``text`` without the characters PostgreSQL cannot store (itself when it holds none)."""
    return text if _UNSTORABLE.search(text) is None else _UNSTORABLE.sub("", text)


def preview(value: t.Any) -> str:
    """A short, one-line, printable rendering of ``value`` for messages and the report.

    Bounded in depth, so a record nested as deep as the reader allows still renders.
    """
    text = value if isinstance(value, str) else _PREVIEW.repr(value)
    shown = repr(text[:80]) if isinstance(value, str) else text[:80]
    return shown.encode("utf-8", "backslashreplace").decode("utf-8")


def shown(value: t.Any) -> str:
    """An id or a name as text for the report and the log: as it is, unless it is unprintable."""
    text = value if isinstance(value, str) else preview(value)
    return text if text.isprintable() and len(text) <= 80 else preview(text)  # noqa: PLR2004


def _clean(value: t.Any) -> t.Any:
    """``value`` with every string and key cleaned (iterative: the depth is the reader's).

    A container is copied only when something inside it changes.
    """
    if isinstance(value, str):
        return clean_text(value)
    if not isinstance(value, (dict, list)):
        return value
    # Post-order over the containers; each is rebuilt from its already cleaned children.
    done: dict[int, t.Any] = {}
    stack: list[tuple[t.Any, bool]] = [(value, False)]
    while stack:
        node, expanded = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        if not expanded:
            stack.append((node, True))
            stack.extend((c, False) for c in children if isinstance(c, (dict, list)))
            continue
        cleaned = [
            done[id(c)] if isinstance(c, (dict, list)) else _clean(c) if isinstance(c, str) else c
            for c in children
        ]
        if isinstance(node, dict):
            keys = [clean_text(k) if isinstance(k, str) else k for k in node]
            changed = keys != list(node) or any(
                a is not b for a, b in zip(cleaned, children, strict=True)
            )
            done[id(node)] = dict(zip(keys, cleaned, strict=True)) if changed else node
        else:
            changed = any(a is not b for a, b in zip(cleaned, node, strict=True))
            done[id(node)] = cleaned if changed else node
    return done[id(value)]


class Source(t.NamedTuple):
    """A record PostgreSQL can store: its JSON (``zoho_data``), its values, what was removed."""

    json: str
    record: dict[str, t.Any]
    repaired: tuple[str, ...] = ()


def source(record: dict[str, t.Any], ids: tuple[str, ...]) -> Source:
    """The record as PostgreSQL can store it, or :class:`.errors.RecordRefusedError`.

    ``ids`` are the fields the rows' keys come from: never altered, refused instead.
    """
    data = _encode({k: v for k, v in record.items() if not k.startswith(METADATA_PREFIX)})
    read_at = record.get(READ_AT)  # the one metadata value stored (``source_read_at``)
    if (
        data is not None
        and _ESCAPED_NUL not in data
        and (type(read_at) is not str or (read_at.isascii() and "\x00" not in read_at))
    ):
        return Source(data.decode(), record)
    cleaned = {clean_text(k): _clean(v) for k, v in record.items()}
    repaired = tuple(
        k for k, v in record.items() if clean_text(k) != k or cleaned[clean_text(k)] is not v
    )
    for field in ids:
        if field in repaired:
            reason = "an id holding characters PostgreSQL cannot store (NUL, lone surrogates)"
            raise RecordRefusedError(field, preview(record[field]), reason)
    data = _encode({k: v for k, v in cleaned.items() if not k.startswith(METADATA_PREFIX)})
    assert data is not None  # noqa: S101 - every lone surrogate was just removed
    return Source(data.decode(), cleaned, repaired)


_TOO_DEEP = "nested deeper than the target can read"


def _encode(payload: dict[str, t.Any]) -> bytes | None:
    """The JSON of ``payload``; None when a lone surrogate stops it; refused when too deep."""
    try:
        return _JSON.encode(payload)
    except UnicodeEncodeError:
        return None
    except TooDeepFound:
        field = next(k for k, v in payload.items() if isinstance(v, TooDeep))
        raise RecordRefusedError(field, repr(payload[field]), _TOO_DEEP) from None
    except RecursionError:  # decoded by the reader, yet too deep to encode from here
        raise RecordRefusedError(_deepest(payload), "(nested)", _TOO_DEEP) from None


def _deepest(payload: dict[str, t.Any]) -> str:
    """The first property whose value cannot be encoded for its depth."""
    for key, value in payload.items():
        try:
            _JSON.encode(value)
        except RecursionError:
            return key
    return "(record)"
