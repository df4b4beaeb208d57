"""Draw the test pictures of the reply evaluation sets into assets/eval/images/.

    .venv/bin/python scripts/make_eval_images.py     # (or python3 with Pillow)

assets/eval/replies_heldout.jsonl and assets/eval/replies_dev.jsonl reference these PNGs from
their `sticker` field: `new_caption` pictures (words the bundled library does not have, big and
clear on a plain background, some with a simple face) and `unknown` pictures (no words: faces,
a cat, a sunset, drawn with flat shapes and wobbly marker-like outlines, on purpose unlike the
library's glossy 3D emoji). Every picture is at most 240x240 and a few KB.

Needs Pillow and a CJK font for the Chinese captions: Debian's fonts-wqy-zenhei
(`apt-get install -y fonts-wqy-zenhei`, /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc); the script
stops with a clear message when the font file is missing. The output is deterministic (each
picture has its own fixed seed for the hand-drawn wobble) and the script writes exactly the
pictures listed in IMAGES below, then checks that the two JSONL files reference exactly those.
"""

from __future__ import annotations

import json
import math
import random
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
EVAL_DIR = ROOT / "assets" / "eval"
OUT_DIR = EVAL_DIR / "images"
FONT_PATH = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
SIZE = 240
INK = (40, 36, 48)

