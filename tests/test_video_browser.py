"""An uploaded video plays in Chromium from its signed gateway link, and seeking into its middle works.

A real ``honeydue serve`` (local media directory, and again with ``B2_*`` pointing at the S3 test server) takes
the clip the way a client sends it: requestUpload -> PUT -> finalizeUpload, as a completion attachment. Headless
Chromium then opens a page holding ``<video src=SIGNED_LINK>``, seeks to the middle as soon as the metadata is in,
and plays on from there; the page's own JavaScript reports the time it landed on, its readyState, that no error
occurred, and the grey level of the picture it shows (each frame of the clip has its own level,
tests/video_fixtures.py), so the test knows the middle is what is on screen.

Between Chromium and the server sits a recording proxy (same origin as the page, so the canvas can read the
picture): it passes every request and answer through unchanged, at a network-like pace, and keeps what the
gateway answered, so the test can check that the browser's range requests (for the MP4, one into the middle, for
the seek) got 206 answers whose bytes are exactly the original's bytes at the ranges they name.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.conftest import start_serve, stop_serve
from tests.plugins.s3 import s3_env_for
from tests.test_graphiql_browser import (
    _evaluate,
    _wait_until,
    chromium_binary,  # noqa: F401  (a fixture)
    chromium_browser,
    serve_in_thread,
)
from tests.video_fixtures import CONTENT_TYPES, level_at, make_video

pytestmark = [pytest.mark.browser, pytest.mark.e2e]

SIGNING_KEY = "browser-video-signing-key-" + "v" * 32
SECONDS, FPS = 6, 10
FRAMES = SECONDS * FPS
# (width, height, bits/s): a few MB of noise (quick to encode as H.264; VP8 is slower, so smaller), more than the
# proxy passes on before the seek, so seeking into the middle needs a range of its own.
SIZES = {"mp4": (320, 240, 12_000_000), "webm": (240, 160, 4_000_000)}
LEVEL_TOLERANCE = 24  # codec and colour-conversion error, and a frame or two either side of the seek
# Hop-by-hop headers the proxy's own HTTP stack sets; everything else passes through unchanged.
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-encoding"}
PROXY_CHUNK = 64 * 1024
PROXY_BYTES_PER_SECOND = 1024 * 1024

REQUEST = """mutation($input: RequestUploadInput!) { requestUpload(input: $input) {
  media { id } upload { url method headers { name value } } userErrors { code } } }"""
FINALIZE = """mutation($id: ID!) { finalizeUpload(input: {mediaId: $id}) {
  media { status rejectReason url } userErrors { code } } }"""


@dataclass
class Exchange:
    """One request Chromium made through the proxy and what the gateway answered (as far as it was passed on:
    the player drops a response it no longer needs)."""

    path: str
    range: str | None
    status: int
    headers: dict[str, str]
    body: bytearray


@dataclass
class Clip:
    body: bytes
    content_type: str
    filename: str


@pytest.fixture(scope="module", params=["mp4", "webm"])
def clip(request: pytest.FixtureRequest) -> Clip:
    # Noise keeps the file from being tiny. The MP4's index sits at the end (no faststart), so the player needs a
    # range past the start before it can play; a WebM this size Chromium may read whole in its first range.
    kind = request.param
    size = SIZES[kind]
    return Clip(make_video(kind, seconds=SECONDS, fps=FPS, width=size[0], height=size[1], bit_rate=size[2]),
                CONTENT_TYPES[kind],
                f"gutter.{kind}")


@pytest.fixture(scope="module", params=["local", "s3"])
def server_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = {"MEDIA_SIGNING_KEY": SIGNING_KEY}
    if request.param == "s3":
        s3 = request.getfixturevalue("s3_server")
        s3.start()
        env.update(s3_env_for(s3, s3.make_bucket(f"honeyDue-video-{uuid.uuid4().hex[:8]}")))
    process = start_serve(tmp_path_factory.mktemp(f"video-{request.param}"), env)
    try:
        yield process.base_url
    finally:
        stop_serve(process)


async def gql(http: httpx.AsyncClient, query: str, variables: dict, token: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await http.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    (payload,) = body["data"].values()
    assert not payload.get("userErrors"), payload
    return payload


async def upload_completion_video(base_url: str, clip: Clip) -> str:
    """A new user's task gets ``clip`` as a completion video; its signed gateway link."""
    body = clip.body
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        token = (await gql(http, "mutation($i: RegisterInput!) { register(input: $i) { token userErrors { code } } }",
                           {"i": {"email": f"video-{uuid.uuid4().hex[:8]}@example.com",
                                  "password": "correct horse battery", "displayName": "V"}}))["token"]
        rid = (await gql(http, "mutation($i: CreateResidenceInput!) { createResidence(input: $i) "
                               "{ residence { id } userErrors { code } } }", {"i": {"name": "Home"}}, token)
               )["residence"]["id"]
        task_id = (await gql(http, "mutation($i: CreateTaskInput!) { createTask(input: $i) { task { id } "
                                   "userErrors { code } } }", {"i": {"residenceId": rid, "title": "Gutter"}}, token)
                   )["task"]["id"]
        requested = await gql(http, REQUEST, {"input": {
            "purpose": "COMPLETION_PHOTO", "targetId": task_id, "filename": clip.filename,
            "contentType": clip.content_type, "size": len(body)}}, token)
        headers = {h["name"]: h["value"] for h in requested["upload"]["headers"]}
        put = await http.put(requested["upload"]["url"], content=body, headers=headers)
        assert put.status_code == 200, put.text
        media = (await gql(http, FINALIZE, {"id": requested["media"]["id"]}, token))["media"]
    assert media["status"] == "READY", media
    return str(media["url"])


