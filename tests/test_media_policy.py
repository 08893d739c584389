"""Keys, types, filenames and magic numbers of uploaded media."""

from __future__ import annotations

import re
import uuid

import pytest

from honeydue import media_policy as mp
from honeydue.models.enums import MediaPurpose
from honeydue.settings import load_settings

OWNER = uuid.UUID("11111111-1111-4111-8111-111111111111")
TARGET = uuid.UUID("22222222-2222-4222-8222-222222222222")
UUID_RE = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"


@pytest.mark.parametrize(
    ("purpose", "content_type", "pattern"),
    [
        (MediaPurpose.AVATAR, "image/png", rf"users/{OWNER}/profile/{UUID_RE}\.png"),
        (MediaPurpose.COMPLETION_PHOTO, "image/jpeg", rf"tasks/{TARGET}/completions/{UUID_RE}\.jpg"),
        (MediaPurpose.DOCUMENT_FILE, "application/pdf", rf"residences/{TARGET}/documents/{UUID_RE}\.pdf"),
        (MediaPurpose.DOCUMENT_FILE, "Image/WEBP; q=1", rf"residences/{TARGET}/documents/{UUID_RE}\.webp"),
        (MediaPurpose.RESIDENCE_PHOTO, "image/jpeg", rf"residences/{TARGET}/photo/{UUID_RE}\.jpg"),
        ("COMPLETION_PHOTO", "image/gif", rf"tasks/{TARGET}/completions/{UUID_RE}\.gif"),
    ],
)
def test_object_keys(purpose, content_type: str, pattern: str) -> None:
    key = mp.make_object_key(purpose, TARGET, OWNER, content_type)
    assert re.fullmatch(pattern, key), key
    assert key != mp.make_object_key(purpose, TARGET, OWNER, content_type)  # a new file is a new key


def test_object_keys_refuse_what_they_cannot_name() -> None:
    with pytest.raises(ValueError):
        mp.make_object_key(MediaPurpose.DOCUMENT_FILE, None, OWNER, "application/pdf")
    with pytest.raises(ValueError):
        mp.make_object_key(MediaPurpose.COMPLETION_PHOTO, "../../etc", OWNER, "image/png")
    with pytest.raises(ValueError):
        mp.make_object_key(MediaPurpose.AVATAR, None, OWNER, "text/html")


def test_allowed_types_per_purpose_within_the_setting() -> None:
    default = load_settings({})
    assert mp.allowed_types_for(MediaPurpose.AVATAR, default) == mp.IMAGE_TYPES
    assert mp.allowed_types_for(MediaPurpose.COMPLETION_PHOTO, default) == (*mp.IMAGE_TYPES, *mp.VIDEO_TYPES)
    assert mp.allowed_types_for(MediaPurpose.RESIDENCE_PHOTO, default) == mp.IMAGE_TYPES
    assert mp.allowed_types_for("DOCUMENT_FILE", default) == ("application/pdf", *mp.IMAGE_TYPES, *mp.VIDEO_TYPES)
    narrow = load_settings({"STORAGE_ALLOWED_TYPES": "application/pdf, IMAGE/JPEG,text/html,image/svg+xml"})
    assert mp.allowed_types_for(MediaPurpose.AVATAR, narrow) == ("image/jpeg",)
    assert mp.allowed_types_for(MediaPurpose.DOCUMENT_FILE, narrow) == ("application/pdf", "image/jpeg")
    assert mp.allowed_types_for(MediaPurpose.COMPLETION_PHOTO, narrow) == ("image/jpeg",)  # videos turned off
    assert "text/html" not in mp.INLINE_SAFE_TYPES and "image/svg+xml" not in mp.INLINE_SAFE_TYPES


