"""Canonical text forms shared by ids, attribute values, seeds and digests.

Everything a third party must re-derive is text, so "the same" has to mean the same bytes:
strings are NFC-normalized and encoded as UTF-8; integers are written in decimal; floats,
booleans and other objects are refused rather than turned into Python reprs, whose
spelling is an implementation detail. Control characters are refused everywhere, which
lets the digests use tab and newline as unambiguous separators.
"""

from __future__ import annotations

import re
import unicodedata

from .errors import InvalidPopulation

__all__ = ["canonical_id", "canonical_text", "canonical_value", "utf8_key"]

# C0, DEL, C1 and lone surrogates: invisible in a published list, or not encodable.
_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def canonical_text(value: str, what: str = "text") -> str:
    """Return ``value`` in NFC; raise ``InvalidPopulation`` if it holds a control character."""
    if not isinstance(value, str):
        raise InvalidPopulation(f"{what} must be a string, got {type(value).__name__}", what=what)
    if value.isascii() and value.isprintable():  # the common case: already canonical
        return value
    text = unicodedata.normalize("NFC", value)
    bad = _FORBIDDEN.search(text)
    if bad is not None:
        raise InvalidPopulation(
            f"{what} {text!r} contains control character U+{ord(bad.group()):04X}", what=what
        )
    return text


def _scalar_text(value: object, what: str) -> str:
    # bool is an int subclass; True must not silently become "True" or "1".
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, str):
        return value
    raise InvalidPopulation(
        f"{what} must be a string or an integer, got {type(value).__name__} {value!r}", what=what
    )


def canonical_id(value: str | int, what: str = "id") -> str:
    """Return the canonical id for ``value``.

    Contract: strings are NFC-normalized; integers become their decimal string; the result
    is non-empty, has no leading or trailing whitespace and no control character.
    Anything else raises ``InvalidPopulation``. Canonical ids compare by their UTF-8 bytes,
    which for Python ``str`` is the same as code point order.
    """
    text = canonical_text(_scalar_text(value, what), what)
    if not text:
        raise InvalidPopulation(f"{what} is empty", what=what)
    if text != text.strip():
        raise InvalidPopulation(f"{what} {text!r} has leading or trailing whitespace", what=what)
    return text


def canonical_value(value: str | int | None, what: str = "value") -> str:
    """Return the canonical form of an attribute value.

    Contract: ``None`` becomes the empty string (a missing value), integers their decimal
    string, strings their NFC form; control characters and other types raise
    ``InvalidPopulation``. Values are compared and digested as these strings, so ``5`` and
    ``"5"`` are the same value.
    """
    if value is None:
        return ""
    return canonical_text(_scalar_text(value, what), what)


def utf8_key(text: str) -> bytes:
    """Sort key putting canonical strings in ascending UTF-8 byte order."""
    return text.encode("utf-8")