def recording_proxy(upstream: str, page: str, log: list[Exchange]) -> Starlette:
    """``/page`` is the test page; every other request goes to ``upstream`` and its answer is passed back
    unchanged, at about ``PROXY_BYTES_PER_SECOND`` like a real network, so the player has to ask for the
    ranges it needs next instead of finding the whole file already in its cache."""

    async def show_page(request: Request) -> Response:
        return HTMLResponse(page)

    async def no_icon(request: Request) -> Response:
        return Response(status_code=204)  # the browser asks for one; the server has none to give

    async def forward(request: Request) -> Response:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in ("host", *HOP_BY_HOP)}
        client = httpx.AsyncClient(timeout=30)
        answer = await client.send(client.build_request(request.method, upstream + request.url.path,
                                                        params=request.query_params, headers=headers), stream=True)
        passed = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP}
        exchange = Exchange(request.url.path, request.headers.get("range"), answer.status_code,
                            {k.lower(): v for k, v in passed.items()}, bytearray())
        log.append(exchange)

        async def body() -> AsyncIterator[bytes]:
            try:
                async for chunk in answer.aiter_raw(PROXY_CHUNK):
                    exchange.body += chunk
                    yield chunk
                    await asyncio.sleep(PROXY_CHUNK / PROXY_BYTES_PER_SECOND)
            finally:
                await answer.aclose()
                await client.aclose()

        return StreamingResponse(body(), answer.status_code, headers=passed)

    return Starlette(routes=[Route("/page", show_page), Route("/favicon.ico", no_icon),
                             Route("/{path:path}", forward, methods=["GET", "HEAD", "OPTIONS"])])


PAGE = """<!doctype html><html><body>
<video id="v" src="{src}" muted playsinline preload="metadata" width="240" height="160"></video>
<canvas id="c" width="240" height="160"></canvas>
<script>
  window.__events = [];
  const v = document.getElementById("v");
  for (const name of ["loadedmetadata", "playing", "seeking", "seeked", "error"]) {{
    v.addEventListener(name, () => window.__events.push(name));
  }}
  // The grey level of the flat top half of the picture on screen now.
  window.__level = () => {{
    const c = document.getElementById("c").getContext("2d");
    c.drawImage(v, 0, 0, 240, 160);
    const p = c.getImageData(120, 40, 1, 1).data;
    return Math.round((p[0] + p[1] + p[2]) / 3);
  }};
</script></body></html>"""


