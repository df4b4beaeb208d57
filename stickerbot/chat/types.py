"""What goes into a chat turn and what comes out of it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from stickerbot.chat.policy import Frequency
from stickerbot.errors import UserError
from stickerbot.retrieval.search import SearchHit

LANGUAGES = ("auto", "en", "zh")


@dataclass(frozen=True)
class Turn:
    """One message of the conversation so far, as the app or a history file holds it."""

    role: str  # "user" or "assistant"
    text: str
    # The sticker id sent with the message (the bot's choice, or the library match of an upload).
    sticker: str | None = None
    # What a user's uploaded sticker shows or says, as given to the model.
    sticker_description: str | None = None

    def __post_init__(self) -> None:
        if self.role not in ("user", "assistant"):
            raise UserError(f"a turn's role must be 'user' or 'assistant', got {self.role!r}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Turn:
        """From ``{"role", "content" or "text", "sticker"?, "sticker_description"?}`` (OpenAI-style ok)."""
        if not isinstance(data, dict) or "role" not in data:
            raise UserError(f"a history turn must be an object with a 'role', got {data!r}"[:200])
        text = data.get("content", data.get("text", ""))
        if not isinstance(text, str):
            raise UserError("a history turn's content must be a string")
        return cls(data["role"], text, data.get("sticker"), data.get("sticker_description"))

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"role": self.role, "content": self.text}
        if self.sticker:
            out["sticker"] = self.sticker
        if self.sticker_description:
            out["sticker_description"] = self.sticker_description
        return out


def parse_history(items: Sequence[dict[str, Any]]) -> list[Turn]:
    if not isinstance(items, list):
        raise UserError("a history must be a JSON list of turns")
    return [Turn.from_dict(item) for item in items]


@dataclass(frozen=True)
class ChatOptions:
    """Per-session choices (the app's settings panel); defaults come from Settings."""

    frequency: Frequency = Frequency.OCCASIONAL
    language: str = "auto"  # reply language: "auto" follows the user
    max_new_tokens: int = 64
    temperature: float = 0.0
    # Similar exchanges from the memory shown to the model as examples. 0: the fine-tuned
    # model learned the register from the memory already, and copying an example's situation
    # was the commonest off-topic reply.
    examples: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "frequency", Frequency.parse(self.frequency))
        if self.language not in LANGUAGES:
            raise UserError(f"language {self.language!r} is not one of {LANGUAGES}")
        if not 1 <= self.max_new_tokens <= 1024:
            raise UserError("max_new_tokens must be between 1 and 1024")


@dataclass
class Reply:
    text: str
    sticker: SearchHit | None
    # The fine intent read in the turn (chat/data/intents.yaml) and the SER30K emotion it derives.
    intent: str
    user_emotion: str
    emotion_confidence: float
    language: str
    # "model" when the backbone wrote the text, "memory" when it is the reply of a stored
    # exchange about the same situation, "strategy" when it is one of the intent's short replies.
    source: str
    why_sticker: str
    timings: dict[str, float]
    tokens: dict[str, int] = field(default_factory=dict)
    upload: dict[str, Any] | None = None
    examples: list[str] = field(default_factory=list)
    # Candidate replies that were not sent, and why (the checks that failed, a lower score).
    rejected: list[str] = field(default_factory=list)
    # The selector's margin of the model's first sentence over the best other candidate (None
    # when the model did not write or nothing ranked it): positive means the model's words won.
    model_margin: float | None = None

    def to_dict(self) -> dict[str, Any]:
        sticker = None
        if self.sticker is not None:
            full = self.sticker.to_dict()
            sticker = {k: full[k] for k in ("id", "emoji", "hexcode", "emotion", "path", "score")}
            sticker["name"] = full["name"]
            sticker["why"] = self.sticker.reasons
        return {
            "text": self.text,
            "sticker": sticker,
            "intent": self.intent,
            "user_emotion": self.user_emotion,
            "emotion_confidence": self.emotion_confidence,
            "language": self.language,
            "source": self.source,
            "why_sticker": self.why_sticker,
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "tokens": self.tokens,
            "upload": self.upload,
            "examples": self.examples,
            "rejected": self.rejected,
            "model_margin": self.model_margin,
        }
