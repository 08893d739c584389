"""Build one data export: the user's files and data.json, zipped straight into the store.

Order inside the zip: the files first, then data.json, whose ``files`` list says where each file went (and
its SHA-256). While the files are copied, their entries are spooled to a small temporary file (a line of
JSON each, a few hundred bytes per file), so the list never sits in memory; data.json then streams it back.

Paths inside the zip are made by the server, never taken from the upload's name as is:
``files/<kind>/<media id>-<name>.<ext>`` with ``<name>`` reduced to ASCII letters, digits, ``-``, ``_`` and
``.`` (at most 60 characters) and the extension from the checked content type, so no entry can climb out
of the folder it is unpacked into, collide with another, or carry characters a file system refuses.
"""

from __future__ import annotations

import json
import logging
import re
import tempfile
import unicodedata
from collections.abc import AsyncIterator, Iterable
from datetime import datetime
from typing import IO, Any

from honeydue.data_exports import ZIP
from honeydue.media_policy import EXTENSIONS, normalize_content_type, sanitize_filename
from honeydue.models import Media, MediaPurpose, User
from honeydue.storage.base import ObjectInfo, ObjectNotFound, Storage
from workers.export_archive import ZipStreamWriter
from workers.export_document import document, owned_files
from workers.paging import pages

log = logging.getLogger(__name__)

DATA_JSON = "data.json"
FILES_DIR = "files"
FOLDERS = {
    MediaPurpose.AVATAR: "avatars",
    MediaPurpose.COMPLETION_PHOTO: "completion-photos",
    MediaPurpose.DOCUMENT_FILE: "document-files",
    MediaPurpose.RESIDENCE_PHOTO: "residence-photos",
}
MAX_NAME_CHARS = 60
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def archive_path(media: Media) -> str:
    """Where ``media`` goes inside the zip (see module docstring)."""
    folder = FOLDERS.get(MediaPurpose(media.purpose), "other")
    extension = EXTENSIONS.get(normalize_content_type(media.content_type), "bin")
    stem = sanitize_filename(media.filename)
    if stem.lower().endswith("." + extension):
        stem = stem[: -len(extension) - 1]
    ascii_stem = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    safe = _UNSAFE.sub("_", ascii_stem).strip("._-")[:MAX_NAME_CHARS].rstrip("._-")
    name = f"{media.id}-{safe}" if safe else str(media.id)
    return f"{FILES_DIR}/{folder}/{name}.{extension}"


def _file_entry(media: Media, path: str | None, sha256: str | None) -> dict[str, Any]:
    return {
        "id": str(media.id),
        "purpose": MediaPurpose(media.purpose).value,
        "filename": media.filename,
        "contentType": media.content_type,
        "size": media.size,
        "createdAt": media.created_at.isoformat(),
        "residenceId": None if media.residence_id is None else str(media.residence_id),
        "completionId": None if media.completion_id is None else str(media.completion_id),
        "documentId": None if media.document_id is None else str(media.document_id),
        "path": path,
        "sha256": sha256,
    }


async def _copy_files(zip_out: ZipStreamWriter, storage: Storage, user: User, spool: IO[str]) -> int:
    """Copy each of the user's READY files into the zip; spool its data.json entry. Returns how many."""
    copied = 0
    async for page in pages(owned_files(user)):
        for media in page:
            path = archive_path(media)
            try:
                # Opened before the entry starts, so a missing object leaves no empty entry behind.
                stream = await storage.open(media.key)
            except ObjectNotFound:
                log.warning("data export of user %s: file %s (%s) is missing from the store", user.id, media.id,
                            media.key)
                spool.write(json.dumps(_file_entry(media, None, None), ensure_ascii=False) + "\n")
                continue
            try:
                digest = await zip_out.add_stream(path, stream.chunks, size_hint=media.size,
                                                  modified=media.finalized_at or media.created_at)
            finally:
                await stream.aclose()
            copied += 1
            spool.write(json.dumps(_file_entry(media, path, digest.sha256), ensure_ascii=False) + "\n")
    return copied


async def _spooled(spool: IO[str]) -> AsyncIterator[Iterable[dict[str, Any]]]:
    spool.seek(0)
    batch: list[dict[str, Any]] = []
    for line in spool:
        batch.append(json.loads(line))
        if len(batch) >= 100:
            yield batch
            batch = []
    yield batch


async def write_export(storage: Storage, key: str, user: User, exported_at: datetime) -> ObjectInfo:
    """Write the export zip of ``user`` to ``key``; returns the stored object's metadata.

    On any failure the partial upload is dropped (the key is left as it was) and the error raised.
    """
    out = storage.open_writer(key, ZIP)
    try:
        zip_out = ZipStreamWriter(out)
        with tempfile.TemporaryFile("w+", encoding="utf-8") as spool:
            copied = await _copy_files(zip_out, storage, user, spool)
            await zip_out.add_text(DATA_JSON, document(user, exported_at, lambda: _spooled(spool)),
                                   modified=exported_at)
        size = await zip_out.close()
        info = await out.commit()
    except BaseException:
        await out.abort()
        raise
    log.info("data export of user %s: %d files, %d bytes", user.id, copied, size)
    return info
