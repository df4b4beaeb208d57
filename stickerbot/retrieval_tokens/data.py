"""Training examples for retrieval tokens, built from the sticker library and the dialogues.

StickerLLM's mix of sticker requests: text -> sticker 50%, image -> sticker 25%, image +
text -> sticker 25%, each answered with ``<ret>`` (whose hidden state must retrieve the
sticker). Next to them, ordinary instructions and dialogue turns that sent no sticker are
answered without ``<ret>``, and dialogue turns that did send one open with it. The
``<pret>`` prefix is put before the user's message with probability 0.5, so the model
works with and without it.

Examples are split by a stable hash (of the sticker id, or of the dialogue session), so a
held-out example never shares its sticker or its session with a training one.
"""

from __future__ import annotations

import random
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from stickerbot.memory.dialogues import Exchange
from stickerbot.retrieval_tokens.tokens import IMG, IMG_END, PRET, RET
from stickerbot.stickers.record import StickerRecord

TEMPLATES_PATH = Path(__file__).parent / "prompts" / "tasks.yaml"
STICKER_TASKS = {"text_to_sticker": 0.5, "image_to_sticker": 0.25, "image_text_to_sticker": 0.25}
# Answered without <ret>: what the when-to-send evaluation calls ordinary.
ORDINARY_KINDS = ("instruction", "dialogue")
IMAGE_MARK = f"{IMG}{IMG_END}"
FEELINGS = {
    "Anger": ("angry", "生气"),
    "Disgust": ("grossed out", "嫌弃"),
    "Fear": ("scared", "害怕"),
    "Happiness": ("happy", "开心"),
    "Neutral": ("calm", "淡定"),
    "Sadness": ("sad", "难过"),
    "Surprise": ("surprised", "震惊"),
}
_CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class Example:
    kind: str  # a key of STICKER_TASKS, "dialogue_sticker", "dialogue" or "instruction"
    lang: str
    prompt: str  # the user's message; IMAGE_MARK where the image's features go
    reply: str  # the assistant's message; RET where the sticker is sent
    target: str | None = None  # the sticker RET must retrieve
    image: str | None = None  # the sticker whose features fill the image slot

    @property
    def wants_sticker(self) -> bool:
        return RET in self.reply


def decision_of(kind: str) -> int:
    """What an example of ``kind`` teaches about sending: +1 for a sticker request, -1 for an
    ordinary message, 0 for a dialogue turn that sent a sticker. Such turns read like the
    ones that did not (874 vs 841 in the bundled dialogues), so they train the ``<ret>``
    query but not the decision to send."""
    if kind in STICKER_TASKS:
        return 1
    return -1 if kind in ORDINARY_KINDS else 0


@cache
def load_templates(path: Path = TEMPLATES_PATH) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def held_out(key: str, share: float) -> bool:
    """Stable split: the same key is always on the same side."""
    return (zlib.crc32(key.encode("utf-8")) % 1000) < share * 1000


def sticker_queries(record: StickerRecord, lang: str) -> list[str]:
    """What a person might call this sticker, in ``lang``."""
    words = record.keywords_zh if lang == "zh" else [record.name, *record.keywords_en]
    queries = [q for q in record.queries if bool(_CJK.search(q)) == (lang == "zh")]
    if record.ocr_text and bool(_CJK.search(record.ocr_text)) == (lang == "zh"):
        queries.append(record.ocr_text)
    return [q.strip() for q in [*queries, *words] if q and q.strip()]


def sticker_request(record: StickerRecord, kind: str, lang: str, rng: random.Random) -> Example | None:
    t = load_templates()
    queries = sticker_queries(record, lang)
    if kind != "image_to_sticker" and not queries:
        return None
    template = rng.choice(t[kind][lang])
    feeling = FEELINGS[record.emotion][1 if lang == "zh" else 0]
    prompt = template.replace("<img></img>", IMAGE_MARK).format(
        query=rng.choice(queries) if queries else "", feeling=feeling
    )
    reply = rng.choice(t["replies_with_sticker"][lang])
    image = record.id if kind != "text_to_sticker" else None
    return Example(kind, lang, prompt, reply, target=record.id, image=image)


def dialogue_example(exchange: Exchange) -> Example:
    """A dialogue turn as an instruction: the reply, opened by RET when the assistant sent a
    sticker (the decision and the query then rest on what the user said, as in a chat app
    where the sticker comes first)."""
    sticker = (exchange.system_sticker or {}).get("id")
    prompt = exchange.user_message
    if exchange.user_sticker and exchange.user_sticker.get("id"):
        # The user's sticker arrives as an image, as in StickerConv's multimodal turns.
        prompt = f"{IMAGE_MARK} {prompt}".strip()
    if sticker:
        return Example(
            "dialogue_sticker",
            exchange.lang,
            prompt,
            f"{RET} {exchange.system_message}",
            sticker,
            (exchange.user_sticker or {}).get("id"),
        )
    kind = "instruction" if exchange.emotion == "Neutral" and not exchange.history else "dialogue"
    return Example(
        kind, exchange.lang, prompt, exchange.system_message, None, (exchange.user_sticker or {}).get("id")
    )


@dataclass
class ExampleSet:
    train: list[Example]
    heldout: list[Example]


def build_examples(
    records: Sequence[StickerRecord],
    exchanges: Sequence[Exchange],
    *,
    sticker_requests: int = 3000,
    heldout_share: float = 0.1,
    seed: int = 0,
) -> ExampleSet:
    """``sticker_requests`` drawn in StickerLLM's mix over the library, plus every dialogue turn."""
    rng = random.Random(seed)
    known = {r.id for r in records}
    out = ExampleSet([], [])
    kinds = list(STICKER_TASKS)
    weights = [STICKER_TASKS[k] for k in kinds]
    attempts = 0
    while (
        sum(e.kind in STICKER_TASKS for e in out.train + out.heldout) < sticker_requests
        and attempts < 20 * sticker_requests
    ):
        attempts += 1
        record = rng.choice(records)
        lang = rng.choice(("en", "zh"))
        example = sticker_request(record, rng.choices(kinds, weights)[0], lang, rng)
        if example is not None:
            (out.heldout if held_out(record.id, heldout_share) else out.train).append(example)
    for exchange in exchanges:
        example = dialogue_example(exchange)
        if example.target is not None and example.target not in known:
            continue  # a sticker this library does not have cannot be a retrieval target
        session = exchange.id.rsplit(":", 1)[0]
        (out.heldout if held_out(session, heldout_share) else out.train).append(example)
    return out


def with_pret(prompt: str, rng: random.Random, probability: float = 0.5) -> str:
    return f"{PRET}{prompt}" if rng.random() < probability else prompt
