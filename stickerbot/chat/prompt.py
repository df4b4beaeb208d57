"""The messages the backbone sees: a short persona, what the user is doing in this turn and how
a friend answers it (the intent's strategy), optionally similar exchanges as examples, the
recent conversation, and the new message (with what an uploaded sticker shows or says).

The texts are package data (``chat/data/prompts.yaml``); ``train chat`` fine-tunes on the same
prompts, so training and chatting never drift apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import yaml

from stickerbot.backbones.base import Message
from stickerbot.chat.intents import load_taxonomy
from stickerbot.chat.types import Turn
from stickerbot.memory.dialogues import Exchange

PROMPTS_PATH = Path(__file__).resolve().parent / "data" / "prompts.yaml"

# Turns of the conversation so far that the model sees: a 135M model loses the thread in
# long prompts anyway, and a short prompt keeps the first token fast.
MAX_HISTORY_TURNS = 6
# The window moves this many turns at a time (and never keeps fewer than MAX_HISTORY_TURNS -
# HISTORY_STEP // 2): between its moves each prompt extends the one before, so the decoder's
# cache holds all of it but the new message (and the last reply, when a stored reply was sent
# instead of the model's words). A window moved by every turn
# made every prompt new after the system prompt: at 8 sessions the prompts' new tokens
# (118 of 180 on average) were most of the decoder's work (README, "Batched generation").
HISTORY_STEP = 6


def history_start(turns: int, max_history: int = MAX_HISTORY_TURNS, step: int = HISTORY_STEP) -> int:
    """Where the window of ``turns`` turns of history starts (pure): it holds ``max_history``
    turns on average, never fewer than ``max_history - step // 2`` nor more than
    ``max_history + step // 2``, and moves by ``step`` turns at once (``step`` 1: the last
    ``max_history`` turns)."""
    if max_history <= 0:
        return turns
    if step <= 1:
        return max(0, turns - max_history)
    if turns <= max_history:
        return 0
    keep = max(1, max_history - step // 2)
    return (turns - keep) // step * step


@lru_cache(maxsize=2)
def load_prompts(path: Path = PROMPTS_PATH) -> dict[str, dict[str, str]]:
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


def _text(kind: str, lang: str) -> str:
    table = load_prompts()[kind]
    return table.get(lang) or table["en"]


def persona(lang: str) -> str:
    """The system prompt's fixed part (computed once at start-up by backbones that cache prefixes)."""
    return _text("system", lang)


def system_prompt(lang: str, intent: str | None = None) -> str:
    """The persona, then what the user is doing and how to answer it."""
    if intent is None:
        return persona(lang)
    taxonomy = load_taxonomy()
    spec = taxonomy[intent]
    told = _text("intent", lang).format(
        meaning=spec.describe(lang), instruction=taxonomy.instruction(intent, lang)
    )
    return f"{persona(lang)} {told}" if lang != "zh" else f"{persona(lang)}{told}"


def user_content(text: str, sticker_description: str | None, lang: str) -> str:
    note = _text("sticker_note", lang).format(sticker_description) if sticker_description else ""
    return "\n".join(part for part in (text.strip(), note) if part)


def build_messages(
    message: str,
    *,
    lang: str,
    intent: str | None = None,
    examples: Sequence[Exchange] = (),
    history: Sequence[Turn] = (),
    sticker_description: str | None = None,
    max_history: int = MAX_HISTORY_TURNS,
) -> list[Message]:
    messages: list[Message] = [{"role": "system", "content": system_prompt(lang, intent)}]
    for exchange in examples:
        messages.append({"role": "user", "content": exchange.user_message})
        messages.append({"role": "assistant", "content": exchange.system_message})
    recent = list(history)[history_start(len(history), max_history) :]
    # A window that starts with the bot's turn would make two assistant messages meet the examples.
    while recent and recent[0].role != "user":
        recent.pop(0)
    for turn in recent:
        content = (
            user_content(turn.text, turn.sticker_description, lang) if turn.role == "user" else turn.text
        )
        messages.append({"role": turn.role, "content": content or "…"})
    messages.append({"role": "user", "content": user_content(message, sticker_description, lang) or "…"})
    return messages