async def seek_and_play(binary: str, page_url: str) -> dict[str, Any]:
    """Open the page, seek to the middle of the clip as soon as its metadata is in, then play from there; what
    the page reports at the seek (``seek``) and while playing (``playing``)."""
    video = "document.getElementById('v')"
    report = f"""(() => {{ const v = {video};
        return {{currentTime: v.currentTime, readyState: v.readyState, paused: v.paused,
                error: v.error ? v.error.code + ' ' + v.error.message : null, level: window.__level(),
                events: [...window.__events]}}; }})()"""
    async with chromium_browser(binary) as cdp:
        target = await cdp.call("Target.createTarget", {"url": "about:blank"})
        session = (await cdp.call("Target.attachToTarget", {"targetId": target["targetId"], "flatten": True})
                   )["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            await cdp.call(f"{domain}.enable", session=session)
        await cdp.call("Page.navigate", {"url": page_url}, session)
        await _wait_until(cdp, session, f"{video} && ({video}.readyState >= 1 || !!{video}.error)",
                          "the video's metadata")
        duration = await _evaluate(cdp, session, f"{video}.duration")
        middle = duration / 2
        await _evaluate(cdp, session, f"{video}.currentTime = {middle}")
        await _wait_until(cdp, session, "window.__events.includes('seeked') || window.__events.includes('error')",
                          "the seek to finish")
        await _wait_until(cdp, session, f"{video}.readyState >= 2 || !!{video}.error", "the frame at the seek")
        seek = await _evaluate(cdp, session, report)
        await _evaluate(cdp, session, f"{video}.play()")
        await _wait_until(cdp, session, f"{video}.currentTime > {middle + 0.5} || !!{video}.error",
                          "playback to advance from the middle")
        playing = await _evaluate(cdp, session, report)
    console = [e["params"]["entry"]["text"] for e in cdp.events if e["method"] == "Log.entryAdded"
               and e["params"]["entry"]["level"] == "error"]
    return {"duration": duration, "target": middle, "seek": seek, "playing": playing, "console": console}


CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")


async def test_a_video_plays_and_seeks_through_its_signed_link(chromium_binary: str,  # noqa: F811
                                                               server_url: str, clip: Clip) -> None:
    link = await upload_completion_video(server_url, clip)
    assert link.startswith(server_url + "/media/") and "sig=" in link
    log: list[Exchange] = []
    path_and_query = link.removeprefix(server_url)
    with serve_in_thread(recording_proxy(server_url, PAGE.format(src=path_and_query), log)) as proxy_url:
        state = await seek_and_play(chromium_binary, f"{proxy_url}/page")

    seek, playing = state["seek"], state["playing"]
    assert abs(state["duration"] - SECONDS) < 0.2, state
    assert seek["error"] is None and "seeked" in seek["events"], state
    assert abs(seek["currentTime"] - state["target"]) < 0.15, state
    assert seek["readyState"] >= 2, state  # HAVE_CURRENT_DATA: the picture at the new position is there
    # The picture shown is the clip's middle (each frame has its own grey level).
    assert abs(seek["level"] - level_at(round(state["target"] * FPS), FRAMES)) <= LEVEL_TOLERANCE, state
    assert playing["error"] is None and "error" not in playing["events"] and "playing" in playing["events"], state
    assert not playing["paused"] and playing["currentTime"] > state["target"] + 0.5, state
    assert playing["level"] > seek["level"], state  # later frames are lighter: it plays on from the middle
    assert state["console"] == []

    media = [e for e in log if e.path.startswith("/media/")]
    assert media, log
    starts = []
    for exchange in media:
        # A media element always asks for ranges; each answer is 206, and every byte passed on is the original's
        # byte at that offset (a response the player dropped part-way is checked as far as it went).
        assert exchange.range is not None and exchange.status == 206, (exchange.range, exchange.status)
        match = CONTENT_RANGE.fullmatch(exchange.headers["content-range"])
        assert match, exchange.headers
        first, last, total = map(int, match.groups())
        assert total == len(clip.body) and exchange.headers["content-type"] == clip.content_type
        assert int(exchange.headers["content-length"]) == last - first + 1 >= len(exchange.body)
        assert exchange.body == clip.body[first:first + len(exchange.body)], exchange.range
        starts.append(first)
    # The seek came before the proxy had passed on the middle, 2.4 MB into the MP4: the player asked for a range
    # there. (Into a 1 MB WebM, Chromium may as well read on from where it is; those bytes are checked above.)
    middle_ranges = [first for first in starts if len(clip.body) // 4 <= first <= len(clip.body) * 3 // 4]
    assert clip.content_type != "video/mp4" or middle_ranges, [e.range for e in media]
