"""Photos for the demo's field work, made with Pillow when the demo loads: a shop-front-like
scene with the capture time and GPS position a phone writes into EXIF, so the integrity
flags computed from them (time, place, reuse) are real."""

from __future__ import annotations

import io
import random
from datetime import datetime

from PIL import Image, ImageDraw, ImageFilter, ImageFont
from PIL.TiffImagePlugin import IFDRational

__all__ = ["demo_photo"]

_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
SIZE = (960, 720)


def _dms(value: float) -> tuple[IFDRational, IFDRational, IFDRational]:
    # Whole milli-arcseconds: splitting the float could round 59.9999 s up to 60 s.
    degrees, rest = divmod(round(value * 3_600_000), 3_600_000)
    minutes, millis = divmod(rest, 60_000)
    return IFDRational(degrees, 1), IFDRational(minutes, 1), IFDRational(millis, 1000)


def _exif(taken: datetime, gps: tuple[float, float] | None) -> Image.Exif:
    data = Image.Exif()
    data[0x010F], data[0x0110] = "HUAWEI", "Mate 60"
    sub = data.get_ifd(_EXIF_IFD)
    sub[0x9003] = taken.strftime("%Y:%m:%d %H:%M:%S")  # DateTimeOriginal, the phone's wall clock
    sub[0x9011] = "+08:00"  # OffsetTimeOriginal: China time
    if gps is not None:
        latitude, longitude = gps
        location = data.get_ifd(_GPS_IFD)
        location[1], location[2] = "N", _dms(latitude)
        location[3], location[4] = "E", _dms(longitude)
    return data


def _scene(seed: int, caption: str) -> Image.Image:
    """A storefront: sky, a wall, a sign board, a door, shelves with goods, a caption; the
    layout follows ``seed``, so different seeds give photos no perceptual hash confuses."""
    rng = random.Random(seed)
    width, height = SIZE
    image = Image.new("RGB", SIZE, (rng.randrange(150, 210), rng.randrange(180, 230), 240))
    draw = ImageDraw.Draw(image)
    horizon = rng.randrange(height // 8, height // 2)
    draw.rectangle((0, horizon, width, height), fill=tuple(rng.randrange(60, 230) for _ in range(3)))
    sign_left = rng.randrange(0, width // 3)
    sign = (rng.randrange(150, 230), rng.randrange(20, 80), rng.randrange(20, 80))
    draw.rectangle((sign_left, horizon + 20, sign_left + rng.randrange(width // 3, width * 2 // 3), horizon + 110), fill=sign)
    door_left = rng.choice((width // 20, width * 6 // 10))
    door_width = rng.randrange(width // 6, width // 3)
    draw.rectangle((door_left, height // 2, door_left + door_width, height), fill=tuple(rng.randrange(20, 90) for _ in range(3)))
    shelf_left = width // 2 if door_left < width // 2 else width // 20
    for row in range(rng.randrange(2, 5)):
        top = height // 2 + 40 + row * 70
        draw.rectangle((shelf_left, top, shelf_left + width * 4 // 10, top + 12), fill=(90, 70, 50))
        for column in range(8):
            left = shelf_left + 10 + column * 44
            colour = tuple(rng.randrange(256) for _ in range(3))
            draw.rectangle((left, top - rng.randrange(30, 60), left + 34, top), fill=colour)
    for _ in range(4):  # awnings, posters, passers-by: big shapes the hash sees
        x0, y0 = rng.randrange(width), rng.randrange(height)
        box = (x0, y0, x0 + rng.randrange(width // 8, width // 3), y0 + rng.randrange(height // 8, height // 3))
        colour = tuple(rng.randrange(256) for _ in range(3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=colour)
    image = image.filter(ImageFilter.GaussianBlur(radius=1))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, height - 36, width, height), fill=(0, 0, 0))
    draw.text((12, height - 32), caption, fill=(255, 255, 255), font=ImageFont.load_default(size=24))
    return image


def demo_photo(seed: int, caption: str, taken: datetime, gps: tuple[float, float] | None) -> bytes:
    """A JPEG of scene ``seed`` captioned ``caption``, taken at ``taken`` (China wall-clock
    time, naive) at ``gps`` (latitude, longitude; None: no position)."""
    out = io.BytesIO()
    _scene(seed, caption).save(out, "JPEG", quality=85, exif=_exif(taken, gps))
    return out.getvalue()
