"""Which stored blobs no record needs any more: the rule of the blob sweep.

A photo whose filing was cut between storage and record (the server killed, the database
lost) leaves its blob, and maybe its thumbnails, without a record. The phone normally sends
it again and the new record cites the same bytes; a phone that never comes back leaves them
behind for good. The sweep removes those, but only once they are old enough that no filing
can still be on its way to recording them.
"""

from __future__ import annotations

from collections.abc import Container, Iterable

__all__ = ["sweepable"]


def sweepable(stored: Iterable[tuple[str, float]], cited: Container[str], *, now: float,
              older_than: float) -> list[str]:
    """The digests, in input order, of blobs stored at least ``older_than`` seconds before
    ``now`` that no record cites.

    ``stored`` holds ``(sha256, stored_at)`` pairs (POSIX seconds); ``cited`` holds every
    digest a record still points to (originals and thumbnails). A blob stored after ``now``
    (a clock step) counts as young. ``older_than`` must not be negative.
    """
    if older_than < 0:
        raise ValueError("older_than must not be negative")
    return [sha for sha, stored_at in stored if now - stored_at >= older_than and sha not in cited]
