"""Draw the DEV sticker set into assets/eval/drawn_stickers_dev/.

    .venv/bin/python scripts/draw_dev_stickers.py

The sticker image encoder's augmentation and thresholds are tuned on these pictures, so the
unseen-sticker test set (assets/eval/drawn_stickers, scripts/draw_test_stickers.py) stays
unseen. To keep tuning from flattering the test, this set is drawn *differently*: other
face shapes (square, triangle, pear, hexagon, egg, diamond), pastel and neon palettes,
dotted, dashed, chalk, charcoal, watercolour and stipple strokes, thick black manga outlines
with screentone, other eyes and mouths (^ ^, T T, star eyes, blank eyes, side-eyes,
shouting and grimacing mouths), other animals (owl, penguin, fox, panda, koala, sheep,
raccoon, lion, monkey, cow), other characters (blob monsters, fruit and vegetables, clouds,
potatoes, mushrooms, rice balls, toast, birds, a chibi kid, a cactus) and other photo-like
backgrounds, fonts and caption words.

From draw_test_stickers.py come only the pen, geometry and noise helpers, the die-cut border
and the lists of kinds and intents.
Writes 128x128 RGBA PNGs (drawn at 4x and scaled down) and labels.jsonl with the test set's
fields: image, emotion (SER30K seven), fine_emotion (Sticker820K, or null), intent (the
chat's intents, or null), kind, description. Pillow + numpy only, no network. Deterministic:
each picture has its own seed, taken from its name.
"""

from __future__ import annotations

import json
import math
import sys
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

sys.path.insert(0, str(Path(__file__).resolve().parent))
import draw_test_stickers as T  # noqa: E402
from draw_test_stickers import ROOT, SIZE, SS, W, arc, blob, drop, heart, rotate, star  # noqa: E402

from stickerbot.stickers.labels import EMOTIONS, FINE_EMOTIONS  # noqa: E402

OUT_DIR = ROOT / "assets" / "eval" / "drawn_stickers_dev"
FONTS = "/usr/share/fonts/truetype/"
SERIF = FONTS + "dejavu/DejaVuSerif-Bold.ttf"
MONO = FONTS + "dejavu/DejaVuSansMono-Bold.ttf"
NARROW = FONTS + "liberation/LiberationSansNarrow-Bold.ttf"
LIB = FONTS + "liberation/LiberationSans-Bold.ttf"
LIB_IT = FONTS + "liberation/LiberationSans-BoldItalic.ttf"
COND = FONTS + "dejavu/DejaVuSansCondensed-Bold.ttf"

BLACK, WHITE = (16, 16, 20), (255, 255, 255)
INK2 = (52, 40, 60)
MOUTH, TONGUE = (150, 30, 50), (250, 130, 150)
TEAR, TEAR_INK = (150, 215, 255), (30, 120, 220)
RED, BLUE = (230, 40, 40), (60, 110, 230)
SICKG, SICK_DARK = (150, 200, 60), (90, 140, 30)
# pastel and neon palettes (the test set uses mid-tone peach, pink, lilac, mint, sky, grey)
P_BUTTER, P_PEACH, P_ROSE = (255, 243, 176), (255, 218, 200), (255, 205, 222)
P_LAV, P_AQUA, P_SAGE = (225, 214, 255), (200, 240, 240), (214, 236, 200)
N_PINK, N_CYAN, N_LIME = (255, 40, 200), (0, 240, 255), (170, 255, 0)
N_YELLOW, N_ORANGE, N_VIOLET = (255, 240, 0), (255, 120, 0), (170, 80, 255)


# ---------------------------------------------------------------- shapes the test set has not


def rounded_poly(corners, rad, n=10):
    """A polygon with its corners rounded off by `rad` (128-px units)."""
    out = []
    k = len(corners)
    for i in range(k):
        p0, p1, p2 = np.array(corners[i - 1]), np.array(corners[i]), np.array(corners[(i + 1) % k])
        a, b = p0 - p1, p2 - p1
        a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
        q0, q2 = p1 + a * rad, p1 + b * rad
        for t in np.linspace(0, 1, n):  # quadratic bezier through the corner
            out.append(tuple((1 - t) ** 2 * q0 + 2 * (1 - t) * t * p1 + t**2 * q2))
    return out


def form_of(form, cx, cy, r, rng):
    if form == "square":
        return rounded_poly(
            [(cx - r, cy - r), (cx + r, cy - r), (cx + r, cy + r), (cx - r, cy + r)], r * 0.22
        )
    if form == "triangle":  # point down, like a rice-ball turned over
        return rounded_poly(
            [(cx - r * 1.15, cy - r * 0.8), (cx + r * 1.15, cy - r * 0.8), (cx, cy + r * 1.15)], r * 0.35
        )
    if form == "tri_up":
        return rounded_poly(
            [(cx, cy - r * 1.2), (cx + r * 1.2, cy + r * 0.85), (cx - r * 1.2, cy + r * 0.85)], r * 0.4
        )
    if form == "hexagon":
        return rounded_poly(
            [
                (cx + r * 1.08 * math.cos(math.pi / 3 * i), cy + r * 1.08 * math.sin(math.pi / 3 * i))
                for i in range(6)
            ],
            r * 0.15,
        )
    if form == "diamond":
        return rounded_poly(
            [(cx, cy - r * 1.25), (cx + r * 1.1, cy), (cx, cy + r * 1.25), (cx - r * 1.1, cy)], r * 0.3
        )
    if form in ("pear", "egg"):  # pear: narrow top, wide bottom; egg: the other way up
        t = np.linspace(0, 2 * np.pi, 96, endpoint=False)
        y = np.sin(t)
        k = 1 - 0.22 * y if form == "egg" else 1 + 0.24 * y
        return list(zip(cx + r * 0.95 * k * np.cos(t), cy + r * 1.08 * y, strict=True))
    if form == "tall":
        return rounded_poly(
            [
                (cx - r * 0.8, cy - r * 1.1),
                (cx + r * 0.8, cy - r * 1.1),
                (cx + r * 0.8, cy + r * 1.1),
                (cx - r * 0.8, cy + r * 1.1),
            ],
            r * 0.5,
        )
    if form == "circle":
        return arc(cx, cy, r, r, n=96)
    if form == "lumpy":  # a potato
        t = np.linspace(0, 2 * np.pi, 96, endpoint=False)
        k = 1 + 0.06 * np.sin(3 * t + 1) + 0.04 * np.sin(5 * t + 2)
        return list(zip(cx + r * 1.12 * k * np.cos(t), cy + r * 0.92 * k * np.sin(t), strict=True))
    if form == "blob":
        return blob(cx, cy, r, rng)
    raise ValueError(form)


def bbox(pts):
    xs, ys = zip(*pts, strict=True)
    return min(xs), min(ys), max(xs), max(ys)


# ---------------------------------------------------------------- a pen with more strokes


class DevPen(T.Pen):
    """The test set's pen plus dashed and dotted strokes, screentone and stipple fills."""

    def __init__(self, img, rng, width=2.5, ink=INK2, wobble=0.0, stroke="solid"):
        super().__init__(img, rng, width, ink, wobble)
        self.stroke, self.skin = stroke, WHITE

    def _raw(self, pts, w, col):
        xy = [(x * SS, y * SS) for x, y in pts]
        self.draw.line(xy, fill=col, width=max(1, round(w * SS)), joint="curve")
        for x, y in (xy[0], xy[-1]):
            r = w * SS / 2
            self.draw.ellipse((x - r, y - r, x + r, y + r), fill=col)

    def line(self, pts, width=None, color=None, closed=False):
        if self.stroke == "solid":
            return super().line(pts, width, color, closed)
        a = np.array(self._shake(list(pts), closed), float)
        s = np.concatenate([[0], np.cumsum(np.hypot(*np.diff(a, axis=0).T))])
        w, col = width or self.width, color or self.ink
        if s[-1] < w * 3:
            return self._raw([tuple(p) for p in a], w, col)
        if self.stroke == "dot":
            n = max(2, int(s[-1] / (w * 2.1)))
            for d in np.linspace(0, s[-1], n + 1)[: -1 if closed else None]:
                self.dot(np.interp(d, s, a[:, 0]), np.interp(d, s, a[:, 1]), w * 0.62, col)
            return None
        dash, gap = w * 3.2, w * 1.9
        d = 0.0
        while d < s[-1]:
            e = min(d + dash, s[-1])
            t = np.linspace(d, e, 8)
            self._raw(list(zip(np.interp(t, s, a[:, 0]), np.interp(t, s, a[:, 1]), strict=True)), w, col)
            d = e + gap
        return None

    def solid(self):
        """The same pen with a solid stroke, for the small face marks."""
        p = DevPen(self.img, self.rng, self.width, self.ink, self.wobble)
        p.skin = self.skin
        return p

    def tone(self, pts, color, gap=2.6, r=0.75):
        """Fill pts with a grid of dots, like manga screentone."""
        layer = Image.new("RGBA", self.img.size, (0, 0, 0, 0))
        d = ImageDraw.Draw(layer)
        x0, y0, x1, y1 = bbox(pts)
        for j, y in enumerate(np.arange(y0, y1 + gap, gap)):
            for x in np.arange(x0 + (gap / 2 if j % 2 else 0), x1 + gap, gap):
                d.ellipse(((x - r) * SS, (y - r) * SS, (x + r) * SS, (y + r) * SS), fill=color)
        self.img.paste(
            layer,
            (0, 0),
            Image.fromarray(np.minimum(np.asarray(layer.getchannel("A")), np.asarray(self.mask(pts)))),
        )

    def stipple(self, pts, color, n=500, r=0.8):
        """Fill pts with random dots, like a pen stipple."""
        layer = Image.new("RGBA", self.img.size, (0, 0, 0, 0))
        d = ImageDraw.Draw(layer)
        x0, y0, x1, y1 = bbox(pts)
        for x, y in zip(self.rng.uniform(x0, x1, n), self.rng.uniform(y0, y1, n), strict=True):
            d.ellipse(((x - r) * SS, (y - r) * SS, (x + r) * SS, (y + r) * SS), fill=color)
        self.img.paste(
            layer,
            (0, 0),
            Image.fromarray(np.minimum(np.asarray(layer.getchannel("A")), np.asarray(self.mask(pts)))),
        )

    def wash(self, pts, color):
        """A watercolour wash: a soft, blotchy fill that bleeds a little past the line."""
        m = self.mask(pts).filter(ImageFilter.GaussianBlur(3 * SS))
        noise = T.smooth_noise(self.rng, 6) * 0.25 + 0.75
        a = np.clip(np.asarray(m, float) * noise, 0, 255).astype(np.uint8)
        layer = Image.new("RGBA", self.img.size, color + (255,))
        layer.putalpha(Image.fromarray(a))
        self.img.alpha_composite(layer)


def center(pts):
    x0, y0, x1, y1 = bbox(pts)
    return (x0 + x1) / 2, (y0 + y1) / 2


# ---------------------------------------------------------------- face parts, drawn anew


