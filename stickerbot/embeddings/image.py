"""Image embedders (CLIP) behind one Protocol, and the rule that turns a sticker into one vector.

An animated sticker is embedded as the normalised mean of its first, middle and
last frames, the rule Sticker820K uses: one vector per sticker, whatever its
length, that still reflects how it moves.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
from PIL import Image

from stickerbot.embeddings.base import EmbedderLoadError, normalise, shared_model
from stickerbot.stickers.images import LoadedImage, flatten

log = logging.getLogger(__name__)


@runtime_checkable
class ImageEmbedder(Protocol):
    """Maps images to L2-normalised float32 vectors of a fixed dimension."""

    name: str
    dim: int

    def encode_images(self, images: list[Image.Image]) -> np.ndarray: ...


def shares_text_space(image_embedder: ImageEmbedder, text_embedder) -> bool:
    """Whether ``image_embedder`` was trained into ``text_embedder``'s space (StickerCLIP-lite
    names it), so its picture vectors compare with annotation vectors; CLIP's do not."""
    return getattr(image_embedder, "text_embedder", None) == text_embedder.name


def load_clip(location: str, device: str = "cpu") -> tuple[object, object]:
    """(CLIPModel, image processor) from a Hub id or a local folder, loaded once per process."""

    def load():
        try:
            from transformers import AutoImageProcessor, CLIPModel
        except ImportError as err:  # pragma: no cover - dependency of the project
            raise EmbedderLoadError("pip install transformers torch") from err
        try:
            # Without torchvision, transformers picks its PIL image processor: same
            # preprocessing, a little slower.
            processor = AutoImageProcessor.from_pretrained(location)
            model = CLIPModel.from_pretrained(location).to(device).eval()
        except (OSError, ValueError) as err:
            raise EmbedderLoadError(
                f"could not load the image embedding model {location!r} ({err}). Offline, the weights "
                "must be on disk: set STICKERBOT_IMAGE_EMBEDDER_PATH to a local copy of the model "
                "(CLIP weights and preprocessor_config.json), or leave STICKERBOT_IMAGE_EMBEDDER empty "
                "to search images by perceptual hash and OCR only."
            ) from err
        log.info("loaded image embedding model %s on %s", location, device)
        return model, processor

    return shared_model(("clip", location, device), load)


class ClipImageEmbedder:
    """CLIP's image tower (``CLIPModel.get_image_features``) as an :class:`ImageEmbedder`."""

    def __init__(self, name: str, location: str | Path, *, device: str = "cpu", batch_size: int = 32):
        self.name = name
        self.location = str(location)
        self.device = device
        self.batch_size = batch_size
        self._model, self._processor = load_clip(self.location, device)
        self.dim = int(self._model.config.projection_dim)

    def encode_images(self, images: list[Image.Image]) -> np.ndarray:
        import torch

        if not images:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = []
        for start in range(0, len(images), self.batch_size):
            # Stickers are RGBA and transparent pixels carry arbitrary colour: put them on
            # white, the way chat apps show them, before the model sees them.
            batch = [flatten(im) for im in images[start : start + self.batch_size]]
            inputs = self._processor(images=batch, return_tensors="pt")
            with torch.inference_mode():
                features = self._model.get_image_features(pixel_values=inputs["pixel_values"].to(self.device))
            # transformers 5 returns a model output whose pooler_output is the projection;
            # earlier versions return the tensor itself.
            if not isinstance(features, torch.Tensor):
                features = features.pooler_output
            out.append(features.float().cpu().numpy())
        return normalise(np.concatenate(out))


def embed_stickers(embedder: ImageEmbedder, images: Sequence[LoadedImage]) -> np.ndarray:
    """One vector per sticker: the normalised mean of its frames' embeddings, in one batch."""
    if not images:
        return np.zeros((0, embedder.dim), dtype=np.float32)
    frames = [frame for image in images for frame in image.frames]
    vectors = embedder.encode_images(frames)
    counts = [len(image.frames) for image in images]
    bounds = np.cumsum([0, *counts])
    means = np.stack([vectors[a:b].mean(axis=0) for a, b in zip(bounds[:-1], bounds[1:], strict=True)])
    return normalise(means)


def embed_sticker(embedder: ImageEmbedder, loaded_image: LoadedImage) -> np.ndarray:
    """A sticker's vector: the normalised mean of the embeddings of its frames, which
    :func:`~stickerbot.stickers.images.load_image` already sampled (first, middle, last)."""
    return embed_stickers(embedder, [loaded_image])[0]


def encode_with_expressions(
    embedder: ImageEmbedder, images: list[Image.Image]
) -> tuple[np.ndarray, list[dict[str, float]] | None]:
    """The pictures' vectors, and what an embedder's expression head reads in each (probability
    by emotion), or None without a head; one pass of the encoder serves both."""
    encode = getattr(embedder, "encode_with_expressions", None)
    labels = getattr(embedder, "expression_labels", None)
    if encode is None or not labels:
        return embedder.encode_images(images), None
    vectors, probs = encode(images)
    if probs is None:
        return vectors, None
    return vectors, [dict(zip(labels, row.tolist(), strict=True)) for row in probs]


def embed_sticker_with_expression(
    embedder: ImageEmbedder,
    loaded_image: LoadedImage,
    wanted: Callable[[np.ndarray], bool] | None = None,
) -> tuple[np.ndarray, dict[str, float] | None]:
    """A sticker's vector as :func:`embed_sticker`, and what an embedder's expression head reads
    in it (probability by emotion, the mean over its frames), or None without a head. With
    ``wanted`` (a reader's ``needs_expression``), a head that reads its own, larger pass of the
    encoder (it costs more than the vector does) is run only when ``wanted(vector)`` says its
    reading would be looked at; a head that shares the encoder's pass is read with the vector."""
    frames = list(loaded_image.frames)
    if wanted is None or not getattr(embedder, "head_has_own_pass", False):
        vectors, readings = encode_with_expressions(embedder, frames)
        vector = normalise(vectors.mean(axis=0, keepdims=True))[0]
        if readings is None:
            return vector, None
        return vector, {k: float(np.mean([r[k] for r in readings])) for k in readings[0]}
    vector = embed_sticker(embedder, loaded_image)
    if not wanted(vector):
        return vector, None
    probs = embedder.expressions(frames).mean(axis=0)
    return vector, dict(zip(embedder.expression_labels, probs.tolist(), strict=True))
