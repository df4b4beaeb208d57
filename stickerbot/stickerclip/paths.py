"""Where StickerCLIP's weights live: shipped, trained into the data directory, or fine-tuned.

Apart from :mod:`stickerbot.stickerclip.build` (which trains and opens the library through the
services) so that the embedder registry can find the weights without importing the trainer.
"""

from __future__ import annotations

from pathlib import Path

from stickerbot.config import ASSETS_DIR

CHECKPOINT_NAME = "stickerclip-lite.safetensors"
HUB_FOLDER = "stickerclip-hub"
SHIPPED_ENCODER = ASSETS_DIR / "checkpoints" / CHECKPOINT_NAME


def trained_encoder_path(data_dir: Path) -> Path:
    """Where `train clip` writes by default (the data directory; never the shipped file)."""
    return Path(data_dir) / "stickerclip" / CHECKPOINT_NAME


def hub_encoder_path(data_dir: Path) -> Path:
    """Where `train clip --base` writes a fine-tuned CLIP by default (a folder)."""
    return Path(data_dir) / "stickerclip" / HUB_FOLDER


def onnx_cache_dir(data_dir: Path) -> Path:
    """Where the encoder's passes exported to ONNX are kept, so a later start skips the export
    (``stickerclip.runtime``)."""
    return Path(data_dir) / "stickerclip" / "onnx"


def encoder_in_use(data_dir: Path | None) -> Path | None:
    """The StickerCLIP-lite weights the default embedder loads: the encoder `train clip` wrote
    into the data directory replaces the shipped one."""
    candidates = ([trained_encoder_path(data_dir)] if data_dir is not None else []) + [SHIPPED_ENCODER]
    return next((p for p in candidates if p.is_file()), None)


def expression_head_path(encoder_path: Path) -> Path:
    """Where the expression head of the encoder at ``encoder_path`` lives: beside it
    (``stickerclip-lite.safetensors`` -> ``stickerclip-lite.expression.safetensors``)."""
    encoder_path = Path(encoder_path)
    stem = encoder_path.name.removesuffix(".safetensors")
    return encoder_path.with_name(f"{stem}.expression.safetensors")
