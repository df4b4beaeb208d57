"""Perceptual hash (64-bit DCT hash) and Hamming search for duplicate stickers.

The hash keeps the signs of the lowest 8x8 DCT frequencies of a 32x32 grey
thumbnail relative to their median, so re-encoding, resizing and small edits
change only a few bits while different stickers differ in about half.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image

from stickerbot.stickers.images import flatten

HASH_SIZE = 8
_SAMPLE = HASH_SIZE * 4


@lru_cache(maxsize=1)
def _dct_matrix(n: int = _SAMPLE) -> np.ndarray:
    k = np.arange(n)[:, None]
    x = np.arange(n)[None, :]
    return np.cos(np.pi * (2 * x + 1) * k / (2 * n))


def phash(image: Image.Image) -> str:
    """16 hex digits of the 64-bit perceptual hash of ``image``."""
    grey = flatten(image).convert("L").resize((_SAMPLE, _SAMPLE), Image.Resampling.LANCZOS)
    pixels = np.asarray(grey, dtype=np.float64)
    c = _dct_matrix()
    low = (c @ pixels @ c.T)[:HASH_SIZE, :HASH_SIZE]
    bits = (low > np.median(low)).flatten()
    value = 0
    for bit in bits:
        value = (value << 1) | int(bit)
    return f"{value:016x}"


def hashes_to_array(hashes: list[str]) -> np.ndarray:
    """Hex hashes -> uint64 array (empty hashes become 0 and must be masked by the caller)."""
    return np.array([int(h, 16) if h else 0 for h in hashes], dtype=np.uint64)


def hamming(query: str, hashes: np.ndarray) -> np.ndarray:
    """Hamming distance from one hex hash to every hash in a uint64 array."""
    return np.bitwise_count(hashes ^ np.uint64(int(query, 16))).astype(np.int64)