# name -> (kind, spec). Caption pictures: text, background, text colour, optional face.
# Unknown pictures: the drawing function and its colours.
IMAGES: dict[str, dict] = {
    # held-out, English captions
    "hc_nailed_it": {"text": "nailed it", "bg": (255, 214, 92), "fg": (255, 255, 255), "face": "proud"},
    "hc_ty_bestie": {"text": "ty bestie", "bg": (255, 196, 214), "fg": (255, 255, 255), "face": "smile"},
    "hc_im_dead": {"text": "i'm dead", "bg": (190, 226, 255), "fg": (255, 255, 255), "face": "lol"},
    "hc_gm_sunshine": {"text": "gm sunshine", "bg": (255, 236, 150), "fg": (255, 140, 40), "face": "sun"},
    "hc_send_help": {"text": "send help", "bg": (214, 214, 214), "fg": (255, 255, 255), "face": "dizzy"},
    "hc_party_of_one": {"text": "party of one", "bg": (120, 110, 170), "fg": (255, 255, 255), "face": "meh"},
    "hc_whyyy": {"text": "whyyy", "bg": (255, 170, 120), "fg": (255, 255, 255), "face": "wail"},
    "hc_my_bad": {"text": "my bad", "bg": (200, 240, 200), "fg": (40, 110, 60), "face": "sheepish"},
    # held-out, Chinese captions
    "hc_zh_nanie": {"text": "拿捏了", "bg": (255, 224, 120), "fg": (200, 40, 40), "face": "proud"},
    "hc_zh_haoye": {"text": "好耶", "bg": (255, 180, 200), "fg": (255, 255, 255), "face": "yay"},
    "hc_zh_xiexielaoban": {"text": "谢谢老板", "bg": (255, 90, 80), "fg": (255, 230, 120), "face": None},
    "hc_zh_xiaobuhuole": {"text": "笑不活了", "bg": (200, 235, 255), "fg": (30, 90, 200), "face": "lol"},
    "hc_zh_zaima": {"text": "在吗", "bg": (255, 255, 255), "fg": (30, 30, 30), "face": "peek"},
    "hc_zh_liekai": {"text": "裂开", "bg": (170, 200, 230), "fg": (255, 255, 255), "face": "cracked"},
    "hc_zh_shesi": {"text": "社死", "bg": (235, 235, 235), "fg": (200, 30, 60), "face": "blush"},
    "hc_zh_guagua": {"text": "孤寡", "bg": (90, 100, 130), "fg": (255, 255, 255), "face": "meh"},
    "hc_zh_wodeguo": {"text": "我的锅", "bg": (255, 240, 210), "fg": (120, 70, 30), "face": "sheepish"},
    # held-out, pictures without words
    "hu_star_eyes": {"draw": "face", "skin": (255, 220, 80), "eyes": "star", "mouth": "open_smile"},
    "hu_heart_eyes": {"draw": "face", "skin": (255, 190, 200), "eyes": "heart", "mouth": "smile"},
    "hu_sleepy": {
        "draw": "face",
        "skin": (190, 220, 255),
        "eyes": "closed",
        "mouth": "small_o",
        "extra": ["moon"],
    },
    "hu_sweat": {
        "draw": "face",
        "skin": (250, 245, 225),
        "eyes": "dot_wide",
        "mouth": "zigzag",
        "extra": ["sweat"],
    },
    "hu_crying": {
        "draw": "face",
        "skin": (255, 255, 255),
        "eyes": "closed_sad",
        "mouth": "wail",
        "extra": ["tear_streams"],
    },
    "hu_sick": {"draw": "face", "skin": (170, 220, 140), "eyes": "squeeze", "mouth": "wavy_tongue"},
    "hu_blush_hearts": {
        "draw": "face",
        "skin": (255, 235, 215),
        "eyes": "happy_arc",
        "mouth": "smile",
        "extra": ["blush", "float_hearts"],
    },
    "hu_sleepy_moon": {
        "draw": "face",
        "skin": (215, 200, 250),
        "eyes": "closed",
        "mouth": "smile",
        "extra": ["pillow", "moon"],
    },
    "hu_nervous_wobble": {
        "draw": "face",
        "skin": (255, 240, 170),
        "eyes": "dot_wide",
        "mouth": "bite",
        "extra": ["sweat3"],
    },
    "hu_green_sick": {
        "draw": "face",
        "skin": (190, 230, 170),
        "eyes": "swirl",
        "mouth": "puffed",
        "extra": ["cheeks_puffed"],
    },
    "hu_cat": {"draw": "cat"},
    "hu_sunset": {"draw": "sunset"},
    # dev, English captions
    "dc_wheezing": {"text": "help im wheezing", "bg": (255, 230, 120), "fg": (255, 255, 255), "face": "lol"},
    "dc_bruh": {"text": "bruh", "bg": (160, 160, 170), "fg": (255, 255, 255), "face": "meh"},
    "dc_hide_me": {"text": "hide me", "bg": (255, 200, 190), "fg": (255, 255, 255), "face": "blush"},
    # dev, Chinese captions
    "dc_zh_chongchongchong": {"text": "冲冲冲", "bg": (255, 120, 90), "fg": (255, 255, 255), "face": "yay"},
    "dc_zh_shuijiaojiao": {"text": "睡觉觉", "bg": (60, 70, 130), "fg": (255, 240, 170), "face": "sleep"},
    # dev, pictures without words
    "du_party": {
        "draw": "face",
        "skin": (255, 190, 110),
        "eyes": "happy_arc",
        "mouth": "open_smile",
        "extra": ["party_hat", "confetti"],
    },
    "du_hearts": {
        "draw": "face",
        "skin": (255, 200, 220),
        "eyes": "wink",
        "mouth": "kiss",
        "extra": ["blown_heart"],
    },
    "du_moon": {"draw": "moon_night"},
    "du_zh_crying": {
        "draw": "face",
        "skin": (245, 235, 225),
        "eyes": "dot_teary",
        "mouth": "tremble",
        "extra": ["tear_drops"],
    },
    "du_zh_lonely_cat": {"draw": "lonely_cat"},
}


def _die(msg: str) -> None:
    print(f"make_eval_images: {msg}", file=sys.stderr)
    sys.exit(1)


def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT_PATH), size)


def _seed(name: str) -> int:
    return sum((i + 1) * ord(c) for i, c in enumerate(name))


# ---- hand-drawn primitives ------------------------------------------------------------------


