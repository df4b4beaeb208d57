"""Does the chat pick a sticker that fits how the user feels? Evaluated on written chat messages.

Each message of the set (``assets/eval/chat_heldout.jsonl``) has the emotion its writer
meant (one of the SER30K seven) and whether it is a plain factual question. With stickers
set to ``always``, the evaluator asks the ChatService what it perceives and which sticker
it sends, then reports per language:

- emotion accuracy: the perceived emotion equals the written one;
- sticker fit: on emotional (non-factual) messages, a sticker was sent and it answers the
  written emotion by ``stickers.labels.RESPONSE_FIT`` (no sticker counts as a miss);
- factual without sticker: factual questions answered with no sticker;
- when-to-send accuracy over all messages (send on non-factual, not on factual).

Without ``generate`` the sticker is chosen from the message alone (no reply text): fit
depends on the emotion, which is decided before generation, so this measures the same
thing in seconds instead of one model reply per message.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from stickerbot.chat.policy import Frequency
from stickerbot.chat.types import ChatOptions
from stickerbot.errors import UserError
from stickerbot.evaluation.metrics import accuracy, share, when_to_send_accuracy
from stickerbot.stickers.labels import EMOTIONS, sticker_fits


@dataclass(frozen=True)
class ChatMessage:
    id: str
    lang: str
    message: str
    emotion: str
    factual: bool


def load_chat_messages(path: Path) -> list[ChatMessage]:
    out = []
    with Path(path).open(encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                item = ChatMessage(
                    d["id"], d["lang"], d["message"], d["emotion"], bool(d.get("factual", False))
                )
            except (json.JSONDecodeError, KeyError, TypeError) as err:
                raise UserError(
                    f"{Path(path).name}, line {line_no}: not a chat message record ({err})"
                ) from err
            if item.emotion not in EMOTIONS:
                raise UserError(f"{Path(path).name}, line {line_no}: unknown emotion {item.emotion!r}")
            out.append(item)
    return out


@dataclass(frozen=True)
class Outcome:
    item: ChatMessage
    perceived: str
    sticker_id: str | None
    sticker_emotion: str | None
    sticker_fine: str | None

    @property
    def sent(self) -> bool:
        return self.sticker_id is not None

    @property
    def fits(self) -> bool:
        return self.sent and sticker_fits(self.item.emotion, self.sticker_emotion, self.sticker_fine)


def summarize(outcomes: Sequence[Outcome]) -> dict:
    """The metrics of one group of outcomes (pure)."""
    emotional = [o for o in outcomes if not o.item.factual]
    factual = [o for o in outcomes if o.item.factual]
    return {
        "n": len(outcomes),
        "emotion_accuracy": round(
            100 * accuracy([o.item.emotion for o in outcomes], [o.perceived for o in outcomes]), 1
        ),
        "sticker_fit": round(100 * share([o.fits for o in emotional]), 1),
        "emotional_n": len(emotional),
        "factual_without_sticker": round(100 * share([not o.sent for o in factual]), 1),
        "factual_n": len(factual),
        "when_to_send_accuracy": round(
            100 * when_to_send_accuracy([not o.item.factual for o in outcomes], [o.sent for o in outcomes]), 1
        ),
    }


@dataclass
class ChatReport:
    outcomes: list[Outcome]

    def by_language(self) -> dict[str, dict]:
        langs = sorted({o.item.lang for o in self.outcomes})
        out = {lang: summarize([o for o in self.outcomes if o.item.lang == lang]) for lang in langs}
        out["all"] = summarize(self.outcomes)
        return out

    def misses(self) -> list[dict]:
        return [
            {
                "id": o.item.id,
                "message": o.item.message,
                "emotion": o.item.emotion,
                "perceived": o.perceived,
                "sticker": o.sticker_id,
            }
            for o in self.outcomes
            if (o.item.factual and o.sent) or (not o.item.factual and not o.fits)
        ]

    def to_dict(self) -> dict:
        return {"results": self.by_language(), "misses": self.misses()}

    def table(self) -> str:
        rows = [
            f"{'lang':5s} {'n':>4s} {'emotion':>8s} {'fit':>6s} {'factual-no-sticker':>19s} {'when-to-send':>13s}"
        ]
        for lang, r in self.by_language().items():
            rows.append(
                f"{lang:5s} {r['n']:4d} {r['emotion_accuracy']:8.1f} {r['sticker_fit']:6.1f} "
                f"{r['factual_without_sticker']:19.1f} {r['when_to_send_accuracy']:13.1f}"
            )
        return "\n".join(rows)


class ChatEvaluator:
    def __init__(self, messages: Sequence[ChatMessage]):
        if not messages:
            raise UserError("no chat messages to evaluate")
        self.messages = list(messages)

    def run(self, chat, *, generate: bool = False, progress: bool = False) -> ChatReport:
        options = ChatOptions(frequency=Frequency.ALWAYS)
        outcomes = []
        for item in tqdm(self.messages, desc="chat turns", unit="message", disable=not progress, leave=False):
            if generate:
                reply = chat.reply([], item.message, options=options)
                hit, perceived = reply.sticker, reply.user_emotion
            else:
                plan = chat.plan([], item.message, options=options)
                hit, perceived = chat.choose_sticker(plan, ""), plan.perception.emotion
            record = hit.record if hit is not None else None
            outcomes.append(
                Outcome(
                    item,
                    perceived,
                    record.id if record else None,
                    record.emotion if record else None,
                    record.fine_emotion if record else None,
                )
            )
        return ChatReport(outcomes)
