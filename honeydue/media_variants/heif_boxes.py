"""Blank the EXIF and XMP items of a HEIC/HEIF file in place: the pictures and every offset stay as they are.

HEIF (ISO/IEC 23008-12) keeps metadata as *items*, listed in the ``meta`` box's ``iinf`` (item type ``Exif``,
or ``mime`` with content type ``application/rdf+xml`` for XMP) and located by its ``iloc`` (extents in the file,
or in the ``idat`` box). Removing an item would shift every offset after it; overwriting its bytes with a
metadata block of the same length does not, and needs no re-encoding of the HEVC pictures (which on a phone
photo takes tens of seconds). The EXIF item becomes an empty EXIF block (``Exif\\0\\0`` and a TIFF header with no
tags, then zero padding), the XMP item an empty XMP packet padded with spaces, as XMP allows. The orientation
lives in the picture's own ``irot``/``imir`` properties, which are untouched.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

_EMPTY_TIFF = b"MM\x00\x2a\x00\x00\x00\x08" + b"\x00\x00" + b"\x00\x00\x00\x00"  # big-endian, one IFD, no tags
_EMPTY_XMP = (b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"/>'
              b'<?xpacket end="w"?>')


class HeifStructureError(ValueError):
    """The file's boxes are not what HEIF says (or use a layout this editor does not handle)."""


@dataclass
class _Box:
    kind: bytes
    start: int  # the box's first byte
    body: int  # its payload's first byte (after size, type, and the largesize when present)
    end: int


def _boxes(data: bytes, start: int, end: int) -> list[_Box]:
    boxes, at = [], start
    while at + 8 <= end:
        size, kind = struct.unpack(">I4s", data[at:at + 8])
        body = at + 8
        if size == 1:
            if at + 16 > end:
                raise HeifStructureError("truncated largesize")
            (size,) = struct.unpack(">Q", data[at + 8:at + 16])
            body = at + 16
        elif size == 0:
            size = end - at
        if size < body - at or at + size > end:
            raise HeifStructureError(f"box {kind!r} at {at} runs past its parent")
        boxes.append(_Box(kind, at, body, at + size))
        at += size
    return boxes


def _child(data: bytes, parent: _Box, kind: bytes, full_box: bool = True) -> _Box | None:
    start = parent.body + (4 if full_box else 0)
    return next((b for b in _boxes(data, start, parent.end) if b.kind == kind), None)


def _uint(data: bytes, at: int, size: int) -> int:
    return int.from_bytes(data[at:at + size], "big") if size else 0


def _metadata_items(data: bytes, iinf: _Box) -> dict[int, bytes]:
    """item_ID -> b"Exif" or b"XMP" for the metadata items listed in ``iinf``."""
    version = data[iinf.body]
    at = iinf.body + 4 + (2 if version == 0 else 4)
    found: dict[int, bytes] = {}
    for infe in _boxes(data, at, iinf.end):
        if infe.kind != b"infe":
            continue
        v = data[infe.body]
        if v < 2:
            continue  # version 0/1 entries predate item types; no metadata items there
        p = infe.body + 4
        item_id = _uint(data, p, 2 if v == 2 else 4)
        p += (2 if v == 2 else 4) + 2  # item_ID, item_protection_index
        item_type = data[p:p + 4]
        p += 4
        if item_type == b"Exif":
            found[item_id] = b"Exif"
        elif item_type == b"mime":
            name_end = data.index(b"\x00", p, infe.end)  # item_name
            type_end = data.find(b"\x00", name_end + 1, infe.end)
            content_type = data[name_end + 1:type_end if type_end >= 0 else infe.end]
            if content_type.strip().lower() == b"application/rdf+xml":
                found[item_id] = b"XMP"
    return found


def _extents(data: bytes, iloc: _Box, idat: _Box | None, wanted: set[int]) -> dict[int, list[tuple[int, int]]]:
    """item_ID -> its (file offset, length) extents, for the ``wanted`` items."""
    version = data[iloc.body]
    p = iloc.body + 4
    offset_size, length_size = data[p] >> 4, data[p] & 0x0F
    base_offset_size, index_size = data[p + 1] >> 4, (data[p + 1] & 0x0F) if version in (1, 2) else 0
    p += 2
    count_size = 4 if version == 2 else 2
    count = _uint(data, p, count_size)
    p += count_size
    found: dict[int, list[tuple[int, int]]] = {}
    for _ in range(count):
        item_id = _uint(data, p, 4 if version == 2 else 2)
        p += 4 if version == 2 else 2
        method = 0
        if version in (1, 2):
            method = data[p + 1] & 0x0F
            p += 2
        p += 2  # data_reference_index
        base = _uint(data, p, base_offset_size)
        p += base_offset_size
        extent_count = _uint(data, p, 2)
        p += 2
        extents = []
        for _ in range(extent_count):
            p += index_size
            offset = _uint(data, p, offset_size)
            p += offset_size
            length = _uint(data, p, length_size)
            p += length_size
            extents.append((base + offset, length))
        if p > iloc.end:
            raise HeifStructureError("iloc runs past its box")
        if item_id not in wanted:
            continue
        if method == 1:
            if idat is None:
                raise HeifStructureError("an item in idat without an idat box")
            extents = [(idat.body + offset, length) for offset, length in extents]
        elif method != 0:
            raise HeifStructureError(f"item {item_id} uses construction method {method}")
        if any(length == 0 for _, length in extents):
            raise HeifStructureError(f"item {item_id} extends to the end of the file")  # length 0: rest of file
        found[item_id] = extents
    return found


def blank_metadata(data: bytes) -> bytes | None:
    """``data`` with its EXIF and XMP items overwritten by empty ones of the same length; None when it has none
    (or they are empty already)."""
    top = _boxes(data, 0, len(data))
    meta = next((b for b in top if b.kind == b"meta"), None)
    if meta is None:
        raise HeifStructureError("no meta box")
    iinf, iloc = _child(data, meta, b"iinf"), _child(data, meta, b"iloc")
    if iinf is None or iloc is None:
        raise HeifStructureError("meta box without iinf or iloc")
    kinds = _metadata_items(data, iinf)
    if not kinds:
        return None
    extents = _extents(data, iloc, _child(data, meta, b"idat"), set(kinds))
    out = bytearray(data)
    for item_id, kind in kinds.items():
        spans = extents.get(item_id)
        if not spans:
            continue
        total = sum(length for _, length in spans)
        if kind == b"Exif":  # a 4-byte offset to the TIFF header, then the EXIF block
            payload = struct.pack(">I", 6) + b"Exif\x00\x00" + _EMPTY_TIFF
            if total < len(payload):
                payload = b"\x00" * total
        else:
            payload = _EMPTY_XMP if total >= len(_EMPTY_XMP) else b""
            payload += b" " * (total - len(payload))
        payload = payload.ljust(total, b"\x00")
        at = 0
        for offset, length in spans:
            if offset + length > len(data):
                raise HeifStructureError(f"item {item_id} lies past the end of the file")
            out[offset:offset + length] = payload[at:at + length]
            at += length
    return bytes(out) if out != data else None  # already blank: nothing to remove
