"""Media rules shared by the API, the gateway and the workers: pure functions, no I/O.

* Object keys are made by the server (DESIGN.md "Object keys"): a random name
  with an extension from the declared content type, never from the client's
  filename, so a key can neither collide, nor be guessed, nor carry markup.
* Which content types each purpose accepts, and the magic numbers that prove
  an upload is what it claims (an HTML or SVG file declared ``image/png`` must
  never become READY: served inline it would run script on our origin).
* Filenames are kept only for ``Content-Disposition``, sanitised so they can
  never split a header or smuggle a path.
"""

from __future__ import annotations

import unicodedata
import uuid
from collections.abc import Iterable
from urllib.parse import quote
from uuid import UUID

from honeydue.models.enums import MediaPurpose

JPEG, PNG, GIF, WEBP, PDF = "image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf"
HEIC, HEIF = "image/heic", "image/heif"  # iPhones' default; kept as uploaded, shown through WebP variants
MP4, QUICKTIME, WEBM = "video/mp4", "video/quicktime", "video/webm"
JSON = "application/json"
IMAGE_TYPES: tuple[str, ...] = (JPEG, PNG, GIF, WEBP, HEIC, HEIF)
# Served byte for byte as uploaded (never re-encoded); their own size limit, STORAGE_MAX_VIDEO_SIZE.
VIDEO_TYPES: tuple[str, ...] = (MP4, QUICKTIME, WEBM)

EXTENSIONS: dict[str, str] = {JPEG: "jpg", PNG: "png", GIF: "gif", WEBP: "webp", HEIC: "heic", HEIF: "heif",
                              PDF: "pdf",
                              MP4: "mp4", QUICKTIME: "mov", WEBM: "webm"}

# The types each purpose may ever hold; STORAGE_ALLOWED_TYPES can only narrow these. Videos only where a
# file documents work or a thing (completions, documents): an avatar or a residence photo is a still.
PURPOSE_TYPES: dict[MediaPurpose, tuple[str, ...]] = {
    MediaPurpose.AVATAR: IMAGE_TYPES,
    MediaPurpose.COMPLETION_PHOTO: (*IMAGE_TYPES, *VIDEO_TYPES),
    MediaPurpose.DOCUMENT_FILE: (PDF, *IMAGE_TYPES, *VIDEO_TYPES),
    MediaPurpose.RESIDENCE_PHOTO: IMAGE_TYPES,
    MediaPurpose.RESIDENCE_IMPORT: (JSON,),
}
# Purposes whose types are fixed by what the feature reads, whatever STORAGE_ALLOWED_TYPES says (an import
# file is JSON or nothing; it is parsed and schema-checked at finalize, never served inline).
FIXED_TYPE_PURPOSES: frozenset[MediaPurpose] = frozenset({MediaPurpose.RESIDENCE_IMPORT})

# Served inline by the gateway (a <video> plays the clip; no browser runs a video as a page); anything else
# goes out as an attachment.
INLINE_SAFE_TYPES: frozenset[str] = frozenset(EXTENSIONS)
# Served as attachments under their own type (no browser runs them as a page: sent with nosniff and as an
# attachment); any other type goes out as application/octet-stream.
ATTACHMENT_TYPES: frozenset[str] = frozenset({JSON, "application/zip"})

# How many leading bytes finalize reads to check the magic number.
SNIFF_BYTES = 64

MAX_FILENAME_CHARS = 200
_MAX_EXTENSION_CHARS = 16
_FILENAME_DROP = frozenset('"\'`\\/')
# Cc: control (NUL, ...); Cf: format (U+202E makes "gpj.exe" read "exe.jpg"); surrogates, private, unassigned.
_DROP_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
# RFC 5987 attr-char minus the alphanumerics quote() keeps anyway.
_ATTR_CHAR_SAFE = "!#$&+-.^_`|~"


def normalize_content_type(content_type: str) -> str:
    """``Image/PNG; charset=x`` -> ``image/png``: compare media types, never parameters."""
    return content_type.split(";", 1)[0].strip().lower()


def allowed_types_for(purpose: MediaPurpose | str, settings: object) -> tuple[str, ...]:
    """Types ``purpose`` accepts under ``STORAGE_ALLOWED_TYPES`` (documents: PDF and images; imports: JSON, always;
    others: images)."""
    if MediaPurpose(purpose) in FIXED_TYPE_PURPOSES:
        return PURPOSE_TYPES[MediaPurpose(purpose)]
    configured = {normalize_content_type(t) for t in _allowed_setting(settings)}
    return tuple(t for t in PURPOSE_TYPES[MediaPurpose(purpose)] if t in configured)


def _allowed_setting(settings: object) -> Iterable[str]:
    return getattr(settings, "storage_allowed_types", ())


def is_video(content_type: str) -> bool:
    return normalize_content_type(content_type) in VIDEO_TYPES


def max_size_for(content_type: str, settings: object) -> int:
    """The largest upload of ``content_type``: STORAGE_MAX_VIDEO_SIZE for a video, else STORAGE_MAX_FILE_SIZE."""
    name = "storage_max_video_size" if is_video(content_type) else "storage_max_file_size"
    return int(getattr(settings, name))


