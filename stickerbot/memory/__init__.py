"""Empathetic context memory: StickerConv-format dialogues, embedded in Chroma, retrieved as examples."""

from stickerbot.memory.dialogues import DialogueFormatError, Exchange, iter_exchanges, load_exchanges
from stickerbot.memory.store import DialogueMemory, MemoryHit, add_dialogue_file

__all__ = [
    "DialogueFormatError",
    "DialogueMemory",
    "Exchange",
    "MemoryHit",
    "add_dialogue_file",
    "iter_exchanges",
    "load_exchanges",
]
