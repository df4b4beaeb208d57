"""Browsing the sticker library a page at a time, and one sticker's annotations as Markdown.

Plain functions over a :class:`Library`, so the tab's handlers are testable without a browser.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from stickerbot.stickers.library import Library
from stickerbot.stickers.record import StickerRecord

# The bundled pack alone has 1,275 stickers: a gallery of all of them would send every
# image to the browser at once.
PAGE_SIZE = 48
ALL = "all"


@dataclass(frozen=True)
class BrowsePage:
    items: list[tuple[str, str]]  # (image path, caption) for a gr.Gallery
    ids: list[str]  # the sticker id of each item, to look up the one a user selects
    page: int  # 1-based, clamped to the pages there are
    pages: int
    total: int  # stickers that pass the filters

    def label(self) -> str:
        if not self.total:
            return "No sticker matches these filters."
        return f"Page {self.page} of {self.pages} · {self.total:,} stickers"


def caption(record: StickerRecord) -> str:
    return f"{record.emoji or ''} {record.name}".strip()


def filter_records(
    library: Library, pack: str | None = ALL, emotion: str | None = ALL
) -> list[StickerRecord]:
    return [
        r
        for r in library.records
        if (not pack or pack == ALL or r.pack == pack)
        and (not emotion or emotion == ALL or r.emotion == emotion)
    ]


def browse_page(
    library: Library,
    pack: str | None = ALL,
    emotion: str | None = ALL,
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> BrowsePage:
    """One page of the stickers that pass the pack and emotion filters, in library order."""
    records = filter_records(library, pack, emotion)
    pages = max(1, math.ceil(len(records) / page_size))
    page = min(max(1, int(page or 1)), pages)
    shown = records[(page - 1) * page_size : page * page_size]
    items = [(str(library.path_of(r)), caption(r)) for r in shown]
    return BrowsePage(items, [r.id for r in shown], page, pages, len(records))


def pack_choices(library: Library) -> list[str]:
    return [ALL, *library.packs]


# Every ASCII punctuation character may be backslash-escaped in CommonMark; escaping the
# ones with a meaning keeps annotations from an imported sidecar (untrusted text) from
# turning into links, images or HTML in the panel.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~&])")


def markdown_escape(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def sticker_details(record: StickerRecord | None) -> str:
    """A sticker's annotations as compact Markdown (every field of its record that is set)."""
    if record is None:
        return "That sticker is no longer in the library."
    emotion = record.emotion + (f" · {record.fine_emotion}" if record.fine_emotion else "")
    rows = [
        ("id", f"`{record.id}`"),
        ("pack", markdown_escape(record.pack)),
        ("emotion", markdown_escape(emotion)),
        ("style", markdown_escape(record.style)),
        ("description", markdown_escape(record.description)),
        ("text in the image", markdown_escape(record.ocr_text)),
        ("keywords", markdown_escape(", ".join(record.keywords_en))),
        ("关键词", markdown_escape("，".join(record.keywords_zh))),
        ("people search for", markdown_escape(" · ".join(record.queries))),
        ("emoji code", markdown_escape(record.hexcode or "")),
        ("animated", f"{record.frame_count} frames" if record.animated else ""),
    ]
    title = f"### {markdown_escape(caption(record))}"
    return "\n".join([title, "", *(f"- **{name}**: {value}" for name, value in rows if value)])


def details_for(library: Library, ids: list[str] | None, index: int | None) -> str:
    """The annotations of the ``index``-th sticker of a gallery that shows ``ids``."""
    if not ids or index is None or not 0 <= int(index) < len(ids):
        return "Select a sticker to see its annotations."
    return sticker_details(library.get(ids[int(index)]))
