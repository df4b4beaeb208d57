"""The one sticker record that the library, the index, the chat and the agents share.

A record is plain data: it is written to a pack manifest as one JSON line and
stored in the index as metadata. ``image`` is relative to the pack's folder so
that a pack can move; :meth:`StickerRecord.resolve` gives the absolute path.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from stickerbot.stickers.labels import EMOTIONS, FINE_EMOTIONS, STYLES
from stickerbot.text import has_cjk


@dataclass
class StickerRecord:
    id: str  # unique across packs: "emoji:1F602", "caption:lol", "user:<pack>:<sha12>"
    image: str  # path relative to the pack folder
    pack: str
    name: str
    keywords_en: list[str] = field(default_factory=list)
    keywords_zh: list[str] = field(default_factory=list)
    description: str = ""
    emotion: str = "Neutral"  # one of the SER30K seven
    fine_emotion: str | None = None  # one of Sticker820K's 30, where known
    style: str = "other types"  # one of Sticker820K's seven styles
    ocr_text: str = ""
    queries: list[str] = field(default_factory=list)  # what people type to find it
    emoji: str | None = None
    hexcode: str | None = None
    animated: bool = False
    frame_count: int = 1
    phash: str = ""  # 64-bit DCT perceptual hash, 16 hex digits
    sha256: str = ""  # of the image file's bytes: import resume and exact duplicates

    def __post_init__(self) -> None:
        if self.emotion not in EMOTIONS:
            raise ValueError(f"sticker {self.id}: emotion {self.emotion!r} is not one of {EMOTIONS}")
        if self.fine_emotion is not None and self.fine_emotion not in FINE_EMOTIONS:
            raise ValueError(f"sticker {self.id}: fine_emotion {self.fine_emotion!r} is unknown")
        if self.style not in STYLES:
            raise ValueError(f"sticker {self.id}: style {self.style!r} is not one of {STYLES}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StickerRecord:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def resolve(self, pack_dir: Path) -> Path:
        return (pack_dir / self.image).resolve()

    def index_text(self, languages: tuple[str, ...] = ("en", "zh")) -> str:
        """The annotation text that is embedded and searched.

        Joins every field a person could search by, the way StickerCLIP joins
        caption, emotion, style and OCR text. ``languages`` drops the keywords
        and queries of other languages: an English-only embedder only gets
        noise (and longer inputs) from Chinese words. OCR text is always kept.
        """
        queries = [q for q in self.queries if ("zh" if has_cjk(q) else "en") in languages]
        parts = [
            self.name,
            self.description,
            f"emotion: {self.emotion}" + (f", {self.fine_emotion}" if self.fine_emotion else ""),
            ", ".join(self.keywords_en) if "en" in languages else "",
            ", ".join(self.keywords_zh) if "zh" in languages else "",
            ", ".join(queries),
        ]
        if self.ocr_text:
            parts.append(f'text: "{self.ocr_text}"')
        return ". ".join(p for p in parts if p)
