"""A zip written straight into the store, one entry at a time, in bounded memory.

``zipfile`` writes into ``_Sink``, an unseekable buffer, so every entry is streamed with a data descriptor
(sizes and CRC after the data) instead of seeking back; after each piece the sink is drained into the
store's ``ObjectWriter`` (a multipart upload on the bucket), which holds at most one part. Nothing is
written to local disk and nothing grows with the size of the files: what the process holds is one read
chunk, one upload part, and the zip's central directory (one small record per entry, which every zip
writer keeps until the end).

Stored media (JPEG, PNG, PDF) is already compressed: it goes in as ``ZIP_STORED``. Text (data.json) is
deflated.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

from honeydue.storage.base import ObjectWriter

# Central directory records carry the ZIP64 extra field for entries this large (or of unknown size).
ZIP64_THRESHOLD = zipfile.ZIP64_LIMIT
# Zip timestamps cannot express anything earlier.
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


class _Sink(io.RawIOBase):
    """Where ``zipfile`` writes: an append-only buffer the archive drains after every write.

    It cannot seek (``tell`` raises), which is what makes ``zipfile`` stream each entry with a data
    descriptor instead of rewriting its header afterwards.
    """

    def __init__(self) -> None:
        super().__init__()
        self._buffer = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self._buffer += data
        return len(data)

    def take(self) -> bytes:
        data = bytes(self._buffer)
        self._buffer.clear()
        return data


@dataclass(frozen=True)
class EntryDigest:
    """What went into one entry: its size in bytes and SHA-256 (hex)."""

    size: int
    sha256: str


def _zip_time(when: datetime | None) -> tuple[int, int, int, int, int, int]:
    if when is None:
        return _ZIP_EPOCH
    utc = when.astimezone(UTC)
    stamp = (utc.year, utc.month, utc.day, utc.hour, utc.minute, utc.second)
    return max(stamp, _ZIP_EPOCH)


class ZipStreamWriter:
    """Builds a zip entry by entry into ``out``; ``close`` writes the central directory and commits nothing.

    The caller commits or aborts ``out`` afterwards (``write_zip`` does both).
    """

    def __init__(self, out: ObjectWriter) -> None:
        self._out = out
        self._sink = _Sink()
        self._zip = zipfile.ZipFile(self._sink, mode="w", allowZip64=True)
        self.bytes_written = 0

    async def _drain(self) -> None:
        data = self._sink.take()
        if data:
            self.bytes_written += len(data)
            await self._out.write(data)

    async def add_stream(self, name: str, chunks: AsyncIterator[bytes], *, size_hint: int | None,
                         modified: datetime | None, compress: bool = False) -> EntryDigest:
        """Add ``name`` from ``chunks``; ``size_hint`` (the expected size) picks ZIP64 for huge entries."""
        info = zipfile.ZipInfo(name, date_time=_zip_time(modified))
        info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
        info.external_attr = 0o644 << 16  # a regular file, readable by everyone who unpacks it
        force_zip64 = size_hint is None or size_hint >= ZIP64_THRESHOLD
        digest = hashlib.sha256()
        size = 0
        with self._zip.open(info, mode="w", force_zip64=force_zip64) as entry:
            async for chunk in chunks:
                digest.update(chunk)
                size += len(chunk)
                entry.write(chunk)
                await self._drain()
        await self._drain()  # the data descriptor
        return EntryDigest(size=size, sha256=digest.hexdigest())

    async def add_text(self, name: str, pieces: AsyncIterator[str], *, modified: datetime | None) -> EntryDigest:
        """Add ``name`` as UTF-8 text from ``pieces``, deflated."""

        async def encoded() -> AsyncIterator[bytes]:
            async for piece in pieces:
                yield piece.encode("utf-8")

        return await self.add_stream(name, encoded(), size_hint=None, modified=modified, compress=True)

    async def close(self) -> int:
        """Write the central directory; returns the zip's size in bytes."""
        self._zip.close()
        await self._drain()
        return self.bytes_written
