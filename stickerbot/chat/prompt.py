"""The messages the backbone sees: a short persona, similar exchanges as examples, the
recent conversation, and the new message (with what an uploaded sticker shows or says)."""

from __future__ import annotations

from collections.abc import Sequence

from stickerbot.backbones.base import Message
from stickerbot.chat.types import Turn
from stickerbot.memory.dialogues import Exchange

SYSTEM_PROMPTS = {
    "en": (
        "You are Stickerbot, a warm friend in a chat app. Reply to the user's last message in 1 to 3 "
        "short sentences: kind, casual and specific to what they said. If they ask a factual question, "
        "answer it plainly."
    ),
    "zh": (
        "你是Stickerbot，聊天软件里一位温暖的朋友。用中文回复用户的最后一句话，一到三句短句，"
        "亲切、口语化、贴合对方说的内容。如果对方问的是事实性问题，就直接回答。"
    ),
}
STICKER_NOTES = {"en": "[I sent a sticker: {}]", "zh": "[我发了一个表情包：{}]"}

# Turns of the conversation so far that the model sees: a 135M model loses the thread in
# long prompts anyway, and a short prompt keeps the first token fast.
MAX_HISTORY_TURNS = 6


def user_content(text: str, sticker_description: str | None, lang: str) -> str:
    note = (
        STICKER_NOTES.get(lang, STICKER_NOTES["en"]).format(sticker_description)
        if sticker_description
        else ""
    )
    return "\n".join(part for part in (text.strip(), note) if part)


def build_messages(
    message: str,
    *,
    lang: str,
    examples: Sequence[Exchange] = (),
    history: Sequence[Turn] = (),
    sticker_description: str | None = None,
    max_history: int = MAX_HISTORY_TURNS,
) -> list[Message]:
    messages: list[Message] = [{"role": "system", "content": SYSTEM_PROMPTS.get(lang, SYSTEM_PROMPTS["en"])}]
    for exchange in examples:
        messages.append({"role": "user", "content": exchange.user_message})
        messages.append({"role": "assistant", "content": exchange.system_message})
    recent = list(history)[-max_history:] if max_history > 0 else []
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
