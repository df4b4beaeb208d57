"""StickerCLIP-lite as an :class:`~stickerbot.embeddings.image.ImageEmbedder`.

Its vectors live in the text index's space (``text_embedder`` in the weights' metadata), so a
picture can be compared with stickers' pictures and with their annotation vectors alike. When
an expression head trained on this encoder lies beside its weights
(``stickerclip.expression``), it also says which emotion a picture shows, from the same
forward pass up to where the head branches off (or, for a head that reads a larger picture,
from its own pass of the trunk).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from stickerbot.embeddings.base import EmbedderLoadError, shared_model
from stickerbot.stickerclip.expression import face_crop, head_pixels_config, load_head
from stickerbot.stickerclip.model import EncoderLoadError, load_encoder, to_pixels
from stickerbot.stickerclip.paths import expression_head_path


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
        self._head = None
        head_path = expression_head_path(self.path) if self.path.is_file() else None
        if head_path is not None and head_path.is_file():
            key = (
                "stickerclip-expression",
                str(head_path.resolve()),
                file_fingerprint(head_path),
                self.fingerprint,
            )
            try:
                self._head = shared_model(key, lambda: load_head(head_path, self._model, self.fingerprint))
            except EncoderLoadError as err:
                raise EmbedderLoadError(str(err)) from err

    @property
    def expression_labels(self) -> tuple[str, ...] | None:
        """The emotions the expression head names, or None without a head."""
        return None if self._head is None else self._head.config.labels

    def encode_images(self, images: list[Image.Image]) -> np.ndarray:
        return self._encode(images, with_head=False)[0]

    def encode_with_expressions(self, images: list[Image.Image]) -> tuple[np.ndarray, np.ndarray | None]:
        """(vectors, (N, labels) probabilities of the expression head, or None without one): the
        trunk runs once for both when the head reads the encoder's size."""
        return self._encode(images, with_head=self._head is not None)

    @property
    def head_has_own_pass(self) -> bool:
        """Whether the expression head reads its own, larger pass of the trunk (then worth
        running only for the pictures whose reading needs it); False without a head."""
        return self._head is not None and self._head.config.reads_own_pass(self._model.config.image_size)

    def expressions(self, images: list[Image.Image]) -> np.ndarray | None:
        """The expression head's (N, labels) probabilities alone, or None without a head: for a
        caller that has the vectors and needs the head's reading of only some pictures."""
        if self._head is None:
            return None
        if not images:
            return np.zeros((0, len(self._head.config.labels)), dtype=np.float32)
        batches = range(0, len(images), self.batch_size)
        return np.concatenate([self._head_read(images[i : i + self.batch_size]) for i in batches])

    def _head_read(self, images: list[Image.Image]) -> np.ndarray:
        """The head's reading from its own pass: the surer of its readings of the whole picture
        and of a closer look at its face (``expression.face_crop``), both in one pass (on one
        core two pictures cost 17 ms in one pass, 22 ms in two)."""
        probs = self._head_pass([p for image in images for p in (image, face_crop(image))])
        probs = probs.reshape(len(images), 2, -1)
        surer = probs.max(axis=2).argmax(axis=1)
        return probs[np.arange(len(images)), surer]

    def _head_pass(self, images: list[Image.Image]) -> np.ndarray:
        """The head's probabilities from its own pass of the trunk, at its size."""
        head = self._head.config
        pixels = to_pixels(images, head_pixels_config(self._model.config, head))
        with torch.inference_mode():
            features = self._model.trunk(pixels, head.from_block)
            return torch.softmax(self._head(features), dim=-1).numpy().astype(np.float32)

    def _encode(self, images: list[Image.Image], *, with_head: bool) -> tuple[np.ndarray, np.ndarray | None]:
        if not images:
            return np.zeros((0, self.dim), dtype=np.float32), None
        vectors, probs = [], []
        for start in range(0, len(images), self.batch_size):
            batch = images[start : start + self.batch_size]
            pixels = to_pixels(batch, self._model.config)
            with torch.inference_mode():
                if not with_head:  # any encoder (a fine-tuned Hub CLIP has no trunk to share)
                    vectors.append(self._model(pixels).numpy())
                    continue
                head = self._head.config
                features = self._model.trunk(pixels, head.from_block)
                vectors.append(self._model.tail(features, head.from_block).numpy())
                if self.head_has_own_pass:
                    probs.append(self._head_read(batch))
                else:
                    probs.append(torch.softmax(self._head(features), dim=-1).numpy())
        return (
            np.concatenate(vectors).astype(np.float32),
            np.concatenate(probs).astype(np.float32) if with_head else None,
        )
