"""Draw the unseen-sticker test set into assets/eval/drawn_stickers/.

    .venv/bin/python scripts/draw_test_stickers.py

A test of the sticker image encoder, which is trained on emoji art (Microsoft Fluent, Google
Noto, Twemoji, EmojiOne, FxEmoji): does it read the *emotion* of a sticker it has never seen?
So these pictures are unlike emoji art on purpose: faces in odd shapes and colours, wobbly
pen and marker doodles, animals, little cartoon characters, and photo-like backgrounds with
a caption word. Made for the test only; never used in training.

Writes 128x128 RGBA PNGs (drawn at 4x and scaled down) and labels.jsonl, one object per
picture: image, emotion (SER30K seven), fine_emotion (Sticker820K, or null), intent (the
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
from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from stickerbot.stickers.labels import EMOTIONS, FINE_EMOTIONS  # noqa: E402

OUT_DIR = ROOT / "assets" / "eval" / "drawn_stickers"
SIZE, SS = 128, 4  # final size; supersampling factor
W = SIZE * SS
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
KINDS = ("drawn-face", "hand-drawn", "animal", "character", "photo-caption")
# The intent names of stickerbot/chat/data/intents.yaml that a sticker alone can show.
INTENTS = (
    "achievement",
    "excitement",
    "gratitude",
    "affection",
    "amusement",
    "relief",
    "greeting",
    "good_night",
    "small_talk",
    "tiredness",
    "nervousness",
    "fear",
    "loneliness",
    "grief",
    "sadness",
    "frustration",
    "anger",
    "disgust",
    "embarrassment",
    "surprise",
    "apology",
    "question",
)

INK, PENCIL, BLUE_PEN = (38, 32, 44), (70, 70, 80), (40, 60, 140)
WHITE, PAPER = (255, 255, 255), (252, 250, 243)
MOUTH, TONGUE, HEART = (110, 26, 40), (240, 110, 130), (228, 40, 70)
TEAR, TEAR_INK = (125, 195, 255), (40, 110, 210)
PEACH, PINK, LILAC = (255, 206, 170), (255, 176, 204), (206, 186, 242)
MINT, SKY, GREY = (172, 236, 204), (160, 208, 255), (192, 192, 200)
TAN, BROWN, CREAM = (214, 170, 120), (170, 118, 78), (255, 244, 222)
GREEN, OLIVE, ORANGE = (150, 208, 100), (176, 186, 90), (255, 164, 84)
RED, PALE, SICK = (238, 88, 76), (150, 170, 255), (130, 190, 70)


# ---------------------------------------------------------------- geometry (128-px units)


def arc(cx, cy, rx, ry, a0=0.0, a1=360.0, n=48):
    """Points of an ellipse arc; angles in degrees, 90 is down (screen y)."""
    t = np.radians(np.linspace(a0, a1, n))
    return list(zip(cx + rx * np.cos(t), cy + ry * np.sin(t), strict=True))


def rotate(pts, cx, cy, deg):
    c, s = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return [(cx + (x - cx) * c - (y - cy) * s, cy + (x - cx) * s + (y - cy) * c) for x, y in pts]


def squircle(cx, cy, r, p=4.0, n=96):
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    c, s = np.cos(t), np.sin(t)
    return list(
        zip(
            cx + r * np.sign(c) * np.abs(c) ** (2 / p),
            cy + r * np.sign(s) * np.abs(s) ** (2 / p),
            strict=True,
        )
    )


def blob(cx, cy, r, rng, n=96):
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    k = 1 + sum(rng.uniform(0.03, 0.07) * np.sin(j * t + rng.uniform(0, 6.3)) for j in (2, 3, 5))
    return list(zip(cx + r * k * np.cos(t), cy + r * k * np.sin(t), strict=True))


def heart(cx, cy, size, n=60):
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    x = 16 * np.sin(t) ** 3
    y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
    return list(zip(cx + x * size / 17, cy + (y + 2) * size / 17, strict=True))


def drop(x, y, size, deg=0.0):
    """A tear drop, tip up (then turned by deg), round part centred on (x, y)."""
    return rotate([(x, y - 2.2 * size)] + arc(x, y, size, size, -30, 210, 24), x, y, deg)


def star(cx, cy, r, points=4, inner=0.35):
    return [
        (
            cx + r * (1 if i % 2 == 0 else inner) * math.cos(math.pi * i / points - math.pi / 2),
            cy + r * (1 if i % 2 == 0 else inner) * math.sin(math.pi * i / points - math.pi / 2),
        )
        for i in range(2 * points)
    ]


def outline_of(form, cx, cy, r, rng):
    if form == "circle":
        return arc(cx, cy, r, r, n=96)
    if form == "oval":
        return arc(cx, cy, r * 0.9, r * 1.06, n=96)
    if form == "wide":
        return arc(cx, cy, r * 1.12, r * 0.9, n=96)
    if form == "squircle":
        return squircle(cx, cy, r)
    if form == "blob":
        return blob(cx, cy, r, rng)
    raise ValueError(form)


# ---------------------------------------------------------------- the pen


class Pen:
    """Draws on a 4x canvas in 128-px units; `wobble` > 0 shakes each stroke like a hand."""

    def __init__(self, img, rng, width=2.5, ink=INK, wobble=0.0):
        self.img, self.rng, self.width, self.ink, self.wobble = img, rng, width, ink, wobble

    @property
    def draw(self):
        return ImageDraw.Draw(self.img, "RGBA")

    def _shake(self, pts, closed):
        if closed:
            pts = pts + pts[:1]
        if not self.wobble:
            return pts
        a = np.array(pts, float)
        if closed:  # a pen overshoots where a loop closes
            a = np.vstack([a, a[1 : max(2, len(a) // 10)]])
        s = np.concatenate([[0], np.cumsum(np.hypot(*np.diff(a, axis=0).T))])
        amp = self.wobble / 1.7 * min(1.0, max(0.15, s[-1] / 100))  # small marks shake less
        off = np.zeros_like(a)
        for _ in range(3):
            f, ph = self.rng.uniform(0.04, 0.16), self.rng.uniform(0, 6.3, 2)
            off += amp * np.stack([np.sin(f * s + ph[0]), np.cos(f * s + ph[1])], 1)
        return [tuple(p) for p in a + off]

    def line(self, pts, width=None, color=None, closed=False):
        pts = self._shake(list(pts), closed)
        w = (width or self.width) * SS
        col = color or self.ink
        xy = [(x * SS, y * SS) for x, y in pts]
        self.draw.line(xy, fill=col, width=max(1, round(w)), joint="curve")
        for x, y in (xy[0], xy[-1]):
            self.draw.ellipse((x - w / 2, y - w / 2, x + w / 2, y + w / 2), fill=col)

    def shape(self, pts, fill, outline=True, width=None, ink=None):
        self.draw.polygon([(x * SS, y * SS) for x, y in pts], fill=fill)
        if outline:
            self.line(pts, width, ink, closed=True)

    def dot(self, x, y, r, fill):
        self.draw.ellipse(((x - r) * SS, (y - r) * SS, (x + r) * SS, (y + r) * SS), fill=fill)

    def text(self, x, y, s, size, fill, stroke=0.0, stroke_fill=None):
        font = ImageFont.truetype(FONT, round(size * SS))
        self.draw.text(
            (x * SS, y * SS),
            s,
            font=font,
            fill=fill,
            anchor="mm",
            stroke_width=round(stroke * SS),
            stroke_fill=stroke_fill,
        )

    def mask(self, pts):
        m = Image.new("L", self.img.size, 0)
        ImageDraw.Draw(m).polygon([(x * SS, y * SS) for x, y in pts], fill=255)
        return m

    def gradient(self, pts, top, bottom, y0, y1):
        """Fill pts with a vertical gradient from `top` at y0 to `bottom` at y1."""
        t = np.clip((np.arange(W) / SS - y0) / (y1 - y0), 0, 1)[:, None, None]
        rgb = np.array(top, float) * (1 - t) + np.array(bottom, float) * t
        layer = Image.fromarray(np.broadcast_to(rgb, (W, W, 3)).astype(np.uint8)).convert("RGBA")
        self.img.paste(layer, (0, 0), self.mask(pts))

    def hatch(self, pts, color, gap=3.5, deg=35.0, width=None):
        """Fill pts with parallel (wobbly if the pen wobbles) strokes, like crayon."""
        layer = Image.new("RGBA", self.img.size, (0, 0, 0, 0))
        sub = Pen(layer, self.rng, width or self.width * 0.8, color, self.wobble * 0.6)
        xs, ys = zip(*pts, strict=True)
        cx, cy, rad = (
            (min(xs) + max(xs)) / 2,
            (min(ys) + max(ys)) / 2,
            max(max(xs) - min(xs), max(ys) - min(ys)),
        )
        d, nrm = (
            (math.cos(math.radians(deg)), math.sin(math.radians(deg))),
            (-math.sin(math.radians(deg)), math.cos(math.radians(deg))),
        )
        for k in np.arange(-rad, rad, gap):
            px, py = cx + nrm[0] * k, cy + nrm[1] * k
            sub.line([(px - d[0] * rad, py - d[1] * rad), (px + d[0] * rad, py + d[1] * rad)])
        layer.putalpha(ImageChops.multiply(layer.getchannel("A"), self.mask(pts)))
        self.img.alpha_composite(layer)

    def cloud(self, circles, fill, width=None):
        """A puff made of (x, y, r) circles: outlines first, then fills hide the inner lines."""
        w = width or self.width
        for x, y, r in circles:
            self.shape(arc(x, y, r, r, n=36), fill, True, w)
        for x, y, r in circles:
            self.shape(arc(x, y, r - w * 0.55, r - w * 0.55, n=36), fill, False)


# ---------------------------------------------------------------- faces

EXPRESSIONS = {
    "laugh": dict(eyes="squeeze", mouth="grin", extras=("joy_tears",)),
    "grin": dict(eyes="happy", mouth="grin", extras=("blush",)),
    "smile": dict(eyes="happy", mouth="smile", extras=("blush",)),
    "love": dict(eyes="heart", mouth="smile", extras=("blush", "hearts")),
    "party": dict(eyes="happy", mouth="grin", extras=("party_hat", "confetti")),
    "cry": dict(eyes="squeeze", brows="sad", mouth="wail", extras=("tears",)),
    "sad": dict(eyes="glossy", brows="sad", mouth="frown", extras=("tear",)),
    "angry": dict(eyes="dot", brows="angry", mouth="clench", extras=("vein", "steam")),
    "scared": dict(eyes="wide", brows="sad", mouth="scream", extras=("hands", "sweat")),
    "nervous": dict(eyes="wide", brows="sad", mouth="wavy", extras=("sweat", "shiver")),
    "surprised": dict(eyes="round", brows="raised", mouth="big_o", extras=("exclaim",)),
    "disgusted": dict(eyes="half", brows="skeptic", mouth="tongue", extras=("stink",)),
    "sleepy": dict(eyes="closed", mouth="o_small", extras=("zzz",)),
    "calm": dict(eyes="dot", mouth="flat"),
    "meh": dict(eyes="half", brows="flat", mouth="flat", extras=("dots",)),
    "confused": dict(eyes="dot", brows="skeptic", mouth="wavy", extras=("question",)),
}


def glint(pen, x, y, r):
    pen.dot(x, y, r, WHITE)


def eye(pen, kind, x, y, es, s):
    if kind == "dot":
        pen.shape(arc(x, y, es * 0.55, es * 0.75), pen.ink, False)
        glint(pen, x - es * 0.15, y - es * 0.3, es * 0.2)
    elif kind in ("open", "round", "wide"):
        rx, ry, pr = {"open": (0.9, 1.1, 0.5), "round": (1.15, 1.2, 0.5), "wide": (1.2, 1.4, 0.26)}[kind]
        pen.shape(arc(x, y, es * rx, es * ry), WHITE, width=pen.width * 0.8)
        pen.dot(x, y + (es * 0.2 if kind == "open" else 0), es * pr, pen.ink)
        if kind != "wide":
            glint(pen, x - es * 0.15, y - es * 0.15, es * 0.16)
    elif kind == "glossy":
        pen.shape(arc(x, y, es * 0.8, es * 1.0), pen.ink, False)
        glint(pen, x - es * 0.25, y - es * 0.35, es * 0.28)
        glint(pen, x + es * 0.3, y + es * 0.35, es * 0.14)
        pen.line(arc(x, y + es * 0.2, es * 1.0, es * 1.0, 30, 150), pen.width * 0.8, TEAR_INK)
    elif kind == "happy":
        pen.line(arc(x, y + es * 0.45, es * 0.85, es * 0.8, 200, 340))
    elif kind == "closed":
        pen.line(arc(x, y - es * 0.35, es * 0.85, es * 0.7, 20, 160))
    elif kind == "squeeze":
        pen.line([(x + s * es * 0.8, y - es * 0.7), (x - s * es * 0.7, y), (x + s * es * 0.8, y + es * 0.7)])
    elif kind == "heart":
        pen.shape(heart(x, y, es * 1.5), HEART, width=pen.width * 0.7)
    elif kind == "half":
        pen.shape(arc(x, y, es * 0.65, es * 0.6, 0, 180), pen.ink, False)
        pen.line([(x - es * 0.95, y), (x + es * 0.95, y)])
    else:
        raise ValueError(kind)


def brow(pen, kind, x, y, es, s):
    o, i = x + s * es * 1.2, x - s * es * 0.5  # outer and inner end
    if kind == "skeptic":
        kind = "angry" if s < 0 else "raised"
    w = pen.width * 1.3
    if kind == "angry":
        pen.line([(o, y - es * 0.45), (i, y + es * 0.55)], w)
    elif kind == "sad":
        pen.line([(o, y + es * 0.4), (i, y - es * 0.5)], w)
    elif kind == "flat":
        pen.line([(o, y), (i, y)], w)
    elif kind == "raised":
        pen.line(arc(x, y + es * 0.2, es * 1.1, es * 0.8, 205, 335), w)


def mouth(pen, kind, cx, my, mw):
    if kind == "smile":
        pen.line(arc(cx, my - mw * 0.5, mw, mw * 0.75, 25, 155))
    elif kind == "grin":  # open D: flat top with teeth, round bottom with tongue
        y0 = my - mw * 0.35
        pen.shape(arc(cx, y0, mw, mw * 0.95, 0, 180), MOUTH, False)
        pen.shape(
            arc(cx, y0, mw, mw * 0.95, 55, 125, 12)
            + arc(cx, y0 + mw * 0.78, mw * 0.57, mw * 0.32, 180, 360, 16),
            TONGUE,
            False,
        )
        pen.shape(
            arc(cx, y0, mw, mw * 0.95, 0, 14, 5) + arc(cx, y0, mw, mw * 0.95, 166, 180, 5), WHITE, False
        )
        pen.line(arc(cx, y0, mw, mw * 0.95, 0, 180), closed=True)
    elif kind == "frown":
        pen.line(arc(cx, my + mw * 0.55, mw * 0.9, mw * 0.65, 205, 335))
    elif kind == "wail":  # open, upside-down D
        y0 = my + mw * 0.45
        pen.shape(arc(cx, y0, mw * 0.9, mw * 0.9, 180, 360), MOUTH, False)
        pen.shape(arc(cx, y0, mw * 0.45, mw * 0.32, 180, 360), TONGUE, False)
        pen.line(arc(cx, y0, mw * 0.9, mw * 0.9, 180, 360), closed=True)
    elif kind in ("o_small", "big_o", "scream"):
        rx, ry, dy = {"o_small": (0.22, 0.26, 0), "big_o": (0.45, 0.55, 0.1), "scream": (0.4, 0.85, 0.2)}[
            kind
        ]
        pen.shape(arc(cx, my + mw * dy, mw * rx, mw * ry), MOUTH)
    elif kind == "flat":
        pen.line([(cx - mw * 0.55, my), (cx + mw * 0.55, my)])
    elif kind == "wavy":
        t = np.linspace(-1, 1, 40)
        pen.line(list(zip(cx + t * mw * 0.75, my + np.sin(t * 2.5 * np.pi) * mw * 0.13, strict=True)))
    elif kind == "tongue":  # a sick tongue out under a wobbly line
        tx, tw = cx + mw * 0.15, mw * 0.3
        pen.shape(
            [(tx + tw, my)] + arc(tx, my + mw * 0.45, tw, tw * 0.9, 0, 180, 20) + [(tx - tw, my)],
            (222, 120, 140),
        )
        pen.line([(tx, my + mw * 0.05), (tx, my + mw * 0.5)], pen.width * 0.6)
        t = np.linspace(-1, 1, 30)
        pen.line(list(zip(cx + t * mw * 0.7, my - np.abs(np.sin(t * 2 * np.pi)) * mw * 0.12, strict=True)))
    elif kind == "clench":  # gritted teeth
        x0, x1, y0, y1 = cx - mw * 0.75, cx + mw * 0.75, my - mw * 0.3, my + mw * 0.3
        box = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
        pen.shape(box, WHITE)
        pen.line([(x0, my), (x1, my)], pen.width * 0.7)
        for k in (-0.4, 0, 0.4):
            pen.line([(cx + k * mw, y0), (cx + k * mw, y1)], pen.width * 0.7)
    else:
        raise ValueError(kind)


def features(pen, cx, cy, r, e, lay):
    """Eyes, brows and mouth; returns the layout the extras are placed by."""
    L = dict(
        ex=r * 0.36 * lay.get("spread", 1),
        ey=cy + r * lay.get("eye_y", -0.1),
        es=r * 0.13 * lay.get("eye", 1),
        my=cy + r * lay.get("mouth_y", 0.4),
        mw=r * 0.3 * lay.get("mouth", 1),
    )
    L["by"] = L["ey"] - L["es"] * (2.5 if e["eyes"] in ("open", "round", "wide") else 2.1)
    for s in (-1, 1):
        eye(pen, e["eyes"], cx + s * L["ex"], L["ey"], L["es"], s)
        if e.get("brows"):
            brow(pen, e["brows"], cx + s * L["ex"], L["by"], L["es"], s)
    mouth(pen, e["mouth"], cx, L["my"], L["mw"])
    return L


def extras(pen, cx, cy, r, e, L, skin):
    ex, ey, es = L["ex"], L["ey"], L["es"]
    sides = (-1, 1)
    for name in e.get("extras", ()):
        if name == "tears":  # two streams running off the face
            for s in sides:
                x, y0, y1 = cx + s * ex, ey + es * 0.9, min(cy + r * 1.05, 124)
                t = np.linspace(0, 1, 12)
                half = es * (0.45 + 0.35 * t)
                mid = x + s * es * 0.8 * t**2
                ys = y0 + (y1 - y0) * t
                pts = (
                    list(zip(mid - half, ys, strict=True))
                    + arc(mid[-1], y1, half[-1], half[-1] * 0.8, 180, 0, 12)[1:]
                    + list(zip(mid + half, ys, strict=True))[::-1]
                )
                pen.shape(pts, TEAR + (235,), width=pen.width * 0.6, ink=TEAR_INK)
        elif name == "tear":
            pen.shape(drop(cx + ex, ey + es * 2.4, es * 0.45), TEAR, width=pen.width * 0.6, ink=TEAR_INK)
        elif name == "joy_tears":
            for s in sides:
                pen.shape(
                    drop(cx + s * (ex + es * 1.9), ey + es * 0.3, es * 0.5, -s * 50),
                    TEAR,
                    width=pen.width * 0.6,
                    ink=TEAR_INK,
                )
        elif name == "blush":
            for s in sides:
                x, y = cx + s * (ex + es * 0.4), ey + es * 2.3
                if pen.wobble:
                    for k in (-1, 0, 1):
                        pen.line(
                            [
                                (x + k * es * 0.5 - es * 0.2, y + es * 0.3),
                                (x + k * es * 0.5 + es * 0.2, y - es * 0.3),
                            ],
                            pen.width * 0.7,
                            (230, 80, 110),
                        )
                else:
                    pen.shape(arc(x, y, es * 0.9, es * 0.5), (255, 90, 130, 120), False)
        elif name == "sweat":
            pen.shape(drop(cx + r * 0.74, cy - r * 0.5, r * 0.09), TEAR, width=pen.width * 0.6, ink=TEAR_INK)
        elif name == "steam":
            for s in sides:
                x, y = cx + s * r * 0.95, cy - r * 0.8
                pen.cloud(
                    [
                        (x, y, r * 0.16),
                        (x + s * r * 0.15, y - r * 0.14, r * 0.13),
                        (x + s * r * 0.02, y - r * 0.25, r * 0.1),
                    ],
                    (246, 246, 250),
                    pen.width * 0.7,
                )
        elif name == "vein":
            vx, vy, k = cx + r * 0.52, cy - r * 0.6, r * 0.13
            for a in (45, 135, 225, 315):
                ox, oy = vx + math.cos(math.radians(a)) * k * 1.4, vy + math.sin(math.radians(a)) * k * 1.4
                pen.line(arc(ox, oy, k, k, a + 180 - 50, a + 180 + 50, 12), pen.width * 1.1, (215, 25, 40))
        elif name == "zzz":
            x, y = cx + r * 0.75, cy - r * 0.55
            for k, sz in enumerate((0.13, 0.17, 0.21)):
                zx, zy, z = x + k * r * 0.22, y - k * r * 0.3, r * sz
                pen.line(
                    [(zx - z, zy - z), (zx + z, zy - z), (zx - z, zy + z), (zx + z, zy + z)],
                    pen.width * 0.9,
                    BLUE_PEN,
                )
        elif name == "hearts":
            for hx, hy, hs in ((0.95, -0.85, 0.22), (-1.0, -0.55, 0.16), (1.08, -0.3, 0.13)):
                pen.shape(heart(cx + hx * r, cy + hy * r, hs * r), HEART, width=pen.width * 0.6)
        elif name == "party_hat":
            tri = [
                (cx - r * 0.42, cy - r * 0.86),
                (cx + r * 0.3, cy - r * 1.62),
                (cx + r * 0.52, cy - r * 0.74),
            ]
            pen.shape(tri, (90, 120, 255), False)
            pen.hatch(tri, (255, 220, 60), gap=r * 0.2, deg=-30, width=r * 0.07)
            pen.line(tri, closed=True)
            pen.dot(cx + r * 0.3, cy - r * 1.62, r * 0.1, (255, 90, 120))
        elif name == "confetti":
            cols = ((255, 90, 120), (60, 170, 255), (255, 200, 40), (120, 210, 90), (190, 110, 255))
            for i in range(14):
                a, d = pen.rng.uniform(0, 2 * np.pi), pen.rng.uniform(1.12, 1.45) * r
                x, y = np.clip(cx + d * math.cos(a), 6, 122), np.clip(cy + d * math.sin(a), 6, 122)
                pen.shape(
                    rotate(
                        [(x - 2.4, y - 1.1), (x + 2.4, y - 1.1), (x + 2.4, y + 1.1), (x - 2.4, y + 1.1)],
                        x,
                        y,
                        pen.rng.uniform(0, 180),
                    ),
                    cols[i % 5],
                    False,
                )
        elif name == "sparkles":
            for sx, sy, sz in ((-1.0, -0.8, 0.2), (1.05, -0.65, 0.16), (0.95, 0.75, 0.13)):
                pen.shape(star(cx + sx * r, cy + sy * r, sz * r), (255, 196, 40), width=pen.width * 0.5)
        elif name == "hands":  # on the cheeks
            for s in sides:
                hx, hy = cx + s * r * 0.75, cy + r * 0.35
                pen.shape(
                    rotate(arc(hx, hy, r * 0.19, r * 0.28), hx, hy, -s * 15),
                    tuple(max(0, c - 25) for c in skin[:3]),
                )
                for k in (-0.5, 0.5):
                    pen.line(
                        [(hx + k * r * 0.1, hy - r * 0.22), (hx + k * r * 0.1, hy - r * 0.05)],
                        pen.width * 0.5,
                    )
        elif name == "shiver":
            for s in sides:
                for k in (0, 1):
                    pen.line(
                        arc(
                            cx + s * r * 0.9,
                            cy,
                            r * (0.25 + 0.12 * k),
                            r * (0.32 + 0.12 * k),
                            (0 if s > 0 else 180) - 35,
                            (0 if s > 0 else 180) + 35,
                            12,
                        ),
                        pen.width * 0.7,
                    )
        elif name == "gloom":
            for k in (-0.3, -0.15, 0, 0.15, 0.3):
                pen.line(
                    [(cx + k * r, cy - r * 0.8), (cx + k * r, cy - r * 0.52)], pen.width * 0.7, (90, 80, 190)
                )
        elif name in ("exclaim", "exclaim2"):
            for k, (x, y, h) in enumerate(((0.95, -0.8, 0.3), (1.2, -0.6, 0.22))):
                if k and name == "exclaim":
                    break
                x, y, h = cx + x * r, cy + y * r, h * r
                pen.line([(x, y - h), (x - h * 0.1, y + h * 0.45)], pen.width * 1.3, (225, 50, 40))
                pen.dot(x - h * 0.13, y + h * 0.85, pen.width * 0.8, (225, 50, 40))
        elif name == "interrobang":
            pen.text(cx + r * 0.95, cy - r * 0.85, "!?", r * 0.5, (225, 50, 40))
        elif name == "question":
            pen.text(cx + r * 0.9, cy - r * 0.85, "?", r * 0.6, BLUE_PEN)
        elif name == "dots":
            for k in range(3):
                pen.dot(cx + r * (0.7 + 0.2 * k), cy - r * 0.98, r * 0.055, pen.ink)
        elif name == "stink":
            for k in range(3):
                t = np.linspace(0, 1, 24)
                x0, y0 = cx - r * (1.05 - 0.19 * k), cy - r * (0.4 + 0.1 * (k % 2))
                pen.line(
                    list(zip(x0 + np.sin(t * 3 * np.pi) * r * 0.06, y0 - t * r * 0.55, strict=True)),
                    max(pen.width, 2.2),
                    (100, 150, 30),
                )
        elif name == "bubble":
            pen.shape(
                arc(cx + r * 0.1, cy + r * 0.19, r * 0.15, r * 0.15),
                (170, 220, 255, 150),
                width=pen.width * 0.5,
                ink=TEAR_INK,
            )
            glint(pen, cx + r * 0.05, cy + r * 0.14, r * 0.04)
        elif name == "rain_cloud":
            x, y = cx + r * 0.1, cy - r * 1.35
            for k in (-0.3, 0, 0.3):
                pen.line(
                    [(x + k * r, y + r * 0.25), (x + k * r - r * 0.06, y + r * 0.45)],
                    pen.width * 0.8,
                    TEAR_INK,
                )
            pen.cloud(
                [
                    (x - r * 0.3, y + r * 0.05, r * 0.2),
                    (x, y - r * 0.08, r * 0.27),
                    (x + r * 0.32, y + r * 0.05, r * 0.18),
                ],
                (165, 170, 188),
            )
        elif name == "scribble":  # an angry tangle above the head
            t = np.linspace(0, 1, 90)
            pts = list(
                zip(
                    cx - r * 0.3 + t * r * 0.8 + np.cos(t * 14 * np.pi) * r * 0.16,
                    cy - r * 1.3 + np.sin(t * 14 * np.pi) * r * 0.14,
                    strict=True,
                )
            )
            pen.line(pts, pen.width * 0.8, (210, 30, 40))
        elif name == "nightcap":
            pts = [
                (cx - r * 0.9, cy - r * 0.5),
                (cx - r * 0.35, cy - r * 1.3),
                (cx + r * 0.45, cy - r * 1.3),
                (cx + r * 1.05, cy - r * 0.85),
                (cx + r * 0.9, cy - r * 0.5),
            ]
            pen.shape(pts, (80, 110, 200))
            pen.line([(cx - r * 0.92, cy - r * 0.52), (cx + r * 0.92, cy - r * 0.52)], r * 0.16, WHITE)
            pen.dot(cx + r * 1.05, cy - r * 0.85, r * 0.11, WHITE)
        elif name == "moon":
            m = Image.new("L", pen.img.size, 0)
            d, (mx, my, R) = ImageDraw.Draw(m), (cx - r * 1.0, cy - r * 0.95, r * 0.24)
            d.ellipse(((mx - R) * SS, (my - R) * SS, (mx + R) * SS, (my + R) * SS), fill=255)
            d.ellipse(
                (
                    (mx + 0.4 * R - 0.85 * R) * SS,
                    (my - 0.25 * R - 0.85 * R) * SS,
                    (mx + 0.4 * R + 0.85 * R) * SS,
                    (my - 0.25 * R + 0.85 * R) * SS,
                ),
                fill=0,
            )
            pen.img.paste(Image.new("RGBA", pen.img.size, (255, 210, 70, 255)), (0, 0), m)
        else:
            raise ValueError(name)


def expression(p):
    e = dict(EXPRESSIONS[p["mood"]])
    e.update(p.get("expr", {}))
    if "add" in p:
        e["extras"] = tuple(e.get("extras", ())) + tuple(p["add"])
    return e


def head(pen, pts, p, cy, r):
    if p.get("tint"):
        pen.gradient(pts, p["tint"], p["skin"], cy - r, cy + r * p.get("tint_to", 0.3))
    else:
        pen.shape(pts, p["skin"], False)
    if p.get("outline", True):
        pen.line(pts, p.get("head_width"), closed=True)


# ---------------------------------------------------------------- one function per kind


def draw_face(img, pen, p):
    """A face in a non-emoji shape, colour and line style."""
    cx, cy, r = p.get("cx", 64), p.get("cy", 66), p.get("r", 42)
    head(pen, outline_of(p.get("form", "circle"), cx, cy, r, pen.rng), p, cy, r)
    e = expression(p)
    extras(pen, cx, cy, r, e, features(pen, cx, cy, r, e, p.get("lay", {})), p["skin"])


def draw_doodle(img, pen, p):
    """A wobbly pen/marker/crayon doodle of a face."""
    pen.wobble, pen.width, pen.ink = p.get("wobble", 2.0), p.get("width", 2.2), p.get("ink", PENCIL)
    cx, cy, r = p.get("cx", 64), p.get("cy", 66), p.get("r", 42)
    pts = outline_of(p.get("form", "circle"), cx, cy, r, pen.rng)
    fill, colour = p.get("fill", "paper"), p.get("skin", PAPER)
    if fill == "paper":
        pen.shape(pts, PAPER, False)
    elif fill == "marker":  # a marker blob a little off the pen line
        pen.shape(blob(cx + 3, cy + 3, r * 0.97, pen.rng), colour + (225,), False)
    elif fill == "hatch":
        pen.shape(pts, PAPER, False)
        pen.hatch(pts, colour, gap=3.2, deg=p.get("deg", 40))
    pen.line(pts, closed=True)
    if p.get("sketch"):  # a second, thinner pass like a pencil sketch
        pen.line(pts, pen.width * 0.5, closed=True)
    e = expression(p)
    extras(pen, cx, cy, r, e, features(pen, cx, cy, r, e, p.get("lay", {})), colour)


SPECIES = {  # face layout per animal
    "cat": dict(eye_y=-0.05, mouth_y=0.45),
    "dog": dict(eye_y=-0.18, mouth_y=0.56, mouth=0.9),
    "bear": dict(eye_y=-0.15, mouth_y=0.55, mouth=0.9),
    "bunny": dict(eye_y=-0.05, mouth_y=0.42),
    "pig": dict(eye_y=-0.25, mouth_y=0.62, mouth=0.9),
    "mouse": dict(eye_y=-0.05, mouth_y=0.45),
    "frog": dict(eye_y=-0.68, spread=1.3, eye=1.35, mouth_y=0.3, mouth=1.3),
}


def draw_animal(img, pen, p):
    """A cartoon animal head: ears, muzzle, nose and whiskers around the same face parts."""
    sp, cx, cy, r, fur = p["species"], p.get("cx", 64), p.get("cy", 70), p.get("r", 38), p["skin"]
    dark, inner = tuple(int(c * 0.78) for c in fur[:3]), (255, 160, 180)
    light = tuple(min(255, int(c + (255 - c) * 0.6)) for c in fur[:3])
    sides = (-1, 1)
    if sp == "cat":
        for s in sides:
            pen.shape(
                [
                    (cx + s * r * 0.98, cy - r * 0.2),
                    (cx + s * r * 0.8, cy - r * 1.15),
                    (cx + s * r * 0.22, cy - r * 0.78),
                ],
                fur,
            )
            pen.shape(
                [
                    (cx + s * r * 0.82, cy - r * 0.4),
                    (cx + s * r * 0.76, cy - r * 0.95),
                    (cx + s * r * 0.42, cy - r * 0.72),
                ],
                inner,
                False,
            )
    elif sp == "bear":
        for s in sides:
            pen.shape(arc(cx + s * r * 0.72, cy - r * 0.72, r * 0.3, r * 0.3), fur)
            pen.shape(arc(cx + s * r * 0.72, cy - r * 0.72, r * 0.15, r * 0.15), dark, False)
    elif sp == "bunny":
        for s in sides:
            ex, ey = cx + s * r * 0.38, cy - r * 1.05
            pen.shape(rotate(arc(ex, ey, r * 0.2, r * 0.55), ex, ey, s * 10), fur)
            pen.shape(rotate(arc(ex, ey + r * 0.05, r * 0.09, r * 0.4), ex, ey, s * 10), inner, False)
    elif sp == "mouse":
        for s in sides:
            pen.shape(arc(cx + s * r * 0.8, cy - r * 0.7, r * 0.42, r * 0.42), fur)
            pen.shape(arc(cx + s * r * 0.8, cy - r * 0.7, r * 0.27, r * 0.27), inner, False)
    elif sp == "pig":
        for s in sides:
            pen.shape(
                [
                    (cx + s * r * 0.92, cy - r * 0.45),
                    (cx + s * r * 0.85, cy - r * 1.05),
                    (cx + s * r * 0.35, cy - r * 0.85),
                ],
                dark,
            )
    elif sp == "frog":
        for s in sides:
            pen.shape(arc(cx + s * r * 0.47, cy - r * 0.68, r * 0.34, r * 0.34), fur)
    head(
        pen,
        outline_of("wide" if sp in ("cat", "pig", "mouse", "frog") else "circle", cx, cy, r, pen.rng),
        p,
        cy,
        r,
    )
    if sp == "frog":  # hide the head line inside the eye bumps
        for s in sides:
            pen.shape(
                arc(cx + s * r * 0.47, cy - r * 0.68, r * 0.34 - pen.width * 0.6, r * 0.34 - pen.width * 0.6),
                p.get("tint") or fur,
                False,
            )
    if sp == "dog":
        for s in sides:
            ex, ey = cx + s * r * 0.92, cy - r * 0.1
            pen.shape(rotate(arc(ex, ey, r * 0.25, r * 0.55), ex, ey, -s * 18), dark)
    if sp in ("dog", "bear"):
        pen.shape(arc(cx, cy + r * 0.42, r * 0.42, r * 0.32), light, width=pen.width * 0.7)
    if sp == "pig":
        pen.shape(arc(cx, cy + r * 0.25, r * 0.3, r * 0.2), dark)
        for s in sides:
            pen.dot(cx + s * r * 0.1, cy + r * 0.25, r * 0.05, pen.ink)
    e = expression(p)
    L = features(pen, cx, cy, r, e, dict(SPECIES[sp], **p.get("lay", {})))
    if sp in ("cat", "bunny", "mouse"):
        pen.shape(
            [(cx - r * 0.08, cy + r * 0.14), (cx + r * 0.08, cy + r * 0.14), (cx, cy + r * 0.23)],
            (240, 120, 140),
            width=pen.width * 0.5,
        )
    if sp in ("dog", "bear"):
        pen.shape(arc(cx, cy + r * 0.25, r * 0.13, r * 0.09), pen.ink, False)
    if sp in ("cat", "mouse"):
        for s in sides:
            for k in (-1, 0, 1):
                pen.line(
                    [
                        (cx + s * r * 0.62, cy + r * (0.22 + 0.08 * k)),
                        (cx + s * r * 1.25, cy + r * (0.15 + 0.17 * k)),
                    ],
                    pen.width * 0.45,
                )
    extras(pen, cx, cy, r, e, L, fur)


def draw_character(img, pen, p):
    """A small cartoon body (bean, kid, stick figure, robot, ghost, slime) with a pose."""
    body, cx, hy, s, col = p["body"], p.get("cx", 64), p.get("cy", 42), p.get("s", 24), p["skin"]
    pose, w = p.get("pose"), pen.width
    fy, fr = hy, s  # face centre and radius
    shoulders = None
    if body == "bean":
        for k in (-1, 1):
            pen.shape(arc(cx + k * s * 0.45, hy + s * 2.45, s * 0.32, s * 0.18), col)
        pen.shape(
            arc(cx, hy, s * 1.05, s * 1.05, 180, 360) + arc(cx, hy + s * 1.2, s * 1.05, s * 1.05, 0, 180), col
        )
        pen.shape(arc(cx, hy + s * 1.45, s * 0.5, s * 0.45), tuple(min(255, c + 40) for c in col[:3]), False)
        shoulders = [(cx - s * 0.95, hy + s * 1.0), (cx + s * 0.95, hy + s * 1.0)]
        fy, fr = hy + s * 0.1, s * 1.2
    elif body == "kid":
        hair = p.get("hair", (110, 70, 40))
        for k in (-1, 1):
            pen.line(
                [(cx + k * s * 0.3, hy + s * 2.1), (cx + k * s * 0.35, hy + s * 2.85)], w * 2.2, (60, 70, 110)
            )
            pen.shape(arc(cx + k * s * 0.45, hy + s * 2.92, s * 0.25, s * 0.13), INK, False)
        shirt = [
            (cx - s * 0.5, hy + s * 0.9),
            (cx + s * 0.5, hy + s * 0.9),
            (cx + s * 0.72, hy + s * 2.2),
            (cx - s * 0.72, hy + s * 2.2),
        ]
        pen.shape(shirt, p.get("shirt", (90, 170, 230)))
        pen.shape(arc(cx, hy, s, s), col)
        bangs = [(cx + s * (1.02 - 0.2 * i), hy - s * (0.45 if i % 2 else 0.3)) for i in range(11)]
        pen.shape(arc(cx, hy - s * 0.05, s * 1.06, s * 1.02, 175, 365, 30) + bangs, hair)
        shoulders = [(cx - s * 0.55, hy + s * 1.1), (cx + s * 0.55, hy + s * 1.1)]
        fy = hy + s * 0.12
    elif body == "stick":
        pen.line([(cx, hy + s), (cx, hy + s * 2.2)], w * 1.2)
        legs = p.get("legs", "stand")
        for k in (-1, 1):
            knee = (cx + k * s * 0.55, hy + s * 2.55) if legs == "jump" else (cx + k * s * 0.25, hy + s * 2.6)
            pen.line([(cx, hy + s * 2.2), knee, (cx + k * s * 0.5, hy + s * 3.0)], w * 1.2)
        pen.shape(arc(cx, hy, s, s), col)
        shoulders = [(cx, hy + s * 1.35), (cx, hy + s * 1.35)]
    elif body == "robot":
        for k in (-1, 1):
            pen.shape(
                [
                    (cx + k * s * 0.2, hy + s * 2.3),
                    (cx + k * s * 0.5, hy + s * 2.3),
                    (cx + k * s * 0.5, hy + s * 2.95),
                    (cx + k * s * 0.2, hy + s * 2.95),
                ],
                (120, 125, 140),
            )
        pen.shape(squircle(cx, hy + s * 1.7, s * 0.75, 6), (140, 150, 170))
        pen.dot(cx, hy + s * 1.7, s * 0.16, (255, 200, 60))
        pen.line([(cx, hy - s), (cx, hy - s * 1.35)], w)
        pen.shape(arc(cx, hy - s * 1.45, s * 0.13, s * 0.13), (235, 70, 70))
        for k in (-1, 1):
            pen.shape(
                [
                    (cx + k * s * 0.95, hy - s * 0.2),
                    (cx + k * s * 1.15, hy - s * 0.2),
                    (cx + k * s * 1.15, hy + s * 0.2),
                    (cx + k * s * 0.95, hy + s * 0.2),
                ],
                (120, 125, 140),
            )
        pen.shape(squircle(cx, hy, s, 5), col)
        shoulders = [(cx - s * 0.7, hy + s * 1.3), (cx + s * 0.7, hy + s * 1.3)]
    elif body == "ghost":
        t = np.linspace(0, 1, 40)
        hem = list(
            zip(
                cx + s * (1 - 2 * t),
                hy + s * 1.75 + np.abs(np.sin(t * 3 * np.pi)) * s * -0.3 + s * 0.15,
                strict=True,
            )
        )
        head(pen, arc(cx, hy, s, s, 180, 360) + hem, p, hy, s)  # head() takes a tint too
        fy = hy + s * 0.1
    elif body == "slime":
        t = np.linspace(0, 1, 40)
        base = list(
            zip(
                cx + s * 1.6 * (1 - 2 * t), hy + s * 1.45 + np.sin(t * 4 * np.pi) ** 2 * s * 0.14, strict=True
            )
        )
        pen.shape(
            arc(cx, hy + s * 0.55, s * 1.15, s * 1.35, 195, 345) + [(cx + s * 1.6, hy + s * 1.45)] + base, col
        )
        fy = hy + s * 0.5
    e = expression(p)
    L = features(pen, cx, fy, fr, e, p.get("lay", {}))
    if pose == "heart":
        pen.shape(heart(cx, hy + s * 1.35, s * 0.6), HEART)
        for k in (-1, 1):
            pen.shape(arc(cx + k * s * 0.55, hy + s * 1.25, s * 0.2, s * 0.16), col, width=w * 0.8)
    elif pose and shoulders:
        hands = {
            "up": [(-1.4, -0.9), (1.4, -0.9)],
            "down": [(-0.95, 2.0), (0.95, 2.0)],
            "cheeks": [(-0.78, 0.35), (0.78, 0.35)],
            "fists": [(-1.05, 0.55), (1.05, 0.55)],
            "wave": [(-0.95, 2.0), (1.35, -0.6)],
            "stop": [(-0.95, 2.0), (1.75, 0.9)],
        }[pose]
        limb = (w * 1.2, pen.ink) if body == "stick" else (s * 0.26, col)
        for (hx, hyy), sh in zip(hands, shoulders, strict=True):
            hand = (cx + hx * s, hy + hyy * s)
            bx, by = (0.45, 0.45) if pose in ("fists", "cheeks") else (0.55, 0.25) if hyy < 0 else (0, 0)
            elbow = (
                sh[0] + (hand[0] - sh[0]) * 0.5 + np.sign(hx) * s * bx,
                sh[1] + (hand[1] - sh[1]) * 0.5 + s * by,
            )
            arm = [sh, elbow, hand]
            if body != "stick":
                pen.line(arm, limb[0] + w * 2, pen.ink)
            pen.line(arm, limb[0], limb[1])
            hr = s * (0.3 if pose == "stop" and hx > 1 else 0.2)
            pen.shape(
                arc(hand[0], hand[1], hr, hr), col if body != "robot" else (120, 125, 140), width=w * 0.8
            )
        if pose == "wave":
            for k in (0, 1):
                pen.line(
                    arc(
                        cx + 1.35 * s,
                        hy - 0.6 * s,
                        s * (0.45 + 0.15 * k),
                        s * (0.45 + 0.15 * k),
                        -80,
                        -20,
                        10,
                    ),
                    w * 0.7,
                )
    extras(pen, cx, fy, fr, e, L, col)


def smooth_noise(rng, cells, n=W, aspect=1):
    a = (rng.random((cells * aspect, cells)) * 255).astype(np.uint8)
    return np.asarray(Image.fromarray(a).resize((n, n), Image.BICUBIC), float) / 127.5 - 1


def draw_photo(img, pen, p):
    """A photo-like picture (gradient, noise, blur, light) with a big caption word."""
    rng, yy = pen.rng, np.mgrid[0:W, 0:W][0] / W
    xx = yy.T
    top, bottom = np.array(p["top"], float), np.array(p["bottom"], float)
    rgb = top + (bottom - top) * yy[..., None]
    rgb += (smooth_noise(rng, 4) * 0.6 + smooth_noise(rng, 10) * 0.4)[..., None] * p.get("mottle", 22)
    bg = p["bg"]
    if bg in ("bokeh", "night", "rain"):  # soft out-of-focus lights, stars or drops
        layer = Image.new("L", (W, W), 0)
        d = ImageDraw.Draw(layer)
        count, size, blur = {"bokeh": (16, (20, 70), 10), "night": (50, (2, 6), 1), "rain": (40, (6, 18), 3)}[
            bg
        ]
        for _ in range(count):
            x, y, r = rng.uniform(0, W), rng.uniform(0, W * (0.6 if bg == "night" else 1)), rng.uniform(*size)
            d.ellipse((x - r, y - r, x + r, y + r), fill=int(rng.uniform(90, 230)))
        if bg == "rain":
            for _ in range(30):
                x, y = rng.uniform(0, W), rng.uniform(0, W)
                d.line((x, y, x - 20, y + 140), fill=int(rng.uniform(60, 140)), width=3)
        light = np.asarray(layer.filter(ImageFilter.GaussianBlur(blur)), float)[..., None] / 255
        rgb = rgb * (1 - light * 0.7) + np.array(p.get("light", (255, 240, 200))) * light * 0.7
    elif bg == "sky":
        cloud = np.clip(smooth_noise(rng, 5) * 1.6 - 0.1, 0, 1)[..., None]
        rgb = rgb * (1 - cloud * 0.85) + 255 * cloud * 0.85
    elif bg == "fire":
        flame = np.clip(smooth_noise(rng, 7, aspect=3) * 0.5 + 0.5 + (yy - 0.6) * 1.5, 0, 1)[..., None]
        rgb = rgb * (1 - flame) + np.array((255, 190, 60)) * flame
    elif bg == "dark":
        spot = np.exp(-(((xx - 0.65) ** 2 + (yy - 0.3) ** 2) / 0.03))[..., None]
        rgb = rgb + spot * 90
    elif bg == "room":  # a blurred window of light on a wall, a floor below
        rgb[int(W * 0.75) :] *= 0.7
        win = np.zeros((W, W))
        win[int(W * 0.1) : int(W * 0.5), int(W * 0.55) : int(W * 0.9)] = 1
        win = (
            np.asarray(
                Image.fromarray((win * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(14)), float
            )[..., None]
            / 255
        )
        rgb = rgb * (1 - win * 0.6) + 255 * win * 0.6
    if bg == "night":
        m = Image.new("L", (W, W), 0)
        d = ImageDraw.Draw(m)
        d.ellipse((70, 40, 170, 140), fill=255)
        d.ellipse((100, 25, 200, 125), fill=0)
        moon = np.asarray(m.filter(ImageFilter.GaussianBlur(2)), float)[..., None] / 255
        rgb = rgb * (1 - moon) + np.array((255, 230, 150)) * moon
    rgb *= (1 - 0.55 * ((xx - 0.5) ** 2 + (yy - 0.5) ** 2))[..., None]  # vignette
    img.paste(Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).convert("RGBA"))
    # the caption, fitted to the width, on its own layer so it can tilt
    text, size = p["caption"], p.get("size", 46)
    font = ImageFont.truetype(FONT, size * SS)
    while font.getlength(text) > W * 0.86:
        size -= 2
        font = ImageFont.truetype(FONT, size * SS)
    layer = Image.new("RGBA", (W, W), (0, 0, 0, 0))
    fg, stroke = p.get("fg", WHITE), p.get("stroke", (20, 20, 20))
    ImageDraw.Draw(layer).text(
        (W / 2, p.get("y", 64) * SS),
        text,
        font=font,
        fill=fg,
        anchor="mm",
        stroke_width=round(size * SS * 0.07),
        stroke_fill=stroke,
    )
    img.alpha_composite(layer.rotate(p.get("tilt", 0), Image.BICUBIC, center=(W / 2, p.get("y", 64) * SS)))


DRAWERS = {
    "drawn-face": draw_face,
    "hand-drawn": draw_doodle,
    "animal": draw_animal,
    "character": draw_character,
    "photo-caption": draw_photo,
}


# ---------------------------------------------------------------- frame, die-cut border, save


def dilate(a, n):
    for i in range(n):
        b = a.copy()
        b[1:] = np.maximum(b[1:], a[:-1])
        b[:-1] = np.maximum(b[:-1], a[1:])
        b[:, 1:] = np.maximum(b[:, 1:], a[:, :-1])
        b[:, :-1] = np.maximum(b[:, :-1], a[:, 1:])
        if i % 2:
            b[1:, 1:] = np.maximum(b[1:, 1:], a[:-1, :-1])
            b[:-1, :-1] = np.maximum(b[:-1, :-1], a[1:, 1:])
            b[1:, :-1] = np.maximum(b[1:, :-1], a[:-1, 1:])
            b[:-1, 1:] = np.maximum(b[:-1, 1:], a[1:, :-1])
        a = b
    return a


def die_cut(img, px):
    """A thick white sticker border with a faint shadow around whatever is drawn."""
    alpha = np.asarray(img.getchannel("A"), float)
    grown = dilate(alpha, round(px * SS))
    shadow = np.roll(grown, (SS * 2, SS), (0, 1)) * 0.25
    out = Image.new("RGBA", img.size, (0, 0, 0, 0))
    out.alpha_composite(
        Image.merge("RGBA", [Image.new("L", img.size, 60)] * 3 + [Image.fromarray(shadow.astype(np.uint8))])
    )
    out.alpha_composite(
        Image.merge("RGBA", [Image.new("L", img.size, 255)] * 3 + [Image.fromarray(grown.astype(np.uint8))])
    )
    out.alpha_composite(img)
    return out


def render(p):
    rng = np.random.default_rng(zlib.crc32(p["name"].encode()))
    img = Image.new("RGBA", (W, W), (0, 0, 0, 0))
    pen = Pen(img, rng, p.get("width", 2.5), p.get("ink", INK))
    DRAWERS[p["kind"]](img, pen, p)
    if p.get("sticker"):
        img = die_cut(img, p["sticker"])
    bg = p.get("bg_fill")
    if bg:  # a solid square or rounded tile behind the sticker
        back = Image.new("RGBA", (W, W), (0, 0, 0, 0))
        ImageDraw.Draw(back).rounded_rectangle((0, 0, W - 1, W - 1), radius=p.get("corner", 0) * SS, fill=bg)
        back.alpha_composite(img)
        img = back
    small = img.resize((SIZE, SIZE), Image.LANCZOS)
    if p["kind"] == "photo-caption":  # 64 levels a channel: keeps the PNG of a photo small
        a = np.asarray(small).copy()
        a[..., :3] = np.minimum(np.round(a[..., :3] / 4.0) * 4, 252)
        small = Image.fromarray(a, "RGBA")
    return small


# ---------------------------------------------------------------- the pictures


def S(stem, kind, mood, emotion, fine, intent, description, **p):
    return dict(
        stem=stem,
        kind=kind,
        mood=mood,
        emotion=emotion,
        fine=fine,
        intent=intent,
        description=description,
        **p,
    )


H, SA, AN, FE, SU, DI, NE = "Happiness", "Sadness", "Anger", "Fear", "Surprise", "Disgust", "Neutral"
# fmt: off
SPECS = [
    # --- Happiness: laughing, grinning, love, party
    S("laugh-face", "drawn-face", "laugh", H, "funny", "amusement", "a peach round face laughing with eyes squeezed shut, a wide open mouth and tears of joy", skin=PEACH, width=3),
    S("grin-face", "drawn-face", "grin", H, "smiling", None, "a light blue blob face with happy curved eyes, a big open grin and pink cheeks, in a thick white sticker border", form="blob", skin=SKY, r=38, sticker=4, ink=(30, 40, 90)),
    S("love-face", "drawn-face", "love", H, "intimate", "affection", "a pink rounded-square face without an outline, with red heart eyes, a smile, blush and floating hearts", form="squircle", skin=PINK, outline=False, r=36, cx=60, cy=70, ink=(110, 30, 70)),
    S("party-face", "drawn-face", "party", H, "excited", "excitement", "a mint green face in a striped party hat, grinning with happy eyes among confetti", skin=MINT, cy=78, r=36, width=2),
    S("laugh-doodle", "hand-drawn", "laugh", H, "funny", "amusement", "a wobbly pencil doodle of a face laughing so hard it cries, eyes squeezed shut and mouth wide open", width=2.4, sketch=True),
    S("love-doodle", "hand-drawn", "love", H, "intimate", "affection", "a wobbly marker doodle of a pink face with heart eyes, scribbled blush and hearts around it", fill="marker", skin=PINK, ink=INK, r=36, cx=60, cy=72, sticker=3),
    S("happy-doodle", "hand-drawn", "smile", H, "smiling", None, "an orange crayon doodle of a smiling face with closed happy eyes and sparkles", fill="hatch", skin=ORANGE, add=("sparkles",), r=38, ink=(120, 60, 20)),
    S("laugh-cat", "animal", "laugh", H, "funny", "amusement", "a white cartoon cat laughing with eyes squeezed shut, mouth wide open and tears of joy", species="cat", skin=WHITE),
    S("love-bear", "animal", "love", H, "intimate", "affection", "a brown bear with heart eyes, rosy cheeks and little hearts", species="bear", skin=BROWN, r=36),
    S("happy-dog", "animal", "grin", H, "smiling", None, "a cream puppy with floppy brown ears, happy closed eyes and an open smile, in a white sticker border", species="dog", skin=CREAM, sticker=4, r=36),
    S("party-bean", "character", "party", H, "excited", "excitement", "a little orange bean character with both arms up, in a party hat, grinning in confetti", body="bean", skin=ORANGE, pose="up", cy=48, s=22),
    S("wave-kid", "character", "smile", H, "smiling", "greeting", "a cartoon kid with brown hair and a blue shirt, smiling and waving hello", body="kid", skin=PEACH, pose="wave", cy=38, s=23),
    S("love-ghost", "character", "love", H, "intimate", "affection", "a small white ghost with heart eyes and blush, hugging a red heart", body="ghost", skin=(248, 248, 255), pose="heart", cy=48, s=28, expr=dict(extras=("blush",))),
    S("laugh-photo", "photo-caption", None, H, "funny", "amusement", "a photo-like warm blurry bokeh background with the caption LOL in big white letters", caption="LOL", bg="bokeh", top=(90, 50, 30), bottom=(200, 120, 60), size=60),
    S("yay-photo", "photo-caption", None, H, "excited", "excitement", "a photo-like sunny blue sky with clouds and the caption yay! in big yellow letters", caption="yay!", bg="sky", top=(60, 130, 230), bottom=(150, 200, 255), fg=(255, 215, 40), stroke=(120, 60, 0), tilt=8),
    # --- Sadness: crying, sad, lonely, sorry
    S("cry-face", "drawn-face", "cry", SA, "crying", "sadness", "a white round face wailing with eyes squeezed shut, worried brows and two streams of blue tears", skin=WHITE, width=2.8),
    S("sad-face", "drawn-face", "sad", SA, "sad", "sadness", "a lilac blob face with sad brows, big watery eyes, a frown and one tear", form="blob", skin=LILAC, outline=False, ink=(60, 40, 100)),
    S("sad-face", "drawn-face", "sad", SA, "sad", "sadness", "a grey rounded-square face with a small rain cloud above it, frowning with sad brows", form="squircle", skin=GREY, cy=80, r=34, expr=dict(eyes="dot", extras=("rain_cloud",)), bg_fill=(235, 240, 250, 255), corner=20),
    S("cry-doodle", "hand-drawn", "cry", SA, "crying", "sadness", "a wobbly blue-pen doodle of a face bawling, eyes squeezed shut, mouth open and tears streaming down", ink=BLUE_PEN, width=2),
    S("sad-doodle", "hand-drawn", "sad", SA, "sad", "loneliness", "a tiny lonely pencil doodle face alone in a corner, frowning with a tear", fill="none", cx=38, cy=88, r=25, width=1.8, wobble=1.2, sticker=3),
    S("cry-cat", "animal", "cry", SA, "crying", "sadness", "a grey cartoon cat crying with eyes shut, mouth open and blue tears", species="cat", skin=GREY),
    S("sad-dog", "animal", "sad", SA, "sad", "sadness", "a tan puppy with droopy ears, sad brows, watery eyes, a frown and a tear", species="dog", skin=TAN),
    S("cry-bunny", "animal", "cry", SA, "crying", "sadness", "a white-pink bunny crying with two streams of tears, in a white sticker border", species="bunny", skin=(255, 236, 240), cy=78, r=32, sticker=4),
    S("sad-slime", "character", "sad", SA, "sad", "sadness", "a melting blue slime blob with sad brows, watery eyes, a frown and a tear", body="slime", skin=(120, 180, 250), cy=56, s=28),
    S("cry-kid", "character", "cry", SA, "crying", "sadness", "a cartoon kid in a yellow shirt crying with arms down and tears streaming", body="kid", skin=(240, 190, 150), shirt=(250, 210, 80), pose="down", cy=38, s=23),
    S("nooo-photo", "photo-caption", None, SA, "crying", "sadness", "a photo-like grey-blue rainy window with the caption NOOO", caption="NOOO", bg="rain", top=(70, 85, 110), bottom=(120, 135, 160), light=(200, 215, 235)),
    S("sorry-photo", "photo-caption", None, SA, "sorry", "apology", "a photo-like dim beige room with soft window light and the caption sorry in small dark letters", caption="sorry", bg="room", top=(150, 130, 115), bottom=(200, 180, 160), fg=(70, 60, 90), stroke=(245, 240, 235), size=34, y=84),
    # --- Anger
    S("angry-face", "drawn-face", "angry", AN, "angry", "anger", "a red round face with angry brows, gritted teeth, an anger mark and steam puffs, in a white sticker border", skin=RED, r=38, cy=70, sticker=4),
    S("angry-face", "drawn-face", "angry", AN, "angry", "anger", "an orange rounded-square face turning red at the top, with angry brows, a frown and steam", form="squircle", skin=ORANGE, tint=(225, 40, 40), r=36, cy=72, expr=dict(mouth="frown", extras=("steam",)), width=3.5),
    S("angry-face", "drawn-face", "angry", AN, "angry", "anger", "a pink blob face flushed red, with thick angry brows, gritted teeth and an anger mark", form="blob", skin=PINK, tint=(230, 60, 60), expr=dict(extras=("vein",)), width=2, bg_fill=(255, 240, 200, 255)),
    S("angry-doodle", "hand-drawn", "angry", AN, "angry", "anger", "a wobbly pencil doodle of an angry face with slanted brows, a frown and a red scribble above its head", cy=76, r=36, expr=dict(mouth="frown", extras=("scribble",))),
    S("angry-doodle", "hand-drawn", "angry", AN, "angry", "anger", "a red marker doodle of a furious face with gritted teeth and steam", fill="marker", skin=(245, 80, 70), ink=INK, r=38, cy=70, expr=dict(extras=("steam",))),
    S("angry-cat", "animal", "angry", AN, "angry", "anger", "an orange cat gone red with anger, angry brows, gritted teeth and an anger mark", species="cat", skin=ORANGE, tint=(220, 40, 40), expr=dict(extras=("vein",))),
    S("angry-pig", "animal", "angry", AN, "angry", "anger", "a pink pig fuming, with angry brows, a frown and steam puffs", species="pig", skin=(250, 170, 180), tint=(230, 70, 80), expr=dict(mouth="frown", extras=("steam",)), sticker=3, r=34),
    S("angry-robot", "character", "angry", AN, "angry", "anger", "a grey robot with angry brows, gritted teeth, an anger mark and steam, shaking its fists", body="robot", skin=(205, 210, 222), pose="fists", cy=44, s=24),
    S("angry-kid", "character", "angry", AN, "angry", "anger", "a cartoon kid with a red face, angry brows, gritted teeth, an anger mark and raised fists", body="kid", skin=(245, 120, 100), pose="fists", cy=38, s=23, hair=(40, 30, 30), shirt=(120, 200, 120), expr=dict(extras=("vein",))),
    S("ugh-photo", "photo-caption", None, AN, "dissatisfied", "frustration", "a photo-like grey overcast background with the caption ugh", caption="ugh", bg="sky", top=(110, 110, 120), bottom=(160, 160, 165), fg=(240, 70, 60), stroke=(30, 30, 30), size=56),
    S("grr-photo", "photo-caption", None, AN, "angry", "anger", "a photo-like fiery red and orange background with the caption GRRR", caption="GRRR", bg="fire", top=(120, 10, 10), bottom=(230, 60, 20), tilt=-6),
    # --- Fear
    S("scared-face", "drawn-face", "scared", FE, "afraid", "fear", "a face gone pale blue, screaming with hands on its cheeks, tiny pupils, worried brows and a sweat drop", skin=PEACH, tint=PALE, tint_to=0.5),
    S("nervous-face", "drawn-face", "nervous", FE, "afraid", "nervousness", "a white blob face with wide eyes, worried brows, a wavy mouth, a sweat drop and trembling lines", form="blob", skin=WHITE, r=36, sticker=3),
    S("scared-face", "drawn-face", "scared", FE, "afraid", "fear", "a lilac rounded-square face with blue gloom lines on its forehead, wide eyes and a screaming mouth", form="squircle", skin=LILAC, tint=(120, 110, 220), tint_to=-0.3, r=38, expr=dict(extras=("gloom", "sweat")), width=2),
    S("scared-doodle", "hand-drawn", "scared", FE, "afraid", "fear", "a wobbly pencil doodle of a terrified face screaming with hands on its cheeks", r=38, sketch=True),
    S("nervous-doodle", "hand-drawn", "nervous", FE, "afraid", "nervousness", "a blue crayon doodle of a nervous face with wide eyes, a wavy mouth, sweat and shaking lines", fill="hatch", skin=SKY, deg=-30, r=36, ink=BLUE_PEN),
    S("scared-cat", "animal", "scared", FE, "afraid", "fear", "a grey-and-blue cat frozen with fear: wide eyes with tiny pupils, worried brows, a screaming mouth and paws on its cheeks", species="cat", skin=(220, 220, 230), tint=(130, 140, 230), tint_to=0.2),
    S("scared-mouse", "animal", "nervous", FE, "afraid", "fear", "a grey mouse trembling with wide eyes, worried brows, a wavy mouth and a sweat drop", species="mouse", skin=GREY, sticker=3, r=34, cy=72),
    S("scared-kid", "character", "scared", FE, "afraid", "fear", "a cartoon kid screaming in fear with hands on its cheeks, wide eyes and a pale face", body="kid", skin=(215, 225, 255), pose="cheeks", cy=40, s=24, expr=dict(extras=("sweat",))),
    S("scared-bean", "character", "nervous", FE, "afraid", "nervousness", "a pale green bean character trembling, wide eyes, worried brows, a wavy mouth, sweat and shaking lines", body="bean", skin=(200, 235, 210), pose="down", cy=46, s=22),
    S("help-photo", "photo-caption", None, FE, "afraid", "fear", "a photo-like dark night scene with a dim light and the caption HELP", caption="HELP", bg="dark", top=(10, 10, 25), bottom=(30, 25, 45), fg=(235, 235, 255), stroke=(120, 0, 20), mottle=10),
    S("eek-photo", "photo-caption", None, FE, "afraid", "fear", "a photo-like dark purple background with blurry lights and the caption eek!", caption="eek!", bg="bokeh", top=(30, 10, 50), bottom=(60, 20, 80), light=(160, 120, 255), tilt=-10, fg=(200, 255, 200)),
    # --- Surprise
    S("surprised-face", "drawn-face", "surprised", SU, "shocked", "surprise", "a mint face with raised brows, round eyes, an open O mouth and a red exclamation mark", skin=MINT),
    S("surprised-face", "drawn-face", "surprised", SU, "shocked", "surprise", "an orange blob face with high raised brows, round eyes and a big O mouth, in a white sticker border", form="blob", skin=ORANGE, r=38, sticker=4, expr=dict(extras=("exclaim2",))),
    S("surprised-face", "drawn-face", "surprised", SU, "shocked", "surprise", "a pink rounded-square face with raised brows, open eyes, a small O mouth and a red !?", form="squircle", skin=PINK, r=36, expr=dict(eyes="open", mouth="o_small", extras=("interrobang",)), bg_fill=(255, 250, 220, 255), corner=24),
    S("surprised-doodle", "hand-drawn", "surprised", SU, "shocked", "surprise", "a wobbly pencil doodle of a surprised face with raised brows, round eyes, an O mouth and exclamation marks", expr=dict(extras=("exclaim2",)), r=38),
    S("surprised-doodle", "hand-drawn", "surprised", SU, "shocked", "surprise", "a green crayon doodle of a surprised face with raised brows and an open O mouth", fill="hatch", skin=GREEN, ink=(40, 90, 40), r=40),
    S("surprised-bunny", "animal", "surprised", SU, "shocked", "surprise", "a brown bunny with ears up, raised brows, round eyes, an O mouth and an exclamation mark", species="bunny", skin=TAN, cy=80, r=32),
    S("surprised-frog", "animal", "surprised", SU, "shocked", "surprise", "a green frog with raised brows, big round eyes and an O mouth", species="frog", skin=GREEN, cy=76, r=38, expr=dict(extras=())),
    S("surprised-stick", "character", "surprised", SU, "shocked", "surprise", "a stick figure jumping with arms up, raised brows, round eyes and an O mouth", body="stick", skin=WHITE, pose="up", legs="jump", cy=36, s=22, width=2.2, expr=dict(extras=())),
    S("surprised-robot", "character", "surprised", SU, "shocked", "surprise", "a blue robot throwing its hands up, with raised brows, round eyes and an O mouth", body="robot", skin=(170, 205, 245), pose="up", cy=46, s=22, expr=dict(extras=())),
    S("wow-photo", "photo-caption", None, SU, "shocked", "surprise", "a photo-like pink and purple sky with the caption wow", caption="wow", bg="sky", top=(120, 80, 200), bottom=(255, 150, 170), size=60),
    S("omg-photo", "photo-caption", None, SU, "shocked", "surprise", "a photo-like blue bokeh background with the caption OMG", caption="OMG", bg="bokeh", top=(20, 40, 90), bottom=(40, 90, 150), light=(180, 220, 255), fg=(255, 240, 80)),
    # --- Disgust
    S("disgusted-face", "drawn-face", "disgusted", DI, "disgusted", "disgust", "a green face with half-closed eyes, one brow down and one up, a tongue sticking out and stink lines", skin=GREEN),
    S("disgusted-face", "drawn-face", "disgusted", DI, "disgusted", "disgust", "an olive blob face with half-closed eyes, a wavy grimace, a sweat drop and stink lines", form="blob", skin=OLIVE, expr=dict(mouth="wavy", extras=("sweat", "stink")), width=3.2),
    S("disgusted-face", "drawn-face", "disgusted", DI, "disgusted", "disgust", "a cream rounded-square face turning green, eyes squeezed shut and tongue out going blegh", form="squircle", skin=CREAM, tint=SICK, tint_to=0.1, r=38, expr=dict(eyes="squeeze", extras=()), sticker=3),
    S("disgusted-doodle", "hand-drawn", "disgusted", DI, "disgusted", "disgust", "a green marker doodle of a grossed-out face with half-closed eyes, skeptical brows and tongue out", fill="marker", skin=(150, 200, 90), ink=INK, expr=dict(extras=())),
    S("disgusted-doodle", "hand-drawn", "disgusted", DI, "disgusted", "disgust", "a wobbly pencil doodle of a disgusted face with half-closed eyes, a wavy mouth and green stink lines", expr=dict(mouth="wavy"), cx=70, r=38),
    S("disgusted-cat", "animal", "disgusted", DI, "disgusted", "disgust", "a white cat turning green with half-closed eyes, tongue out and stink lines", species="cat", skin=WHITE, tint=SICK, tint_to=0.3),
    S("disgusted-dog", "animal", "disgusted", DI, "disgusted", "disgust", "a brown dog smelling something bad: eyes squeezed shut, tongue out and green stink lines", species="dog", skin=(190, 140, 100), expr=dict(eyes="squeeze"), cx=70),
    S("disgusted-bean", "character", "disgusted", DI, "disgusted", "disgust", "a green bean character holding a hand out to say no, tongue out and stink lines", body="bean", skin=(160, 210, 120), pose="stop", cx=58, cy=48, s=22),
    S("disgusted-ghost", "character", "disgusted", DI, "disgusted", "disgust", "a pale ghost going green, with half-closed eyes, skeptical brows, its tongue out and stink lines", body="ghost", skin=(235, 250, 230), tint=SICK, cx=68, cy=48, s=28),
    S("ew-photo", "photo-caption", None, DI, "disgusted", "disgust", "a photo-like murky green-brown background with the caption ew", caption="ew", bg="bokeh", top=(60, 80, 30), bottom=(110, 100, 40), light=(170, 200, 80), fg=(170, 230, 90), size=64),
    S("yuck-photo", "photo-caption", None, DI, "disgusted", "disgust", "a photo-like slimy green background with the caption yuck", caption="yuck", bg="sky", top=(90, 130, 60), bottom=(60, 90, 40), fg=(255, 255, 255), stroke=(60, 110, 20), tilt=5),
    # --- Neutral: sleepy, calm, meh, confused
    S("sleepy-face", "drawn-face", "sleepy", NE, None, "tiredness", "a lilac face asleep with closed eyes, a small open mouth and blue Zzz", skin=LILAC, cx=56, cy=72, r=40),
    S("sleepy-face", "drawn-face", "sleepy", NE, None, "tiredness", "a grey blob face dozing off with half-closed eyes, a flat mouth, a snot bubble and Zzz", form="blob", skin=GREY, cx=58, cy=70, r=40, expr=dict(eyes="half", mouth="flat", extras=("bubble", "zzz"))),
    S("calm-face", "drawn-face", "calm", NE, None, None, "a white rounded-square face with plain dot eyes and a straight mouth on a light blue tile", form="squircle", skin=WHITE, r=38, bg_fill=(190, 225, 255, 255), corner=22),
    S("meh-face", "drawn-face", "meh", NE, "perfunctory", None, "a tan face looking bored, with half-closed eyes, flat brows, a straight mouth and three dots", skin=TAN, cx=56, cy=72, r=38, width=2),
    S("sleepy-doodle", "hand-drawn", "sleepy", NE, None, "tiredness", "a wobbly pencil doodle of a sleeping face with closed eyes and Zzz", cx=56, cy=72, r=38, sketch=True),
    S("calm-doodle", "hand-drawn", "calm", NE, None, None, "a grey marker doodle of a calm face with dot eyes and a straight mouth", fill="marker", skin=(200, 200, 205), ink=INK, r=40),
    S("confused-doodle", "hand-drawn", "confused", NE, "confused", "question", "a wobbly blue-pen doodle of a puzzled face with one brow raised, a wavy mouth and a question mark", ink=BLUE_PEN, cx=56, cy=72, r=38),
    S("sleepy-cat", "animal", "sleepy", NE, None, "good_night", "a cream cat in a blue nightcap, asleep with closed eyes and Zzz under a crescent moon", species="cat", skin=CREAM, cy=76, r=34, expr=dict(extras=("nightcap", "zzz", "moon"))),
    S("calm-bear", "animal", "calm", NE, None, None, "a white polar bear with a calm face: dot eyes and a straight mouth", species="bear", skin=(245, 245, 250), sticker=3, r=36),
    S("sleepy-ghost", "character", "sleepy", NE, None, "tiredness", "a lavender ghost floating asleep with closed eyes, a small open mouth and Zzz", body="ghost", skin=(225, 215, 250), cx=58, cy=52, s=26),
    S("calm-robot", "character", "calm", NE, None, None, "a grey robot standing still with arms down, plain dot eyes and a straight mouth", body="robot", skin=(200, 205, 215), pose="down", cy=44, s=24),
    S("meh-photo", "photo-caption", None, NE, "perfunctory", None, "a photo-like plain grey-beige wall with the caption meh", caption="meh", bg="room", top=(170, 165, 155), bottom=(150, 145, 140), fg=(250, 250, 250), stroke=(90, 90, 90), size=50),
    S("goodnight-photo", "photo-caption", None, NE, None, "good_night", "a photo-like dark blue night sky with stars, a crescent moon and the caption good night", caption="good night", bg="night", top=(10, 15, 50), bottom=(40, 50, 110), light=(255, 255, 230), y=92, fg=(255, 240, 190), stroke=(20, 20, 60)),
]
# fmt: on


def main() -> None:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for old in OUT_DIR.glob("*.png"):
        old.unlink()
    seen: dict[str, int] = {}
    rows = []
    for p in SPECS:
        seen[p["stem"]] = seen.get(p["stem"], 0) + 1
        p["name"] = f"{p['stem']}-{seen[p['stem']]:02d}.png"
        assert p["emotion"] in EMOTIONS and p["kind"] in KINDS, p["name"]
        assert p["fine"] is None or p["fine"] in FINE_EMOTIONS, p["name"]
        assert p["intent"] is None or p["intent"] in INTENTS, p["name"]
        path = OUT_DIR / p["name"]
        render(p).save(path, optimize=True)
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
