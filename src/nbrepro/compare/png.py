"""A small PNG decoder (stdlib ``zlib``) for comparing images pixel by pixel.

Supports what plotting libraries write: 8-bit, non-interlaced greyscale, RGB, palette,
greyscale+alpha and RGBA. Anything else raises :class:`PngUnsupported` and the caller falls back
to comparing bytes.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from itertools import accumulate

__all__ = ["PngImage", "PngUnsupported", "decode_png", "pixel_difference"]

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}
_COLOR_NAMES = {0: "grey", 2: "RGB", 3: "palette", 4: "grey+alpha", 6: "RGBA"}


class PngUnsupported(ValueError):
    """The data is not a PNG this decoder reads (the message says why)."""


@dataclass(frozen=True)
class PngImage:
    """A decoded image: ``rows`` of raw pixel bytes, ``channels`` bytes per pixel."""

    width: int
    height: int
    color_type: int
    rows: tuple[bytes, ...]
    palette: bytes = b""
    palette_alpha: bytes = b""

    @property
    def channels(self) -> int:
        """Bytes per pixel in :attr:`rows`."""
        return _CHANNELS[self.color_type]

    def rgba_rows(self) -> list[bytes]:
        """Rows converted to RGBA, 4 bytes per pixel."""
        if self.color_type == 6:
            return list(self.rows)
        out = []
        for row in self.rows:
            converted = bytearray(self.width * 4)
            if self.color_type == 0:
                converted[0::4] = converted[1::4] = converted[2::4] = row
                converted[3::4] = b"\xff" * self.width
            elif self.color_type == 4:
                grey = row[0::2]
                converted[0::4] = converted[1::4] = converted[2::4] = grey
                converted[3::4] = row[1::2]
            elif self.color_type == 2:
                converted[0::4], converted[1::4], converted[2::4] = row[0::3], row[1::3], row[2::3]
                converted[3::4] = b"\xff" * self.width
            else:
                for x, index in enumerate(row):
                    rgb = self.palette[3 * index : 3 * index + 3].ljust(3, b"\0")
                    alpha = self.palette_alpha[index] if index < len(self.palette_alpha) else 255
                    converted[4 * x : 4 * x + 4] = rgb + bytes((alpha,))
            out.append(bytes(converted))
        return out


def _chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    if not data.startswith(_SIGNATURE):
        raise PngUnsupported("not PNG data")
    chunks = []
    pos = len(_SIGNATURE)
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if len(body) != length:
            raise PngUnsupported("truncated PNG")
        chunks.append((kind, body))
        pos += 12 + length
        if kind == b"IEND":
            break
    return chunks


def _add_byte(total: int, value: int) -> int:
    return (total + value) & 0xFF


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def _unfilter(raw: bytes, width: int, height: int, bpp: int) -> tuple[bytes, ...]:
    stride = width * bpp
    if len(raw) < height * (stride + 1):
        raise PngUnsupported("truncated PNG image data")
    rows: list[bytes] = []
    prev = bytes(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind = raw[start]
        line = raw[start + 1 : start + 1 + stride]
        if kind == 0:
            row = bytes(line)
        elif kind == 1:  # Sub: running sum per channel
            out = bytearray(stride)
            for c in range(bpp):
                sums: list[int] = list(accumulate(line[c::bpp], _add_byte))
                out[c::bpp] = bytes(sums)
            row = bytes(out)
        elif kind == 2:  # Up
            row = bytes((v + p) & 0xFF for v, p in zip(line, prev, strict=True))
        elif kind == 3:  # Average
            out = bytearray(line)
            for i in range(stride):
                left = out[i - bpp] if i >= bpp else 0
                out[i] = (out[i] + ((left + prev[i]) >> 1)) & 0xFF
            row = bytes(out)
        elif kind == 4:  # Paeth
            out = bytearray(line)
            for i in range(stride):
                pred = _paeth(out[i - bpp], prev[i], prev[i - bpp]) if i >= bpp else prev[i]
                out[i] = (out[i] + pred) & 0xFF
            row = bytes(out)
        else:
            raise PngUnsupported(f"invalid PNG filter type {kind}")
        rows.append(row)
        prev = row
    return tuple(rows)


def decode_png(data: bytes) -> PngImage:
    """Decode PNG bytes; raise :class:`PngUnsupported` for formats this decoder does not read."""
    chunks = _chunks(data)
    if not chunks or chunks[0][0] != b"IHDR" or len(chunks[0][1]) != 13:
        raise PngUnsupported("PNG without a valid IHDR chunk")
    width, height, depth, color, _compression, _filter, interlace = struct.unpack(
        ">IIBBBBB", chunks[0][1]
    )
    if color not in _CHANNELS:
        raise PngUnsupported(f"invalid PNG colour type {color}")
    if depth != 8:
        raise PngUnsupported(f"{depth}-bit {_COLOR_NAMES[color]} PNG")
    if interlace:
        raise PngUnsupported("interlaced PNG")
    palette = b"".join(body for kind, body in chunks if kind == b"PLTE")
    alpha = b"".join(body for kind, body in chunks if kind == b"tRNS") if color == 3 else b""
    try:
        raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    except zlib.error as exc:
        raise PngUnsupported(f"corrupt PNG image data ({exc})") from None
    rows = _unfilter(raw, width, height, _CHANNELS[color])
    return PngImage(width, height, color, rows, palette, alpha)


def pixel_difference(expected: PngImage, actual: PngImage) -> int:
    """The number of pixels that differ (same size required; colour types may differ)."""
    if (expected.width, expected.height) != (actual.width, actual.height):
        raise ValueError("images differ in size")
    same_layout = expected.color_type == actual.color_type and (
        expected.color_type != 3
        or (expected.palette, expected.palette_alpha) == (actual.palette, actual.palette_alpha)
    )
    if same_layout:
        left, right, bpp = list(expected.rows), list(actual.rows), expected.channels
    else:
        left, right, bpp = expected.rgba_rows(), actual.rgba_rows(), 4
    differing = 0
    for a, b in zip(left, right, strict=True):
        if a == b:
            continue
        for x in range(0, len(a), bpp):
            if a[x : x + bpp] != b[x : x + bpp]:
                differing += 1
    return differing
