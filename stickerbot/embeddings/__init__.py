"""Text and image embedders behind one Protocol each, created by name from a registry."""

from stickerbot.embeddings.base import EmbedderLoadError, TextEmbedder
from stickerbot.embeddings.image import ImageEmbedder, embed_sticker, embed_stickers
from stickerbot.embeddings.registry import (
    EmbedderSpec,
    ImageEmbedderSpec,
    create_image_embedder,
    create_text_embedder,
    get_image_spec,
    get_spec,
    list_embedders,
    list_image_embedders,
)

__all__ = [
    "EmbedderLoadError",
    "EmbedderSpec",
    "ImageEmbedder",
    "ImageEmbedderSpec",
    "TextEmbedder",
    "create_image_embedder",
    "create_text_embedder",
    "embed_sticker",
    "embed_stickers",
    "get_image_spec",
    "get_spec",
    "list_embedders",
    "list_image_embedders",
]
