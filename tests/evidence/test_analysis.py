import io
import pickle
import warnings
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timedelta, timezone

import msgspec
import pytest
from PIL import Image

from evidence.analysis import ImageLimits, analyze, metadata_digest
from evidence.errors import CorruptImage, ImageTooLarge, UnsupportedFormat
from evidence.exif import CaptureTimeSource
from evidence.formats import ImageFormat
from evidence.phash import hamming
from tests.evidence.images import encode, exif, png_header_only, quadrants, scene, zero_png_bomb

CST = timezone(timedelta(hours=8))
TAKEN = datetime(2024, 5, 1, 9, 30, 15)


def photo(seed=1, size=(800, 600), **exif_fields) -> bytes:
    return encode(scene(seed, size), "JPEG", exif(**exif_fields), quality=90)


def test_jpeg_metadata_is_read_with_offset_gps_and_device():
    data = photo(taken=TAKEN, offset="+08:00", gps=(31.2304, 121.4737), altitude=12.5,
                 software="V14.0.3.0.TKBCNXM", make="Xiaomi", model="Mi 11")
    result = analyze(data)
    meta = result.metadata
    assert result.format is ImageFormat.JPEG
    assert (result.width, result.height) == (800, 600)
    assert meta.capture_time == TAKEN.replace(tzinfo=CST)
    assert meta.capture_time_source is CaptureTimeSource.EXIF_WITH_OFFSET
    assert meta.gps.latitude == pytest.approx(31.2304, abs=1e-6)
    assert meta.gps.longitude == pytest.approx(121.4737, abs=1e-6)
    assert meta.gps.altitude_m == pytest.approx(12.5)
    assert (meta.make, meta.model, meta.software) == ("Xiaomi", "Mi 11", "V14.0.3.0.TKBCNXM")
    assert not meta.exif_error


def test_gps_utc_time_is_used_when_the_offset_is_missing():
    gps_time = datetime(2024, 5, 1, 1, 30, 15)
    meta = analyze(photo(taken=TAKEN, gps=(30.0, 120.0), gps_time=gps_time)).metadata
    assert meta.capture_time == gps_time.replace(tzinfo=timezone.utc)
    assert meta.capture_time_source is CaptureTimeSource.GPS_UTC


def test_bare_original_time_is_kept_naive_and_labelled_local():
    meta = analyze(photo(taken=TAKEN)).metadata
    assert meta.capture_time == TAKEN and meta.capture_time.tzinfo is None
    assert meta.capture_time_source is CaptureTimeSource.EXIF_LOCAL


def test_southern_and_western_positions_are_negative_and_below_sea_level_too():
    gps = analyze(photo(gps=(-33.8688, -70.6483), altitude=-12.0)).metadata.gps
    assert gps.latitude == pytest.approx(-33.8688, abs=1e-6)
    assert gps.longitude == pytest.approx(-70.6483, abs=1e-6)
    assert gps.altitude_m == pytest.approx(-12.0)


def test_photo_without_exif_has_empty_metadata():
    meta = analyze(encode(scene(3), "JPEG")).metadata
    assert meta.capture_time is None and meta.gps is None and meta.make is None
    assert not meta.exif_error


_INVERSE = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


