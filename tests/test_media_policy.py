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
    assert mp.allowed_types_for(MediaPurpose.COMPLETION_PHOTO, default) == mp.IMAGE_TYPES
    assert mp.allowed_types_for(MediaPurpose.RESIDENCE_PHOTO, default) == mp.IMAGE_TYPES
    assert mp.allowed_types_for("DOCUMENT_FILE", default) == ("application/pdf", *mp.IMAGE_TYPES)
    narrow = load_settings({"STORAGE_ALLOWED_TYPES": "application/pdf, IMAGE/JPEG,text/html,image/svg+xml"})
    assert mp.allowed_types_for(MediaPurpose.AVATAR, narrow) == ("image/jpeg",)
    assert mp.allowed_types_for(MediaPurpose.DOCUMENT_FILE, narrow) == ("application/pdf", "image/jpeg")
    assert "text/html" not in mp.INLINE_SAFE_TYPES and "image/svg+xml" not in mp.INLINE_SAFE_TYPES


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
SAMPLES = {"image/jpeg": JPEG, "image/png": PNG, "image/gif": GIF, "image/webp": WEBP, "application/pdf": PDF}


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
