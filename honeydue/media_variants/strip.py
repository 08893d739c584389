"""Remove location and device metadata from an image before it is published (finalizeUpload).

A photo of someone's home carries the home's GPS coordinates in its EXIF, and the camera's make, model and
serial; XMP, IPTC and comments may carry more. The served original keeps only its pixels and what displaying
them needs (colour profile, and the orientation, as the only EXIF tag).

* **JPEG**: the segments are rewritten, the entropy-coded pictures copied byte for byte (no re-encoding). APP1
  (Exif, XMP), APP13 (IPTC), COM and the other vendor APPn segments are dropped, and so is everything after the
  primary picture's end (where phones append a second picture with EXIF of its own, indexed by an APP2 MPF
  segment, dropped too). APP0 (JFIF), APP2 ICC profiles and APP14 (Adobe colour transform) stay.
* **PNG**: eXIf, tEXt, zTXt, iTXt and tIME chunks are dropped (XMP and ImageMagick's EXIF live in text chunks);
  the image data chunks are copied.
* **WebP**: the EXIF and XMP chunks are dropped and the VP8X flags fixed; the bitstream is copied.
* **HEIC/HEIF**: EXIF and XMP are items inside the file's own index; their bytes are overwritten in place by an
  empty EXIF block and an empty XMP packet of the same length (``heif_boxes``), so no offset moves and the HEVC
  pictures are not re-encoded; the orientation is the pictures' own ``irot``/``imir`` properties, untouched.
  Only a file whose boxes cannot be followed is decoded (rotation applied to the pixels) and encoded again.

A file whose structure the rewriter cannot follow is decoded and encoded again by Pillow without metadata;
when Pillow cannot decode it either, no viewer can show its pixels and it is published as uploaded (logged).
"""

from __future__ import annotations

import io
import logging
import struct
import zlib

from PIL import Image, ImageOps

from honeydue.media_policy import HEIC, HEIF, JPEG, PNG, WEBP, normalize_content_type
from honeydue.media_variants import heif_boxes, images

log = logging.getLogger(__name__)

STRIPPED_TYPES: frozenset[str] = frozenset({JPEG, PNG, WEBP, HEIC, HEIF})
ORIENTATION = 0x0112
HEIF_QUALITY = 90  # re-encoding is lossy; high enough that the served original is no visible step down


class Unparseable(ValueError):
    """The bytes do not follow the container's structure where the rewriter needs them to."""


def _only_orientation(orientation: int) -> bytes:
    """A minimal EXIF block (``Exif\\0\\0`` + TIFF) holding just the orientation."""
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    return exif.tobytes()


def _orientation_of(exif_payload: bytes) -> int:
    """The orientation in an EXIF block (with or without the ``Exif\\0\\0`` header); 1 when absent or unreadable."""
    try:
        exif = Image.Exif()
        exif.load(exif_payload if exif_payload.startswith(b"Exif\x00\x00") else b"Exif\x00\x00" + exif_payload)
        value = int(exif.get(ORIENTATION, 1))
    except Exception:  # a broken EXIF block: no orientation to keep
        return 1
    return value if 1 <= value <= 8 else 1


# --- JPEG ---------------------------------------------------------------------------------------------------

_SOI, _EOI, _SOS = 0xD8, 0xD9, 0xDA
_KEEP_APP = {0xE0, 0xEE}  # JFIF, Adobe; APP2 is kept only for ICC profiles


