"""Colours and plane geometry shared by the code-drawn training stickers (``drawn``,
``doodles``): points along curves and the outlines of ellipses, drops, hearts and stars, in
pixel coordinates (y down), and the round-ended ink line both draw with."""

from __future__ import annotations

import colorsys
import math

from PIL import ImageDraw

RGB = tuple[int, int, int]
Point = tuple[float, float]


def hsv(h: float, s: float, v: float) -> RGB:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, min(max(s, 0.0), 1.0), min(max(v, 0.0), 1.0))
    return round(r * 255), round(g * 255), round(b * 255)


def mix(a: RGB, b: RGB, t: float) -> RGB:
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def quad(p0: Point, p1: Point, p2: Point, n: int = 12) -> list[Point]:
    """Points along a quadratic curve from p0 to p2 pulled toward p1."""
    out = []
    for i in range(n + 1):
        t = i / n
        a, b, c = (1 - t) ** 2, 2 * t * (1 - t), t * t
        out.append((a * p0[0] + b * p1[0] + c * p2[0], a * p0[1] + b * p1[1] + c * p2[1]))
    return out


def bow(x0: float, x1: float, y: float, bulge: float, n: int = 12) -> list[Point]:
    """A curve from (x0, y) to (x1, y) whose middle is ``bulge`` lower (negative: higher)."""
    return quad((x0, y), ((x0 + x1) / 2, y + 2 * bulge), (x1, y), n)


def ellipse_pts(cx: float, cy: float, rx: float, ry: float, angle: float = 0.0, n: int = 32) -> list[Point]:
    ca, sa = math.cos(angle), math.sin(angle)
    pts = []
    for i in range(n):
        t = 2 * math.pi * i / n
        x, y = rx * math.cos(t), ry * math.sin(t)
        pts.append((cx + x * ca - y * sa, cy + x * sa + y * ca))
    return pts


def grow(pts: list[Point], d: float) -> list[Point]:
    """The polygon pushed out by ``d`` along its normals: a shape's outline drawn behind it."""
    area = sum(pts[i - 1][0] * pts[i][1] - pts[i][0] * pts[i - 1][1] for i in range(len(pts)))
    sign = 1.0 if area >= 0 else -1.0
    out = []
    for i, (x, y) in enumerate(pts):
        (x0, y0), (x1, y1) = pts[i - 1], pts[(i + 1) % len(pts)]
        tx, ty = x1 - x0, y1 - y0
        length = math.hypot(tx, ty) or 1.0
        out.append((x + sign * d * ty / length, y - sign * d * tx / length))
    return out


def drop_pts(x: float, y: float, r: float, angle: float) -> list[Point]:
    """A drop whose round end is at (x, y) and whose tip points ``angle`` away from straight up."""
    local = [(0.0, -2.2 * r)]
    local += [(r * math.cos(math.radians(a)), r * math.sin(math.radians(a))) for a in range(-30, 211, 15)]
    ca, sa = math.cos(angle), math.sin(angle)
    return [(x + px * ca - py * sa, y + px * sa + py * ca) for px, py in local]


def heart_pts(x: float, y: float, s: float) -> list[Point]:
    pts = []
    for i in range(36):
        t = 2 * math.pi * i / 36
        hx = 16 * math.sin(t) ** 3
        hy = 13 * math.cos(t) - 5 * math.cos(2 * t) - 2 * math.cos(3 * t) - math.cos(4 * t)
        pts.append((x + hx * s / 32, y - hy * s / 32))
    return pts


def star_pts(
    x: float, y: float, r: float, points: int = 5, inner: float = 0.45, turn: float = 0.0
) -> list[Point]:
    pts = []
    for i in range(points * 2):
        rad = r if i % 2 == 0 else r * inner
        t = -math.pi / 2 + turn + math.pi * i / points
        pts.append((x + rad * math.cos(t), y + rad * math.sin(t)))
    return pts


def curve(draw: ImageDraw.ImageDraw, pts: list[Point], colour: RGB, width: float) -> None:
    """A line with round ends and joints, as ink strokes look."""
    w = max(1, round(width))
    draw.line(pts, fill=colour, width=w, joint="curve")
    r = w / 2
    for x, y in (pts[0], pts[-1]):
        draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
