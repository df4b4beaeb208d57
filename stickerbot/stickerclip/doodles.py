"""A second hand for the drawn training stickers: doodles, characters and animals.

``drawn`` draws one kind of cartoon sticker: a filled head with clean ink that fills the
frame. A head trained on it alone learns that one hand as well as the expressions, and reads
little else (the dev drawings: 44% with ``drawn`` alone). This module draws the same
expressions (``drawn.EXPRESSIONS``, so the labels stay one table) another way:

- line work: a pen that wobbles and goes over its line twice, dashed and dotted pens, thick
  markers, light chalk or neon ink on dark;
- fills: none (paper white, or the dark ground showing through), flat, hatched, stippled, two-
  tone, or a wash that misses its line;
- forms: a head of any outline (wobbly blobs, rounded polygons, eggs), a character whose face
  is a small part of a body with arms and legs, or a head on a body, or an animal head with
  its own ears, muzzle and whiskers;
- grounds: none, paper, a tile, a dark tile, or a blurred "photo".

Every face part is drawn with the pen of the drawing, so no part has one fixed look. The
design is this module's own; like ``drawn`` it never reads the evaluation sets.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from stickerbot.stickerclip.drawn import SUPERSAMPLE, WHITE, Expression, drawings
from stickerbot.stickerclip.shapes import (
    RGB,
    Point,
    bow,
    curve,
    drop_pts,
    ellipse_pts,
    heart_pts,
    hsv,
    mix,
    star_pts,
)

PAPER: RGB = (250, 248, 240)
TEAR: RGB = (120, 190, 250)
TONGUE: RGB = (238, 105, 125)
HEART: RGB = (230, 45, 75)
GOLD: RGB = (255, 200, 50)
MOUTH: RGB = (120, 30, 40)


@dataclass(frozen=True)
class Pen:
    """How every line of one drawing is drawn."""

    colour: RGB
    width: float
    style: str  # sketch | dash | dot | marker | clean
    wobble: float  # how far the line strays, in pixels


@dataclass
class _Doodle:
    """One drawing in progress: its canvas, pen, and where its face is (supersampled pixels)."""

    canvas: Image.Image
    draw: ImageDraw.ImageDraw
    rng: random.Random
    pen: Pen
    fill: RGB | None  # the face's fill; None: the ground shows through
    fx: float
    fy: float
    u: float  # the face's half-width

    @property
    def e(self) -> float:
        return self.u * 0.19


# ---------------------------------------------------------------- the pen


def _along(pts: list[Point], step: float) -> list[Point]:
    """Points every ``step`` pixels along a polyline (its corners kept close enough)."""
    out = [pts[0]]
    for (x0, y0), (x1, y1) in zip(pts, pts[1:], strict=False):
        n = max(1, int(math.hypot(x1 - x0, y1 - y0) / step))
        out += [(x0 + (x1 - x0) * i / n, y0 + (y1 - y0) * i / n) for i in range(1, n + 1)]
    return out


def _wobbled(pts: list[Point], amount: float, rng: random.Random) -> list[Point]:
    """The line as a hand draws it: a slow drift, not noise on every point."""
    if amount <= 0 or len(pts) < 2:
        return pts
    a, b = rng.uniform(1.5, 4.0), rng.uniform(4.0, 9.0)
    px, py, qx, qy = (rng.uniform(0, 2 * math.pi) for _ in range(4))
    n = len(pts) - 1
    return [
        (
            x
            + amount * (0.7 * math.sin(a * i / n * math.pi + px) + 0.3 * math.sin(b * i / n * math.pi + qx)),
            y
            + amount * (0.7 * math.sin(a * i / n * math.pi + py) + 0.3 * math.sin(b * i / n * math.pi + qy)),
        )
        for i, (x, y) in enumerate(pts)
    ]


def stroke(
    d: _Doodle, pts: list[Point], *, closed: bool = False, scale: float = 1.0, colour: RGB | None = None
) -> None:
    """One line in the drawing's pen (``scale`` thins it for small parts)."""
    pen, rng = d.pen, d.rng
    colour = colour or pen.colour
    width = max(1.5, pen.width * scale)
    if closed:
        pts = [*pts, pts[0]]
    pts = _along(pts, max(2.0, width * 0.6))
    if len(pts) < 2:
        return
    wobble = pen.wobble * min(1.0, scale + 0.3)
    if pen.style == "dot":
        gap = max(3, int(width * 1.6 / max(2.0, width * 0.6)))
        for x, y in _wobbled(pts, wobble, rng)[::gap]:
            r = width * 0.55
            d.draw.ellipse((x - r, y - r, x + r, y + r), fill=colour)
    elif pen.style == "dash":
        on = max(3, int(width * 3.5 / max(2.0, width * 0.6)))
        line = _wobbled(pts, wobble, rng)
        for i in range(0, len(line), 2 * on):
            if len(line[i : i + on + 1]) > 1:
                curve(d.draw, line[i : i + on + 1], colour, width)
    else:
        passes = 2 if pen.style == "sketch" else 1
        for _ in range(passes):
            curve(d.draw, _wobbled(pts, wobble, rng), colour, width * (0.8 if passes > 1 else 1.0))


def blot(d: _Doodle, pts: list[Point], colour: RGB, *, outline: bool = False, scale: float = 0.6) -> None:
    """A filled shape (a pupil, a tear, a heart), outlined in the pen or not."""
    d.draw.polygon(pts, fill=colour)
    if outline:
        stroke(d, pts, closed=True, scale=scale)


def _inside(d: _Doodle, pts: list[Point], paint: Callable[[ImageDraw.ImageDraw], None]) -> None:
    """Paint on the canvas only inside ``pts``."""
    size = d.canvas.size
    mask = Image.new("L", size, 0)
    ImageDraw.Draw(mask).polygon(pts, fill=255)
    layer = Image.new("RGBA", size, (0, 0, 0, 0))
    paint(ImageDraw.Draw(layer))
    d.canvas.paste(layer, (0, 0), Image.composite(layer.getchannel("A"), Image.new("L", size, 0), mask))


