"""Precomputed text vectors of the bundled pack, shipped so a first start need not embed it.

One .npz per embedder (assets/stickers/vectors/<embedder>.npz): ids, the hash of
the text each vector was computed from, and the vectors (float16: 0.8 MB for
1,275 x 384). A vector is used only when its text hash matches the text being
indexed now, so a stale cache costs nothing but the embedding it fails to save.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from stickerbot.atomic import atomic_path

log = logging.getLogger(__name__)


def cache_path(folder: Path, embedder_name: str, dim: int) -> Path:
    return folder / f"{embedder_name}-{dim}.npz"


def save_vectors(path: Path, ids: Sequence[str], hashes: Sequence[str], vectors: np.ndarray) -> None:
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez_compressed(
            tmp, ids=np.array(ids), hashes=np.array(hashes), vectors=np.asarray(vectors, dtype=np.float16)
        )


def load_vectors(path: Path, dim: int) -> dict[str, tuple[str, np.ndarray]]:
    """id -> (text hash, unit vector); empty when the file is missing or unusable."""
    if not path.exists():
        return {}
    try:
        with np.load(path, allow_pickle=False) as data:
            ids, hashes, vectors = data["ids"], data["hashes"], data["vectors"].astype(np.float32)
    except (OSError, KeyError, ValueError) as err:
        log.warning("ignoring the vector cache %s (%s)", path, err)
        return {}
    if vectors.ndim != 2 or vectors.shape[1] != dim or len(ids) != len(vectors):
        log.warning("ignoring the vector cache %s: shape %s does not fit %d-d", path, vectors.shape, dim)
        return {}
    # float16 storage: renormalise so cosine scores match freshly computed vectors.
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    return {str(i): (str(h), v) for i, h, v in zip(ids, hashes, vectors, strict=True)}
