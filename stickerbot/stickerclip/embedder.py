"""StickerCLIP-lite as an :class:`~stickerbot.embeddings.image.ImageEmbedder`.

Its vectors live in the text index's space (``text_embedder`` in the weights' metadata), so a
picture can be compared with stickers' pictures and with their annotation vectors alike.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from stickerbot.embeddings.base import EmbedderLoadError, shared_model
from stickerbot.stickerclip.model import EncoderLoadError, load_encoder, to_pixels


def file_fingerprint(path: Path) -> str:
    """What the weights at ``path`` are: a hash of the file, or of a fine-tuned CLIP folder's
    files."""
    path = Path(path)
    digest = hashlib.sha256()
    for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
        if file.is_file():
            digest.update(file.name.encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:12]


class LiteImageEmbedder:
    def __init__(self, name: str, path: str | Path, *, batch_size: int = 64):
        self.name = name
        self.path = Path(path)

        def load():
            try:
                return load_encoder(self.path)
            except EncoderLoadError as err:
                raise EmbedderLoadError(str(err)) from err

        if not self.path.exists():
            load()  # raises the clear error
        self.fingerprint = file_fingerprint(self.path)
        self._model, _ = shared_model(("stickerclip-lite", str(self.path.resolve()), self.fingerprint), load)
        self.dim = self._model.config.dim
        self.text_embedder = self._model.config.text_embedder
        self.batch_size = batch_size

    def encode_images(self, images: list[Image.Image]) -> np.ndarray:
        if not images:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = []
        for start in range(0, len(images), self.batch_size):
            pixels = to_pixels(images[start : start + self.batch_size], self._model.config)
            with torch.inference_mode():
                out.append(self._model(pixels).numpy())
        return np.concatenate(out).astype(np.float32)
