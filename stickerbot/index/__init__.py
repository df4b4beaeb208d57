"""The Chroma vector stores: sticker annotation embeddings, and optional sticker image embeddings."""

from stickerbot.index.collection import EmbedderMismatchError, VectorHit
from stickerbot.index.images import StickerImageIndex
from stickerbot.index.store import StickerIndex

__all__ = ["EmbedderMismatchError", "StickerImageIndex", "StickerIndex", "VectorHit"]
