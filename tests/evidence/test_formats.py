import pytest

from evidence.errors import UnsupportedFormat
from evidence.formats import ImageFormat, sniff_format
from tests.evidence.images import encode, scene


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [("JPEG", ImageFormat.JPEG), ("PNG", ImageFormat.PNG), ("WEBP", ImageFormat.WEBP)],
)
def test_pillow_encodings_are_recognised_from_their_bytes(fmt, expected):
    data = encode(scene(1, (64, 48)), fmt)
    assert sniff_format(data[:512]) is expected
    assert expected.media_type.startswith("image/")


def test_heic_is_recognised_by_its_ftyp_brand():
    import pillow_heif

    pillow_heif.register_heif_opener()
    data = encode(scene(2, (64, 48)), "HEIF", quality=60)
    assert sniff_format(data) is ImageFormat.HEIC


def test_heif_without_hevc_brand_is_plain_heif():
    head = b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1miaf"
    assert sniff_format(head) is ImageFormat.HEIF


@pytest.mark.parametrize(
    "head",
    [
        b"",
        b"just some text that a client named photo.jpg\n",
        b"%PDF-1.7\n",
        b"GIF89a\x01\x00\x01\x00",
        b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf",  # AVIF: no decoder here
        b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2",  # an MP4 video
        b"RIFF\x10\x00\x00\x00WAVEfmt ",
    ],
)
def test_everything_else_is_unsupported(head):
    with pytest.raises(UnsupportedFormat):
        sniff_format(head)