# ---------------------------------------------------------------- outlines


def _smooth(pts: list[Point], rounds: int = 2) -> list[Point]:
    """Chaikin's corner cutting: a polygon with rounded corners."""
    for _ in range(rounds):
        out = []
        for (x0, y0), (x1, y1) in zip(pts, pts[1:] + pts[:1], strict=True):
            out += [
                (0.75 * x0 + 0.25 * x1, 0.75 * y0 + 0.25 * y1),
                (0.25 * x0 + 0.75 * x1, 0.25 * y0 + 0.75 * y1),
            ]
        pts = out
    return pts


def outline(kind: str, cx: float, cy: float, rx: float, ry: float, rng: random.Random) -> list[Point]:
    """A head or body outline: ``blob``, ``polygon``, ``egg`` or ``squircle``."""
    if kind == "polygon":
        k = rng.choice((3, 4, 5, 6, 8))
        turn = rng.choice((-math.pi / 2, math.pi / 2, math.pi / k - math.pi / 2, rng.uniform(0, math.pi)))
        corners = [
            (cx + rx * math.cos(turn + 2 * math.pi * i / k), cy + ry * math.sin(turn + 2 * math.pi * i / k))
            for i in range(k)
        ]
        return _smooth(corners, rng.choice((2, 3)))
    if kind == "squircle":
        p = rng.uniform(2.5, 5.0)
        pts = []
        for i in range(48):
            t = 2 * math.pi * i / 48
            c, s = math.cos(t), math.sin(t)
            pts.append(
                (cx + rx * math.copysign(abs(c) ** (2 / p), c), cy + ry * math.copysign(abs(s) ** (2 / p), s))
            )
        return pts
    if kind == "egg":
        k = rng.uniform(0.1, 0.3) * rng.choice((-1, 1))  # wider at the bottom or at the top
        return [
            (cx + rx * math.cos(t) * (1 + k * math.sin(t)), cy + ry * math.sin(t))
            for t in (2 * math.pi * i / 48 for i in range(48))
        ]
    a2, a3 = rng.uniform(0, 0.1), rng.uniform(0, 0.07)
    p2, p3 = rng.uniform(0, 2 * math.pi), rng.uniform(0, 2 * math.pi)
    pts = []
    for i in range(48):
        t = 2 * math.pi * i / 48
        r = 1 + a2 * math.cos(2 * t + p2) + a3 * math.cos(3 * t + p3)
        pts.append((cx + rx * r * math.cos(t), cy + ry * r * math.sin(t)))
    return pts


def _paint_body(d: _Doodle, pts: list[Point], fill: RGB | None, mode: str) -> None:
    rng = d.rng
    if fill is not None:
        if mode == "wash":  # a watercolour wash that misses its line
            dx, dy = (rng.uniform(-0.05, 0.05) * d.u for _ in range(2))
            layer = Image.new("RGBA", d.canvas.size, (0, 0, 0, 0))
            ImageDraw.Draw(layer).polygon([(x + dx, y + dy) for x, y in pts], fill=(*fill, 235))
            d.canvas.alpha_composite(layer.filter(ImageFilter.GaussianBlur(d.u * 0.03)))
        else:
            d.draw.polygon(pts, fill=fill)
        if mode == "two-tone":
            shade = mix(fill, (40, 30, 60), 0.2)
            ys = [p[1] for p in pts]
            cut = min(ys) + (max(ys) - min(ys)) * rng.uniform(0.55, 0.7)
            _inside(d, pts, lambda g: g.rectangle((0, cut, d.canvas.width, d.canvas.height), fill=shade))
    if mode == "hatch":
        angle, gap = rng.uniform(0, math.pi), max(6.0, d.u * rng.uniform(0.08, 0.14))
        colour = mix(d.pen.colour, fill or WHITE, 0.7)
        width = max(1, round(d.pen.width * 0.45))

        def hatch(g: ImageDraw.ImageDraw) -> None:
            size = d.canvas.width
            dx, dy = math.cos(angle), math.sin(angle)
            for k in np.arange(-size, size, gap):
                ox, oy = size / 2 - dy * k, size / 2 + dx * k
                g.line(
                    (ox - dx * size, oy - dy * size, ox + dx * size, oy + dy * size), fill=colour, width=width
                )

        _inside(d, pts, hatch)
    elif mode == "stipple":
        colour = mix(d.pen.colour, fill or WHITE, 0.5)
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]

        def dots(g: ImageDraw.ImageDraw) -> None:
            r = max(1.0, d.pen.width * 0.3)
            for _ in range(int(d.u * 1.5)):
                x, y = rng.uniform(min(xs), max(xs)), rng.uniform(min(ys), max(ys))
                g.ellipse((x - r, y - r, x + r, y + r), fill=colour)

        _inside(d, pts, dots)
    stroke(d, pts, closed=True)


# ---------------------------------------------------------------- eyes


def _eye_open(d: _Doodle, side: int, x: float, y: float, e: float) -> None:
    blot(d, ellipse_pts(x, y, e * 0.55, e * 0.8), d.pen.colour)
    if d.rng.random() < 0.5:
        r = e * 0.2
        d.draw.ellipse((x + e * 0.1 - r, y - e * 0.4 - r, x + e * 0.1 + r, y - e * 0.4 + r), fill=WHITE)


def _eye_ring(d: _Doodle, x: float, y: float, e: float, px: float, py: float, size: float = 0.4) -> None:
    ring = ellipse_pts(x, y, e, e * 1.15)
    d.draw.polygon(ring, fill=WHITE)
    stroke(d, ring, closed=True, scale=0.6)
    blot(d, ellipse_pts(x + px * e, y + py * e, e * size, e * size), d.pen.colour)


