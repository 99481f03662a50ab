"""One pure, picklable function that reads a photo: integrity, metadata, thumbnails, pHash.

:func:`analyze` is meant to run in a process pool (it holds the GIL for tens of
milliseconds): its argument and result pickle cheaply, and it touches no global
state except registering the HEIF opener once per process and swapping the
warning filters while it runs (so run it in processes, not threads).

Why a draft-mode decode is the integrity check for JPEG: libjpeg scales by
dropping IDCT coefficients *after* entropy decoding, so a draft decode still
parses every Huffman code of every scan and reports truncation and broken
streams exactly like a full-resolution decode (tests/evidence/test_analysis.py
compares the two on damaged files). What it skips is the full-size IDCT,
upsampling and colour conversion, which cannot fail on any input. Set
``ImageLimits.full_decode`` to pay for a full-resolution decode anyway.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import struct
import warnings
import zlib
from typing import BinaryIO

import msgspec
from PIL import Image, UnidentifiedImageError

from evidence.errors import CorruptImage, ImageTooLarge
from evidence.exif import PhotoMetadata, read_metadata
from evidence.formats import SNIFF_BYTES, ImageFormat, sniff_format
from evidence.phash import phash

__all__ = [
    "ImageLimits",
    "Thumbnail",
    "ImageAnalysis",
    "analyze",
    "metadata_digest",
    "DEFAULT_MAX_PIXELS",
]

DEFAULT_MAX_PIXELS = 64_000_000
"""Default pixel limit: above the 48-MP sensors of current phones, far below a bomb."""

_PILLOW_FORMATS = {
    ImageFormat.JPEG: ["JPEG"],
    ImageFormat.PNG: ["PNG"],
    ImageFormat.WEBP: ["WEBP"],
    ImageFormat.HEIC: ["HEIF"],
    ImageFormat.HEIF: ["HEIF"],
}
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SWAPS_AXES = {
    Image.Transpose.TRANSPOSE,
    Image.Transpose.TRANSVERSE,
    Image.Transpose.ROTATE_90,
    Image.Transpose.ROTATE_270,
}
# What Pillow and its plugins raise on undecodable input; anything else is a bug.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error, IndexError)
_heif_registered = False


class ImageLimits(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Limits and options of :func:`analyze`.

    ``max_pixels`` guards against decompression bombs; Pillow's own guard
    (about 179 million pixels) still applies above it. ``thumbnail_sizes`` are
    bounding boxes in pixels; thumbnails are never upscaled. A JPEG thumbnail may
    fall short of its box by up to ``thumbnail_slack`` (a fraction) when a DCT
    scale of the decoder lands there: a 4000-px photo decoded at 1/4 gives a
    1000-px thumbnail for the 1024 box with no resampling at all.
    ``full_decode`` adds a full-resolution JPEG decode (see the module docstring).
    """

    max_pixels: int = DEFAULT_MAX_PIXELS
    thumbnail_sizes: tuple[int, ...] = (256, 1024)
    thumbnail_quality: int = 82
    thumbnail_slack: float = 0.1
    full_decode: bool = False

    def __post_init__(self) -> None:
        if self.max_pixels <= 0 or not self.thumbnail_sizes or min(self.thumbnail_sizes) < 8:
            raise ValueError("max_pixels must be positive and thumbnail boxes at least 8 px")
        if not 0 <= self.thumbnail_slack < 1 or not 1 <= self.thumbnail_quality <= 95:
            raise ValueError("thumbnail_slack must be in [0, 1) and quality in [1, 95]")


class Thumbnail(msgspec.Struct, frozen=True):
    """A JPEG thumbnail fitting a ``box`` x ``box`` square, oriented, without metadata."""

    box: int
    width: int
    height: int
    jpeg: bytes


class ImageAnalysis(msgspec.Struct, frozen=True):
    """The result of :func:`analyze`.

    ``width`` and ``height`` are as stored; ``display_width`` and
    ``display_height`` after applying the orientation. ``phash`` is unsigned 64-bit.
    """

    format: ImageFormat
    width: int
    height: int
    display_width: int
    display_height: int
    metadata: PhotoMetadata
    phash: int
    thumbnails: tuple[Thumbnail, ...]


def metadata_digest(metadata: PhotoMetadata) -> str:
    """SHA-256 hex of the canonical JSON of ``metadata`` (sorted keys), as cited by
    the ledger leaf of the evidence. Store the same JSON to re-check it later."""
    return hashlib.sha256(msgspec.json.encode(metadata, order="sorted")).hexdigest()


def _register_heif() -> None:
    global _heif_registered
    if not _heif_registered:
        import pillow_heif

        pillow_heif.register_heif_opener()
        _heif_registered = True


def _fit(width: int, height: int, box: int) -> tuple[int, int]:
    if width <= box and height <= box:
        return width, height
    scale = box / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode == "RGB":
        return image
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        # Transparent areas would turn black in JPEG; photos are shown on white.
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode.startswith("I"):
        return image.convert("I").point(lambda v: v / 256).convert("RGB")
    return image.convert("RGB")


def _open(fp: BinaryIO, fmt: ImageFormat, limits: ImageLimits) -> Image.Image:
    if fmt in (ImageFormat.HEIC, ImageFormat.HEIF):
        _register_heif()
    try:
        image = Image.open(fp, formats=_PILLOW_FORMATS[fmt])
    except Image.DecompressionBombError:
        raise _bomb(limits) from None
    except _DECODE_ERRORS as exc:
        raise CorruptImage(f"unreadable {fmt.value} header: {_reason(exc)}") from None
    pixels = image.width * image.height
    if pixels > limits.max_pixels:
        image.close()
        raise ImageTooLarge(
            f"{image.width}x{image.height} image has {pixels} pixels, limit {limits.max_pixels}",
            pixels=pixels,
            limit=limits.max_pixels,
        )
    return image


