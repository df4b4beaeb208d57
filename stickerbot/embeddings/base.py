"""The Protocol every text embedder follows, and the error every embedder raises when it cannot load."""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Protocol, runtime_checkable

import numpy as np

from stickerbot.errors import UserError


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Vectors scaled to length 1 along the last axis (a zero vector stays zero), as float32:
    cosine as a dot product (pure)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.where(norms > 0, norms, 1.0)


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


class CoalescingEncoder:
    """``encode`` for many threads at once, with the texts that arrive together encoded in one
    batch (as the decoder batches turns: ``backbones/batching.py``).

    No thread waits for company: a caller with nobody encoding encodes at once. Callers that
    arrive while an encode runs queue up; when it ends, the first of them is woken to encode
    everything queued in one call (and so on), so no caller serves batches after its own. On
    a CPU a short text's encode is mostly fixed cost (tokenising, one pass through the layers
    at tiny sizes), so under load a batch costs little more than one text, and alone nothing
    changes. An error fails only the callers of that batch."""

    def __init__(self, encode: Callable[[list[str]], np.ndarray]):
        self.encode = encode
        self._lock = threading.Lock()
        self._queue: list[tuple[list[str], _Pending]] = []
        self._busy = False

    def __call__(self, texts: list[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return self.encode([])
        mine = _Pending()
        with self._lock:
            self._queue.append((texts, mine))
            if not self._busy:
                self._busy = True
                mine.promote()
        while True:
            mine.wait()
            if mine.done:
                return mine.result()
            self._encode_queue()  # promoted: this thread encodes the queue (its own texts included)

    def _encode_queue(self) -> None:
        with self._lock:
            batch, self._queue = self._queue, []
        unique = list(dict.fromkeys(t for texts, _ in batch for t in texts))
        try:
            rows = np.asarray(self.encode(unique), dtype=np.float32)
        except BaseException as err:  # handed to each caller of this batch
            for _, pending in batch:
                pending.fail(err)
        else:
            where = {t: i for i, t in enumerate(unique)}
            for texts, pending in batch:
                pending.set(rows[[where[t] for t in texts]])
        with self._lock:
            if self._queue:
                self._queue[0][1].promote()
            else:
                self._busy = False


class _Pending:
    """One caller's rows, set by whichever thread encoded its batch; or its turn to encode."""

    def __init__(self):
        self._event = threading.Event()
        self.done = False
        self._rows: np.ndarray | None = None
        self._error: BaseException | None = None

    def wait(self) -> None:
        self._event.wait()
        self._event.clear()

    def promote(self) -> None:
        self._event.set()

    def set(self, rows: np.ndarray) -> None:
        self._rows, self.done = rows, True
        self._event.set()

    def fail(self, error: BaseException) -> None:
        self._error, self.done = error, True
        self._event.set()

    def result(self) -> np.ndarray:
        if self._error is not None:
            raise self._error
        return self._rows


_QUERY_CACHES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def cached_queries(embedder: TextEmbedder) -> QueryCache:
    """The one :class:`QueryCache` of ``embedder`` in this process (it lives as long as the embedder);
    what it does not hold, concurrent callers encode together (:class:`CoalescingEncoder`)."""
    with _SHARED_LOCK:
        cache = _QUERY_CACHES.get(embedder)
        if cache is None:
            cache = _QUERY_CACHES[embedder] = QueryCache(CoalescingEncoder(embedder.encode_queries))
        return cache
