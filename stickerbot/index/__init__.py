"""The Chroma vector store of sticker annotation embeddings."""

from stickerbot.index.store import EmbedderMismatchError, StickerIndex, VectorHit

__all__ = ["EmbedderMismatchError", "StickerIndex", "VectorHit"]