def _eye_wide(d: _Doodle, side: int, x: float, y: float, e: float) -> None:
    _eye_ring(d, x, y, e * 1.1, d.rng.uniform(-0.1, 0.1), d.rng.uniform(-0.1, 0.1), 0.3)


def _eye_squint(d: _Doodle, side: int, x: float, y: float, e: float) -> None:
    tip = x - side * e * 0.7  # the point of > < faces the nose
    stroke(d, [(x + side * e, y - e * 0.7), (tip, y), (x + side * e, y + e * 0.7)], scale=0.8)


def _eye_happy(d: _Doodle, side: int, x: float, y: float, e: float) -> None:
    stroke(d, bow(x - e, x + e, y + e * 0.3, -e * 0.7), scale=0.8)


def _eye_closed(d: _Doodle, side: int, x: float, y: float, e: float) -> None:
    stroke(d, bow(x - e, x + e, y - e * 0.2, e * 0.45), scale=0.8)
    if d.rng.random() < 0.4:  # lashes
        for k in (-0.6, 0.0, 0.6):
            stroke(d, [(x + k * e, y + e * 0.1), (x + k * e * 1.3, y + e * 0.6)], scale=0.4)


def _eye_heart(d: _Doodle, side: int, x: float, y: float, e: float) -> None:
    blot(d, heart_pts(x, y, e * 2.6), HEART, outline=d.rng.random() < 0.5)


def _eye_star(d: _Doodle, side: int, x: float, y: float, e: float) -> None:
    blot(d, star_pts(x, y, e * 1.3, 5, 0.45, d.rng.uniform(-0.3, 0.3)), GOLD, outline=d.rng.random() < 0.6)


def _eye_wink(d: _Doodle, side: int, x: float, y: float, e: float) -> None:
    (_eye_happy if side > 0 else _eye_open)(d, side, x, y, e)


def _eye_glance(d: _Doodle, side: int, x: float, y: float, e: float) -> None:
    _eye_ring(d, x, y, e, 0.5, 0.15)
    stroke(d, [(x - e * 1.1, y - e * 0.5), (x + e * 1.1, y - e * 0.5)], scale=0.6)


def _eye_roll(d: _Doodle, side: int, x: float, y: float, e: float) -> None:
    _eye_ring(d, x, y, e, 0.25 * side, -0.6)


def _eye_line(d: _Doodle, side: int, x: float, y: float, e: float) -> None:
    stroke(d, [(x - e, y), (x + e, y)], scale=0.8)


def _eye_pleading(d: _Doodle, side: int, x: float, y: float, e: float) -> None:
    blot(d, ellipse_pts(x, y, e * 1.2, e * 1.35), d.pen.colour)
    for ox, oy, r in ((0.35, -0.45, 0.35), (-0.3, 0.35, 0.18)):
        d.draw.ellipse((x + (ox - r) * e, y + (oy - r) * e, x + (ox + r) * e, y + (oy + r) * e), fill=WHITE)
    stroke(d, bow(x - e * 1.2, x + e * 1.2, y + e * 1.5, e * 0.3), scale=0.5, colour=TEAR)


def _eye_tight(d: _Doodle, side: int, x: float, y: float, e: float) -> None:
    tip = x - side * e * 0.9
    stroke(d, [(x + side * e, y - e * 0.35), (tip, y), (x + side * e, y + e * 0.35)], scale=0.9)
    stroke(d, [(x + side * e * 0.2, y - e * 0.9), (x + side * e * 0.5, y - e * 0.5)], scale=0.4)


def _eye_lidded(d: _Doodle, side: int, x: float, y: float, e: float) -> None:
    blot(d, ellipse_pts(x, y, e * 0.7, e * 0.7), d.pen.colour)
    cover = d.fill or PAPER
    d.draw.rectangle((x - e, y - e, x + e, y - e * 0.05), fill=cover)
    stroke(d, [(x - e, y - e * 0.05), (x + e, y - e * 0.05)], scale=0.7)


EYES: dict[str, Callable[[_Doodle, int, float, float, float], None]] = {
    "open": _eye_open,
    "wide": _eye_wide,
    "squint": _eye_squint,
    "happy": _eye_happy,
    "closed": _eye_closed,
    "heart": _eye_heart,
    "star": _eye_star,
    "wink": _eye_wink,
    "glance": _eye_glance,
    "roll": _eye_roll,
    "line": _eye_line,
    "pleading": _eye_pleading,
    "tight": _eye_tight,
    "lidded": _eye_lidded,
}


# ---------------------------------------------------------------- brows


def _brow(d: _Doodle, side: int, x: float, y: float, e: float, outer: float, inner: float) -> None:
    """A brow from its outer to its inner end; ``outer`` / ``inner`` are heights above the eye."""
    o, i = (x + side * e * 1.1, y - outer * e), (x - side * e * 0.9, y - inner * e)
    mid = ((o[0] + i[0]) / 2, min(o[1], i[1]) - e * 0.15)
    stroke(d, [o, mid, i], scale=0.9)


BROWS: dict[str, Callable[[_Doodle, int, float, float, float], None]] = {
    "none": lambda d, side, x, y, e: None,
    "raised": lambda d, side, x, y, e: _brow(d, side, x, y, e, 2.2, 2.5),
    "sad": lambda d, side, x, y, e: _brow(d, side, x, y, e, 1.4, 2.3),
    "angry": lambda d, side, x, y, e: _brow(d, side, x, y, e, 2.2, 1.1),
    "soft": lambda d, side, x, y, e: _brow(d, side, x, y, e, 1.7, 1.8),
    "one_up": lambda d, side, x, y, e: _brow(d, side, x, y, e, *((2.6, 2.4) if side > 0 else (1.6, 1.6))),
}


# ---------------------------------------------------------------- mouths