def extension_for(content_type: str) -> str:
    try:
        return EXTENSIONS[normalize_content_type(content_type)]
    except KeyError:
        raise ValueError(f"no object key extension for content type {content_type!r}") from None


def make_object_key(
    purpose: MediaPurpose | str,
    target_id: UUID | str | None,
    owner_id: UUID | str,
    content_type: str,
) -> str:
    """A fresh, immutable key per DESIGN.md: a new file is always a new key, so caches are never stale.

    Avatars and residence import files live under their owner; completion photos under the task; documents and
    the residence's photo under the residence.
    """
    purpose = MediaPurpose(purpose)
    if purpose is MediaPurpose.RESIDENCE_IMPORT:  # the uploader's own, like an avatar; JSON only
        return f"users/{UUID(str(owner_id))}/imports/{uuid.uuid4()}.json"
    name = f"{uuid.uuid4()}.{extension_for(content_type)}"
    if purpose is MediaPurpose.AVATAR:
        return f"users/{UUID(str(owner_id))}/profile/{name}"
    if target_id is None:
        raise ValueError(f"{purpose.value} needs a target id")
    target = UUID(str(target_id))  # canonical form; rejects anything that is not a UUID
    if purpose is MediaPurpose.COMPLETION_PHOTO:
        return f"tasks/{target}/completions/{name}"
    if purpose is MediaPurpose.RESIDENCE_PHOTO:
        return f"residences/{target}/photo/{name}"
    return f"residences/{target}/documents/{name}"


STAGING_SUFFIX = ".upload"


def staging_key(key: str) -> str:
    """Where the client's presigned PUT writes before finalize copies the checked bytes to ``key``.

    The upload URL lives 15 minutes and still works after finalize, so it must never point at a key
    that is served: a second PUT would swap the bytes (and their type) behind a READY row and its ETag.
    Same prefix as ``key``, so account purges and prefix listings find staging objects too.
    """
    return f"{key}{STAGING_SUFFIX}"


def is_staging_key(key: str) -> bool:
    return key.endswith(STAGING_SUFFIX)


def final_key(key: str) -> str:
    """The served key a staging key belongs to (``key`` itself when it is not a staging key)."""
    return key.removesuffix(STAGING_SUFFIX)


def sanitize_filename(name: str | None) -> str:
    """A display name safe for a header: no path, control or format characters, quotes; bounded length."""
    text = unicodedata.normalize("NFC", name or "")
    text = text.replace("\\", "/").rsplit("/", 1)[-1]
    out = []
    for c in text:
        category = unicodedata.category(c)
        if c in "\t\r\n" or category in ("Zl", "Zp"):
            out.append(" ")  # a line break becomes a space, never a header break
        elif c not in _FILENAME_DROP and category not in _DROP_CATEGORIES:
            out.append(c)
    text = "".join(out)
    text = " ".join(text.split()).strip(". ")
    if len(text) > MAX_FILENAME_CHARS:
        stem, dot, ext = text.rpartition(".")
        if dot and stem and 0 < len(ext) <= _MAX_EXTENSION_CHARS:
            text = stem[: MAX_FILENAME_CHARS - len(ext) - 1].rstrip(". ") + "." + ext
        else:
            text = text[:MAX_FILENAME_CHARS].rstrip(". ")
    return text or "file"


def _ascii_fallback(name: str) -> str:
    decomposed = unicodedata.normalize("NFKD", name)
    chars = []
    for c in decomposed:
        if unicodedata.combining(c):
            continue
        chars.append(c if 32 <= ord(c) < 127 and c not in '"\\%' else "_")
    text = "".join(chars).strip()
    return text if any(c.isalnum() for c in text) else "file"


def content_disposition(filename: str | None, attachment: bool) -> str:
    """``inline|attachment; filename="ascii"; filename*=UTF-8''percent-encoded`` (RFC 6266)."""
    clean = sanitize_filename(filename)
    kind = "attachment" if attachment else "inline"
    return f"{kind}; filename=\"{_ascii_fallback(clean)}\"; filename*=UTF-8''{quote(clean, safe=_ATTR_CHAR_SAFE)}"