def eye(pen, kind, x, y, es, s):
    ink = pen.ink
    if kind == "caret":  # ^ ^
        pen.line([(x - es, y + es * 0.45), (x, y - es * 0.55), (x + es, y + es * 0.45)], pen.width * 1.2)
    elif kind == "xd":  # > <
        pen.line(
            [(x - s * es * 0.9, y - es * 0.8), (x + s * es * 0.7, y), (x - s * es * 0.9, y + es * 0.8)],
            pen.width * 1.3,
        )
    elif kind == "star":
        pen.shape(star(x, y, es * 1.35, 5, 0.45), (255, 210, 30), width=pen.width * 0.7)
    elif kind == "sparkle":  # big anime eye with a coloured iris and two highlights
        pen.shape(arc(x, y, es * 0.95, es * 1.25), ink, False)
        pen.shape(arc(x, y + es * 0.35, es * 0.7, es * 0.7), (90, 140, 220), False)
        pen.dot(x - es * 0.3, y - es * 0.45, es * 0.36, WHITE)
        pen.dot(x + es * 0.35, y + es * 0.55, es * 0.18, WHITE)
    elif kind == "wet":  # sparkle eye with a wobbling pool of tears along the bottom
        eye(pen, "sparkle", x, y, es, s)
        t = np.linspace(-1, 1, 24)
        pen.line(
            list(zip(x + t * es * 1.15, y + es * 0.9 + np.sin(t * 3 * np.pi) * es * 0.12, strict=True)),
            pen.width * 0.9,
            TEAR_INK,
        )
    elif kind == "tt":  # T T: a bar and a stream running down
        pen.line([(x - es * 1.1, y - es * 0.5), (x + es * 1.1, y - es * 0.5)], pen.width * 1.3)
    elif kind == "u_closed":  # sleeping: a downward arc with lashes
        pen.line(arc(x, y - es * 0.3, es * 0.95, es * 0.8, 20, 160, 20), pen.width * 1.1)
        for a in (50, 90, 130):
            px, py = (
                x + es * 0.95 * math.cos(math.radians(a)),
                y - es * 0.3 + es * 0.8 * math.sin(math.radians(a)),
            )
            pen.line(
                [
                    (px, py),
                    (px + math.cos(math.radians(a)) * es * 0.45, py + math.sin(math.radians(a)) * es * 0.45),
                ],
                pen.width * 0.6,
            )
    elif kind == "angry":  # a white eye cut by a slanted lid
        pen.shape(arc(x, y, es * 1.1, es * 0.9), WHITE, width=pen.width * 0.8)
        pen.dot(x - s * es * 0.15, y + es * 0.2, es * 0.45, ink)
        lid = [
            (x - s * es * 1.5, y - es * 0.15),
            (x + s * es * 1.5, y - es * 1.1),
            (x + s * es * 1.5, y - es * 2),
            (x - s * es * 1.5, y - es * 2),
        ]
        pen.shape(lid, pen.skin, False)
        pen.line([(x - s * es * 1.25, y - es * 0.2), (x + s * es * 1.25, y - es * 0.95)], pen.width * 1.4)
    elif kind == "fury":  # blank white eyes under a hard lid, manga rage
        pts = [
            (x - s * es * 1.2, y - es * 0.1),
            (x + s * es * 1.2, y - es * 0.8),
            (x + s * es * 1.0, y + es * 0.7),
            (x - s * es * 0.9, y + es * 0.6),
        ]
        pen.shape(rounded_poly(pts, es * 0.25, 6), WHITE, width=pen.width * 1.1)
    elif kind == "blank":  # round white eyes with no pupils, manga shock
        pen.shape(arc(x, y, es * 1.05, es * 1.2), WHITE, width=pen.width * 1.0)
    elif kind == "shrink":  # wide white eyes with a tiny trembling pupil
        pen.shape(arc(x, y, es * 1.1, es * 1.3), WHITE, width=pen.width * 0.9)
        pen.dot(x, y, es * 0.22, ink)
        pen.line(arc(x, y, es * 1.6, es * 1.8, 200, 250, 8), pen.width * 0.5)
    elif kind == "pop":  # huge round eyes, surprise
        pen.shape(arc(x, y, es * 1.3, es * 1.45), WHITE, width=pen.width * 0.9)
        pen.dot(x, y, es * 0.55, ink)
        pen.dot(x - es * 0.2, y - es * 0.2, es * 0.17, WHITE)
    elif kind == "side":  # half-lidded side glance
        pen.shape(
            arc(x, y, es * 1.1, es * 0.75, 0, 180, 24) + [(x - es * 1.1, y)], WHITE, width=pen.width * 0.8
        )
        pen.shape(arc(x + es * 0.55, y + es * 0.05, es * 0.42, es * 0.4, 0, 180, 16), ink, False)
        pen.line([(x - es * 1.3, y - es * 0.05), (x + es * 1.3, y - es * 0.05)], pen.width * 1.3)
    elif kind == "x":
        for k in (-1, 1):
            pen.line([(x - es * 0.8, y - k * es * 0.8), (x + es * 0.8, y + k * es * 0.8)], pen.width * 1.2)
    elif kind == "line":  # - -
        pen.line([(x - es * 1.0, y), (x + es * 1.0, y)], pen.width * 1.3)
    elif kind == "dot":
        pen.dot(x, y, es * 0.42, ink)
    elif kind == "spiral":
        t = np.linspace(0, 5 * np.pi, 60)
        pen.line(
            list(
                zip(
                    x + np.cos(t) * t / (5 * np.pi) * es * 1.1,
                    y + np.sin(t) * t / (5 * np.pi) * es * 1.1,
                    strict=True,
                )
            ),
            pen.width * 0.8,
        )
    elif kind == "lidded":  # bored half-open eye
        pen.shape(arc(x, y, es * 0.95, es * 0.7, 0, 180, 20), WHITE, width=pen.width * 0.8)
        pen.shape(arc(x, y + es * 0.05, es * 0.4, es * 0.38, 0, 180, 14), ink, False)
        pen.line([(x - es * 1.15, y), (x + es * 1.15, y)], pen.width * 1.3)
    else:
        raise ValueError(kind)


def brow(pen, kind, x, y, es, s):
    """Filled, tapered brows (the test set draws plain lines)."""
    o, i = x + s * es * 1.3, x - s * es * 0.6

    def wedge(p_out, p_in, thick):
        (x0, y0), (x1, y1) = p_out, p_in
        nx, ny = -(y1 - y0), x1 - x0
        n = math.hypot(nx, ny) or 1
        nx, ny = nx / n * thick, ny / n * thick
        pen.shape([(x0, y0), (x1 + nx, y1 + ny), (x1 - nx, y1 - ny)], pen.ink, False)
        pen.dot(x1, y1, thick, pen.ink)

    t = es * 0.42
    if kind == "angry":
        wedge((o, y - es * 0.7), (i, y + es * 0.55), t)
    elif kind == "sad":
        wedge((o, y + es * 0.45), (i, y - es * 0.6), t)
    elif kind == "worry":  # wavy sad brows
        u = np.linspace(0, 1, 16)
        pen.line(
            list(
                zip(
                    o + (i - o) * u,
                    y + es * 0.45 - u * es * 1.0 + np.sin(u * 2 * np.pi) * es * 0.18,
                    strict=True,
                )
            ),
            pen.width * 1.2,
        )
    elif kind == "up":
        pen.line(arc(x, y - es * 0.2, es * 1.1, es * 0.75, 200, 340, 16), pen.width * 1.4)
    elif kind == "flat":
        wedge((o, y), (i, y), t * 0.8)
    elif kind == "disgust":  # both pulled low and in, with wrinkles between
        wedge((o, y - es * 0.1), (i, y + es * 0.5), t * 0.8)
    elif kind == "skeptic":
        if s < 0:
            wedge((o, y + es * 0.2), (i, y + es * 0.3), t * 0.8)
        else:
            pen.line(arc(x, y - es * 0.4, es * 1.1, es * 0.7, 200, 340, 16), pen.width * 1.3)


def mouth(pen, kind, cx, my, mw):
    ink = pen.ink
    if kind == "cat":  # :3 / w
        pen.line(arc(cx - mw * 0.3, my, mw * 0.3, mw * 0.3, 0, 180, 14), pen.width * 1.1)
        pen.line(arc(cx + mw * 0.3, my, mw * 0.3, mw * 0.3, 0, 180, 14), pen.width * 1.1)
    elif kind == "open":  # a wide open smile, crescent shaped
        top = arc(cx, my - mw * 0.5, mw * 1.05, mw * 0.35, 0, 180, 24)
        bot = arc(cx, my - mw * 0.5, mw * 1.05, mw * 1.05, 180, 0, 24)
        pts = [(x, y) for x, y in bot[::-1]]
        pen.shape(pts, MOUTH, False)
        pen.shape(arc(cx, my + mw * 0.25, mw * 0.55, mw * 0.3), TONGUE, False)
        pen.shape(arc(cx, my - mw * 0.5, mw * 1.05, mw * 0.12, 180, 360, 24), pen.skin, False)
        pen.line(pts, closed=True)
        del top
    elif kind == "smile":
        pen.line(arc(cx, my - mw * 0.6, mw, mw * 0.8, 20, 160, 24), pen.width * 1.1)
        for s in (-1, 1):  # dimples
            pen.line(
                arc(
                    cx + s * mw * 1.05,
                    my - mw * 0.35,
                    mw * 0.18,
                    mw * 0.18,
                    90 - s * 90 - 40,
                    90 - s * 90 + 40,
                    8,
                ),
                pen.width * 0.8,
            )
    elif kind == "shout":  # manga yell: a wide trapezoid, teeth on top
        pts = [
            (cx - mw * 1.1, my - mw * 0.5),
            (cx + mw * 1.1, my - mw * 0.5),
            (cx + mw * 0.6, my + mw * 0.75),
            (cx - mw * 0.6, my + mw * 0.75),
        ]
        pen.shape(rounded_poly(pts, mw * 0.15, 5), MOUTH, False)
        pen.shape(
            [
                (cx - mw * 1.0, my - mw * 0.45),
                (cx + mw * 1.0, my - mw * 0.45),
                (cx + mw * 0.9, my - mw * 0.2),
                (cx - mw * 0.9, my - mw * 0.2),
            ],
            WHITE,
            False,
        )
        pen.shape(arc(cx, my + mw * 0.55, mw * 0.45, mw * 0.22), TONGUE, False)
        pen.line(rounded_poly(pts, mw * 0.15, 5), pen.width * 1.1, closed=True)
    elif kind == "zigzag":
        xs = np.linspace(cx - mw * 0.9, cx + mw * 0.9, 9)
        pen.line([(x, my + (mw * 0.18 if i % 2 else -mw * 0.18)) for i, x in enumerate(xs)], pen.width * 1.1)
    elif kind == "sharp":  # an open mouth full of pointed teeth
        pts = arc(cx, my - mw * 0.3, mw * 1.0, mw * 0.9, 0, 180, 24)
        pen.shape(pts, MOUTH, False)
        xs = np.linspace(cx - mw * 0.9, cx + mw * 0.9, 6)
        for a, b in zip(xs[:-1], xs[1:], strict=True):
            pen.shape([(a, my - mw * 0.3), (b, my - mw * 0.3), ((a + b) / 2, my + mw * 0.15)], WHITE, False)
        pen.line(pts, closed=True)
    elif kind == "grimace":  # clenched teeth stretched wide, many teeth
        box = rounded_poly(
            [
                (cx - mw * 1.1, my - mw * 0.35),
                (cx + mw * 1.1, my - mw * 0.35),
                (cx + mw * 1.1, my + mw * 0.35),
                (cx - mw * 1.1, my + mw * 0.35),
            ],
            mw * 0.25,
            6,
        )
        pen.shape(box, WHITE, False)
        pen.line([(cx - mw * 1.1, my), (cx + mw * 1.1, my)], min(pen.width * 0.5, mw * 0.08))
        for x in np.linspace(cx - mw * 0.66, cx + mw * 0.66, 4):
            pen.line([(x, my - mw * 0.33), (x, my + mw * 0.33)], min(pen.width * 0.5, mw * 0.08))
        pen.line(box, pen.width * 0.8, closed=True)
    elif kind == "bleh":  # a wavy grimace with the tongue hanging out
        tx = cx + mw * 0.1
        pen.shape(
            [(tx - mw * 0.5, my)]
            + arc(tx, my + mw * 0.35, mw * 0.5, mw * 0.8, 180, 0, 20)[::-1]
            + [(tx + mw * 0.5, my)],
            (230, 100, 130),
        )
        pen.line([(tx, my + mw * 0.05), (tx, my + mw * 0.55)], pen.width * 0.6)
        t = np.linspace(-1, 1, 30)
        pen.line(
            list(zip(cx + t * mw * 0.9, my - np.abs(np.sin(t * 1.5 * np.pi)) * mw * 0.2, strict=True)),
            pen.width * 1.1,
        )
    elif kind == "puke":  # a green stream pouring from an open mouth
        pen.shape(arc(cx, my, mw * 0.7, mw * 0.6), MOUTH)
        t = np.linspace(0, 1, 14)
        wl = mw * (0.5 + 0.6 * t)
        ys = my + t * mw * 3.4
        pts = (
            list(zip(cx - wl + np.sin(t * 8) * mw * 0.1, ys, strict=True))
            + list(zip(cx + wl + np.sin(t * 8) * mw * 0.1, ys, strict=True))[::-1]
        )
        pen.shape(pts, (150, 215, 40), width=pen.width * 0.8, ink=SICK_DARK)
        for k in range(4):
            pen.dot(cx + (k - 1.5) * mw * 0.6, my + mw * (3.7 + 0.2 * (k % 2)), mw * 0.2, (150, 215, 40))
    elif kind == "wobble":  # a trembling frown
        t = np.linspace(-1, 1, 36)
        pen.line(
            list(
                zip(
                    cx + t * mw * 0.9,
                    my + (t**2 - 0.5) * mw * 0.55 + np.sin(t * 6 * np.pi) * mw * 0.05,
                    strict=True,
                )
            ),
            pen.width * 1.1,
        )
    elif kind == "wail":  # crying: a trapezoid, wide at the bottom
        pts = rounded_poly(
            [
                (cx - mw * 0.5, my - mw * 0.35),
                (cx + mw * 0.5, my - mw * 0.35),
                (cx + mw * 0.95, my + mw * 0.7),
                (cx - mw * 0.95, my + mw * 0.7),
            ],
            mw * 0.2,
            5,
        )
        pen.shape(pts, MOUTH, False)
        pen.shape(arc(cx, my + mw * 0.55, mw * 0.5, mw * 0.2, 180, 360), TONGUE, False)
        pen.line(pts, closed=True)
    elif kind == "o_tall":
        pen.shape(arc(cx, my + mw * 0.1, mw * 0.35, mw * 0.55), MOUTH, width=pen.width * 1.1)
    elif kind == "o_big":
        pen.shape(arc(cx, my + mw * 0.2, mw * 0.6, mw * 0.7), MOUTH, width=pen.width * 1.1)
        pen.shape(arc(cx, my + mw * 0.6, mw * 0.35, mw * 0.2), TONGUE, False)
    elif kind == "scream":  # a long wobbly scream, stretched down
        t = np.linspace(0, 2 * np.pi, 30, endpoint=False)
        k = 1 + 0.06 * np.sin(7 * t)
        pen.shape(
            list(zip(cx + mw * 0.45 * k * np.cos(t), my + mw * 0.5 + mw * 0.95 * k * np.sin(t), strict=True)),
            MOUTH,
            width=pen.width * 1.1,
        )
    elif kind == "flat":
        pen.line([(cx - mw * 0.6, my), (cx + mw * 0.6, my)], pen.width * 1.1)
    elif kind == "slant":
        pen.line([(cx - mw * 0.6, my + mw * 0.1), (cx + mw * 0.5, my - mw * 0.15)], pen.width * 1.1)
    elif kind == "tiny_o":
        pen.shape(arc(cx, my, mw * 0.2, mw * 0.24), MOUTH, width=pen.width * 0.8)
    elif kind == "frown":
        pen.line(arc(cx, my + mw * 0.6, mw * 0.75, mw * 0.55, 210, 330, 20), pen.width * 1.1)
    elif kind == "pout":  # small puckered frown
        pen.line(arc(cx, my + mw * 0.35, mw * 0.4, mw * 0.3, 200, 340, 14), pen.width * 1.2)
    elif kind == "none":
        pass
    else:
        raise ValueError(kind)
    del ink


