"""Seeds: validation, composition from public inputs, commit-reveal and derivation.

A seed is a string. Its canonical form is NFC without control characters; that form is
what gets hashed, committed to and recorded.

Why draws never use the public seed directly: the commitment published before a draw is
SHA-256 of the seed, and consistent sampling hashes SHA-256(seed) into every ticket. Using
the seed as the ticket seed would let anyone holding the commitment compute the whole
draw before the seed is revealed, so every part of a draw uses a *derived* seed instead.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from typing import Annotated

import msgspec

from .canonical import canonical_text
from .errors import InvalidPopulation, InvalidSeed, SeedCommitmentMismatch

__all__ = [
    "PURPOSE_CASE_FILES",
    "PURPOSE_INSPECTORS",
    "PURPOSE_UNITS",
    "SEED_MAX_LENGTH",
    "SeedPart",
    "SeedRecord",
    "canonical_seed",
    "compose_seed",
    "derive_seed",
    "seed_commitment",
    "verify_seed",
]

SEED_MAX_LENGTH = 256
PART_SEPARATOR = "|"
DERIVE_LABEL = "spotcheck-seed/1"

# Purpose labels of derived seeds; part of the published protocol (docs/sampling.md).
PURPOSE_UNITS = "units"
PURPOSE_CASE_FILES = "case-files"
PURPOSE_INSPECTORS = "inspectors"

_HEX64 = re.compile(r"[0-9a-f]{64}")


class SeedPart(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One public input of a composed seed, recorded as given (e.g. a witness's dice roll)."""

    source: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    value: Annotated[str, msgspec.Meta(min_length=1, max_length=SEED_MAX_LENGTH)]


class SeedRecord(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The seed of a draw as recorded: the seed, its parts if composed, its commitment if any."""

    seed: Annotated[str, msgspec.Meta(min_length=1, max_length=SEED_MAX_LENGTH)]
    parts: tuple[SeedPart, ...] = ()
    commitment: str | None = None


def canonical_seed(seed: str) -> str:
    """Return the canonical form of ``seed`` or raise ``InvalidSeed``.

    Contract: NFC, 1 to ``SEED_MAX_LENGTH`` characters, no control characters. Integers are
    refused: a seed is text, so ``"007"`` and ``"7"`` stay different seeds.
    """
    if not isinstance(seed, str):
        raise InvalidSeed(f"a seed must be a string, got {type(seed).__name__}")
    try:
        text = canonical_text(seed, "seed")
    except InvalidPopulation as exc:
        raise InvalidSeed(exc.message) from None
    if not text or len(text) > SEED_MAX_LENGTH:
        raise InvalidSeed(f"a seed must have 1 to {SEED_MAX_LENGTH} characters", length=len(text))
    return text


def seed_commitment(seed: str) -> str:
    """Return the commitment to ``seed``: SHA-256 hex (lower case) of its canonical UTF-8.

    Equivalent to ``printf %s SEED | sha256sum`` for a seed already in NFC.
    """
    return hashlib.sha256(canonical_seed(seed).encode("utf-8")).hexdigest()


def verify_seed(seed: str, commitment: str) -> None:
    """Return if ``seed`` matches ``commitment``; raise ``SeedCommitmentMismatch`` otherwise.

    A malformed commitment (not 64 hex digits) raises ``InvalidSeed``. Upper-case hex is
    accepted. The comparison is constant-time.
    """
    if not isinstance(commitment, str) or not _HEX64.fullmatch(commitment.lower()):
        raise InvalidSeed("a seed commitment must be 64 hexadecimal digits (SHA-256)")
    actual = seed_commitment(seed)
    if not hmac.compare_digest(actual, commitment.lower()):
        raise SeedCommitmentMismatch(
            "the seed does not match the published commitment",
            commitment=commitment.lower(),
            seed_hash=actual,
        )


def compose_seed(parts: Iterable[SeedPart], commitment: str | None = None) -> SeedRecord:
    """Compose a seed from public inputs, in the order given.

    Contract: each part value is canonicalized and must not contain ``"|"``; the seed is
    the values joined by ``"|"`` (so ``["3141", "5926"]`` gives ``"3141|5926"``); parts are
    recorded with their sources as given. With ``commitment``, the composed seed is
    verified against it (``SeedCommitmentMismatch`` on mismatch).
    """
    parts = tuple(parts)
    if not parts:
        raise InvalidSeed("a composed seed needs at least one part")
    values = []
    for part in parts:
        value = canonical_seed(part.value)
        if PART_SEPARATOR in value:
            raise InvalidSeed(f"seed part {value!r} contains {PART_SEPARATOR!r}", source=part.source)
        values.append(value)
    seed = canonical_seed(PART_SEPARATOR.join(values))
    if commitment is not None:
        verify_seed(seed, commitment)
        commitment = commitment.lower()
    return SeedRecord(seed=seed, parts=parts, commitment=commitment)


def derive_seed(seed: str, purpose: str, *context: str) -> str:
    """Return the seed for one purpose of a draw (64 lower-case hex digits).

    ``derive_seed(s, p, c1, c2) = SHA-256 hex of UTF-8("spotcheck-seed/1\\n" + p + "\\n" + s
    + "\\n" + c1 + "\\n" + c2)``. Seed, purpose and context are canonical and free of
    newlines, so the encoding is unambiguous. The result is itself a valid seed.
    """
    fields = [DERIVE_LABEL, canonical_text(purpose, "purpose"), canonical_seed(seed)]
    fields.extend(canonical_text(item, "seed context") for item in context)
    return hashlib.sha256("\n".join(fields).encode("utf-8")).hexdigest()
