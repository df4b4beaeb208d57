"""Cartoon sticker faces drawn by code, each labelled with the face emoji whose meaning it shows.

The encoder learns faces from emoji art: about a hundred faces in eight styles, all round,
yellow, cleanly shaded and drawn the same way within a style. The stickers people send are
cartoon faces drawn any way at all: blobs, cats and bears, pastel or garish fills, thick ink
or none, dot eyes or big shiny ones. An encoder that has only seen emoji ties an expression to
its art style, and fails on those. These drawings show each expression in many looks at once
(head, colours, lines, how the eyes and the mouth are drawn), so that what stays the same
across them, the expression, is what the encoder has to learn.

The drawings are this module's own design. They are made independently of the project's
evaluation sets (which are also drawn by code), and this module never reads them.
"""

from __future__ import annotations

import colorsys
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from stickerbot.stickerclip.data import rgba_array
from stickerbot.stickerclip.shapes import (
    RGB,
    Point,
    bow,
    curve,
    drop_pts,
    ellipse_pts,
    grow,
    heart_pts,
    hsv,
    mix,
    quad,
    star_pts,
)

# Pillow draws without anti-aliasing: drawing larger and scaling down gives smooth lines.
SUPERSAMPLE = 3

WHITE: RGB = (255, 255, 255)
TEAR: RGB = (110, 185, 245)
TONGUE: RGB = (240, 110, 130)
HEART: RGB = (232, 48, 72)
GOLD: RGB = (255, 196, 40)
SICK: RGB = (120, 190, 60)
FEAR: RGB = (110, 140, 235)
BRIGHT: tuple[RGB, ...] = (
    (240, 70, 90),
    (255, 170, 40),
    (250, 220, 60),
    (80, 200, 120),
    (60, 160, 240),
    (170, 100, 230),
    (250, 120, 200),
)


@dataclass(frozen=True)
class Expression:
    """One face emoji's meaning as drawing choices.

    Each feature lists the looks that show the meaning; every drawing picks one of each, so
    no single look stands for the emoji. Extras starting with "?" appear on half the drawings.
    """

    name: str
    key: str
    eyes: tuple[str, ...]
    mouth: tuple[str, ...]
    brows: tuple[str, ...] = ("none",)
    extras: tuple[str, ...] = ()

    def extras_for(self, rng: random.Random) -> set[str]:
        """The extras of one drawing: all the plain ones, each "?" one on a coin toss."""
        return {e.lstrip("?") for e in self.extras if not e.startswith("?") or rng.random() < 0.5}


def _expression(
    name: str, key: str, eyes: str, mouth: str, brows: str = "none", extras: str = ""
) -> Expression:
    return Expression(
        name, key, tuple(eyes.split()), tuple(mouth.split()), tuple(brows.split()), tuple(extras.split())
    )


EXPRESSIONS: tuple[Expression, ...] = (
    # happiness
    _expression("grinning face", "1F600", "open", "grin"),
    _expression("grinning face with big eyes", "1F603", "wide", "laugh", "none raised"),
    _expression("grinning squinting face", "1F606", "squint", "laugh"),
    _expression("face with tears of joy", "1F602", "happy squint", "laugh", extras="tears_joy"),
    _expression("rolling on the floor laughing", "1F923", "squint happy", "laugh", extras="tears_joy tilt"),
    _expression("smiling face with smiling eyes", "1F60A", "happy", "smile", extras="blush"),
    _expression("smiling face with heart-eyes", "1F60D", "heart", "grin smile laugh"),
    _expression("face blowing a kiss", "1F618", "wink closed", "kiss", extras="kiss_heart ?blush"),
    _expression("star-struck", "1F929", "star", "grin laugh", extras="sparkles"),
    _expression("partying face", "1F973", "happy closed", "horn", extras="party_hat confetti ?blush"),
    _expression("winking face", "1F609", "wink", "smile grin"),
    _expression("face with tongue", "1F61B", "open wide", "tongue"),
    _expression("smirking face", "1F60F", "glance", "smirk", "none one_up"),
    _expression("relieved face", "1F60C", "closed", "smile", "soft none", extras="?blush"),
    # neutral
    _expression("neutral face", "1F610", "open", "flat"),
    _expression("expressionless face", "1F611", "line", "flat"),
    _expression("face with rolling eyes", "1F644", "roll", "flat tiny_frown", "none raised"),
    _expression("thinking face", "1F914", "open glance", "flat smirk", "one_up", extras="hand_chin"),
    _expression("sleeping face", "1F634", "closed", "small_o flat", extras="zzz"),
    # sadness
    _expression("crying face", "1F622", "open pleading", "frown", "sad", extras="tear"),
    _expression("loudly crying face", "1F62D", "tight", "wail", "sad", extras="tears_stream"),
    _expression("pensive face", "1F614", "closed", "tiny_frown", "sad"),
    _expression("disappointed face", "1F61E", "lidded closed", "frown", "sad"),
    _expression("pleading face", "1F97A", "pleading", "tiny_frown wobble", "sad"),
    _expression("worried face", "1F61F", "open", "open_frown frown", "sad"),
    # fear
    _expression("anxious face with sweat", "1F630", "open wide", "open_frown", "sad", extras="sweat ?shadow"),
    _expression("fearful face", "1F628", "wide", "open_frown grimace", "sad raised", extras="shadow"),
    _expression("face screaming in fear", "1F631", "wide", "scream", extras="hands_cheeks ?shadow"),
    _expression("confounded face", "1F616", "squint", "wavy", "sad"),
    _expression("tired face", "1F62B", "squint tight", "wail", "sad"),
    # surprise
    _expression("astonished face", "1F632", "wide", "o", "raised"),
    _expression("face with open mouth", "1F62E", "open", "small_o", "none raised"),
    _expression("flushed face", "1F633", "wide", "flat small_o", "raised", extras="flush"),
    # anger
    _expression("angry face", "1F620", "open", "frown", "angry"),
    _expression("enraged face", "1F621", "open", "frown clench", "angry", extras="red ?vein"),
    _expression("face with symbols on mouth", "1F92C", "open", "symbols", "angry", extras="?red ?vein"),
    _expression("face with steam from nose", "1F624", "tight open", "frown clench", "angry", extras="steam"),
    # disgust
    _expression("nauseated face", "1F922", "tight closed", "wavy", "sad none", extras="green"),
    _expression("face vomiting", "1F92E", "squint tight", "vomit", extras="green"),
)


