"""Signed checkpoints of the ledger in the C2SP ``tlog-checkpoint`` / ``signed-note`` format.

A checkpoint body is::

    <origin>
    <tree size>
    <base64 root hash>
    time <YYYY-MM-DDTHH:MM:SSZ>

(the last line is a checkpoint extension line carrying the signing time). The
signed note appends a blank line and one line per signature,
``— <key name> <base64(4-byte key id || 64-byte Ed25519 signature)>``, where the
key id is the first 4 bytes of ``SHA-256(name || "\\n" || 0x01 || public key)``.
Verifier keys are published as ``<name>+<key id hex>+<base64(0x01 || public key)>``,
private keys live in a file ``PRIVATE+KEY+<name>+<key id hex>+<base64(0x01 || seed)>``
(the format of Go's golang.org/x/mod/sumdb/note), outside the database.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import stat
from datetime import datetime, timezone
from pathlib import Path

import msgspec
from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from evidence.errors import InvalidCheckpoint, InvalidSignature, KeyFileError

__all__ = [
    "Checkpoint",
    "CheckpointSigner",
    "CheckpointVerifier",
    "checkpoint_body",
    "parse_checkpoint",
    "generate_key_file",
    "load_signer",
]

_ED25519 = b"\x01"
_DASH = "\u2014"
_NAME_RE = re.compile(r"[^\s+]+")
_TIME_PREFIX = "time "
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


class Checkpoint(msgspec.Struct, frozen=True):
    """The tree head a log commits to: ``origin`` names the log; ``time`` is when
    it was signed (UTC, whole seconds; None if the note has no time line)."""

    origin: str
    size: int
    root: bytes
    time: datetime | None = None


def _key_id(name: str, public: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + _ED25519 + public).digest()[:4]


def _check_name(name: str) -> str:
    if not _NAME_RE.fullmatch(name):
        raise ValueError(f"key names and origins contain no spaces or '+': {name!r}")
    return name


def checkpoint_body(checkpoint: Checkpoint) -> str:
    """The note text of ``checkpoint`` (ends with a newline)."""
    _check_name(checkpoint.origin)
    if len(checkpoint.root) != 32 or checkpoint.size < 0:
        raise ValueError("a checkpoint has a 32-byte root and a non-negative size")
    lines = [checkpoint.origin, str(checkpoint.size), base64.b64encode(checkpoint.root).decode()]
    if checkpoint.time is not None:
        lines.append(_TIME_PREFIX + checkpoint.time.astimezone(timezone.utc).strftime(_TIME_FORMAT))
    return "\n".join(lines) + "\n"


def parse_checkpoint(body: str) -> Checkpoint:
    """Parse a checkpoint body (no signatures); unknown extension lines are ignored."""
    lines = body.split("\n")
    if len(lines) < 4 or lines[-1] != "":
        raise InvalidCheckpoint("a checkpoint has at least three newline-terminated lines")
    origin, size_text, root_text, *extensions = lines[:-1]
    if not origin or not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
        raise InvalidCheckpoint("bad origin or tree size line")
    try:
        root = base64.b64decode(root_text, validate=True)
    except ValueError:
        raise InvalidCheckpoint("root hash is not base64") from None
    if len(root) != 32:
        raise InvalidCheckpoint("root hash is not 32 bytes")
    moment = None
    for line in extensions:
        if line.startswith(_TIME_PREFIX):
            try:
                moment = datetime.strptime(line[len(_TIME_PREFIX) :], _TIME_FORMAT).replace(tzinfo=timezone.utc)
            except ValueError:
                raise InvalidCheckpoint(f"bad time line {line!r}") from None
    return Checkpoint(origin, int(size_text), root, moment)


class CheckpointSigner:
    """Signs checkpoints with an Ed25519 key named ``name`` (usually the origin)."""

    def __init__(self, name: str, private_key: Ed25519PrivateKey) -> None:
        self.name = _check_name(name)
        self._key = private_key
        self._public = private_key.public_key().public_bytes_raw()
        self.key_id = _key_id(name, self._public)

    @property
    def verifier_key(self) -> str:
        """The public verifier key to hand to auditors."""
        encoded = base64.b64encode(_ED25519 + self._public).decode()
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    def verifier(self) -> CheckpointVerifier:
        """A verifier for this signer's key."""
        return CheckpointVerifier.from_key(self.verifier_key)

    def sign_note(self, text: str) -> str:
        """Append this key's signature line to note ``text`` (must end with a newline)."""
        if not text.endswith("\n") or "\n\n" in text:
            raise ValueError("note text must end with a newline and contain no blank line")
        signature = self._key.sign(text.encode())
        encoded = base64.b64encode(self.key_id + signature).decode()
        return f"{text}\n{_DASH} {self.name} {encoded}\n"

    def sign(self, checkpoint: Checkpoint) -> str:
        """The signed note of ``checkpoint``."""
        return self.sign_note(checkpoint_body(checkpoint))