def _jpeg(data: bytes) -> bytes | None:
    if data[:2] != b"\xff\xd8":
        raise Unparseable("no JPEG start of image")
    out = bytearray(b"\xff\xd8")
    orientation, changed, at, first_app0_end, kept_orientation = 1, False, 2, None, False
    n = len(data)
    while True:
        if at + 2 > n or data[at] != 0xFF:
            raise Unparseable(f"no JPEG marker at byte {at}")
        while at + 1 < n and data[at + 1] == 0xFF:  # fill bytes before a marker
            at += 1
        marker = data[at + 1]
        if marker == _EOI:
            out += b"\xff\xd9"
            at += 2
            break
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # markers without a length
            out += data[at:at + 2]
            at += 2
            continue
        if at + 4 > n:
            raise Unparseable("JPEG ends inside a segment header")
        (length,) = struct.unpack(">H", data[at + 2:at + 4])
        end = at + 2 + length
        if length < 2 or end > n:
            raise Unparseable(f"JPEG segment {marker:#x} runs past the end")
        segment, body = data[at:end], data[at + 4:end]
        if marker == _SOS:
            scan_end = _scan_end(data, end)
            out += data[at:scan_end]
            at = scan_end
            continue
        drop = (marker == 0xFE or (0xE1 <= marker <= 0xEF and marker not in _KEEP_APP
                                   and not (marker == 0xE2 and body.startswith(b"ICC_PROFILE\x00"))))
        if marker == 0xE1 and body.startswith(b"Exif\x00\x00") and orientation == 1:
            orientation = _orientation_of(body)
            if orientation != 1 and body == _only_orientation(orientation) and not kept_orientation:
                drop, kept_orientation = False, True  # already what this function writes: keep, add none
        if drop:
            changed = True
        else:
            out += segment
            if marker == 0xE0 and first_app0_end is None and len(out) == 2 + len(segment):
                first_app0_end = len(out)
        at = end
    if at < n:
        changed = True  # trailing data: a phone's second picture, a vendor trailer
    if not changed:
        return None
    if orientation != 1 and not kept_orientation:
        payload = _only_orientation(orientation)
        app1 = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
        where = first_app0_end or 2  # after JFIF's APP0, which must come first, else right after SOI
        out[where:where] = app1
    return bytes(out)


