"""Short replies written for each intent (``chat/data/strategy_replies.yaml``): the fallback
when neither the model's reply nor a memory reply for the same situation passes the checks,
and the answer to Chinese turns the memory does not cover.

They assume no detail the user did not give, so they fit any message of their intent. A
conversation never gets the same one twice: the bot's earlier replies are skipped.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path

import yaml

from stickerbot.chat.intents import load_taxonomy

REPLIES_PATH = Path(__file__).resolve().parent / "data" / "strategy_replies.yaml"
LANGS = ("en", "zh")
# Replies for a turn that may be good or bad news: they must suit both (not an intent).
UNCERTAIN = "uncertain"


def _key(text: str) -> str:
    return re.sub(r"\W+", "", text.lower())


class StrategyReplies:
    def __init__(self, replies: dict[str, dict[str, tuple[str, ...]]]):
        self.replies = replies

    @classmethod
    @lru_cache(maxsize=2)
    def load(cls, path: Path = REPLIES_PATH) -> StrategyReplies:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))["replies"]
        names = load_taxonomy().names
        missing = [(i, lang) for i in names for lang in LANGS if not (data.get(i) or {}).get(lang)]
        if missing:
            raise ValueError(f"{Path(path).name}: no replies for {missing[:5]}")
        keys = [*names, UNCERTAIN]
        if not all((data.get(UNCERTAIN) or {}).get(lang) for lang in LANGS):
            raise ValueError(f"{Path(path).name}: no '{UNCERTAIN}' replies")
        return cls({i: {lang: tuple(data[i][lang]) for lang in LANGS} for i in keys})

    def variants(self, intent: str, lang: str) -> tuple[str, ...]:
        table = self.replies.get(intent) or self.replies["small_talk"]
        return table.get(lang) or table["en"]

    def candidates(
        self, intent: str, lang: str, *, said: Iterable[str] = (), k: int = 3, seed: int = 0
    ) -> list[str]:
        """Up to ``k`` variants not yet said in this conversation, in an order fixed by ``seed``
        (the conversation's length, say), so a retry gives the same answer."""
        used = {_key(s) for s in said}
        fresh = [v for v in self.variants(intent, lang) if _key(v) not in used]
        if not fresh:
            # Every variant was used (a very long chat): repeating beats saying nothing.
            fresh = list(self.variants(intent, lang))
        rng = random.Random(f"{intent}:{lang}:{seed}")
        rng.shuffle(fresh)
        return fresh[:k]


def said_by_bot(history: Sequence) -> list[str]:
    """The bot's earlier replies in a conversation (``chat.types.Turn`` items)."""
    return [t.text for t in history if t.role == "assistant" and t.text]