def wobbly_ellipse(d, rng, cx, cy, rx, ry, fill, outline=INK, width=5, wobble=2.5):
    pts = []
    phase = rng.uniform(0, math.tau)
    wobble = min(wobble, 0.05 * max(rx, ry))  # small shapes (eyes, cheeks) stay round
    for i in range(48):
        t = math.tau * i / 48
        k = 1 + wobble / max(rx, ry) * math.sin(3 * t + phase) + rng.uniform(-0.012, 0.012)
        pts.append((cx + rx * k * math.cos(t), cy + ry * k * math.sin(t)))
    if fill is not None:
        d.polygon(pts, fill=fill)
    if outline is not None:
        d.line(pts + pts[:2], fill=outline, width=width, joint="curve")


def wobbly_line(d, rng, pts, fill=INK, width=5, jitter=1.2):
    pts = [(x + rng.uniform(-jitter, jitter), y + rng.uniform(-jitter, jitter)) for x, y in pts]
    d.line(pts, fill=fill, width=width, joint="curve")


def arc_pts(cx, cy, rx, ry, a0, a1, n=20):
    return [
        (
            cx + rx * math.cos(math.radians(a0 + (a1 - a0) * i / n)),
            cy + ry * math.sin(math.radians(a0 + (a1 - a0) * i / n)),
        )
        for i in range(n + 1)
    ]


def heart_pts(cx, cy, s):
    pts = []
    for i in range(40):
        t = math.tau * i / 40
        x = 16 * math.sin(t) ** 3
        y = 13 * math.cos(t) - 5 * math.cos(2 * t) - 2 * math.cos(3 * t) - math.cos(4 * t)
        pts.append((cx + x * s / 16, cy - y * s / 16))
    return pts


def star_pts(cx, cy, r):
    pts = []
    for i in range(10):
        rr = r if i % 2 == 0 else r * 0.45
        t = -math.pi / 2 + math.pi * i / 5
        pts.append((cx + rr * math.cos(t), cy + rr * math.sin(t)))
    return pts


def drop_pts(cx, cy, r):
    pts = [(cx, cy - 2.2 * r)]
    pts += arc_pts(cx, cy, r, r, -20, 200, 16)
    return pts


# ---- faces -----------------------------------------------------------------------------------


def draw_eyes(d, rng, kind, cx, cy, s):
    """Eyes of a face centred at (cx, cy) with radius s."""
    ex, ey = s * 0.36, cy - s * 0.15
    w = max(3, int(s / 16))
    for side in (-1, 1):
        x = cx + side * ex
        if kind == "dot":
            wobbly_ellipse(d, rng, x, ey, s * 0.07, s * 0.09, INK, None)
        elif kind == "dot_wide":
            wobbly_ellipse(d, rng, x, ey, s * 0.13, s * 0.15, (255, 255, 255), INK, w)
            wobbly_ellipse(d, rng, x, ey + s * 0.02, s * 0.05, s * 0.05, INK, None)
        elif kind == "dot_teary":
            wobbly_ellipse(d, rng, x, ey, s * 0.1, s * 0.12, INK, None)
            wobbly_ellipse(d, rng, x - s * 0.03, ey - s * 0.04, s * 0.035, s * 0.035, (255, 255, 255), None)
        elif kind == "closed":
            wobbly_line(d, rng, arc_pts(x, ey, s * 0.13, s * 0.08, 10, 170), width=w)
        elif kind == "closed_sad":
            wobbly_line(d, rng, arc_pts(x, ey + s * 0.05, s * 0.13, s * 0.08, 190, 350), width=w)
        elif kind == "happy_arc":
            wobbly_line(d, rng, arc_pts(x, ey + s * 0.04, s * 0.13, s * 0.1, 190, 350), width=w)
        elif kind == "squeeze":
            wobbly_line(
                d,
                rng,
                [
                    (x - side * s * 0.12, ey - s * 0.08),
                    (x + side * s * 0.08, ey),
                    (x - side * s * 0.12, ey + s * 0.08),
                ],
                width=w,
            )
        elif kind == "star":
            d.polygon(star_pts(x, ey, s * 0.17), fill=(255, 120, 40), outline=INK)
        elif kind == "heart":
            d.polygon(heart_pts(x, ey, s * 0.17), fill=(230, 40, 70), outline=INK)
        elif kind == "swirl":
            pts = [
                (x + s * 0.014 * i * math.cos(i * 0.6), ey + s * 0.014 * i * math.sin(i * 0.6))
                for i in range(16)
            ]
            wobbly_line(d, rng, pts, width=max(2, w - 1), jitter=0.4)
        elif kind == "wink":
            if side < 0:
                wobbly_line(
                    d,
                    rng,
                    [(x - s * 0.12, ey - s * 0.06), (x + s * 0.08, ey), (x - s * 0.12, ey + s * 0.06)],
                    width=w,
                )
            else:
                wobbly_ellipse(d, rng, x, ey, s * 0.07, s * 0.1, INK, None)


