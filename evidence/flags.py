"""Integrity flags of a piece of evidence: what a chief should look at twice.

:func:`integrity_flags` is pure: api/ gathers the analysis, the visit window,
the unit's position and the reuse matches, and shows the flags beside the
photo. Flags inform; they never block an upload or a deduction.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

import msgspec

from evidence.exif import CaptureTimeSource, PhotoMetadata

__all__ = [
    "FlagCode",
    "Flag",
    "VisitWindow",
    "UnitLocation",
    "ReuseMatch",
    "FlagPolicy",
    "integrity_flags",
    "haversine_m",
    "edit_signs",
]

EARTH_RADIUS_M = 6_371_008.8
"""Mean Earth radius (IUGG); haversine error stays under 0.5 % everywhere."""

CHINA_STANDARD_TIME = timezone(timedelta(hours=8), "CST")

# Lowercase fragments of the Software tag written by editing and beautifying apps
# common in China and elsewhere. Phone firmware writes its own build string there,
# so the tag's mere presence proves nothing.
_EDITORS = (
    "photoshop", "lightroom", "gimp", "snapseed", "picsart", "meitu", "美图", "醒图",
    "xingtu", "beautycam", "facetune", "vsco", "pixelmator", "affinity", "paint.net",
    "canva", "polarr", "fotor", "photoscape", "acdsee", "capture one", "darktable",
    "wink", "凹凸", "黄油相机", "picasa",
)


class FlagCode(str, enum.Enum):
    """Codes of integrity flags (stable API values)."""

    REUSED_EXACT = "reused_exact"
    REUSED_NEAR = "reused_near"
    NO_CAPTURE_TIME = "no_capture_time"
    CAPTURED_OUTSIDE_VISIT = "captured_outside_visit"
    FUTURE_CAPTURE_TIME = "future_capture_time"
    NO_GPS = "no_gps"
    FAR_FROM_UNIT = "far_from_unit"
    EDITED = "edited"


class Flag(msgspec.Struct, frozen=True):
    """One flag with a human-readable English ``message``; ``distance_m`` for
    far_from_unit, ``evidence_ids`` for reuse, ``signs`` for edited."""

    code: FlagCode
    message: str
    distance_m: float | None = None
    evidence_ids: tuple[str, ...] = ()
    signs: tuple[str, ...] = ()


class VisitWindow(msgspec.Struct, frozen=True):
    """When the photo should have been taken: check-in to check-out, or the task's
    due window when there was no check-in. Both ends timezone-aware."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("visit window times must be timezone-aware")
        if self.end < self.start:
            raise ValueError("visit window ends before it starts")


class UnitLocation(msgspec.Struct, frozen=True):
    """The unit's registered position and the radius within which a photo is "on site"."""

    latitude: float
    longitude: float
    radius_m: float = 300.0


class ReuseMatch(msgspec.Struct, frozen=True):
    """Another piece of evidence whose bytes (``same_bytes``) or pHash
    (``distance`` bits apart) match this one."""

    evidence_id: str
    task_id: str
    unit_id: str
    distance: int
    same_bytes: bool = False


class FlagPolicy(msgspec.Struct, frozen=True):
    """Tolerances. ``clock_tolerance`` absorbs phone clock drift at both ends of
    the visit window and in the future check; ``near_max_distance`` is the pHash
    threshold of reused_near; ``naive_time_zone`` interprets EXIF times without
    an offset (all of China keeps UTC+8); ``modify_tolerance`` is how much later
    the EXIF modify time may be than the capture time before it counts as an
    edit."""

    clock_tolerance: timedelta = timedelta(minutes=15)
    near_max_distance: int = 6
    naive_time_zone: timezone = CHINA_STANDARD_TIME
    modify_tolerance: timedelta = timedelta(minutes=2)


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two WGS 84 points in degrees."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def _aware(moment: datetime, zone: timezone) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def edit_signs(
    metadata: PhotoMetadata,
    width: int,
    height: int,
    policy: FlagPolicy = FlagPolicy(),
) -> list[str]:
    """Reasons to believe the photo was edited after capture (empty if none)."""
    signs = []
    software = (metadata.software or "").lower()
    if any(editor in software for editor in _EDITORS):
        signs.append(f"saved by editing software: {metadata.software}")
    if metadata.modify_time is not None and metadata.capture_time is not None:
        captured = _aware(metadata.capture_time, policy.naive_time_zone)
        # A modify time without its own offset is on the camera's wall clock, which
        # OffsetTimeOriginal describes when present (GPS time is UTC and would not).
        zone = policy.naive_time_zone
        if metadata.capture_time_source is CaptureTimeSource.EXIF_WITH_OFFSET:
            zone = metadata.capture_time.tzinfo  # type: ignore[assignment]
        modified = _aware(metadata.modify_time, zone)
        if modified - captured > policy.modify_tolerance:
            signs.append(f"modified {modified - captured} after capture")
    if metadata.exif_width and metadata.exif_height:
        recorded = {metadata.exif_width, metadata.exif_height}
        if recorded != {width, height}:
            signs.append(
                f"EXIF says {metadata.exif_width}x{metadata.exif_height} "
                f"but the image is {width}x{height} (resized or cropped)"
            )
    return signs


