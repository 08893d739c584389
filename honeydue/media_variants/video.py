"""A video's poster frame: the picture its ``THUMB`` variant is made from (PyAV; its wheels ship FFmpeg).

``poster_frame(source)`` decodes the frame shown at ``POSTER_AT_SECONDS`` (about one second in, past a fade from
black), or the first keyframe of a clip shorter than that, upright (a phone's rotation flag applied).

The work is bounded, whatever the file claims: only the first video stream is demuxed (audio and the rest are
skipped), at most ``MAX_PACKETS`` packets are read and ``MAX_DECODED_FRAMES`` frames decoded within
``MAX_SECONDS`` of wall time, and a picture over ``MAX_PIXELS`` is refused before it is converted. When a cap is
reached after a frame was decoded, that frame is the poster (it is still a picture of the clip). Input FFmpeg
cannot read, or that holds no decodable picture, raises ``UndecodableVideo``: no retry makes those bytes a video.
"""

from __future__ import annotations

import os
import time
from typing import IO

import av
import av.error
from av.stream import Discard
from PIL import Image

POSTER_AT_SECONDS = 1.0
MAX_PACKETS = 2000
MAX_DECODED_FRAMES = 300  # 10 s at 30 fps: more than a keyframe interval of any phone or camera
MAX_SECONDS = 20.0
MAX_PIXELS = 8192 * 8192  # larger than 8K video (7680x4320); more is a crafted header, not a clip


class UndecodableVideo(ValueError):
    """The input is not a video FFmpeg can decode a picture from (or its picture is absurdly large)."""


Source = str | os.PathLike[str] | IO[bytes]


def poster_frame(source: Source, at_seconds: float = POSTER_AT_SECONDS) -> Image.Image:
    """The RGB picture shown about ``at_seconds`` into the video at ``source`` (a path or a binary file object)."""
    try:
        container = av.open(source if not isinstance(source, os.PathLike) else os.fspath(source), mode="r")
    except (av.error.FFmpegError, UnicodeDecodeError) as exc:
        raise UndecodableVideo(f"not a video FFmpeg can read: {exc}") from exc
    try:
        return _poster(container, at_seconds)
    except av.error.FFmpegError as exc:
        raise UndecodableVideo(f"the video could not be decoded: {exc}") from exc
    finally:
        container.close()


def _poster(container: av.container.InputContainer, at_seconds: float) -> Image.Image:
    if not container.streams.video:
        raise UndecodableVideo("the file holds no video stream")
    stream = container.streams.video[0]
    for other in container.streams:
        if other.index != stream.index:
            other.discard = Discard.all  # never demux audio, subtitles or data
    time_base = stream.time_base
    start = stream.start_time or 0
    target = None  # a pts to decode up to; None: the first frame decoded (the first keyframe)
    if time_base and _duration_seconds(container, stream) > at_seconds:
        target = start + int(at_seconds / time_base)
        try:  # to the keyframe at or before the target, so only one keyframe interval is decoded
            container.seek(target, stream=stream, backward=True, any_frame=False)
        except av.error.FFmpegError:
            container.seek(start, stream=stream, backward=True, any_frame=False)
    frame = _decode_up_to(container, stream, target)
    if frame is None:
        raise UndecodableVideo("no picture could be decoded from the video")
    return _upright(frame)


def _duration_seconds(container: av.container.InputContainer, stream: av.VideoStream) -> float:
    if stream.duration is not None and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return 0.0


def _decode_up_to(container: av.container.InputContainer, stream: av.VideoStream,
                  target: int | None) -> av.VideoFrame | None:
    """The first frame at or past ``target`` (or the first frame); the last one decoded when a cap is reached."""
    deadline = time.monotonic() + MAX_SECONDS
    last: av.VideoFrame | None = None
    packets = frames = 0
    for packet in container.demux(stream):
        packets += 1
        for frame in _decoded(packet):
            frames += 1
            if frame.width * frame.height > MAX_PIXELS:
                raise UndecodableVideo(f"the picture is {frame.width}x{frame.height}, more than {MAX_PIXELS} pixels")
            last = frame
            if target is None or frame.pts is None or frame.pts >= target:
                return frame
        if packets >= MAX_PACKETS or frames >= MAX_DECODED_FRAMES or time.monotonic() > deadline:
            return last
    return last


def _decoded(packet: av.Packet) -> list[av.VideoFrame]:
    """The frames one packet yields; a corrupt packet yields none (the next keyframe may still decode)."""
    try:
        return [f for f in packet.decode() if isinstance(f, av.VideoFrame)]
    except av.error.InvalidDataError:
        return []


def _upright(frame: av.VideoFrame) -> Image.Image:
    """The frame as an RGB picture, turned as players show it (FFmpeg's display matrix: degrees counterclockwise,
    which is also the direction of PIL's ``rotate``)."""
    image = frame.to_image()
    rotation = round(frame.rotation or 0) % 360
    if rotation:
        image = image.rotate(rotation, expand=True)
    return image.convert("RGB")
