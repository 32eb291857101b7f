"""Draw Trellis's app icons as PNG files: `python scripts/make_icons.py`.

The icon is the favicon's trellis (trellis/static/trellis/icons/favicon.svg): three
uprights and two cross bars in the page colour on the accent green. Written with the
standard library only (no imaging package): each pixel's coverage of the shapes comes
from its distance to their edges, which smooths the edges as well as supersampling would.

- icon-192.png, icon-512.png: rounded square on a transparent ground ("any" purpose).
- icon-maskable-512.png: full bleed, the trellis inside the central safe circle (radius
  40 % of the side) that a launcher's mask always keeps ("maskable" purpose).
- apple-touch-icon.png (180): full bleed, since iOS rounds the corners itself and would
  show transparent ones as black.

Run it again after changing the drawing; tests/test_icons.py checks every file the
manifest and the pages name exists at the size they claim.
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "trellis" / "static" / "trellis" / "icons"
GROUND = (0x1F, 0x6B, 0x4F)  # --accent (light scheme), also the manifest's theme colour
LATTICE = (0xFB, 0xFA, 0xF7)  # --paper

# The favicon's drawing in its 32-unit box: segments (x1, y1, x2, y2), stroke width.
SEGMENTS = [(9, 8, 9, 24), (16, 8, 16, 24), (23, 8, 23, 24), (6, 12, 26, 12), (6, 20, 26, 20)]
STROKE = 2.4
CORNER = 6


def _segment_distance(px: float, py: float, seg: tuple[float, float, float, float]) -> float:
    x1, y1, x2, y2 = seg
    dx, dy = x2 - x1, y2 - y1
    t = max(0.0, min(1.0, ((px - x1) * dx + (py - y1) * dy) / (dx * dx + dy * dy)))
    return math.hypot(px - (x1 + t * dx), py - (y1 + t * dy))


def _rounded_square_distance(px: float, py: float, half: float, radius: float) -> float:
    """Signed distance from the centre-origin point to a rounded square (negative inside)."""
    qx, qy = abs(px) - half + radius, abs(py) - half + radius
    outside = math.hypot(max(qx, 0.0), max(qy, 0.0))
    return outside + min(max(qx, qy), 0.0) - radius


def draw(size: int, *, full_bleed: bool, scale: float) -> bytes:
    """RGBA rows of the icon at `size` pixels; `scale` sizes the trellis about the centre."""
    unit = size / 32  # pixels per unit of the 32-unit drawing
    rows = []
    for row in range(size):
        line = bytearray([0])  # PNG filter type 0 for the row
        for col in range(size):
            # Pixel centre in drawing units, then into the trellis's own (scaled) frame.
            ux, uy = (col + 0.5) / unit, (row + 0.5) / unit
            if full_bleed:
                ground = 1.0
            else:
                d = _rounded_square_distance(ux - 16, uy - 16, 16, CORNER) * unit
                ground = min(1.0, max(0.0, 0.5 - d))
            lx, ly = 16 + (ux - 16) / scale, 16 + (uy - 16) / scale
            d = min(_segment_distance(lx, ly, seg) for seg in SEGMENTS) - STROKE / 2
            lattice = min(1.0, max(0.0, 0.5 - d * scale * unit)) * ground
            colour = [round(g + (v - g) * lattice) for g, v in zip(GROUND, LATTICE, strict=True)]
            line += bytes([*colour, round(255 * ground)])
        rows.append(bytes(line))
    return b"".join(rows)


def png(size: int, pixels: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(pixels, 9))
        + chunk(b"IEND", b"")
    )


ICONS: dict[str, Callable[[], bytes]] = {
    "icon-192.png": lambda: png(192, draw(192, full_bleed=False, scale=1.0)),
    "icon-512.png": lambda: png(512, draw(512, full_bleed=False, scale=1.0)),
    "icon-maskable-512.png": lambda: png(512, draw(512, full_bleed=True, scale=0.78)),
    "apple-touch-icon.png": lambda: png(180, draw(180, full_bleed=True, scale=0.9)),
}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, make in ICONS.items():
        (OUT / name).write_bytes(make())
        print(f"wrote {OUT / name}")


if __name__ == "__main__":
    main()
