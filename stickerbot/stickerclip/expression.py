"""The expression head: which feeling a picture shows when no library sticker looks like it.

The encoder reads a picture by its nearest library stickers (``retrieval.reading``). On emoji
art in a style it has never seen that works, because some library sticker is drawn nearly the
same. A cartoon face drawn in pink marker, a crying bunny or a doodle is near none of them,
and its nearest stickers are whatever objects happen to be closest (a laughing cat next to a
raccoon, a sad face next to a soccer ball). The head is trained for that case: a branch of the
encoder from block ``from_block`` on (a copy of the encoder's last stage, its own norm and a
classifier over the SER30K emotions), trained on the emotions of the emoji art and of the
cartoon faces drawn by code (``stickerclip.drawn``) under the drawing augmentations, with the
encoder frozen, so its vectors (the index, image search) do not move. The reader consults it
only for pictures far from every library sticker (``ReadWeights.expression_below``).

The head may read the picture larger than the encoder does (``HeadConfig.image_size``): at
64 px a drawn face's tears, brows and mouth are a few pixels each, and the same head read the dev
drawings 38.3% from the encoder's 64 px pass against 45.7% from a pass of the frozen trunk at
96 px (README, "Eyes for unseen stickers"). Its trunk pass is then its own; the vectors keep the
encoder's size.

One safetensors file (float16) beside the encoder's, with the fingerprint of the encoder it
was trained on: over another encoder's features it would read noise, so it is then not used.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from stickerbot.atomic import atomic_path
from stickerbot.errors import UserError
from stickerbot.stickerclip.model import EncoderConfig, EncoderLoadError, StickerEncoder, pool
from stickerbot.stickerclip.storage import dequantize_state, quantize_state
from stickerbot.stickers.labels import EMOTIONS

log = logging.getLogger(__name__)

FORMAT = "stickerclip-expression"


@dataclass(frozen=True)
class HeadConfig:
    # The branch starts after this many of the encoder's residual blocks (6 of 8: the last stage).
    from_block: int = 6
    labels: tuple[str, ...] = EMOTIONS
    # The side of the pictures the head reads, in pixels; 0: the encoder's own pass (and size).
    # A head file written before this field existed reads the encoder's pass.
    image_size: int = 0

    def reads_own_pass(self, encoder_size: int) -> bool:
        """Whether the head needs its own trunk pass (a size other than the encoder's)."""
        return self.image_size not in (0, encoder_size)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> HeadConfig:
        data = json.loads(text)
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


# What `train expression` trains: the head reads its own 96 px pass of the trunk.
HEAD = HeadConfig(image_size=96)
# How `train expression` writes a head (``stickerclip.storage``).
STORAGE = "float16"

# The head reads a picture whole and closer (:func:`face_crop`), both in one pass, and keeps the
# surer reading. A little character's or an animal's face is a small part of its picture; the
# crop gives it more of the head's 96 pixels. Chosen on the dev drawings among crops of the
# top, the centre and the upper middle, one or two at a time: the whole picture alone read
# 34.6%, with this crop 40.7% (with the top and the centre crops, two more passes, 42.0%, but a
# picture then cost 33 ms on one core against the 30 ms budget), the dev emoji unchanged
# (README, "Eyes for unseen stickers").
# The crop, as shares of the drawn part's bounding box: its upper middle.
FACE_CROP = (0.10, 0.05, 0.90, 0.70)  # left, top, right, bottom


def drawn_box(image: Image.Image, alpha_above: int = 16) -> tuple[int, int, int, int]:
    """The bounding box of the picture's drawn (not transparent) pixels; the whole picture when
    it is opaque or empty (pure)."""
    alpha = np.asarray(image.convert("RGBA"))[..., 3]
    ys, xs = np.nonzero(alpha > alpha_above)
    if len(xs) == 0:
        return 0, 0, image.width, image.height
    return int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1


def face_crop(image: Image.Image) -> Image.Image:
    """The upper middle of the drawn part of a picture (``FACE_CROP``), where the face of a
    character, an animal or a face alone is."""
    x0, y0, x1, y1 = drawn_box(image)
    w, h = x1 - x0, y1 - y0
    left, top, right, bottom = (
        x0 + int(FACE_CROP[0] * w),
        y0 + int(FACE_CROP[1] * h),
        x0 + int(FACE_CROP[2] * w),
        y0 + int(FACE_CROP[3] * h),
    )
    return image.crop((left, top, max(left + 1, right), max(top + 1, bottom)))


class ExpressionHead(nn.Module):
    """Feature maps after ``from_block`` encoder blocks -> logits over ``labels``."""

    def __init__(self, encoder: StickerEncoder, config: HeadConfig = HeadConfig()):
        super().__init__()
        if not 0 < config.from_block < len(encoder.blocks):
            raise UserError(
                f"the head's branch must start within the encoder's {len(encoder.blocks)} residual blocks "
                f"(1 to {len(encoder.blocks) - 1}), not after block {config.from_block}"
            )
        self.config = config
        # Started from the encoder's own weights: they already see faces in emoji art.
        self.blocks = copy.deepcopy(encoder.blocks[config.from_block :])
        self.norm = copy.deepcopy(encoder.norm)
        self.classify = nn.Linear(encoder.proj.in_features, len(config.labels))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.classify(pool(torch.relu(self.norm(self.blocks(features)))))


class ExpressionModel(nn.Module):
    """A frozen encoder's trunk and a head, as one module from pixels to logits (for training:
    the encoder stays in eval mode, so its batch-norm statistics do not move either)."""

    def __init__(self, encoder: StickerEncoder, head: ExpressionHead, encoder_fingerprint: str):
        super().__init__()
        self.encoder, self.head = encoder, head
        self.encoder_fingerprint = encoder_fingerprint
        for p in self.encoder.parameters():
            p.requires_grad_(False)
        # The pictures' size (the head's, when it has its own) and normalisation.
        self.config = head_pixels_config(encoder.config, head.config)

    def key(self) -> str:
        """What a saved training state must match to be resumed."""
        return json.dumps([self.config.to_json(), self.head.config.to_json(), self.encoder_fingerprint])

    def train(self, mode: bool = True) -> ExpressionModel:
        super().train(mode)
        self.encoder.eval()
        return self

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            features = self.encoder.trunk(pixels, self.head.config.from_block)
        return self.head(features)

    def save(self, path: Path, extra: dict | None = None) -> Path:
        return save_head(self.head, path, self.encoder_fingerprint, extra, storage=STORAGE)


def head_pixels_config(encoder: EncoderConfig, head: HeadConfig) -> EncoderConfig:
    """The encoder's picture settings at the size the head reads."""
    return dataclasses.replace(encoder, image_size=head.image_size or encoder.image_size)


def save_head(
    head: ExpressionHead,
    path: Path,
    encoder_fingerprint: str,
    extra: dict | None = None,
    *,
    storage: str = "float16",
) -> Path:
    """Write the head (``storage``: float16, or int8 with a scale per output channel), with
    its configuration and its encoder's fingerprint in the metadata; atomically."""
    from safetensors.torch import save_file

    state = quantize_state(head.state_dict(), storage)
    metadata = {"format": FORMAT, "config": head.config.to_json(), "encoder": encoder_fingerprint}
    metadata.update({k: json.dumps(v) for k, v in (extra or {}).items()})
    with atomic_path(Path(path), suffix=".safetensors") as tmp:
        save_file(state, str(tmp), metadata=metadata)
    return Path(path)


def load_head(path: Path, encoder: StickerEncoder, encoder_fingerprint: str) -> ExpressionHead | None:
    """The head at ``path`` for ``encoder`` (in eval mode), or None when there is no file or it
    was trained on another encoder (logged: the reader then goes by the neighbours alone)."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        return None
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = f.metadata() or {}
            state = dequantize_state({k: f.get_tensor(k) for k in f.keys()})
        if metadata.get("format") != FORMAT:
            raise EncoderLoadError(f"{path} is not a StickerCLIP-lite expression head")
        if metadata.get("encoder") != encoder_fingerprint:
            log.warning(
                "the expression head %s was trained on another image encoder (%s, this one is %s): not used",
                path,
                metadata.get("encoder"),
                encoder_fingerprint,
            )
            return None
        head = ExpressionHead(encoder, HeadConfig.from_json(metadata["config"]))
        head.load_state_dict(state)
    except EncoderLoadError:
        raise
    except Exception as err:  # safetensors and torch raise many kinds for a damaged file
        raise EncoderLoadError(f"cannot load the expression head {path}: {err}") from err
    return head.eval()
