"""POST /api/v1/evidence with real photos made by Pillow, bad input of every kind, and who
may read what. Each refusal is a clear 4xx that leaves nothing in the store or the ledger."""

from __future__ import annotations

import io
from datetime import timezone
from pathlib import Path

import pytest
from PIL import Image
from PIL.TiffImagePlugin import IFDRational

from api.settings import Settings
from tests.evidence.images import encode, exif, png_header_only, scene, zero_png_bomb
from tests.support.api import assert_error
from tests.support.evidence import (
    CST, CHANGAN, TAKEN, current_team, digest, evidence_settings, photo, stored_files, upload,
)

MIB = 1024 * 1024


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return evidence_settings(database_url, tmp_path, evidence_max_bytes=2 * MIB, evidence_max_pixels=20_000_000)


@pytest.fixture
async def team(client, db):
    return await current_team(client, db)


def store(settings: Settings) -> list[str]:
    """The photo store's files and the staging store's, temporary ones included."""
    return stored_files(Path(settings.data_dir) / "evidence")


async def ledger_size(client, team) -> int:
    note = (await client.get("/api/v1/ledger/checkpoint", headers=team.headers["chief"])).text
    return int(note.split("\n")[1])


async def test_jpeg_is_filed_with_its_metadata_thumbnails_and_receipt(client, team, settings):
    body = photo(1, taken=TAKEN, gps=CHANGAN, orientation=6)
    r = await upload(client, team.inspector("DG-CA"), body, task_id=team.task("DG-CA"), sha256=digest(body).upper())
    assert r.status_code == 201, r.text
    ev = r.json()
    assert r.headers["location"] == f"/api/v1/evidence/{ev['id']}"
    assert "receive;dur=" in r.headers["server-timing"]
    assert (ev["task_id"], ev["unit_code"], ev["uploaded_by"]) == (team.task("DG-CA"), "DG-CA", "insp01")
    assert (ev["sha256"], ev["size"], ev["format"], ev["media_type"]) == (digest(body), len(body), "jpeg", "image/jpeg")
    assert (ev["width"], ev["height"], ev["display_width"], ev["display_height"]) == (640, 480, 480, 640)
    utc = TAKEN.replace(tzinfo=CST).astimezone(timezone.utc)
    assert ev["capture_time"] == utc.isoformat().replace("+00:00", "Z") and ev["capture_time_source"] == "exif_with_offset"
    assert ev["gps"]["latitude"] == pytest.approx(22.81) and ev["gps"]["longitude"] == pytest.approx(113.80)
    assert ev["metadata"]["make"] == "Xiaomi" and ev["metadata"]["orientation"] == 6
    assert ev["flags"] == []  # in the visit window, on site, with time and place, not edited
    assert len(ev["phash"]) == 16 and ev["receipt"]["index"] == 0 and ev["receipt"]["tree_size"] == 1
    assert ev["ledger_entry"]["data"]["sha256"] == digest(body) and ev["ledger_entry"]["seq"] == 0
    assert [(t["box"], t["width"], t["height"]) for t in ev["thumbnails"]] == [(256, 192, 256), (1024, 480, 640)]
    assert (await client.get(f"/api/v1/evidence/{ev['id']}", headers=team.inspector("DG-CA"))).json() == ev

    original = await client.get(f"/api/v1/evidence/{ev['id']}/original", headers=team.inspector("DG-CA"))
    assert original.status_code == 200 and original.content == body
    assert original.headers["content-type"] == "image/jpeg" and original.headers["etag"] == f'"{digest(body)}"'
    again = await client.get(f"/api/v1/evidence/{ev['id']}/original",
                             headers={**team.inspector("DG-CA"), "If-None-Match": f'"{digest(body)}"'})
    assert again.status_code == 304 and again.content == b""
    thumb = await client.get(f"/api/v1/evidence/{ev['id']}/thumbnail?size=256", headers=team.headers["chief"])
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"
    image = Image.open(io.BytesIO(thumb.content))
    assert image.size == (192, 256) and not image.getexif() and "exif" not in image.info  # oriented, no location
    big = await client.get(f"/api/v1/evidence/{ev['id']}/thumbnail?size=1024", headers=team.headers["chief"])
    assert Image.open(io.BytesIO(big.content)).size == (480, 640)
    files = store(settings)
    assert len(files) == 3 and f"{digest(body)[:2]}/{digest(body)[2:4]}/{digest(body)}" in files  # photo + 2 thumbnails


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "HEIF"])
async def test_png_webp_and_heic_are_recognised_from_their_bytes(client, team, fmt):
    if fmt == "HEIF":
        import pillow_heif

        pillow_heif.register_heif_opener()
    body = encode(scene(7, (320, 240)), fmt, exif(taken=TAKEN, offset="+08:00", gps=CHANGAN), quality=80)
    # The client claims JPEG: the type comes from the bytes only.
    r = await upload(client, team.inspector("DG-CA"), body, task_id=team.task("DG-CA"), content_type="image/jpeg")
    assert r.status_code == 201, r.text
    expected = {"PNG": ("png", "image/png"), "WEBP": ("webp", "image/webp"), "HEIF": ("heic", "image/heic")}[fmt]
    assert (r.json()["format"], r.json()["media_type"]) == expected
    assert r.json()["gps"] is not None and r.json()["capture_time"] is not None
    original = await client.get(f"/api/v1/evidence/{r.json()['id']}/original", headers=team.headers["chief"])
    assert original.content == body and original.headers["content-type"] == expected[1]