class CheckpointVerifier:
    """Verifies notes signed by one Ed25519 key."""

    def __init__(self, name: str, public_key: bytes) -> None:
        self.name = _check_name(name)
        self._public = Ed25519PublicKey.from_public_bytes(public_key)
        self.key_id = _key_id(name, public_key)

    @classmethod
    def from_key(cls, verifier_key: str) -> CheckpointVerifier:
        """Build from a ``name+keyid+base64`` verifier key string."""
        try:
            name, key_id, encoded = verifier_key.strip().split("+", 2)
            raw = base64.b64decode(encoded, validate=True)
        except ValueError:
            raise InvalidCheckpoint("malformed verifier key") from None
        if len(raw) != 33 or raw[:1] != _ED25519:
            raise InvalidCheckpoint("verifier key is not an Ed25519 key")
        verifier = cls(name, raw[1:])
        if verifier.key_id.hex() != key_id.lower():
            raise InvalidCheckpoint("verifier key id does not match its name and key")
        return verifier

    def verify_note(self, note: str | bytes) -> str:
        """Return the text of ``note`` if it carries a valid signature by this key.

        Signatures by other keys (witness cosignatures, for example) are ignored.
        Raises :class:`~evidence.errors.InvalidSignature` otherwise.
        """
        if isinstance(note, bytes):
            try:
                note = note.decode()
            except UnicodeDecodeError:
                raise InvalidCheckpoint("note is not UTF-8") from None
        text, separator, block = note.rpartition("\n\n")
        if not separator or not block.endswith("\n"):
            raise InvalidCheckpoint("note has no signature block")
        text += "\n"
        prefix = f"{_DASH} {self.name} "
        for line in block[:-1].split("\n"):
            if not line.startswith(prefix):
                continue
            try:
                raw = base64.b64decode(line[len(prefix) :], validate=True)
            except ValueError:  # binascii.Error, or non-ASCII text
                continue
            if len(raw) != 68 or raw[:4] != self.key_id:
                continue
            try:
                self._public.verify(raw[4:], text.encode())
            except _CryptoInvalidSignature:
                raise InvalidSignature(f"signature by {self.name} does not verify") from None
            return text
        raise InvalidSignature(f"note carries no signature by {self.name}")

    def open(self, note: str | bytes, origin: str | None = None) -> Checkpoint:
        """Verify and parse a signed checkpoint whose origin must be ``origin``
        (default: the key name)."""
        checkpoint = parse_checkpoint(self.verify_note(note))
        expected = origin if origin is not None else self.name
        if checkpoint.origin != expected:
            raise InvalidCheckpoint(f"checkpoint is for log {checkpoint.origin!r}, not {expected!r}")
        return checkpoint


def generate_key_file(path: str | os.PathLike[str], name: str) -> CheckpointSigner:
    """Create a new signing key in a new file (mode 0600; an existing file is
    never overwritten) and return its signer. Keep the file out of the database
    and its backups; publish ``signer.verifier_key``."""
    _check_name(name)
    key = Ed25519PrivateKey.generate()
    signer = CheckpointSigner(name, key)
    seed = base64.b64encode(_ED25519 + key.private_bytes_raw()).decode()
    line = f"PRIVATE+KEY+{name}+{signer.key_id.hex()}+{seed}\n"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise KeyFileError(f"refusing to overwrite existing key file {path}") from None
    with os.fdopen(fd, "w") as f:
        f.write(line)
        f.flush()
        os.fsync(f.fileno())
    return signer


def load_signer(path: str | os.PathLike[str]) -> CheckpointSigner:
    """Load a signer from a key file written by :func:`generate_key_file`.

    Raises :class:`~evidence.errors.KeyFileError` if the file is missing,
    readable by group or others, or malformed.
    """
    path = Path(path)
    try:
        mode = path.stat().st_mode
        text = path.read_text().strip()
    except OSError as exc:
        raise KeyFileError(f"cannot read key file {path}: {exc.strerror}") from None
    if stat.S_IMODE(mode) & 0o077:
        raise KeyFileError(f"key file {path} is accessible to other users; chmod 600 it")
    parts = text.split("+", 4)  # base64 may itself contain '+'
    if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
        raise KeyFileError(f"{path} is not a PRIVATE+KEY line")
    _, _, name, key_id, encoded = parts
    try:
        raw = base64.b64decode(encoded, validate=True)
        if len(raw) != 33 or raw[:1] != _ED25519:
            raise ValueError("not an Ed25519 seed")
        signer = CheckpointSigner(name, Ed25519PrivateKey.from_private_bytes(raw[1:]))
    except ValueError as exc:
        raise KeyFileError(f"{path} holds no valid key: {exc}") from None
    if signer.key_id.hex() != key_id.lower():
        raise KeyFileError(f"{path}: key id does not match the key")
    return signer
