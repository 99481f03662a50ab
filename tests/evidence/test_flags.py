from datetime import datetime, timedelta, timezone

import pytest

from evidence.analysis import analyze
from evidence.exif import CaptureTimeSource, GpsPosition, PhotoMetadata
from evidence.flags import (
    FlagCode,
    FlagPolicy,
    ReuseMatch,
    UnitLocation,
    VisitWindow,
    haversine_m,
    integrity_flags,
)
from tests.evidence.images import encode, exif, scene

CST = timezone(timedelta(hours=8))
CHECK_IN = datetime(2024, 5, 1, 9, 0, tzinfo=CST)
WINDOW = VisitWindow(CHECK_IN, CHECK_IN + timedelta(hours=2))
RECEIVED = CHECK_IN + timedelta(hours=3)
# 上海市市场监督管理局 (illustrative position of a unit)
UNIT = UnitLocation(31.2304, 121.4737, radius_m=300)


def flags_of(metadata, *, width=800, height=600, matches=(), window=WINDOW, unit=UNIT, policy=FlagPolicy()):
    return integrity_flags(
        metadata, width=width, height=height, received_at=RECEIVED, task_id="task-1", unit_id="unit-1",
        window=window, unit=unit, matches=matches, policy=policy,
    )


def good(**changes) -> PhotoMetadata:
    fields = dict(
        capture_time=CHECK_IN + timedelta(minutes=30),
        capture_time_source=CaptureTimeSource.EXIF_WITH_OFFSET,
        gps=GpsPosition(31.2310, 121.4740),
        make="HUAWEI", model="P60", software="HarmonyOS 4.0",
    )
    fields.update(changes)
    return PhotoMetadata(**fields)


def codes(flags):
    return [f.code for f in flags]


def test_a_photo_taken_on_site_during_the_visit_has_no_flags():
    assert flags_of(good()) == []


def test_haversine_matches_known_distances():
    assert haversine_m(31.2304, 121.4737, 31.2304, 121.4737) == 0
    # Shanghai People's Square to Beijing Tiananmen: about 1,067 km.
    assert haversine_m(31.2304, 121.4737, 39.9042, 116.4074) == pytest.approx(1_067_000, rel=0.01)
    assert haversine_m(0, 0, 0, 1) == pytest.approx(111_195, rel=0.001)


def test_far_from_unit_reports_the_distance_and_honours_gps_accuracy():
    far = good(gps=GpsPosition(31.2404, 121.4737))  # about 1.1 km north
    (flag,) = flags_of(far)
    assert flag.code is FlagCode.FAR_FROM_UNIT and flag.distance_m == pytest.approx(1112, abs=5)
    fuzzy = good(gps=GpsPosition(31.2334, 121.4737, accuracy_m=200))  # 334 m, but +-200 m
    assert flags_of(fuzzy) == []


def test_missing_time_and_place_are_flagged():
    assert codes(flags_of(PhotoMetadata())) == [FlagCode.NO_CAPTURE_TIME, FlagCode.NO_GPS]


def test_capture_outside_the_visit_or_in_the_future_is_flagged_with_tolerance():
    before = good(capture_time=CHECK_IN - timedelta(days=3))
    assert codes(flags_of(before)) == [FlagCode.CAPTURED_OUTSIDE_VISIT]
    slightly_early = good(capture_time=CHECK_IN - timedelta(minutes=10))
    assert flags_of(slightly_early) == []
    future = good(capture_time=RECEIVED + timedelta(hours=1))
    assert codes(flags_of(future)) == [FlagCode.CAPTURED_OUTSIDE_VISIT, FlagCode.FUTURE_CAPTURE_TIME]
    assert codes(flags_of(future, window=None)) == [FlagCode.FUTURE_CAPTURE_TIME]


def test_naive_exif_time_is_read_as_china_standard_time_by_default():
    local = good(capture_time=datetime(2024, 5, 1, 9, 30), capture_time_source=CaptureTimeSource.EXIF_LOCAL)
    assert flags_of(local) == []
    utc_policy = FlagPolicy(naive_time_zone=timezone.utc)
    # 09:30 UTC is 17:30 in Shanghai: after the visit and after the upload.
    assert codes(flags_of(local, policy=utc_policy)) == [FlagCode.CAPTURED_OUTSIDE_VISIT, FlagCode.FUTURE_CAPTURE_TIME]


def test_reuse_from_other_tasks_is_flagged_but_not_within_the_same_task():
    matches = [
        ReuseMatch("ev-1", "task-9", "unit-7", 0, same_bytes=True),
        ReuseMatch("ev-2", "task-8", "unit-7", 4),
        ReuseMatch("ev-3", "task-1", "unit-1", 0, same_bytes=True),  # same visit: fine
        ReuseMatch("ev-4", "task-5", "unit-2", 15),  # too far apart to count
    ]
    flags = flags_of(good(), matches=matches)
    assert codes(flags) == [FlagCode.REUSED_EXACT, FlagCode.REUSED_NEAR]
    assert flags[0].evidence_ids == ("ev-1",) and flags[1].evidence_ids == ("ev-2",)


def test_editing_signs_are_flagged():
    (edited,) = flags_of(good(software="Adobe Photoshop 25.0 (Windows)"))
    assert edited.code is FlagCode.EDITED and "Photoshop" in edited.message
    assert codes(flags_of(good(software="美图秀秀 9.2"))) == [FlagCode.EDITED]
    later = good(modify_time=(CHECK_IN + timedelta(days=1)).replace(tzinfo=None))
    assert codes(flags_of(later)) == [FlagCode.EDITED]
    same = good(modify_time=(CHECK_IN + timedelta(minutes=30)).replace(tzinfo=None))
    assert flags_of(same) == []
    resized = good(exif_width=4000, exif_height=3000)
    assert codes(flags_of(resized, width=1600, height=1200)) == [FlagCode.EDITED]
    assert flags_of(resized, width=4000, height=3000) == []


def test_flags_from_a_real_photo_analysis():
    taken = datetime(2024, 5, 1, 9, 30)
    data = encode(scene(1), "JPEG", exif(taken=taken, offset="+08:00", gps=(31.2305, 121.4738),
                                         software="Snapseed 2.0", pixel_size=(800, 600)))
    result = analyze(data)
    flags = flags_of(result.metadata, width=result.width, height=result.height)
    assert codes(flags) == [FlagCode.EDITED] and "Snapseed" in flags[0].message


def test_inputs_must_be_timezone_aware():
    with pytest.raises(ValueError):
        VisitWindow(datetime(2024, 5, 1), datetime(2024, 5, 2))
    with pytest.raises(ValueError):
        integrity_flags(good(), width=1, height=1, received_at=datetime(2024, 5, 1), task_id="t", unit_id="u")
