"""Where variants live: under derived keys next to their media's object, so a prefix listing, a purge by prefix
and a backup copy find them with it, and any deleter can name them from the media's key alone (no row needed).

``tasks/T/completions/U.jpg`` has ``tasks/T/completions/U.jpg.thumb.webp`` and ``….preview.webp``, beside the
upload's staging object ``U.jpg.upload``.
"""

from __future__ import annotations

from honeydue.media_policy import staging_key
from honeydue.models.enums import MediaVariantKind

WEBP = "image/webp"
VARIANT_CONTENT_TYPE = WEBP
_SUFFIXES: dict[MediaVariantKind, str] = {
    MediaVariantKind.THUMB: ".thumb.webp",
    MediaVariantKind.PREVIEW: ".preview.webp",
}
# The long side's bound of each kind, in pixels (never upscaled).
MAX_SIDE: dict[MediaVariantKind, int] = {MediaVariantKind.THUMB: 320, MediaVariantKind.PREVIEW: 1600}


def variant_key(key: str, kind: MediaVariantKind) -> str:
    return key + _SUFFIXES[MediaVariantKind(kind)]


def variant_keys(key: str) -> list[str]:
    """Every variant key a media stored at ``key`` may have (whether made yet or not)."""
    return [variant_key(key, kind) for kind in MediaVariantKind]


def object_keys(key: str) -> list[str]:
    """Every object of the media at ``key``: the served original, its upload's staging object, its variants.

    Deleting a media (delete, replace, clean-up, purge) deletes all of these; deleting a missing key is no error.
    """
    return [key, staging_key(key), *variant_keys(key)]


def variant_owner(key: str) -> str | None:
    """The media key a variant key belongs to; None when ``key`` is not a variant key."""
    for suffix in _SUFFIXES.values():
        if key.endswith(suffix) and len(key) > len(suffix):
            return key[: -len(suffix)]
    return None
