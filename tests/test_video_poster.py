"""``poster_frame``: the picture about a second into a real clip (PyAV-made, tests/video_fixtures.py), upright,
with bounded work, and a clear error for anything that is not a decodable video."""

from __future__ import annotations

import io
from fractions import Fraction
from pathlib import Path

import av
import pytest
from PIL import Image

from honeydue.media_variants import video
from honeydue.media_variants.video import UndecodableVideo, poster_frame
from tests.video_fixtures import level_at, make_video

FPS = 10
TOLERANCE = 12  # lossy codecs move a flat grey by a few levels; neighbouring frames differ by about 9 here


def grey(image: Image.Image) -> int:
    """The level of the flat top half (the bottom half is noise)."""
    r, g, b = image.getpixel((image.width // 2, image.height // 4))
    assert abs(r - g) < TOLERANCE and abs(g - b) < TOLERANCE, (r, g, b)
    return round((r + g + b) / 3)


@pytest.mark.parametrize("kind", ["mp4", "mov", "webm"])
def test_the_frame_about_one_second_in_from_a_path_or_a_file(kind: str, tmp_path: Path) -> None:
    frames = 3 * FPS
    clip = make_video(kind, seconds=3, fps=FPS)
    path = tmp_path / f"clip.{kind}"
    path.write_bytes(clip)
    with path.open("rb") as opened:
        for source in (path, str(path), io.BytesIO(clip), opened):
            image = poster_frame(source)
            assert image.mode == "RGB" and image.size == (160, 120)
            assert abs(grey(image) - level_at(FPS, frames)) <= TOLERANCE, (source, grey(image))


def test_a_keyframe_only_at_the_start_is_decoded_forward_to_the_moment(tmp_path: Path) -> None:
    frames = 4 * FPS
    clip = make_video("webm", seconds=4, fps=FPS, gop=frames)  # one keyframe, at 0
    assert abs(grey(poster_frame(io.BytesIO(clip))) - level_at(FPS, frames)) <= TOLERANCE


def test_a_clip_shorter_than_a_second_gives_its_first_frame() -> None:
    clip = make_video("mp4", seconds=0.5, fps=FPS)
    assert grey(poster_frame(io.BytesIO(clip))) <= TOLERANCE  # frame 0 is black


def test_a_phone_rotation_flag_is_applied(tmp_path: Path) -> None:
    # Stored landscape (red left, blue right) with the display matrix of a phone held upright: turn clockwise.
    out = io.BytesIO()
    with av.open(out, mode="w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=FPS)
        stream.width, stream.height, stream.pix_fmt, stream.time_base = 160, 80, "yuv420p", Fraction(1, FPS)
        stream.set_display_rotation(-90)
        picture = Image.new("RGB", (160, 80), (255, 0, 0))
        picture.paste((0, 0, 255), (80, 0, 160, 80))
        for i in range(FPS * 2):
            frame = av.VideoFrame.from_image(picture)
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    image = poster_frame(io.BytesIO(out.getvalue()))
    assert image.size == (80, 160)
    top, bottom = image.getpixel((40, 20)), image.getpixel((40, 140))
    assert top[0] > 200 and top[2] < 60 and bottom[2] > 200 and bottom[0] < 60, (top, bottom)


def _audio_only() -> bytes:
    out = io.BytesIO()
    with av.open(out, mode="w", format="webm") as container:
        stream = container.add_stream("libopus", rate=48000)
        frame = av.AudioFrame(format="s16", layout="mono", samples=960)
        for plane in frame.planes:
            plane.update(bytes(plane.buffer_size))
        frame.sample_rate = 48000
        for i in range(10):
            frame.pts = i * 960
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()


@pytest.mark.parametrize("body", [
    b"", b"junk" * 1000, b"\x89PNG\r\n\x1a\n" + bytes(500),
    "truncated mp4", "audio only", "corrupt webm",
])
def test_what_is_not_a_decodable_video_raises_undecodable_video(body: bytes | str) -> None:
    if body == "truncated mp4":  # the header promises a video; the index (at the end) never comes
        body = make_video("mp4", seconds=2)[:2000]
    elif body == "audio only":
        body = _audio_only()
    elif body == "corrupt webm":  # a valid header, then noise where the pictures were
        clip = make_video("webm", seconds=2, noise=False)
        body = clip[:300] + bytes(b ^ 0x5A for b in clip[300:])
    assert isinstance(body, bytes)
    with pytest.raises(UndecodableVideo):
        poster_frame(io.BytesIO(body))


def test_decoding_stops_at_the_frame_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    frames = 4 * FPS
    clip = make_video("mp4", seconds=4, fps=FPS, gop=frames)
    monkeypatch.setattr(video, "MAX_DECODED_FRAMES", 3)
    # The cap is reached before the one-second frame: the last frame decoded (the third) is the poster.
    assert abs(grey(poster_frame(io.BytesIO(clip))) - level_at(2, frames)) <= TOLERANCE


def test_decoding_stops_at_the_packet_cap_and_the_time_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    frames = 4 * FPS
    clip = make_video("webm", seconds=4, fps=FPS, gop=frames)
    monkeypatch.setattr(video, "MAX_PACKETS", 1)
    assert grey(poster_frame(io.BytesIO(clip))) <= TOLERANCE  # frame 0 only
    monkeypatch.setattr(video, "MAX_PACKETS", 2000)
    monkeypatch.setattr(video, "MAX_SECONDS", 0.0)
    assert grey(poster_frame(io.BytesIO(clip))) <= TOLERANCE


def test_an_absurd_picture_size_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(video, "MAX_PIXELS", 160 * 120 - 1)
    with pytest.raises(UndecodableVideo, match="pixels"):
        poster_frame(io.BytesIO(make_video("mp4", seconds=1, noise=False)))
