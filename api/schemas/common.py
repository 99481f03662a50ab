"""Shared field types and the page envelope."""

from __future__ import annotations

import unicodedata
from datetime import datetime, timezone
from typing import Annotated, Generic, TypeVar

import msgspec
from msgspec import Meta

__all__ = ["Body", "CLOCK_RANGE", "Code", "LINE", "Page", "Password", "PRINTABLE", "Text", "Username", "clock_field",
           "clock_instant", "to_nfc", "trimmed"]

T = TypeVar("T")

# Codes travel in URL paths, so no slashes, no whitespace, no control characters.
# Control characters have no place in names; PostgreSQL refuses NUL in text outright.
PRINTABLE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
# One line of text: no C0 (tab and newline included), DEL or C1 character. What a draw reads
# of the registry must be this, or the sampler refuses the whole population (sampling.canonical).
LINE = r"^[^\x00-\x1f\x7f-\x9f]*$"
Code = Annotated[str, Meta(min_length=1, max_length=100, pattern=r"^[^\s/\\\x00-\x1f\x7f-\x9f]+$")]
Username = Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
Password = Annotated[str, Meta(min_length=8, max_length=256)]
Text = Annotated[str, Meta(min_length=1, max_length=200, pattern=PRINTABLE)]


# What a working clock can show: a phone whose clock was reset shows 1970, never year 1 (which,
# with its offset, is not even a representable instant in UTC).
CLOCK_RANGE = (datetime(1970, 1, 1, tzinfo=timezone.utc), datetime(2100, 1, 1, tzinfo=timezone.utc))


def clock_instant(value: datetime) -> datetime | None:
    """``value`` (aware) as an instant in UTC, or ``None`` if no working clock could show it."""
    try:
        instant = value.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        return None
    return instant if CLOCK_RANGE[0] <= instant < CLOCK_RANGE[1] else None


def clock_field(name: str, value: datetime) -> datetime:
    """For a body's ``__post_init__``: the instant in UTC, so that one instant written with two
    offsets is one value (repeats compare equal), or a ValueError naming the field (msgspec
    turns it into a validation error; api.errors points the error's path at the field)."""
    instant = clock_instant(value)
    if instant is None:
        raise ValueError(f"`{name}` must be a time between {CLOCK_RANGE[0].year} and {CLOCK_RANGE[1].year} (UTC)")
    return instant


def to_nfc(body: msgspec.Struct, *names: str) -> None:
    """Put the named text fields of ``body`` in Unicode NFC, the form the sampler compares
    (sampling.canonical): two spellings of one code are then one code, not two rows that
    make every later draw refuse the registry."""
    for name in names:
        value = getattr(body, name)
        if isinstance(value, str) and not value.isascii():
            setattr(body, name, unicodedata.normalize("NFC", value))


class Body(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of every request body."""


class Page(msgspec.Struct, Generic[T], kw_only=True):
    items: list[T]
    total: int
    limit: int
    offset: int


def trimmed(body: msgspec.Struct, *names: str) -> None:
    """Strip the named text fields (or each text of a list field) of ``body`` of leading and
    trailing whitespace, as an import strips its cells: ``"G2 "`` would be another grid than
    ``G2``, and the sampler refuses such a value outright, so one stored by hand stopped every
    later draw. A value that is only whitespace is a ValueError naming the field."""
    for name in names:
        value = getattr(body, name)
        if isinstance(value, str):
            value = value.strip()
            if not value:
                raise ValueError(f"`{name}` must not be blank")
            setattr(body, name, value)
        elif isinstance(value, list) and any(isinstance(v, str) and v != v.strip() for v in value):
            kept = [v.strip() if isinstance(v, str) else v for v in value]
            if any(v == "" for v in kept):
                raise ValueError(f"`{name}` must not hold a blank entry")
            setattr(body, name, kept)
