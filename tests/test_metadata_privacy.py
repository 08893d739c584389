"""Metadata privacy: a photo's GPS coordinates and device details never reach anyone holding a link.

Photos carrying GPS, camera make/model/serial, XMP and comments are uploaded through the real lifecycle (the local
backend's signed PUT through the gateway; the signature-checking S3 server over HTTP), then read back through the
gateway with two metadata readers (exifread, and Pillow's own EXIF parser) and by raw bytes: neither the served
original nor any variant carries coordinates or the device, the orientation survives, and the media row's size and
ETag describe the bytes served.
"""

from __future__ import annotations

import io
from pathlib import Path

import exifread
import pillow_heif
import pytest
from PIL import Image, ImageChops

from honeydue import models
from honeydue.media_variants import job
from honeydue.services import services_of
from honeydue.settings import Settings
from tests.conftest import GraphQLClient, make_settings
from tests.plugins.app_on_backends import running_app
from tests.plugins.s3 import STORAGE_BACKENDS
from tests.test_media_variants import register, upload

pillow_heif.register_heif_opener()

LATITUDE = (52.0, 31.0, 12.0)
XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
       b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="52,31.2N" '
       b'exif:GPSLongitude="13,24.6E"/></rdf:RDF></x:xmpmeta>')
DEVICE = "iPhone 15 Pro"
SERIAL = "F17XK2QHPLJX"


def camera_exif(orientation: int = 1) -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "Apple"  # Make
    exif[0x0110] = DEVICE  # Model
    exif[0x0131] = "17.4.1"  # Software
    if orientation != 1:
        exif[0x0112] = orientation
    exif.get_ifd(0x8769)[0xA431] = SERIAL  # BodySerialNumber
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: LATITUDE, 3: "E", 4: (13.0, 24.0, 36.0), 5: 0, 6: 34.0})
    return exif.tobytes()