def _open_mouth(d: _Doodle, pts: list[Point], *, teeth: bool = False, tongue: bool = False) -> None:
    d.draw.polygon(pts, fill=MOUTH)
    ys = [p[1] for p in pts]
    top, bottom = min(ys), max(ys)
    if teeth:
        _inside(
            d, pts, lambda g: g.rectangle((0, top, d.canvas.width, top + (bottom - top) * 0.28), fill=WHITE)
        )
    if tongue:
        xs = [p[0] for p in pts]
        cx, w = (min(xs) + max(xs)) / 2, (max(xs) - min(xs))
        _inside(
            d,
            pts,
            lambda g: g.ellipse(
                (cx - w * 0.3, bottom - (bottom - top) * 0.45, cx + w * 0.3, bottom + (bottom - top) * 0.4),
                fill=TONGUE,
            ),
        )
    stroke(d, pts, closed=True, scale=0.8)


def _d_shape(x: float, y: float, w: float, depth: float, up: bool = False) -> list[Point]:
    """A straight lip and a round one: D turned on its side (``up``: the round lip on top)."""
    return bow(x - w / 2, x + w / 2, y, -depth if up else depth, 16)


def _mouth_smile(d, x, y, w):
    stroke(d, bow(x - w / 2, x + w / 2, y, w * 0.25))


def _mouth_grin(d, x, y, w):
    _open_mouth(d, _d_shape(x, y, w, w * 0.35), teeth=d.rng.random() < 0.6)


def _mouth_laugh(d, x, y, w):
    _open_mouth(d, _d_shape(x, y - w * 0.1, w * 1.25, w * 0.5), teeth=d.rng.random() < 0.4, tongue=True)


def _mouth_kiss(d, x, y, w):
    h = w * 0.18
    stroke(d, [(x, y - 2 * h), (x + h * 1.3, y - h), (x, y), (x + h * 1.3, y + h), (x, y + 2 * h)], scale=0.8)


def _mouth_horn(d, x, y, w):
    side = d.rng.choice((-1, 1))
    end = (x + side * w * 1.2, y + w * 0.25)
    blot(
        d,
        [(x, y - w * 0.08), (x, y + w * 0.08), (end[0], end[1] + w * 0.3), (end[0], end[1] - w * 0.3)],
        hsv(d.rng.random(), 0.7, 0.95),
        outline=True,
    )


def _mouth_tongue(d, x, y, w):
    _mouth_smile(d, x, y, w)
    blot(d, bow(x - w * 0.18, x + w * 0.18, y + w * 0.12, w * 0.3), TONGUE, outline=True, scale=0.5)


def _mouth_smirk(d, x, y, w):
    side = d.rng.choice((-1, 1))
    stroke(
        d,
        [
            (x - side * w * 0.4, y + w * 0.05),
            (x + side * w * 0.15, y + w * 0.08),
            (x + side * w * 0.45, y - w * 0.15),
        ],
    )


def _mouth_flat(d, x, y, w):
    stroke(d, [(x - w * 0.35, y), (x + w * 0.35, y)])


def _mouth_tiny_frown(d, x, y, w):
    stroke(d, bow(x - w * 0.22, x + w * 0.22, y + w * 0.05, -w * 0.1))


def _mouth_small_o(d, x, y, w):
    blot(d, ellipse_pts(x, y, w * 0.12, w * 0.15), MOUTH, outline=True)


def _mouth_frown(d, x, y, w):
    stroke(d, bow(x - w * 0.45, x + w * 0.45, y + w * 0.12, -w * 0.22))


def _mouth_wail(d, x, y, w):
    _open_mouth(d, _d_shape(x, y + w * 0.3, w * 1.1, w * 0.45, up=True), tongue=d.rng.random() < 0.5)


def _mouth_wobble(d, x, y, w):
    pts = [
        (x - w * 0.35 + w * 0.7 * i / 8, y + (w * 0.06 if i % 2 else -w * 0.02) + abs(i - 4) * w * 0.02)
        for i in range(9)
    ]
    stroke(d, pts, scale=0.8)


def _mouth_open_frown(d, x, y, w):
    _open_mouth(d, _d_shape(x, y + w * 0.15, w * 0.6, w * 0.25, up=True))


def _mouth_grimace(d, x, y, w, h: float = 0.32):
    x0, x1, y0, y1 = x - w * 0.45, x + w * 0.45, y - w * h / 2, y + w * h / 2
    box = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    d.draw.polygon(box, fill=WHITE)
    stroke(d, box, closed=True, scale=0.8)
    stroke(d, [(x0, y), (x1, y)], scale=0.5)
    for k in range(1, 4):
        stroke(d, [(x0 + (x1 - x0) * k / 4, y0), (x0 + (x1 - x0) * k / 4, y1)], scale=0.5)


def _mouth_scream(d, x, y, w):
    _open_mouth(d, ellipse_pts(x, y + w * 0.15, w * 0.25, w * 0.42))


def _mouth_wavy(d, x, y, w):
    stroke(
        d,
        [(x - w * 0.4 + w * 0.8 * i / 6, y + (w * 0.08 if i % 2 else -w * 0.08)) for i in range(7)],
        scale=0.9,
    )


def _mouth_o(d, x, y, w):
    _open_mouth(d, ellipse_pts(x, y + w * 0.05, w * 0.22, w * 0.26))


def _mouth_clench(d, x, y, w):
    _mouth_grimace(d, x, y, w * 0.9, 0.25)
    for side in (-1, 1):
        stroke(d, [(x + side * w * 0.42, y - w * 0.1), (x + side * w * 0.55, y + w * 0.08)], scale=0.6)


