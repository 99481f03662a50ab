"""Reading capture time, place and device from EXIF, defensively.

EXIF comes from the client and is routinely malformed: zero denominators, empty
strings, "0000:00:00 00:00:00", latitudes of 400 degrees. Every such value
yields a missing field, never an exception: a photo with broken metadata is
still evidence, and the integrity flags say what is missing.
"""

from __future__ import annotations

import enum
import math
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import msgspec

__all__ = ["CaptureTimeSource", "GpsPosition", "PhotoMetadata", "read_metadata"]

_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825
_MAKE, _MODEL, _ORIENTATION, _SOFTWARE, _DATETIME = 0x010F, 0x0110, 0x0112, 0x0131, 0x0132
_DATETIME_ORIGINAL, _OFFSET_TIME, _OFFSET_TIME_ORIGINAL = 0x9003, 0x9010, 0x9011
_SUBSEC_TIME_ORIGINAL = 0x9291
_PIXEL_X, _PIXEL_Y = 0xA002, 0xA003
_GPS_LAT_REF, _GPS_LAT, _GPS_LON_REF, _GPS_LON = 1, 2, 3, 4
_GPS_ALT_REF, _GPS_ALT, _GPS_TIME, _GPS_DATE, _GPS_H_ERROR = 5, 6, 7, 29, 31

# Digital photos predate 1990 only as scans; a year outside this range is a reset clock.
_MIN_YEAR, _MAX_YEAR = 1990, 2100
_MIN_ALTITUDE_M, _MAX_ALTITUDE_M = -1_000.0, 20_000.0
_MAX_TEXT = 200