def test_videos_are_for_completions_and_documents_only_with_their_own_size_limit() -> None:
    settings = load_settings({"STORAGE_MAX_FILE_SIZE": "1000", "STORAGE_MAX_VIDEO_SIZE": "5000"})
    for purpose in (MediaPurpose.AVATAR, MediaPurpose.RESIDENCE_PHOTO, MediaPurpose.RESIDENCE_IMPORT):
        assert not set(mp.VIDEO_TYPES) & set(mp.allowed_types_for(purpose, settings))
    assert [mp.max_size_for(t, settings) for t in ("video/mp4", "Video/QuickTime; x=1", "video/webm")] == [5000] * 3
    assert [mp.max_size_for(t, settings) for t in ("image/png", "application/pdf", "application/json")] == [1000] * 3
    assert {mp.extension_for(t) for t in mp.VIDEO_TYPES} == {"mp4", "mov", "webm"}
    assert set(mp.VIDEO_TYPES) <= mp.INLINE_SAFE_TYPES  # a <video> plays them from the gateway


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\scan.png", "scan.png"),
        ('a"b\'c`.png', "abc.png"),
        ("evil\r\nSet-Cookie: x=1.png", "evil Set-Cookie: x=1.png"),
        ("nul\x00byte\x7f.png", "nulbyte.png"),
        ("photo\u202egnp.exe", "photognp.exe"),
        ("  ..hidden  ", "hidden"),
        ("Öl & Gas – Rechnung.pdf", "Öl & Gas – Rechnung.pdf"),
        ("", "file"),
        (None, "file"),
        ("../", "file"),
        ("\r\n", "file"),
    ],
)
def test_sanitize_filename(raw, clean: str) -> None:
    assert mp.sanitize_filename(raw) == clean


def test_sanitize_filename_keeps_the_extension_when_cutting() -> None:
    cut = mp.sanitize_filename("x" * 500 + ".pdf")
    assert len(cut) == mp.MAX_FILENAME_CHARS and cut.endswith("x.pdf")
    assert len(mp.sanitize_filename("y" * 500)) == mp.MAX_FILENAME_CHARS


@pytest.mark.parametrize(
    ("filename", "attachment", "expected"),
    [
        ("report.pdf", False, "inline; filename=\"report.pdf\"; filename*=UTF-8''report.pdf"),
        ("a b.png", True, "attachment; filename=\"a b.png\"; filename*=UTF-8''a%20b.png"),
        ("Öl–Rechnung.pdf", True,
         "attachment; filename=\"Ol_Rechnung.pdf\"; filename*=UTF-8''%C3%96l%E2%80%93Rechnung.pdf"),
        ("日本.png", False, "inline; filename=\"__.png\"; filename*=UTF-8''%E6%97%A5%E6%9C%AC.png"),
        ("100%;x\r\n.pdf", False, "inline; filename=\"100_;x .pdf\"; filename*=UTF-8''100%25%3Bx%20.pdf"),
        (None, True, "attachment; filename=\"file\"; filename*=UTF-8''file"),
    ],
)
def test_content_disposition(filename, attachment: bool, expected: str) -> None:
    value = mp.content_disposition(filename, attachment)
    assert value == expected
    assert "\r" not in value and "\n" not in value and value.isascii()


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
GIF = b"GIF89a\x01\x00\x01\x00"
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 "
PDF = b"%PDF-1.7\n%\xe2\xe3"
HTML = b"<!DOCTYPE html><script>alert(1)</script>"
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'
MP4 = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41\x00\x00\x00\x08free"
MOV = b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  \x00\x00\x00\x08wide"
WEBM = (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08"
        b"\x42\x82\x84webm\x42\x87\x81\x02\x42\x85\x81\x02\x18\x53\x80\x67")
SAMPLES = {"image/jpeg": JPEG, "image/png": PNG, "image/gif": GIF, "image/webp": WEBP, "application/pdf": PDF,
           "video/mp4": MP4, "video/quicktime": MOV, "video/webm": WEBM}


@pytest.mark.parametrize("declared", sorted(SAMPLES))
@pytest.mark.parametrize("actual", sorted(SAMPLES))
def test_sniff_matches_only_the_declared_type(declared: str, actual: str) -> None:
    assert mp.sniff_matches(declared, SAMPLES[actual]) is (declared == actual)


@pytest.mark.parametrize("declared", [*sorted(SAMPLES), "image/svg+xml", "text/html"])
@pytest.mark.parametrize("body", [HTML, SVG, b"", b"\x89PN", b"RIFF\x00\x00\x00\x00WAVE", b" %PDF-1.7"])
def test_disguised_or_truncated_files_never_match(declared: str, body: bytes) -> None:
    assert mp.sniff_matches(declared, body) is False


def test_sniff_bytes_cover_every_magic_number() -> None:
    assert mp.SNIFF_BYTES >= 12
    assert mp.sniff_matches("IMAGE/PNG; charset=binary", PNG[: mp.SNIFF_BYTES])


