"""Small real videos made with PyAV for the tests: nothing binary is committed.

Frame ``i`` of ``n`` is flat grey at level ``round(255 * i / (n - 1))`` in its top half (so a test can tell from
one pixel which moment it sees) and random noise in its bottom half (so the file is not tiny and a player
has to fetch it in pieces). MP4 and QuickTime hold H.264 when the wheel's FFmpeg has an H.264 encoder, else
MPEG-4 Part 2; WebM holds VP8.
"""

from __future__ import annotations

import io
import random
from fractions import Fraction

import av
from PIL import Image

# format -> (PyAV container format, preferred codecs)
CONTAINERS = {"mp4": ("mp4", ("libx264", "mpeg4")), "mov": ("mov", ("libx264", "mpeg4")),
              "webm": ("webm", ("libvpx", "libvpx-vp9"))}
CONTENT_TYPES = {"mp4": "video/mp4", "mov": "video/quicktime", "webm": "video/webm"}


def _encoder(candidates: tuple[str, ...]) -> str:
    for name in candidates:
        try:
            av.codec.Codec(name, "w")
        except Exception:  # noqa: BLE001 - not in this build of FFmpeg
            continue
        return name
    raise RuntimeError(f"none of {candidates} can encode here")


def level_at(index: int, frames: int) -> int:
    """The grey level of frame ``index``'s top half."""
    return round(255 * index / max(frames - 1, 1))


def make_video(kind: str = "mp4", *, seconds: float = 2.0, fps: int = 10, width: int = 160, height: int = 120,
               noise: bool = True, gop: int | None = None, seed: int = 7, bit_rate: int | None = None) -> bytes:
    """The bytes of a ``kind`` (mp4, mov, webm) video of ``seconds`` at ``fps``; a keyframe every ``gop`` frames
    (default: every second); ``bit_rate`` (bits/s) makes the file larger than the encoder's default would."""
    container_format, candidates = CONTAINERS[kind]
    codec = _encoder(candidates)
    frames = max(int(seconds * fps), 1)
    rng = random.Random(seed)
    out = io.BytesIO()
    with av.open(out, mode="w", format=container_format) as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = Fraction(1, fps)
        stream.gop_size = gop or fps
        if bit_rate:
            stream.bit_rate = bit_rate
        if codec == "libx264":
            stream.options = {"preset": "ultrafast"}
        elif codec.startswith("libvpx"):
            stream.options = {"deadline": "realtime", "cpu-used": "8"}  # noise is slow to encode well
        for i in range(frames):
            level = level_at(i, frames)
            image = Image.new("RGB", (width, height), (level, level, level))
            if noise:
                bottom = height - height // 2
                image.paste(Image.frombytes("RGB", (width, bottom), rng.randbytes(width * bottom * 3)),
                            (0, height // 2))
            frame = av.VideoFrame.from_image(image)
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return out.getvalue()