@dataclass(frozen=True)
class _Face:
    """Where and how one drawing's features go, in supersampled pixels."""

    cx: float
    cy: float
    rx: float
    ry: float
    eye_y: float
    eye_dx: float
    eye: float
    mouth_y: float
    mouth_w: float
    stroke: float
    look: float
    fill: RGB
    ink: RGB
    mouth_ink: RGB
    line: RGB
    line_w: float
    canvas: int

    def eye_x(self, side: int) -> float:
        return self.cx + self.look + side * self.eye_dx

    @property
    def mouth_x(self) -> float:
        return self.cx + self.look * 0.8

    @property
    def outline(self) -> float:
        """Added features (hands, hats, drops) need an edge even on a face drawn without one."""
        return max(self.line_w, self.stroke * 0.6)


# ---------------------------------------------------------------- colours and geometry


def _shape(draw: ImageDraw.ImageDraw, pts: list[Point], fill: RGB, line: RGB, width: float) -> None:
    if width > 0:
        draw.polygon(grow(pts, width), fill=line)
    draw.polygon(pts, fill=fill)


def _dot(
    draw: ImageDraw.ImageDraw,
    x: float,
    y: float,
    rx: float,
    ry: float,
    fill: RGB,
    outline: RGB | None = None,
    width: float = 0,
) -> None:
    draw.ellipse(
        (x - rx, y - ry, x + rx, y + ry),
        fill=fill,
        outline=outline if width > 0 else None,
        width=max(1, round(width)),
    )


def _clip_paint(
    canvas: Image.Image, pts: list[Point], paint: Callable[[ImageDraw.ImageDraw, float, float], None]
) -> None:
    """Paint inside a polygon only: the teeth and tongue of an open mouth stay in the mouth."""
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    x0, y0 = math.floor(min(xs)) - 1, math.floor(min(ys)) - 1
    w, h = math.ceil(max(xs)) - x0 + 2, math.ceil(max(ys)) - y0 + 2
    mask = Image.new("L", (w, h), 0)
    ImageDraw.Draw(mask).polygon([(x - x0, y - y0) for x, y in pts], fill=255)
    layer = Image.new("RGBA", (w, h), (0, 0, 0, 255))
    paint(ImageDraw.Draw(layer), x0, y0)
    canvas.paste(layer, (x0, y0), mask)


# ---------------------------------------------------------------- the look of one drawing


def _fill_colours(extras: set[str], rng: random.Random) -> tuple[RGB, RGB]:
    """Top and bottom of the head's fill (equal when flat)."""
    pick = rng.random()
    if pick < 0.2:
        base = hsv(rng.uniform(0.1, 0.15), rng.uniform(0.5, 0.85), rng.uniform(0.93, 1.0))
    elif pick < 0.32:
        base = hsv(rng.random(), rng.uniform(0.0, 0.08), 1.0)
    elif pick < 0.7:
        base = hsv(rng.random(), rng.uniform(0.15, 0.45), rng.uniform(0.88, 1.0))
    else:
        base = hsv(rng.random(), rng.uniform(0.45, 0.85), rng.uniform(0.75, 0.97))
    bottom = base
    if rng.random() < 0.3:
        bottom = mix(base, hsv(rng.random(), 0.5, 0.9), rng.uniform(0.25, 0.6))
    # Green and red faces say sick and furious in most cartoon styles, so they mostly show it.
    if "green" in extras and rng.random() < 0.85:
        green = hsv(rng.uniform(0.2, 0.36), rng.uniform(0.35, 0.75), rng.uniform(0.7, 0.92))
        return (green, green) if rng.random() < 0.6 else (base, green)
    if "red" in extras and rng.random() < 0.8:
        red = hsv(rng.uniform(-0.03, 0.03), rng.uniform(0.55, 0.85), rng.uniform(0.8, 0.97))
        return (red, red) if rng.random() < 0.6 else (red, mix(red, base, 0.5))
    return base, bottom


def _ink(fill: RGB, rng: random.Random) -> RGB:
    pick = rng.random()
    if pick < 0.5:
        return hsv(0, 0, rng.uniform(0.05, 0.2))
    if pick < 0.8:
        h = colorsys.rgb_to_hsv(*(c / 255 for c in fill))[0]
        return hsv(h, rng.uniform(0.5, 0.9), rng.uniform(0.15, 0.35))
    return hsv(rng.choice((0.07, 0.6, 0.75)), rng.uniform(0.4, 0.8), rng.uniform(0.2, 0.35))


def _head_pts(shape: str, cx: float, cy: float, rx: float, ry: float, rng: random.Random) -> list[Point]:
    power = rng.uniform(3.0, 6.0)
    waves = [(k, rng.uniform(0.0, 0.07), rng.uniform(0, 2 * math.pi)) for k in (2, 3, 4, 5)]
    pts = []
    for i in range(96):
        t = 2 * math.pi * i / 96
        c, s = math.cos(t), math.sin(t)
        r = 1.0
        if shape == "square":
            r = (abs(c) ** power + abs(s) ** power) ** (-1 / power)
        elif shape == "blob":
            r = 1 + sum(a * math.sin(k * t + ph) for k, a, ph in waves)
        x, y = r * c, r * s
        if shape == "bean":
            x *= 1 + 0.14 * s  # wider at the jaw
        pts.append((cx + rx * x, cy + ry * y))
    return pts


