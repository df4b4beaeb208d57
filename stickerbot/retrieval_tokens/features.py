"""What W_c reads for an image, and the sticker space W_t maps into.

Offline there is no image encoder, so an image is represented by what the library knows of
it: a library sticker by its annotation vector in the index (the same space the targets
live in), an unknown picture by its words (OCR) or description, embedded. With an image
embedder configured (CLIP), its image vectors are used instead. Both are registered here
by name; the name and dimension are saved in every checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from stickerbot.embeddings.image import shares_text_space


@dataclass
class FeatureSource:
    name: str
    dim: int
    for_ids: Callable[[Sequence[str]], np.ndarray]
    for_text: Callable[[str], np.ndarray] | None = None  # an unknown picture's words


def _lookup(get_vectors: Callable[[Sequence[str]], dict], what: str) -> Callable[[Sequence[str]], np.ndarray]:
    def lookup(ids: Sequence[str]) -> np.ndarray:
        found = get_vectors(list(dict.fromkeys(ids)))
        missing = [i for i in ids if i not in found]
        if missing:
            raise KeyError(f"no {what} for stickers {missing[:5]}; run `python -m stickerbot index build`")
        return np.stack([np.asarray(found[i], dtype=np.float32) for i in ids])

    return lookup


def sticker_vectors(services) -> FeatureSource:
    """The sticker-embedding space: the text index's vectors (the retrieval targets)."""
    index = services.index
    return FeatureSource(
        f"text:{index.embedder.name}",
        index.embedder.dim,
        _lookup(index.get_vectors, "index vector"),
        lambda text: np.asarray(index.embedder.encode_documents([text])[0], dtype=np.float32),
    )


def image_features(services) -> FeatureSource:
    """CLIP image vectors when an image embedder is configured, else the annotation vectors.

    An encoder trained into the text index's space (StickerCLIP-lite) is trained to land on a
    library sticker's annotation vector, so for library stickers that vector is used: it is what
    the encoder approximates, and what the shipped checkpoint was trained with."""
    image_index = getattr(services, "image_index", None)
    if image_index is not None and not shares_text_space(image_index.embedder, services.index.embedder):
        return FeatureSource(
            f"image:{image_index.embedder.name}",
            image_index.embedder.dim,
            _lookup(image_index.get_vectors, "image vector"),
        )
    return sticker_vectors(services)
