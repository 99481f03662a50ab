"""Image format sniffing from the leading bytes.

The file name and the Content-Type header are chosen by the client and prove
nothing; the magic numbers at the start of the bytes decide which decoder may
touch them.
"""

from __future__ import annotations

import enum

from evidence.errors import UnsupportedFormat

__all__ = ["ImageFormat", "SNIFF_BYTES", "sniff_format"]

SNIFF_BYTES = 512
"""Leading bytes :func:`sniff_format` needs at most (an ftyp box with many brands)."""

# ISO/IEC 23008-12 brands: the HEVC-coded ones are what phones call HEIC.
_HEIC_BRANDS = {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"}
_HEIF_BRANDS = {b"mif1", b"msf1", b"mif2"}
# AVIF shares the container but pillow-heif here has no AV1 decoder.
_AVIF_BRANDS = {b"avif", b"avis"}


class ImageFormat(str, enum.Enum):
    """Supported image formats; the value is the lowercase short name."""

    JPEG = "jpeg"
    PNG = "png"
    WEBP = "webp"
    HEIC = "heic"
    HEIF = "heif"

    @property
    def media_type(self) -> str:
        """The IANA media type to serve the original with."""
        return _MEDIA_TYPES[self]


_MEDIA_TYPES = {
    ImageFormat.JPEG: "image/jpeg",
    ImageFormat.PNG: "image/png",
    ImageFormat.WEBP: "image/webp",
    ImageFormat.HEIC: "image/heic",
    ImageFormat.HEIF: "image/heif",
}


def _ftyp_brands(head: bytes) -> list[bytes]:
    box_size = int.from_bytes(head[0:4], "big")
    # A size of 0 or 1 (to end of file, 64-bit size) never occurs for ftyp in practice;
    # fall back to what we have so a legal but odd file still gets a fair reading.
    end = min(len(head), box_size) if box_size >= 16 else len(head)
    brands = [head[8:12]]
    brands.extend(head[i : i + 4] for i in range(16, end - 3, 4))
    return brands


def sniff_format(head: bytes) -> ImageFormat:
    """Return the format of an image from its first bytes (up to :data:`SNIFF_BYTES`).

    Raises :class:`~evidence.errors.UnsupportedFormat` for anything that is not a
    JPEG, PNG, WebP or HEIC/HEIF, including empty input, text, and AVIF.
    """
    head = bytes(head[:SNIFF_BYTES])
    if head.startswith(b"\xff\xd8\xff"):
        return ImageFormat.JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return ImageFormat.PNG
    if len(head) >= 12 and head[0:4] == b"RIFF" and head[8:12] == b"WEBP":
        return ImageFormat.WEBP
    if len(head) >= 12 and head[4:8] == b"ftyp":
        brands = set(_ftyp_brands(head))
        if brands & _HEIC_BRANDS:
            return ImageFormat.HEIC
        if brands & _AVIF_BRANDS:
            raise UnsupportedFormat("AVIF images are not supported")
        if brands & _HEIF_BRANDS:
            return ImageFormat.HEIF
        raise UnsupportedFormat("ISO media file without an image brand (a video?)")
    if not head:
        raise UnsupportedFormat("empty file")
    raise UnsupportedFormat("not a JPEG, PNG, WebP or HEIC/HEIF image")
