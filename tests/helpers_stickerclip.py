"""Shared test data for StickerCLIP-lite: a tiny encoder configuration and pictures the tests
draw (coloured shapes) with made-up text vectors to train toward."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from stickerbot.stickerclip.data import PictureSet, rgba_array
from stickerbot.stickerclip.model import EncoderConfig

TINY = EncoderConfig(image_size=32, widths=(8, 16), blocks=(1, 1), dim=16, text_embedder="fake")
COLOURS = [(230, 30, 30), (30, 160, 40), (40, 60, 220), (240, 200, 20)]


def shape(kind: int, colour, size: int = 80, jitter: int = 0) -> Image.Image:
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    box = (10 + jitter, 10 + jitter, size - 10 + jitter, size - 10 - jitter)
    if kind == 0:
        draw.ellipse(box, fill=(*colour, 255))
    else:
        draw.rectangle(box, fill=(*colour, 255))
    return image


def shapes_set(jitters=(0, 3, -3, 6)) -> tuple[PictureSet, np.ndarray]:
    """8 "stickers" (2 shapes x 4 colours), each drawn with a few offsets, and 8 random targets."""
    pixels, targets = [], []
    for t in range(8):
        for j in jitters:
            pixels.append(rgba_array(shape(t // 4, COLOURS[t % 4], jitter=j)))
            targets.append(t)
    rng = np.random.default_rng(0)
    text = rng.normal(size=(8, TINY.dim)).astype(np.float32)
    text /= np.linalg.norm(text, axis=1, keepdims=True)
    return PictureSet(
        np.stack(pixels), np.array(targets), ["test"] * len(targets), [str(t) for t in targets]
    ), text


def changed_share(a, b) -> float:
    """Share of pixels that differ clearly between two RGBA pictures."""
    return float((np.abs(np.asarray(a, int) - np.asarray(b, int)).max(axis=-1) > 40).mean())


def least_changed_pair(pictures: list) -> tuple[float, int, int]:
    """The two pictures that differ least: (their changed share, i, j)."""
    return min(
        (changed_share(pictures[i], pictures[j]), i, j) for i in range(len(pictures)) for j in range(i)
    )