MOODS = {
    # happiness
    "joy": dict(eyes="caret", mouth="open", extras=("notes",)),
    "hehe": dict(eyes="caret", mouth="cat", extras=("blush_lines",)),
    "starry": dict(eyes="star", mouth="open", extras=("twinkle",)),
    "xd": dict(eyes="xd", mouth="open", extras=("joy_drops",)),
    "sweet": dict(eyes="caret", mouth="smile", extras=("blush_lines", "flowers")),
    "thanks": dict(eyes="caret", mouth="smile", extras=("twinkle",)),
    # sadness
    "tt": dict(eyes="tt", brows="sad", mouth="wobble", extras=("streams",)),
    "sob": dict(eyes="xd", brows="sad", mouth="wail", extras=("flying_tears",)),
    "pleading": dict(eyes="wet", brows="sad", mouth="pout", extras=()),
    "gloomy": dict(eyes="lidded", brows="sad", mouth="frown", extras=("drizzle",)),
    "heartbroken": dict(eyes="wet", brows="sad", mouth="frown", extras=("broken_heart",)),
    # anger
    "rage": dict(eyes="angry", brows="angry", mouth="shout", extras=("flames",)),
    "fume": dict(eyes="fury", brows="angry", mouth="zigzag", extras=("nose_puffs", "bolt")),
    "grr": dict(eyes="angry", brows="angry", mouth="sharp", extras=("curse",)),
    "huff": dict(eyes="dot", brows="angry", mouth="pout", extras=("red_cheeks", "cross")),
    # fear
    "terror": dict(eyes="blank", brows="worry", mouth="scream", extras=("fear_lines", "sweat_drops")),
    "shaky": dict(eyes="shrink", brows="worry", mouth="zigzag", extras=("tremble", "sweat_drops")),
    "eek": dict(eyes="shrink", brows="worry", mouth="grimace", extras=("sweat_drops", "tremble")),
    # surprise
    "gasp": dict(eyes="pop", brows="up", mouth="o_tall", extras=("pop_lines",)),
    "shock": dict(eyes="pop", brows="up", mouth="o_big", extras=("bang2",)),
    "whoa": dict(eyes="pop", brows="up", mouth="o_big", extras=("pop_lines", "bang2")),
    # disgust
    "ew": dict(eyes="side", brows="disgust", mouth="bleh", extras=("flies",)),
    "sick": dict(eyes="x", brows="disgust", mouth="puke", extras=()),
    "grimace": dict(eyes="xd", brows="disgust", mouth="grimace", extras=("ick",)),
    # neutral
    "bored": dict(eyes="line", brows="flat", mouth="flat", extras=("ellipsis",)),
    "sleepy": dict(eyes="u_closed", mouth="tiny_o", extras=("zzz",)),
    "calm": dict(eyes="dot", mouth="flat", extras=()),
    "puzzled": dict(eyes="dot", brows="skeptic", mouth="slant", extras=("qbubble",)),
    "unimpressed": dict(eyes="lidded", brows="flat", mouth="slant", extras=()),
}


def features(pen, cx, cy, r, e, lay):
    L = dict(
        ex=r * 0.38 * lay.get("spread", 1),
        ey=cy + r * lay.get("eye_y", -0.12),
        es=r * 0.13 * lay.get("eye", 1),
        my=cy + r * lay.get("mouth_y", 0.38),
        mw=r * 0.3 * lay.get("mouth", 1),
    )
    L["by"] = L["ey"] - L["es"] * (2.4 if e["eyes"] in ("pop", "shrink", "blank", "sparkle", "wet") else 1.9)
    ink = pen.ink
    for s in (-1, 1):
        pen.ink = lay.get("eye_ink", ink)  # white eyes on a panda's or raccoon's dark patches
        eye(pen, e["eyes"], cx + s * L["ex"], L["ey"], L["es"], s)
        pen.ink = ink
        if e.get("brows"):
            brow(pen, e["brows"], cx + s * L["ex"], L["by"], L["es"], s)
        if e.get("brows") == "disgust":  # a wrinkled nose between the eyes
            x0, y0, es = cx + s * L["es"] * 0.45, L["ey"] + L["es"] * 0.2, L["es"]
            pen.line(
                arc(x0 + s * es * 0.5, y0, es * 0.5, es * 0.35, 90 + s * 90 - 50, 90 + s * 90 + 50, 8),
                pen.width * 0.6,
            )
    mouth(pen, e["mouth"], cx, L["my"], L["mw"])
    return L


def extras(pen, cx, cy, r, e, L):
    ex, ey, es = L["ex"], L["ey"], L["es"]
    for name in e.get("extras", ()):
        if name == "notes":  # music notes
            for nx, ny, sz in ((1.0, -0.75, 0.2), (-1.05, -0.55, 0.16)):
                x, y, h = cx + nx * r, cy + ny * r, sz * r
                pen.shape(rotate(arc(x, y, h * 0.5, h * 0.36), x, y, -25), (120, 80, 230), False)
                pen.line(
                    [(x + h * 0.42, y - h * 0.1), (x + h * 0.42, y - h * 1.7), (x + h * 1.1, y - h * 1.3)],
                    pen.width * 0.9,
                    (120, 80, 230),
                )
        elif name == "blush_lines":  # manga /// blush
            for s in (-1, 1):
                x, y = cx + s * (ex + es * 0.5), ey + es * 2.2
                pen.shape(arc(x, y, es * 1.0, es * 0.55), (255, 120, 150, 110), False)
                for k in (-1, 0, 1):
                    pen.line(
                        [
                            (x + k * es * 0.5 - es * 0.2, y + es * 0.3),
                            (x + k * es * 0.5 + es * 0.2, y - es * 0.3),
                        ],
                        pen.width * 0.5,
                        (220, 60, 100),
                    )
        elif name == "twinkle":  # + shaped sparkles
            for sx, sy, sz in ((-1.05, -0.85, 0.22), (1.05, -0.9, 0.17), (1.15, 0.55, 0.13)):
                x, y, h = cx + sx * r, cy + sy * r, sz * r
                pen.shape(star(x, y, h, 4, 0.22), (80, 200, 255), False)
        elif name == "flowers":
            for fx, fy in ((-1.05, -0.8), (1.0, -0.85)):
                x, y = cx + fx * r, cy + fy * r
                for a in range(0, 360, 72):
                    pen.dot(
                        x + math.cos(math.radians(a)) * r * 0.09,
                        y + math.sin(math.radians(a)) * r * 0.09,
                        r * 0.07,
                        (255, 150, 190),
                    )
                pen.dot(x, y, r * 0.06, (255, 210, 60))
        elif name == "joy_drops":
            for s in (-1, 1):
                pen.shape(
                    drop(cx + s * (ex + es * 1.8), ey - es * 0.4, es * 0.45, -s * 70),
                    TEAR,
                    width=pen.width * 0.5,
                    ink=TEAR_INK,
                )
        elif name == "streams":  # T T: blue streams from the bar to the bottom of the face
            for s in (-1, 1):
                x = cx + s * ex
                pts = [
                    (x - es * 0.35, ey - es * 0.4),
                    (x + es * 0.35, ey - es * 0.4),
                    (x + es * 0.5, cy + r * 0.85),
                    (x - es * 0.5, cy + r * 0.85),
                ]
                pen.shape(pts, TEAR + (230,), width=pen.width * 0.6, ink=TEAR_INK)
        elif name == "flying_tears":  # tears squirting sideways
            for s in (-1, 1):
                for k in range(3):
                    pen.shape(
                        drop(
                            cx + s * (ex + es * (2.0 + k * 1.3)),
                            ey + es * (k * 0.9 - 0.3),
                            es * (0.5 - 0.08 * k),
                            -s * 100,
                        ),
                        TEAR,
                        width=pen.width * 0.5,
                        ink=TEAR_INK,
                    )
        elif name == "drizzle":  # rain falling over the face
            for k in range(7):
                x = cx - r * 0.9 + k * r * 0.3
                y = cy - r * 1.3 + (k % 2) * r * 0.15
                pen.line([(x, y), (x - r * 0.06, y + r * 0.22)], pen.width * 0.7, (90, 140, 220))
        elif name == "broken_heart":
            x, y, h = cx + r * 0.95, cy - r * 0.85, r * 0.3
            pts = heart(x, y, h)
            pen.shape(pts, (220, 60, 90), width=pen.width * 0.6)
            pen.line(
                [
                    (x, y - h * 0.55),
                    (x - h * 0.15, y - h * 0.15),
                    (x + h * 0.12, y + h * 0.15),
                    (x, y + h * 0.95),
                ],
                pen.width * 0.9,
                WHITE,
            )
        elif name == "flames":  # fire behind the head is drawn by the caller; here, fire above
            for k, (fx, fh) in enumerate(((-0.55, 0.5), (0.0, 0.7), (0.55, 0.5))):
                x, y, h = cx + fx * r, cy - r * 0.95, fh * r
                flame = (
                    [(x - h * 0.35, y)]
                    + [
                        (
                            x - h * 0.4 + t * h * 0.8,
                            y
                            - h * (0.5 + 0.5 * math.sin(t * math.pi))
                            + (0.2 * h if k % 2 and 0.4 < t < 0.6 else 0),
                        )
                        for t in np.linspace(0.1, 0.9, 5)
                    ]
                    + [(x + h * 0.35, y)]
                )
                pen.shape(
                    rounded_poly(flame, h * 0.08, 4), (255, 120, 20), width=pen.width * 0.6, ink=(200, 40, 10)
                )
                pen.shape(arc(x, y - h * 0.15, h * 0.15, h * 0.22), (255, 220, 60), False)
        elif name == "nose_puffs":
            for s in (-1, 1):
                x, y = cx + s * r * 0.5, L["my"] + r * 0.12
                pen.cloud(
                    [
                        (x, y, r * 0.09),
                        (x + s * r * 0.12, y + r * 0.04, r * 0.11),
                        (x + s * r * 0.25, y, r * 0.08),
                    ],
                    (240, 240, 245),
                    pen.width * 0.6,
                )
        elif name == "bolt":
            x, y, h = cx + r * 0.9, cy - r * 0.95, r * 0.35
            pts = [
                (x, y - h),
                (x - h * 0.45, y + h * 0.1),
                (x - h * 0.05, y + h * 0.1),
                (x - h * 0.25, y + h),
                (x + h * 0.45, y - h * 0.2),
                (x + h * 0.05, y - h * 0.2),
                (x + h * 0.3, y - h),
            ]
            pen.shape(pts, (255, 220, 40), width=pen.width * 0.6)
        elif name == "curse":  # #@! in a jagged bubble
            x, y, h = cx + r * 0.85, cy - r * 1.0, r * 0.38
            pts = [
                (
                    x + h * (1.25 if i % 2 else 0.95) * math.cos(i * math.pi / 7),
                    y + h * (0.95 if i % 2 else 0.7) * math.sin(i * math.pi / 7),
                )
                for i in range(14)
            ]
            pen.shape(pts, WHITE, width=pen.width * 0.6)
            pen.text(x, y, "#@!", h * 0.55, RED)
        elif name == "red_cheeks":
            for s in (-1, 1):
                pen.shape(arc(cx + s * r * 0.62, cy + r * 0.25, r * 0.2, r * 0.16), (240, 60, 60, 150), False)
        elif name == "cross":  # a plain red anger cross (not the curved test-set vein)
            x, y, h = cx + r * 0.65, cy - r * 0.72, r * 0.16
            for a in (0, 90):
                pen.line(rotate([(x - h, y), (x + h, y)], x, y, a + 45), pen.width * 1.6, RED)
        elif name == "fear_lines":  # a fan of vertical purple lines down from the top of the head
            for k in np.linspace(-0.45, 0.45, 6):
                pen.line(
                    [(cx + k * r, cy - r * 0.95), (cx + k * r, cy - r * (0.55 + 0.1 * abs(k)))],
                    pen.width * 0.9,
                    (110, 60, 200),
                )
        elif name == "sweat_drops":
            for dx, dy, sz, a in ((1.0, -0.45, 0.12, 20), (1.2, -0.1, 0.09, 40), (-1.05, -0.4, 0.1, -25)):
                pen.shape(
                    drop(cx + dx * r, cy + dy * r, sz * r, a), TEAR, width=pen.width * 0.5, ink=TEAR_INK
                )
        elif name == "tremble":  # jitter marks outside the head
            for s in (-1, 1):
                for k in (0, 1, 2):
                    y = cy - r * 0.2 + k * r * 0.28
                    x = cx + s * r * (1.12 + 0.04 * k)
                    pen.line(
                        [
                            (x, y),
                            (x + s * r * 0.12, y - r * 0.05),
                            (x + s * r * 0.04, y + r * 0.05),
                            (x + s * r * 0.16, y),
                        ],
                        pen.width * 0.6,
                    )
        elif name == "pop_lines":  # short radiating lines around the head
            for a in range(-160, -10, 25):
                c, s_ = math.cos(math.radians(a)), math.sin(math.radians(a))
                pen.line(
                    [(cx + c * r * 1.12, cy + s_ * r * 1.12), (cx + c * r * 1.38, cy + s_ * r * 1.38)],
                    pen.width * 1.0,
                    (240, 120, 0),
                )
        elif name == "bang2":  # a red !! with a white edge
            pen.text(cx + r * 0.95, cy - r * 0.9, "!!", r * 0.55, (240, 40, 90), r * 0.04, WHITE)
        elif name == "flies":
            for fx, fy in ((-1.0, -0.9), (0.8, -1.05), (1.1, -0.6)):
                x, y = cx + fx * r, cy + fy * r
                pen.dot(x, y, r * 0.045, BLACK)
                for s in (-1, 1):
                    pen.shape(
                        arc(x + s * r * 0.05, y - r * 0.05, r * 0.045, r * 0.03),
                        (220, 235, 255, 200),
                        width=pen.width * 0.3,
                    )
                t = np.linspace(0, 1, 20)
                pen.line(
                    list(
                        zip(x - r * 0.3 + t * r * 0.25, y + r * 0.1 + np.sin(t * 12) * r * 0.04, strict=True)
                    ),
                    pen.width * 0.35,
                    (100, 100, 100),
                )
        elif name == "ick":  # green wiggles beside the head
            for s in (-1, 1):
                t = np.linspace(0, 1, 20)
                x0 = cx + s * r * 1.1
                pen.line(
                    list(zip(x0 + np.sin(t * 4 * np.pi) * r * 0.06, cy - r * 0.4 + t * r * 0.6, strict=True)),
                    pen.width * 0.9,
                    SICK_DARK,
                )
        elif name == "ellipsis":  # a speech bubble with ...
            x, y = cx + r * 0.85, cy - r * 0.95
            pen.shape(arc(x, y, r * 0.38, r * 0.24), WHITE, width=pen.width * 0.6)
            pen.shape(
                [(x - r * 0.2, y + r * 0.18), (x - r * 0.35, y + r * 0.4), (x - r * 0.02, y + r * 0.22)],
                WHITE,
                False,
            )
            for k in (-1, 0, 1):
                pen.dot(x + k * r * 0.14, y, r * 0.045, pen.ink)
        elif name == "qbubble":  # a round thought bubble with ?
            x, y = cx + r * 0.9, cy - r * 0.95
            pen.dot(x - r * 0.35, y + r * 0.45, r * 0.06, WHITE)
            pen.shape(arc(x - r * 0.35, y + r * 0.45, r * 0.06, r * 0.06), WHITE, width=pen.width * 0.5)
            pen.shape(arc(x, y, r * 0.28, r * 0.28), WHITE, width=pen.width * 0.6)
            pen.text(x, y + r * 0.02, "?", r * 0.4, (60, 60, 200))
        elif name == "zzz":  # z letters, getting bigger
            for k, sz in enumerate((0.3, 0.4, 0.5)):
                pen.text(
                    cx + r * (0.75 + 0.22 * k),
                    cy - r * (0.6 + 0.32 * k),
                    "z",
                    r * sz,
                    (110, 90, 200),
                    r * 0.03,
                    WHITE,
                )
        else:
            raise ValueError(name)


