"""Decode an image and render its variants, displayed size and BlurHash placeholder, with Pillow.

Pillow, not pyvips: bench/variants.py measures both on the same photos (bench/README.md has the figures).
HEIC/HEIF decode through pillow-heif's Pillow plugin. Orientation is applied first (EXIF, or HEIF's own
transforms), so every variant, and the width and height recorded, are as the photo is meant to be seen.
Variants are encoded without any metadata: none of the original's EXIF or XMP reaches them.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass

import blurhash
import pillow_heif
from PIL import Image, ImageOps

from honeydue.media_variants.keys import MAX_SIDE
from honeydue.models.enums import MediaVariantKind

pillow_heif.register_heif_opener()

# A decompression bomb (a small file declaring a huge canvas) is refused, never decoded: past this many
# pixels Pillow raises. 100 megapixels is above any phone camera's output.
MAX_PIXELS = 100_000_000
WEBP_QUALITY: dict[MediaVariantKind, int] = {MediaVariantKind.THUMB: 75, MediaVariantKind.PREVIEW: 80}
# BlurHash components (x, y): 4x3 is the reference implementation's default, ~28 characters.
BLURHASH_COMPONENTS = (4, 3)
_BLURHASH_INPUT = 64  # the hash only holds a dozen colours: encoding a 64 px copy is as good and far cheaper
_SWAPS_SIDES = {5, 6, 7, 8}  # EXIF orientations that rotate by 90 degrees


class UnreadableImage(ValueError):
    """The bytes are not an image Pillow can decode (or declare a canvas over MAX_PIXELS)."""


@dataclass(frozen=True)
class RenderedVariant:
    kind: MediaVariantKind
    data: bytes
    width: int
    height: int


@dataclass(frozen=True)
class Rendered:
    width: int
    height: int
    placeholder: str
    variants: list[RenderedVariant]


def open_image(data: bytes) -> Image.Image:
    """The decoded-on-demand image; UnreadableImage for anything Pillow cannot read or a decompression bomb."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise UnreadableImage(f"the image is {width}x{height}, more than {MAX_PIXELS} pixels")
            return image
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        if isinstance(exc, UnreadableImage):
            raise
        raise UnreadableImage(f"not a readable image: {exc}") from exc


def _displayed_size(image: Image.Image) -> tuple[int, int]:
    width, height = image.size
    orientation = image.getexif().get(0x0112, 1)
    return (height, width) if orientation in _SWAPS_SIDES else (width, height)


def _upright(image: Image.Image, bound: int) -> Image.Image:
    """Decoded (JPEG: at a reduced DCT scale, still at least ``bound``), orientation applied, RGB or RGBA."""
    if image.format == "JPEG":
        # Decodes at 1/2, 1/4 or 1/8 scale when that still covers the bound (draft wants both sides covered).
        scale = min(1.0, bound / max(image.size))
        image.draft("RGB", (math.ceil(image.width * scale), math.ceil(image.height * scale)))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.load()
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning) as exc:
        raise UnreadableImage(f"not a readable image: {exc}") from exc
    upright = ImageOps.exif_transpose(image)
    has_alpha = upright.mode in ("RGBA", "LA", "PA") or (upright.mode == "P" and "transparency" in upright.info)
    wanted = "RGBA" if has_alpha else "RGB"
    return upright if upright.mode == wanted else upright.convert(wanted)


def _fit(image: Image.Image, bound: int) -> Image.Image:
    copy = image.copy()
    copy.thumbnail((bound, bound), Image.Resampling.LANCZOS)  # keeps the aspect ratio, never upscales
    return copy


def _webp(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.save(out, "WEBP", quality=quality, method=4)  # no exif=/xmp=: the variant carries no metadata
    return out.getvalue()


def placeholder_of(image: Image.Image) -> str:
    small = _fit(image, _BLURHASH_INPUT).convert("RGB")
    return str(blurhash.encode(small, *BLURHASH_COMPONENTS))


def render(image: Image.Image, kinds: tuple[MediaVariantKind, ...] = tuple(MediaVariantKind)) -> Rendered:
    """The variants of ``kinds`` (largest decoded once, the smaller made from it), size and placeholder."""
    width, height = _displayed_size(image)
    largest = max(MAX_SIDE[k] for k in kinds)
    upright = _upright(image, largest)
    variants = []
    source = upright
    for kind in sorted(kinds, key=lambda k: -MAX_SIDE[k]):
        source = _fit(source, MAX_SIDE[kind])
        variants.append(RenderedVariant(kind, _webp(source, WEBP_QUALITY[kind]), source.width, source.height))
    return Rendered(width=width, height=height, placeholder=placeholder_of(source), variants=variants)


def render_bytes(data: bytes) -> Rendered:
    """``render`` of an encoded image (JPEG, PNG, GIF's first frame, WebP, HEIC, HEIF)."""
    with open_image(data) as image:
        return render(image)
