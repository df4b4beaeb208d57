"""The Protocol every text embedder follows, and the error every embedder raises when it cannot load."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


class EmbedderLoadError(RuntimeError):
    """A model's weights could not be loaded; the message names the settings to change."""


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