def expression(p):
    e = dict(MOODS[p["mood"]])
    e.update(p.get("expr", {}))
    if "add" in p:
        e["extras"] = tuple(e.get("extras", ())) + tuple(p["add"])
    return e


def face_on(pen, p, cx, cy, r, lay=None):
    e = expression(p)
    fp = pen.solid()
    fp.width = p.get("fw", pen.width)  # manga faces: a thick outline, finer face marks
    L = features(fp, cx, cy, r, e, dict(lay or {}, **p.get("lay", {})))
    extras(fp, cx, cy, r, e, L)


def fill_shape(pen, pts, p, cy, r):
    fill = p.get("fill", "flat")
    col = p["skin"]
    if fill == "flat":
        pen.shape(pts, col, False)
    elif fill == "radial":  # a light spot top left fading to the skin colour
        pen.shape(pts, col, False)
        x0, y0, x1, y1 = bbox(pts)
        yy, xx = np.mgrid[0:W, 0:W] / SS
        d = np.hypot(xx - (x0 + (x1 - x0) * 0.32), yy - (y0 + (y1 - y0) * 0.28)) / max(x1 - x0, y1 - y0)
        a = np.clip(1 - d * 1.8, 0, 1) * 200
        layer = Image.new("RGBA", (W, W), (255, 255, 255, 0))
        layer.putalpha(Image.fromarray(a.astype(np.uint8)))
        layer.putalpha(
            Image.fromarray(np.minimum(np.asarray(layer.getchannel("A")), np.asarray(pen.mask(pts))))
        )
        pen.img.alpha_composite(layer)
    elif fill == "tone":  # manga: white with a screentone shadow on the lower right
        pen.shape(pts, col, False)
        x0, y0, x1, y1 = bbox(pts)
        shade = [(x, y) for x, y in pts]
        m = np.asarray(pen.mask(shade), float)
        yy, xx = np.mgrid[0:W, 0:W] / SS
        half = ((xx - x0) / (x1 - x0) + (yy - y0) / (y1 - y0)) > 1.25
        sub = Image.new("RGBA", (W, W), (0, 0, 0, 0))
        sp = DevPen(sub, pen.rng)
        sp.tone([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], p.get("tone", (120, 120, 130)))
        sub.putalpha(
            Image.fromarray(np.minimum(np.asarray(sub.getchannel("A")), (m * half).astype(np.uint8)))
        )
        pen.img.alpha_composite(sub)
    elif fill == "halves":  # two tones split down the middle
        pen.shape(pts, col, False)
        x0, y0, x1, y1 = bbox(pts)
        right = [(x, y) for x, y in pts]
        m = np.asarray(pen.mask(right), float)
        xx = np.mgrid[0:W, 0:W][1] / SS
        layer = Image.new("RGBA", (W, W), p["skin2"] + (255,))
        layer.putalpha(Image.fromarray((m * (xx > (x0 + x1) / 2)).astype(np.uint8)))
        pen.img.alpha_composite(layer)
    elif fill == "gradient":
        pen.gradient(pts, p["top"], col, cy - r, cy + r * 0.6)
    elif fill == "none":
        pass


# ---------------------------------------------------------------- drawn faces


def draw_face(img, pen, p):
    """A face in a new shape: square, triangle, pear, hexagon, egg, diamond."""
    cx, cy, r = p.get("cx", 64), p.get("cy", 66), p.get("r", 38)
    pts = form_of(p.get("form", "square"), cx, cy, r, pen.rng)
    if p.get("shadow"):  # a flat long shadow to the lower right
        for k in range(1, 7):
            pen.shape([(x + k, y + k) for x, y in pts], p["shadow"], False)
    pen.skin = p["skin"]
    fill_shape(pen, pts, p, cy, r)
    if p.get("outline", True):
        pen.line(pts, p.get("head_width"), closed=True)
    face_on(pen, p, cx, cy, r, p.get("face_lay"))


# ---------------------------------------------------------------- hand-drawn


def draw_doodle(img, pen, p):
    """A doodle in a new medium: dotted or dashed pen, chalk, charcoal, watercolour, stipple."""
    medium = p.get("medium", "dashed")
    pen.wobble, pen.width, pen.ink = p.get("wobble", 1.6), p.get("width", 2.2), p.get("ink", INK2)
    cx, cy, r = p.get("cx", 64), p.get("cy", 66), p.get("r", 38)
    pts = form_of(p.get("form", "circle"), cx, cy, r, pen.rng)
    colour = p.get("skin", (250, 250, 245))
    pen.skin = colour
    if medium in ("dashed", "dotted"):
        pen.stroke = "dash" if medium == "dashed" else "dot"
        pen.shape(pts, colour, False)
        pen.line(pts, closed=True)
    elif medium == "chalk":  # on a blackboard tile, drawn by render()
        pen.skin = p["board"]
        pen.hatch(pts, colour + (110,), gap=4.5, deg=p.get("deg", 70), width=1.0)
        pen.line(pts, closed=True)
        pen.line(pts, pen.width * 0.5, closed=True)
    elif medium == "charcoal":  # thick, rough, smudged dark line over a grey smudge
        pen.shape(pts, colour, False)
        pen.wash(pts, (150, 150, 150))
        pen.line(pts, pen.width * 1.8, closed=True)
        pen.line(pts, pen.width * 0.7, (90, 90, 90), closed=True)
    elif medium == "watercolour":
        pen.wash(pts, colour)
        pen.line(pts, closed=True)
    elif medium == "stipple":
        pen.skin = (255, 255, 255)
        pen.shape(pts, WHITE, False)
        pen.stipple(pts, colour, n=p.get("dots", 900), r=0.75)
        pen.line(pts, closed=True)
    elif medium == "crosshatch":
        pen.shape(pts, WHITE, False)
        pen.hatch(pts, colour, gap=4, deg=45, width=0.8)
        pen.hatch(pts, colour, gap=4, deg=-45, width=0.8)
        pen.skin = WHITE
        pen.line(pts, closed=True)
    e = expression(p)
    fp = DevPen(pen.img, pen.rng, pen.width, pen.ink, pen.wobble * 0.6)
    fp.skin = pen.skin if medium not in ("crosshatch", "stipple") else WHITE
    L = features(fp, cx, cy, r, e, p.get("lay", {}))
    extras(fp, cx, cy, r, e, L)
    if p.get("caption"):  # a handwritten-looking word under the face
        fp.text(cx, min(122, cy + r * 1.45), p["caption"], 16, pen.ink)


# ---------------------------------------------------------------- animals the test set does not draw

SPECIES = {
    "owl": dict(eye_y=-0.2, spread=1.05, eye=1.1, mouth_y=0.5, mouth=0.8),
    "penguin": dict(eye_y=-0.05, mouth_y=0.5, mouth=0.85),
    "fox": dict(eye_y=-0.05, mouth_y=0.5, mouth=0.85),
    "panda": dict(eye_y=-0.08, mouth_y=0.5, mouth=0.85),
    "koala": dict(eye_y=-0.2, spread=1.1, mouth_y=0.6, mouth=0.8),
    "sheep": dict(eye_y=-0.05, mouth_y=0.45, mouth=0.9),
    "raccoon": dict(eye_y=-0.1, mouth_y=0.52, mouth=0.85),
    "lion": dict(eye_y=-0.12, mouth_y=0.55, mouth=0.85),
    "monkey": dict(eye_y=-0.12, spread=0.9, mouth_y=0.5, mouth=0.85),
    "cow": dict(eye_y=-0.3, mouth_y=0.62, mouth=0.8),
}