def draw_mouth(d, rng, kind, cx, cy, s):
    my = cy + s * 0.32
    w = max(3, int(s / 16))
    if kind == "smile":
        wobbly_line(d, rng, arc_pts(cx, my - s * 0.1, s * 0.28, s * 0.16, 20, 160), width=w)
    elif kind == "open_smile":
        pts = arc_pts(cx, my - s * 0.12, s * 0.32, s * 0.3, 0, 180)
        d.polygon(pts, fill=(150, 40, 50))
        d.polygon(arc_pts(cx, my + s * 0.08, s * 0.16, s * 0.08, 180, 360), fill=(240, 110, 120))
        wobbly_line(d, rng, pts + pts[:1], width=w)
    elif kind == "small_o":
        wobbly_ellipse(d, rng, cx, my, s * 0.07, s * 0.06, (150, 40, 50), INK, w - 1)
    elif kind == "zigzag":
        pts = [(cx - s * 0.3 + i * s * 0.075, my + (s * 0.05 if i % 2 else -s * 0.05)) for i in range(9)]
        wobbly_line(d, rng, pts, width=w)
    elif kind == "wail":
        wobbly_ellipse(d, rng, cx, my, s * 0.22, s * 0.17, (150, 40, 50), INK, w)
    elif kind == "wavy_tongue":
        pts = [(cx - s * 0.3 + i * s * 0.05, my + s * 0.05 * math.sin(i * 1.2)) for i in range(13)]
        d.polygon(arc_pts(cx + s * 0.05, my + s * 0.06, s * 0.1, s * 0.14, 0, 180), fill=(240, 110, 130))
        wobbly_line(d, rng, pts, width=w)
    elif kind == "bite":
        wobbly_line(d, rng, [(cx - s * 0.25, my), (cx + s * 0.25, my)], width=w)
        for i in range(3):
            x = cx - s * 0.12 + i * s * 0.12
            d.rectangle(
                [x - s * 0.04, my - s * 0.01, x + s * 0.04, my + s * 0.08],
                fill=(255, 255, 255),
                outline=INK,
                width=2,
            )
    elif kind == "puffed":
        wobbly_ellipse(d, rng, cx, my, s * 0.12, s * 0.1, (120, 170, 90), INK, w)
    elif kind == "kiss":
        wobbly_line(d, rng, arc_pts(cx, my - s * 0.05, s * 0.07, s * 0.06, -90, 90), width=w)
        wobbly_line(d, rng, arc_pts(cx, my + s * 0.07, s * 0.07, s * 0.06, -90, 90), width=w)
    elif kind == "tremble":
        pts = [
            (cx - s * 0.25 + i * s * 0.05, my + s * 0.03 * (1 if i % 2 else -1) + s * 0.002 * (i - 5) ** 2)
            for i in range(11)
        ]
        wobbly_line(d, rng, pts, width=w, jitter=0.3)
    elif kind == "frown":
        wobbly_line(d, rng, arc_pts(cx, my + s * 0.1, s * 0.24, s * 0.14, 200, 340), width=w)
    elif kind == "flat":
        wobbly_line(d, rng, [(cx - s * 0.22, my), (cx + s * 0.22, my + s * 0.02)], width=w)