def _mouth_symbols(d, x, y, w):
    box = [
        (x - w * 0.5, y - w * 0.2),
        (x + w * 0.5, y - w * 0.2),
        (x + w * 0.5, y + w * 0.2),
        (x - w * 0.5, y + w * 0.2),
    ]
    d.draw.polygon(box, fill=(25, 20, 25))
    colour = d.rng.choice(((255, 80, 80), (255, 220, 80), WHITE))
    s = w * 0.12
    for k, cx in enumerate((x - w * 0.3, x, x + w * 0.3)):
        if k % 2 == 0:  # a # sign
            for o in (-0.4, 0.4):
                d.draw.line((cx + o * s, y - s, cx + o * s, y + s), fill=colour, width=max(1, round(s * 0.3)))
                d.draw.line((cx - s, y + o * s, cx + s, y + o * s), fill=colour, width=max(1, round(s * 0.3)))
        else:  # an !
            d.draw.line((cx, y - s, cx, y + s * 0.4), fill=colour, width=max(1, round(s * 0.35)))
            d.draw.ellipse((cx - s * 0.2, y + s * 0.7, cx + s * 0.2, y + s * 1.1), fill=colour)


def _mouth_vomit(d, x, y, w):
    green = hsv(d.rng.uniform(0.22, 0.3), 0.7, 0.75)
    bottom = d.canvas.height * d.rng.uniform(0.85, 0.98)
    spill = [(x - w * 0.25, y), (x + w * 0.25, y), (x + w * 0.45, bottom), (x - w * 0.45, bottom)]
    blot(d, spill, green, outline=True)
    _open_mouth(d, ellipse_pts(x, y, w * 0.28, w * 0.18))
    d.draw.polygon(ellipse_pts(x, y + w * 0.05, w * 0.2, w * 0.1), fill=green)


MOUTHS: dict[str, Callable[[_Doodle, float, float, float], None]] = {
    "smile": _mouth_smile,
    "grin": _mouth_grin,
    "laugh": _mouth_laugh,
    "kiss": _mouth_kiss,
    "horn": _mouth_horn,
    "tongue": _mouth_tongue,
    "smirk": _mouth_smirk,
    "flat": _mouth_flat,
    "tiny_frown": _mouth_tiny_frown,
    "small_o": _mouth_small_o,
    "frown": _mouth_frown,
    "wail": _mouth_wail,
    "wobble": _mouth_wobble,
    "open_frown": _mouth_open_frown,
    "grimace": _mouth_grimace,
    "scream": _mouth_scream,
    "wavy": _mouth_wavy,
    "o": _mouth_o,
    "clench": _mouth_clench,
    "symbols": _mouth_symbols,
    "vomit": _mouth_vomit,
}


# ---------------------------------------------------------------- what is drawn around the face


def _drops(d: _Doodle, spots: list[tuple[float, float, float]], r: float) -> None:
    for x, y, angle in spots:
        blot(d, drop_pts(x, y, r, angle), TEAR, outline=d.rng.random() < 0.7, scale=0.4)


def _extra_tears_joy(d: _Doodle, eyes: list[Point]) -> None:
    _drops(
        d,
        [(x + side * d.e * 1.8, y, side * 1.2) for side, (x, y) in zip((-1, 1), eyes, strict=True)],
        d.e * 0.6,
    )


def _extra_tear(d: _Doodle, eyes: list[Point]) -> None:
    x, y = d.rng.choice(eyes)
    _drops(d, [(x + d.e * 0.3, y + d.e * 2.0, 0.0)], d.e * 0.55)


def _extra_tears_stream(d: _Doodle, eyes: list[Point]) -> None:
    bottom = d.fy + d.u * d.rng.uniform(0.8, 1.1)
    for x, y in eyes:
        stream = [
            (x - d.e * 0.45, y + d.e * 0.5),
            (x + d.e * 0.45, y + d.e * 0.5),
            (x + d.e * 0.7, bottom),
            (x - d.e * 0.7, bottom),
        ]
        blot(d, stream, TEAR, outline=d.rng.random() < 0.5, scale=0.4)


def _extra_sweat(d: _Doodle, eyes: list[Point]) -> None:
    side = d.rng.choice((-1, 1))
    _drops(d, [(d.fx + side * d.u * 0.75, d.fy - d.u * 0.45, 0.0)], d.e * 0.7)


def _extra_blush(d: _Doodle, eyes: list[Point], colour: RGB = (250, 140, 160), size: float = 1.0) -> None:
    hatched = d.rng.random() < 0.4
    for x, y in eyes:
        cx, cy = x + (x - d.fx) * 0.25, y + d.e * 2.0
        if hatched:
            for k in (-1, 0, 1):
                stroke(
                    d,
                    [
                        (cx + k * d.e * 0.5 - d.e * 0.2, cy + d.e * 0.3),
                        (cx + k * d.e * 0.5 + d.e * 0.2, cy - d.e * 0.3),
                    ],
                    scale=0.4,
                    colour=colour,
                )
        else:
            layer = Image.new("RGBA", d.canvas.size, (0, 0, 0, 0))
            ImageDraw.Draw(layer).polygon(
                ellipse_pts(cx, cy, d.e * 1.2 * size, d.e * 0.7 * size), fill=(*colour, 170)
            )
            d.canvas.alpha_composite(layer)


def _extra_flush(d: _Doodle, eyes: list[Point]) -> None:
    _extra_blush(d, eyes, (240, 70, 80), 1.4)


def _extra_kiss_heart(d: _Doodle, eyes: list[Point]) -> None:
    side = d.rng.choice((-1, 1))
    blot(
        d,
        heart_pts(d.fx + side * d.u * 0.7, d.fy + d.u * 0.45, d.e * 2.4),
        HEART,
        outline=d.rng.random() < 0.5,
    )


def _extra_sparkles(d: _Doodle, eyes: list[Point]) -> None:
    for _ in range(d.rng.randint(2, 4)):
        a = d.rng.uniform(0, 2 * math.pi)
        x, y = d.fx + math.cos(a) * d.u * 1.2, d.fy + math.sin(a) * d.u * 1.2
        blot(
            d,
            star_pts(x, y, d.e * d.rng.uniform(0.8, 1.4), 4, 0.3),
            GOLD,
            outline=d.rng.random() < 0.5,
            scale=0.4,
        )


