#!/usr/bin/env python3
"""Image variants: Pillow (what honeydue runs) against pyvips, on phone-sized photos.

    python bench/variants.py              # 7 interleaved rounds of a 12 MP JPEG, a 12 MP HEIC and a PNG screenshot
    python bench/variants.py --quick      # CI: small images, 3 rounds
    python bench/variants.py --vips-concurrency 2   # let libvips use more threads (default 1: one core per job)

One job is what ``make_media_variants`` does with an image: decode, orientation, the PREVIEW (1600 px) and
THUMB (320 px) WebP variants, and the BlurHash. The Pillow side runs the production code
(``honeydue.media_variants.images.render_bytes``); the pyvips side does the same with libvips
(``thumbnail_buffer`` with shrink-on-load, ``webpsave`` at the same qualities, the same BlurHash on a 64 px
copy). Rounds are interleaved, their order alternating, so a noisy neighbour hits both alike; each round's
ratio (pyvips time / Pillow time, below 1 means pyvips is faster) is taken within the round, and figures are
medians with their spread (lowest, highest). One JSON line on stdout; progress on stderr.

pyvips comes from PyPI as ``pyvips`` plus the ``pyvips-binary`` wheel (libvips with its codecs); when it cannot
be imported the script says so in ``pyvips.available``/``pyvips.reason`` and measures Pillow alone.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import blurhash  # noqa: E402
from PIL import Image  # noqa: E402

from honeydue.media_variants import images  # noqa: E402  (registers the HEIF plugin too)

THUMB, PREVIEW = 320, 1600


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def photo(width: int, height: int, seed: int) -> Image.Image:
    """A photo-like picture: smooth gradients with noise, so the codecs have real work (a flat image is free)."""
    gradient = Image.linear_gradient("L").resize((width, height))
    noise = Image.effect_noise((width, height), 40 + seed)
    red = Image.blend(gradient, noise, 0.35)
    green = Image.blend(gradient.rotate(90, expand=False), noise, 0.5)
    blue = Image.effect_mandelbrot((width, height), (-2.0, -1.2, 1.0, 1.2), 60)
    return Image.merge("RGB", (red, green, blue))


def encoded(image: Image.Image, fmt: str, orientation: int = 6) -> bytes:
    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = orientation
    options: dict[str, Any] = {"exif": exif.tobytes()} if fmt != "PNG" else {}
    if fmt == "JPEG":
        options["quality"] = 90
    if fmt == "HEIF":
        options["quality"] = 80
    image.save(out, fmt, **options)
    return out.getvalue()


def pillow_job(data: bytes) -> tuple[int, int]:
    rendered = images.render_bytes(data)
    return rendered.width, rendered.height


def make_vips_job(concurrency: int) -> tuple[Any, str | None]:
    try:
        import pyvips
    except Exception as exc:  # not installed, or its libvips could not be loaded
        return None, f"{type(exc).__name__}: {exc}"
    pyvips.concurrency_set(concurrency)
    pyvips.cache_set_max(0)  # no result cache: every round decodes again, as a job would

    def vips_job(data: bytes) -> tuple[int, int]:
        # Autorotates; copied to memory so the THUMB can read it again (a PNG decodes sequentially).
        preview = pyvips.Image.thumbnail_buffer(data, PREVIEW, height=PREVIEW, size="down").copy_memory()
        preview_webp = preview.webpsave_buffer(Q=80, strip=True)
        thumb = preview.thumbnail_image(THUMB, height=THUMB, size="down")
        thumb_webp = thumb.webpsave_buffer(Q=75, strip=True)
        small = thumb.thumbnail_image(64, height=64).colourspace("srgb")
        if small.bands > 3:
            small = small.extract_band(0, n=3)
        pixels = Image.frombytes("RGB", (small.width, small.height), small.write_to_memory())
        blurhash.encode(pixels, 4, 3)
        assert preview_webp and thumb_webp
        return preview.width, preview.height

    return vips_job, None


def spread(values: list[float]) -> dict[str, Any]:
    return {"median": round(statistics.median(values), 4), "spread": [round(min(values), 4), round(max(values), 4)]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="small images, 3 rounds (CI)")
    parser.add_argument("--vips-concurrency", type=int, default=1)
    args = parser.parse_args()
    rounds = 3 if args.quick else max(3, args.rounds)
    size = (640, 480) if args.quick else (4032, 3024)
    log(f"making test images at {size[0]}x{size[1]} …")
    base = photo(*size, seed=1)
    workloads = {
        "jpeg_12mp" if not args.quick else "jpeg": encoded(base, "JPEG"),
        "heic_12mp" if not args.quick else "heic": encoded(base, "HEIF"),
        "png_screenshot": encoded(photo(1170 if not args.quick else 300, 2532 if not args.quick else 600, seed=2),
                                  "PNG", orientation=1),
    }
    vips_job, vips_reason = make_vips_job(args.vips_concurrency)
    libraries: dict[str, Any] = {"pillow": pillow_job}
    unsupported: dict[str, str] = {}
    if vips_job is not None:
        libraries["pyvips"] = vips_job
    timings: dict[str, dict[str, list[float]]] = {w: {} for w in workloads}
    for workload, data in workloads.items():  # warm up, and find what each library can decode at all
        for lib, job in libraries.items():
            try:
                job(data)
            except Exception as exc:
                unsupported[workload] = f"{lib}: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
                log(f"{workload}: {unsupported[workload]}")
            else:
                timings[workload][lib] = []

    for round_no in range(rounds):
        for workload, data in workloads.items():
            runners = list(timings[workload])
            for lib in runners if round_no % 2 == 0 else reversed(runners):
                started = time.perf_counter()
                libraries[lib](data)
                timings[workload][lib].append((time.perf_counter() - started) * 1000)
        log(f"round {round_no + 1}/{rounds}: " + ", ".join(
            f"{w} " + "/".join(f"{lib} {t[-1]:.0f} ms" for lib, t in per.items()) for w, per in timings.items()))

    figures: dict[str, Any] = {
        "params": {"rounds": rounds, "image_size": list(size), "vips_concurrency": args.vips_concurrency,
                   "cpu_count": os.cpu_count(), "bytes": {w: len(d) for w, d in workloads.items()}},
        "ms_per_image": {w: {lib: spread(t) for lib, t in per.items()} for w, per in timings.items()},
        "pyvips": {"available": vips_job is not None, "reason": vips_reason, "unsupported": unsupported},
    }
    if vips_job is not None:
        import pyvips

        figures["pyvips"]["libvips"] = f"{pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}"
        figures["ratio_vips_to_pillow"] = {
            w: spread([v / p for v, p in zip(per["pyvips"], per["pillow"], strict=True)])
            for w, per in timings.items() if "pyvips" in per and "pillow" in per}
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