async def test_the_same_bytes_for_the_same_task_are_one_piece_of_evidence(client, team, settings):
    body = photo(2, taken=TAKEN)
    first = await upload(client, team.inspector("DG-CA"), body, task_id=team.task("DG-CA"))
    second = await upload(client, team.inspector("DG-CA"), body, task_id=team.task("DG-CA"), content_type="image/png")
    assert (first.status_code, second.status_code) == (201, 200)
    assert second.json() == first.json()
    assert await ledger_size(client, team) == 1 and len(store(settings)) == 3
    # Without a task, the same inspector's same bytes are likewise one record.
    loose = [await upload(client, team.inspector("DG-CA"), body) for _ in range(2)]
    assert [r.status_code for r in loose] == [201, 200] and loose[0].json()["task_id"] is None
    assert loose[0].json()["id"] == loose[1].json()["id"] != first.json()["id"]


def _broken_exif() -> Image.Exif:
    data = exif(taken=None, gps=None, make="Xiao\x00mi\x01\x7f", software="\x1b[31m")  # control bytes
    sub = data.get_ifd(0x8769)
    sub[0x9003] = "0000:00:00 00:00:00"  # a reset clock
    location = data.get_ifd(0x8825)
    location[1], location[2] = "N", (IFDRational(22, 0), IFDRational(1, 0), IFDRational(0, 0))  # zero denominators
    location[3], location[4] = "E", (IFDRational(400, 1), IFDRational(0, 1), IFDRational(0, 1))  # 400 degrees
    location[6] = IFDRational(10**9, 1)  # an altitude above the atmosphere
    return data