def _extra_confetti(d: _Doodle, eyes: list[Point]) -> None:
    for _ in range(d.rng.randint(6, 12)):
        a = d.rng.uniform(0, 2 * math.pi)
        x, y = (
            d.fx + math.cos(a) * d.u * d.rng.uniform(1.05, 1.4),
            d.fy + math.sin(a) * d.u * d.rng.uniform(1.05, 1.4),
        )
        s = d.e * 0.4
        d.draw.polygon(
            [(x - s, y - s * 0.5), (x + s, y - s), (x + s, y + s * 0.5), (x - s, y + s)],
            fill=hsv(d.rng.random(), 0.8, 0.95),
        )


def _extra_party_hat(d: _Doodle, eyes: list[Point]) -> None:
    top = d.fy - d.u * d.rng.uniform(0.8, 1.0)
    lean = d.rng.uniform(-0.3, 0.3) * d.u
    hat = [
        (d.fx - d.u * 0.35, top + d.u * 0.1),
        (d.fx + d.u * 0.35, top + d.u * 0.1),
        (d.fx + lean, top - d.u * 0.75),
    ]
    blot(d, hat, hsv(d.rng.random(), 0.7, 0.95), outline=True)
    r = d.e * 0.6
    d.draw.ellipse((d.fx + lean - r, top - d.u * 0.75 - r, d.fx + lean + r, top - d.u * 0.75 + r), fill=GOLD)


def _mitten(d: _Doodle, x: float, y: float, r: float) -> None:
    pts = ellipse_pts(x, y, r, r * 0.85)
    d.draw.polygon(pts, fill=d.fill or PAPER)
    stroke(d, pts, closed=True, scale=0.7)
    for k in (-0.35, 0.0, 0.35):
        stroke(d, [(x + k * r, y - r * 0.8), (x + k * r, y - r * 0.3)], scale=0.4)


def _extra_hand_chin(d: _Doodle, eyes: list[Point]) -> None:
    _mitten(d, d.fx + d.u * d.rng.uniform(-0.3, 0.3), d.fy + d.u * 0.85, d.e * 2.0)


def _extra_hands_cheeks(d: _Doodle, eyes: list[Point]) -> None:
    for side in (-1, 1):
        _mitten(d, d.fx + side * d.u * 0.85, d.fy + d.u * 0.35, d.e * 1.8)


def _extra_zzz(d: _Doodle, eyes: list[Point]) -> None:
    x, y, s = d.fx + d.u * 0.75, d.fy - d.u * 0.75, d.e * 0.7
    for _ in range(3):
        stroke(d, [(x - s, y - s), (x + s, y - s), (x - s, y + s), (x + s, y + s)], scale=0.6)
        x, y, s = x + s * 2.2, y - s * 2.4, s * 1.3


def _extra_shadow(d: _Doodle, eyes: list[Point]) -> None:
    colour = d.rng.choice(((90, 110, 220), (120, 90, 200), d.pen.colour))
    for k in range(-3, 4):
        x = d.fx + k * d.u * 0.12
        stroke(
            d, [(x, d.fy - d.u * 0.85), (x, d.fy - d.u * d.rng.uniform(0.35, 0.55))], scale=0.5, colour=colour
        )


def _extra_vein(d: _Doodle, eyes: list[Point]) -> None:
    side = d.rng.choice((-1, 1))
    x, y, s = d.fx + side * d.u * 0.65, d.fy - d.u * 0.7, d.e * 0.9
    red = (220, 40, 50)
    for dx, dy in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
        stroke(
            d,
            bow(x + dx * s * 0.35, x + dx * s * 1.2, y + dy * s * 0.35, -dy * s * 0.4, 6),
            scale=0.7,
            colour=red,
        )


def _extra_steam(d: _Doodle, eyes: list[Point]) -> None:
    for side in (-1, 1):
        x, y = d.fx + side * d.u * 0.6, d.fy + d.u * 0.45
        for k in range(3):
            r = d.e * (0.8 + 0.3 * k)
            cx = x + side * k * d.e * 1.3
            pts = ellipse_pts(cx, y + k * d.e * 0.3, r, r * 0.8)
            d.draw.polygon(pts, fill=(235, 235, 240))
            stroke(d, pts, closed=True, scale=0.4)


EXTRAS: dict[str, Callable[[_Doodle, list[Point]], None]] = {
    "tears_joy": _extra_tears_joy,
    "tear": _extra_tear,
    "tears_stream": _extra_tears_stream,
    "sweat": _extra_sweat,
    "blush": _extra_blush,
    "flush": _extra_flush,
    "kiss_heart": _extra_kiss_heart,
    "sparkles": _extra_sparkles,
    "confetti": _extra_confetti,
    "party_hat": _extra_party_hat,
    "hand_chin": _extra_hand_chin,
    "hands_cheeks": _extra_hands_cheeks,
    "zzz": _extra_zzz,
    "shadow": _extra_shadow,
    "vein": _extra_vein,
    "steam": _extra_steam,
}
# Extras that set the drawing's colours or pose rather than draw a thing.
LOOKS = frozenset({"red", "green", "tilt"})


# ---------------------------------------------------------------- forms


def _pen(rng: random.Random, s: int, light: bool) -> Pen:
    if light:
        colour = rng.choice((WHITE, (255, 250, 210), hsv(rng.random(), 0.6, 1.0)))
    else:
        colour = rng.choice(
            ((25, 25, 30), (40, 40, 45), (30, 50, 120), (80, 50, 30), hsv(rng.random(), 0.7, 0.35))
        )
    style = rng.choices(("sketch", "dash", "dot", "marker", "clean"), (4, 1, 1, 2, 2))[0]
    width = s * rng.uniform(0.012, 0.022) * (1.8 if style == "marker" else 1.0)
    wobble = (
        s * rng.uniform(0.004, 0.012) if style in ("sketch", "dash", "dot") else s * rng.uniform(0, 0.003)
    )
    return Pen(colour, width, style, wobble)