def photo(fmt: str, orientation: int = 1, size: tuple[int, int] = (600, 400)) -> bytes:
    image = Image.new("RGB", size, (90, 140, 200))
    image.paste((250, 200, 40), (0, 0, size[0] // 4, size[1] // 2))  # a corner that shows the orientation
    out = io.BytesIO()
    extra: dict[str, object] = {"exif": camera_exif(orientation)}
    if fmt in ("JPEG", "PNG", "WEBP"):
        extra["xmp"] = XMP
    if fmt == "JPEG":
        extra["comment"] = b"taken at 12 Garden Lane"
    if fmt == "PNG":
        from PIL import PngImagePlugin

        info = PngImagePlugin.PngInfo()
        info.add_text("Location", "12 Garden Lane")
        extra["pnginfo"] = info
    image.save(out, fmt, **extra)
    return out.getvalue()


def assert_no_location_or_device(data: bytes, orientation: int | None) -> None:
    """What a metadata reader finds: no GPS, no make/model/serial/software, no XMP; only the orientation."""
    with Image.open(io.BytesIO(data)) as image:
        exif = image.getexif()
        assert not exif.get_ifd(0x8825), "GPS IFD still present"
        assert not exif.get_ifd(0x8769), "EXIF sub-IFD (serial, dates) still present"
        assert dict(exif) == ({0x0112: orientation} if orientation else {})
        assert not image.info.get("xmp") and "comment" not in image.info and "Location" not in image.info
    if not data[4:12].startswith(b"ftyp"):  # exifread's HEIF reader trips on pillow-heif's layout
        tags = exifread.process_file(io.BytesIO(data), details=False)
        assert not [t for t in tags if t.startswith("GPS")], tags
        assert set(tags) <= {"Image Orientation"}, tags
    for needle in (DEVICE.encode(), SERIAL.encode(), b"Apple", b"52,31", b"Garden Lane", b"xmpmeta"):
        assert needle not in data, needle


@pytest.fixture
def services(app_client: tuple[GraphQLClient, object]) -> object:
    return services_of(app_client[1])  # type: ignore[arg-type]


VARIANT_URLS = "query($id: ID!) { media(id: $id) { size variants { kind url } } }"


@pytest.mark.parametrize(("fmt", "content_type"), [("JPEG", "image/jpeg"), ("PNG", "image/png"),
                                                   ("WEBP", "image/webp"), ("HEIF", "image/heic")])
async def test_a_photo_with_gps_is_served_without_it_original_and_variants(
        gql: GraphQLClient, services: object, fmt: str, content_type: str) -> None:
    token, _ = await register()
    body = photo(fmt, orientation=6)
    with Image.open(io.BytesIO(body)) as uploaded_image:  # the test photo really carries what must go
        assert uploaded_image.getexif().get_ifd(0x8825)[2] == LATITUDE
    media = await upload(gql, token, body, content_type=content_type, filename=f"garden.{fmt.lower()}")

    served = await gql.http.get(media["url"])
    assert served.status_code == 200
    # JPEG, PNG and WebP keep the orientation as their only tag; HEIC keeps it in its irot property.
    assert_no_location_or_device(served.content, None if fmt == "HEIF" else 6)
    row = await models.Media.get(id=media["id"])
    head = await services.storage.head(row.key)  # type: ignore[attr-defined]
    # The row describes the bytes served, not those uploaded.
    assert row.size == len(served.content) == head.size == int(served.headers["content-length"])
    assert row.size < len(body) if fmt != "HEIF" else row.size == len(body)  # HEIC: items blanked in place
    assert row.etag == head.etag == served.headers["etag"].strip('"') and media["size"] == row.size
    with Image.open(io.BytesIO(served.content)) as image:
        if fmt in ("JPEG", "HEIF"):  # the pixels were not re-encoded: they decode exactly as the upload's do
            with Image.open(io.BytesIO(body)) as original:
                assert ImageChops.difference(image.convert("RGB"), original.convert("RGB")).getbbox() is None
        displayed = Image.Image.transpose(image, Image.Transpose.ROTATE_270) if fmt != "HEIF" else image
        assert displayed.size == (400, 600)

    assert await job.make_media_variants(media["id"], services.storage) == models.VariantsStatus.READY  # type: ignore[attr-defined]
    variants = (await gql.execute(VARIANT_URLS, {"id": media["id"]}, token=token))["data"]["media"]["variants"]
    assert [v["kind"] for v in variants] == ["THUMB", "PREVIEW"]
    for variant in variants:
        data = (await gql.http.get(variant["url"])).content
        assert_no_location_or_device(data, None)  # variants carry no metadata at all, orientation applied
        with Image.open(io.BytesIO(data)) as image:
            assert image.height > image.width  # upright: 400 x 600 as displayed


async def test_a_phone_jpeg_with_a_second_picture_after_the_first_loses_it(gql: GraphQLClient) -> None:
    """Phones append a second picture (depth, HDR gain map) with EXIF of its own after the first one's end."""
    token, _ = await register()
    body = photo("JPEG") + photo("JPEG", size=(60, 40))
    media = await upload(gql, token, body, content_type="image/jpeg")
    served = (await gql.http.get(media["url"])).content
    assert served.endswith(b"\xff\xd9") and served.count(b"\xff\xd8\xff") == 1
    assert_no_location_or_device(served, None)


async def test_a_photo_without_metadata_is_published_byte_for_byte(gql: GraphQLClient) -> None:
    token, _ = await register()
    image = Image.new("RGB", (200, 100), (1, 2, 3))
    out = io.BytesIO()
    image.save(out, "JPEG")
    media = await upload(gql, token, out.getvalue(), content_type="image/jpeg")
    assert (await gql.http.get(media["url"])).content == out.getvalue()


@pytest.mark.parametrize("storage_backend", STORAGE_BACKENDS)
async def test_strip_image_metadata_false_serves_originals_as_uploaded(
        request: pytest.FixtureRequest, settings: Settings, tmp_path: Path, storage_backend: str) -> None:
    env = {"DATABASE_URL": settings.database_url, "STRIP_IMAGE_METADATA": "false"}
    if storage_backend == "s3":
        env.update(request.getfixturevalue("s3_env"))
    async with running_app(make_settings(tmp_path / "off", **env)) as (gql, _):
        token, _ = await register()
        body = photo("JPEG", orientation=6)
        media = await upload(gql, token, body, content_type="image/jpeg")
        assert (await gql.http.get(media["url"])).content == body
        assert media["size"] == len(body)


def test_heif_metadata_items_are_blanked_in_place_and_an_unfollowable_file_is_re_encoded() -> None:
    from honeydue.media_variants import heif_boxes
    from honeydue.media_variants.strip import strip_metadata

    body = photo("HEIF", orientation=6)
    blanked = heif_boxes.blank_metadata(body)
    assert blanked is not None and len(blanked) == len(body)
    assert heif_boxes.blank_metadata(blanked) is None  # the items stay, empty: nothing more to remove
    assert_no_location_or_device(blanked, None)
    plain = io.BytesIO()
    Image.new("RGB", (64, 48)).save(plain, "HEIF")
    assert strip_metadata("image/heic", plain.getvalue()) is None  # nothing to remove: published as uploaded
    with pytest.raises(heif_boxes.HeifStructureError):
        heif_boxes.blank_metadata(body[:200])


async def test_a_re_put_after_the_metadata_check_is_not_published(gql: GraphQLClient, services: object) -> None:
    """A clean image is copied as usual; the copy must be the very bytes found clean, or the upload is refused."""
    from tests.test_uploads import FINALIZE, REQUEST, put

    storage = services.storage  # type: ignore[attr-defined]
    token, _ = await register()
    out = io.BytesIO()
    Image.new("RGB", (200, 100), (1, 2, 3)).save(out, "JPEG")
    clean = out.getvalue()
    swapped = clean[:-3] + bytes([clean[-3] ^ 0xFF]) + clean[-2:]  # same size and magic, other bytes
    variables = {"input": {"purpose": "AVATAR", "filename": "a.jpg", "contentType": "image/jpeg",
                           "size": len(clean)}}
    requested = (await gql.execute(REQUEST, variables, token=token))["data"]["requestUpload"]
    assert (await put(gql, requested["upload"], clean)).status_code == 200
    real_copy = storage.copy

    async def re_put_then_copy(src: str, dst: str) -> None:
        await storage.put_bytes(src, swapped, "image/jpeg")
        await real_copy(src, dst)

    storage.copy = re_put_then_copy
    try:
        finalized = await gql.execute(FINALIZE, {"id": requested["media"]["id"]}, token=token)
    finally:
        del storage.copy
    media = finalized["data"]["finalizeUpload"]["media"]
    assert media["status"] == "REJECTED" and "changed while it was checked" in media["rejectReason"]


@pytest.mark.parametrize("options", [{"progressive": True}, {"restart_marker_blocks": 4},
                                     {"progressive": True, "restart_marker_rows": 1}, {"mode": "CMYK"},
                                     {"icc": True}])
def test_jpeg_variants_keep_their_pictures_and_lose_their_metadata(options: dict) -> None:
    """Progressive scans, restart markers, CMYK (Adobe APP14) and ICC profiles survive; metadata does not."""
    from PIL import ImageCms

    from honeydue.media_variants.strip import strip_metadata

    image = Image.new(options.pop("mode", "RGB"), (300, 200))
    image.paste((200, 30, 60) if image.mode == "RGB" else (10, 200, 30, 5), (0, 0, 150, 100))
    extra: dict[str, object] = {"exif": camera_exif(3), "xmp": XMP, "comment": b"12 Garden Lane", **options}
    if extra.pop("icc", False):
        extra["icc_profile"] = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, **extra)
    body = out.getvalue()
    cleaned = strip_metadata("image/jpeg", body)
    assert cleaned is not None
    assert_no_location_or_device(cleaned, 3)
    with Image.open(io.BytesIO(cleaned)) as after, Image.open(io.BytesIO(body)) as before:
        assert after.mode == before.mode and after.info.get("icc_profile") == before.info.get("icc_profile")
        assert ImageChops.difference(after, before).getbbox() is None
    assert strip_metadata("image/jpeg", cleaned) is None  # nothing left to remove


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "HEIF"])
def test_removing_metadata_twice_changes_nothing_more(fmt: str) -> None:
    from honeydue.media_variants.strip import strip_metadata

    content_type = "image/heic" if fmt == "HEIF" else f"image/{fmt.lower()}"
    once = strip_metadata(content_type, photo(fmt, orientation=6))
    assert once is not None
    assert strip_metadata(content_type, once) is None  # published as it is (HEIF: its items are blank already)
