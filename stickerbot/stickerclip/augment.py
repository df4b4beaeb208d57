"""Make an emoji look like a chat sticker, a batch at a time, in torch.

An emoji drawing is clean, centred and on nothing; the stickers people send are cropped,
scaled, tilted, outlined in white, on a coloured or photo-like background, recoloured,
drawn with thicker or thinner lines, saved as JPEG, with words written on them, and
animated (one frame of it). Every step works on the whole batch of RGBA pictures so the
augmentation costs little next to the encoder's own step on two cores.

Hue is only nudged: a red heart and a blue heart are different emoji.
"""

from __future__ import annotations

import io
import math
import random
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont
from torch.nn import functional as F

WORDS = (
    "lol",
    "OMG",
    "yay",
    "no",
    "why",
    "ok",
    "hi",
    "bye",
    "wow",
    "ugh",
    "hmm",
    "haha",
    "nice",
    "help",
    "same",
    "love",
    "sorry",
    "thx",
    "zzz",
    "what",
    "cool",
    "sad",
    "mad",
    "YES",
    "NOPE",
)


@dataclass(frozen=True)
class AugmentConfig:
    size: int = 64
    scale: tuple[float, float] = (0.65, 1.15)  # of the picture's side in the frame
    rotation: float = 25.0  # degrees either way
    shift: float = 0.15  # of the frame
    outline: float = 0.35  # probability of a sticker outline
    lines: float = 0.2  # probability of thicker or thinner lines
    colour: float = 0.8  # probability of a brightness / contrast / saturation change
    background: float = 0.6  # probability of a background that is not white
    words: float = 0.15  # probability of a word drawn on
    jpeg: float = 0.2  # probability of JPEG artefacts
    blur: float = 0.15  # probability of a low-resolution copy scaled back up


def _affine(rgba: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator) -> torch.Tensor:
    """Scale, rotate and shift each picture into a ``cfg.size`` frame (transparent outside)."""
    n = rgba.shape[0]
    scale = torch.empty(n).uniform_(*cfg.scale, generator=gen)
    angle = torch.empty(n).uniform_(-cfg.rotation, cfg.rotation, generator=gen) * math.pi / 180
    shift = torch.empty(n, 2).uniform_(-cfg.shift, cfg.shift, generator=gen) * 2
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1
    )
    grid = F.affine_grid(theta, (n, 4, cfg.size, cfg.size), align_corners=False)
    return F.grid_sample(rgba, grid, mode="bilinear", padding_mode="zeros", align_corners=False)


