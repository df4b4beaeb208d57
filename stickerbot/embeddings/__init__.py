"""Text embedders behind one Protocol, created by name from a registry."""

from stickerbot.embeddings.base import TextEmbedder
from stickerbot.embeddings.registry import EmbedderSpec, create_text_embedder, get_spec, list_embedders

__all__ = ["EmbedderSpec", "TextEmbedder", "create_text_embedder", "get_spec", "list_embedders"]
