"""The Protocol every text embedder follows, and the error every embedder raises when it cannot load."""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Protocol, runtime_checkable

import numpy as np

from stickerbot.errors import UserError


class EmbedderLoadError(UserError, RuntimeError):
    """A model's weights could not be loaded; the message names the settings to change."""


# Loaded models are shared read-only across the process (the index, the importer's
# workers, search requests and the app all embed with the same weights); the lock
# makes the first load happen once even when two callers race for it.
_SHARED: dict[Hashable, Any] = {}
_SHARED_LOCK = threading.Lock()


def shared_model(key: Hashable, load: Callable[[], Any]) -> Any:
    """``load()`` once per ``key`` in this process; later calls return the same object."""
    with _SHARED_LOCK:
        if key not in _SHARED:
            _SHARED[key] = load()
        return _SHARED[key]


@runtime_checkable
class TextEmbedder(Protocol):
    """Maps texts to L2-normalised float32 vectors of a fixed dimension.

    Documents and queries are encoded separately because retrieval models such
    as bge prepend an instruction to queries only.
    """

    name: str
    dim: int
    languages: tuple[str, ...]

    def encode_documents(
        self, texts: list[str], *, batch_size: int = 64, progress: bool = False
    ) -> np.ndarray: ...

    def encode_queries(self, texts: list[str]) -> np.ndarray: ...


class QueryCache:
    """An embedder's ``encode_queries`` that keeps the last ``size`` texts' vectors.

    A chat turn embeds the same short texts more than once: a candidate reply is read by the
    tone model and by the response selector, the model's first sentence is checked and then
    scored, and the strategy replies recur every turn. Vectors are a pure function of the text,
    so the cache is safe to share between sessions; the lock only guards its bookkeeping."""

    def __init__(self, encode: Callable[[list[str]], np.ndarray], size: int = 4096):
        self.encode = encode
        self.size = size
        self._rows: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, texts: list[str]) -> np.ndarray:
        texts = list(texts)
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for t in texts:
                row = self._rows.get(t)
                if row is not None:
                    self._rows.move_to_end(t)
                    found[t] = row
        missing = list(dict.fromkeys(t for t in texts if t not in found))
        if missing:
            rows = np.asarray(self.encode(missing), dtype=np.float32)
            with self._lock:
                for t, row in zip(missing, rows, strict=True):
                    row = row.copy()  # not a view that keeps the whole batch alive
                    row.setflags(write=False)
                    found[t] = self._rows[t] = row
                while len(self._rows) > self.size:
                    self._rows.popitem(last=False)
        if not texts:
            return self.encode([])
        return np.stack([found[t] for t in texts])


_QUERY_CACHES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def cached_queries(embedder: TextEmbedder) -> QueryCache:
    """The one :class:`QueryCache` of ``embedder`` in this process (it lives as long as the embedder)."""
    with _SHARED_LOCK:
        cache = _QUERY_CACHES.get(embedder)
        if cache is None:
            cache = _QUERY_CACHES[embedder] = QueryCache(embedder.encode_queries)
        return cache