@pytest.mark.parametrize("orientation", range(1, 9))
def test_thumbnails_and_phash_honour_the_orientation(orientation):
    shown = quadrants((320, 240))
    stored = shown if _INVERSE[orientation] is None else shown.transpose(_INVERSE[orientation])
    result = analyze(encode(stored, "JPEG", exif(orientation=orientation), quality=95))
    assert result.metadata.orientation == orientation
    assert (result.display_width, result.display_height) == (320, 240)
    thumb = Image.open(io.BytesIO(result.thumbnails[-1].jpeg)).convert("RGB")
    assert thumb.size == (320, 240)
    w, h = thumb.size
    corners = [thumb.getpixel((w // 4, h // 4)), thumb.getpixel((3 * w // 4, h // 4)),
               thumb.getpixel((w // 4, 3 * h // 4)), thumb.getpixel((3 * w // 4, 3 * h // 4))]
    for got, want in zip(corners, [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)], strict=True):
        assert max(abs(a - b) for a, b in zip(got, want, strict=True)) < 40, (got, want)
    upright = analyze(encode(shown, "JPEG", quality=95))
    assert hamming(result.phash, upright.phash) <= 2


def test_thumbnails_fit_their_boxes_and_carry_no_metadata():
    data = photo(size=(2400, 1800), taken=TAKEN, offset="+08:00", gps=(31.2304, 121.4737), make="SecretMake")
    result = analyze(data)
    assert [t.box for t in result.thumbnails] == [256, 1024]
    for thumb in result.thumbnails:
        assert 0.9 * thumb.box <= max(thumb.width, thumb.height) <= thumb.box
        opened = Image.open(io.BytesIO(thumb.jpeg))
        assert opened.size == (thumb.width, thumb.height)
        assert not opened.getexif() and "exif" not in opened.info and "icc_profile" not in opened.info
        assert b"Exif" not in thumb.jpeg and b"SecretMake" not in thumb.jpeg


def test_small_images_are_never_upscaled():
    result = analyze(encode(scene(4, (120, 90)), "PNG"))
    assert [(t.width, t.height) for t in result.thumbnails] == [(120, 90), (120, 90)]


def test_png_with_transparency_and_webp_with_exif_are_analysed():
    rgba = scene(5, (300, 200)).convert("RGBA")
    rgba.putalpha(128)
    assert analyze(encode(rgba, "PNG")).format is ImageFormat.PNG
    webp = encode(scene(6, (300, 200)), "WEBP", exif(taken=TAKEN, offset="+08:00"), quality=80)
    result = analyze(webp)
    assert result.format is ImageFormat.WEBP
    assert result.metadata.capture_time == TAKEN.replace(tzinfo=CST)


def test_heic_round_trip_keeps_metadata_and_orientation_is_not_applied_twice():
    import pillow_heif

    pillow_heif.register_heif_opener()
    data = encode(scene(7, (400, 300)), "HEIF",
                  exif(taken=TAKEN, offset="+08:00", gps=(39.9042, 116.4074), make="Apple", model="iPhone 15"),
                  quality=80)
    result = analyze(data)
    assert result.format is ImageFormat.HEIC
    assert result.metadata.capture_time == TAKEN.replace(tzinfo=CST)
    assert result.metadata.gps.latitude == pytest.approx(39.9042, abs=1e-6)
    assert result.metadata.make == "Apple"
    assert (result.thumbnails[-1].width, result.thumbnails[-1].height) == (400, 300)
    same_as_jpeg = analyze(encode(scene(7, (400, 300)), "JPEG", quality=95))
    assert hamming(result.phash, same_as_jpeg.phash) <= 4


def test_path_and_bytes_give_the_same_analysis(tmp_path):
    data = photo(taken=TAKEN, gps=(31.0, 121.0))
    path = tmp_path / "anything.bin"
    path.write_bytes(data)
    assert analyze(path) == analyze(data) == analyze(str(path))


def test_analysis_runs_in_a_process_pool_and_pickles():
    data = photo(taken=TAKEN, offset="+08:00")
    local = analyze(data)
    assert pickle.loads(pickle.dumps(local)) == local
    with ProcessPoolExecutor(max_workers=1) as pool:
        assert pool.submit(analyze, data, ImageLimits()).result() == local


def test_metadata_digest_is_stable_and_binds_every_field():
    meta = analyze(photo(taken=TAKEN, offset="+08:00", gps=(31.0, 121.0))).metadata
    digest = metadata_digest(meta)
    assert digest == metadata_digest(msgspec.json.decode(msgspec.json.encode(meta), type=type(meta)))
    assert digest != metadata_digest(msgspec.structs.replace(meta, model="Mi 12"))


# ---- bad input -----------------------------------------------------------------


def test_zero_bytes_is_unsupported():
    with pytest.raises(UnsupportedFormat):
        analyze(b"")


def test_text_named_jpg_is_unsupported(tmp_path):
    path = tmp_path / "photo.jpg"
    path.write_text("definitely a photo, trust me\n")
    with pytest.raises(UnsupportedFormat):
        analyze(path)


@pytest.mark.parametrize("keep", [0.1, 0.5, 0.9, 0.999])
def test_truncated_jpeg_is_corrupt(keep):
    data = photo(size=(1200, 900))
    with pytest.raises(CorruptImage):
        analyze(data[: int(len(data) * keep)])


def test_jpeg_header_followed_by_garbage_is_corrupt():
    with pytest.raises(CorruptImage):
        analyze(b"\xff\xd8\xff\xe0" + b"\x13" * 4000)


def test_a_corrupt_file_is_not_named_in_the_error(tmp_path):
    # The message reaches the uploader (422 CORRUPT_IMAGE): it must not show where we keep files.
    path = tmp_path / "secret-folder" / "blob"
    path.parent.mkdir()
    path.write_bytes(b"\xff\xd8\xff")
    with pytest.raises(CorruptImage) as refused:
        analyze(path)
    assert "secret-folder" not in str(refused.value) and "jpeg" in str(refused.value)


def test_truncated_png_is_corrupt():
    data = encode(scene(8, (400, 300)), "PNG")
    with pytest.raises(CorruptImage):
        analyze(data[: len(data) // 2])


def _no_bomb_warnings(caught):
    return not [w for w in caught if issubclass(w.category, Image.DecompressionBombWarning)]


def test_png_bomb_header_beyond_pillows_own_guard_is_too_large():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ImageTooLarge) as error:
            analyze(png_header_only(30_000, 30_000), ImageLimits(max_pixels=10**9))
    assert error.value.limit == 2 * Image.MAX_IMAGE_PIXELS  # the guard that applied, not ours
    assert _no_bomb_warnings(caught)
    # Past both guards, the refusal names our limit (not Pillow's figure) in its message and details.
    with pytest.raises(ImageTooLarge) as error:
        analyze(png_header_only(30_000, 30_000))
    assert error.value.limit == 64_000_000 and "64000000" in str(error.value)


def test_png_bomb_header_over_our_limit_is_refused_before_decoding_and_without_warnings():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ImageTooLarge) as error:
            analyze(png_header_only(10_000, 10_000))
    assert error.value.pixels == 100_000_000 and error.value.limit == 64_000_000
    assert _no_bomb_warnings(caught)


def test_decodable_zero_png_bomb_respects_the_configured_limit():
    bomb = zero_png_bomb(2500, 2000)
    assert len(bomb) < 20_000
    with pytest.raises(ImageTooLarge):
        analyze(bomb, ImageLimits(max_pixels=4_000_000))
    assert analyze(bomb, ImageLimits(max_pixels=5_000_000)).width == 2500


def test_exif_with_zero_denominators_yields_missing_fields_not_errors():
    from PIL.TiffImagePlugin import IFDRational

    data = exif(taken=TAKEN, offset="+08:00")
    gps = data.get_ifd(0x8825)
    gps[1], gps[2] = "N", (IFDRational(31, 1), IFDRational(14, 0), IFDRational(3030, 100))
    gps[3], gps[4] = "E", (IFDRational(121, 1), IFDRational(28, 1), IFDRational(125, 10))
    gps[5], gps[6] = b"\x00", IFDRational(4, 0)
    gps[7], gps[29] = (IFDRational(1, 0), IFDRational(0, 0), IFDRational(0, 1)), "2024:05:01"
    meta = analyze(encode(scene(9), "JPEG", data)).metadata
    assert meta.gps is None and meta.gps_time is None
    assert meta.capture_time == TAKEN.replace(tzinfo=CST)

    data = exif()
    gps = data.get_ifd(0x8825)
    gps[2], gps[4] = (IFDRational(31, 1), 0, 0), (IFDRational(121, 1), 0, 0)
    gps[6] = IFDRational(0, 0)
    meta = analyze(encode(scene(9), "JPEG", data)).metadata
    assert (meta.gps.latitude, meta.gps.longitude, meta.gps.altitude_m) == (31.0, 121.0, None)


def test_exif_with_absurd_values_yields_missing_fields_not_errors():
    from PIL.TiffImagePlugin import IFDRational

    data = exif(orientation=42, make="\x00\x00", offset="+99:00")
    data[0x0132] = "2024:13:45 99:99:99"
    sub = data.get_ifd(0x8769)
    sub[0x9003] = "0000:00:00 00:00:00"
    gps = data.get_ifd(0x8825)
    gps[1], gps[2] = "N", (IFDRational(400, 1), IFDRational(0, 1), IFDRational(0, 1))
    gps[3], gps[4] = "Q", (IFDRational(12, 1), IFDRational(75, 1), IFDRational(0, 1))
    gps[6] = IFDRational(10**9, 1)
    gps[7], gps[29] = (IFDRational(25, 1), IFDRational(61, 1), IFDRational(0, 1)), "2024:02:30"
    meta = analyze(encode(scene(10), "JPEG", data)).metadata
    assert meta.orientation is None and meta.make is None and meta.modify_time is None
    assert meta.capture_time is None and meta.capture_time_source is None
    assert meta.gps is None and meta.gps_time is None


def test_unreadable_exif_segment_does_not_reject_the_photo():
    clean = encode(scene(11), "JPEG")
    garbage = b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\xff\xff" + b"\xa5" * 64
    segment = b"\xff\xe1" + (len(garbage) + 2).to_bytes(2, "big") + garbage
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = analyze(clean[:2] + segment + clean[2:])
    assert not caught
    assert result.metadata.exif_error
    assert result.metadata.capture_time is None and result.metadata.gps is None


def _damaged(data: bytes) -> dict[str, bytes]:
    cases = {f"cut{k}": data[: len(data) * k // 10] for k in range(3, 10)}
    cases["no-eoi"] = data[:-2]
    for k in range(1, 6):
        flipped = bytearray(data)
        for j in range(k * 3):
            flipped[(len(data) // 3) + j * 997] ^= 0xFF
        cases[f"flip{k}"] = bytes(flipped)
    return cases


def test_draft_decode_detects_exactly_what_a_full_decode_detects():
    data = photo(seed=12, size=(1600, 1200))
    draft, full = ImageLimits(thumbnail_sizes=(256,)), ImageLimits(thumbnail_sizes=(256,), full_decode=True)
    outcomes = {}
    for name, damaged in _damaged(data).items():
        results = []
        for limits in (draft, full):
            try:
                analyze(damaged, limits)
                results.append("ok")
            except CorruptImage:
                results.append("corrupt")
        outcomes[name] = results
    assert all(a == b for a, b in outcomes.values()), outcomes
    assert sum(a == "corrupt" for a, _ in outcomes.values()) >= 8, outcomes