def _fill(rng: random.Random, extras: set[str], dark: bool, animal: bool) -> RGB | None:
    if "red" in extras:
        return hsv(rng.uniform(-0.02, 0.03), rng.uniform(0.55, 0.85), rng.uniform(0.8, 1.0))
    if "green" in extras:
        return hsv(rng.uniform(0.2, 0.33), rng.uniform(0.35, 0.7), rng.uniform(0.6, 0.9))
    if dark and rng.random() < 0.6:
        return None
    if animal and rng.random() < 0.6:
        return rng.choice(
            ((200, 150, 100), (150, 150, 155), (240, 160, 80), (245, 240, 230), (110, 80, 60), (90, 90, 95))
        )
    pick = rng.random()
    if pick < 0.3:
        return WHITE
    if pick < 0.45:
        return PAPER
    return hsv(rng.random(), rng.uniform(0.15, 0.6), rng.uniform(0.8, 1.0))


def _ears(d: _Doodle, kind: str, cx: float, top: float, rx: float) -> None:
    """Ears behind the head; the head is painted over their bases."""
    fill = d.fill or PAPER
    for side in (-1, 1):
        x = cx + side * rx * 0.6
        if kind == "pointy":
            pts = [
                (x - rx * 0.35, top + rx * 0.3),
                (x + side * rx * 0.15, top - rx * 0.45),
                (x + rx * 0.35, top + rx * 0.3),
            ]
        elif kind == "round":
            pts = ellipse_pts(x, top + rx * 0.05, rx * 0.28, rx * 0.28)
        elif kind == "long":
            pts = ellipse_pts(x + side * rx * 0.05, top - rx * 0.55, rx * 0.16, rx * 0.6, side * 0.15)
        elif kind == "floppy":
            pts = ellipse_pts(cx + side * rx * 0.95, top + rx * 0.55, rx * 0.22, rx * 0.5, -side * 0.35)
        else:  # antennae or horns
            tip = (x + side * rx * 0.2, top - rx * 0.5)
            if kind == "antennae":
                stroke(d, [(x, top + rx * 0.2), tip], scale=0.7)
                blot(d, ellipse_pts(*tip, rx * 0.09, rx * 0.09), d.pen.colour)
            else:
                blot(
                    d,
                    [(x - rx * 0.14, top + rx * 0.2), tip, (x + rx * 0.14, top + rx * 0.2)],
                    (250, 240, 220),
                    outline=True,
                )
            continue
        d.draw.polygon(pts, fill=fill)
        stroke(d, pts, closed=True, scale=0.8)


def _limbs(d: _Doodle, body: list[Point], rng: random.Random) -> None:
    xs, ys = [p[0] for p in body], [p[1] for p in body]
    left, right, top, bottom = min(xs), max(xs), min(ys), max(ys)
    mid = top + (bottom - top) * rng.uniform(0.45, 0.6)
    pose = rng.choice(("down", "out", "up"))
    reach = (right - left) * rng.uniform(0.22, 0.35)
    for side, x in ((-1, left), (1, right)):
        dy = {"down": reach * 0.8, "out": 0.0, "up": -reach * 1.1}[pose]
        stroke(
            d,
            [
                (x - side * reach * 0.1, mid),
                (x + side * reach * 0.6, mid + dy * 0.5),
                (x + side * reach, mid + dy),
            ],
        )
    if rng.random() < 0.8:
        cx = (left + right) / 2
        for side in (-1, 1):
            x = cx + side * (right - left) * 0.18
            stroke(d, [(x, bottom - reach * 0.15), (x, bottom + reach * 0.45)])


# ---------------------------------------------------------------- grounds and the finish


def _ground(kind: str, size: int, rng: random.Random) -> Image.Image:
    """What the sticker lies on: transparent, paper, a tile, a dark tile or a blurred photo."""
    if kind == "none":
        return Image.new("RGBA", (size, size), (0, 0, 0, 0))
    if kind == "photo":
        cells = rng.randint(3, 6)
        base = np.array(hsv(rng.random(), rng.uniform(0.2, 0.7), rng.uniform(0.4, 0.95)), dtype=np.float32)
        grid = base + np.array(
            [[rng.uniform(-60, 60) for _ in range(3)] for _ in range(cells * cells)], np.float32
        ).reshape(cells, cells, 3)
        img = Image.fromarray(np.clip(grid, 0, 255).astype(np.uint8), "RGB").resize(
            (size, size), Image.Resampling.BICUBIC
        )
        return img.filter(ImageFilter.GaussianBlur(size * 0.02)).convert("RGBA")
    if kind == "dark":
        colour = hsv(rng.random(), rng.uniform(0.2, 0.6), rng.uniform(0.08, 0.25))
    elif kind == "paper":
        colour = mix(PAPER, hsv(rng.random(), 0.3, 0.95), rng.uniform(0, 0.3))
    else:
        colour = hsv(rng.random(), rng.uniform(0.1, 0.45), rng.uniform(0.8, 1.0))
    tile = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    radius = 0 if kind == "paper" else size * rng.uniform(0.05, 0.25)
    ImageDraw.Draw(tile).rounded_rectangle((0, 0, size - 1, size - 1), radius=radius, fill=colour)
    if kind == "paper":
        noise = np.random.default_rng(rng.randrange(1 << 30)).normal(0, 6, (size, size, 1))
        arr = np.array(tile).astype(np.float32)
        arr[..., :3] = np.clip(arr[..., :3] + noise, 0, 255)
        tile = Image.fromarray(arr.astype(np.uint8), "RGBA")
    return tile


