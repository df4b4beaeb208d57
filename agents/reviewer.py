"""The reviewer: a sticker must not contradict the message it goes with.

Two checks, either or both (``--reviewer``):
- a rule: the message's emotion, read from the chat's cue words and emoji
  (``assets/annotations/emotion_cues.yaml``), against the sticker's polarity, from its
  fine emotion (Sticker820K) or its SER30K label. Sad news with a party sticker, or good
  news with a crying one, contradict; comforting and thankful stickers suit either side;
- the model, asked a yes/no question. An answer it cannot parse is no opinion.
A message whose words carry no emotion gives the rule nothing to object to.
"""

from __future__ import annotations

from dataclasses import dataclass

from agents.llm import AgentLLM, parse_yes_no
from agents.prompting import Prompts
from stickerbot.chat.emotion import cue_scores, load_cues
from stickerbot.stickers.record import StickerRecord

POSITIVE_FINE = frozenset(
    {"excited", "smiling", "anticipating", "admiring", "proud", "naughty", "relaxed", "funny"}
)
NEGATIVE_FINE = frozenset(
    {
        "embarrassed",
        "sad",
        "painful",
        "angry",
        "poor",
        "disgusted",
        "afraid",
        "dissatisfied",
        "opposing",
        "crying",
        "envious",
    }
)
# comforting, encouraging, intimate, thankful, agreeing, sorry, shocked, confused, shy,
# perfunctory, other: no polarity a message could contradict.
MESSAGE_POLARITY = {
    "Happiness": "positive",
    "Sadness": "negative",
    "Anger": "negative",
    "Disgust": "negative",
    "Fear": "negative",
}
STICKER_POLARITY = {
    "Happiness": "positive",
    "Sadness": "negative",
    "Anger": "negative",
    "Disgust": "negative",
}


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str
    source: str  # rule | model | none

    def describe(self) -> str:
        return f"{'ok' if self.ok else 'rejected'} ({self.source}): {self.reason}"


def message_emotion(text: str) -> str | None:
    """The emotion the message's cue words and emoji point to most, or None."""
    cues, _ = load_cues()
    scores, _ = cue_scores(text, cues)
    if not scores:
        return None
    return max(sorted(scores), key=lambda e: scores[e])


def sticker_polarity(record: StickerRecord) -> str:
    if record.fine_emotion:
        if record.fine_emotion in POSITIVE_FINE:
            return "positive"
        if record.fine_emotion in NEGATIVE_FINE:
            return "negative"
        return "neutral"
    return STICKER_POLARITY.get(record.emotion, "neutral")


def contradicts(emotion: str | None, record: StickerRecord) -> bool:
    """Whether a sticker's polarity is the opposite of a message emotion's (pure)."""
    message = MESSAGE_POLARITY.get(emotion or "")
    sticker = sticker_polarity(record)
    return {message, sticker} == {"positive", "negative"}


def describe_sticker(record: StickerRecord) -> str:
    """How a sticker is shown to the model: its name (a caption sticker's name holds its words)
    and its feeling. The bundled descriptions all start alike ("3D cartoon emoji sticker: ..."),
    which a small model copies instead of reading."""
    return f"{record.name} ({record.fine_emotion or record.emotion})"[:140]


class Reviewer:
    def __init__(self, mode: str, llm: AgentLLM | None, prompts: Prompts):
        self.mode = mode
        self.llm = llm
        self.prompts = prompts

    def rule(self, text: str, record: StickerRecord) -> Verdict:
        emotion = message_emotion(text)
        if emotion is None:
            return Verdict(True, "no emotion cue in the message", "rule")
        if contradicts(emotion, record):
            return Verdict(
                False, f"message reads {emotion}, sticker is {record.fine_emotion or record.emotion}", "rule"
            )
        return Verdict(True, f"message reads {emotion}, sticker agrees", "rule")

    def review(self, text: str, record: StickerRecord) -> Verdict:
        if self.mode == "off":
            return Verdict(True, "review off", "none")
        if self.mode in ("rule", "both"):
            verdict = self.rule(text, record)
            if not verdict.ok or self.mode == "rule":
                return verdict
        if self.llm is None:
            return Verdict(True, "no model to ask", "none")
        prompt = self.prompts.render("reviewer.check", message=text, sticker=describe_sticker(record))
        answer = self.llm.ask(
            [
                {"role": "system", "content": self.prompts.render("plan.system")},
                {"role": "user", "content": prompt},
            ],
            parse_yes_no,
            max_new_tokens=4,
        )
        if answer.value is None:
            why = answer.error or f"unclear answer {answer.text[:40]!r}"
            return Verdict(True, f"no opinion ({why})", "none")
        if answer.value:
            return Verdict(False, "the model says it contradicts the message", "model")
        return Verdict(True, "the model sees no contradiction", "model")
