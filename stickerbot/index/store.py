"""Sticker annotation vectors in a persistent Chroma collection.

The collection's metadata records the embedder's name and dimension; opening
it with a different embedder raises :class:`EmbedderMismatchError` instead of
silently mixing vector spaces. :meth:`StickerIndex.sync` is incremental and
idempotent: each item carries a hash of its text, and only new or changed
items are embedded and written.

Chroma is always given our own vectors (``embedding_function=None``): left to
itself it would attach its default ONNX embedder, which downloads weights.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stickerbot.embeddings.base import TextEmbedder

log = logging.getLogger(__name__)

COLLECTION = "stickers"


class EmbedderMismatchError(RuntimeError):
    pass


@dataclass(frozen=True)
class VectorHit:
    id: str
    score: float  # cosine similarity


def text_hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def _client(path: Path):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(
        path=str(path), settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    )


class StickerIndex:
    """Embeddings of sticker texts, keyed by sticker id."""

    def __init__(
        self,
        path: Path,
        embedder: TextEmbedder,
        *,
        collection: str = COLLECTION,
        ef_search: int = 1024,
        ef_construction: int = 200,
        max_neighbors: int = 48,
    ):
        self.path = Path(path)
        self.embedder = embedder
        self._client = _client(self.path)
        # Chroma's client is not documented as safe for concurrent writers in one process.
        self._write_lock = threading.Lock()
        self._collection = self._client.get_or_create_collection(
            collection,
            embedding_function=None,
            metadata={"embedder": embedder.name, "dim": embedder.dim},
            configuration={
                "hnsw": {
                    "space": "cosine",
                    "ef_search": ef_search,
                    "ef_construction": ef_construction,
                    "max_neighbors": max_neighbors,
                }
            },
        )
        meta = self._collection.metadata or {}
        if meta.get("embedder") != embedder.name or int(meta.get("dim", -1)) != embedder.dim:
            raise EmbedderMismatchError(
                f"the index at {self.path} was built with {meta.get('embedder')} ({meta.get('dim')}-d), "
                f"but the embedder now is {embedder.name} ({embedder.dim}-d). Set STICKERBOT_EMBEDDER="
                f"{meta.get('embedder')}, or point STICKERBOT_DATA_DIR elsewhere, or run "
                "`python -m stickerbot index rebuild` to re-embed everything."
            )

    def __len__(self) -> int:
        return self._collection.count()

    def stored_hashes(self) -> dict[str, str]:
        """id -> text hash of everything in the index."""
        out: dict[str, str] = {}
        total = len(self)
        page = 5000
        for offset in range(0, total, page):
            got = self._collection.get(include=["metadatas"], limit=page, offset=offset)
            for id_, meta in zip(got["ids"], got["metadatas"], strict=True):
                out[id_] = (meta or {}).get("text_hash", "")
        return out

    def _hashes_of(self, ids: Sequence[str], page: int = 1000) -> dict[str, str]:
        """id -> text hash for those of ``ids`` that are in the index."""
        out: dict[str, str] = {}
        for start in range(0, len(ids), page):
            got = self._collection.get(ids=list(ids[start : start + page]), include=["metadatas"])
            for id_, meta in zip(got["ids"], got["metadatas"], strict=True):
                out[id_] = (meta or {}).get("text_hash", "")
        return out

    def sync(
        self,
        items: Sequence[tuple[str, str]],
        *,
        batch_size: int = 256,
        progress: Callable[[int, int], None] | None = None,
    ) -> int:
        """Make the index hold exactly the texts of ``items`` (id, text) for these ids.

        Embeds only ids that are missing or whose text changed; returns how many
        were written. Ids in the index but not in ``items`` are left alone (use
        :meth:`delete`), so packs can be synced one at a time.
        """
        with self._write_lock:
            stored = self._hashes_of([i for i, _ in items])
            todo = [(i, t) for i, t in items if stored.get(i) != text_hash(t)]
            for start in range(0, len(todo), batch_size):
                batch = todo[start : start + batch_size]
                ids = [i for i, _ in batch]
                texts = [t for _, t in batch]
                vectors = self.embedder.encode_documents(texts, batch_size=64)
                self._collection.upsert(
                    ids=ids,
                    embeddings=vectors,
                    documents=texts,
                    metadatas=[{"text_hash": text_hash(t)} for t in texts],
                )
                if progress:
                    progress(len(batch), len(todo))
            return len(todo)

    def add_vectors(self, ids: Sequence[str], vectors: np.ndarray, texts: Sequence[str]) -> None:
        """Write precomputed vectors (benchmarks, bulk loads)."""
        with self._write_lock:
            self._collection.upsert(
                ids=list(ids),
                embeddings=np.asarray(vectors, dtype=np.float32),
                documents=list(texts),
                metadatas=[{"text_hash": text_hash(t)} for t in texts],
            )

    def delete(self, ids: Sequence[str]) -> None:
        with self._write_lock:
            if ids:
                self._collection.delete(ids=list(ids))

    def query_vectors(self, vectors: np.ndarray, k: int = 10) -> list[list[VectorHit]]:
        n = min(k, len(self))
        if n == 0:
            return [[] for _ in range(len(vectors))]
        got = self._collection.query(
            query_embeddings=np.asarray(vectors, dtype=np.float32), n_results=n, include=["distances"]
        )
        return [
            [VectorHit(i, 1.0 - float(d)) for i, d in zip(ids, dists, strict=True)]
            for ids, dists in zip(got["ids"], got["distances"], strict=True)
        ]

    def query_texts(self, texts: list[str], k: int = 10) -> list[list[VectorHit]]:
        return self.query_vectors(self.embedder.encode_queries(texts), k)

    def get_vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        got = self._collection.get(ids=list(ids), include=["embeddings"])
        return {
            i: np.asarray(v, dtype=np.float32) for i, v in zip(got["ids"], got["embeddings"], strict=True)
        }
