"""StickerCLIP-lite: a small CNN that maps a sticker picture into the text index's space.

Trained from scratch on the CPU (see :mod:`stickerbot.stickerclip.train`) so that a picture
lands next to the annotation vector of its sticker; the text side stays frozen, so
image->sticker, text->sticker and the memory share one space. A residual CNN rather than a
ViT: at 64 px and a few thousand pictures, convolutions learn shapes and colours from far
less data, and run in a few milliseconds on one core.

Weights are one safetensors file (float16, a few MB) with its configuration in the header
metadata, so a checkpoint is self-describing.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.nn import functional as F

from stickerbot.atomic import atomic_path
from stickerbot.errors import UserError


@dataclass(frozen=True)
class EncoderConfig:
    image_size: int = 64
    widths: tuple[int, ...] = (32, 64, 128, 256)
    blocks: tuple[int, ...] = (2, 2, 2, 2)
    dim: int = 384  # the text embedder's dimension
    text_embedder: str = "all-MiniLM-L6-v2"
    # Transparent pixels are shown on this colour at inference, the way chat apps draw stickers.
    background: tuple[int, int, int] = (255, 255, 255)
    mean: tuple[float, ...] = field(default=(0.5, 0.5, 0.5))
    std: tuple[float, ...] = field(default=(0.25, 0.25, 0.25))

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> EncoderConfig:
        data = json.loads(text)
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


class Block(nn.Module):
    """A pre-activation residual block (two 3x3 convolutions), downsampling when ``stride`` is 2."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.skip = None if stride == 1 and cin == cout else nn.Conv2d(cin, cout, 1, stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(x))
        skip = x if self.skip is None else self.skip(out)
        out = self.conv1(out)
        out = self.conv2(F.relu(self.bn2(out)))
        return out + skip


class StickerEncoder(nn.Module):
    def __init__(self, config: EncoderConfig = EncoderConfig()):
        super().__init__()
        self.config = config
        w0 = config.widths[0]
        # Halve the picture at once: 64 px -> 32 px feature maps keep the cost at ~0.1 GMAC.
        self.stem = nn.Conv2d(3, w0, 3, 2, 1, bias=False)
        layers, cin = [], w0
        for i, (width, count) in enumerate(zip(config.widths, config.blocks, strict=True)):
            for j in range(count):
                layers.append(Block(cin, width, 2 if (j == 0 and i > 0) else 1))
                cin = width
        self.blocks = nn.Sequential(*layers)
        self.norm = nn.BatchNorm2d(cin)
        self.proj = nn.Linear(2 * cin, config.dim)
        self.register_buffer("mean", torch.tensor(config.mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(config.std).view(1, 3, 1, 1), persistent=False)

    def save(self, path: Path, extra: dict | None = None) -> Path:
        return save_encoder(self, path, extra)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        """``pixels``: (N, 3, S, S) in [0, 1]; returns (N, dim) unit vectors."""
        return self.tail(self.trunk(pixels, len(self.blocks)), len(self.blocks))

    def trunk(self, pixels: torch.Tensor, upto: int) -> torch.Tensor:
        """The feature maps after the first ``upto`` residual blocks: what a branch that starts
        there (the expression head) shares with the encoder."""
        return self.blocks[:upto](self.stem((pixels - self.mean) / self.std))

    def tail(self, features: torch.Tensor, start: int) -> torch.Tensor:
        """The rest of the encoder from block ``start`` on: unit vectors."""
        return F.normalize(self.proj(pool(F.relu(self.norm(self.blocks[start:](features))))), dim=-1)


def pool(x: torch.Tensor) -> torch.Tensor:
    """Mean and max pooling: the mean sees the whole drawing, the max a small telling detail
    (a tear, a heart)."""
    return torch.cat([x.mean(dim=(2, 3)), x.amax(dim=(2, 3))], dim=1)


def to_pixels(images: list[Image.Image], config: EncoderConfig) -> torch.Tensor:
    """RGB(A) pictures -> (N, 3, S, S) floats in [0, 1], transparent parts on the background."""
    size = config.image_size
    out = np.empty((len(images), size, size, 3), dtype=np.uint8)
    for n, image in enumerate(images):
        rgba = image.convert("RGBA")
        canvas = Image.new("RGBA", rgba.size, (*config.background, 255))
        canvas.alpha_composite(rgba)
        out[n] = np.asarray(canvas.convert("RGB").resize((size, size), Image.Resampling.BILINEAR))
    return torch.from_numpy(out).permute(0, 3, 1, 2).float() / 255.0


def save_encoder(model: StickerEncoder, path: Path, extra: dict | None = None) -> Path:
    """Write the weights as float16 safetensors, the configuration in the metadata; atomically."""
    from safetensors.torch import save_file

    state = {
        k: v.detach().to(torch.float16 if v.is_floating_point() else v.dtype).contiguous()
        for k, v in model.state_dict().items()
    }
    metadata = {"config": model.config.to_json(), "format": "stickerclip-lite"}
    metadata.update({k: json.dumps(v) for k, v in (extra or {}).items()})
    with atomic_path(Path(path), suffix=".safetensors") as tmp:
        save_file(state, str(tmp), metadata=metadata)
    return Path(path)


class EncoderLoadError(UserError, RuntimeError):
    pass


def load_encoder(path: Path) -> tuple[StickerEncoder, dict]:
    """(model in eval mode, metadata) from a file written by :func:`save_encoder`, or a folder
    written by a fine-tuned Hub CLIP (:mod:`stickerbot.stickerclip.hub`)."""
    from safetensors import safe_open

    path = Path(path)
    if not path.exists():
        raise EncoderLoadError(f"no sticker image encoder at {path}: run `python -m stickerbot train clip`")
    if path.is_dir():
        from stickerbot.stickerclip.hub import load_hub_encoder

        try:
            return load_hub_encoder(path)
        except Exception as err:  # transformers and safetensors raise many kinds
            raise EncoderLoadError(f"cannot load the fine-tuned CLIP in {path}: {err}") from err
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            state = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as err:  # safetensors raises its own error type for a damaged file
        raise EncoderLoadError(f"cannot load the sticker image encoder {path}: {err}") from err
    if metadata.get("format") != "stickerclip-lite":
        raise EncoderLoadError(f"{path} is not a StickerCLIP-lite encoder")
    try:
        model = StickerEncoder(EncoderConfig.from_json(metadata["config"]))
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    except (KeyError, TypeError, ValueError, RuntimeError) as err:
        raise EncoderLoadError(f"cannot load the sticker image encoder {path}: {err}") from err
    return model.eval(), metadata


def to_pixels_array(rgba: np.ndarray, config: EncoderConfig) -> torch.Tensor:
    """(N, S, S, 4) uint8 RGBA -> (N, 3, size, size) in [0, 1] on the background: the batch
    form of :func:`to_pixels`, for pictures already held as arrays."""
    return to_pixels([Image.fromarray(a, "RGBA") for a in rgba], config)