def _geometry(rng: random.Random, s: int, body: bool, fill: RGB) -> _Face:
    r = s * rng.uniform(0.29, 0.36) * (0.85 if body else 1.0)
    rx = r * rng.uniform(0.95, 1.15)
    ry = r * rng.uniform(0.85, 1.05)
    cx = s / 2 + rng.uniform(-0.03, 0.03) * s
    cy = s * (0.42 if body else 0.54) + rng.uniform(-0.02, 0.02) * s
    eye = rx * rng.uniform(0.25, 0.34)
    eye_y = cy + ry * rng.uniform(-0.2, 0.02)
    line_pick = rng.random()
    line_w = (
        0.0
        if line_pick < 0.25
        else rx * (rng.uniform(0.025, 0.04) if line_pick < 0.6 else rng.uniform(0.05, 0.09))
    )
    ink = _ink(fill, rng)
    return _Face(
        cx=cx,
        cy=cy,
        rx=rx,
        ry=ry,
        eye_y=eye_y,
        eye_dx=rx * rng.uniform(0.33, 0.46),
        eye=eye,
        mouth_y=eye_y + ry * rng.uniform(0.4, 0.55),
        mouth_w=rx * rng.uniform(0.55, 0.8),
        stroke=max(2.0 * SUPERSAMPLE, rx * rng.uniform(0.06, 0.1)),
        look=rx * rng.uniform(-0.1, 0.1) if rng.random() < 0.4 else 0.0,
        fill=fill,
        ink=ink,
        mouth_ink=rng.choice((ink, (110, 25, 40), (80, 20, 30))),
        line=ink if rng.random() < 0.6 else mix(fill, (0, 0, 0), 0.55),
        line_w=line_w,
        canvas=s,
    )


# ---------------------------------------------------------------- head, ears, body


def _ears(draw: ImageDraw.ImageDraw, kind: str, f: _Face, rng: random.Random) -> None:
    inner = mix(f.fill, (255, 140, 170), 0.45)
    for side in (-1, 1):
        if kind == "cat":
            a = math.radians(rng.uniform(35, 50))
            bx, by = f.cx + side * f.rx * math.sin(a) * 0.85, f.cy - f.ry * math.cos(a) * 0.85
            tip = (bx + side * f.rx * 0.25, by - f.ry * 0.65)
            half = f.rx * 0.3
            pts = [(bx - half, by + half * 0.3 * side), tip, (bx + half, by - half * 0.3 * side)]
            _shape(draw, pts, f.fill, f.line, f.line_w)
            mid = ((pts[0][0] + pts[2][0]) / 2, (pts[0][1] + pts[2][1]) / 2)
            draw.polygon([_mix_pt(p, mid, 0.35) for p in (pts[0], tip, pts[2])], fill=inner)
        elif kind == "bear":
            a = math.radians(40)
            x, y = f.cx + side * f.rx * math.sin(a) * 0.95, f.cy - f.ry * math.cos(a) * 0.95
            pts = ellipse_pts(x, y, f.rx * 0.3, f.rx * 0.3)
            _shape(draw, pts, f.fill, f.line, f.line_w)
            _dot(draw, x, y, f.rx * 0.15, f.rx * 0.15, inner)
        elif kind == "bunny":
            x, y = f.cx + side * f.rx * 0.38, f.cy - f.ry * 1.15
            angle = side * math.radians(rng.uniform(5, 20))
            _shape(draw, ellipse_pts(x, y, f.rx * 0.17, f.ry * 0.6, angle), f.fill, f.line, f.line_w)
            draw.polygon(ellipse_pts(x, y + f.ry * 0.05, f.rx * 0.08, f.ry * 0.42, angle), fill=inner)


def _mix_pt(p: Point, q: Point, t: float) -> Point:
    return p[0] + (q[0] - p[0]) * t, p[1] + (q[1] - p[1]) * t


def _dog_ears(draw: ImageDraw.ImageDraw, f: _Face) -> None:
    colour = mix(f.fill, (90, 50, 20), 0.4)
    for side in (-1, 1):
        pts = ellipse_pts(f.cx + side * f.rx * 0.92, f.cy - f.ry * 0.1, f.rx * 0.2, f.ry * 0.48, side * 0.35)
        _shape(draw, pts, colour, f.line, f.line_w)


def _body(draw: ImageDraw.ImageDraw, f: _Face, rng: random.Random) -> None:
    colour = (
        f.fill if rng.random() < 0.5 else hsv(rng.random(), rng.uniform(0.3, 0.7), rng.uniform(0.7, 0.95))
    )
    top, bottom = f.cy + f.ry * 0.6, f.canvas * 0.99
    half = f.rx * rng.uniform(0.6, 0.85)
    pts = quad((f.cx - half * 0.7, top), (f.cx - half * 1.3, bottom), (f.cx - half, bottom), 8)
    pts += quad((f.cx + half, bottom), (f.cx + half * 1.3, bottom), (f.cx + half * 0.7, top), 8)
    _shape(draw, pts, colour, f.line, f.line_w)


def _paint_head(canvas: Image.Image, pts: list[Point], f: _Face, bottom: RGB, shadow: bool) -> None:
    draw = ImageDraw.Draw(canvas)
    if f.line_w > 0:
        draw.polygon(grow(pts, f.line_w), fill=f.line)
    if bottom == f.fill and not shadow:
        draw.polygon(pts, fill=f.fill)
        return
    top_y, low_y = f.cy - f.ry, f.cy + f.ry
    ys = np.clip((np.arange(f.canvas) - top_y) / (low_y - top_y), 0, 1)[:, None]
    column = np.asarray(f.fill, float) * (1 - ys) + np.asarray(bottom, float) * ys
    if shadow:  # the blue brow of a fright
        fade = np.clip(1 - ys / 0.5, 0, 1) * 0.75
        column = column * (1 - fade) + np.asarray(FEAR, float) * fade
    paint = np.repeat(column[:, None, :], f.canvas, axis=1).astype(np.uint8)
    mask = Image.new("L", canvas.size, 0)
    ImageDraw.Draw(mask).polygon(pts, fill=255)
    canvas.paste(Image.fromarray(paint, "RGB"), (0, 0), mask)


def _nose(draw: ImageDraw.ImageDraw, animal: str, f: _Face, rng: random.Random) -> None:
    x, y = f.cx + f.look, (f.eye_y + f.mouth_y) / 2 + f.eye * 0.1
    if animal in ("cat", "bunny"):
        w = f.eye * 0.35
        draw.polygon(
            [(x - w, y - w * 0.6), (x + w, y - w * 0.6), (x, y + w * 0.5)], fill=mix(f.ink, TONGUE, 0.6)
        )
    elif animal in ("bear", "dog"):
        _dot(draw, x, y, f.eye * 0.4, f.eye * 0.28, f.ink)
    elif rng.random() < 0.3:
        curve(draw, bow(x - f.eye * 0.2, x + f.eye * 0.2, y, f.eye * 0.12, 6), f.ink, f.stroke * 0.7)


