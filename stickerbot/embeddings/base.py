"""The Protocol every text embedder follows, and the error every embedder raises when it cannot load."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, Protocol, runtime_checkable

import numpy as np


class EmbedderLoadError(RuntimeError):
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