def draw_extra(d, rng, kind, cx, cy, s):
    w = max(3, int(s / 16))
    if kind == "moon":
        mx, my = cx + s * 0.95, cy - s * 0.85
        d.ellipse([mx - 24, my - 24, mx + 24, my + 24], fill=(255, 225, 90), outline=INK, width=3)
        d.ellipse([mx - 12, my - 30, mx + 30, my + 14], fill=d._bg)
    elif kind == "sweat":
        d.polygon(drop_pts(cx + s * 0.8, cy - s * 0.45, s * 0.14), fill=(120, 190, 255), outline=INK)
    elif kind == "sweat3":
        for dx, dy, r in ((0.85, -0.5, 0.1), (-0.9, -0.3, 0.08), (0.95, 0.05, 0.07)):
            d.polygon(drop_pts(cx + s * dx, cy + s * dy, s * r), fill=(120, 190, 255), outline=INK)
    elif kind == "tear_streams":
        for side in (-1, 1):
            x = cx + side * s * 0.36
            d.polygon(
                [
                    (x - s * 0.08, cy - s * 0.05),
                    (x + s * 0.08, cy - s * 0.05),
                    (x + s * 0.12, cy + s * 0.95),
                    (x - s * 0.12, cy + s * 0.95),
                ],
                fill=(90, 170, 255),
            )
    elif kind == "tear_drops":
        for side in (-1, 1):
            for k, dy in enumerate((0.12, 0.45)):
                d.polygon(
                    drop_pts(cx + side * s * (0.4 + 0.05 * k), cy + s * dy, s * 0.07),
                    fill=(110, 180, 255),
                    outline=INK,
                )
    elif kind == "blush":
        for side in (-1, 1):
            d.ellipse(
                [
                    cx + side * s * 0.55 - s * 0.13,
                    cy + s * 0.08,
                    cx + side * s * 0.55 + s * 0.13,
                    cy + s * 0.2,
                ],
                fill=(255, 140, 160),
            )
    elif kind == "cheeks_puffed":
        for side in (-1, 1):
            wobbly_ellipse(
                d, rng, cx + side * s * 0.3, cy + s * 0.33, s * 0.15, s * 0.13, (140, 200, 110), INK, 3
            )
    elif kind == "float_hearts":
        for hx, hy, hs in ((0.95, -0.7, 0.16), (-0.95, -0.55, 0.12), (0.9, 0.55, 0.11)):
            d.polygon(heart_pts(cx + s * hx, cy + s * hy, s * hs), fill=(230, 50, 80), outline=INK)
    elif kind == "blown_heart":
        d.polygon(heart_pts(cx + s * 0.85, cy + s * 0.55, s * 0.22), fill=(230, 40, 70), outline=INK)
    elif kind == "pillow":
        d.rounded_rectangle(
            [cx - s * 1.25, cy + s * 0.75, cx + s * 1.25, cy + s * 1.25],
            radius=18,
            fill=(255, 255, 255),
            outline=INK,
            width=w,
        )
    elif kind == "party_hat":
        top = (cx + s * 0.15, cy - s * 1.55)
        left, right = (cx - s * 0.35, cy - s * 0.8), (cx + s * 0.45, cy - s * 0.72)
        d.polygon([top, left, right], fill=(80, 160, 255), outline=INK)
        for k in (0.35, 0.65):
            a = (top[0] + (left[0] - top[0]) * k, top[1] + (left[1] - top[1]) * k)
            b = (top[0] + (right[0] - top[0]) * k, top[1] + (right[1] - top[1]) * k)
            d.line([a, b], fill=(255, 240, 100), width=6)
        d.ellipse([top[0] - 9, top[1] - 9, top[0] + 9, top[1] + 9], fill=(255, 90, 90), outline=INK)
    elif kind == "confetti":
        colours = [(255, 90, 90), (80, 160, 255), (90, 200, 120), (250, 200, 50), (190, 100, 230)]
        for i in range(26):
            x, y = rng.uniform(8, SIZE - 8), rng.uniform(8, SIZE - 8)
            if math.hypot(x - cx, y - cy) < s * 1.1:
                continue
            d.ellipse([x - 4, y - 4, x + 4, y + 4], fill=colours[i % len(colours)])