# ---------------------------------------------------------------- eyes and brows


def _open_eye(
    draw: ImageDraw.ImageDraw, x: float, y: float, e: float, style: str, f: _Face, look: Point
) -> None:
    if style == "dot":
        _dot(draw, x, y, e * 0.3, e * 0.36, f.ink)
    elif style == "oval":
        _dot(draw, x, y, e * 0.27, e * 0.5, f.ink)
    elif style == "shine":
        _dot(draw, x, y, e * 0.34, e * 0.48, f.ink)
        _dot(draw, x - e * 0.1, y - e * 0.2, e * 0.14, e * 0.14, WHITE)
    else:  # a white with a pupil
        pupil = e * (0.18 if style == "small_pupil" else 0.27)
        _dot(draw, x, y, e * 0.5, e * 0.62, WHITE, f.ink, f.stroke * 0.7)
        _dot(draw, x + look[0] * e, y + look[1] * e, pupil, pupil, f.ink)


def _lidded_eye(draw: ImageDraw.ImageDraw, x: float, y: float, e: float, f: _Face, look: float) -> None:
    box = (x - e * 0.5, y - e * 0.5, x + e * 0.5, y + e * 0.5)
    draw.chord(box, 0, 180, fill=WHITE, outline=f.ink, width=max(1, round(f.stroke * 0.7)))
    draw.chord(
        (x + look * e - e * 0.22, y - e * 0.05, x + look * e + e * 0.22, y + e * 0.4), 0, 180, fill=f.ink
    )
    curve(draw, [(x - e * 0.62, y), (x + e * 0.62, y)], f.ink, f.stroke)


def _eye(draw: ImageDraw.ImageDraw, kind: str, side: int, f: _Face, style: str, glance: float) -> None:
    x, y, e, w, ink = f.eye_x(side), f.eye_y, f.eye, f.stroke, f.ink
    if kind == "open":
        _open_eye(draw, x, y, e, style, f, (glance * 0.15, 0.05))
    elif kind == "wide":
        _open_eye(draw, x, y, e * 1.2, "small_pupil" if style in ("white", "dot") else "shine", f, (0, 0))
    elif kind == "happy":
        curve(draw, bow(x - e * 0.5, x + e * 0.5, y + e * 0.15, -e * 0.4), ink, w)
    elif kind == "closed":
        curve(draw, bow(x - e * 0.5, x + e * 0.5, y - e * 0.05, e * 0.3), ink, w)
    elif kind == "line":
        curve(draw, [(x - e * 0.45, y), (x + e * 0.45, y)], ink, w)
    elif kind == "squint":  # > <, pointing at the nose
        curve(
            draw,
            [
                (x + side * e * 0.4, y - e * 0.38),
                (x - side * e * 0.35, y),
                (x + side * e * 0.4, y + e * 0.38),
            ],
            ink,
            w,
        )
    elif kind == "tight":  # screwed shut, with a crease at the corner
        curve(draw, bow(x - e * 0.55, x + e * 0.55, y + e * 0.1, -e * 0.3), ink, w * 1.2)
        curve(draw, [(x + side * e * 0.7, y - e * 0.1), (x + side * e * 0.95, y - e * 0.3)], ink, w * 0.7)
    elif kind == "heart":
        _shape(draw, heart_pts(x, y, e * 1.5), HEART, mix(HEART, (0, 0, 0), 0.5), w * 0.5)
    elif kind == "star":
        _shape(draw, star_pts(x, y, e * 0.8), GOLD, mix(GOLD, (80, 30, 0), 0.6), w * 0.5)
    elif kind == "roll":
        _dot(draw, x, y, e * 0.55, e * 0.68, WHITE, f.ink, f.stroke * 0.7)
        _dot(draw, x, y - e * 0.38, e * 0.26, e * 0.26, f.ink)
    elif kind == "glance":
        _lidded_eye(draw, x, y, e * 1.1, f, glance * 0.22)
    elif kind == "lidded":
        _lidded_eye(draw, x, y + e * 0.1, e * 1.05, f, 0.0)
    elif kind == "pleading":  # big wet eyes: a large iris, two highlights
        _dot(draw, x, y, e * 0.72, e * 0.8, f.ink)
        _dot(draw, x - e * 0.24, y - e * 0.3, e * 0.3, e * 0.3, WHITE)
        _dot(draw, x + e * 0.26, y + e * 0.26, e * 0.13, e * 0.13, WHITE)


def _eyes(draw: ImageDraw.ImageDraw, kind: str, f: _Face, rng: random.Random) -> None:
    style = rng.choice(("dot", "oval", "shine", "white"))
    glance = rng.choice((-1.0, 1.0))
    wink_side, wink_as = rng.choice((-1, 1)), rng.choice(("happy", "closed"))
    for side in (-1, 1):
        if kind == "wink":
            _eye(draw, wink_as if side == wink_side else "open", side, f, style, glance)
        else:
            _eye(draw, kind, side, f, style, glance)


def _brows(draw: ImageDraw.ImageDraw, kind: str, f: _Face, rng: random.Random) -> None:
    if kind == "none":
        return
    e = f.eye
    gap = e * rng.uniform(0.85, 1.15) * (1.2 if kind == "raised" else 1.0)
    bend = e * rng.uniform(-0.1, 0.05)
    width = f.stroke * rng.uniform(0.9, 1.4)
    up_side = rng.choice((-1, 1))
    for side in (-1, 1):
        x, y = f.eye_x(side), f.eye_y - gap
        inner, outer = x - side * e * 0.55, x + side * e * 0.5
        if kind == "angry":
            ends = ((outer, y - e * 0.3), (inner, y + e * 0.22))
        elif kind == "sad":
            ends = ((outer, y + e * 0.15), (inner, y - e * 0.32))
        elif kind == "raised" or (kind == "one_up" and side == up_side):
            ends, bend = ((outer, y - e * 0.1), (inner, y - e * 0.1)), -e * 0.25
        elif kind == "one_up":
            ends = ((outer, y + e * 0.25), (inner, y + e * 0.2))
        else:  # flat or soft
            ends = ((outer, y), (inner, y))
        (x0, y0), (x1, y1) = ends
        curve(draw, quad(ends[0], ((x0 + x1) / 2, (y0 + y1) / 2 + 2 * bend), ends[1], 8), f.ink, width)


