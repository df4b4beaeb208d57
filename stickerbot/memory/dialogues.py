"""Empathetic dialogues in the StickerConv format, read into single exchanges.

Two layouts are accepted, one JSON object per line (see ../shared/DATA.md):

- a session: ``{conversation: [{turn, user_message, system_message, user_sticker,
  system_sticker}], user_persona, user_status}`` (StickerConv, the bundled dialogues,
  and what ``python -m agents.generate`` writes); an optional ``emotion`` (SER30K) and
  ``language`` are used when present;
- a per-turn training record: ``{query, response_text, history: [[user, system], ...],
  user_persona, user_status, ...}``.

A sticker field holds a sticker knowledge record ``{image, description, emotion,
recommendation}``; ``id`` is kept when it names a sticker of the library.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from stickerbot.errors import UserError
from stickerbot.stickers.labels import normalize_emotion
from stickerbot.text import detect_lang


class DialogueFormatError(UserError, ValueError):
    """A dialogue file line is not a StickerConv session or per-turn record; says which line and why."""


@dataclass(frozen=True)
class Exchange:
    """One user message and the reply it got, with what came before it."""

    id: str
    user_message: str
    system_message: str
    lang: str
    # SER30K label of the user's emotion in this session, when the data says it.
    emotion: str | None = None
    # The fine intent of this turn's user message (chat/data/intents.yaml), when labelled.
    intent: str | None = None
    user_sticker: dict[str, Any] | None = None
    system_sticker: dict[str, Any] | None = None
    persona: str = ""
    status: str = ""
    # Earlier (user, system) pairs of the same session, oldest first.
    history: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def index_text(self) -> str:
        """What is embedded: the user's words (a sticker they sent is described in brackets)."""
        text = self.user_message
        if self.user_sticker and self.user_sticker.get("description"):
            text = f"{text} [sticker: {self.user_sticker['description']}]".strip()
        return text


def _sticker(value: Any, where: str) -> dict[str, Any] | None:
    if value in (None, "", {}):
        return None
    if not isinstance(value, dict):
        raise DialogueFormatError(f"{where}: a sticker must be an object or null, got {type(value).__name__}")
    return {k: value[k] for k in ("id", "image", "description", "emotion", "recommendation") if k in value}


def _text(value: Any, where: str, name: str) -> str:
    if not isinstance(value, str):
        raise DialogueFormatError(f"{where}: {name} must be a string")
    return value.strip()


def _session_id(record: dict[str, Any], line_no: int) -> str:
    raw = record.get("id") or record.get("session_id")
    if raw:
        return str(raw)
    # Stable across re-reads of the same file, so re-adding it updates rather than duplicates.
    digest = hashlib.sha1(json.dumps(record, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    return f"line{line_no}-{digest[:10]}"


def _from_session(record: dict[str, Any], where: str, source: str, line_no: int) -> list[Exchange]:
    turns = record.get("conversation")
    if not isinstance(turns, list) or not turns:
        raise DialogueFormatError(f"{where}: 'conversation' must be a non-empty list of turns")
    session = _session_id(record, line_no)
    emotion = normalize_emotion(record.get("emotion") or record.get("origin_anno"))
    persona = str(record.get("user_persona") or "")
    status = str(record.get("user_status") or "")
    language = record.get("language")
    out: list[Exchange] = []
    history: list[tuple[str, str]] = []
    for n, turn in enumerate(turns, 1):
        at = f"{where}, turn {n}"
        if not isinstance(turn, dict):
            raise DialogueFormatError(f"{at}: a turn must be an object")
        user = _text(turn.get("user_message"), at, "user_message")
        system = _text(turn.get("system_message"), at, "system_message")
        user_sticker = _sticker(turn.get("user_sticker"), at)
        if not user and not user_sticker:
            raise DialogueFormatError(f"{at}: the user turn has neither a message nor a sticker")
        if not system:
            raise DialogueFormatError(f"{at}: system_message is empty")
        intent = turn.get("intent")
        if intent is not None and not isinstance(intent, str):
            raise DialogueFormatError(f"{at}: intent must be a string or absent")
        out.append(
            Exchange(
                id=f"{source}:{session}:{turn.get('turn', n)}",
                user_message=user,
                system_message=system,
                lang=language or detect_lang(user + system),
                emotion=emotion,
                intent=intent or None,
                user_sticker=user_sticker,
                system_sticker=_sticker(turn.get("system_sticker"), at),
                persona=persona,
                status=status,
                history=tuple(history),
                source=source,
            )
        )
        history.append((user, system))
    return out


def _from_turn_record(record: dict[str, Any], where: str, source: str, line_no: int) -> list[Exchange]:
    user = _text(record.get("query", ""), where, "query")
    system = _text(record.get("response_text", ""), where, "response_text")
    if not user or not system:
        raise DialogueFormatError(f"{where}: query and response_text must both be non-empty")
    history = []
    for pair in record.get("history") or []:
        if not (isinstance(pair, list | tuple) and len(pair) == 2):
            raise DialogueFormatError(f"{where}: history must be a list of [user, system] pairs")
        history.append((str(pair[0]), str(pair[1])))
    return [
        Exchange(
            id=f"{source}:{_session_id(record, line_no)}",
            user_message=user,
            system_message=system,
            lang=record.get("language") or detect_lang(user + system),
            emotion=normalize_emotion(record.get("emotion") or record.get("origin_anno")),
            intent=record.get("intent") if isinstance(record.get("intent"), str) else None,
            persona=str(record.get("user_persona") or ""),
            status=str(record.get("user_status") or ""),
            history=tuple(history),
            source=source,
        )
    ]


def parse_record(record: Any, *, where: str, source: str, line_no: int = 0) -> list[Exchange]:
    if not isinstance(record, dict):
        raise DialogueFormatError(f"{where}: expected a JSON object")
    if "conversation" in record:
        return _from_session(record, where, source, line_no)
    if "response_text" in record:
        return _from_turn_record(record, where, source, line_no)
    raise DialogueFormatError(
        f"{where}: not a StickerConv session (no 'conversation') or per-turn record (no 'response_text')"
    )


def iter_exchanges(path: str | Path, *, source: str | None = None) -> Iterator[Exchange]:
    """Every exchange of a JSONL dialogue file; DialogueFormatError names the first bad line."""
    path = Path(path)
    source = source or path.stem
    with path.open(encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"{path.name}, line {line_no}"
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise DialogueFormatError(f"{where}: not valid JSON ({err.msg})") from err
            yield from parse_record(record, where=where, source=source, line_no=line_no)


def load_exchanges(path: str | Path, *, source: str | None = None) -> list[Exchange]:
    return list(iter_exchanges(path, source=source))
