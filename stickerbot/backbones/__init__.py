"""Chat backbones behind one Protocol, created by name from a registry."""

from stickerbot.backbones.base import BackboneError, Capabilities, ChatBackbone, GenerationResult
from stickerbot.backbones.registry import (
    BackboneSpec,
    create_backbone,
    get_spec,
    list_backbones,
    register,
)

__all__ = [
    "BackboneError",
    "BackboneSpec",
    "Capabilities",
    "ChatBackbone",
    "GenerationResult",
    "create_backbone",
    "get_spec",
    "list_backbones",
    "register",
]
