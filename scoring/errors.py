"""Exceptions raised by the scoring library.

Every error the library raises on bad data is a :class:`ScoringError`, so a
caller (``api/``) can map the whole family to a 4xx response in one place.
Errors about a document (catalog or scheme) carry ``path``, a JSONPath-like
location of the offending node such as ``$.items[2].indicators[0].rule.points``.
"""

from __future__ import annotations

__all__ = ["ScoringError", "CatalogError", "SchemeError", "InputError"]


class ScoringError(Exception):
    """Base class of every error raised by :mod:`scoring` on bad data."""


class _PathError(ScoringError):
    """An error located at ``path`` inside a catalog or scheme document."""

    def __init__(self, message: str, path: str = "$") -> None:
        self.message = message
        self.path = path
        super().__init__(f"{message} - at `{path}`")


class CatalogError(_PathError):
    """A catalog document is malformed or violates a semantic rule."""


class SchemeError(_PathError):
    """A scheme document is malformed, or a scheme was fed inconsistent data."""


class InputError(ScoringError):
    """A finding, measurement or unit handed to a scoring function is unusable.

    ``ref`` names the offending record (a finding id, a unit code, ...).
    """

    def __init__(self, message: str, ref: str | None = None) -> None:
        self.message = message
        self.ref = ref
        super().__init__(message if ref is None else f"{message} ({ref})")
