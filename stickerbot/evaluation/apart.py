"""Is a training text written apart from the evaluation sets? Character-bigram Jaccard.

A paraphrase of an evaluation message in the training data ("found my passport!!! it was in
the cereal box" beside "FOUND MY PASSPORT. it was in the freezer") flatters every number
measured on that set. Words differ between paraphrases, letters less: two texts are near
copies when the Jaccard similarity of their character bigrams (case, spaces and punctuation
removed; Chinese included) reaches a threshold. 0.4 flags paraphrases of the same situation;
0.8 only copies with small edits.

    python -m stickerbot eval apart assets/intents/*.jsonl   # vs every evaluation set

prints how many texts of each file are near copies, and their ids, never the evaluation
messages themselves (a writer of training data should not read them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

PARAPHRASE = 0.4


def bigrams(text: str) -> frozenset[str]:
    t = re.sub(r"[\W_]+", "", text.lower())
    return frozenset(t[i : i + 2] for i in range(len(t) - 1)) or frozenset({t})


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def near_copies(texts: Sequence[str], references: Iterable[str], threshold: float = PARAPHRASE) -> list[int]:
    """Indices of ``texts`` whose bigram Jaccard with some reference is >= ``threshold``."""
    refs = [bigrams(r) for r in references if r.strip()]
    close = []
    for i, text in enumerate(texts):
        if not text.strip():
            continue
        m = bigrams(text)
        # Jaccard >= t needs the sizes within a factor t of each other: most pairs are skipped.
        if any(
            threshold * len(g) <= len(m) <= len(g) / threshold and jaccard(g, m) >= threshold for g in refs
        ):
            close.append(i)
    return close


def texts_of_jsonl(path: Path) -> list[tuple[str, str]]:
    """(id, text) of every user-written text in a JSONL file: the eval sets' ``message`` (and
    their history's user turns), the dialogues' ``user_message``, the intent examples' ``text``."""
    out = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        rid = str(row.get("id", f"{Path(path).name}:{n}"))
        for key in ("message", "text", "user_message", "query"):
            if isinstance(row.get(key), str):
                out.append((rid, row[key]))
        for turn in row.get("history") or []:
            if isinstance(turn, dict) and turn.get("role") == "user" and isinstance(turn.get("content"), str):
                out.append((rid, turn["content"]))
        for turn in row.get("conversation") or []:
            if isinstance(turn, dict) and isinstance(turn.get("user_message"), str):
                out.append((rid, turn["user_message"]))
    return out


def evaluation_texts(eval_dir: Path) -> list[str]:
    return [text for path in sorted(Path(eval_dir).glob("*.jsonl")) for _, text in texts_of_jsonl(path)]