def draw_doodle(expression: Expression, rng: random.Random, size: int = 128) -> Image.Image:
    """One sticker showing ``expression`` in this module's hand, chosen by ``rng`` (RGBA)."""
    s = size * SUPERSAMPLE
    eyes_kind = rng.choice(expression.eyes)
    mouth_kind = rng.choice(expression.mouth)
    brows_kind = rng.choice(expression.brows)
    # The look (ground, form, pen, fill) has its own generator, so one seed gives one look
    # whatever the expression draws.
    look = random.Random(rng.getrandbits(64))
    extras = expression.extras_for(rng)
    ground = look.choices(("none", "paper", "tile", "dark", "photo"), (4, 1.5, 2, 1.5, 1))[0]
    form = look.choices(("head", "character", "animal", "head-on-body"), (4, 2.5, 2.5, 1.5))[0]
    fill = _fill(look, extras, ground == "dark", form == "animal")
    pen = _pen(look, s, light=fill is None)  # chalk or neon where the dark ground shows through
    mode = look.choices(("flat", "hatch", "stipple", "two-tone", "wash"), (5, 1.5, 1, 1.5, 1.5))[0]
    canvas = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    d = _Doodle(canvas, ImageDraw.Draw(canvas), look, pen, fill, 0.0, 0.0, 0.0)

    cx, cy = s * look.uniform(0.45, 0.55), s * look.uniform(0.45, 0.55)
    shape = look.choice(("blob", "blob", "polygon", "egg", "squircle"))
    if form in ("head", "animal"):
        r = s * look.uniform(0.26, 0.36)
        rx, ry = r * look.uniform(0.85, 1.15), r * look.uniform(0.85, 1.1)
        body = outline(shape, cx, cy, rx, ry, look)
        d.fx, d.fy, d.u = cx, cy + ry * 0.05, min(rx, ry) * 0.9
        if form == "animal":
            _ears(
                d,
                look.choice(("pointy", "round", "long", "floppy", "antennae", "horns")),
                cx,
                cy - ry * 0.8,
                rx,
            )
        _paint_body(d, body, fill, mode)
    elif form == "character":  # one body, the face in its upper part
        rx, ry = s * look.uniform(0.22, 0.3), s * look.uniform(0.25, 0.34)
        cy = s * look.uniform(0.45, 0.5)
        body = outline(shape, cx, cy, rx, ry, look)
        _limbs(d, body, look)
        _paint_body(d, body, fill, mode)
        d.fx, d.fy, d.u = cx, cy - ry * look.uniform(0.1, 0.3), min(rx, ry) * look.uniform(0.55, 0.75)
    else:  # a head on a smaller body
        hr = s * look.uniform(0.17, 0.23)
        hy = s * look.uniform(0.3, 0.38)
        torso = outline(
            look.choice(("egg", "polygon", "squircle")),
            cx,
            hy + hr * 1.9,
            hr * look.uniform(0.7, 1.0),
            hr * look.uniform(0.9, 1.2),
            look,
        )
        _limbs(d, torso, look)
        _paint_body(d, torso, hsv(look.random(), look.uniform(0.3, 0.7), look.uniform(0.6, 0.95)), "flat")
        body = outline(shape, cx, hy, hr, hr * look.uniform(0.9, 1.05), look)
        _paint_body(d, body, fill, mode)
        d.fx, d.fy, d.u = cx, hy + hr * 0.05, hr * 0.9

    d.rng = rng  # the look is set; the face is drawn from the expression's own draws

    e = d.e * rng.uniform(0.8, 1.35)
    gap = d.u * rng.uniform(0.28, 0.45)
    ey = d.fy - d.u * rng.uniform(0.0, 0.25)
    eyes = [(d.fx - gap, ey), (d.fx + gap, ey)]
    my = ey + d.u * rng.uniform(0.4, 0.6)
    if form == "animal" and rng.random() < 0.7:  # a muzzle and a nose
        muzzle = ellipse_pts(d.fx, my, d.u * 0.42, d.u * 0.3)
        d.draw.polygon(muzzle, fill=mix(fill or PAPER, WHITE, 0.6))
        if rng.random() < 0.5:
            stroke(d, muzzle, closed=True, scale=0.5)
        blot(
            d,
            [(d.fx - e * 0.5, my - d.u * 0.2), (d.fx + e * 0.5, my - d.u * 0.2), (d.fx, my - d.u * 0.1)],
            (40, 30, 35),
        )
        if rng.random() < 0.5:
            for side in (-1, 1):
                for k in (-1, 1):
                    stroke(
                        d,
                        [
                            (d.fx + side * d.u * 0.45, my + k * e * 0.3),
                            (d.fx + side * d.u * 0.85, my + k * e * 0.6),
                        ],
                        scale=0.35,
                    )
        my += d.u * 0.05
    for side, (x, y) in zip((-1, 1), eyes, strict=True):
        EYES[eyes_kind](d, side, x, y, e)
        BROWS[brows_kind](d, side, x, y, e)
    MOUTHS[mouth_kind](d, d.fx, my, d.u * rng.uniform(0.55, 0.8))
    for name in sorted(extras - LOOKS):
        EXTRAS[name](d, eyes)

    if "tilt" in extras:
        canvas = canvas.rotate(rng.uniform(40, 90) * rng.choice((-1, 1)), resample=Image.Resampling.BICUBIC)
    elif rng.random() < 0.5:
        canvas = canvas.rotate(rng.uniform(-12, 12), resample=Image.Resampling.BICUBIC)
    sticker = canvas.resize((size, size), Image.Resampling.LANCZOS)
    back = _ground(ground, size, rng)
    return Image.alpha_composite(back, sticker)


def doodles(per_expression: int, seed: int = 0, size: int = 80) -> tuple[np.ndarray, list[str]]:
    """``per_expression`` doodles of every expression, and their emoji keys (``drawn.drawings``)."""
    return drawings(draw_doodle, "stickerbot.doodles", per_expression, seed, size)
