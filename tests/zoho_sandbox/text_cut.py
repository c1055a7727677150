"""Rich text as Zoho's lists and exports cut it: the first 500 characters (contract 3.2).

Whether Zoho counts code points or UTF-16 units is not documented; 3.3 measures a value that may
have been cut in UTF-16 units. The strict reading counts units, so a cut can fall between the two
halves of a surrogate pair (an emoji): the listed value ends with a lone high surrogate, which
the JSON answer carries as an escape (``"...\\ud83d"``) and a CSV export as the three bytes a
lone surrogate takes (``ED A0 BD``), not UTF-8.
"""

from __future__ import annotations


def cut_rich_text(value: str, limit: int, *, utf16: bool = True) -> str:
    """The first ``limit`` UTF-16 units of ``value`` (code points with ``utf16=False``)."""
    if not utf16:
        return value[:limit]
    units = value.encode("utf-16-le", "surrogatepass")
    return units[: 2 * limit].decode("utf-16-le", "surrogatepass")


def csv_bytes(text: str) -> bytes:
    """A CSV export's bytes: UTF-8, a lone surrogate left by a cut written as it is."""
    return text.encode("utf-8", "surrogatepass")
