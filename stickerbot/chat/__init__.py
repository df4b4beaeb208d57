"""The conversation engine: a warm reply and the right sticker for each turn (see service.py)."""

from stickerbot.chat.policy import Frequency
from stickerbot.chat.service import ChatService, TurnPlan
from stickerbot.chat.types import ChatOptions, Reply, Turn, parse_history

__all__ = ["ChatOptions", "ChatService", "Frequency", "Reply", "Turn", "TurnPlan", "parse_history"]