def draw_face(img, d, rng, spec, cx=SIZE / 2, cy=SIZE / 2 + 8, s=78):
    wobbly_ellipse(d, rng, cx, cy, s, s * 0.96, spec["skin"], INK, 6, wobble=3)
    draw_eyes(d, rng, spec["eyes"], cx, cy, s)
    draw_mouth(d, rng, spec["mouth"], cx, cy, s)
    for extra in spec.get("extra", []):
        draw_extra(d, rng, extra, cx, cy, s)
    if "cheeks_puffed" in spec.get("extra", []):
        draw_mouth(d, rng, spec["mouth"], cx, cy, s)  # the closed mouth sits between the puffed cheeks


# Small faces on the caption pictures: (eyes, mouth, extras, skin).
CAPTION_FACES = {
    "proud": ("happy_arc", "smile", ["blush"], (255, 225, 120)),
    "smile": ("happy_arc", "smile", ["blush"], (255, 230, 200)),
    "lol": ("squeeze", "open_smile", ["tear_drops"], (255, 220, 90)),
    "sun": ("happy_arc", "smile", [], (255, 200, 60)),
    "dizzy": ("swirl", "zigzag", [], (240, 240, 240)),
    "meh": ("dot", "flat", [], (235, 230, 220)),
    "wail": ("closed_sad", "wail", [], (255, 230, 200)),
    "sheepish": ("happy_arc", "zigzag", ["sweat"], (255, 235, 200)),
    "yay": ("happy_arc", "open_smile", [], (255, 225, 110)),
    "peek": ("dot", "small_o", [], (255, 235, 200)),
    "cracked": ("closed_sad", "frown", [], (235, 235, 240)),
    "blush": ("squeeze", "zigzag", ["blush"], (255, 225, 215)),
    "sleep": ("closed", "small_o", [], (240, 230, 255)),
}


def draw_caption(img, d, rng, spec):
    text, fg = spec["text"], spec["fg"]
    face = spec.get("face")
    text_top = 14
    if face:
        eyes, mouth, extras, skin = CAPTION_FACES[face]
        s = 46
        cx, cy = SIZE / 2, 66
        if face == "sun":
            for i in range(12):
                t = math.tau * i / 12
                wobbly_line(
                    d,
                    rng,
                    [
                        (cx + 54 * math.cos(t), cy + 54 * math.sin(t)),
                        (cx + 66 * math.cos(t), cy + 66 * math.sin(t)),
                    ],
                    fill=(255, 160, 40),
                    width=5,
                )
        wobbly_ellipse(d, rng, cx, cy, s, s * 0.96, skin, INK, 5, wobble=2)
        draw_eyes(d, rng, eyes, cx, cy, s)
        draw_mouth(d, rng, mouth, cx, cy, s)
        for extra in extras:
            draw_extra(d, rng, extra, cx, cy, s)
        if face == "cracked":
            wobbly_line(
                d,
                rng,
                [(cx - 6, cy - s), (cx + 6, cy - s * 0.55), (cx - 4, cy - s * 0.15), (cx + 5, cy + s * 0.2)],
                width=4,
            )
        text_top = 128
    box_w, box_h = SIZE - 24, SIZE - text_top - 14
    # The largest size at which the text fits on one line, else on two lines split at a space.
    lines = [text]
    for size in range(96, 18, -2):
        font = _font(size)
        candidates = [[text]]
        if " " in text:
            words = text.split(" ")
            candidates += [[" ".join(words[:k]), " ".join(words[k:])] for k in range(1, len(words))]
        fits = None
        for cand in candidates:
            widths = [d.textbbox((0, 0), ln, font=font, stroke_width=5)[2] for ln in cand]
            height = len(cand) * size * 1.15
            if max(widths) <= box_w and height <= box_h:
                fits = cand
                break
        if fits:
            lines = fits
            break
    line_h = size * 1.15
    y0 = text_top + (box_h - line_h * len(lines)) / 2
    stroke = INK if sum(fg) > 500 or fg == (255, 255, 255) else (255, 255, 255)
    for i, ln in enumerate(lines):
        d.text(
            (SIZE / 2, y0 + i * line_h + line_h / 2),
            ln,
            font=font,
            fill=fg,
            anchor="mm",
            stroke_width=5,
            stroke_fill=stroke,
        )


