"""A conversation kept in the browser, so that a reload of the tab keeps it.

The chat tab writes a snapshot of the session (its turns and settings, as plain JSON) into
the browser's storage (``gr.BrowserState``) after every turn and change, and reads it back
when the page loads. The snapshot comes back from the browser, so it is untrusted input:
:func:`restore` keeps only what it can check (known roles, bounded text, sticker ids the
library holds, known settings) and never a file path: the chat's pictures are rebuilt from
the library, and a picture the user sent that the library did not know comes back as a line
saying what it showed.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from typing import Any

from stickerbot.chat.policy import Frequency
from stickerbot.chat.types import LANGUAGES, ChatOptions, Turn
from stickerbot.ui.session import Session, new_session

log = logging.getLogger(__name__)

STORAGE_KEY = "stickerbot-chat"
VERSION = 1
# What a restored snapshot may hold at most: more is cut (the oldest turns first).
MAX_TURNS = 200
MAX_TEXT = 4000


def snapshot(session: Session) -> dict[str, Any]:
    """The session as the JSON the browser keeps."""
    return {
        "v": VERSION,
        "turns": [{k: v for k, v in asdict(t).items() if v is not None} for t in session.turns],
        "frequency": session.frequency,
        "language": session.language,
    }


def _text(value: Any) -> str | None:
    return value[:MAX_TEXT] if isinstance(value, str) else None


def restore(value: Any, defaults: ChatOptions, known_sticker) -> Session:
    """A session from a snapshot the browser sent back; a fresh one when it cannot be read.

    ``known_sticker(id) -> bool`` says whether the library holds a sticker id.
    """
    session = new_session(defaults)
    if not isinstance(value, dict) or value.get("v") != VERSION:
        return session
    if value.get("frequency") in {f.value for f in Frequency}:
        session.frequency = value["frequency"]
    if value.get("language") in LANGUAGES:
        session.language = value["language"]
    turns = value.get("turns")
    if not isinstance(turns, list):
        return session
    kept: list[Turn] = []
    for raw in turns[-MAX_TURNS:]:
        if not isinstance(raw, dict) or raw.get("role") not in ("user", "assistant"):
            continue
        text = _text(raw.get("text"))
        if text is None:
            continue
        sticker = raw.get("sticker")
        sticker = sticker if isinstance(sticker, str) and known_sticker(sticker) else None
        kept.append(Turn(raw["role"], text, sticker, _text(raw.get("sticker_description"))))
    session.turns = kept
    return session


def recover(session: Session, shown: list, saved: Any, defaults: ChatOptions, known_sticker) -> Session:
    """The session a turn goes on with: the server's, or the browser's copy when the server has
    dropped the tab's session while the chat still shows a conversation (it keeps at most
    ``STICKERBOT_SESSIONS``, the least recently used going first) and the copy has turns.

    ``shown``: the chat's bubbles as the browser sent them."""
    if session.turns or not shown:
        return session
    copy = restore(saved, defaults, known_sticker)
    if not copy.turns:
        return session
    log.info("a dropped session came back from the browser's copy (%d turns)", len(copy.turns))
    return copy


def chat_messages(turns: list[Turn], sticker_path) -> list[dict[str, Any]]:
    """The chat bubbles of restored turns; ``sticker_path(id)`` is the library file of a sticker."""
    out: list[dict[str, Any]] = []
    for turn in turns:
        content: list[Any] = []
        if turn.sticker:
            alt = "your sticker" if turn.role == "user" else "sticker"
            content.append({"path": str(sticker_path(turn.sticker)), "alt_text": alt})
        elif turn.role == "user" and turn.sticker_description:
            content.append(f"📎 {turn.sticker_description}")
        if turn.text.strip():
            content.append(turn.text)
        out.append({"role": turn.role, "content": content or [""]})
    return out