def _reuse_flags(matches: Sequence[ReuseMatch], task_id: str, unit_id: str, near: int) -> list[Flag]:
    foreign = [m for m in matches if m.task_id != task_id or m.unit_id != unit_id]
    exact = tuple(sorted({m.evidence_id for m in foreign if m.same_bytes}))
    similar = tuple(
        sorted({m.evidence_id for m in foreign if not m.same_bytes and m.distance <= near} - set(exact))
    )
    flags = []
    if exact:
        flags.append(Flag(FlagCode.REUSED_EXACT, "identical file already filed for another task", evidence_ids=exact))
    if similar:
        flags.append(Flag(FlagCode.REUSED_NEAR, "near-identical photo filed for another task", evidence_ids=similar))
    return flags


def _time_flags(
    metadata: PhotoMetadata, window: VisitWindow | None, received_at: datetime, policy: FlagPolicy
) -> list[Flag]:
    if metadata.capture_time is None:
        return [Flag(FlagCode.NO_CAPTURE_TIME, "photo carries no readable capture time")]
    captured = _aware(metadata.capture_time, policy.naive_time_zone)
    local = " (time zone assumed)" if metadata.capture_time_source is CaptureTimeSource.EXIF_LOCAL else ""
    flags = []
    if captured > received_at + policy.clock_tolerance:
        flags.append(Flag(FlagCode.FUTURE_CAPTURE_TIME, f"captured {captured.isoformat()}, after it was received{local}"))
    if window is not None and not (
        window.start - policy.clock_tolerance <= captured <= window.end + policy.clock_tolerance
    ):
        flags.append(Flag(FlagCode.CAPTURED_OUTSIDE_VISIT, f"captured {captured.isoformat()}, outside the visit{local}"))
    return flags


def integrity_flags(
    metadata: PhotoMetadata,
    *,
    width: int,
    height: int,
    received_at: datetime,
    task_id: str,
    unit_id: str,
    window: VisitWindow | None = None,
    unit: UnitLocation | None = None,
    matches: Sequence[ReuseMatch] = (),
    policy: FlagPolicy = FlagPolicy(),
) -> list[Flag]:
    """Flags of one piece of evidence, in :class:`FlagCode` order.

    ``metadata``, ``width`` and ``height`` come from :func:`evidence.analysis.analyze`
    (stored size, before orientation). ``received_at`` (aware) is when the server
    got the bytes. Matches from the same task and unit do not count as reuse (one
    photo may support several findings of one visit). Without ``window`` or
    ``unit`` the corresponding check is skipped, not flagged. far_from_unit
    widens the radius by the GPS accuracy the device reported, if any.
    """
    if received_at.tzinfo is None:
        raise ValueError("received_at must be timezone-aware")
    flags = _reuse_flags(matches, task_id, unit_id, policy.near_max_distance)
    flags += _time_flags(metadata, window, received_at, policy)
    if metadata.gps is None:
        flags.append(Flag(FlagCode.NO_GPS, "photo carries no readable GPS position"))
    elif unit is not None:
        distance = haversine_m(metadata.gps.latitude, metadata.gps.longitude, unit.latitude, unit.longitude)
        if distance > unit.radius_m + (metadata.gps.accuracy_m or 0.0):
            flags.append(
                Flag(FlagCode.FAR_FROM_UNIT, f"taken {distance:.0f} m from the unit", distance_m=round(distance, 1))
            )
    signs = edit_signs(metadata, width, height, policy)
    if signs:
        flags.append(Flag(FlagCode.EDITED, "; ".join(signs), signs=tuple(signs)))
    order = list(FlagCode)
    return sorted(flags, key=lambda f: order.index(f.code))