# ---------------------------------------------------------------- mouths


def _open_mouth(canvas: Image.Image, pts: list[Point], f: _Face, teeth: bool, tongue: bool) -> None:
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    top, low, mid = min(ys), max(ys), (min(xs) + max(xs)) / 2
    w = max(xs) - min(xs)

    def paint(d: ImageDraw.ImageDraw, ox: float, oy: float) -> None:
        d.rectangle((0, 0, 10_000, 10_000), fill=f.mouth_ink)
        if tongue:
            d.ellipse(
                (
                    mid - w * 0.3 - ox,
                    low - (low - top) * 0.45 - oy,
                    mid + w * 0.3 - ox,
                    low + (low - top) * 0.4 - oy,
                ),
                fill=TONGUE,
            )
        if teeth:
            d.rectangle((0, 0, 10_000, top + (low - top) * 0.28 - oy), fill=WHITE)

    _clip_paint(canvas, pts, paint)
    curve(ImageDraw.Draw(canvas), [*pts, pts[0]], f.ink, f.stroke * 0.8)


def _teeth_bar(draw: ImageDraw.ImageDraw, x: float, y: float, w: float, h: float, f: _Face) -> None:
    box = (x - w / 2, y - h / 2, x + w / 2, y + h / 2)
    draw.rounded_rectangle(
        box, radius=h * 0.35, fill=WHITE, outline=f.ink, width=max(1, round(f.stroke * 0.8))
    )
    thin = f.stroke * 0.45
    curve(draw, [(x - w / 2, y), (x + w / 2, y)], f.ink, thin)
    for i in range(1, 4):
        tx = x - w / 2 + w * i / 4
        curve(draw, [(tx, y - h / 2), (tx, y + h / 2)], f.ink, thin)


def _symbols(draw: ImageDraw.ImageDraw, x: float, y: float, w: float, f: _Face, rng: random.Random) -> None:
    h = w * 0.45
    draw.rounded_rectangle((x - w / 2, y - h / 2, x + w / 2, y + h / 2), radius=h * 0.3, fill=f.mouth_ink)
    colour, t, s = rng.choice((WHITE, (255, 90, 90), GOLD)), f.stroke * 0.45, h * 0.28
    for i, kind in enumerate(rng.sample(["hash", "bang", "star", "at"], 3)):
        sx = x - w / 3 + w / 3 * i
        if kind == "hash":
            for d in (-0.4, 0.4):
                curve(draw, [(sx + d * s, y - s), (sx + d * s, y + s)], colour, t)
                curve(draw, [(sx - s, y + d * s), (sx + s, y + d * s)], colour, t)
        elif kind == "bang":
            curve(draw, [(sx, y - s), (sx, y + s * 0.3)], colour, t * 1.3)
            _dot(draw, sx, y + s * 0.8, t * 0.7, t * 0.7, colour)
        elif kind == "star":
            for a in (0, 60, 120):
                dx, dy = s * math.cos(math.radians(a)), s * math.sin(math.radians(a))
                curve(draw, [(sx - dx, y - dy), (sx + dx, y + dy)], colour, t)
        else:
            draw.ellipse((sx - s, y - s, sx + s, y + s), outline=colour, width=max(1, round(t)))
            _dot(draw, sx, y, s * 0.35, s * 0.35, colour)


def _mouth(canvas: Image.Image, kind: str, f: _Face, rng: random.Random, animal: str) -> None:
    draw = ImageDraw.Draw(canvas)
    x, y, w, ink, st = f.mouth_x, f.mouth_y, f.mouth_w, f.ink, f.stroke
    if kind == "smile":
        if animal in ("cat", "bunny", "dog") and rng.random() < 0.5:  # the animal "w"
            curve(draw, bow(x - w * 0.3, x, y - w * 0.1, w * 0.14), ink, st)
            curve(draw, bow(x, x + w * 0.3, y - w * 0.1, w * 0.14), ink, st)
        else:
            curve(draw, bow(x - w / 2, x + w / 2, y - w * 0.12, w * rng.uniform(0.18, 0.28)), ink, st)
    elif kind in ("grin", "laugh"):
        big = kind == "laugh"
        half = w * (0.6 if big else 0.5)
        top = bow(x - half, x + half, y - w * 0.15, w * 0.04)
        low = bow(x + half, x - half, y - w * 0.15, w * (0.42 if big else 0.3))
        _open_mouth(canvas, top + low[1:-1], f, teeth=rng.random() < 0.6, tongue=big or rng.random() < 0.5)
    elif kind in ("wail", "open_frown"):
        big = kind == "wail"
        half = w * (0.48 if big else 0.32)
        base = y + w * (0.25 if big else 0.12)
        top = bow(x - half, x + half, base, -w * (0.32 if big else 0.2))
        low = bow(x + half, x - half, base, -w * 0.05)
        _open_mouth(canvas, top + low[1:-1], f, teeth=rng.random() < 0.5, tongue=big)
    elif kind == "flat":
        curve(draw, [(x - w * 0.32, y), (x + w * 0.32, y)], ink, st)
    elif kind == "frown":
        curve(draw, bow(x - w * 0.4, x + w * 0.4, y + w * 0.15, -w * rng.uniform(0.12, 0.2)), ink, st)
    elif kind == "tiny_frown":
        curve(draw, bow(x - w * 0.22, x + w * 0.22, y + w * 0.05, -w * 0.07), ink, st)
    elif kind == "wobble":
        pts = [
            (
                x + w * (t / 8 - 0.5) * 0.55,
                y - w * 0.05 * math.sin(math.pi * t / 8) + w * 0.03 * math.sin(t * 2.4),
            )
            for t in range(9)
        ]
        curve(draw, pts, ink, st)
    elif kind == "wavy":
        jag = rng.random() < 0.5
        n = 8 if jag else 24
        pts = []
        for i in range(n + 1):
            t = i / n
            wave = (1 if i % 2 else -1) if jag else math.sin(t * 4 * math.pi)
            pts.append((x + w * (t - 0.5) * 0.9, y + w * 0.08 * wave))
        curve(draw, pts, ink, st)
    elif kind in ("o", "small_o", "scream", "vomit"):
        rx, ry = {"o": (0.24, 0.3), "small_o": (0.13, 0.15), "scream": (0.26, 0.5), "vomit": (0.28, 0.22)}[
            kind
        ]
        oy = y + w * (0.25 if kind == "scream" else 0.05)
        _open_mouth(
            canvas, ellipse_pts(x, oy, w * rx, w * ry), f, teeth=False, tongue=kind in ("scream", "o")
        )
        if kind == "vomit":
            _vomit(draw, x, oy, w, f)
    elif kind == "tongue":
        tw = w * 0.2
        pts = [
            (x - tw, y - w * 0.05),
            *bow(x - tw, x + tw, y + w * 0.25, w * 0.15, 8),
            (x + tw, y - w * 0.05),
        ]
        _shape(draw, pts, TONGUE, ink, st * 0.7)
        curve(draw, [(x, y + w * 0.02), (x, y + w * 0.22)], mix(TONGUE, ink, 0.5), st * 0.5)
        curve(draw, bow(x - w * 0.45, x + w * 0.45, y - w * 0.12, w * 0.1), ink, st)
    elif kind == "smirk":
        side = rng.choice((-1, 1))
        pts = [
            (
                x + side * w * (t / 10 - 0.5) * 0.7,
                y + w * (0.06 * math.sin(math.pi * t / 10) - 0.2 * (t / 10) ** 2),
            )
            for t in range(11)
        ]
        curve(draw, pts, ink, st)
    elif kind == "kiss":  # puckered lips, a "3"
        kx = x + rng.choice((-1, 1)) * w * 0.08
        pts = [
            (kx + w * 0.13 * abs(math.sin(2 * math.pi * t / 16)), y - w * 0.18 + w * 0.36 * t / 16)
            for t in range(17)
        ]
        curve(draw, pts, ink, st)
    elif kind == "horn":
        _horn(draw, x, y, w, f, rng)
    elif kind in ("grimace", "clench"):
        _teeth_bar(
            draw,
            x,
            y + w * 0.05,
            w * (0.9 if kind == "grimace" else 0.7),
            w * (0.38 if kind == "grimace" else 0.3),
            f,
        )
    elif kind == "symbols":
        _symbols(draw, x, y + w * 0.05, w, f, rng)


