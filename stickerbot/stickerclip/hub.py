"""StickerCLIP on a GPU: a real CLIP's image tower fine-tuned into the text index's space.

``train clip --base openai/clip-vit-base-patch32`` (or a local folder, or another CLIP-like
checkpoint such as Chinese-CLIP's) trains this instead of the small CNN: the pretrained
vision tower and its projection, plus a linear head into the frozen text space, with the same
data, augmentation and loss. It is saved as a folder (the CLIP weights and processor, and
``head.safetensors`` holding the head and the configuration) that
:func:`stickerbot.stickerclip.model.load_encoder` reads like the small encoder's file.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from stickerbot.errors import UserError

HEAD_FILE = "head.safetensors"
FORMAT = "stickerclip-hub"


@dataclass(frozen=True)
class HubEncoderConfig:
    base: str  # the Hub id or folder it was fine-tuned from
    image_size: int
    dim: int
    text_embedder: str
    mean: tuple[float, ...]
    std: tuple[float, ...]
    background: tuple[int, int, int] = (255, 255, 255)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> HubEncoderConfig:
        data = json.loads(text)
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in data.items()})


class HubClipEncoder(nn.Module):
    def __init__(self, clip, config: HubEncoderConfig):
        super().__init__()
        self.config = config
        self.vision = clip.vision_model
        self.projection = clip.visual_projection
        self.head = nn.Linear(self.projection.out_features, config.dim)
        self._clip = [clip]  # kept for saving, outside the module tree (its text tower is not trained)
        self.register_buffer("mean", torch.tensor(config.mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(config.std).view(1, 3, 1, 1), persistent=False)

    @classmethod
    def from_pretrained(cls, base: str | Path, *, dim: int, text_embedder: str) -> HubClipEncoder:
        from transformers import AutoImageProcessor, CLIPModel

        try:
            clip = CLIPModel.from_pretrained(str(base))
            processor = AutoImageProcessor.from_pretrained(str(base))
        except (OSError, ValueError) as err:
            raise UserError(
                f"cannot load the CLIP to fine-tune from {base!r} ({err}); offline, give a local folder"
            ) from err
        crop = getattr(processor, "crop_size", None) or {}
        size = int(crop.get("height") or clip.config.vision_config.image_size)
        config = HubEncoderConfig(
            base=str(base),
            image_size=size,
            dim=dim,
            text_embedder=text_embedder,
            mean=tuple(float(x) for x in processor.image_mean),
            std=tuple(float(x) for x in processor.image_std),
        )
        model = cls(clip, config)
        model._processor = processor
        return model

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        """``pixels``: (N, 3, H, W) in [0, 1], any size; returns (N, dim) unit vectors."""
        size = self.config.image_size
        if pixels.shape[-1] != size or pixels.shape[-2] != size:
            pixels = F.interpolate(pixels, size=(size, size), mode="bilinear", align_corners=False)
        features = self.vision(pixel_values=(pixels - self.mean) / self.std).pooler_output
        return F.normalize(self.head(self.projection(features)), dim=-1)

    def save(self, folder: Path, extra: dict | None = None) -> Path:
        from safetensors.torch import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self._clip[0].save_pretrained(folder)
        processor = getattr(self, "_processor", None)
        if processor is not None:
            processor.save_pretrained(folder)
        metadata = {"format": FORMAT, "config": self.config.to_json()}
        metadata.update({k: json.dumps(v) for k, v in (extra or {}).items()})
        head = {k: v.detach().contiguous() for k, v in self.head.state_dict().items()}
        save_file(head, str(folder / HEAD_FILE), metadata=metadata)
        return folder


def load_hub_encoder(folder: Path) -> tuple[HubClipEncoder, dict]:
    """(model in eval mode, metadata) from a folder written by :meth:`HubClipEncoder.save`."""
    from safetensors import safe_open
    from transformers import AutoImageProcessor, CLIPModel

    folder = Path(folder)
    with safe_open(str(folder / HEAD_FILE), framework="pt") as f:
        metadata = f.metadata() or {}
        head = {k: f.get_tensor(k) for k in f.keys()}
    if metadata.get("format") != FORMAT:
        raise UserError(f"{folder} is not a fine-tuned StickerCLIP folder")
    config = HubEncoderConfig.from_json(metadata["config"])
    model = HubClipEncoder(CLIPModel.from_pretrained(str(folder)), config)
    model._processor = AutoImageProcessor.from_pretrained(str(folder))
    model.head.load_state_dict(head)
    return model.eval(), metadata
