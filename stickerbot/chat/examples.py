"""Labelled user messages that teach the intent classifier beside the dialogue memory
(``assets/intents/*.jsonl``: ``{"id", "lang", "intent", "text"}`` per line).

They are messages only, with no reply: the memory's retrieval, the reply tone model and the
response selector never see them, so adding them changes how a turn is read and nothing else
(the selector, which learns from the memory, stays the yardstick it was). They were written
apart from the evaluation sets (``python -m stickerbot eval apart`` finds no near copy;
a test keeps it so).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path

from stickerbot.chat.classifier import LabelledText
from stickerbot.errors import UserError

LANGS = ("en", "zh")


def load_intent_examples(folder: Path | None, known: Collection[str]) -> list[LabelledText]:
    """Every example of ``folder``'s JSONL files (sorted by name; none when the folder is absent).
    A bad line is named with its file and line number."""
    if folder is None or not Path(folder).is_dir():
        return []
    out: list[LabelledText] = []
    seen: set[str] = set()
    for path in sorted(Path(folder).glob("*.jsonl")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            where = f"{path.name} line {n}"
            try:
                row = json.loads(line)
                example = LabelledText(str(row["id"]), row["text"], row["lang"], row["intent"])
            except (ValueError, KeyError, TypeError) as e:
                raise UserError(f"{where}: not an intent example ({e})") from None
            if example.label not in known:
                raise UserError(f"{where}: unknown intent {example.label!r}")
            if example.lang not in LANGS:
                raise UserError(f"{where}: language must be one of {', '.join(LANGS)}")
            if not isinstance(example.text, str) or not example.text.strip():
                raise UserError(f"{where}: empty text")
            if example.id in seen:
                raise UserError(f"{where}: duplicate id {example.id!r}")
            seen.add(example.id)
            out.append(example)
    return out
