"""Real test images made with Pillow: photo-like scenes and EXIF written by Pillow."""

from __future__ import annotations

import io
import random
import struct
import zlib
from datetime import datetime

from PIL import Image, ImageDraw, ImageFilter
from PIL.TiffImagePlugin import IFDRational

EXIF_IFD, GPS_IFD = 0x8769, 0x8825


def scene(seed: int, size: tuple[int, int] = (640, 480)) -> Image.Image:
    """A deterministic photo-like picture: a gradient sky, shapes, soft texture."""
    rng = random.Random(seed)
    width, height = size
    top = tuple(rng.randrange(256) for _ in range(3))
    bottom = tuple(rng.randrange(256) for _ in range(3))
    image = Image.linear_gradient("L").resize(size)
    image = Image.composite(Image.new("RGB", size, bottom), Image.new("RGB", size, top), image)
    draw = ImageDraw.Draw(image)
    for _ in range(14):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        x1 = x0 + rng.randrange(width // 8, width // 2)
        y1 = y0 + rng.randrange(height // 8, height // 2)
        colour = tuple(rng.randrange(256) for _ in range(3))
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        else:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
    return image.filter(ImageFilter.GaussianBlur(radius=max(1, width // 320)))


def quadrants(size: tuple[int, int] = (320, 240)) -> Image.Image:
    """Red top-left, green top-right, blue bottom-left, white bottom-right."""
    width, height = size
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width // 2 - 1, height // 2 - 1), fill=(255, 0, 0))
    draw.rectangle((width // 2, 0, width - 1, height // 2 - 1), fill=(0, 255, 0))
    draw.rectangle((0, height // 2, width // 2 - 1, height - 1), fill=(0, 0, 255))
    return image


def _dms(value: float) -> tuple[IFDRational, IFDRational, IFDRational]:
    # Split whole milli-arcseconds: splitting the float can round 59.9999 s up to 60 s.
    degrees, rest = divmod(round(value * 3_600_000), 3_600_000)
    minutes, millis = divmod(rest, 60_000)
    return IFDRational(degrees, 1), IFDRational(minutes, 1), IFDRational(millis, 1000)


def exif(
    *,
    make: str | None = "Xiaomi",
    model: str | None = "Mi 11",
    software: str | None = None,
    orientation: int | None = None,
    taken: datetime | None = None,
    offset: str | None = None,
    modified: datetime | None = None,
    gps: tuple[float, float] | None = None,
    altitude: float | None = None,
    gps_time: datetime | None = None,
    pixel_size: tuple[int, int] | None = None,
) -> Image.Exif:
    """EXIF written by Pillow, including the Exif and GPS sub-directories."""
    data = Image.Exif()
    for tag, value in ((0x010F, make), (0x0110, model), (0x0131, software), (0x0112, orientation)):
        if value is not None:
            data[tag] = value
    if modified is not None:
        data[0x0132] = modified.strftime("%Y:%m:%d %H:%M:%S")
    sub = data.get_ifd(EXIF_IFD)
    if taken is not None:
        sub[0x9003] = taken.strftime("%Y:%m:%d %H:%M:%S")
    if offset is not None:
        sub[0x9011] = offset
    if pixel_size is not None:
        sub[0xA002], sub[0xA003] = pixel_size
    location = data.get_ifd(GPS_IFD)
    if gps is not None:
        latitude, longitude = gps
        location[1] = "N" if latitude >= 0 else "S"
        location[2] = _dms(abs(latitude))
        location[3] = "E" if longitude >= 0 else "W"
        location[4] = _dms(abs(longitude))
    if altitude is not None:
        location[5] = b"\x00" if altitude >= 0 else b"\x01"
        location[6] = IFDRational(round(abs(altitude) * 10), 10)
    if gps_time is not None:
        location[7] = (IFDRational(gps_time.hour, 1), IFDRational(gps_time.minute, 1), IFDRational(gps_time.second, 1))
        location[29] = gps_time.strftime("%Y:%m:%d")
    return data


def encode(image: Image.Image, fmt: str = "JPEG", exif_data: Image.Exif | None = None, **options) -> bytes:
    out = io.BytesIO()
    if exif_data is not None:
        options["exif"] = exif_data
    image.save(out, fmt, **options)
    return out.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` with one tiny IDAT: a bomb header
    nobody should ever try to decode."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def zero_png_bomb(width: int, height: int) -> bytes:
    """A valid, fully decodable grayscale PNG of zeros: small file, many pixels."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    compressor = zlib.compressobj(9)
    row = b"\x00" * (width + 1)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
