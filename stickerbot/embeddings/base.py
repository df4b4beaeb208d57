"""The Protocol every text embedder follows."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


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
