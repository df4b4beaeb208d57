"""Training examples for the chat LoRA: every exchange of the dialogue memory as the chat would
prompt it (``chat.prompt.build_messages``: persona, the turn's intent and strategy, the last
turns of its conversation, the message), with the reply a person wrote as the target. The loss
covers the reply's tokens only (and the end-of-turn marker, so the model learns to stop).
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from stickerbot.backbones.base import Message
from stickerbot.chat.intents import load_taxonomy
from stickerbot.chat.prompt import build_messages
from stickerbot.chat.types import Turn
from stickerbot.memory.dialogues import Exchange

IGNORE = -100


@dataclass(frozen=True)
class ChatExample:
    id: str
    lang: str
    messages: tuple[Message, ...]
    reply: str
    group: str  # the conversation: a held-out split never cuts one


def _sticker_note(sticker: dict | None) -> str | None:
    if not sticker:
        return None
    what = sticker.get("description") or sticker.get("id") or "a sticker"
    feeling = sticker.get("emotion")
    return f"{what} (it expresses: {feeling})" if feeling else what


def chat_examples(
    exchanges: Sequence[Exchange], languages: Sequence[str], *, max_history_pairs: int = 2
) -> list[ChatExample]:
    """One example per exchange in a language the backbone writes."""
    taxonomy = load_taxonomy()
    out = []
    for e in exchanges:
        if e.lang not in languages or not e.system_message.strip():
            continue
        history: list[Turn] = []
        for user, system in e.history[-max_history_pairs:] if max_history_pairs else ():
            history += [Turn("user", user), Turn("assistant", system)]
        messages = build_messages(
            e.user_message,
            lang=e.lang,
            intent=e.intent if e.intent in taxonomy else None,
            history=history,
            sticker_description=_sticker_note(e.user_sticker),
        )
        out.append(ChatExample(e.id, e.lang, tuple(messages), e.system_message, e.id.rsplit(":", 1)[0]))
    return out


def split_examples(
    examples: Sequence[ChatExample], heldout: float, seed: int = 0
) -> tuple[list[ChatExample], list[ChatExample]]:
    """(train, held-out) by conversation, stable across runs."""

    def held(group: str) -> bool:
        h = int(hashlib.sha1(f"{seed}:{group}".encode()).hexdigest()[:8], 16)
        return h / 0xFFFFFFFF < heldout

    return [x for x in examples if not held(x.group)], [x for x in examples if held(x.group)]


@dataclass(frozen=True)
class Encoded:
    input_ids: tuple[int, ...]
    labels: tuple[int, ...]  # IGNORE on the prompt


def encode(
    example: ChatExample,
    render: Callable[[list[Message], bool], str],
    tokenizer,
    *,
    max_tokens: int,
) -> Encoded | None:
    """Token ids of the whole conversation with labels on the reply only; None when even the
    reply with the shortest history does not fit in ``max_tokens``."""
    messages = list(example.messages)
    while True:
        prompt = render(messages, True)
        full = render([*messages, {"role": "assistant", "content": example.reply}], False)
        if not full.startswith(prompt):
            raise ValueError("the chat template renders the prompt differently inside a full conversation")
        prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        reply_ids = tokenizer(full[len(prompt) :], add_special_tokens=False)["input_ids"]
        if len(prompt_ids) + len(reply_ids) <= max_tokens:
            return Encoded(tuple(prompt_ids + reply_ids), tuple([IGNORE] * len(prompt_ids) + reply_ids))
        # Too long: drop the oldest exchange of the history (system prompt and message stay).
        if len(messages) <= 2:
            return None
        messages = [messages[0], *messages[3:]]


def batches(encoded: Sequence[Encoded], batch_size: int, epoch: int, seed: int) -> list[list[int]]:
    """One epoch's batches (indices): shuffled, then grouped with neighbours of similar length so
    little of each batch is padding; the order of batches is shuffled again. Fixed by (seed, epoch),
    so a resumed run draws the same batches."""
    rng = random.Random(f"{seed}:{epoch}")
    order = list(range(len(encoded)))
    rng.shuffle(order)
    chunk = batch_size * 16
    out = []
    for start in range(0, len(order), chunk):
        window = sorted(order[start : start + chunk], key=lambda i: len(encoded[i].input_ids))
        out += [window[i : i + batch_size] for i in range(0, len(window), batch_size)]
    rng.shuffle(out)
    return out


def collate(items: Sequence[Encoded], pad_id: int):
    """(input_ids, attention_mask, position_ids, labels) tensors, LEFT-padded: every reply ends at
    the right edge, so the output head runs on the last few positions only (see ``reply_span``)."""
    import torch

    width = max(len(x.input_ids) for x in items)
    ids = torch.full((len(items), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(items), width), dtype=torch.long)
    labels = torch.full((len(items), width), IGNORE, dtype=torch.long)
    for row, x in enumerate(items):
        n = len(x.input_ids)
        ids[row, width - n :] = torch.tensor(x.input_ids)
        mask[row, width - n :] = 1
        labels[row, width - n :] = torch.tensor(x.labels)
    # Positions count from each row's first real token, as they do when the chat prompts it.
    positions = (mask.cumsum(1) - 1).clamp(min=0)
    return ids, mask, positions, labels


def reply_span(labels) -> int:
    """How many positions at the right edge hold a reply token in some row."""
    import torch

    width = labels.shape[1]
    first = torch.where(labels != IGNORE, torch.arange(width), width).min(dim=1).values
    return int(width - first.min())


def data_hash(examples: Sequence[ChatExample]) -> str:
    """What the training data was (a resumed run must train on the same)."""
    blob = json.dumps([[x.id, list(x.messages), x.reply] for x in examples], ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]
