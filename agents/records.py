"""The two output layouts (../shared/DATA.md), as pure functions of a finished session.

A session line: ``{id, language, emotion, user_persona, user_status, conversation: [{turn,
user_message, system_message, user_sticker, system_sticker}], meta}``; a sticker field holds
the library's sticker record (``StickerRecord.to_dict()``) or null. ``meta`` records how the
session was made: the profile's source, each message's sticker plan, every fallback taken.

A per-turn training record: the transcript up to the user's message of that turn (``USER:`` /
``ASSISTANT:`` lines, ``<IMG>`` where a sticker was sent, the stickers in ``input_image`` in
the same order), the reply as ``response_text`` / ``response_image``, and ``query`` and
``history`` as the StickerConv training data has them.
"""

from __future__ import annotations

from typing import Any

IMAGE_MARKER = "<IMG>"


def session_id(lang: str, seed: int, index: int) -> str:
    """Deterministic from the run's language, seed and the session's index: a resumed run
    recognises what it already wrote."""
    return f"agents-{lang}-s{seed}-{index:06d}"


def _line(speaker: str, text: str, sticker: dict | None) -> str:
    marker = f" {IMAGE_MARKER}" if sticker else ""
    return f"{speaker}: {text}{marker}".rstrip()


def turn_records(session: dict[str, Any]) -> list[dict[str, Any]]:
    """One training record per turn of ``session`` (a session line as written)."""
    records = []
    lines: list[str] = []
    images: list[dict] = []
    history: list[list[str]] = []
    for turn in session["conversation"]:
        user_sticker, system_sticker = turn.get("user_sticker"), turn.get("system_sticker")
        lines.append(_line("USER", turn["user_message"], user_sticker))
        if user_sticker:
            images.append(user_sticker)
        records.append(
            {
                "id": f"{session['id']}:{turn['turn']}",
                "session_id": session["id"],
                "turn": turn["turn"],
                "language": session.get("language"),
                "emotion": session.get("emotion"),
                "input_text": "\n".join(lines) + "\nASSISTANT:",
                "input_image": list(images),
                "response_text": turn["system_message"],
                "response_image": [system_sticker] if system_sticker else [],
                "user_persona": session.get("user_persona", ""),
                "user_status": session.get("user_status", ""),
                "query": turn["user_message"],
                "history": [list(pair) for pair in history],
            }
        )
        lines.append(_line("ASSISTANT", turn["system_message"], system_sticker))
        if system_sticker:
            images.append(system_sticker)
        history.append([turn["user_message"], turn["system_message"]])
    return records


def count_stickers(session: dict[str, Any]) -> tuple[int, int]:
    """(user stickers, system stickers) in a session line."""
    turns = session["conversation"]
    return sum(bool(t.get("user_sticker")) for t in turns), sum(bool(t.get("system_sticker")) for t in turns)
