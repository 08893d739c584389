"""Videos as completion attachments and documents, on the local backend and on the S3 test server.

Real clips made with PyAV (tests/video_fixtures.py) go through requestUpload -> PUT -> finalizeUpload, get
attached with completeTask and createDocument, and come back from the gateway byte for byte, whole and in
ranges. A video is refused where only stills belong, over its own size limit, and when its bytes are not the
declared container. The variant job (run as a worker runs it, after finalize answered) gives each video a THUMB
made from its poster frame.
"""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import av
import blurhash
import httpx
import pytest
from PIL import Image

from honeydue import models
from honeydue.media_variants import job
from honeydue.models import MediaVariantKind, VariantsStatus
from honeydue.settings import Settings
from tests.conftest import make_settings
from tests.plugins.app_on_backends import running_app
from tests.test_uploads import (  # noqa: F401  (storage is a fixture)
    FINALIZE,
    PNG,
    GraphQLClient,
    object_exists,
    ok,
    put,
    register,
    request,
    residence_with_task,
    storage,
    uploaded,
)
from tests.video_fixtures import CONTENT_TYPES, level_at, make_video

COMPLETE = """mutation($i: CompleteTaskInput!) { completeTask(input: $i) {
  completion { photos { id contentType url } } userErrors { field code } } }"""
CREATE_DOCUMENT = """mutation($i: CreateDocumentInput!) { createDocument(input: $i) {
  document { files { id contentType url } } userErrors { field code } } }"""


@pytest.fixture
def fixture_request(request: pytest.FixtureRequest) -> pytest.FixtureRequest:
    """pytest's ``request`` under another name: this module's ``request`` is the upload helper."""
    return request


def codes(payload: dict) -> list[tuple[str, list[str] | None]]:
    return [(e["code"], e["field"]) for e in payload["userErrors"]]


async def fetch(client: GraphQLClient, url: str, **headers: str) -> httpx.Response:
    return await client.http.get(url, headers=headers)


async def test_videos_attach_to_completions_and_documents_and_are_served_as_uploaded(
        gql: GraphQLClient, storage: object) -> None:  # noqa: F811
    owner, _ = await register(gql)
    rid, task_id = await residence_with_task(gql, owner)
    clips = {kind: make_video(kind, seconds=1.0) for kind in ("mp4", "mov", "webm")}

    photos = [await uploaded(gql, owner, body=clips[kind], purpose="COMPLETION_PHOTO", target=task_id,
                             content_type=CONTENT_TYPES[kind], filename=f"leak.{kind}") for kind in clips]
    document = await uploaded(gql, owner, body=clips["webm"], purpose="DOCUMENT_FILE", target=rid,
                              content_type="video/webm", filename="walkthrough.webm")
    assert [m["status"] for m in (*photos, document)] == ["READY"] * 4
    for media, kind in zip((*photos, document), (*clips, "webm"), strict=True):
        row = await models.Media.get(id=media["id"])
        assert row.key.endswith({"mp4": ".mp4", "mov": ".mov", "webm": ".webm"}[kind])
        assert row.size == len(clips[kind]) and row.content_type == CONTENT_TYPES[kind]

    done = (await ok(gql, COMPLETE, {"i": {"taskId": task_id, "photoIds": [p["id"] for p in photos]}},
                     owner))["completion"]["photos"]
    assert sorted(p["contentType"] for p in done) == ["video/mp4", "video/quicktime", "video/webm"]
    doc = (await ok(gql, CREATE_DOCUMENT, {"i": {"residenceId": rid, "title": "Walk-through",
                                                 "fileIds": [document["id"]]}}, owner))["document"]
    assert [f["contentType"] for f in doc["files"]] == ["video/webm"]

    for served in [*done, *doc["files"]]:
        kind = {"video/mp4": "mp4", "video/quicktime": "mov", "video/webm": "webm"}[served["contentType"]]
        body = clips[kind]
        whole = await fetch(gql, served["url"])
        assert whole.status_code == 200 and whole.content == body  # byte for byte, never re-encoded
        assert whole.headers["content-type"] == served["contentType"]
        assert whole.headers["content-disposition"].startswith("inline;")
        assert whole.headers["accept-ranges"] == "bytes"
        middle = len(body) // 2
        part = await fetch(gql, served["url"], Range=f"bytes={middle}-{middle + 999}")
        assert part.status_code == 206 and part.content == body[middle:middle + 1000]
        assert part.headers["content-range"] == f"bytes {middle}-{middle + 999}/{len(body)}"
        tail = await fetch(gql, served["url"], Range="bytes=-100")
        assert tail.status_code == 206 and tail.content == body[-100:]


