"""What every sticker vector collection shares: the Chroma client, the embedder check, paging.

Each collection's metadata records the name and dimension of the embedder that
filled it; opening it with another raises :class:`EmbedderMismatchError`, naming
the setting to change, instead of silently mixing vector spaces. Every item
carries a change marker (a hash of what was embedded) in its metadata, so syncs
embed only what is new or changed.

Chroma is always given our own vectors (``embedding_function=None``): left to
itself it would attach its default ONNX embedder, which downloads weights.

The collections live in an embedded Chroma folder (the default) or in a Chroma server
(``STICKERBOT_CHROMA_URL``, e.g. one ``chroma run --path DIR``), which several app
processes share. The sticker index then carries a library version stamp in its metadata:
an import bumps it, and the other processes reload their library when they see it change.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

from stickerbot.errors import UserError
from stickerbot.index.exact import ExactCopy

log = logging.getLogger(__name__)


class EmbedderMismatchError(UserError, RuntimeError):
    pass


@dataclass(frozen=True)
class VectorHit:
    id: str
    score: float  # cosine similarity


class ChromaUnavailableError(UserError, RuntimeError):
    """No Chroma server answers at STICKERBOT_CHROMA_URL."""


def is_server(location: Path | str) -> bool:
    return isinstance(location, str) and location.startswith(("http://", "https://"))


def chroma_client(location: Path | str):
    """An embedded Chroma in a folder, or the Chroma server at a URL."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    if is_server(location):
        url = urlsplit(str(location))
        https = url.scheme == "https"
        try:
            client = chromadb.HttpClient(
                host=url.hostname or "127.0.0.1",
                port=url.port or (443 if https else 8000),
                ssl=https,
                settings=ChromaSettings(anonymized_telemetry=False),
            )
            client.heartbeat()
        except Exception as err:  # connection refused, DNS, TLS: all one problem for the user
            raise ChromaUnavailableError(
                f"cannot reach the Chroma server at {location} (STICKERBOT_CHROMA_URL): {err}. Start one "
                "with `chroma run --path DIR --port PORT`, or unset STICKERBOT_CHROMA_URL to keep the "
                "index in the data directory."
            ) from err
        return client
    path = Path(location)
    path.mkdir(parents=True, exist_ok=True)
    # Every collection of a data dir opens the folder with these same settings: Chroma
    # shares one system per folder in a process and refuses a second with other settings.
    return chromadb.PersistentClient(
        path=str(path), settings=ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    )


def drop_collections(location: Path | str, names: Sequence[str]) -> list[str]:
    """Delete the named collections that exist at ``location``; the names deleted."""
    client = chroma_client(location)
    present = {c.name for c in client.list_collections()}
    for name in names:
        if name in present:
            client.delete_collection(name)
    return [n for n in names if n in present]


