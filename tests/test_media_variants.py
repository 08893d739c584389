"""Image variants: the job finalizeUpload sends makes THUMB and PREVIEW WebP renditions, the displayed size and
a BlurHash; the gateway serves them under the media's rules, and every deleter removes them with the media.

Both storage backends (the local directory and the signature-checking S3 server), PostgreSQL and SQLite.
The job is run the way a worker runs it (its function, on the app's storage), after finalize has answered.
"""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

import blurhash
import httpx
import pytest
from PIL import Image

from honeydue import models
from honeydue.clock import utc_now
from honeydue.media_variants import job
from honeydue.media_variants.keys import object_keys, variant_key, variant_keys
from honeydue.models import MediaVariantKind, VariantsStatus
from honeydue.services import services_of
from honeydue.signing import sign_media_url
from honeydue.storage import ObjectNotFound, StorageUnavailable
from honeydue.tokens import issue_token
from tests.conftest import GraphQLClient
from tests.test_uploads import FINALIZE, REQUEST, put
from workers import reconcile

_PLACEHOLDER_HASH = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0$placeholderplaceholderplaceholder"


def jpeg(width: int = 2000, height: int = 1000, **save: object) -> bytes:
    image = Image.new("RGB", (width, height), (180, 120, 60))
    for x in range(0, width, 50):  # some structure, so the encoder has work and the hash is not flat
        image.paste((20, 90, 200), (x, 0, x + 25, height // 2))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85, **save)
    return out.getvalue()


@pytest.fixture
def services(app_client: tuple[GraphQLClient, object]) -> object:
    return services_of(app_client[1])  # type: ignore[arg-type]


async def register() -> tuple[str, models.User]:
    user = await models.User.create(email=f"v-{uuid.uuid4().hex[:8]}@example.com", password_hash=_PLACEHOLDER_HASH,
                                    display_name="V")
    return await issue_token(user, 1), user


async def upload(gql: GraphQLClient, token: str, body: bytes, content_type: str = "image/jpeg",
                 filename: str = "garden.jpg") -> dict:
    variables = {"input": {"purpose": "AVATAR", "filename": filename, "contentType": content_type,
                           "size": len(body)}}
    requested = (await gql.execute(REQUEST, variables, token=token))["data"]["requestUpload"]
    assert requested["userErrors"] == [], requested
    assert (await put(gql, requested["upload"], body)).status_code == 200
    finalized = await gql.execute(FINALIZE, {"id": requested["media"]["id"]}, token=token)
    media = finalized["data"]["finalizeUpload"]["media"]
    assert media["status"] == "READY", finalized
    return media


async def stored(storage: object, key: str) -> bool:
    try:
        await storage.head(key)  # type: ignore[attr-defined]
    except ObjectNotFound:
        return False
    return True


def signed(services: object, key: str) -> str:
    return sign_media_url(services.signing_keys, "http://testserver", key, 3600)  # type: ignore[attr-defined]


async def test_finalize_sends_the_job_which_makes_thumb_preview_size_and_placeholder(
        gql: GraphQLClient, services: object) -> None:
    token, _ = await register()
    media = await upload(gql, token, jpeg(2000, 1000))
    row = await models.Media.get(id=media["id"])
    # finalizeUpload answered before any variant exists; clients fall back to the original meanwhile.
    assert row.variants_status == VariantsStatus.PENDING and row.width is None
    assert not await models.MediaVariant.exists(media_id=row.id)

    assert await job.make_media_variants(media["id"], services.storage) == VariantsStatus.READY  # type: ignore[attr-defined]
    row = await models.Media.get(id=media["id"])
    assert (row.width, row.height, row.variants_status, row.variants_attempts) == (2000, 1000, VariantsStatus.READY, 1)
    assert blurhash.is_valid_blurhash(row.placeholder)
    variants = {v.kind: v for v in await models.MediaVariant.filter(media_id=row.id)}
    assert set(variants) == {MediaVariantKind.THUMB, MediaVariantKind.PREVIEW}
    for kind, size in ((MediaVariantKind.THUMB, (320, 160)), (MediaVariantKind.PREVIEW, (1600, 800))):
        variant = variants[kind]
        assert variant.key == variant_key(row.key, kind) and variant.content_type == "image/webp"
        assert (variant.width, variant.height) == size
        served = await gql.http.get(signed(services, variant.key))
        assert served.status_code == 200, served.text
        assert served.headers["content-type"] == "image/webp"
        assert served.headers["etag"].strip('"') == variant.etag
        assert int(served.headers["content-length"]) == variant.size
        with Image.open(io.BytesIO(served.content)) as image:
            assert image.format == "WEBP" and image.size == size
        ranged = await gql.http.get(signed(services, variant.key), headers={"Range": "bytes=0-9"})
        assert ranged.status_code == 206 and ranged.content == served.content[:10]

    # Same signing rules as the original: a link signed for another key, or none, is refused.
    thumb = variants[MediaVariantKind.THUMB].key
    forged = signed(services, row.key).replace(f"/media/{row.key}", f"/media/{thumb}")
    assert (await gql.http.get(forged)).status_code == 403
    assert (await gql.http.get(f"/media/{thumb}")).status_code == 403
    # By bearer: the owner reads it; another user may not.
    assert (await gql.http.get(f"/media/{thumb}", headers={"Authorization": f"Bearer {token}"})).status_code == 200
    stranger, _ = await register()
    assert (await gql.http.get(f"/media/{thumb}",
                               headers={"Authorization": f"Bearer {stranger}"})).status_code == 403

    # A second run (a redelivered message) changes nothing.
    assert await job.make_media_variants(media["id"], services.storage) == VariantsStatus.READY  # type: ignore[attr-defined]
    assert await models.MediaVariant.filter(media_id=row.id).count() == 2


async def test_small_images_are_not_upscaled_and_orientation_is_applied(gql: GraphQLClient, services: object) -> None:
    token, _ = await register()
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    media = await upload(gql, token, jpeg(200, 100, exif=exif.tobytes()))
    await job.make_media_variants(media["id"], services.storage)  # type: ignore[attr-defined]
    row = await models.Media.get(id=media["id"])
    assert (row.width, row.height) == (100, 200)
    sizes = {v.kind: (v.width, v.height) for v in await models.MediaVariant.filter(media_id=row.id)}
    assert sizes == {MediaVariantKind.THUMB: (100, 200), MediaVariantKind.PREVIEW: (100, 200)}


async def test_pdf_gets_no_variants_and_unreadable_image_fails_without_retry(
        gql: GraphQLClient, services: object) -> None:
    token, user = await register()
    # Passes finalize's magic-number check, but is no image anyone can decode.
    junk = b"\x89PNG\r\n\x1a\n" + b"\x00" * 400
    media = await upload(gql, token, junk, content_type="image/png", filename="junk.png")
    assert await job.make_media_variants(media["id"], services.storage) == VariantsStatus.FAILED  # type: ignore[attr-defined]
    row = await models.Media.get(id=media["id"])
    assert row.variants_status == VariantsStatus.FAILED and row.variants_attempts == 1
    assert row.variants_error and "image" in row.variants_error
    assert row.status == models.MediaStatus.READY  # the original is still served
    assert (await gql.http.get(signed(services, row.key))).status_code == 200


async def test_a_failing_store_is_retried_then_recorded(gql: GraphQLClient, services: object,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    token, _ = await register()
    media = await upload(gql, token, jpeg(400, 300))
    storage = services.storage  # type: ignore[attr-defined]

    async def down(key: str, length: int) -> bytes:
        raise StorageUnavailable("the store is down")

    monkeypatch.setattr(storage, "read_prefix", down)
    for attempt in range(1, job.MAX_ATTEMPTS):
        with pytest.raises(StorageUnavailable):  # raised: Dramatiq retries the message with backoff
            await job.make_media_variants(media["id"], storage)
        row = await models.Media.get(id=media["id"])
        assert (row.variants_status, row.variants_attempts) == (VariantsStatus.PENDING, attempt)
        assert row.variants_error and "store is down" in row.variants_error
    assert await job.make_media_variants(media["id"], storage) == VariantsStatus.FAILED  # the last: recorded
    row = await models.Media.get(id=media["id"])
    assert (row.variants_status, row.variants_attempts) == (VariantsStatus.FAILED, job.MAX_ATTEMPTS)

    # A lost message is re-sent by the sweep, once the media has waited long enough.
    monkeypatch.undo()
    other = await upload(gql, token, jpeg(300, 200))
    sent: list[str] = []
    assert await job.sweep_media_variants(utc_now(), sent.append) == []
    assert await job.sweep_media_variants(utc_now() + job.SWEEP_MIN_AGE + timedelta(seconds=1),
                                          sent.append) == [other["id"]]

    # Photos finalized before variants existed (no status) are backfilled by the same sweep; a PDF is not.
    await models.Media.filter(id=other["id"]).update(variants_status=None)
    pdf = await models.Media.create(key=f"x/{uuid.uuid4()}.pdf", purpose=models.MediaPurpose.DOCUMENT_FILE,
                                    filename="a.pdf", content_type="application/pdf", size=10,
                                    status=models.MediaStatus.READY, finalized_at=utc_now())
    later = utc_now() + job.SWEEP_MIN_AGE + timedelta(seconds=1)
    assert await job.sweep_media_variants(later, sent.append) == [other["id"]]
    assert await job.make_media_variants(other["id"], storage) == VariantsStatus.READY
    assert await job.sweep_media_variants(later, sent.append) == []
    assert (await models.Media.get(id=pdf.id)).variants_status is None


async def test_delete_replace_and_reconcile_know_the_variants(gql: GraphQLClient, services: object) -> None:
    storage = services.storage  # type: ignore[attr-defined]
    token, _ = await register()
    first = await upload(gql, token, jpeg(640, 480))
    await job.make_media_variants(first["id"], storage)
    first_key = (await models.Media.get(id=first["id"])).key
    assert all([await stored(storage, k) for k in variant_keys(first_key)])

    report = await reconcile.reconcile_storage(storage, utc_now() + timedelta(days=2))
    assert report.orphans == [] and report.missing == []  # the variants of a READY media belong to it
    thumb = variant_key(first_key, MediaVariantKind.THUMB)
    await storage.delete(thumb)
    report = await reconcile.reconcile_storage(storage, utc_now() + timedelta(days=2))
    assert report.missing == [thumb]  # a variant row whose object is gone

    # A new avatar replaces the old one: its variants go with it.
    second = await upload(gql, token, jpeg(640, 480))
    await job.make_media_variants(second["id"], storage)
    assert not await models.Media.exists(id=first["id"])
    assert not any([await stored(storage, k) for k in object_keys(first_key)])

    second_key = (await models.Media.get(id=second["id"])).key
    deleted = await gql.execute("mutation($id: ID!) { deleteMedia(input: {mediaId: $id, detach: true}) "
                                "{ ok userErrors { code } } }", {"id": second["id"]}, token=token)
    assert deleted["data"]["deleteMedia"]["ok"] is True
    assert not any([await stored(storage, k) for k in object_keys(second_key)])
    assert not await models.MediaVariant.exists(media_id=second["id"])

    # Variants whose media row is gone are orphans, and reconcile --fix removes them.
    third = await upload(gql, token, jpeg(640, 480))
    await job.make_media_variants(third["id"], storage)
    third_key = (await models.Media.get(id=third["id"])).key
    await models.User.filter(avatar_id=third["id"]).update(avatar_id=None)
    await models.Media.filter(id=third["id"]).delete()
    report = await reconcile.reconcile_storage(storage, utc_now() + timedelta(days=2), fix=True)
    assert sorted(report.orphans) == sorted([third_key, *variant_keys(third_key)])
    assert not any([await stored(storage, k) for k in variant_keys(third_key)])


async def test_a_media_deleted_while_rendering_leaves_no_variant_behind(gql: GraphQLClient, services: object,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    storage = services.storage  # type: ignore[attr-defined]
    token, _ = await register()
    media = await upload(gql, token, jpeg(640, 480))
    key = (await models.Media.get(id=media["id"])).key
    real_store = job._store

    async def delete_meanwhile(storage: object, row: models.Media, rendered: object) -> list:
        rows = await real_store(storage, row, rendered)  # type: ignore[arg-type]
        await models.User.filter(avatar_id=row.id).update(avatar_id=None)
        await models.Media.filter(id=row.id).delete()
        return rows

    monkeypatch.setattr(job, "_store", delete_meanwhile)
    assert await job.make_media_variants(media["id"], storage) is None
    assert not any([await stored(storage, k) for k in variant_keys(key)])


def test_images_and_videos_want_variants() -> None:
    """Dispatch by type (a video's THUMB: tests/test_video_uploads.py)."""
    assert job.wants_variants("video/mp4") and job.wants_variants("image/heic")
    assert not job.wants_variants("application/pdf")


async def test_gateway_refuses_a_variant_of_a_media_not_ready(gql: GraphQLClient, services: object) -> None:
    token, _ = await register()
    media = await upload(gql, token, jpeg(400, 300))
    await job.make_media_variants(media["id"], services.storage)  # type: ignore[attr-defined]
    row = await models.Media.get(id=media["id"])
    thumb = variant_key(row.key, MediaVariantKind.THUMB)
    await models.Media.filter(id=row.id).update(status=models.MediaStatus.REJECTED)
    async with httpx.AsyncClient(transport=gql.http._transport, base_url="http://testserver") as http:
        assert (await http.get(signed(services, thumb))).status_code == 404


VARIANTS_QUERY = """query($id: ID!) { media(id: $id) { width height placeholder
  thumbnail { kind width height contentType url(expiresIn: 600) }
  variants { kind width height contentType url } } }"""


async def test_graphql_shows_thumbnail_and_variants_once_ready(gql: GraphQLClient, services: object) -> None:
    token, _ = await register()
    media = await upload(gql, token, jpeg(1000, 2000))
    before = (await gql.execute(VARIANTS_QUERY, {"id": media["id"]}, token=token))["data"]["media"]
    assert before == {"width": None, "height": None, "placeholder": None, "thumbnail": None, "variants": []}

    await job.make_media_variants(media["id"], services.storage)  # type: ignore[attr-defined]
    after = (await gql.execute(VARIANTS_QUERY, {"id": media["id"]}, token=token))["data"]["media"]
    assert (after["width"], after["height"]) == (1000, 2000) and blurhash.is_valid_blurhash(after["placeholder"])
    assert [(v["kind"], v["width"], v["height"], v["contentType"]) for v in after["variants"]] == [
        ("THUMB", 160, 320, "image/webp"), ("PREVIEW", 800, 1600, "image/webp")]
    thumb = after["thumbnail"]
    assert (thumb["kind"], thumb["width"], thumb["height"]) == ("THUMB", 160, 320)
    for url in (thumb["url"], *(v["url"] for v in after["variants"])):
        served = await gql.http.get(url)
        assert served.status_code == 200 and served.headers["content-type"] == "image/webp"
        with Image.open(io.BytesIO(served.content)) as image:
            assert image.format == "WEBP"


def heic(width: int, height: int) -> bytes:
    """A real HEIC (HEVC-coded HEIF, as an iPhone writes), made with pillow-heif."""
    import pillow_heif

    pillow_heif.register_heif_opener()
    image = Image.new("RGB", (width, height), (30, 140, 90))
    image.paste((240, 240, 20), (0, 0, width // 3, height))
    out = io.BytesIO()
    image.save(out, "HEIF", quality=80)
    return out.getvalue()


@pytest.mark.parametrize("content_type", ["image/heic", "image/heif"])
async def test_heic_is_accepted_kept_and_shown_through_webp_variants(
        gql: GraphQLClient, services: object, content_type: str) -> None:
    token, _ = await register()
    body = heic(1200, 900)
    media = await upload(gql, token, body, content_type=content_type, filename="IMG_0001.HEIC")
    row = await models.Media.get(id=media["id"])
    assert row.key.endswith("." + content_type.split("/")[1])
    original = await gql.http.get(media["url"])
    assert original.status_code == 200 and original.headers["content-type"] == content_type
    assert original.content[4:12] == b"ftypheic"  # the HEIC itself, not a conversion

    assert await job.make_media_variants(media["id"], services.storage) == VariantsStatus.READY  # type: ignore[attr-defined]
    shown = (await gql.execute(VARIANTS_QUERY, {"id": media["id"]}, token=token))["data"]["media"]
    assert (shown["width"], shown["height"]) == (1200, 900)
    assert [(v["kind"], v["width"], v["height"]) for v in shown["variants"]] == [
        ("THUMB", 320, 240), ("PREVIEW", 1200, 900)]
    served = await gql.http.get(shown["thumbnail"]["url"])
    with Image.open(io.BytesIO(served.content)) as image:  # WebP: every current browser and app decodes it
        assert image.format == "WEBP" and image.size == (320, 240)


async def test_a_jpeg_declared_heic_is_rejected(gql: GraphQLClient) -> None:
    token, _ = await register()
    body = jpeg(100, 100)
    variables = {"input": {"purpose": "AVATAR", "filename": "x.heic", "contentType": "image/heic", "size": len(body)}}
    requested = (await gql.execute(REQUEST, variables, token=token))["data"]["requestUpload"]
    assert (await put(gql, requested["upload"], body)).status_code == 200
    finalized = (await gql.execute(FINALIZE, {"id": requested["media"]["id"]}, token=token))["data"]
    assert finalized["finalizeUpload"]["media"]["status"] == "REJECTED"
    assert "image/heic" in finalized["finalizeUpload"]["media"]["rejectReason"]


async def test_a_video_gets_a_poster_frame_thumb_and_nothing_else(services: object) -> None:
    """The seam: ``video/*`` goes to ``media_variants.video.poster_frame``; the THUMB is made from that picture."""
    from tests.video_fixtures import make_video

    storage = services.storage  # type: ignore[attr-defined]
    _, user = await register()
    clip = make_video("mp4", seconds=2, width=640, height=360)
    key = f"users/{user.id}/profile/{uuid.uuid4()}.mp4"
    await storage.put_bytes(key, clip, "video/mp4")
    media = await models.Media.create(key=key, owner=user, purpose=models.MediaPurpose.DOCUMENT_FILE,
                                      filename="clip.mp4", content_type="video/mp4", size=len(clip),
                                      status=models.MediaStatus.READY, finalized_at=utc_now(),
                                      variants_status=VariantsStatus.PENDING)
    assert await job.make_media_variants(str(media.id), storage) == VariantsStatus.READY
    await media.refresh_from_db()
    assert (media.width, media.height) == (640, 360) and blurhash.is_valid_blurhash(media.placeholder)
    (thumb,) = await models.MediaVariant.filter(media_id=media.id)
    assert (thumb.kind, thumb.width, thumb.height) == (MediaVariantKind.THUMB, 320, 180)
    assert await stored(storage, variant_key(key, MediaVariantKind.THUMB))

    junk = await models.Media.create(key=f"users/{user.id}/profile/{uuid.uuid4()}.mp4", owner=user,
                                     purpose=models.MediaPurpose.DOCUMENT_FILE, filename="x.mp4",
                                     content_type="video/mp4", size=64, status=models.MediaStatus.READY,
                                     finalized_at=utc_now(), variants_status=VariantsStatus.PENDING)
    await storage.put_bytes(junk.key, b"\x00\x00\x00\x20ftypisom" + b"\x00" * 52, "video/mp4")
    assert await job.make_media_variants(str(junk.id), storage) == VariantsStatus.FAILED  # no retry helps
