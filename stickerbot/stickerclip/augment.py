"""Make an emoji look like a chat sticker, a batch at a time, in torch.

An emoji drawing is clean, centred and on nothing; the stickers people send are cropped,
scaled, tilted, outlined in white, on a coloured or photo-like background, recoloured,
drawn with thicker or thinner lines, saved as JPEG, with words written on them, and
animated (one frame of it). Every step works on the whole batch of RGBA pictures so the
augmentation costs little next to the encoder's own step on two cores.

Stickers drawn by people are further from emoji art than any emoji style is from another:
flat fills, dark ink lines, faces of any colour. So some pictures become line art (their
edges inked over a flat, posterised or white fill), and faces, whose colour rarely carries
their feeling, may take any hue. Elsewhere hue is only nudged: a red heart and a blue heart
are different emoji.
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
    line_art: float = 0.0  # probability of inked edges over a flat fill (a drawing)
    hue: float = 0.0  # probability of any hue, for the pictures allowed one (faces)
    grey: float = 0.0  # probability of a grey picture (pencil, photocopies)
    random_conv: float = 0.0  # probability of another texture and palette (a random convolution)


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


_LUMA = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
_SOBEL = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]]).view(1, 1, 3, 3) / 4


def _edges(channel: torch.Tensor) -> torch.Tensor:
    # Replicated borders: a zero pad would ink a frame round every picture.
    channel = F.pad(channel, (1, 1, 1, 1), mode="replicate")
    gx = F.conv2d(channel, _SOBEL)
    gy = F.conv2d(channel, _SOBEL.transpose(2, 3))
    return torch.sqrt(gx * gx + gy * gy)


def _line_art(rgba: torch.Tensor, p: float, gen: torch.Generator) -> torch.Tensor:
    """Some pictures redrawn as a cartoon: dark ink where the picture has edges (in its light
    and its silhouette), over a flat colour, a posterised copy of its colours, or white."""
    n = rgba.shape[0]
    on = torch.rand(n, generator=gen) < p
    if not bool(on.any()):
        return rgba
    rgb, alpha = rgba[:, :3], rgba[:, 3:]
    light = (rgb * _LUMA).sum(1, keepdim=True) * alpha + (1 - alpha)
    strength = _edges(light) + _edges(alpha)
    threshold = torch.empty(n, 1, 1, 1).uniform_(0.1, 0.25, generator=gen)
    ink = (strength > threshold).float()
    thick = torch.rand(n, generator=gen) < 0.25
    ink = _where(thick, F.max_pool2d(ink, 3, 1, 1), ink)
    levels = torch.randint(2, 4, (n, 1, 1, 1), generator=gen).float()
    posterised = (rgb * levels).round() / levels
    flat = 0.45 + 0.55 * torch.rand(n, 3, 1, 1, generator=gen)
    kind = torch.rand(n, generator=gen)
    fill = _where(kind < 0.4, posterised, flat.expand_as(rgb))
    fill = _where(kind > 0.8, torch.ones_like(rgb), fill)
    pen = 0.3 * torch.rand(n, 3, 1, 1, generator=gen)
    drawn_rgb = fill * (1 - ink) + pen * ink
    drawn = torch.cat([drawn_rgb, torch.maximum(alpha, ink)], 1)
    return _where(on, drawn, rgba)


def _hue(rgb: torch.Tensor, allowed: torch.Tensor, p: float, gen: torch.Generator) -> torch.Tensor:
    """Any hue (a rotation about the grey axis) on some of the pictures ``allowed`` one."""
    n = rgb.shape[0]
    on = allowed & (torch.rand(n, generator=gen) < p)
    if not bool(on.any()):
        return rgb
    angle = torch.empty(n).uniform_(0.5, 2 * math.pi - 0.5, generator=gen)
    cos, sin = torch.cos(angle).view(n, 1, 1), torch.sin(angle).view(n, 1, 1)
    u = torch.full((3,), 1 / math.sqrt(3))
    cross = torch.tensor([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]]) / math.sqrt(3)
    rot = cos * torch.eye(3) + sin * cross + (1 - cos) * torch.outer(u, u)  # Rodrigues
    turned = torch.einsum("nij,njhw->nihw", rot, rgb).clamp(0, 1)
    return _where(on, turned, rgb)


def _grey(rgb: torch.Tensor, p: float, gen: torch.Generator) -> torch.Tensor:
    on = torch.rand(rgb.shape[0], generator=gen) < p
    return _where(on, (rgb * _LUMA).sum(1, keepdim=True).expand_as(rgb), rgb)


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


def _random_conv(rgb: torch.Tensor, p: float, gen: torch.Generator) -> torch.Tensor:
    """Another hand's texture and palette, the shapes kept: each chosen picture passes through a
    convolution with random weights (RandConv, Xu et al., ICLR 2021, a domain generalisation
    method), brought back to its own brightness and contrast per channel and mixed with itself by
    a random share. Art styles differ most in strokes, shading and palette, which this scrambles,
    and least in the shapes that say which emoji it is."""
    if p <= 0:  # draws nothing from the generator, so the shipped recipe's pictures stay the same
        return rgb
    n, _, h, w = rgb.shape
    on = torch.rand(n, generator=gen) < p
    if not bool(on.any()):
        return rgb
    k = (1, 3, 5, 7)[int(torch.randint(0, 4, (1,), generator=gen))]
    weight = torch.randn(n * 3, 3, k, k, generator=gen) / math.sqrt(3 * k * k)
    out = F.conv2d(rgb.reshape(1, n * 3, h, w), weight, padding=k // 2, groups=n).reshape(n, 3, h, w)
    mean, std = rgb.mean((2, 3), keepdim=True), rgb.std((2, 3), keepdim=True)
    out = (out - out.mean((2, 3), keepdim=True)) / out.std((2, 3), keepdim=True).clamp_min(1e-4)
    out = out * std.clamp_min(0.1) + mean
    share = torch.rand(n, 1, 1, 1, generator=gen)
    return _where(on, (share * rgb + (1 - share) * out).clamp(0, 1), rgb)


class StickerAugment:
    """RGBA uint8 batches (N, S, S, 4) -> RGB float pictures (N, 3, size, size) in [0, 1]."""

    def __init__(self, config: AugmentConfig = AugmentConfig(), seed: int = 0):
        self.config = config
        self.words = WordLayers(config.size, seed=seed)

    def __call__(
        self, batch: np.ndarray, gen: torch.Generator, free_hue: np.ndarray | None = None
    ) -> torch.Tensor:
        """``free_hue`` marks the pictures that may take any hue (faces); none by default."""
        cfg = self.config
        allowed = (
            torch.zeros(len(batch), dtype=torch.bool)
            if free_hue is None
            else torch.from_numpy(np.asarray(free_hue, dtype=bool))
        )
        rgba = torch.from_numpy(batch).permute(0, 3, 1, 2).float() / 255.0
        # Premultiplied alpha while resampling, so transparent pixels' colours do not bleed in.
        rgba = torch.cat([rgba[:, :3] * rgba[:, 3:], rgba[:, 3:]], 1)
        rgba = _affine(rgba, cfg, gen)
        alpha = rgba[:, 3:]
        rgba = torch.cat([rgba[:, :3] / alpha.clamp_min(1e-6), alpha], 1).clamp(0, 1)
        rgba = _lines(rgba, cfg.lines, gen)
        rgba = torch.cat([_hue(rgba[:, :3], allowed, cfg.hue, gen), rgba[:, 3:]], 1)
        rgba = _line_art(rgba, cfg.line_art, gen)
        rgba = _outline(rgba, cfg.outline, gen)
        rgb = _grey(_colour(rgba[:, :3], cfg.colour, gen), cfg.grey, gen)
        alpha = rgba[:, 3:]
        n = rgb.shape[0]
        rgb = rgb * alpha + _backgrounds(n, cfg.size, cfg.background, gen) * (1 - alpha)
        rgb = _random_conv(rgb, cfg.random_conv, gen)
        words = self.words.sample(n, gen)
        on = (torch.rand(n, generator=gen) < cfg.words).float().view(-1, 1, 1, 1)
        rgb = rgb * (1 - on * words[:, 3:]) + on * words[:, 3:] * words[:, :3]
        rgb = _blur(rgb, cfg.blur, gen)
        return _jpeg(rgb.clamp(0, 1), cfg.jpeg, gen)