def _vomit(draw: ImageDraw.ImageDraw, x: float, y: float, w: float, f: _Face) -> None:
    colour = mix(SICK, (255, 220, 60), 0.25)
    bottom = min(f.canvas * 0.98, y + w * 1.6)
    pts = quad((x - w * 0.22, y), (x - w * 0.35, bottom - w * 0.3), (x - w * 0.5, bottom), 8)
    pts += quad((x + w * 0.5, bottom), (x + w * 0.35, bottom - w * 0.3), (x + w * 0.22, y), 8)
    _shape(draw, pts, colour, mix(colour, (0, 0, 0), 0.5), f.stroke * 0.5)
    for dx in (-0.6, 0.65):
        _dot(draw, x + dx * w, bottom - w * 0.1, w * 0.07, w * 0.07, colour)


def _horn(draw: ImageDraw.ImageDraw, x: float, y: float, w: float, f: _Face, rng: random.Random) -> None:
    side = rng.choice((-1, 1))
    colour = rng.choice(BRIGHT)
    end = (x + side * w * 1.15, y + w * 0.25)
    width = w * 0.16
    curve(draw, [(x, y), end], f.ink, width + 2 * f.outline)
    curve(draw, [(x, y), end], colour, width)
    flare = [end, (end[0] + side * w * 0.35, end[1] - w * 0.2), (end[0] + side * w * 0.35, end[1] + w * 0.3)]
    _shape(draw, flare, rng.choice(BRIGHT), f.ink, f.outline)
    _dot(draw, x, y, w * 0.12, w * 0.12, f.mouth_ink, f.ink, f.stroke * 0.5)


# ---------------------------------------------------------------- extras


def _behind(draw: ImageDraw.ImageDraw, extras: set[str], f: _Face, rng: random.Random) -> None:
    """Things the head covers where they meet: confetti and sparkles around it."""
    s = f.canvas
    if "confetti" in extras:
        for _ in range(rng.randint(10, 18)):
            px, py = rng.uniform(0.05, 0.95) * s, rng.uniform(0.05, 0.95) * s
            size = s * rng.uniform(0.015, 0.03)
            if rng.random() < 0.5:
                draw.polygon(
                    ellipse_pts(px, py, size * 1.6, size * 0.7, rng.uniform(0, math.pi), 4),
                    fill=rng.choice(BRIGHT),
                )
            else:
                _dot(draw, px, py, size, size, rng.choice(BRIGHT))
    if "sparkles" in extras:
        for _ in range(rng.randint(3, 5)):
            a = rng.uniform(0, 2 * math.pi)
            d = rng.uniform(1.15, 1.4)
            px, py = f.cx + math.cos(a) * f.rx * d, f.cy + math.sin(a) * f.ry * d
            pts = star_pts(px, py, f.rx * rng.uniform(0.12, 0.2), 4, 0.35)
            _shape(
                draw,
                pts,
                rng.choice((GOLD, (255, 240, 120), WHITE)),
                mix(GOLD, (80, 30, 0), 0.6),
                f.outline * 0.6,
            )


def _cheeks(draw: ImageDraw.ImageDraw, extras: set[str], f: _Face, rng: random.Random) -> None:
    flush = "flush" in extras
    if not flush and "blush" not in extras:
        return
    colour = mix(f.fill, (240, 40, 70) if flush else (255, 120, 150), 0.85 if flush else 0.45)
    hatch = rng.random() < 0.3
    for side in (-1, 1):
        x, y = f.eye_x(side) + side * f.eye * 0.35, f.eye_y + f.eye * (1.0 if flush else 1.1)
        rx, ry = f.eye * (1.0 if flush else 0.6), f.eye * (0.55 if flush else 0.32)
        if hatch and not flush:
            for i in (-1, 0, 1):
                hx = x + i * rx * 0.55
                curve(
                    draw,
                    [(hx + rx * 0.2, y - ry), (hx - rx * 0.2, y + ry)],
                    mix(colour, (200, 0, 40), 0.4),
                    f.stroke * 0.5,
                )
        else:
            _dot(draw, x, y, rx, ry, colour)
            if flush and hatch:
                for i in (-1, 0, 1):
                    hx = x + i * rx * 0.45
                    curve(
                        draw,
                        [(hx + rx * 0.15, y - ry * 0.6), (hx - rx * 0.15, y + ry * 0.6)],
                        (200, 30, 60),
                        f.stroke * 0.4,
                    )