async def test_videos_only_where_they_belong_and_checked_by_their_bytes(
        gql: GraphQLClient, storage: object) -> None:  # noqa: F811
    owner, _ = await register(gql)
    rid, task_id = await residence_with_task(gql, owner)
    mp4 = make_video("mp4", seconds=0.5, noise=False)
    for purpose, target in (("AVATAR", None), ("RESIDENCE_PHOTO", rid)):
        refused = await request(gql, owner, data=mp4, purpose=purpose, target=target, content_type="video/mp4")
        assert codes(refused) == [("TYPE_NOT_ALLOWED", ["contentType"])] and refused["media"] is None

    # A PNG, a WebM and a QuickTime clip declared video/mp4 go through the real PUT and are rejected at finalize.
    for body in (PNG, make_video("webm", seconds=0.5, noise=False), make_video("mov", seconds=0.5, noise=False)):
        disguised = await request(gql, owner, data=body, purpose="COMPLETION_PHOTO", target=task_id,
                                  content_type="video/mp4", filename="clip.mp4")
        assert (await put(gql, disguised["upload"], body)).status_code == 200
        rejected = (await ok(gql, FINALIZE, {"id": disguised["media"]["id"]}, owner))["media"]
        assert rejected["status"] == "REJECTED" and "video/mp4" in rejected["rejectReason"]
        assert not await object_exists(storage, disguised["media"]["id"])


async def test_videos_have_their_own_size_limit(backend: Settings, tmp_path: Path,  # noqa: F811
                                               fixture_request: pytest.FixtureRequest) -> None:
    clip = make_video("mp4", seconds=0.5, noise=False)
    env = {"DATABASE_URL": backend.database_url, "STORAGE_MAX_FILE_SIZE": str(len(PNG)),
           "STORAGE_MAX_VIDEO_SIZE": str(len(clip))}
    if backend.uses_s3:
        env.update(fixture_request.getfixturevalue("s3_env"))
    limited = make_settings(tmp_path / "limits", **env)
    async with running_app(limited) as (client, _app):
        owner, _ = await register(client)
        _, task_id = await residence_with_task(client, owner)
        # A video may be larger than STORAGE_MAX_FILE_SIZE, up to STORAGE_MAX_VIDEO_SIZE ...
        assert len(clip) > len(PNG)
        fine = await uploaded(client, owner, body=clip, purpose="COMPLETION_PHOTO", target=task_id,
                              content_type="video/mp4", filename="clip.mp4")
        assert fine["status"] == "READY"
        # ... and not one byte more; an image stays under STORAGE_MAX_FILE_SIZE.
        too_big = await request(client, owner, data=clip + b"\0", purpose="COMPLETION_PHOTO", target=task_id,
                                content_type="video/mp4", filename="clip.mp4")
        assert codes(too_big) == [("FILE_TOO_LARGE", ["size"])]
        assert str(len(clip)) in too_big["userErrors"][0]["message"]
        big_photo = await request(client, owner, data=PNG + b"\0", purpose="COMPLETION_PHOTO", target=task_id)
        assert codes(big_photo) == [("FILE_TOO_LARGE", ["size"])]
        # Uploaded under this limit, then the operator lowers it before the client finalizes.
        pending = await request(client, owner, data=clip, purpose="COMPLETION_PHOTO", target=task_id,
                                content_type="video/mp4", filename="clip.mp4")
        assert (await put(client, pending["upload"], clip)).status_code == 200

    lowered = make_settings(tmp_path / "limits", **{**env, "STORAGE_MAX_VIDEO_SIZE": str(len(clip) - 1)})
    async with running_app(lowered) as (client, _app):
        # Finalize checks the limit again, on the size the store reports: the video is refused there too.
        refused = (await ok(client, FINALIZE, {"id": pending["media"]["id"]}, owner))["media"]
        assert refused["status"] == "REJECTED" and f"larger than {len(clip) - 1} bytes" in refused["rejectReason"]


THUMBNAIL = """query($id: ID!) { media(id: $id) { width height placeholder
  thumbnail { kind width height contentType url } variants { kind } } }"""


def rotated_clip() -> bytes:
    """A landscape MP4 (red left, blue right) flagged like a phone held upright: players turn it clockwise."""
    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt, stream.time_base = 320, 160, "yuv420p", Fraction(1, 10)
        stream.set_display_rotation(-90)
        picture = Image.new("RGB", (320, 160), (255, 0, 0))
        picture.paste((0, 0, 255), (160, 0, 320, 160))
        for i in range(20):
            frame = av.VideoFrame.from_image(picture)
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


