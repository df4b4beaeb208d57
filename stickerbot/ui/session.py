"""One browser session's conversation and choices (the chat tab keeps one per tab)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from stickerbot.chat.policy import Frequency
from stickerbot.chat.types import ChatOptions, Turn


@dataclass
class Session:
    """One browser session's conversation and choices; never shared between sessions."""

    turns: list[Turn] = field(default_factory=list)
    frequency: str = Frequency.OCCASIONAL.value
    language: str = "auto"
    # The last message sent, so Retry can send it again: (text, uploaded file path or None).
    last_message: tuple[str, str | None] | None = None
    # Whether that message's exchange was remembered (a refused upload is not).
    last_saved: bool = False

    def options(self, defaults: ChatOptions) -> ChatOptions:
        return replace(defaults, frequency=self.frequency, language=self.language)


def new_session(defaults: ChatOptions) -> Session:
    return Session(frequency=defaults.frequency.value, language=defaults.language)
