"""Sticker image vectors in their own Chroma collection, next to the text index.

The collection lives in the same folder as :class:`~stickerbot.index.store.StickerIndex`
but apart from it (text and image vectors are different spaces), and records the
image embedder's name and dimension. :meth:`StickerImageIndex.sync` is incremental
and idempotent: each item carries its image's sha256, and only stickers that are
missing or whose image changed are loaded and embedded.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from stickerbot.embeddings.image import ImageEmbedder, embed_sticker, embed_stickers
from stickerbot.index.collection import VectorCollection, VectorHit
from stickerbot.stickers.images import LoadedImage

log = logging.getLogger(__name__)

IMAGE_COLLECTION = "sticker_images"


class StickerImageIndex(VectorCollection):
    """Image embeddings of stickers (mean of first, middle and last frame), keyed by sticker id."""

    marker_key = "sha256"
    default_collection = IMAGE_COLLECTION
    embedder: ImageEmbedder
    embedder_setting = "STICKERBOT_IMAGE_EMBEDDER"

    def sync(
        self,
        items: Sequence[tuple[str, str]],
        load: Callable[[str], LoadedImage | None],
        *,
        batch_size: int = 32,
        progress: Callable[[int, int], None] | None = None,
        precomputed: Mapping[str, tuple[str, np.ndarray]] | None = None,
    ) -> int:
        """Embed the stickers of ``items`` (id, sha256) that are missing or whose image changed.

        ``precomputed`` (id -> (marker, vector)) supplies vectors the same embedder computed
        earlier (the bundled pack's, shipped); they are used where the marker matches.

        ``load(id)`` gives a sticker's image, or None when it cannot be read (it is
        then skipped, and retried on the next sync). Returns how many were written.
        Ids in the index but not in ``items`` are left alone (use :meth:`delete`).
        """
        precomputed = precomputed or {}
        with self._write_lock:
            stored = self._hashes_of([i for i, _ in items])
            todo = [(i, sha) for i, sha in items if stored.get(i) != self.marker(sha)]
            cached = [(i, sha) for i, sha in todo if precomputed.get(i, ("", None))[0] == self.marker(sha)]
            if cached:
                vectors = np.stack([precomputed[i][1] for i, _ in cached])
                self._upsert([i for i, _ in cached], [sha for _, sha in cached], vectors)
                if progress:
                    progress(len(cached), len(todo))
            done = {i for i, _ in cached}
            written = len(cached)
            rest = [(i, sha) for i, sha in todo if i not in done]
            for start in range(0, len(rest), batch_size):
                batch = rest[start : start + batch_size]
                loaded = [(i, sha, load(i)) for i, sha in batch]
                ready = [(i, sha, image) for i, sha, image in loaded if image is not None]
                if ready:
                    vectors = embed_stickers(self.embedder, [image for _, _, image in ready])
                    self._upsert([i for i, _, _ in ready], [sha for _, sha, _ in ready], vectors)
                    written += len(ready)
                if progress:
                    progress(len(batch), len(todo))
            return written

    def add_vectors(self, ids: Sequence[str], sha256s: Sequence[str], vectors: np.ndarray) -> None:
        """Write precomputed sticker vectors (the importer embeds in its worker threads)."""
        with self._write_lock:
            self._upsert(list(ids), list(sha256s), vectors)

    def marker(self, sha256: str) -> str:
        """What an item's vector depends on: its image, and the encoder's weights when the
        embedder names them (a retrained encoder of the same name re-embeds everything)."""
        fingerprint = getattr(self.embedder, "fingerprint", "")
        return f"{sha256}:{fingerprint}" if fingerprint else sha256

    def _upsert(self, ids: list[str], sha256s: list[str], vectors: np.ndarray) -> None:
        if ids:
            self._upsert_rows(
                ids=ids,
                embeddings=np.asarray(vectors, dtype=np.float32),
                metadatas=[{"sha256": self.marker(sha)} for sha in sha256s],
            )

    def query_image(self, image: LoadedImage, k: int = 10) -> list[VectorHit]:
        """Stickers nearest to an image, embedded by the same rule as the library's."""
        return self.query_vectors(embed_sticker(self.embedder, image)[None, :], k)[0]
