"""Builds the shared, read-only services from :class:`Settings`: library, embedder, index, search.

Entry points (CLI, app) call :func:`open_library`; it brings the index up to date
with the library on the way, incrementally, with a progress bar.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from tqdm.auto import tqdm

from stickerbot.config import Settings
from stickerbot.embeddings import TextEmbedder, create_text_embedder
from stickerbot.index.store import StickerIndex
from stickerbot.retrieval.search import StickerSearch
from stickerbot.stickers.library import Library
from stickerbot.stickers.ocr import LazyOcr, OcrEngine

log = logging.getLogger(__name__)


@dataclass
class LibraryServices:
    settings: Settings
    library: Library
    embedder: TextEmbedder
    index: StickerIndex
    search: StickerSearch
    ocr: OcrEngine | None


def open_index(settings: Settings, embedder: TextEmbedder | None = None) -> StickerIndex:
    embedder = embedder or create_text_embedder(
        settings.embedder, path=settings.embedder_path, device=settings.device
    )
    return StickerIndex(settings.index_dir, embedder, ef_search=settings.hnsw_ef_search)


def sync_index(index: StickerIndex, library: Library, *, progress: bool = True) -> int:
    """Embed what the index lacks, drop what the library no longer has; returns stickers embedded."""
    items = [(r.id, r.index_text(index.embedder.languages)) for r in library.records]
    bar = tqdm(total=0, desc="indexing stickers", unit="sticker", disable=not progress, leave=False)

    def advance(done: int, total: int) -> None:
        bar.total = total
        bar.update(done)

    written = index.sync(items, progress=advance)
    bar.close()
    stale = set(index.stored_hashes()) - set(library.by_id)
    if stale:
        index.delete(sorted(stale))
        log.info("removed %d stickers that are no longer in the library", len(stale))
    if written:
        log.info("indexed %d stickers (%d in the index)", written, len(index))
    return written


def open_library(
    settings: Settings,
    *,
    progress: bool = True,
    embedder: TextEmbedder | None = None,
    ocr: OcrEngine | None = None,
) -> LibraryServices:
    library = Library.load(settings.bundled_pack_dir, settings.packs_dir)
    index = open_index(settings, embedder)
    sync_index(index, library, progress=progress)
    if ocr is None and settings.ocr:
        ocr = LazyOcr()
    search = StickerSearch(library, index, ocr=ocr)
    return LibraryServices(settings, library, index.embedder, index, search, ocr)
