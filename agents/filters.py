"""Filters over finished sessions: what fails one goes to the rejects file with the reason.

- ``no_sticker``: neither side sent a sticker (the data is for learning sticker use);
- ``repeated_utterance``: two messages of the session are the same, or their ROUGE-L F1
  reaches ``repeat_threshold`` (what the repetition guard could not prevent);
- ``fallback_text``: more than ``max_fallback_share`` of the messages are fallback text
  (the model's answers were unusable).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agents.config import GenerationConfig
from agents.metrics import rouge_l, tokens
from agents.records import count_stickers


@dataclass(frozen=True)
class Rejection:
    reason: str
    detail: str


def utterances(session: dict[str, Any]) -> list[str]:
    out = []
    for turn in session["conversation"]:
        out += [turn["user_message"], turn["system_message"]]
    return [u for u in out if u]


def find_repetition(texts: list[str], threshold: float) -> tuple[int, int, float] | None:
    """The first pair (i, j) of texts that repeat each other, with their ROUGE-L F1."""
    toks = [tokens(t) for t in texts]
    for j in range(len(texts)):
        for i in range(j):
            if texts[i].strip().lower() == texts[j].strip().lower():
                return i, j, 1.0
            score = rouge_l(toks[i], toks[j])
            if score >= threshold:
                return i, j, score
    return None


def check_session(session: dict[str, Any], config: GenerationConfig) -> Rejection | None:
    user, system = count_stickers(session)
    if user + system == 0:
        return Rejection("no_sticker", "neither side sent a sticker")
    texts = utterances(session)
    repeat = find_repetition(texts, config.repeat_threshold)
    if repeat is not None:
        i, j, score = repeat
        return Rejection(
            "repeated_utterance",
            f"message {j + 1} repeats message {i + 1} (ROUGE-L {score:.2f}): {texts[j][:80]!r}",
        )
    fallbacks = session.get("meta", {}).get("fallback_utterances", 0)
    if texts and fallbacks / len(texts) > config.max_fallback_share:
        return Rejection("fallback_text", f"{fallbacks} of {len(texts)} messages are fallback text")
    return None