def draw_cat(img, d, rng):
    grey, dark = (170, 170, 180), INK
    # curled body, head, ears, tail, closed eyes
    wobbly_ellipse(d, rng, 125, 150, 80, 48, grey, dark, 5, wobble=3)
    wobbly_ellipse(d, rng, 78, 128, 38, 34, grey, dark, 5, wobble=2)
    for ex in (56, 92):
        d.polygon([(ex - 12, 108), (ex + 2, 80), (ex + 14, 104)], fill=grey)
        wobbly_line(d, rng, [(ex - 12, 108), (ex + 2, 80), (ex + 14, 104)], width=5)
    wobbly_line(d, rng, [(200, 160), (214, 186), (190, 200), (140, 198), (110, 190)], width=7)
    for ex in (66, 90):
        wobbly_line(d, rng, arc_pts(ex, 126, 7, 5, 10, 170, 8), width=3)
    d.polygon([(76, 136), (82, 136), (79, 140)], fill=(240, 130, 150))
    for side in (-1, 1):
        for k in (-4, 3):
            wobbly_line(d, rng, [(78 + side * 14, 140 + k), (78 + side * 36, 136 + 2 * k)], width=2)
    for i, (x, y) in enumerate(((170, 60), (186, 44), (202, 28))):  # little sleep bubbles, not letters
        wobbly_ellipse(d, rng, x, y, 4 + 2 * i, 4 + 2 * i, None, (120, 120, 140), 3, wobble=0.5)


def draw_sunset(img, d, rng):
    top, bottom = (70, 40, 120), (255, 150, 60)
    for y in range(SIZE):
        k = y / (SIZE - 1)
        d.line(
            [(0, y), (SIZE, y)], fill=tuple(int(a + (b - a) * k) for a, b in zip(top, bottom, strict=True))
        )
    d.pieslice([60, 120, 180, 240], 180, 360, fill=(255, 220, 120))
    pts = [(0, 180)] + [
        (x, 176 + 14 * math.sin(x / 35) + rng.uniform(-1.5, 1.5)) for x in range(0, SIZE + 1, 8)
    ]
    d.polygon(pts + [(SIZE, SIZE), (0, SIZE)], fill=(50, 30, 60))
    for _ in range(3):
        x, y = rng.uniform(30, 210), rng.uniform(40, 90)
        wobbly_line(
            d,
            rng,
            arc_pts(x, y, 7, 5, 200, 340, 6) + arc_pts(x + 14, y, 7, 5, 200, 340, 6),
            fill=(40, 30, 50),
            width=3,
            jitter=0.3,
        )


def draw_moon_night(img, d, rng):
    for _ in range(30):
        x, y = rng.uniform(6, SIZE - 6), rng.uniform(6, SIZE - 6)
        r = rng.choice((1.5, 2, 3))
        d.ellipse([x - r, y - r, x + r, y + r], fill=(255, 250, 210))
    cx, cy, r = 120, 120, 78
    d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(255, 225, 90), outline=INK, width=5)
    d.ellipse([cx - r + 42, cy - r - 18, cx + r + 42, cy + r - 18], fill=d._bg)
    wobbly_line(d, rng, arc_pts(cx - 38, cy + 4, 12, 8, 10, 170, 10), width=4)
    d.ellipse([cx - 58, cy + 18, cx - 40, cy + 30], fill=(255, 160, 140))