def _where(mask: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.where(mask.view(-1, 1, 1, 1), a, b)


def _lines(rgba: torch.Tensor, p: float, gen: torch.Generator) -> torch.Tensor:
    """Thicker dark lines (a minimum filter) or thinner ones (a maximum filter) on some pictures."""
    n = rgba.shape[0]
    pick = torch.rand(n, generator=gen)
    rgb, alpha = rgba[:, :3], rgba[:, 3:]
    thicker = -F.max_pool2d(-rgb, 3, 1, 1)
    thinner = F.max_pool2d(rgb, 3, 1, 1)
    rgb = _where(pick < p / 2, thicker, _where(pick < p, thinner, rgb))
    return torch.cat([rgb, alpha], 1)


def _outline(rgba: torch.Tensor, p: float, gen: torch.Generator) -> torch.Tensor:
    """A white (sometimes black or coloured) border around the drawing, as sticker packs have."""
    n = rgba.shape[0]
    on = torch.rand(n, generator=gen) < p
    width = int(torch.randint(1, 4, (1,), generator=gen))
    ring = F.max_pool2d(rgba[:, 3:], 2 * width + 1, 1, width)
    colour = torch.ones(n, 3, 1, 1)
    kind = torch.rand(n, generator=gen)
    colour[kind > 0.8] = 0.0
    coloured = kind > 0.9
    colour[coloured] = torch.rand(int(coloured.sum()), 3, 1, 1, generator=gen)
    a = rgba[:, 3:]
    rgb = rgba[:, :3] * a + colour * ring * (1 - a)
    alpha = torch.maximum(a, ring)
    out = torch.cat([rgb / alpha.clamp_min(1e-6), alpha], 1)
    return _where(on, out, rgba)


def _colour(rgb: torch.Tensor, p: float, gen: torch.Generator) -> torch.Tensor:
    n = rgb.shape[0]
    on = (torch.rand(n, generator=gen) < p).float().view(-1, 1, 1, 1)
    bright = 1 + on * torch.empty(n, 1, 1, 1).uniform_(-0.25, 0.25, generator=gen)
    contrast = 1 + on * torch.empty(n, 1, 1, 1).uniform_(-0.3, 0.3, generator=gen)
    sat = 1 + on * torch.empty(n, 1, 1, 1).uniform_(-0.4, 0.3, generator=gen)
    grey = rgb.mean(1, keepdim=True)
    rgb = grey + (rgb - grey) * sat
    mean = rgb.mean((1, 2, 3), keepdim=True)
    rgb = (rgb - mean) * contrast + mean
    # A small hue nudge: mix each channel with a sliver of the next.
    nudge = on * torch.empty(n, 1, 1, 1).uniform_(-0.08, 0.08, generator=gen)
    rgb = (
        rgb * (1 - nudge.abs())
        + torch.roll(rgb, 1 if float(torch.rand(1, generator=gen)) < 0.5 else -1, dims=1) * nudge.abs()
    )
    return (rgb * bright).clamp(0, 1)


def _backgrounds(n: int, size: int, p: float, gen: torch.Generator) -> torch.Tensor:
    """White for most; else a solid colour, a gradient, or soft photo-like noise."""
    white = torch.ones(n, 3, size, size)
    kind = torch.rand(n, generator=gen)
    solid = torch.rand(n, 3, 1, 1, generator=gen).expand(n, 3, size, size)
    ramp = torch.linspace(0, 1, size).view(1, 1, 1, size)
    c0, c1 = torch.rand(n, 3, 1, 1, generator=gen), torch.rand(n, 3, 1, 1, generator=gen)
    gradient = c0 + (c1 - c0) * ramp.expand(n, 3, size, size)
    noise = F.interpolate(
        torch.rand(n, 3, 4, 4, generator=gen), size=(size, size), mode="bicubic", align_corners=False
    )
    noise = (noise + 0.1 * torch.rand(n, 3, size, size, generator=gen)).clamp(0, 1)
    out = white
    out = _where(kind < p, solid, out)
    out = _where(kind < 0.6 * p, gradient, out)
    out = _where(kind < 0.3 * p, noise, out)
    return out


class WordLayers:
    """Pre-drawn words (RGBA, ``size`` square) to lay over pictures, as caption stickers have."""

    def __init__(self, size: int, count: int = 96, seed: int = 0):
        rng = random.Random(seed)
        layers = []
        for _ in range(count):
            canvas = Image.new("RGBA", (size, size), (0, 0, 0, 0))
            draw = ImageDraw.Draw(canvas)
            word = rng.choice(WORDS)
            font = ImageFont.load_default(size=rng.randint(size // 6, size // 3))
            box = draw.textbbox((0, 0), word, font=font)
            w, h = box[2] - box[0], box[3] - box[1]
            x = rng.randint(0, max(0, size - w)) - box[0]
            y = rng.choice([rng.randint(0, size // 6), size - h - rng.randint(0, size // 6)]) - box[1]
            fill = rng.choice([(0, 0, 0), (255, 255, 255), (220, 30, 30), (30, 30, 200)])
            stroke = (255, 255, 255) if fill != (255, 255, 255) else (0, 0, 0)
            draw.text(
                (x, y),
                word,
                font=font,
                fill=(*fill, 255),
                stroke_width=max(1, size // 40),
                stroke_fill=(*stroke, 255),
            )
            layers.append(np.asarray(canvas))
        self.layers = torch.from_numpy(np.stack(layers)).permute(0, 3, 1, 2).float() / 255.0

    def sample(self, n: int, gen: torch.Generator) -> torch.Tensor:
        return self.layers[torch.randint(0, len(self.layers), (n,), generator=gen)]


def _jpeg(rgb: torch.Tensor, p: float, gen: torch.Generator) -> torch.Tensor:
    """JPEG artefacts on some pictures (through Pillow's real encoder, at a low quality)."""
    on = torch.nonzero(torch.rand(rgb.shape[0], generator=gen) < p).flatten()
    if len(on) == 0:
        return rgb
    out = rgb.clone()
    for i in on.tolist():
        array = (rgb[i].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(array).save(
            buffer, format="JPEG", quality=int(torch.randint(10, 50, (1,), generator=gen))
        )
        decoded = np.asarray(Image.open(buffer).convert("RGB"))
        out[i] = torch.from_numpy(decoded.copy()).permute(2, 0, 1).float() / 255.0
    return out


def _blur(rgb: torch.Tensor, p: float, gen: torch.Generator) -> torch.Tensor:
    on = torch.rand(rgb.shape[0], generator=gen) < p
    size = rgb.shape[-1]
    small = F.interpolate(rgb, size=(size // 2, size // 2), mode="area")
    return _where(on, F.interpolate(small, size=(size, size), mode="bilinear", align_corners=False), rgb)


class StickerAugment:
    """RGBA uint8 batches (N, S, S, 4) -> RGB float pictures (N, 3, size, size) in [0, 1]."""

    def __init__(self, config: AugmentConfig = AugmentConfig(), seed: int = 0):
        self.config = config
        self.words = WordLayers(config.size, seed=seed)

    def __call__(self, batch: np.ndarray, gen: torch.Generator) -> torch.Tensor:
        cfg = self.config
        rgba = torch.from_numpy(batch).permute(0, 3, 1, 2).float() / 255.0
        # Premultiplied alpha while resampling, so transparent pixels' colours do not bleed in.
        rgba = torch.cat([rgba[:, :3] * rgba[:, 3:], rgba[:, 3:]], 1)
        rgba = _affine(rgba, cfg, gen)
        alpha = rgba[:, 3:]
        rgba = torch.cat([rgba[:, :3] / alpha.clamp_min(1e-6), alpha], 1).clamp(0, 1)
        rgba = _lines(rgba, cfg.lines, gen)
        rgba = _outline(rgba, cfg.outline, gen)
        rgb = _colour(rgba[:, :3], cfg.colour, gen)
        alpha = rgba[:, 3:]
        n = rgb.shape[0]
        rgb = rgb * alpha + _backgrounds(n, cfg.size, cfg.background, gen) * (1 - alpha)
        words = self.words.sample(n, gen)
        on = (torch.rand(n, generator=gen) < cfg.words).float().view(-1, 1, 1, 1)
        rgb = rgb * (1 - on * words[:, 3:]) + on * words[:, 3:] * words[:, :3]
        rgb = _blur(rgb, cfg.blur, gen)
        return _jpeg(rgb.clamp(0, 1), cfg.jpeg, gen)
