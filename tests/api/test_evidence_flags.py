"""Integrity flags shown with every photo: reuse across tasks and units (exact and near,
found through the band index), time and place, editing. Flags inform; they never refuse."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image

from api.settings import Settings
from evidence.analysis import analyze
from evidence.flags import haversine_m
from evidence.phash import hamming
from tests.evidence.images import encode, scene
from tests.support.api import assert_error
from tests.support.evidence import (
    CHANGAN, HUMEN, NOW, TAKEN, current_team, draw_tasks, evidence_settings, photo, upload,
)



@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return evidence_settings(database_url, tmp_path, evidence_near_distance=6, evidence_unit_radius_m=300)


@pytest.fixture
async def team(client, db):
    return await current_team(client, db)


def codes(response) -> list[str]:
    assert response.status_code == 201, response.text
    return [f["code"] for f in response.json()["flags"]]


async def test_the_same_photo_filed_for_another_task_is_flagged_reused_exact(client, db, team):
    body = photo(1, taken=TAKEN, gps=CHANGAN)
    first = await upload(client, team.inspector("DG-CA"), body, task_id=team.task("DG-CA"))
    assert codes(first) == []
    # Next quarter's visit of the same unit by the same inspector, with last quarter's photo.
    later = await draw_tasks(client, db, due_from=NOW.date() - timedelta(days=1), due_to=NOW.date() + timedelta(days=5),
                             seed="next-quarter", setup=False)
    again = await upload(client, later.inspector("DG-CA"), body, task_id=later.task("DG-CA"))
    assert codes(again) == ["reused_exact"] and again.json()["id"] != first.json()["id"]
    assert again.json()["flags"][0]["evidence_ids"] == [first.json()["id"]]
    # Another unit's task too (and that photo is far from 虎门: both flags).
    other = await upload(client, team.inspector("DG-HM"), body, task_id=team.task("DG-HM"))
    assert codes(other) == ["reused_exact", "far_from_unit"]
    assert set(other.json()["flags"][0]["evidence_ids"]) == {first.json()["id"], again.json()["id"]}
    # The first photo is the original: worked out again, its flags still see no reuse (a chief
    # must not read the honest first filing as the copy), and the copies still point at it.
    recomputed = await client.post(f"/api/v1/evidence/{first.json()['id']}/flags", headers=team.headers["chief"])
    assert recomputed.status_code == 200 and recomputed.json()["flags"] == []
    copy = await client.post(f"/api/v1/evidence/{again.json()['id']}/flags", headers=team.headers["chief"])
    assert copy.json()["flags"][0]["code"] == "reused_exact" and copy.json()["flags"][0]["evidence_ids"] == [first.json()["id"]]


def _reencoded(body: bytes, **options) -> bytes:
    image = Image.open(io.BytesIO(body))
    out = io.BytesIO()
    image.resize((600, 450)).save(out, "JPEG", exif=image.getexif(), **options)
    return out.getvalue()


async def test_a_recompressed_and_resized_copy_is_flagged_reused_near(client, team):
    body = photo(2, size=(800, 600), taken=TAKEN, gps=CHANGAN)
    first = await upload(client, team.inspector("DG-CA"), body, task_id=team.task("DG-CA"))
    # Another photo of the same visit is no reuse.
    same_visit = await upload(client, team.inspector("DG-CA"), _reencoded(body, quality=70), task_id=team.task("DG-CA"))
    assert codes(same_visit) == []
    copy = _reencoded(body, quality=60)
    assert copy != body and hamming(int(first.json()["phash"], 16), analyze(copy).phash) <= 6
    near = await upload(client, team.inspector("DG-HM"), copy, task_id=team.task("DG-HM"))
    flags = near.json()["flags"]
    assert flags[0]["code"] == "reused_near"
    assert set(flags[0]["evidence_ids"]) == {first.json()["id"], same_visit.json()["id"]}
    # A different scene is no reuse.
    assert "reused_near" not in codes(await upload(client, team.inspector("DG-HM"), photo(3, taken=TAKEN, gps=HUMEN),
                                                   task_id=team.task("DG-HM")))


async def test_time_place_and_editing_flags(client, team):
    ca = team.task("DG-CA")
    insp = team.inspector("DG-CA")
    bare = encode(scene(4), "JPEG")  # no EXIF at all
    assert codes(await upload(client, insp, bare, task_id=ca)) == ["no_capture_time", "no_gps"]
    future = photo(5, taken=(NOW + timedelta(days=2)).replace(tzinfo=None), gps=CHANGAN)
    assert codes(await upload(client, insp, future, task_id=ca)) == ["future_capture_time"]
    old = photo(6, taken=(NOW - timedelta(days=30)).replace(tzinfo=None), gps=CHANGAN)
    assert codes(await upload(client, insp, old, task_id=ca)) == ["captured_outside_visit"]
    far = await upload(client, insp, photo(7, taken=TAKEN, gps=HUMEN), task_id=ca)
    assert codes(far) == ["far_from_unit"]
    assert far.json()["flags"][0]["distance_m"] == pytest.approx(haversine_m(*HUMEN, *CHANGAN), rel=1e-3)
    edited = await upload(client, insp, photo(8, taken=TAKEN, gps=CHANGAN, software="Adobe Photoshop 25.0"), task_id=ca)
    assert codes(edited) == ["edited"] and "Photoshop" in edited.json()["flags"][0]["message"]
    # Without a task there is no visit window and no unit to compare with.
    loose = await upload(client, insp, photo(9, taken=(NOW - timedelta(days=30)).replace(tzinfo=None), gps=HUMEN))
    assert codes(loose) == []


async def test_flags_are_recomputed_against_the_registry_of_today(client, team):
    filed = await upload(client, team.inspector("DG-CA"), photo(10, taken=TAKEN, gps=CHANGAN), task_id=team.task("DG-CA"))
    assert codes(filed) == []
    moved = await client.patch("/api/v1/units/DG-CA", json={"lat": HUMEN[0], "lon": HUMEN[1]}, headers=team.headers["chief"])
    assert moved.status_code == 200
    evidence_id = filed.json()["id"]
    assert_error(await client.post(f"/api/v1/evidence/{evidence_id}/flags", headers=team.inspector("DG-CA")), 403)
    r = await client.post(f"/api/v1/evidence/{evidence_id}/flags", headers=team.headers["admin"])
    assert [f["code"] for f in r.json()["flags"]] == ["far_from_unit"] and r.json()["flags_at"] > filed.json()["flags_at"]
    assert (await client.get(f"/api/v1/evidence/{evidence_id}", headers=team.headers["chief"])).json()["flags"] == r.json()["flags"]


async def test_a_visit_checked_in_after_its_due_window_still_takes_photos(client, db):
    # Checked in (late) after the due window ended, not yet checked out: the visit has begun
    # and has no known end, so a photo taken on site now is inside it, not a server error.
    late = await draw_tasks(client, db, due_from=NOW.date() - timedelta(days=20), due_to=NOW.date() - timedelta(days=10))
    inspector, task = late.inspector("DG-CA"), late.task("DG-CA")
    check_in = {"id": "8b0f5d1e-3c41-4b8e-9d6a-1f2e3d4c5b6a", "lat": CHANGAN[0], "lon": CHANGAN[1], "accuracy_m": 10,
                "device_time": NOW.isoformat()}
    assert (await client.post(f"/api/v1/tasks/{task}/check-ins", json=check_in, headers=inspector)).status_code == 201
    on_site = await upload(client, inspector, photo(3, taken=(NOW + timedelta(minutes=5)).replace(tzinfo=None)), task_id=task)
    assert codes(on_site) == []
    before = await upload(client, inspector, photo(4, taken=(NOW - timedelta(hours=2)).replace(tzinfo=None)), task_id=task)
    assert codes(before) == ["captured_outside_visit"]
