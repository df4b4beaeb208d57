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
