"""Sticker annotation vectors in a persistent Chroma collection.

The collection records the text embedder's name and dimension and refuses
another (see :mod:`stickerbot.index.collection`). :meth:`StickerIndex.sync` is
incremental and idempotent: each item carries a hash of its text, and only new
or changed items are embedded and written.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from stickerbot.embeddings.base import TextEmbedder, cached_queries
from stickerbot.index.collection import EmbedderMismatchError, VectorCollection, VectorHit

log = logging.getLogger(__name__)

COLLECTION = "stickers"

__all__ = ["COLLECTION", "EmbedderMismatchError", "StickerIndex", "TextIndex", "VectorHit", "text_hash"]


def text_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


class TextIndex(VectorCollection):
    """Embeddings of texts keyed by id, synced incrementally by text hash."""

    marker_key = "text_hash"
    embedder: TextEmbedder
    embedder_setting = "STICKERBOT_EMBEDDER"

    def sync(
        self,
        items: Sequence[tuple[str, str]],
        *,
        batch_size: int = 256,
        progress: Callable[[int, int], None] | None = None,
        precomputed: Mapping[str, tuple[str, np.ndarray]] | None = None,
    ) -> int:
        """Make the index hold exactly the texts of ``items`` (id, text) for these ids.

        Embeds only ids that are missing or whose text changed; returns how many
        were written. ``precomputed`` (id -> (text hash, vector)) supplies vectors
        computed earlier by the same embedder; they are used where the hash matches.
        Ids in the index but not in ``items`` are left alone (use :meth:`delete`),
        so packs can be synced one at a time.
        """
        precomputed = precomputed or {}
        with self._write_lock:
            stored = self._hashes_of([i for i, _ in items])
            todo = [(i, t) for i, t in items if stored.get(i) != text_hash(t)]
            for start in range(0, len(todo), batch_size):
                batch = todo[start : start + batch_size]
                ids = [i for i, _ in batch]
                texts = [t for _, t in batch]
                hashes = [text_hash(t) for t in texts]
                cached = [precomputed.get(i, ("", None)) for i in ids]
                missing = [n for n, (h, (ch, _)) in enumerate(zip(hashes, cached, strict=True)) if h != ch]
                vectors = np.zeros((len(batch), self.embedder.dim), dtype=np.float32)
                for n in set(range(len(batch))) - set(missing):
                    vectors[n] = cached[n][1]
                if missing:
                    vectors[missing] = self.embedder.encode_documents(
                        [texts[n] for n in missing], batch_size=64
                    )
                self._upsert_rows(
                    ids=ids,
                    embeddings=vectors,
                    documents=texts,
                    metadatas=[{"text_hash": h} for h in hashes],
                )
                if progress:
                    progress(len(batch), len(todo))
            return len(todo)

    def add_vectors(self, ids: Sequence[str], vectors: np.ndarray, texts: Sequence[str]) -> None:
        """Write precomputed vectors (benchmarks, bulk loads)."""
        with self._write_lock:
            self._upsert_rows(
                ids=list(ids),
                embeddings=np.asarray(vectors, dtype=np.float32),
                documents=list(texts),
                metadatas=[{"text_hash": text_hash(t)} for t in texts],
            )

    def query_texts(self, texts: list[str], k: int = 10) -> list[list[VectorHit]]:
        # Cached: a chat turn searches with texts it has already read (its reply, the intent's query).
        return self.query_vectors(cached_queries(self.embedder)(texts), k)


class StickerIndex(TextIndex):
    """Embeddings of sticker annotation texts, keyed by sticker id."""

    default_collection = COLLECTION