# Look-alikes of the video types: same container family, another format.
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"  # a still (HEIF), same box structure as MP4
HEIC_LISTING_ISOM = b"\x00\x00\x00\x1cftypmif1\x00\x00\x00\x00mif1heicisom"
AVIF = b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf"
MKV = WEBM.replace(b"\x42\x82\x84webm", b"\x42\x82\x88matroska").replace(b"\x9f", b"\xa3", 1)
TRUNCATED_WEBM = WEBM[:20]  # the header ends before its DocType
FTYP_NO_BRAND = b"\x00\x00\x00\x08ftyp"
FTYP_ODD_SIZE = b"\x00\x00\x00\x13ftypisom\x00\x00\x02\x00isom"
LATER_FTYP = b"\x00\x00\x00\x08free" + MP4  # ftyp must open the file


@pytest.mark.parametrize("declared", ["video/mp4", "video/quicktime", "video/webm"])
@pytest.mark.parametrize("body", [HEIC, HEIC_LISTING_ISOM, AVIF, MKV, TRUNCATED_WEBM, FTYP_NO_BRAND, FTYP_ODD_SIZE,
                                  LATER_FTYP, HTML, b"\x00\x00\x00\x20ftyp"])
def test_video_look_alikes_never_match(declared: str, body: bytes) -> None:
    assert mp.sniff_matches(declared, body) is False


def test_an_unknown_major_brand_counts_by_its_compatible_brands() -> None:
    # Players go by the compatible brands: an MP4 from a camera with a brand of its own, listing isom.
    camera = b"\x00\x00\x00\x1cftypCAEP\x00\x00\x00\x01CAEPisommp42"
    assert mp.sniff_matches("video/mp4", camera) and not mp.sniff_matches("video/quicktime", camera)
    # A QuickTime major brand that lists isom is still QuickTime, not MP4.
    assert not mp.sniff_matches("video/mp4", b"\x00\x00\x00\x18ftypqt  \x00\x00\x00\x00qt  isom")


@pytest.mark.parametrize(("kind", "content_type"), [("mp4", "video/mp4"), ("mov", "video/quicktime"),
                                                     ("webm", "video/webm")])
def test_real_videos_match_their_own_type_only(kind: str, content_type: str) -> None:
    from tests.video_fixtures import make_video

    head = make_video(kind, seconds=0.5, noise=False)[: mp.SNIFF_BYTES]
    assert [t for t in mp.VIDEO_TYPES if mp.sniff_matches(t, head)] == [content_type]
    assert not any(mp.sniff_matches(t, head) for t in (*mp.IMAGE_TYPES, "application/pdf", "application/json"))


# HEIC/HEIF by their ftyp brands: HEIC needs an HEVC brand; HEIF takes any HEIF brand but AVIF's; videos are neither.
HEIF_MIF1_ONLY = b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1miaf"  # HEIF, pictures not HEVC (e.g. JPEG-coded)
HEIC_MAJOR_HEVC = b"\x00\x00\x00\x18ftyphevc\x00\x00\x00\x00mif1hevc"  # an HEIF image sequence (burst)


@pytest.mark.parametrize(("body", "heic", "heif"), [
    (HEIC, True, True), (HEIC_LISTING_ISOM, True, True), (HEIC_MAJOR_HEVC, True, True),
    (HEIF_MIF1_ONLY, False, True), (AVIF, False, False), (MP4, False, False), (MOV, False, False),
    (JPEG, False, False), (FTYP_NO_BRAND, False, False),
    (b"\x00\x00\x00\x13ftypheic\x00\x00\x00\x00heic", False, False),
    (b"\x00\x00\x00\x08free" + HEIC, False, False),
])
def test_heic_and_heif_are_told_by_their_ftyp_brands(body: bytes, heic: bool, heif: bool) -> None:
    assert mp.sniff_matches("image/heic", body) is heic
    assert mp.sniff_matches("image/heif", body) is heif


def test_real_heic_files_match_and_are_images_for_every_photo_purpose() -> None:
    import io

    import pillow_heif
    from PIL import Image

    pillow_heif.register_heif_opener()
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 200, 30)).save(out, "HEIF")
    head = out.getvalue()[: mp.SNIFF_BYTES]
    assert mp.sniff_matches("image/heic", head) and mp.sniff_matches("image/heif", head)
    assert not any(mp.sniff_matches(t, head) for t in mp.VIDEO_TYPES)
    default = load_settings({})
    for purpose in (MediaPurpose.AVATAR, MediaPurpose.COMPLETION_PHOTO, MediaPurpose.DOCUMENT_FILE,
                    MediaPurpose.RESIDENCE_PHOTO):
        assert {"image/heic", "image/heif"} <= set(mp.allowed_types_for(purpose, default))
    assert mp.make_object_key(MediaPurpose.AVATAR, None, uuid.uuid4(), "image/heic").endswith(".heic")