_DATETIME_RE = re.compile(r"\s*(\d{4})[:\-](\d{2})[:\-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_DATE_RE = re.compile(r"\s*(\d{4})[:\-](\d{2})[:\-](\d{2})")
_OFFSET_RE = re.compile(r"\s*([+-])(\d{2}):(\d{2})\s*")


class CaptureTimeSource(str, enum.Enum):
    """Which EXIF fields the capture time was read from, most to least trustworthy."""

    EXIF_WITH_OFFSET = "exif_with_offset"
    """DateTimeOriginal with OffsetTimeOriginal: an exact instant."""
    GPS_UTC = "gps_utc"
    """GPSDateStamp and GPSTimeStamp, in UTC."""
    EXIF_LOCAL = "exif_local"
    """DateTimeOriginal alone: a wall-clock time in an unknown time zone (naive)."""


class GpsPosition(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A position in signed decimal degrees (WGS 84, south and west negative)."""

    latitude: float
    longitude: float
    altitude_m: float | None = None
    accuracy_m: float | None = None
    """Horizontal positioning error (GPSHPositioningError), if the device wrote one."""


class PhotoMetadata(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """What the EXIF of a photo says about when, where and with what it was taken.

    ``capture_time`` is timezone-aware unless its source is ``exif_local``.
    ``orientation`` is the EXIF value 1-8 as written by the camera.
    ``exif_error`` is True when EXIF was present but (partly) unreadable.
    """

    capture_time: datetime | None = None
    capture_time_source: CaptureTimeSource | None = None
    gps_time: datetime | None = None
    gps: GpsPosition | None = None
    make: str | None = None
    model: str | None = None
    software: str | None = None
    orientation: int | None = None
    modify_time: datetime | None = None
    exif_width: int | None = None
    exif_height: int | None = None
    exif_error: bool = False


def _number(value: Any) -> float | None:
    """A finite float from an EXIF rational or number, else None."""
    try:
        denominator = getattr(value, "denominator", 1)
        numerator = getattr(value, "numerator", value)
        if denominator == 0:
            return None
        result = float(numerator) / float(denominator)
    except (TypeError, ValueError, OverflowError, ZeroDivisionError):
        return None
    return result if math.isfinite(result) else None


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    value = value.replace("\x00", " ").strip()
    return value[:_MAX_TEXT] or None


def _datetime(value: Any) -> datetime | None:
    text = _text(value)
    match = _DATETIME_RE.match(text) if text else None
    if not match:
        return None
    try:
        result = datetime(*(int(g) for g in match.groups()))
    except ValueError:
        return None
    return result if _MIN_YEAR <= result.year <= _MAX_YEAR else None


def _offset(value: Any) -> timezone | None:
    text = _text(value)
    match = _OFFSET_RE.fullmatch(text) if text else None
    if not match:
        return None
    sign, hours, minutes = match.groups()
    if int(hours) > 14 or int(minutes) >= 60:
        return None
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    return timezone(-delta if sign == "-" else delta)


def _subsec(value: Any) -> int:
    text = _text(value)
    digits = text.strip() if text else ""
    if not digits.isdigit():
        return 0
    return int(digits[:6].ljust(6, "0"))


def _triple(value: Any) -> tuple[float, float, float] | None:
    if not isinstance(value, (tuple, list)) or len(value) != 3:
        return None
    parts = [_number(v) for v in value]
    if any(p is None or p < 0 for p in parts):
        return None
    return parts[0], parts[1], parts[2]  # type: ignore[return-value]


def _coordinate(value: Any, ref: Any, positive: str, negative: str, limit: float) -> float | None:
    parts = _triple(value)
    if parts is None:
        return None
    degrees, minutes, seconds = parts
    if minutes >= 60 or seconds >= 60:
        return None
    result = degrees + minutes / 60 + seconds / 3600
    if result > limit:
        return None
    ref_text = (_text(ref) or positive).upper()[:1]
    if ref_text not in (positive, negative):
        return None
    return -result if ref_text == negative else result


def _gps(gps: dict[int, Any]) -> GpsPosition | None:
    latitude = _coordinate(gps.get(_GPS_LAT), gps.get(_GPS_LAT_REF), "N", "S", 90.0)
    longitude = _coordinate(gps.get(_GPS_LON), gps.get(_GPS_LON_REF), "E", "W", 180.0)
    if latitude is None or longitude is None:
        return None
    if latitude == 0.0 and longitude == 0.0:
        return None  # receivers without a fix write zeros; nobody inspects in the Gulf of Guinea
    altitude = _number(gps.get(_GPS_ALT))
    if altitude is not None:
        ref = gps.get(_GPS_ALT_REF)
        below = ref in (1, b"\x01") or (isinstance(ref, bytes) and ref[:1] == b"\x01")
        altitude = -altitude if below else altitude
        if not _MIN_ALTITUDE_M <= altitude <= _MAX_ALTITUDE_M:
            altitude = None
    accuracy = _number(gps.get(_GPS_H_ERROR))
    if accuracy is not None and not 0 < accuracy < 100_000:
        accuracy = None
    return GpsPosition(latitude, longitude, altitude, accuracy)


def _gps_time(gps: dict[int, Any]) -> datetime | None:
    date_text = _text(gps.get(_GPS_DATE))
    date_match = _DATE_RE.match(date_text) if date_text else None
    clock = _triple(gps.get(_GPS_TIME))
    if not date_match or clock is None:
        return None
    hours, minutes, seconds = clock
    if hours >= 24 or minutes >= 60 or seconds >= 61:
        return None
    try:
        day = datetime(*(int(g) for g in date_match.groups()), tzinfo=timezone.utc)
    except ValueError:
        return None
    if not _MIN_YEAR <= day.year <= _MAX_YEAR:
        return None
    return day + timedelta(hours=int(hours), minutes=int(minutes), seconds=seconds)


def _dimension(value: Any) -> int | None:
    number = _number(value)
    return int(number) if number is not None and 0 < number < 1_000_000 else None


def _ifd(exif: Any, tag: int) -> tuple[dict[int, Any], bool]:
    # Pillow raises a zoo of exceptions (struct.error, ValueError, KeyError,
    # SyntaxError, TypeError) on malformed sub-IFDs; treat any of them as "absent".
    try:
        return dict(exif.get_ifd(tag)), False
    except Exception:
        return {}, True


def read_metadata(exif: Any) -> PhotoMetadata:
    """Extract :class:`PhotoMetadata` from a Pillow ``Image.Exif`` mapping.

    Never raises on malformed EXIF: unreadable or absurd values become None and
    set ``exif_error`` when a whole directory could not be read.
    """
    if exif is None:
        return PhotoMetadata()
    try:
        main = dict(exif)
    except Exception:
        return PhotoMetadata(exif_error=True)
    exif_ifd, exif_broken = _ifd(exif, _EXIF_IFD) if _EXIF_IFD in main else ({}, False)
    gps_ifd, gps_broken = _ifd(exif, _GPS_IFD) if _GPS_IFD in main else ({}, False)

    original = _datetime(exif_ifd.get(_DATETIME_ORIGINAL))
    if original is not None:
        original = original.replace(microsecond=_subsec(exif_ifd.get(_SUBSEC_TIME_ORIGINAL)))
    offset = _offset(exif_ifd.get(_OFFSET_TIME_ORIGINAL))
    gps_time = _gps_time(gps_ifd)
    if original is not None and offset is not None:
        capture, source = original.replace(tzinfo=offset), CaptureTimeSource.EXIF_WITH_OFFSET
    elif gps_time is not None:
        capture, source = gps_time, CaptureTimeSource.GPS_UTC
    elif original is not None:
        capture, source = original, CaptureTimeSource.EXIF_LOCAL
    else:
        capture, source = None, None

    modify = _datetime(main.get(_DATETIME))
    modify_offset = _offset(exif_ifd.get(_OFFSET_TIME))
    if modify is not None and modify_offset is not None:
        modify = modify.replace(tzinfo=modify_offset)
    orientation = main.get(_ORIENTATION)
    return PhotoMetadata(
        capture_time=capture,
        capture_time_source=source,
        gps_time=gps_time,
        gps=_gps(gps_ifd),
        make=_text(main.get(_MAKE)),
        model=_text(main.get(_MODEL)),
        software=_text(main.get(_SOFTWARE)),
        orientation=orientation if isinstance(orientation, int) and 1 <= orientation <= 8 else None,
        modify_time=modify,
        exif_width=_dimension(exif_ifd.get(_PIXEL_X)),
        exif_height=_dimension(exif_ifd.get(_PIXEL_Y)),
        exif_error=exif_broken or gps_broken,
    )
