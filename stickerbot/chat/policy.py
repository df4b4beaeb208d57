"""When a reply carries a sticker: pure functions of the turn, tested on their own.

- ``off``: never; ``always``: on every turn that is not a plain factual question;
- ``occasional`` (the default): when the user's message carries an emotion, and never two
  turns in a row, the way a friend uses stickers;
- never on a purely factual question ("what's the capital of Peru?"), whatever the setting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from stickerbot.errors import UserError
from stickerbot.text import normalize


class Frequency(str, Enum):
    OFF = "off"
    OCCASIONAL = "occasional"
    ALWAYS = "always"

    @classmethod
    def parse(cls, value: str | Frequency) -> Frequency:
        try:
            return cls(value)
        except ValueError:
            choices = ", ".join(f.value for f in cls)
            raise UserError(f"sticker frequency {value!r} is not one of {choices}") from None


_EN_QUESTION_START = re.compile(
    r"^(?:what|what's|whats|who|who's|when|where|which|how|how's|is|are|was|were|do|does|did|can|could|"
    r"should|would|will|tell me|explain|define|convert|calculate|translate|list|give me|name)\b"
)
_EN_QUESTION_WORDS = re.compile(r"\b(?:how (?:many|much|long|far|old|do|to)|what is|what are|what's the)\b")
_ZH_QUESTION = re.compile(r"(?:什么|怎么|怎样|多少|几|哪|谁|吗|呢|如何|是否|为什么|请问)")


def looks_like_question(text: str) -> bool:
    """A request for information by its form: a question mark, a wh-word start, or 吗/什么/怎么."""
    norm = normalize(text).strip()
    if not norm:
        return False
    if norm.endswith(("?", "？")):
        return True
    if _ZH_QUESTION.search(norm):
        return True
    return bool(_EN_QUESTION_START.match(norm) or _EN_QUESTION_WORDS.search(norm))


def is_factual(text: str, *, emotional: bool) -> bool:
    """A purely factual question: asked as a question, with no emotion in it.

    ``emotional`` comes from emotion perception (cue words, similar dialogues, a sticker):
    "why does this always happen to me??" is a question but not a factual one.
    """
    return looks_like_question(text) and not emotional


@dataclass(frozen=True)
class StickerDecision:
    send: bool
    why: str


def decide(
    frequency: Frequency,
    *,
    factual: bool,
    emotional: bool,
    sent_last_turn: bool,
) -> StickerDecision:
    if frequency is Frequency.OFF:
        return StickerDecision(False, "stickers are off")
    if factual:
        return StickerDecision(False, "a factual question gets a plain answer")
    if frequency is Frequency.ALWAYS:
        return StickerDecision(True, "stickers are always on")
    if sent_last_turn:
        return StickerDecision(False, "the last reply already had a sticker")
    if not emotional:
        return StickerDecision(False, "no emotion to answer with a sticker")
    return StickerDecision(True, "an emotional moment, and no sticker last turn")
