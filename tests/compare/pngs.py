"""Build PNG files with zlib (an encoder independent of the decoder under test)."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence

Pixel = tuple[int, ...]


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _filter(kind: int, row: bytes, prev: bytes, bpp: int) -> bytes:
    out = bytearray()
    for i, value in enumerate(row):
        left = row[i - bpp] if i >= bpp else 0
        up = prev[i]
        up_left = prev[i - bpp] if i >= bpp else 0
        predictor = {
            0: 0,
            1: left,
            2: up,
            3: (left + up) // 2,
            4: _paeth(left, up, up_left),
        }[kind]
        out.append((value - predictor) % 256)
    return bytes([kind]) + bytes(out)


def make_png(
    pixels: Sequence[Sequence[Pixel | int]],
    color_type: int = 2,
    filters: Sequence[int] = (0,),
    bit_depth: int = 8,
    interlace: int = 0,
    palette: Sequence[tuple[int, int, int]] = (),
    extra_chunks: Sequence[tuple[bytes, bytes]] = (),
    level: int = 6,
) -> bytes:
    """A PNG of ``pixels`` (rows of tuples, or ints for grey/palette), row y filtered with
    ``filters[y % len(filters)]``. ``bit_depth``/``interlace`` are only written to the header
    (to build files the decoder must refuse)."""
    height, width = len(pixels), len(pixels[0])
    rows = []
    for row in pixels:
        flat: list[int] = []
        for px in row:
            flat.extend(px if isinstance(px, tuple) else (px,))
        rows.append(bytes(flat))
    bpp = len(rows[0]) // width
    raw = bytearray()
    prev = bytes(len(rows[0]))
    for y, row in enumerate(rows):
        raw += _filter(filters[y % len(filters)], row, prev, bpp)
        prev = row
    header = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, interlace)
    chunks = [_chunk(b"IHDR", header)]
    if palette:
        chunks.append(_chunk(b"PLTE", b"".join(bytes(rgb) for rgb in palette)))
    chunks += [_chunk(kind, body) for kind, body in extra_chunks]
    chunks.append(_chunk(b"IDAT", zlib.compress(bytes(raw), level)))
    chunks.append(_chunk(b"IEND", b""))
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks)