def draw_animal(img, pen, p):
    sp, cx, cy, r, fur = p["species"], p.get("cx", 64), p.get("cy", 68), p.get("r", 36), p["skin"]
    dark = tuple(int(c * 0.6) for c in fur[:3])
    light = p.get("light", tuple(min(255, int(c + (255 - c) * 0.7)) for c in fur[:3]))
    pen.skin = fur
    lay = {}
    sides = (-1, 1)
    head_pts = arc(cx, cy, r * 1.05, r * 0.95, n=96)
    if sp == "owl":
        for s in sides:  # ear tufts
            pen.shape(
                [
                    (cx + s * r * 0.95, cy - r * 0.2),
                    (cx + s * r * 0.95, cy - r * 1.15),
                    (cx + s * r * 0.4, cy - r * 0.75),
                ],
                fur,
            )
        head_pts = form_of("egg", cx, cy, r, pen.rng)
    elif sp == "fox":
        for s in sides:
            pen.shape(
                [
                    (cx + s * r * 1.0, cy - r * 0.1),
                    (cx + s * r * 0.85, cy - r * 1.3),
                    (cx + s * r * 0.2, cy - r * 0.75),
                ],
                fur,
            )
            pen.shape(
                [
                    (cx + s * r * 0.84, cy - r * 0.4),
                    (cx + s * r * 0.8, cy - r * 1.05),
                    (cx + s * r * 0.45, cy - r * 0.75),
                ],
                BLACK,
                False,
            )
        head_pts = rounded_poly(
            [(cx - r * 1.2, cy - r * 0.55), (cx + r * 1.2, cy - r * 0.55), (cx, cy + r * 0.95)], r * 0.55
        )
    elif sp in ("panda", "koala"):
        er = r * (0.32 if sp == "panda" else 0.5)
        for s in sides:
            ex_, ey_ = (
                cx + s * r * (0.78 if sp == "panda" else 0.95),
                cy - r * (0.72 if sp == "panda" else 0.45),
            )
            pen.shape(arc(ex_, ey_, er, er), BLACK if sp == "panda" else fur)
            if sp == "koala":
                pen.shape(arc(ex_, ey_, er * 0.6, er * 0.6), (250, 225, 230), False)
    elif sp == "sheep":
        for s in sides:
            pen.shape(
                rotate(
                    arc(cx + s * r * 1.0, cy - r * 0.2, r * 0.38, r * 0.16),
                    cx + s * r * 1.0,
                    cy - r * 0.2,
                    s * 25,
                ),
                dark,
            )
        wool = [
            (cx + r * 1.0 * math.cos(a), cy - r * 0.15 + r * 0.95 * math.sin(a), r * 0.3)
            for a in np.linspace(math.pi * 1.05, math.pi * 1.95, 7)
        ]
        pen.cloud(wool, (252, 252, 252), pen.width)
        head_pts = arc(cx, cy + r * 0.1, r * 0.8, r * 0.85, n=96)
    elif sp == "raccoon":
        for s in sides:
            pen.shape(
                [
                    (cx + s * r * 0.95, cy - r * 0.3),
                    (cx + s * r * 0.75, cy - r * 1.1),
                    (cx + s * r * 0.25, cy - r * 0.8),
                ],
                fur,
            )
            pen.shape(
                [
                    (cx + s * r * 0.78, cy - r * 0.5),
                    (cx + s * r * 0.7, cy - r * 0.95),
                    (cx + s * r * 0.42, cy - r * 0.78),
                ],
                light,
                False,
            )
    elif sp == "lion":
        mane = [
            (cx + r * 1.25 * math.cos(a), cy + r * 1.2 * math.sin(a), r * 0.32)
            for a in np.linspace(0, 2 * math.pi, 12, endpoint=False)
        ]
        pen.cloud(mane, p.get("mane", (200, 110, 40)), pen.width)
        head_pts = arc(cx, cy, r * 0.95, r * 0.9, n=96)
    elif sp == "monkey":
        for s in sides:
            pen.shape(arc(cx + s * r * 1.05, cy, r * 0.3, r * 0.3), fur)
            pen.shape(arc(cx + s * r * 1.05, cy, r * 0.17, r * 0.17), light, False)
    elif sp == "cow":
        for s in sides:
            pen.shape(
                [
                    (cx + s * r * 0.55, cy - r * 0.75),
                    (cx + s * r * 0.8, cy - r * 1.25),
                    (cx + s * r * 0.35, cy - r * 0.85),
                ],
                (240, 230, 200),
            )
            pen.shape(
                rotate(
                    arc(cx + s * r * 1.1, cy - r * 0.35, r * 0.3, r * 0.13),
                    cx + s * r * 1.1,
                    cy - r * 0.35,
                    -s * 20,
                ),
                fur,
            )
        head_pts = form_of("tall", cx, cy, r * 0.92, pen.rng)
    elif sp == "penguin":
        head_pts = arc(cx, cy, r * 1.05, r * 1.0, n=96)
    pen.shape(head_pts, fur, False)
    # face markings
    if sp == "owl":
        for s in sides:
            pen.shape(arc(cx + s * r * 0.4, cy - r * 0.2, r * 0.38, r * 0.38), light, False)
    elif sp == "penguin":
        mask = [(x, y) for x, y in heart(cx, cy - r * 0.02, r * 0.85)]
        pen.shape(mask, WHITE, False)
        pen.skin = WHITE
    elif sp == "fox":
        pen.shape(
            [
                (cx - r * 1.1, cy - r * 0.3),
                (cx, cy - r * 0.05),
                (cx + r * 1.1, cy - r * 0.3),
                (cx, cy + r * 0.9),
            ],
            light,
            False,
        )
        pen.skin = light
    elif sp == "panda":
        for s in sides:
            pen.shape(
                rotate(
                    arc(cx + s * r * 0.38, cy - r * 0.05, r * 0.2, r * 0.28),
                    cx + s * r * 0.38,
                    cy - r * 0.05,
                    s * 30,
                ),
                BLACK,
                False,
            )
        lay = dict(eye_ink=WHITE)
        pen.skin = BLACK
    elif sp == "raccoon":
        mask = [
            (cx - r * 1.0, cy - r * 0.3),
            (cx - r * 0.25, cy - r * 0.35),
            (cx, cy - r * 0.15),
            (cx + r * 0.25, cy - r * 0.35),
            (cx + r * 1.0, cy - r * 0.3),
            (cx + r * 0.7, cy + r * 0.15),
            (cx, cy + r * 0.05),
            (cx - r * 0.7, cy + r * 0.15),
        ]
        pen.shape(rounded_poly(mask, r * 0.12, 5), (60, 55, 60), False)
        pen.shape(arc(cx, cy + r * 0.5, r * 0.45, r * 0.35), light, False)
        lay = dict(eye_ink=WHITE)
        pen.skin = (60, 55, 60)
    elif sp == "monkey":
        pen.shape(arc(cx - r * 0.33, cy - r * 0.12, r * 0.4, r * 0.42), light, False)
        pen.shape(arc(cx + r * 0.33, cy - r * 0.12, r * 0.4, r * 0.42), light, False)
        pen.shape(arc(cx, cy + r * 0.45, r * 0.65, r * 0.45), light, False)
        pen.skin = light
    elif sp == "cow":
        pen.shape(arc(cx - r * 0.55, cy - r * 0.85, r * 0.2, r * 0.12), (60, 50, 50), False)
        pen.shape(arc(cx, cy + r * 0.55, r * 0.72, r * 0.42), (250, 190, 190), False)
        for s in sides:
            pen.dot(cx + s * r * 0.3, cy + r * 0.48, r * 0.07, (150, 80, 80))
        lay = dict(mouth_y=0.78, mouth=0.6)
        pen.skin = (250, 190, 190)
    elif sp == "lion":
        pen.shape(arc(cx, cy + r * 0.45, r * 0.5, r * 0.32), light, False)
    pen.line(head_pts, closed=True)
    e = expression(p)
    fp = pen.solid()
    L = features(fp, cx, cy, r, e, dict(SPECIES[sp], **lay, **p.get("lay", {})))
    # noses and beaks over the face parts
    if sp == "owl":
        pen.shape(
            [(cx - r * 0.12, cy + r * 0.05), (cx + r * 0.12, cy + r * 0.05), (cx, cy + r * 0.32)],
            (250, 170, 40),
            width=pen.width * 0.6,
        )
    elif sp == "penguin":
        pen.shape(
            [(cx - r * 0.16, cy + r * 0.18), (cx + r * 0.16, cy + r * 0.18), (cx, cy + r * 0.33)],
            (255, 160, 30),
            width=pen.width * 0.6,
        )
    elif sp in ("fox", "raccoon", "panda", "lion", "sheep"):
        pen.shape(arc(cx, cy + r * 0.25, r * 0.11, r * 0.08), BLACK if sp != "lion" else (120, 60, 40), False)
    elif sp == "koala":
        pen.shape(arc(cx, cy + r * 0.22, r * 0.17, r * 0.25), (70, 70, 80), False)
    elif sp == "monkey":
        for s in sides:
            pen.dot(cx + s * r * 0.08, cy + r * 0.25, r * 0.04, BLACK)
    extras(fp, cx, cy, r, e, L)


# ---------------------------------------------------------------- characters the test set does not draw


def limbs(pen, pose, cx, sy, s, col, span=1.0):
    """Stubby arms from the sides of a body at shoulder height sy."""
    if not pose:
        return
    hands = {
        "up": [(-1.45, -1.0), (1.45, -1.0)],
        "cheeks": [(-0.8, -0.55), (0.8, -0.55)],
        "fists": [(-1.25, -0.35), (1.25, -0.35)],
        "down": [(-1.15, 0.75), (1.15, 0.75)],
        "shrug": [(-1.4, -0.45), (1.4, -0.45)],
        "hips": [(-1.1, 0.4), (1.1, 0.4)],
    }[pose]
    for hx, hy in hands:
        sx = cx + np.sign(hx) * s * span * 0.9
        hand = (cx + hx * s * span, sy + hy * s)
        elbow = ((sx + hand[0]) / 2 + np.sign(hx) * s * 0.15, (sy + hand[1]) / 2 + s * 0.1)
        pen.line([(sx, sy), elbow, hand], s * 0.22 + pen.width * 2, pen.ink)
        pen.line([(sx, sy), elbow, hand], s * 0.22, col)
        pen.shape(arc(hand[0], hand[1], s * 0.17, s * 0.17), col, width=pen.width * 0.8)


def feet(pen, cx, y, s, col, gap=0.45):
    for k in (-1, 1):
        pen.shape(arc(cx + k * s * gap, y, s * 0.28, s * 0.15), col)


def draw_character(img, pen, p):
    body, cx, cy, s, col = p["body"], p.get("cx", 64), p.get("cy", 62), p.get("s", 30), p["skin"]
    pose = p.get("pose")
    fx, fy, fr = cx, cy, s  # face centre and radius
    pen.skin = col
    lay = {}
    if body == "monster":  # a fuzzy blob monster with horns
        for k in (-1, 1):
            pen.shape(
                [
                    (cx + k * s * 0.45, cy - s * 0.8),
                    (cx + k * s * 0.75, cy - s * 1.45),
                    (cx + k * s * 0.8, cy - s * 0.7),
                ],
                (250, 240, 210),
            )
        feet(pen, cx, cy + s * 1.1, s, col, 0.5)
        t = np.linspace(0, 2 * np.pi, 60, endpoint=False)
        k = 1 + 0.05 * np.sign(np.sin(15 * t))
        pts = list(zip(cx + s * 1.05 * k * np.cos(t), cy + s * 1.05 * k * np.sin(t), strict=True))
        pen.shape(pts, col)
        limbs(pen, pose, cx, cy + s * 0.3, s * 0.8, col, 1.2)
        fy = cy - s * 0.05
    elif body in ("strawberry", "tomato"):
        pts = heart(cx, cy, s * 1.25) if body == "strawberry" else arc(cx, cy, s * 1.1, s * 0.98, n=96)
        if body == "strawberry":
            pts = [(x, cy + (cy - y) * -1 * -1 + 0) for x, y in pts]
            pts = [(x, 2 * cy - y + s * 0.2) for x, y in heart(cx, cy, s * 1.25)]
        limbs(pen, pose, cx, cy + s * 0.2, s * 0.75, col, 1.35)
        pen.shape(pts, col)
        if body == "strawberry":
            for _ in range(14):
                a, d = pen.rng.uniform(0, 2 * np.pi), pen.rng.uniform(0.3, 0.85) * s
                x, y = cx + d * math.cos(a), cy + d * math.sin(a) * 0.9 + s * 0.1
                if abs(x - cx) < s * 0.7 and abs(y - cy - s * 0.05) < s * 0.25:
                    continue  # keep the face clear
                pen.shape(drop(x, y, s * 0.035), (255, 230, 120), False)
        leaf = star(cx, cy - s * (0.95 if body == "strawberry" else 0.9), s * 0.5, 5, 0.4)
        pen.shape([(x, y * 0.6 + (cy - s * 0.95) * 0.4) for x, y in leaf], (80, 170, 60))
        fy = cy + s * 0.05
    elif body == "avocado":
        pts = form_of("pear", cx, cy, s, pen.rng)
        limbs(pen, pose, cx, cy + s * 0.3, s * 0.7, (90, 140, 40), 1.3)
        pen.shape(pts, (90, 140, 40))
        pen.shape(form_of("pear", cx, cy + s * 0.05, s * 0.85, pen.rng), col, False)
        pen.shape(arc(cx, cy + s * 0.45, s * 0.38, s * 0.36), (150, 95, 50), width=pen.width * 0.7)
        fr, fy = s * 0.6, cy - s * 0.25
        lay = dict(mouth_y=0.5)
    elif body == "cloud":
        limbs(pen, pose, cx, cy + s * 0.2, s * 0.7, col, 1.6)
        pen.cloud(
            [
                (cx - s * 0.75, cy + s * 0.15, s * 0.55),
                (cx - s * 0.2, cy - s * 0.35, s * 0.7),
                (cx + s * 0.5, cy - s * 0.15, s * 0.6),
                (cx + s * 0.85, cy + s * 0.25, s * 0.45),
                (cx, cy + s * 0.3, s * 0.6),
            ],
            col,
        )
        fy, fr = cy + s * 0.05, s * 0.85
    elif body == "potato":
        feet(pen, cx, cy + s * 1.0, s, (180, 130, 80), 0.4)
        pts = form_of("lumpy", cx, cy, s, pen.rng)
        limbs(pen, pose, cx, cy + s * 0.15, s * 0.75, col, 1.4)
        pen.shape(pts, col)
        for dx, dy in ((-0.8, -0.45), (0.75, 0.5), (-0.6, 0.55), (0.85, -0.35)):
            pen.dot(cx + dx * s, cy + dy * s, s * 0.05, (170, 120, 70))
    elif body == "mushroom":
        stem = rounded_poly(
            [
                (cx - s * 0.55, cy),
                (cx + s * 0.55, cy),
                (cx + s * 0.65, cy + s * 1.3),
                (cx - s * 0.65, cy + s * 1.3),
            ],
            s * 0.25,
        )
        pen.shape(stem, col)
        cap = arc(cx, cy + s * 0.05, s * 1.3, s * 1.0, 180, 360, 40)
        pen.shape(cap, p.get("cap", (230, 60, 60)))
        for dx, dy, rr in ((-0.65, -0.35, 0.18), (0.2, -0.7, 0.15), (0.75, -0.3, 0.2), (-0.15, -0.3, 0.1)):
            pen.dot(cx + dx * s, cy + dy * s, rr * s, WHITE)
        fy, fr = cy + s * 0.65, s * 0.6
        lay = dict(eye_y=-0.2, mouth_y=0.45)
        limbs(pen, pose, cx, cy + s * 0.7, s * 0.5, col, 1.2)
    elif body == "onigiri":
        pts = form_of("tri_up", cx, cy, s, pen.rng)
        pen.shape(pts, WHITE)
        nori = [
            (cx - s * 0.45, cy + s * 0.45),
            (cx + s * 0.45, cy + s * 0.45),
            (cx + s * 0.45, cy + s * 0.95),
            (cx - s * 0.45, cy + s * 0.95),
        ]
        pen.shape(nori, (40, 60, 50), False)
        pen.line(pts, closed=True)
        fy, fr = cy + s * 0.05, s * 0.7
        lay = dict(mouth_y=0.45)
        col = WHITE
    elif body == "toast":
        pts = (
            [(cx - s * 1.0, cy + s * 1.05), (cx - s * 1.0, cy - s * 0.55)]
            + arc(cx - s * 0.45, cy - s * 0.55, s * 0.55, s * 0.5, 180, 300, 16)
            + arc(cx + s * 0.45, cy - s * 0.55, s * 0.55, s * 0.5, 240, 360, 16)
            + [(cx + s * 1.0, cy - s * 0.55), (cx + s * 1.0, cy + s * 1.05)]
        )
        limbs(pen, pose, cx, cy + s * 0.3, s * 0.7, (200, 140, 70), 1.35)
        pen.shape(pts, (200, 140, 70))
        inner = [(cx + (x - cx) * 0.84, cy + s * 0.1 + (y - cy) * 0.84) for x, y in pts]
        pen.shape(inner, col, False)
        fy, fr = cy + s * 0.25, s * 0.75
    elif body == "bird":  # a round little bird with a wing, beak and legs
        for k in (-1, 1):
            pen.line(
                [(cx + k * s * 0.3, cy + s * 0.95), (cx + k * s * 0.3, cy + s * 1.3)],
                pen.width * 1.2,
                (230, 140, 40),
            )
            pen.line(
                [(cx + k * s * 0.3 - s * 0.15, cy + s * 1.35), (cx + k * s * 0.3 + s * 0.15, cy + s * 1.35)],
                pen.width * 1.2,
                (230, 140, 40),
            )
        pen.shape(
            [(cx + s * 0.9, cy + s * 0.2), (cx + s * 1.4, cy - s * 0.05), (cx + s * 1.3, cy + s * 0.35)], col
        )  # tail
        pen.shape(arc(cx, cy, s * 1.05, s * 1.0), col)
        pen.shape(arc(cx, cy + s * 0.45, s * 0.65, s * 0.45), p.get("belly", WHITE), False)
        pen.shape(
            [(cx - s * 0.2, cy - s * 1.0), (cx, cy - s * 1.3), (cx + s * 0.1, cy - s * 0.98)], col
        )  # tuft
        if pose == "up":
            for k in (-1, 1):
                pen.shape(
                    rotate(
                        arc(cx + k * s * 1.1, cy - s * 0.4, s * 0.22, s * 0.45),
                        cx + k * s * 1.1,
                        cy - s * 0.4,
                        k * 35,
                    ),
                    col,
                )
        else:
            pen.shape(
                rotate(arc(cx - s * 0.8, cy + s * 0.2, s * 0.22, s * 0.42), cx - s * 0.8, cy + s * 0.2, 20),
                tuple(int(c * 0.85) for c in col),
            )
        fy, fr = cy - s * 0.1, s * 0.9
        lay = dict(mouth_y=0.5)
    elif body == "chibi":  # a big head on a tiny body
        hair = p.get("hair", (60, 40, 90))
        pen.shape(
            rounded_poly(
                [
                    (cx - s * 0.45, cy + s * 0.85),
                    (cx + s * 0.45, cy + s * 0.85),
                    (cx + s * 0.55, cy + s * 1.55),
                    (cx - s * 0.55, cy + s * 1.55),
                ],
                s * 0.12,
            ),
            p.get("shirt", (240, 120, 160)),
        )
        feet(pen, cx, cy + s * 1.6, s * 0.6, (60, 60, 80), 0.5)
        for k in (-1, 1):  # pigtails
            pen.shape(arc(cx + k * s * 1.05, cy - s * 0.3, s * 0.3, s * 0.42), hair)
        limbs(pen, pose, cx, cy + s * 1.0, s * 0.55, col, 1.0)
        pen.shape(arc(cx, cy, s * 1.0, s * 0.95), col)
        pen.shape(
            arc(cx, cy - s * 0.05, s * 1.05, s * 1.0, 180, 360, 30)
            + [
                (cx + s * 0.95, cy - s * 0.2),
                (cx + s * 0.3, cy - s * 0.55),
                (cx - s * 0.2, cy - s * 0.4),
                (cx - s * 0.95, cy - s * 0.2),
            ],
            hair,
        )
        fy = cy + s * 0.12
        lay = dict(eye_y=0.0, mouth_y=0.45)
    elif body == "cactus":
        pot = [
            (cx - s * 0.7, cy + s * 0.9),
            (cx + s * 0.7, cy + s * 0.9),
            (cx + s * 0.5, cy + s * 1.6),
            (cx - s * 0.5, cy + s * 1.6),
        ]
        for k in (-1, 1):
            arm = [
                (cx + k * s * 0.55, cy + s * 0.2),
                (cx + k * s * 1.0, cy + s * 0.2),
                (cx + k * s * 1.0, cy - s * (0.6 if pose == "up" else -0.1)),
            ]
            pen.line(arm, s * 0.3 + pen.width * 2, pen.ink)
            pen.line(arm, s * 0.3, col)
        body_pts = form_of("tall", cx, cy, s * 0.8, pen.rng)
        pen.shape(body_pts, col)
        pen.shape(pot, (210, 110, 70))
        for dx, dy in ((-0.4, -0.6), (0.45, -0.3), (-0.5, 0.5), (0.4, 0.65)):
            pen.line(
                [(cx + dx * s, cy + dy * s), (cx + dx * s * 1.2, cy + dy * s - s * 0.08)], pen.width * 0.5
            )
        fr = s * 0.75
    else:
        raise ValueError(body)
    e = expression(p)
    fp = pen.solid()
    fp.skin = col if body not in ("mushroom",) else col
    L = features(fp, fx, fy, fr, e, dict(lay, **p.get("lay", {})))
    extras(fp, fx, fy, fr, e, L)


