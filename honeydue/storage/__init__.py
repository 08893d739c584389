"""Storage backends behind one interface (``base.Storage``); ``create_storage`` picks one.

A configured ``B2_ENDPOINT`` means the S3/B2 bucket; otherwise objects live in
the local media directory and uploads go through the gateway.
"""

from __future__ import annotations

from honeydue.settings import Settings
from honeydue.storage.base import (
    AccessDenied,
    BucketNotFound,
    ObjectInfo,
    ObjectNotFound,
    ObjectStream,
    ObjectWriter,
    Storage,
    StorageError,
    StorageTimeout,
    StorageUnavailable,
    UploadLengthMismatch,
    UploadTarget,
)

__all__ = [
    "AccessDenied",
    "BucketNotFound",
    "ObjectInfo",
    "ObjectNotFound",
    "ObjectStream",
    "ObjectWriter",
    "Storage",
    "StorageError",
    "StorageTimeout",
    "StorageUnavailable",
    "UploadLengthMismatch",
    "UploadTarget",
    "create_storage",
]


def create_storage(settings: Settings, public_base_url: str | None = None) -> Storage:
    """The backend the settings call for; the caller awaits ``start()`` and later ``close()``.

    ``public_base_url`` is where the gateway is reachable (the local backend's
    upload URLs point there); it defaults to ``PUBLIC_GATEWAY_URL``, then to the
    gateway's default address.
    """
    if settings.uses_s3:
        from honeydue.storage.s3 import S3Storage  # aioboto3 is only imported when a bucket is used

        return S3Storage.from_settings(settings)
    from honeydue.storage.local import LocalStorage

    return LocalStorage(
        settings.media_dir,
        public_base_url or settings.effective_public_gateway_url,
        settings.signing_keys(),
    )
