"""``python -m agents.generate --stats FILE``: what a file of sessions holds.

Sessions, turns, sticker frequency per side, the emotion distribution, distinct-1/2 of the
utterances (Li et al. 2016; corpus level, words in English and characters in Chinese) and
the unique stickers. Works on any StickerConv session file (lines that are not sessions are
counted and skipped).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from agents.metrics import distinct_n
from stickerbot.memory.dialogues import DialogueFormatError, parse_record


def read_sessions(path: str | Path) -> tuple[list[dict[str, Any]], int]:
    """(sessions, lines skipped) of a JSONL file."""
    sessions, skipped = [], 0
    with Path(path).open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                if not isinstance(record, dict) or "conversation" not in record:
                    raise DialogueFormatError("not a session")
                parse_record(record, where=f"line {n}", source="stats")
            except (json.JSONDecodeError, DialogueFormatError):
                skipped += 1
                continue
            sessions.append(record)
    return sessions, skipped


def session_stats(sessions: list[dict[str, Any]]) -> dict[str, Any]:
    turns = [t for s in sessions for t in s["conversation"]]
    n_turns = len(turns)
    user_stickers = [t["user_sticker"] for t in turns if t.get("user_sticker")]
    system_stickers = [t["system_sticker"] for t in turns if t.get("system_sticker")]
    user_texts = [t["user_message"] for t in turns if t.get("user_message")]
    system_texts = [t["system_message"] for t in turns if t.get("system_message")]
    all_texts = user_texts + system_texts
    sticker_ids = Counter(_sticker_key(s) for s in user_stickers + system_stickers)

    def share(count: int) -> float:
        return round(count / n_turns, 4) if n_turns else 0.0

    return {
        "sessions": len(sessions),
        "turns": n_turns,
        "turns_per_session": round(n_turns / len(sessions), 3) if sessions else 0.0,
        "turn_lengths": dict(sorted(Counter(len(s["conversation"]) for s in sessions).items())),
        "stickers": {
            "user": {"count": len(user_stickers), "per_turn": share(len(user_stickers))},
            "system": {"count": len(system_stickers), "per_turn": share(len(system_stickers))},
            "per_session": round((len(user_stickers) + len(system_stickers)) / len(sessions), 3)
            if sessions
            else 0.0,
            "sessions_without": sum(
                1
                for s in sessions
                if not any(t.get("user_sticker") or t.get("system_sticker") for t in s["conversation"])
            ),
            "unique": len(sticker_ids),
            "most_used": [[k, v] for k, v in sticker_ids.most_common(5)],
        },
        "emotions": dict(sorted(Counter(s.get("emotion") or "unlabelled" for s in sessions).items())),
        "languages": dict(sorted(Counter(s.get("language") or "unknown" for s in sessions).items())),
        "distinct": {
            "all": {
                "distinct_1": round(distinct_n(all_texts, 1), 4),
                "distinct_2": round(distinct_n(all_texts, 2), 4),
            },
            "user": {
                "distinct_1": round(distinct_n(user_texts, 1), 4),
                "distinct_2": round(distinct_n(user_texts, 2), 4),
            },
            "system": {
                "distinct_1": round(distinct_n(system_texts, 1), 4),
                "distinct_2": round(distinct_n(system_texts, 2), 4),
            },
        },
    }


def _sticker_key(sticker: dict[str, Any]) -> str:
    return str(sticker.get("id") or sticker.get("image") or sticker.get("description"))


def format_stats(stats: dict[str, Any], *, path: str = "", skipped: int = 0) -> str:
    st = stats["stickers"]
    lines = [
        f"{path}: {stats['sessions']} sessions, {stats['turns']} turns "
        f"({stats['turns_per_session']} per session; lengths {stats['turn_lengths']})",
        f"stickers    user {st['user']['count']} ({100 * st['user']['per_turn']:.1f}% of turns), "
        f"system {st['system']['count']} ({100 * st['system']['per_turn']:.1f}% of turns), "
        f"{st['per_session']} per session, {st['sessions_without']} sessions without",
        f"            {st['unique']} unique; most used: "
        + ", ".join(f"{k} x{v}" for k, v in st["most_used"]),
        "emotions    " + ", ".join(f"{k} {v}" for k, v in stats["emotions"].items()),
        "languages   " + ", ".join(f"{k} {v}" for k, v in stats["languages"].items()),
    ]
    for side in ("all", "user", "system"):
        d = stats["distinct"][side]
        lines.append(
            f"distinct    {side:6s} distinct-1 {d['distinct_1']:.4f}  distinct-2 {d['distinct_2']:.4f}"
        )
    if skipped:
        lines.append(f"skipped     {skipped} lines that are not sessions")
    return "\n".join(lines)