# ---------------------------------------------------------------- photo-like backgrounds with a caption


def draw_photo(img, pen, p):
    """A photo-like background (new scenes, not the test set's) with a caption."""
    rng = pen.rng
    yy, xx = np.mgrid[0:W, 0:W] / W
    top, bottom = np.array(p["top"], float), np.array(p["bottom"], float)
    rgb = top + (bottom - top) * yy[..., None]
    grain = T.smooth_noise(rng, 16) * 0.5 + T.smooth_noise(rng, 40) * 0.5
    bg = p["bg"]
    if bg == "sunburst":  # rays from a point, two colours
        ang = np.arctan2(yy - 0.55, xx - 0.5)
        ray = (np.sin(ang * 12) > 0)[..., None]
        rgb = np.where(ray, rgb, rgb * 0.82 + np.array(p.get("ray", (255, 255, 255))) * 0.18)
    elif bg == "halftone":  # big pop-art dots growing down the picture
        g = 22
        cyy, cxx = (yy * W) % g - g / 2, (xx * W) % g - g / 2
        dot = (np.hypot(cyy, cxx) < g * 0.45 * (0.25 + yy))[..., None]
        rgb = np.where(dot, np.array(p["dots"], float), rgb)
    elif bg == "field":  # sky, a horizon, grass
        grass = (yy > 0.62 + 0.03 * np.sin(xx * 9))[..., None]
        gcol = np.array((80, 150, 60), float) * (0.85 + 0.3 * (yy - 0.6))[..., None]
        rgb = np.where(grass, gcol + grain[..., None] * 25, rgb)
    elif bg == "sunset":  # a sun over the sea with a reflection
        sun = np.exp(-((xx - 0.5) ** 2 + (yy - 0.5) ** 2) / 0.01)[..., None]
        rgb = rgb + sun * np.array((120, 90, 40))
        sea = (yy > 0.55)[..., None]
        glitter = np.exp(-((xx - 0.5) ** 2) / 0.01) * (np.sin(yy * 180) > 0.3)
        rgb = np.where(
            sea, np.array((40, 40, 90), float) + glitter[..., None] * np.array((200, 150, 90)), rgb
        )
    elif bg == "concrete":
        rgb = rgb + (T.smooth_noise(rng, 60) * 18 + T.smooth_noise(rng, 8) * 14)[..., None]
        crack = Image.new("L", (W, W), 0)
        pts = [(rng.uniform(0, W * 0.3), rng.uniform(0, W))]
        for _ in range(8):
            pts.append((pts[-1][0] + rng.uniform(30, 80), pts[-1][1] + rng.uniform(-50, 50)))
        ImageDraw.Draw(crack).line(pts, fill=255, width=4)
        rgb = rgb * (1 - np.asarray(crack, float)[..., None] / 255 * 0.5)
    elif bg == "grid":  # synthwave: a glowing perspective grid under a dark sky
        floor = yy > 0.55
        z = 1 / np.maximum(yy - 0.55, 1e-3)
        lines = (np.abs(np.sin(z * 0.9)) < 0.12) | (np.abs(np.sin((xx - 0.5) * z * 6)) < 0.1)
        glow = (floor & lines)[..., None]
        rgb = np.where(glow, np.array(p.get("line", (255, 60, 220)), float), rgb)
    elif bg == "waves":
        for k in range(7):
            y0 = 0.15 + k * 0.13
            band = np.abs(yy - y0 - 0.025 * np.sin(xx * 14 + k)) < 0.012
            rgb = np.where(band[..., None], rgb * 0.3 + 255 * 0.7, rgb)
    elif bg == "wood":
        rings = np.sin(yy * 40 + T.smooth_noise(rng, 5) * 3) * 0.5 + 0.5
        rgb = rgb * (0.85 + 0.15 * rings[..., None])
    elif bg == "tiles":  # bathroom tiles
        g = 64
        seam = ((yy * W) % g < 4) | ((xx * W) % g < 4)
        rgb = np.where(seam[..., None], rgb * 0.65, rgb)
    elif bg == "storm":
        cloud = np.clip(T.smooth_noise(rng, 6) * 1.2, -1, 1)[..., None]
        rgb = rgb + cloud * 35
    rgb = rgb + grain[..., None] * p.get("grain", 10)
    rgb *= (1 - 0.35 * ((xx - 0.5) ** 2 + (yy - 0.5) ** 2))[..., None]
    img.paste(Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).convert("RGBA"))
    # the caption
    text, size = p["caption"], p.get("size", 40)
    fontfile = p.get("font", SERIF)
    lines = text.split("\n")
    font = ImageFont.truetype(fontfile, size * SS)
    while max(font.getlength(t) for t in lines) > W * 0.88:
        size -= 2
        font = ImageFont.truetype(fontfile, size * SS)
    layer = Image.new("RGBA", (W, W), (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    y = p.get("y", 64) * SS
    fg, stroke = p.get("fg", WHITE), p.get("stroke")
    if p.get("box"):  # the caption on a white label, like a meme sticker
        bw = max(font.getlength(t) for t in lines) + 16 * SS
        bh = size * SS * 1.2 * len(lines) + 8 * SS
        d.rounded_rectangle(
            (W / 2 - bw / 2, y - bh / 2, W / 2 + bw / 2, y + bh / 2), radius=6 * SS, fill=p["box"]
        )
    if p.get("shadow"):
        d.multiline_text(
            (W / 2 + 3 * SS, y + 3 * SS),
            text,
            font=font,
            fill=(0, 0, 0, 150),
            anchor="mm",
            align="center",
            spacing=2 * SS,
        )
    d.multiline_text(
        (W / 2, y),
        text,
        font=font,
        fill=fg,
        anchor="mm",
        align="center",
        spacing=2 * SS,
        stroke_width=round(size * SS * 0.06) if stroke else 0,
        stroke_fill=stroke,
    )
    img.alpha_composite(layer.rotate(p.get("tilt", 0), Image.BICUBIC, center=(W / 2, y)))
    if p.get("emoji"):  # a small drawn face in a corner
        q = dict(p["emoji"])
        sub = DevPen(img, rng, 1.8, INK2)
        sub.skin = q["skin"]
        x, yv, r = q.get("x", 100), q.get("y", 26), q.get("r", 17)
        sub.shape(arc(x, yv, r, r), q["skin"])
        face_on(sub, q, x, yv, r)


DRAWERS = {
    "drawn-face": draw_face,
    "hand-drawn": draw_doodle,
    "animal": draw_animal,
    "character": draw_character,
    "photo-caption": draw_photo,
}


# ---------------------------------------------------------------- backgrounds, glow, save


def render(p, step=4.0):
    rng = np.random.default_rng(zlib.crc32(p["name"].encode()))
    img = Image.new("RGBA", (W, W), (0, 0, 0, 0))
    pen = DevPen(img, rng, p.get("width", 2.5), p.get("ink", INK2))
    DRAWERS[p["kind"]](img, pen, p)
    if p.get("sticker"):
        img = T.die_cut(img, p["sticker"])
    if p.get("neon"):  # a soft coloured glow around the drawing, on a dark tile
        glow = img.filter(ImageFilter.GaussianBlur(5 * SS))
        a = np.clip(np.asarray(glow.getchannel("A"), float) * 1.6, 0, 255).astype(np.uint8)
        glow = Image.new("RGBA", img.size, p["neon"] + (255,))
        glow.putalpha(Image.fromarray(a))
        glow.alpha_composite(img)
        img = glow
    back = p.get("tile")
    if back:  # a square, rounded or round tile behind the sticker
        t = Image.new("RGBA", (W, W), (0, 0, 0, 0))
        d = ImageDraw.Draw(t)
        shape = p.get("tile_shape", "rounded")
        if shape == "round":
            d.ellipse((0, 0, W - 1, W - 1), fill=back)
        else:
            d.rounded_rectangle(
                (0, 0, W - 1, W - 1),
                radius=(p.get("corner", 16) if shape == "rounded" else 0) * SS,
                fill=back,
            )
        if p.get("speed"):  # manga speed lines on the tile
            cx, cy = W / 2, W / 2
            for a in np.linspace(0, 2 * np.pi, 30, endpoint=False):
                a += rng.uniform(-0.03, 0.03)
                r0 = W * rng.uniform(0.36, 0.45)
                d.line(
                    (
                        cx + math.cos(a) * r0,
                        cy + math.sin(a) * r0,
                        cx + math.cos(a) * W,
                        cy + math.sin(a) * W,
                    ),
                    fill=p["speed"],
                    width=SS * 2,
                )
        if p.get("burst"):  # a spiky yellow burst
            pts = star(64, 64, 62, 14, 0.78)
            d.polygon([(x * SS, y * SS) for x, y in pts], fill=p["burst"])
        if p.get("fire"):  # flames rising behind
            for k in range(9):
                x = 8 + k * 14
                h = rng.uniform(40, 70)
                d.polygon(
                    [((x - 10) * SS, 128 * SS), (x * SS, (128 - h) * SS), ((x + 10) * SS, 128 * SS)],
                    fill=(255, 110 + k % 3 * 30, 30),
                )
        t.alpha_composite(img)
        img = t
    small = img.resize((SIZE, SIZE), Image.LANCZOS)
    if p["kind"] == "photo-caption":  # fewer levels a channel: keeps the PNG of a photo small
        a = np.asarray(small).copy()
        a[..., :3] = np.minimum(np.round(a[..., :3] / step) * step, 255 - 255 % step)
        small = Image.fromarray(a, "RGBA")
    return small


# ---------------------------------------------------------------- the pictures


def S(stem, kind, mood, emotion, fine, intent, description, **p):
    return dict(
        stem="dev-" + stem,
        kind=kind,
        mood=mood,
        emotion=emotion,
        fine=fine,
        intent=intent,
        description=description,
        **p,
    )


H, SA, AN, FE, SU, DI, NE = "Happiness", "Sadness", "Anger", "Fear", "Surprise", "Disgust", "Neutral"
BOARD = (40, 70, 55, 255)
# fmt: off
SPECS = [
    # --- Happiness
    S("joy-face", "drawn-face", "joy", H, "smiling", None, "a butter-yellow rounded-square face with ^ ^ eyes, a wide open smile and purple music notes", form="square", skin=P_BUTTER, fill="radial"),
    S("hehe-face", "drawn-face", "hehe", H, "naughty", "amusement", "a pastel pink pear-shaped face with ^ ^ eyes, a :3 cat mouth and hatched blush", form="pear", skin=P_ROSE, width=2, ink=(120, 50, 90)),
    S("starry-face", "drawn-face", "starry", H, "excited", "excitement", "a neon cyan hexagon face glowing on a dark tile, with yellow star eyes, an open smile and blue sparkles", form="hexagon", skin=N_CYAN, neon=N_CYAN, tile=(25, 15, 45, 255), ink=BLACK, r=34),
    S("xd-face", "drawn-face", "xd", H, "funny", "amusement", "a manga-style white triangle face with a thick black outline and screentone shade, > < eyes, a big open laugh and flying tears of joy", form="triangle", skin=WHITE, fill="tone", ink=BLACK, fw=2.8, width=4, r=36, cy=60),
    S("thx-doodle", "hand-drawn", "thanks", H, "thankful", "gratitude", "a dashed-line doodle of a smiling face with ^ ^ eyes, dimples and blue sparkles, with the word thx under it", medium="dashed", form="egg", skin=(255, 250, 235), r=34, cy=58, add=(), caption="thx"),
    S("hehe-doodle", "hand-drawn", "hehe", H, "naughty", "amusement", "a dotted-pen doodle of a diamond-shaped face giggling with ^ ^ eyes, a :3 mouth and blush", medium="dotted", form="diamond", skin=(255, 245, 250), ink=(200, 40, 120), r=36),
    S("joy-owl", "animal", "joy", H, "smiling", None, "a brown owl with ^ ^ eyes on pale eye disks, an open smile, an orange beak and music notes", species="owl", skin=(170, 120, 80), r=34, cy=70),
    S("starry-penguin", "animal", "starry", H, "excited", "excitement", "a penguin with star eyes, an open smile and sparkles, in a white sticker border", species="penguin", skin=(40, 50, 70), sticker=4, r=34),
    S("sweet-fox", "animal", "sweet", H, "shy", "affection", "an orange fox with ^ ^ eyes, a dimpled smile, pink hatched blush and little flowers", species="fox", skin=(245, 140, 50), r=34, cy=72),
    S("yay-monster", "character", "joy", H, "excited", "excitement", "a fuzzy purple blob monster with cream horns, arms up, ^ ^ eyes and a wide open smile", body="monster", skin=(180, 130, 240), pose="up", s=30, cy=66, expr=dict(extras=())),
    S("love-strawberry", "character", "sweet", H, "intimate", "affection", "a strawberry character with ^ ^ eyes, a dimpled smile, blush and flowers, hands on its cheeks", body="strawberry", skin=(240, 70, 80), pose="cheeks", s=32, cy=66),
    S("hehe-photo", "photo-caption", None, H, "naughty", "amusement", "a photo-like sunburst background in pastel yellow with the caption hehe in a serif font and a small giggling face", caption="hehe", bg="sunburst", top=(255, 225, 120), bottom=(255, 190, 110), fg=(230, 60, 120), stroke=WHITE, size=44, y=76, emoji=dict(mood="hehe", skin=P_BUTTER)),
    S("lmao-photo", "photo-caption", None, H, "funny", "amusement", "a photo-like green field under a blue sky with the caption lmao in narrow black letters on a white label", caption="lmao", bg="field", top=(110, 170, 240), bottom=(200, 230, 255), font=NARROW, fg=BLACK, box=(255, 255, 255, 235), size=40, y=52),
    # --- Sadness
    S("tt-face", "drawn-face", "tt", SA, "crying", "sadness", "a pastel blue egg-shaped face with T T eyes, sad brows, a trembling frown and two tear streams down to its chin", form="egg", skin=(205, 225, 255), r=38),
    S("sob-face", "drawn-face", "sob", SA, "crying", "sadness", "a manga-style white square face with a thick black outline, > < eyes, sad brows, a wailing mouth and tears squirting sideways", form="square", skin=WHITE, fill="tone", ink=BLACK, fw=2.8, width=4, r=32),
    S("pleading-face", "drawn-face", "pleading", SA, "sad", "sadness", "a lilac hexagon face without an outline, with big wet anime eyes, sad brows and a small pout, on a pale tile", form="hexagon", skin=P_LAV, outline=False, tile=(245, 240, 255, 255), corner=30, ink=(60, 40, 110)),
    S("gloomy-doodle", "hand-drawn", "gloomy", SA, "sad", "loneliness", "a watercolour doodle of a grey-blue face with half-closed eyes, sad brows, a frown and rain drizzling on it", medium="watercolour", skin=(150, 170, 210), r=36, cy=72, ink=(50, 60, 90)),
    S("tt-doodle", "hand-drawn", "tt", SA, "crying", "sadness", "a chalk drawing on a blackboard of a crying face with T T eyes, tear streams and a trembling frown", medium="chalk", form="circle", skin=(235, 235, 225), ink=(245, 245, 240), board=BOARD, tile=BOARD, corner=10, r=38),
    S("sob-koala", "animal", "sob", SA, "crying", "sadness", "a grey koala wailing with eyes squeezed shut, sad brows, an open crying mouth and tears squirting sideways", species="koala", skin=(170, 170, 180), r=32, cy=72),
    S("tt-penguin", "animal", "tt", SA, "crying", "sadness", "a penguin crying T T with two tear streams and a trembling frown", species="penguin", skin=(40, 50, 70), r=34),
    S("heartbroken-sheep", "animal", "heartbroken", SA, "sad", "grief", "a sheep with wet anime eyes, sad brows and a frown next to a cracked heart", species="sheep", skin=(250, 232, 215), r=34, cy=72),
    S("gloomy-cloud", "character", "gloomy", SA, "sad", "sadness", "a grey rain cloud character with half-closed eyes, sad brows and a frown, rain falling on it", body="cloud", skin=(185, 190, 205), s=30, cy=70, lay=dict(mouth_y=0.45)),
    S("pleading-potato", "character", "pleading", SA, "sad", "sadness", "a potato character with big wet anime eyes, sad brows and a pout, arms hanging down", body="potato", skin=(225, 185, 130), pose="down", s=30, cy=62),
    S("sad-photo", "photo-caption", None, SA, "sad", "sadness", "a photo-like stormy grey sky with the caption sad in a serif font", caption="sad", bg="storm", top=(70, 75, 90), bottom=(120, 125, 140), fg=(200, 220, 255), stroke=(30, 30, 50), size=54, y=70),
    S("nooo-photo", "photo-caption", None, SA, "crying", "sadness", "a photo-like dim sunset over the sea with the caption nooo way on two lines in condensed letters", caption="nooo\nway", bg="sunset", top=(90, 60, 110), bottom=(200, 110, 90), font=COND, fg=WHITE, stroke=(40, 20, 60), size=38),
    # --- Anger
    S("rage-face", "drawn-face", "rage", AN, "angry", "anger", "a red square face with a lidded angry glare, angry brows, a shouting mouth and flames on its head", form="square", skin=(250, 90, 70), fill="gradient", top=(200, 20, 20), r=34, cy=72),
    S("fume-face", "drawn-face", "fume", AN, "angry", "anger", "a manga-style face with a thick black outline on speed lines: blank white rage eyes, angry brows, gritted zigzag mouth, nose puffs and a lightning bolt", form="circle", skin=(255, 200, 190), ink=BLACK, fw=2.8, width=4, r=34, tile=(255, 255, 255, 255), speed=(30, 30, 30, 255), tile_shape="square"),
    S("huff-face", "drawn-face", "huff", AN, "dissatisfied", "frustration", "a neon orange triangle face glowing on a dark tile, with angry brows, dot eyes, a pout, red cheeks and an anger cross", form="tri_up", skin=N_ORANGE, neon=(255, 60, 0), tile=(30, 10, 10, 255), ink=BLACK, r=36, cy=70, face_lay=dict(eye_y=0.05, mouth_y=0.5)),
    S("rage-doodle", "hand-drawn", "rage", AN, "angry", "anger", "a charcoal doodle of a furious face with a lidded glare, angry brows, a shouting mouth and flames", medium="charcoal", form="square", skin=(245, 240, 235), ink=(30, 30, 30), r=34, cy=72, width=2.6),
    S("grr-doodle", "hand-drawn", "grr", AN, "angry", "anger", "a red ballpoint dashed doodle of a face baring sharp teeth, with an angry glare and a #@! bubble", medium="dashed", form="hexagon", skin=(255, 235, 230), ink=(200, 30, 30), r=34, cy=72),
    S("rage-lion", "animal", "rage", AN, "angry", "anger", "a lion roaring in rage: angry glare and brows, a shouting mouth, flames above its mane", species="lion", skin=(245, 195, 90), r=30, cy=74, mane=(190, 90, 30)),
    S("grr-raccoon", "animal", "grr", AN, "angry", "anger", "a grey raccoon with a dark mask, white angry eyes, angry brows, sharp teeth and a #@! bubble", species="raccoon", skin=(150, 150, 160), r=34, cy=72),
    S("rage-tomato", "character", "rage", AN, "angry", "anger", "a red tomato character shaking its fists, with an angry glare, angry brows and a shouting mouth, on a flame background", body="tomato", skin=(235, 50, 40), pose="fists", s=30, cy=72, tile=(255, 230, 160, 255), fire=True, expr=dict(extras=())),
    S("grr-monster", "character", "grr", AN, "angry", "anger", "a fuzzy green blob monster with horns and fists up, angry glare and brows and a mouth of sharp teeth", body="monster", skin=(120, 200, 90), pose="fists", s=30, cy=68, expr=dict(extras=("cross",))),
    S("huff-chibi", "character", "huff", AN, "dissatisfied", "frustration", "a chibi girl with purple pigtails, hands on hips, angry brows, a pout, red cheeks and an anger cross", body="chibi", skin=(255, 220, 200), pose="hips", s=30, cy=50),
    S("rage-photo", "photo-caption", None, AN, "angry", "anger", "a photo-like cracked concrete wall with the caption RAGE in red monospace letters", caption="RAGE", bg="concrete", top=(120, 120, 120), bottom=(90, 90, 95), font=MONO, fg=(230, 30, 30), stroke=BLACK, size=46, tilt=-4),
    S("hmph-photo", "photo-caption", None, AN, "dissatisfied", "frustration", "a photo-like wooden table top with the caption hmph! in italic letters and a small huffy face", caption="hmph!", bg="wood", top=(150, 95, 55), bottom=(120, 75, 45), font=LIB_IT, fg=(255, 230, 200), stroke=(80, 20, 10), size=40, y=80, emoji=dict(mood="huff", skin=(255, 180, 150))),
    # --- Fear
    S("terror-face", "drawn-face", "terror", FE, "afraid", "fear", "a pale pastel-green pear-shaped face with blank white eyes, wavy worried brows, a long scream, purple fear lines and sweat drops", form="pear", skin=(215, 240, 220), r=36, cy=70),
    S("shaky-face", "drawn-face", "shaky", FE, "afraid", "nervousness", "a lavender diamond face with wide eyes and tiny pupils, wavy worried brows, a zigzag mouth, jitter marks and sweat", form="diamond", skin=P_LAV, fill="radial", r=34),
    S("eek-face", "drawn-face", "eek", FE, "afraid", "fear", "a manga-style white egg face with a thick black outline and screentone, tiny pupils, worried brows, a wide teeth grimace and sweat", form="egg", skin=WHITE, fill="tone", ink=BLACK, fw=2.8, width=3.8, r=35),
    S("terror-doodle", "hand-drawn", "terror", FE, "afraid", "fear", "a stippled pen doodle of a face screaming in terror with blank eyes, worried brows and purple fear lines", medium="stipple", skin=(140, 150, 200), r=36, cy=70),
    S("shaky-doodle", "hand-drawn", "shaky", FE, "afraid", "nervousness", "a dotted blue-pen doodle of a trembling face with tiny pupils, a zigzag mouth, jitter marks and sweat", medium="dotted", form="square", skin=(240, 248, 255), ink=(40, 80, 200), r=32),
    S("terror-panda", "animal", "terror", FE, "afraid", "fear", "a panda screaming in terror: blank white eyes in its dark patches, worried brows, a long scream and sweat", species="panda", skin=(250, 250, 250), r=34, cy=72, expr=dict(extras=("sweat_drops",))),
    S("eek-sheep", "animal", "eek", FE, "afraid", "fear", "a sheep with tiny pupils, worried brows, a teeth grimace, sweat drops and trembling marks", species="sheep", skin=(240, 225, 210), r=34, cy=72),
    S("terror-mushroom", "character", "terror", FE, "afraid", "fear", "a red-capped mushroom character screaming with blank eyes, hands on its cheeks", body="mushroom", skin=(250, 235, 215), pose="cheeks", s=32, cy=56, expr=dict(extras=("sweat_drops",))),
    S("shaky-bird", "character", "shaky", FE, "afraid", "nervousness", "a small blue bird trembling with tiny pupils, worried brows, a zigzag beak-mouth, jitter marks and sweat", body="bird", skin=(120, 180, 240), s=30, cy=62),
    S("plsno-photo", "photo-caption", None, FE, "afraid", "fear", "a photo-like dark stormy sky with the caption pls no in shaky white letters", caption="pls no", bg="storm", top=(20, 20, 35), bottom=(50, 45, 70), font=LIB, fg=(230, 230, 255), stroke=(60, 0, 80), tilt=6, size=40),
    S("yikes-photo", "photo-caption", None, FE, "afraid", "nervousness", "a photo-like purple synthwave grid with the caption yikes and a small scared face", caption="yikes", bg="grid", top=(20, 5, 40), bottom=(60, 10, 80), font=COND, fg=(0, 240, 255), stroke=(20, 0, 40), y=66, size=42, emoji=dict(mood="shaky", skin=(220, 230, 255))),
    # --- Surprise
    S("gasp-face", "drawn-face", "gasp", SU, "shocked", "surprise", "a neon lime square face glowing on a dark tile, with huge round eyes, raised brows, a tall O mouth and orange pop lines", form="square", skin=N_LIME, neon=N_LIME, tile=(15, 25, 20, 255), ink=BLACK, r=30, cy=68),
    S("shock-face", "drawn-face", "shock", SU, "shocked", "surprise", "a peach-and-pink two-tone hexagon face on a yellow burst, with huge eyes, raised brows, a big O mouth and !!", form="hexagon", skin=P_PEACH, fill="halves", skin2=P_ROSE, tile=(255, 250, 235, 255), burst=(255, 215, 50, 255), tile_shape="round", r=30),
    S("whoa-face", "drawn-face", "whoa", SU, "shocked", "surprise", "a pastel aqua tall rounded face with a long shadow, huge round eyes, raised brows, a big O mouth, pop lines and !!", form="tall", skin=P_AQUA, shadow=(120, 170, 180), r=34, cy=70),
    S("gasp-doodle", "hand-drawn", "gasp", SU, "shocked", "surprise", "a crosshatched pencil doodle of a gasping face with huge eyes, raised brows, a tall O mouth and pop lines", medium="crosshatch", skin=(200, 200, 210), ink=(60, 60, 70), r=36, cy=70),
    S("shock-doodle", "hand-drawn", "shock", SU, "shocked", "surprise", "a chalk drawing on a blackboard of a shocked face with huge eyes, raised brows, a big O mouth and !!", medium="chalk", form="egg", skin=(230, 230, 220), ink=(250, 250, 245), board=(30, 40, 60, 255), tile=(30, 40, 60, 255), corner=10, r=36),
    S("gasp-fox", "animal", "gasp", SU, "shocked", "surprise", "an orange fox with huge round eyes, raised brows, a tall O mouth and pop lines", species="fox", skin=(240, 120, 40), r=34, cy=70),
    S("shock-cow", "animal", "shock", SU, "shocked", "surprise", "a black-and-white cow with huge eyes, raised brows, an O mouth on its pink snout and !!", species="cow", skin=(250, 250, 250), r=34, cy=72),
    S("whoa-avocado", "character", "whoa", SU, "shocked", "surprise", "an avocado character throwing its arms up, with huge eyes, raised brows and a big O mouth", body="avocado", skin=(210, 235, 140), pose="up", s=34, cy=66, expr=dict(extras=("bang2",))),
    S("gasp-onigiri", "character", "gasp", SU, "shocked", "surprise", "a rice-ball character with a nori wrap, huge eyes, raised brows, a tall O mouth and pop lines", body="onigiri", skin=WHITE, s=36, cy=68),
    S("whoa-photo", "photo-caption", None, SU, "shocked", "surprise", "a photo-like blue sea with white wave lines and the caption whoa in yellow serif letters", caption="whoa", bg="waves", top=(40, 110, 190), bottom=(20, 60, 130), fg=(255, 230, 60), stroke=(20, 30, 80), size=48, tilt=-8),
    S("whaat-photo", "photo-caption", None, SU, "shocked", "surprise", "a photo-like pink pop-art halftone background with the caption WHAT?! in black letters and a small shocked face", caption="WHAT?!", bg="halftone", top=(255, 170, 200), bottom=(255, 120, 170), dots=(255, 240, 120), font=LIB, fg=BLACK, stroke=WHITE, y=78, size=36, emoji=dict(mood="shock", skin=(255, 230, 200), x=64, y=28, r=18)),
    # --- Disgust
    S("ew-face", "drawn-face", "ew", DI, "disgusted", "disgust", "a pastel sage-green pear face with a side-eye, low brows with nose wrinkles, its tongue hanging out and flies buzzing", form="pear", skin=(200, 230, 160), fill="gradient", top=(150, 200, 90), r=34, cy=72),
    S("sick-face", "drawn-face", "sick", DI, "disgusted", "disgust", "a neon lime egg face glowing on a dark tile, with X eyes, low brows and a green stream of puke", form="egg", skin=N_LIME, neon=(120, 255, 0), tile=(20, 20, 30, 255), ink=BLACK, r=30, cy=54),
    S("grimace-face", "drawn-face", "grimace", DI, "disgusted", "disgust", "a manga-style square face with a thick black outline turning green from the top, eyes squeezed shut, low brows, a wrinkled nose, a wide teeth grimace and green wiggles", form="square", skin=WHITE, fill="gradient", top=(150, 210, 90), ink=BLACK, fw=2.8, width=4, r=32),
    S("ew-doodle", "hand-drawn", "ew", DI, "disgusted", "disgust", "a green stippled doodle of a face giving a disgusted side-eye, tongue out, with flies", medium="stipple", skin=(110, 170, 60), ink=(40, 70, 30), r=36, cy=70, dots=700),
    S("sick-doodle", "hand-drawn", "sick", DI, "disgusted", "disgust", "a watercolour doodle of a green face with X eyes throwing up a green stream", medium="watercolour", skin=(160, 210, 110), ink=(40, 60, 30), r=32, cy=52),
    S("ew-monkey", "animal", "ew", DI, "disgusted", "disgust", "a brown monkey with a disgusted side-eye, low brows, its tongue out and flies", species="monkey", skin=(150, 100, 60), r=34, cy=72),
    S("grimace-cow", "animal", "grimace", DI, "disgusted", "disgust", "a cow cringing with eyes squeezed shut, low brows, a wrinkled nose, a wide teeth grimace and green wiggles", species="cow", skin=(250, 250, 250), r=34, cy=72),
    S("ew-toast", "character", "ew", DI, "disgusted", "disgust", "a slice of toast giving a side-eye with its tongue out, flies buzzing, hands raised to push away", body="toast", skin=(255, 225, 160), pose="shrug", s=32, cy=64),
    S("sick-cactus", "character", "sick", DI, "disgusted", "disgust", "a cactus in a pot with X eyes, low brows and a green stream of puke", body="cactus", skin=(110, 180, 100), s=32, cy=50),
    S("eww-photo", "photo-caption", None, DI, "disgusted", "disgust", "a photo-like grimy bathroom-tile background with the caption eww in green letters", caption="eww", bg="tiles", top=(200, 210, 190), bottom=(160, 170, 140), fg=(120, 180, 40), stroke=(30, 50, 10), size=56, grain=16),
    S("blegh-photo", "photo-caption", None, DI, "disgusted", "disgust", "a photo-like murky sunburst background with the caption blegh and a small face with its tongue out", caption="blegh", bg="sunburst", top=(150, 160, 80), bottom=(110, 120, 60), ray=(200, 220, 80), font=NARROW, fg=(230, 255, 180), stroke=(40, 60, 10), y=84, size=44, emoji=dict(mood="ew", skin=(190, 220, 120), x=64, y=32, r=20)),
    # --- Neutral
    S("bored-face", "drawn-face", "bored", NE, "perfunctory", None, "a pastel peach triangle face with - - eyes, flat brows, a flat mouth and a speech bubble with three dots", form="tri_up", skin=P_PEACH, r=36, cy=72, face_lay=dict(eye_y=0.05, mouth_y=0.45)),
    S("calm-face", "drawn-face", "calm", NE, None, None, "a pale aqua hexagon face with a long shadow, small dot eyes and a short straight mouth", form="hexagon", skin=P_AQUA, shadow=(160, 190, 200), r=36),
    S("sleepy-face", "drawn-face", "sleepy", NE, None, "tiredness", "a neon violet square face glowing on a dark tile, asleep with lashed closed eyes, a tiny o mouth and z z z", form="square", skin=(210, 170, 255), neon=N_VIOLET, tile=(20, 15, 40, 255), ink=BLACK, r=30, cx=58, cy=70),
    S("puzzled-doodle", "hand-drawn", "puzzled", NE, "confused", "question", "a dashed-pen doodle of a puzzled egg-shaped face with one brow raised, a slanted mouth and a ? thought bubble", medium="dashed", form="egg", skin=(250, 250, 240), ink=(80, 60, 140), r=34, cx=58, cy=72),
    S("unimpressed-doodle", "hand-drawn", "unimpressed", NE, "perfunctory", None, "a charcoal doodle of an unimpressed face with half-lidded eyes, flat brows and a slanted mouth", medium="charcoal", form="pear", skin=(245, 243, 238), ink=(30, 30, 30), r=36),
    S("sleepy-owl", "animal", "sleepy", NE, None, "good_night", "a grey owl asleep with lashed closed eyes, a tiny o mouth and z z z", species="owl", skin=(150, 150, 165), r=34, cx=58, cy=72),
    S("calm-panda", "animal", "calm", NE, None, None, "a calm panda with small eyes in its dark patches and a short straight mouth", species="panda", skin=(250, 250, 250), r=36, cy=70),
    S("bored-potato", "character", "bored", NE, "perfunctory", None, "a potato character with - - eyes, flat brows, a flat mouth, arms down and a speech bubble with three dots", body="potato", skin=(215, 175, 120), pose="down", s=28, cx=58, cy=70),
    S("puzzled-bird", "character", "puzzled", NE, "confused", "question", "a yellow bird with one brow raised, a slanted mouth and a ? thought bubble", body="bird", skin=(250, 215, 80), s=30, cx=58, cy=70),
    S("zzz-photo", "photo-caption", None, NE, None, "tiredness", "a photo-like dusk over the sea with the caption zzz in big lilac letters", caption="zzz", bg="sunset", top=(40, 40, 90), bottom=(120, 90, 140), fg=(220, 200, 255), stroke=(30, 20, 60), size=56, y=40),
    S("ok-photo", "photo-caption", None, NE, "perfunctory", None, "a photo-like plain grey concrete wall with the caption ok. in small monospace letters on a white label", caption="ok.", bg="concrete", top=(165, 165, 160), bottom=(150, 150, 148), font=MONO, fg=(40, 40, 40), box=(250, 250, 250, 230), size=28, grain=6),
]
# fmt: on


def main() -> None:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for old in OUT_DIR.glob("*.png"):
        old.unlink()
    test_names = {f.name for f in T.OUT_DIR.glob("*.png")}
    seen: dict[str, int] = {}
    rows = []
    for p in SPECS:
        seen[p["stem"]] = seen.get(p["stem"], 0) + 1
        p["name"] = f"{p['stem']}-{seen[p['stem']]:02d}.png"
        assert p["emotion"] in EMOTIONS and p["kind"] in T.KINDS, p["name"]
        assert p["fine"] is None or p["fine"] in FINE_EMOTIONS, p["name"]
        assert p["intent"] is None or p["intent"] in T.INTENTS, p["name"]
        assert p["name"] not in test_names, p["name"]
        path = OUT_DIR / p["name"]
        for step in (4, 6, 8):  # coarser colour levels if a photo's PNG comes out too big
            render(p, step).save(path, optimize=True)
            if path.stat().st_size < 20_000:
                break
        assert path.stat().st_size < 20_000, (p["name"], path.stat().st_size)
        rows.append(
            {
                "image": p["name"],
                "emotion": p["emotion"],
                "fine_emotion": p["fine"],
                "intent": p["intent"],
                "kind": p["kind"],
                "description": p["description"],
            }
        )
    with open(OUT_DIR / "labels.jsonl", "w", encoding="utf-8") as f:
        f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    print(f"wrote {len(rows)} pictures and labels.jsonl to {OUT_DIR.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