def _decode(image: Image.Image, fmt: ImageFormat, limits: ImageLimits) -> Image.Image:
    if fmt is ImageFormat.JPEG and not limits.full_decode:
        # The decoder picks the smallest DCT scale at least this large, so the
        # largest thumbnail is never built by upscaling.
        needed = math.ceil(max(limits.thumbnail_sizes) * (1 - limits.thumbnail_slack))
        image.draft("RGB", _fit(image.width, image.height, needed))
    try:
        image.load()
    except Image.DecompressionBombError:
        raise _bomb(limits) from None
    except _DECODE_ERRORS as exc:
        raise CorruptImage(f"{fmt.value} image does not decode completely: {_reason(exc)}") from None
    return image


def _bomb(limits: ImageLimits) -> ImageTooLarge:
    # Pillow's own guard (twice its MAX_IMAGE_PIXELS) fired before ours could: its message
    # quotes its own figure, so the refusal names the limit that applies.
    guard = 2 * Image.MAX_IMAGE_PIXELS if Image.MAX_IMAGE_PIXELS else limits.max_pixels
    limit = min(limits.max_pixels, guard)
    return ImageTooLarge(f"image has more than {limit} pixels, the limit (a decompression bomb)", limit=limit)


def _reason(exc: BaseException) -> str:
    """Pillow's reason for refusing a file, without the file: its message for a file it cannot
    identify names the path it read, and callers show the reason to whoever sent the bytes."""
    if isinstance(exc, UnidentifiedImageError):
        return "cannot identify image file"
    return str(exc)


def _thumbnails(
    image: Image.Image, limits: ImageLimits, transpose: Image.Transpose | None
) -> tuple[list[Thumbnail], Image.Image]:
    thumbnails: list[Thumbnail] = []
    current = image
    for box in sorted(set(limits.thumbnail_sizes), reverse=True):
        # Each smaller thumbnail is made from the previous one: cheaper, same look.
        # An integer box-average reduce first is several times faster than resampling
        # the whole image and lands within the slack for the usual sensor sizes.
        factor = max(current.size) // math.ceil(box * (1 - limits.thumbnail_slack))
        if factor >= 2:
            current = current.reduce(factor)
        size = _fit(current.width, current.height, box)
        if size != current.size:
            current = current.resize(size, Image.Resampling.BILINEAR)
        if transpose is not None:
            # Rotating the largest thumbnail is far cheaper than rotating the decode.
            current, transpose = current.transpose(transpose), None
        out = io.BytesIO()
        # No exif/icc/xmp arguments: the thumbnail must not leak the location.
        current.save(out, "JPEG", quality=limits.thumbnail_quality)
        thumbnails.append(Thumbnail(box, current.width, current.height, out.getvalue()))
    thumbnails.reverse()
    return thumbnails, current


def _read_exif(image: Image.Image) -> PhotoMetadata:
    try:
        return read_metadata(image.getexif())
    except Exception:  # Pillow's EXIF reader can raise nearly anything on bad bytes
        return PhotoMetadata(exif_error=True)


def analyze(source: bytes | str | os.PathLike[str], limits: ImageLimits | None = None) -> ImageAnalysis:
    """Check that a photo decodes and read its metadata, thumbnails and pHash.

    ``source`` is the photo's bytes or the path of a file holding them. The format
    is sniffed from the bytes. Raises :class:`~evidence.errors.UnsupportedFormat`,
    :class:`~evidence.errors.CorruptImage` (incomplete or undecodable data) or
    :class:`~evidence.errors.ImageTooLarge` (pixel limit); never a Pillow error
    or warning. Malformed metadata yields missing fields, not errors.
    """
    limits = limits or ImageLimits()
    if isinstance(source, (bytes, bytearray, memoryview)):
        fp: BinaryIO = io.BytesIO(source)
    else:
        fp = open(source, "rb")
    with fp, warnings.catch_warnings(record=True) as caught:
        # Our own pixel limit decides over Pillow's bomb warning, and Pillow warns
        # ("Corrupt EXIF data") instead of raising on damaged metadata: nothing of
        # this may reach the caller, and EXIF damage becomes a metadata field.
        warnings.simplefilter("always")
        fmt = sniff_format(fp.read(SNIFF_BYTES))
        fp.seek(0)
        with _open(fp, fmt, limits) as image:
            width, height = image.size
            metadata = _read_exif(image)
            if fmt in (ImageFormat.HEIC, ImageFormat.HEIF):
                # libheif already applied the container's rotation and pillow-heif
                # reset the EXIF tag: report what the camera wrote, never rotate twice.
                original = image.info.get("original_orientation")
                if isinstance(original, int) and 1 <= original <= 8:
                    metadata = msgspec.structs.replace(metadata, orientation=original)
                transpose = None
            else:
                transpose = _TRANSPOSE.get(metadata.orientation or 1)
            decoded = _to_rgb(_decode(image, fmt, limits))
            thumbnails, smallest = _thumbnails(decoded, limits, transpose)
    if any("exif" in str(w.message).lower() for w in caught) and not metadata.exif_error:
        metadata = msgspec.structs.replace(metadata, exif_error=True)
    swap = transpose in _SWAPS_AXES
    return ImageAnalysis(
        format=fmt,
        width=width,
        height=height,
        display_width=height if swap else width,
        display_height=width if swap else height,
        metadata=metadata,
        phash=phash(smallest),
        thumbnails=tuple(thumbnails),
    )