def _scan_end(data: bytes, at: int) -> int:
    """Where the entropy-coded data starting at ``at`` ends: the next marker that is not a stuffed 0xFF00 or RST."""
    n = len(data)
    while True:
        at = data.find(b"\xff", at)
        if at < 0 or at + 1 >= n:
            raise Unparseable("JPEG scan without an end")
        following = data[at + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
            at += 1 if following == 0xFF else 2
            continue
        return at


# --- PNG ----------------------------------------------------------------------------------------------------

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_DROP = {b"eXIf", b"tEXt", b"zTXt", b"iTXt", b"tIME"}


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def _png(data: bytes) -> bytes | None:
    if not data.startswith(_PNG_SIGNATURE):
        raise Unparseable("no PNG signature")
    out, at, n, changed, orientation = bytearray(_PNG_SIGNATURE), 8, len(data), False, 1
    while True:
        if at + 12 > n:
            raise Unparseable("PNG ends before IEND")
        (length,) = struct.unpack(">I", data[at:at + 4])
        kind, end = data[at + 4:at + 8], at + 12 + length
        if end > n or not kind.isalpha():
            raise Unparseable(f"PNG chunk at byte {at} runs past the end")
        keep = False
        if kind == b"eXIf":
            orientation = _orientation_of(data[at + 8:at + 8 + length])
            if orientation != 1 and data[at + 8:at + 8 + length] == _only_orientation(orientation)[6:]:
                keep, orientation = True, 1  # already the orientation alone
        if kind in _PNG_DROP and not keep:
            changed = True
        else:
            if kind == b"IDAT" and orientation != 1:  # eXIf must precede the image data
                out += _png_chunk(b"eXIf", _only_orientation(orientation)[6:])
                orientation = 1
            out += data[at:end]
        at = end
        if kind == b"IEND":
            break
    if at < n:
        changed = True
    return bytes(out) if changed else None


# --- WebP ---------------------------------------------------------------------------------------------------

_VP8X_EXIF, _VP8X_XMP = 0x08, 0x04


def _webp(data: bytes) -> bytes | None:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise Unparseable("no WebP RIFF header")
    chunks, at = [], 12
    end_of_riff = min(len(data), 8 + struct.unpack("<I", data[4:8])[0])
    while at + 8 <= end_of_riff:
        kind = data[at:at + 4]
        (length,) = struct.unpack("<I", data[at + 4:at + 8])
        end = at + 8 + length + (length & 1)
        if at + 8 + length > len(data):
            raise Unparseable(f"WebP chunk {kind!r} runs past the end")
        chunks.append((kind, data[at + 8:at + 8 + length]))
        at = end
    kinds = [kind for kind, _ in chunks]
    orientation = next((_orientation_of(body) for kind, body in chunks if kind == b"EXIF"), 1)
    exif_blocks = [body for kind, body in chunks if kind == b"EXIF"]
    already_clean = exif_blocks == [] or exif_blocks == [_only_orientation(orientation)[6:]]
    if already_clean and b"XMP " not in kinds and end_of_riff == len(data):
        return None
    body = bytearray(b"WEBP")
    for kind, payload in chunks:
        if kind in (b"EXIF", b"XMP "):
            continue
        if kind == b"VP8X":
            flags = payload[0] & ~(_VP8X_EXIF | _VP8X_XMP)
            if orientation != 1:
                flags |= _VP8X_EXIF
            payload = bytes([flags]) + payload[1:]
        body += kind + struct.pack("<I", len(payload)) + payload + (b"\x00" if len(payload) & 1 else b"")
    if orientation != 1 and b"VP8X" in kinds:  # EXIF comes after the bitstream (and any ALPH/ANIM chunks)
        exif = _only_orientation(orientation)[6:]
        body += b"EXIF" + struct.pack("<I", len(exif)) + exif + (b"\x00" if len(exif) & 1 else b"")
    return b"RIFF" + struct.pack("<I", len(body)) + bytes(body)


# --- HEIC/HEIF and the fallback -----------------------------------------------------------------------------

def _heif(data: bytes) -> bytes | None:
    try:
        return heif_boxes.blank_metadata(data)
    except (heif_boxes.HeifStructureError, struct.error, IndexError, ValueError) as exc:
        log.warning("metadata: HEIF boxes not followed (%s); re-encoding the picture", exc)
    return _heif_reencoded(data)


def _heif_reencoded(data: bytes) -> bytes | None:
    with images.open_image(data) as image:
        if not image.info.get("exif") and not image.info.get("xmp"):
            return None
        image.load()  # pillow-heif applies the file's rotation and mirroring while decoding
        icc = image.info.get("icc_profile")
        clean = Image.frombytes(image.mode, image.size, image.tobytes())
    out = io.BytesIO()
    clean.save(out, "HEIF", quality=HEIF_QUALITY, **({"icc_profile": icc} if icc else {}))
    return out.getvalue()


_PIL_FORMATS = {JPEG: ("JPEG", {"quality": 92}), PNG: ("PNG", {}), WEBP: ("WEBP", {"quality": 90})}


def _reencoded(kind: str, data: bytes) -> bytes | None:
    """Decoded and encoded again without metadata (orientation applied); None when Pillow cannot decode it."""
    try:
        with images.open_image(data) as image:
            upright = ImageOps.exif_transpose(image)
            icc = image.info.get("icc_profile")
            clean = Image.frombytes(upright.mode, upright.size, upright.tobytes())
        if kind == JPEG and clean.mode not in ("RGB", "L", "CMYK"):
            clean = clean.convert("RGB")
        fmt, options = _PIL_FORMATS[kind]
        out = io.BytesIO()
        clean.save(out, fmt, **options, **({"icc_profile": icc} if icc else {}))
        return out.getvalue()
    except (images.UnreadableImage, OSError, ValueError):
        return None


def strip_metadata(content_type: str, data: bytes) -> bytes | None:
    """The image without location and device metadata; None when there is nothing to remove (serve ``data``).

    HEIC and HEIF decode failures raise ``images.UnreadableImage`` (the upload is then refused: it cannot be
    shown, and what it carries cannot be checked).
    """
    kind = normalize_content_type(content_type)
    if kind in (HEIC, HEIF):
        return _heif(data)
    rewrite = {JPEG: _jpeg, PNG: _png, WEBP: _webp}.get(kind)
    if rewrite is None:
        return None
    try:
        return rewrite(data)
    except (Unparseable, struct.error, IndexError) as exc:
        reencoded = _reencoded(kind, data)
        if reencoded is None:
            log.warning("metadata: a %s that no decoder reads (%s); published as uploaded", kind, exc)
        return reencoded