def sniff_matches(content_type: str, head: bytes) -> bool:
    """Do the first bytes carry the magic number of ``content_type``? Unknown types never match."""
    kind = normalize_content_type(content_type)
    if kind == JPEG:
        return head[:3] == b"\xff\xd8\xff"
    if kind == PNG:
        return head[:8] == b"\x89PNG\r\n\x1a\n"
    if kind == GIF:
        return head[:6] in (b"GIF87a", b"GIF89a")
    if kind == WEBP:
        return head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    if kind == JSON:
        # A JSON document here is an object (finalize parses all of it); tolerate a BOM and leading whitespace.
        return head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")[:1] == b"{"
    if kind == PDF:
        # Strictly at offset 0: readers tolerate leading junk, but that is how polyglots hide.
        return head[:5] == b"%PDF-"
    if kind in (MP4, QUICKTIME):
        return _ftyp_matches(head, _FTYP_BRANDS[kind])
    if kind in (HEIC, HEIF):
        return _heif_brand_matches(kind, head)
    if kind == WEBM:
        return _ebml_doc_type(head) == b"webm"
    return False


# ISO base media files open with an ``ftyp`` box: size (4 bytes), "ftyp", the major brand (4), a minor version (4),
# then compatible brands (4 each). The brand says which format the file is; QuickTime's is "qt  ".
_MP4_BRANDS = frozenset({b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"iso8", b"iso9", b"mp41", b"mp42",
                         b"avc1", b"M4V ", b"M4VH", b"M4VP", b"dash", b"mmp4", b"MSNV", b"XAVC", b"f4v "})
_FTYP_BRANDS: dict[str, frozenset[bytes]] = {MP4: _MP4_BRANDS, QUICKTIME: frozenset({b"qt  "})}
# Still-image formats in the same box structure (HEIF, HEIC, AVIF): never a video, whatever else they list.
_STILL_IMAGE_BRANDS = frozenset({b"mif1", b"msf1", b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"heif",
                                 b"avif", b"avis", b"miaf"})


def _ftyp_matches(head: bytes, brands: frozenset[bytes]) -> bool:
    """An ``ftyp`` box at offset 0 whose major brand is one of ``brands``, or, when the major brand is one this
    check does not know, that lists one of them as compatible (players go by the compatible brands)."""
    if len(head) < 16 or head[4:8] != b"ftyp":
        return False
    size = int.from_bytes(head[:4], "big")
    if size < 16 or size % 4:
        return False
    major = head[8:12]
    if major in brands:
        return True
    if major in _STILL_IMAGE_BRANDS or major in _KNOWN_BRANDS:
        return False
    compatible = head[16:min(size, len(head))]
    return any(compatible[i:i + 4] in brands for i in range(0, len(compatible) - 3, 4))


_KNOWN_BRANDS = frozenset().union(*_FTYP_BRANDS.values())

# HEIF stills (ISO/IEC 23008-12) open with the same ``ftyp`` box. HEIC is HEIF whose pictures are HEVC-coded:
# an HEVC brand is the major brand or among the compatible ones (an iPhone writes major "heic", compatible
# "mif1", "heic"). image/heif takes any HEIF structure brand, but never AVIF (AV1 pictures: a format of its own,
# which the decoder here does not read) nor a video brand.
_HEVC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})
_HEIF_BRANDS = frozenset({b"mif1", b"msf1", b"mif2", *_HEVC_BRANDS})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})


def _ftyp_brands(head: bytes) -> tuple[bytes, list[bytes]] | None:
    """(major brand, compatible brands within ``head``) of an ``ftyp`` box at offset 0, or None."""
    if len(head) < 16 or head[4:8] != b"ftyp":
        return None
    size = int.from_bytes(head[:4], "big")
    if size < 16 or size % 4:
        return None
    compatible = head[16:min(size, len(head))]
    return head[8:12], [compatible[i:i + 4] for i in range(0, len(compatible) - 3, 4)]


def _heif_brand_matches(kind: str, head: bytes) -> bool:
    brands = _ftyp_brands(head)
    if brands is None:
        return False
    major, compatible = brands
    if major not in _HEIF_BRANDS:
        return False
    hevc = major in _HEVC_BRANDS or any(b in _HEVC_BRANDS for b in compatible)
    if kind == HEIC:
        return hevc
    return hevc or not any(b in _AVIF_BRANDS for b in compatible)

_EBML_MAGIC = b"\x1a\x45\xdf\xa3"
_EBML_DOC_TYPE_ID = b"\x42\x82"


def _ebml_vint(data: bytes, at: int) -> tuple[int, int] | None:
    """(value, length) of the EBML variable-length integer at ``at`` (marker bit removed), or None."""
    if at >= len(data) or data[at] == 0:
        return None
    length = 9 - data[at].bit_length()  # the leading zero bits plus one
    if at + length > len(data):
        return None
    value = data[at] & (0xFF >> length)
    for byte in data[at + 1:at + length]:
        value = (value << 8) | byte
    return value, length


def _ebml_doc_type(head: bytes) -> bytes | None:
    """The DocType of the EBML header at offset 0 ("webm", "matroska"), or None when there is none to read."""
    if head[:4] != _EBML_MAGIC:
        return None
    header_size = _ebml_vint(head, 4)
    if header_size is None:
        return None
    at = 4 + header_size[1]
    end = min(at + header_size[0], len(head))
    while at < end:
        id_length = 9 - head[at].bit_length() if head[at] else 9
        if id_length > 4:
            return None
        element_id = head[at:at + id_length]
        size = _ebml_vint(head, at + id_length)
        if size is None:
            return None
        at += id_length + size[1]
        if element_id == _EBML_DOC_TYPE_ID:
            return head[at:at + size[0]] if at + size[0] <= len(head) else None
        at += size[0]
    return None