def _tears(draw: ImageDraw.ImageDraw, extras: set[str], f: _Face, rng: random.Random) -> None:
    line = mix(TEAR, (0, 30, 90), 0.5)
    width = f.outline * 0.7
    if "tears_joy" in extras:
        for side in (-1, 1):
            x, y = f.eye_x(side) + side * f.eye * 0.75, f.eye_y + f.eye * 0.3
            r = f.eye * rng.uniform(0.3, 0.42)
            _shape(draw, drop_pts(x, y, r, -side * 0.9), TEAR, line, width)
    if "tear" in extras:
        side = rng.choice((-1, 1))
        x, y = f.eye_x(side) + side * f.eye * 0.2, f.eye_y + f.eye * 1.15
        r = f.eye * 0.3
        _shape(draw, drop_pts(x, y, r, 0.0), TEAR, line, width)
        _dot(draw, x - r * 0.3, y - r * 0.1, r * 0.25, r * 0.25, WHITE)
    if "tears_stream" in extras:
        for side in (-1, 1):
            x0, y0 = f.eye_x(side), f.eye_y + f.eye * 0.35
            y1 = min(f.cy + f.ry * 1.05, f.canvas * 0.97)
            wide = f.eye * rng.uniform(0.35, 0.5)
            pts = quad((x0, y0), (x0 + side * f.eye * 0.2, (y0 + y1) / 2), (x0 + side * f.eye * 0.4, y1), 10)
            curve(draw, pts, line, wide + 2 * width)
            curve(draw, pts, TEAR, wide)


def _hand(
    draw: ImageDraw.ImageDraw, x: float, y: float, r: float, angle: float, f: _Face, fingers: int
) -> None:
    """A mitten-ish cartoon hand: a palm and rounded fingers fanned toward ``angle``."""
    colour = mix(f.fill, (255, 200, 120), 0.25)
    spread = [angle + (i - (fingers - 1) / 2) * 0.32 for i in range(fingers)]
    bones = [[(x, y), (x + math.cos(a) * r * 1.35, y + math.sin(a) * r * 1.35)] for a in spread]
    ol = f.outline
    for bone in bones:
        curve(draw, bone, f.line if f.line_w else f.ink, r * 0.5 + 2 * ol)
    _dot(draw, x, y, r + ol, r + ol, f.line if f.line_w else f.ink)
    for bone in bones:
        curve(draw, bone, colour, r * 0.5)
    _dot(draw, x, y, r, r, colour)


def _front(draw: ImageDraw.ImageDraw, extras: set[str], f: _Face, rng: random.Random) -> None:
    """Things drawn over the face."""
    ol = f.outline
    if "sweat" in extras:
        side = rng.choice((-1, 1))
        x, y = f.cx + side * f.rx * 0.68, f.cy - f.ry * 0.45
        r = f.rx * 0.14
        _shape(draw, drop_pts(x, y, r, side * 0.2), TEAR, mix(TEAR, (0, 30, 90), 0.5), ol * 0.8)
        _dot(draw, x - r * 0.3, y, r * 0.25, r * 0.25, WHITE)
    if "vein" in extras:
        side = rng.choice((-1, 1))
        vx, vy, d = f.cx + side * f.rx * 0.55, f.cy - f.ry * 0.62, f.rx * 0.17
        for sx in (-1, 1):
            for sy in (-1, 1):
                curve(
                    draw,
                    quad(
                        (vx + sx * d * 0.25, vy + sy * d),
                        (vx + sx * d * 0.3, vy + sy * d * 0.3),
                        (vx + sx * d, vy + sy * d * 0.25),
                        6,
                    ),
                    (215, 30, 40),
                    f.stroke * 0.9,
                )
    if "steam" in extras:
        puff = mix(WHITE, (200, 210, 220), 0.4)
        for side in (-1, 1):
            # puffs blown out of the nose, growing as they leave it
            px, py = f.mouth_x + side * max(f.rx * 0.5, f.mouth_w * 0.6), f.mouth_y + f.eye * 0.2
            balls = [
                (px + side * i * f.rx * 0.17, py + i * f.rx * 0.09, f.rx * (0.09 + i * 0.035))
                for i in range(3)
            ]
            for bx, by, br in balls:
                _dot(draw, bx, by, br + ol, br + ol, f.ink)
            for bx, by, br in balls:
                _dot(draw, bx, by, br, br, puff)
    if "kiss_heart" in extras:
        side = rng.choice((-1, 1))
        x, y = f.mouth_x + side * f.rx * 0.75, f.mouth_y + f.eye * 0.1
        _shape(draw, heart_pts(x, y, f.rx * 0.38), HEART, mix(HEART, (0, 0, 0), 0.5), ol * 0.6)
    if "zzz" in extras:
        colour = rng.choice((f.ink, (70, 110, 200)))
        x, y = f.cx + f.rx * 0.7, max(f.cy - f.ry * 0.6, f.canvas * 0.2)
        for i in range(3):
            z = f.rx * (0.1 + 0.05 * i)
            zx, zy = x + i * f.rx * 0.22, y - i * f.canvas * 0.06
            curve(
                draw,
                [(zx - z, zy - z), (zx + z, zy - z), (zx - z, zy + z), (zx + z, zy + z)],
                colour,
                f.stroke * 0.8,
            )
    if "hands_cheeks" in extras:
        for side in (-1, 1):
            _hand(
                draw,
                f.cx + side * f.rx * 0.92,
                f.mouth_y + f.rx * 0.1,
                f.rx * 0.2,
                -math.pi / 2 - side * 0.25,
                f,
                4,
            )
    if "hand_chin" in extras:
        side = rng.choice((-1, 1))
        hx, hy = f.mouth_x + side * f.rx * 0.4, f.cy + f.ry * 0.95
        _hand(draw, hx, hy, f.rx * 0.25, -math.pi / 2 + side * 0.45, f, 1)
    if "party_hat" in extras:
        _party_hat(draw, f, rng)