def draw_lonely_cat(img, d, rng):
    for _ in range(14):
        x, y = rng.uniform(6, SIZE - 6), rng.uniform(6, 90)
        d.ellipse([x - 1.5, y - 1.5, x + 1.5, y + 1.5], fill=(230, 230, 255))
    d.polygon([(150, 60), (110, 220), (230, 220), (190, 60)], fill=(80, 80, 120))
    d.line([(170, 30), (170, 220)], fill=INK, width=6)
    d.line([(170, 30), (150, 30)], fill=INK, width=6)
    wobbly_ellipse(d, rng, 150, 44, 16, 12, (255, 230, 140), INK, 3, wobble=0.5)
    d.rectangle([0, 220, SIZE, SIZE], fill=(50, 50, 70))
    grey = (170, 170, 180)
    wobbly_ellipse(d, rng, 75, 190, 30, 32, grey, INK, 4, wobble=1.5)
    wobbly_ellipse(d, rng, 75, 146, 22, 20, grey, INK, 4, wobble=1)
    for ex in (62, 88):
        d.polygon([(ex - 8, 136), (ex, 118), (ex + 8, 134)], fill=grey)
        wobbly_line(d, rng, [(ex - 8, 136), (ex, 118), (ex + 8, 134)], width=4)
    for ex in (68, 82):
        d.ellipse([ex - 2.5, 144, ex + 2.5, 150], fill=INK)
    wobbly_line(d, rng, [(102, 210), (122, 206), (130, 188)], width=5)


def render(name: str, spec: dict) -> Image.Image:
    rng = random.Random(_seed(name))
    draw_kind = spec.get("draw")
    if "text" in spec:
        bg = spec["bg"]
    elif draw_kind in ("moon_night", "lonely_cat"):
        bg = (28, 34, 72)
    elif draw_kind == "sunset":
        bg = (0, 0, 0)
    else:
        bg = (250, 248, 240)
    img = Image.new("RGB", (SIZE, SIZE), bg)
    d = ImageDraw.Draw(img)
    d._bg = bg  # the crescent moons cut their shape with the background colour
    if "text" in spec:
        draw_caption(img, d, rng, spec)
    elif draw_kind == "face":
        draw_face(img, d, rng, spec)
    elif draw_kind == "cat":
        draw_cat(img, d, rng)
    elif draw_kind == "sunset":
        draw_sunset(img, d, rng)
    elif draw_kind == "moon_night":
        draw_moon_night(img, d, rng)
    elif draw_kind == "lonely_cat":
        draw_lonely_cat(img, d, rng)
    else:
        raise ValueError(f"{name}: unknown drawing {draw_kind!r}")
    # A small palette keeps each PNG a few KB; no dithering keeps it deterministic and flat.
    return img.quantize(colors=48, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)


def referenced_images() -> set[str]:
    names = set()
    for fname in ("replies_heldout.jsonl", "replies_dev.jsonl"):
        path = EVAL_DIR / fname
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            sticker = json.loads(line).get("sticker") or {}
            if sticker.get("image"):
                names.add(Path(sticker["image"]).stem)
    return names


def main() -> int:
    if not FONT_PATH.exists():
        _die(f"the CJK font {FONT_PATH} is missing; install it with `apt-get install -y fonts-wqy-zenhei`")
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    for name, spec in IMAGES.items():
        path = OUT_DIR / f"{name}.png"
        render(name, spec).save(path, optimize=True)
        if path.stat().st_size > 30_000:
            _die(f"{path} is {path.stat().st_size} bytes, over the 30 KB budget")
    print(f"make_eval_images: wrote {len(IMAGES)} pictures to {OUT_DIR.relative_to(ROOT)}")
    refs = referenced_images()
    missing, unused = sorted(refs - set(IMAGES)), sorted(set(IMAGES) - refs)
    if missing or unused:
        _die(
            f"the eval sets and IMAGES disagree: referenced but not drawn {missing}, drawn but unused {unused}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