class VectorCollection:
    """A cosine HNSW collection of sticker vectors keyed by sticker id, tied to one embedder."""

    # Metadata field holding each item's change marker.
    marker_key = "hash"
    # The setting that chooses the embedder, named when the collection refuses one.
    embedder_setting = "STICKERBOT_EMBEDDER"

    # Name of the Chroma collection unless the caller gives another.
    default_collection = "vectors"

    def __init__(
        self,
        path: Path | str,
        embedder,
        *,
        collection: str | None = None,
        ef_search: int = 1024,
        ef_construction: int = 200,
        max_neighbors: int = 48,
    ):
        """``path``: the Chroma folder, or a Chroma server's URL. ``embedder`` is a text or image
        embedder: its ``name`` and ``dim`` are recorded and checked."""
        self.path = path if is_server(path) else Path(path)
        self.embedder = embedder
        embedder_name, dim = embedder.name, embedder.dim
        collection = collection or self.default_collection
        self._client = chroma_client(self.path)
        # Chroma's client is not documented as safe for concurrent writers in one process.
        self._write_lock = threading.Lock()
        # Queries of an embedded folder, whose one writer is this object, are answered from an
        # exact in-memory copy (index/exact.py); a server's collection can change under us.
        self._exact = None if is_server(self.path) else ExactCopy(self._read_all, self.__len__)
        self._name = collection
        self._collection = self._client.get_or_create_collection(
            collection,
            embedding_function=None,
            metadata={"embedder": embedder_name, "dim": dim},
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
        if meta.get("embedder") != embedder_name or int(meta.get("dim", -1)) != dim:
            raise EmbedderMismatchError(
                f"the {collection!r} index at {self.path} was built with {meta.get('embedder')} "
                f"({meta.get('dim')}-d), but the embedder now is {embedder_name} ({dim}-d). Set "
                f"{self.embedder_setting}={meta.get('embedder')}, or point STICKERBOT_DATA_DIR elsewhere, "
                "or run `python -m stickerbot index rebuild` to re-embed everything."
            )

    def __len__(self) -> int:
        return self._collection.count()

    # --- the library version stamp ------------------------------------------------------------

    stamp_key = "library_version"

    def stamp(self) -> str:
        """The library version last written to this collection's metadata ("" if none); read
        from the store each time, so another process's write shows."""
        with self._write_lock:
            meta = self._client.get_collection(self._name, embedding_function=None).metadata or {}
        return str(meta.get(self.stamp_key, ""))

    def set_stamp(self, value: str) -> None:
        with self._write_lock:
            meta = dict(self._client.get_collection(self._name, embedding_function=None).metadata or {})
            meta[self.stamp_key] = value
            self._collection.modify(metadata=meta)

    def stored_hashes(self) -> dict[str, str]:
        """id -> change marker of everything in the collection."""
        out: dict[str, str] = {}
        total = len(self)
        page = 5000
        for offset in range(0, total, page):
            got = self._collection.get(include=["metadatas"], limit=page, offset=offset)
            for id_, meta in zip(got["ids"], got["metadatas"], strict=True):
                out[id_] = (meta or {}).get(self.marker_key, "")
        return out

    def _hashes_of(self, ids: Sequence[str], page: int = 1000) -> dict[str, str]:
        """id -> change marker for those of ``ids`` that are in the collection."""
        out: dict[str, str] = {}
        for start in range(0, len(ids), page):
            got = self._collection.get(ids=list(ids[start : start + page]), include=["metadatas"])
            for id_, meta in zip(got["ids"], got["metadatas"], strict=True):
                out[id_] = (meta or {}).get(self.marker_key, "")
        return out

    def delete(self, ids: Sequence[str]) -> None:
        with self._write_lock:
            if ids:
                self._collection.delete(ids=list(ids))
                self._written()

    def _upsert_rows(self, **fields) -> None:
        """Every write of vectors comes through here or :meth:`delete` (under the write lock),
        so the exact copy knows it is stale."""
        self._collection.upsert(**fields)
        self._written()

    def _written(self) -> None:
        if self._exact is not None:
            self._exact.stale()

    def _read_all(self, page: int = 5000) -> tuple[list[str], np.ndarray]:
        """Every id and vector of the collection (for the exact copy)."""
        ids: list[str] = []
        rows: list[np.ndarray] = []
        offset = 0
        while True:
            got = self._collection.get(include=["embeddings"], limit=page, offset=offset)
            if not got["ids"]:
                break
            ids.extend(got["ids"])
            rows.append(np.asarray(got["embeddings"], dtype=np.float32))
            offset += len(got["ids"])
        vectors = np.concatenate(rows) if rows else np.zeros((0, self.embedder.dim), np.float32)
        return ids, vectors

    def query_vectors(self, vectors: np.ndarray, k: int = 10) -> list[list[VectorHit]]:
        """The ``k`` nearest items of each query vector (cosine, best first): exact, from the
        in-memory copy, for an embedded folder of up to ``exact.EXACT_UP_TO`` items; else
        Chroma's HNSW answer (:meth:`query_chroma`)."""
        if k < 1 or len(vectors) == 0:
            return [[] for _ in range(len(vectors))]
        snap = self._exact.snapshot() if self._exact is not None else None
        if snap is None:
            return self.query_chroma(vectors, k)
        return [[VectorHit(i, s) for i, s in hits] for hits in ExactCopy.query(snap, vectors, k)]

    def query_chroma(self, vectors: np.ndarray, k: int = 10) -> list[list[VectorHit]]:
        """Chroma's own (HNSW) answer, whatever the copy: a server's, and ``bench search``'s."""
        # Chroma returns what there is when ``k`` exceeds the count (none from an empty
        # collection), so the count is not asked first: it cost half a query, and under
        # concurrent turns each call waits again for the GIL.
        if k < 1 or len(vectors) == 0:
            return [[] for _ in range(len(vectors))]
        got = self._collection.query(
            query_embeddings=np.asarray(vectors, dtype=np.float32), n_results=k, include=["distances"]
        )
        return [
            [VectorHit(i, 1.0 - float(d)) for i, d in zip(ids, dists, strict=True)]
            for ids, dists in zip(got["ids"], got["distances"], strict=True)
        ]

    def get_vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        got = self._collection.get(ids=list(ids), include=["embeddings"])
        return {
            i: np.asarray(v, dtype=np.float32) for i, v in zip(got["ids"], got["embeddings"], strict=True)
        }