@pytest.mark.parametrize("kind", ["mp4", "mov", "webm"])
async def test_an_uploaded_video_gets_a_thumb_of_its_poster_frame(
        gql: GraphQLClient, storage: object, kind: str) -> None:  # noqa: F811
    owner, _ = await register(gql)
    rid, task_id = await residence_with_task(gql, owner)
    frames = 30
    clip = make_video(kind, seconds=3, fps=10, width=640, height=480)
    media = await uploaded(gql, owner, body=clip, purpose="COMPLETION_PHOTO", target=task_id,
                           content_type=CONTENT_TYPES[kind], filename=f"clip.{kind}")
    before = (await gql.execute(THUMBNAIL, {"id": media["id"]}, token=owner))["data"]["media"]
    assert before["thumbnail"] is None  # until the job ran: clients show the original

    assert await job.make_media_variants(media["id"], storage) == VariantsStatus.READY
    after = (await gql.execute(THUMBNAIL, {"id": media["id"]}, token=owner))["data"]["media"]
    assert (after["width"], after["height"]) == (640, 480) and blurhash.is_valid_blurhash(after["placeholder"])
    assert [v["kind"] for v in after["variants"]] == ["THUMB"]  # a player shows the video itself, not a preview
    thumb = after["thumbnail"]
    assert (thumb["kind"], thumb["width"], thumb["height"], thumb["contentType"]) == ("THUMB", 320, 240, "image/webp")
    served = await fetch(gql, thumb["url"])
    assert served.status_code == 200 and served.headers["content-type"] == "image/webp"
    with Image.open(io.BytesIO(served.content)) as image:
        assert image.format == "WEBP" and image.size == (320, 240)
        r, g, b = image.convert("RGB").getpixel((160, 60))  # the flat top half: the frame about 1 s in
    assert abs((r + g + b) / 3 - level_at(10, frames)) <= 16, (r, g, b)
    # The original is untouched: still the uploaded bytes.
    assert (await fetch(gql, media["url"])).content == clip


async def test_a_phone_video_gets_an_upright_thumb(gql: GraphQLClient, storage: object) -> None:  # noqa: F811
    owner, _ = await register(gql)
    rid, _ = await residence_with_task(gql, owner)
    media = await uploaded(gql, owner, body=rotated_clip(), purpose="DOCUMENT_FILE", target=rid,
                           content_type="video/mp4", filename="portrait.mp4")
    assert await job.make_media_variants(media["id"], storage) == VariantsStatus.READY
    row = await models.Media.get(id=media["id"])
    assert (row.width, row.height) == (160, 320)
    thumb = await models.MediaVariant.get(media_id=row.id, kind=MediaVariantKind.THUMB)
    assert (thumb.width, thumb.height) == (160, 320)
    link = (await gql.execute(THUMBNAIL, {"id": media["id"]}, token=owner))["data"]["media"]["thumbnail"]["url"]
    with Image.open(io.BytesIO((await fetch(gql, link)).content)) as image:
        top, bottom = image.convert("RGB").getpixel((80, 40)), image.convert("RGB").getpixel((80, 280))
    # Turned clockwise: what was the left (red) is on top.
    assert top[0] > 200 and top[2] < 60 and bottom[2] > 200 and bottom[0] < 60, (top, bottom)


async def test_an_undecodable_video_fails_its_variants_at_once_and_stays_served(
        gql: GraphQLClient, storage: object) -> None:  # noqa: F811
    owner, _ = await register(gql)
    _, task_id = await residence_with_task(gql, owner)
    # An MP4 header (finalize's magic-number check passes), then nothing a decoder can use.
    body = make_video("mp4", seconds=0.5, noise=False)[:32] + bytes(4000)
    media = await uploaded(gql, owner, body=body, purpose="COMPLETION_PHOTO", target=task_id,
                           content_type="video/mp4", filename="broken.mp4")
    assert await job.make_media_variants(media["id"], storage) == VariantsStatus.FAILED
    row = await models.Media.get(id=media["id"])
    assert row.variants_status == VariantsStatus.FAILED and row.variants_attempts == 1  # no retry
    assert row.variants_error and "poster frame" in row.variants_error
    assert row.status == models.MediaStatus.READY and not await models.MediaVariant.exists(media_id=row.id)
    assert (await fetch(gql, media["url"])).content == body  # the original is still served as uploaded