def _party_hat(draw: ImageDraw.ImageDraw, f: _Face, rng: random.Random) -> None:
    lean = rng.uniform(-0.35, 0.35)
    bx, by = f.cx + lean * f.rx * 0.6, f.cy - f.ry * 0.82
    half, height = f.rx * 0.38, f.rx * 0.9
    apex = (bx + lean * height, by - height)
    pts = [(bx - half, by), apex, (bx + half, by)]
    colour, dots = rng.sample(BRIGHT, 2)
    _shape(draw, pts, colour, f.ink, f.outline)
    for t, u in ((0.25, 0.3), (0.2, -0.35), (0.55, 0.0)):
        px = bx + (apex[0] - bx) * t + u * half * (1 - t)
        py = by + (apex[1] - by) * t
        _dot(draw, px, py, half * 0.14, half * 0.14, dots)
    _dot(draw, apex[0], apex[1], half * 0.28, half * 0.28, rng.choice(BRIGHT), f.ink, f.outline * 0.8)


# ---------------------------------------------------------------- the whole sticker


def _choose(expression: Expression, rng: random.Random) -> tuple[str, str, str, set[str]]:
    extras = expression.extras_for(rng)
    return rng.choice(expression.eyes), rng.choice(expression.mouth), rng.choice(expression.brows), extras


def _finish(canvas: Image.Image, size: int, rng: random.Random, tilt: bool) -> Image.Image:
    angle = (
        rng.uniform(45, 100) * rng.choice((-1, 1))
        if tilt
        else (rng.uniform(-14, 14) if rng.random() < 0.6 else 0.0)
    )
    if angle:
        canvas = canvas.rotate(angle, resample=Image.Resampling.BICUBIC)
    sticker = canvas.resize((size, size), Image.Resampling.LANCZOS)
    pick = rng.random()
    if pick < 0.35:  # the white die-cut edge of a printed sticker
        reach = max(3, round(size * rng.uniform(0.025, 0.05)) * 2 + 1)
        alpha = (
            sticker.getchannel("A").point(lambda a: 255 if a > 40 else 0).filter(ImageFilter.MaxFilter(reach))
        )
        edge = Image.new("RGBA", sticker.size, (255, 255, 255, 0))
        edge.putalpha(alpha.filter(ImageFilter.GaussianBlur(0.6)))
        return Image.alpha_composite(edge, sticker)
    if pick < 0.5:  # a coloured tile behind it
        tile = Image.new("RGBA", sticker.size, (0, 0, 0, 0))
        colour = hsv(rng.random(), rng.uniform(0.1, 0.5), rng.uniform(0.85, 1.0))
        ImageDraw.Draw(tile).rounded_rectangle(
            (0, 0, size - 1, size - 1), radius=size * rng.uniform(0, 0.25), fill=colour
        )
        return Image.alpha_composite(tile, sticker)
    return sticker


def draw_face(expression: Expression, rng: random.Random, size: int = 128) -> Image.Image:
    """One cartoon sticker face showing ``expression``, drawn a way chosen by ``rng`` (RGBA)."""
    s = size * SUPERSAMPLE
    eyes, mouth, brows, extras = _choose(expression, rng)
    top, bottom = _fill_colours(extras, rng)
    animal = rng.choice(("none", "none", "none", "cat", "bear", "bunny", "dog"))
    shape = (
        "circle"
        if animal != "none" and rng.random() < 0.5
        else rng.choice(("circle", "ellipse", "square", "blob", "bean"))
    )
    has_body = rng.random() < 0.2 and "tilt" not in extras
    f = _geometry(rng, s, has_body, top)
    if f.line_w == 0 and sum(top) > 700:  # a white face needs an edge to be a face at all
        f = replace(f, line_w=f.rx * rng.uniform(0.025, 0.05))
    canvas = Image.new("RGBA", (s, s), (0, 0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    _behind(draw, extras, f, rng)
    if has_body:
        _body(draw, f, rng)
    _ears(draw, animal, f, rng)
    squash = (f.rx, f.ry) if shape != "ellipse" else (f.rx * 0.92, f.ry * 1.08)
    head = _head_pts(shape, f.cx, f.cy, squash[0], squash[1], rng)
    _paint_head(canvas, head, f, bottom, "shadow" in extras)
    if animal == "dog":
        _dog_ears(draw, f)
    _cheeks(draw, extras, f, rng)
    _nose(draw, animal, f, rng)
    _eyes(draw, eyes, f, rng)
    _brows(draw, brows, f, rng)
    _mouth(canvas, mouth, f, rng, animal)
    _tears(draw, extras, f, rng)
    _front(draw, extras, f, rng)
    return _finish(canvas, size, rng, "tilt" in extras)


def drawings(
    draw: Callable[[Expression, random.Random, int], Image.Image],
    namespace: str,
    per_expression: int,
    seed: int = 0,
    size: int = 80,
) -> tuple[np.ndarray, list[str]]:
    """``per_expression`` pictures of every expression by ``draw`` as (N, size, size, 4) uint8
    RGBA, and the emoji key of each. Each picture has its own seed (``namespace``, ``seed``,
    the expression and the picture's number), so a picture never changes when the count or
    the table around it does."""
    pixels, keys = [], []
    for index, expression in enumerate(EXPRESSIONS):
        for n in range(per_expression):
            rng = random.Random(f"{namespace}:{seed}:{index}:{n}")
            pixels.append(rgba_array(draw(expression, rng, size), size))
            keys.append(expression.key)
    if not pixels:
        return np.zeros((0, size, size, 4), np.uint8), keys
    return np.stack(pixels), keys


def drawn_faces(per_expression: int, seed: int = 0, size: int = 80) -> tuple[np.ndarray, list[str]]:
    """``per_expression`` cartoon faces of every expression, and their emoji keys (:func:`drawings`)."""
    return drawings(draw_face, "stickerbot.drawn", per_expression, seed, size)