TRUNCATED = photo(3, taken=TAKEN)[:-3000]
BAD_INPUT = {
    "zero bytes": (b"", 415, "UNSUPPORTED_FORMAT"),
    "text named .jpg": ("这不是照片, just text saved as IMG_0001.jpg\n".encode() * 40, 415, "UNSUPPORTED_FORMAT"),
    "truncated jpeg": (TRUNCATED, 422, "CORRUPT_IMAGE"),
    "bomb header": (png_header_only(100_000, 100_000), 422, "IMAGE_TOO_LARGE"),
    "zero-filled bomb": (zero_png_bomb(6_000, 5_000), 422, "IMAGE_TOO_LARGE"),
    "avif": (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf" + bytes(600), 415, "UNSUPPORTED_FORMAT"),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
async def test_bad_photos_get_a_clear_4xx_and_leave_nothing_behind(client, team, settings, case):
    body, status, code = BAD_INPUT[case]
    r = await upload(client, team.inspector("DG-CA"), body, task_id=team.task("DG-CA"), content_type="image/jpeg")
    assert_error(r, status, code)
    assert store(settings) == []
    assert (await client.get("/api/v1/evidence", headers=team.headers["chief"])).json()["total"] == 0
    assert await ledger_size(client, team) == 0


async def test_declared_checksum_mismatch_is_refused_as_corrupted_in_transit(client, team, settings):
    body = photo(4, taken=TAKEN)
    damaged = body[:1000] + bytes([body[1000] ^ 1]) + body[1001:]
    r = await upload(client, team.inspector("DG-CA"), damaged, task_id=team.task("DG-CA"), sha256=digest(body))
    details = assert_error(r, 422, "CHECKSUM_MISMATCH")["details"]
    assert details == {"expected": digest(body), "actual": digest(damaged)}
    both = await client.post(f"/api/v1/evidence?sha256={digest(damaged)}", content=body,
                             headers={**team.inspector("DG-CA"), "X-Content-SHA256": digest(body)})
    assert_error(both, 422, "VALIDATION_ERROR")
    assert store(settings) == [] and await ledger_size(client, team) == 0


async def test_an_oversize_body_is_refused(client, team, settings):
    # (A body streamed without Content-Length is counted as it arrives: test_evidence_live.py.)
    big = photo(5, size=(1200, 900), taken=TAKEN) + bytes(2 * MIB)  # a JPEG with 2 MiB of trailing data
    assert_error(await upload(client, team.inspector("DG-CA"), big), 413, "PAYLOAD_TOO_LARGE")
    assert store(settings) == [] and await ledger_size(client, team) == 0
    # Just under the limit is fine, and the trailing bytes are kept: the original is byte-exact.
    fits = big[: 2 * MIB]
    ok = await upload(client, team.inspector("DG-CA"), fits)
    assert ok.status_code == 201 and ok.json()["size"] == 2 * MIB


async def test_absurd_exif_is_stored_with_flags_not_refused(client, team):
    body = encode(scene(9), "JPEG", _broken_exif())
    r = await upload(client, team.inspector("DG-CA"), body, task_id=team.task("DG-CA"))
    assert r.status_code == 201, r.text
    assert {f["code"] for f in r.json()["flags"]} == {"no_capture_time", "no_gps"}
    assert r.json()["gps"] is None and r.json()["capture_time"] is None
    assert "\x00" not in r.json()["metadata"]["make"]  # PostgreSQL refuses NUL in text and JSON
    again = await client.get(f"/api/v1/evidence/{r.json()['id']}", headers=team.headers["chief"])
    assert again.json()["metadata"] == r.json()["metadata"]


async def test_who_may_upload(client, team, settings):
    body = photo(6, taken=TAKEN)
    assert_error(await upload(client, {}, body), 401)
    assert_error(await upload(client, team.headers["unit-hm"], body), 403, "FORBIDDEN")
    assert_error(await upload(client, team.headers["chief"], body, task_id=team.task("DG-CA")), 403, "FORBIDDEN")
    # insp02 is not on the 长安 team: to them that task does not exist.
    assert_error(await upload(client, team.inspector("DG-HM"), body, task_id=team.task("DG-CA")), 404, "NOT_FOUND")
    assert_error(await upload(client, team.inspector("DG-CA"), body, task_id="00000000-0000-0000-0000-000000000000"),
                 404, "NOT_FOUND")
    assert_error(await upload(client, team.inspector("DG-CA"), body, task_id="not-a-uuid"), 422, "VALIDATION_ERROR")
    assert store(settings) == []


async def test_who_may_read(client, team):
    hm = await upload(client, team.inspector("DG-HM"), photo(8, taken=TAKEN), task_id=team.task("DG-HM"))
    ca = await upload(client, team.inspector("DG-CA"), photo(9, taken=TAKEN), task_id=team.task("DG-CA"))
    mine = await upload(client, team.inspector("DG-CA"), photo(10, taken=TAKEN))  # no task: the uploader's
    ids = {name: r.json()["id"] for name, r in (("hm", hm), ("ca", ca), ("mine", mine))}
    visible = {"chief": {"hm", "ca", "mine"}, "admin": {"hm", "ca", "mine"}, "insp02": {"hm"}, "insp01": {"ca", "mine"},
               # A unit sees evidence only once a deduction citing it is confirmed (none exist yet).
               "unit-hm": set()}
    for who, allowed in visible.items():
        headers = team.headers[who]
        listed = (await client.get("/api/v1/evidence", headers=headers)).json()
        assert {i["id"] for i in listed["items"]} == {ids[n] for n in allowed}, who
        for name, evidence_id in ids.items():
            for suffix in ("", "/original", "/thumbnail"):
                r = await client.get(f"/api/v1/evidence/{evidence_id}{suffix}", headers=headers)
                if name in allowed:
                    assert r.status_code == 200, (who, name, suffix)
                else:
                    assert_error(r, 404, "NOT_FOUND")
    by_task = (await client.get(f"/api/v1/evidence?task_id={team.task('DG-HM')}", headers=team.headers["chief"])).json()
    assert [i["id"] for i in by_task["items"]] == [ids["hm"]]


async def test_blobs_are_reached_only_through_validated_digests(client, team):
    for path in ("/api/v1/evidence/..%2F..%2Fledger.key/original", "/api/v1/evidence/../../ledger.key",
                 "/api/v1/evidence/%2e%2e/original"):
        r = await client.get(path, headers=team.headers["chief"])
        assert r.status_code in (404, 405) and set(r.json()) == {"code", "message", "details"}
    r = await client.get("/api/v1/evidence/00000000-0000-0000-0000-000000000000/thumbnail?size=512",
                         headers=team.headers["chief"])
    assert_error(r, 422, "VALIDATION_ERROR")
