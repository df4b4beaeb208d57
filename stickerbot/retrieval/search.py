"""Text -> sticker, image -> sticker and image + text -> sticker search over the library.

Text search fuses two scores per sticker: the cosine similarity of the query to
the annotation embedding (Chroma) and BM25 over the annotation text, scaled to
[0, 1] by the best hit. The lexical weight is higher for Chinese queries
because the offline embedder is English-only. Image search finds exact and
near duplicates by perceptual hash and reads the sticker's text with OCR, which
then searches like a text query; with an image embedder configured, it adds the
cosine similarity of the image's embedding to each sticker's (CLIP), which finds
stickers that look alike without being copies.

:class:`StickerSearch` is what the chat and the app share. It holds one immutable
:class:`SearchView` of the library at a time; an import builds a new view and
:meth:`StickerSearch.refresh` swaps it in with one assignment, so a search that runs
meanwhile scores against the old library or the new one, never a mix of both.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from stickerbot.embeddings.image import embed_sticker_with_expression, shares_text_space
from stickerbot.index.images import StickerImageIndex
from stickerbot.index.store import StickerIndex, VectorHit
from stickerbot.retrieval.lexical import BM25Index
from stickerbot.retrieval.reading import NeighbourReader, ReadWeights, StickerReading
from stickerbot.stickers.images import LoadedImage
from stickerbot.stickers.library import Library
from stickerbot.stickers.ocr import OcrEngine
from stickerbot.stickers.phash import hamming, hashes_to_array, phash
from stickerbot.stickers.record import StickerRecord
from stickerbot.text import detect_lang, has_cjk

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SearchWeights:
    dense: float = 1.0
    lexical_en: float = 0.1
    lexical_zh: float = 1.0
    # Hamming distance at which image similarity reaches zero (of 64 bits).
    image_horizon_bits: int = 12
    image: float = 2.0
    ocr: float = 0.6
    # Cosine similarity of image embeddings (only with an image embedder configured).
    image_embedding: float = 1.0
    # ... when OCR read words on the picture: the words name what it says more exactly than its
    # look (the offline encoder learnt pictures, mostly without words), so they lead.
    image_embedding_with_words: float = 0.3
    candidates: int = 100


@dataclass
class SearchHit:
    record: StickerRecord
    score: float
    path: Path
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        r = self.record
        return {
            "id": r.id,
            "name": r.name,
            "emoji": r.emoji,
            "hexcode": r.hexcode,
            "emotion": r.emotion,
            "path": str(self.path),
            "score": round(float(self.score), 4),
            "reasons": self.reasons,
        }


def _text_lang(record: StickerRecord) -> str | None:
    return detect_lang(record.ocr_text) if record.ocr_text.strip() else None


class SearchView:
    """The search tables of one library. Read-only after construction: safe to share."""

    def __init__(
        self,
        library: Library,
        index: StickerIndex,
        *,
        ocr: OcrEngine | None = None,
        weights: SearchWeights | None = None,
        image_index: StickerImageIndex | None = None,
    ):
        self.library = library
        self.index = index
        self.image_index = image_index
        self.ocr = ocr
        self.weights = weights or SearchWeights()
        self._records = library.records
        self._position = {r.id: i for i, r in enumerate(self._records)}
        self._lexical = BM25Index([r.id for r in self._records], [r.index_text() for r in self._records])
        self._hashes = hashes_to_array([r.phash for r in self._records])
        self._hashed = np.array([bool(r.phash) for r in self._records])
        text_langs = [_text_lang(r) for r in self._records]
        self._text_is_zh = np.array([lang == "zh" for lang in text_langs])
        self._text_is_en = np.array([lang == "en" for lang in text_langs])
        # Built on the first unknown picture (it reads every sticker's vectors from the index).
        self.read_weights = ReadWeights()
        self._reader: NeighbourReader | None = None
        self._reader_lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._records)

    @property
    def records(self) -> list[StickerRecord]:
        """The library's stickers in the order of every score array this class returns."""
        return self._records

    # --- scores over the whole library -------------------------------------------------

    def _spread(self, hits: list[VectorHit]) -> tuple[np.ndarray, np.ndarray]:
        """Vector hits -> (a score per library sticker, which stickers were candidates).

        Stickers outside the candidate list score as the weakest candidate.
        """
        out = np.zeros(len(self._records), dtype=np.float32)
        candidate = np.zeros(len(self._records), dtype=bool)
        if hits:
            out[:] = min(h.score for h in hits)
            for hit in hits:
                pos = self._position.get(hit.id)
                if pos is not None:
                    out[pos] = hit.score
                    candidate[pos] = True
        return out, candidate

    def dense_scores(self, query: str) -> np.ndarray:
        return self._spread(self.index.query_texts([query], k=self.weights.candidates)[0])[0]

    def vector_scores(self, vector: np.ndarray) -> np.ndarray:
        """Cosine of a query already in the index's space (e.g. a ``<ret>`` embedding)."""
        query = np.asarray(vector, dtype=np.float32).reshape(1, -1)
        return self._spread(self.index.query_vectors(query, k=self.weights.candidates)[0])[0]

    def lexical_scores(self, query: str) -> np.ndarray:
        scores = self._lexical.scores(query)
        top = float(scores.max()) if len(scores) else 0.0
        return scores / top if top > 0 else scores

    def text_scores(self, query: str, lang: str | None = None) -> np.ndarray:
        lang = lang or detect_lang(query)
        w = self.weights
        lexical_weight = w.lexical_zh if lang == "zh" or has_cjk(query) else w.lexical_en
        scores = w.dense * self.dense_scores(query) + lexical_weight * self.lexical_scores(query)
        # A sticker whose written words are in the other language is not an answer.
        other = self._text_is_en if lang == "zh" else self._text_is_zh
        scores[other] -= 10.0
        return scores

    def image_scores(self, image: LoadedImage) -> tuple[np.ndarray, np.ndarray, str]:
        """(hash similarity in [0, 1], Hamming distances, OCR text) of an image against the library."""
        distances = hamming(phash(image.first), self._hashes)
        distances[~self._hashed] = 64
        similarity = np.clip(1.0 - distances / self.weights.image_horizon_bits, 0.0, 1.0)
        text = self.read_text(image)
        return similarity.astype(np.float32), distances, text

    def image_embedding_scores(self, image: LoadedImage) -> tuple[np.ndarray, np.ndarray]:
        """(cosine of image embeddings, whether the sticker was a candidate) against the library."""
        if self.image_index is None:
            return self._spread([])
        return self._spread(self.image_index.query_image(image, k=self.weights.candidates))

    def read_text(self, image: LoadedImage) -> str:
        if self.ocr is None:
            return ""
        texts = []
        for frame in image.frames:
            text = self.ocr.read(frame)
            if text and text not in texts:
                texts.append(text)
        return " ".join(texts)

    # --- ranked results --------------------------------------------------------------------

    def search(
        self,
        query: str | None = None,
        *,
        image: LoadedImage | None = None,
        k: int = 10,
        lang: str | None = None,
    ) -> list[SearchHit]:
        """Top ``k`` stickers for a text, an image, or both."""
        if not query and image is None:
            raise ValueError("search needs a text query, an image, or both")
        w = self.weights
        scores = np.zeros(len(self._records), dtype=np.float32)
        distances = None
        ocr_text = ""
        cosine = candidate = None
        if query:
            scores += self.text_scores(query, lang)
        if image is not None:
            similarity, distances, ocr_text = self.image_scores(image)
            scores += w.image * similarity
            if self.image_index is not None:
                cosine, candidate = self.image_embedding_scores(image)
                scores += (w.image_embedding_with_words if ocr_text else w.image_embedding) * cosine
            if ocr_text:
                scores += w.ocr * self.text_scores(ocr_text, lang or detect_lang(ocr_text))
        order = np.argsort(-scores, kind="stable")[:k]
        hits = []
        for pos in order:
            record = self._records[pos]
            reasons = []
            if query:
                reasons.append("text match")
            if distances is not None:
                d = int(distances[pos])
                if d == 0:
                    reasons.append("exact duplicate (perceptual hash)")
                elif d < w.image_horizon_bits:
                    reasons.append(f"looks alike (hash distance {d}/64)")
                if cosine is not None and candidate[pos]:
                    reasons.append(f"looks alike (image embedding {float(cosine[pos]):.2f})")
                if ocr_text:
                    reasons.append(f'text in the image: "{ocr_text}"')
            hits.append(SearchHit(record, float(scores[pos]), self.library.path_of(record), reasons))
        return hits

    def read_picture(self, image: LoadedImage) -> StickerReading | None:
        """What a picture shows, read from the library stickers nearest to its image vector
        (see :mod:`stickerbot.retrieval.reading`); None without an image embedder."""
        reader = self.picture_reader()
        if reader is None:
            return None
        vector, expression = embed_sticker_with_expression(
            self.image_index.embedder, image, reader.needs_expression
        )
        return reader.read(vector, expression)

    def picture_reader(self) -> NeighbourReader | None:
        """The library's stickers as a :class:`NeighbourReader` (built once), or None without an
        image embedder."""
        if self.image_index is None:
            return None
        with self._reader_lock:
            if self._reader is None:
                ids = [r.id for r in self._records]
                images = self.image_index.get_vectors(ids)
                # An encoder trained into the text index's space also compares a picture with
                # the stickers' annotations; CLIP's image space only with their pictures.
                in_text_space = shares_text_space(self.image_index.embedder, self.index.embedder)
                texts = self.index.get_vectors(ids) if in_text_space else {}
                kept = [r for r in self._records if r.id in images and (not in_text_space or r.id in texts)]
                if not kept:
                    return None
                image_vectors = np.stack([images[r.id] for r in kept])
                if in_text_space:
                    self._reader = NeighbourReader(
                        kept, np.stack([texts[r.id] for r in kept]), image_vectors, self.read_weights
                    )
                else:
                    self._reader = NeighbourReader(kept, image_vectors, None, self.read_weights)
            return self._reader

    def duplicates_of(self, hash_hex: str, max_bits: int) -> list[tuple[StickerRecord, int]]:
        """Library stickers within ``max_bits`` of a perceptual hash, nearest first."""
        distances = hamming(hash_hex, self._hashes)
        distances[~self._hashed] = 64
        close = np.flatnonzero(distances <= max_bits)
        return sorted(((self._records[i], int(distances[i])) for i in close), key=lambda t: t[1])


class LibraryWatch:
    """Notices a library grown by another process that shares the index (a Chroma server).

    ``stamp()`` reads the library version the sticker index holds; when it differs from the
    last one seen, ``reload()`` loads the library again (its manifests are on storage the
    processes share). Checked at most every ``interval`` seconds, by one thread at a time: a
    search never waits for a check another thread is making.
    """

    def __init__(self, stamp: Callable[[], str], reload: Callable[[], None], *, interval: float = 1.0):
        self._stamp, self._reload = stamp, reload
        self.interval = interval
        self.seen = stamp()
        self._checked = time.monotonic()
        self._lock = threading.Lock()

    def saw(self, stamp: str) -> None:
        """This process wrote ``stamp`` itself (after its own import): nothing to reload."""
        self.seen = stamp

    def check(self) -> bool:
        """Reload when the stamp moved; whether it did."""
        if time.monotonic() - self._checked < self.interval or not self._lock.acquire(blocking=False):
            return False
        try:
            self._checked = time.monotonic()
            try:
                stamp = self._stamp()
            except Exception as err:  # the server is away: keep searching what is known
                log.warning("cannot read the library version from the index: %s", err)
                return False
            if stamp == self.seen:
                return False
            self._reload()
            self.seen = stamp
            return True
        finally:
            self._lock.release()


class StickerSearch:
    """The library's search, shared by every request: the current :class:`SearchView`.

    Each method reads the view once, so one call never mixes two libraries. A caller that
    combines several calls (scores, then ``records[best]``) should take :attr:`view` once
    and call it, since an import may swap the view between two calls.
    """

    def __init__(
        self,
        library: Library,
        index: StickerIndex,
        *,
        ocr: OcrEngine | None = None,
        weights: SearchWeights | None = None,
        image_index: StickerImageIndex | None = None,
    ):
        self._view = SearchView(library, index, ocr=ocr, weights=weights, image_index=image_index)
        self._watch: LibraryWatch | None = None

    def watch(self, watch: LibraryWatch) -> None:
        """Check ``watch`` before searches: another process may have imported a pack."""
        self._watch = watch

    @property
    def view(self) -> SearchView:
        if self._watch is not None:
            self._watch.check()
        return self._view

    def refresh(self, library: Library) -> None:
        """Search ``library`` from now on (after an import): same index, OCR and weights.

        The new view is built before it replaces the old one in a single assignment
        (atomic under the GIL), so searches never wait and never see it half built.
        The index must already hold the new stickers' vectors; ids it returns that a
        view does not know are ignored, so writing them early is harmless.
        """
        old = self._view
        self._view = SearchView(
            library, old.index, ocr=old.ocr, weights=old.weights, image_index=old.image_index
        )

    # --- the current view's API ------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._view)

    @property
    def library(self) -> Library:
        return self.view.library

    @property
    def records(self) -> list[StickerRecord]:
        return self.view.records

    @property
    def index(self) -> StickerIndex:
        return self.view.index

    @property
    def image_index(self) -> StickerImageIndex | None:
        return self.view.image_index

    @property
    def ocr(self) -> OcrEngine | None:
        return self.view.ocr

    @property
    def weights(self) -> SearchWeights:
        return self.view.weights

    def dense_scores(self, query: str) -> np.ndarray:
        return self.view.dense_scores(query)

    def lexical_scores(self, query: str) -> np.ndarray:
        return self.view.lexical_scores(query)

    def text_scores(self, query: str, lang: str | None = None) -> np.ndarray:
        return self.view.text_scores(query, lang)

    def image_scores(self, image: LoadedImage) -> tuple[np.ndarray, np.ndarray, str]:
        return self.view.image_scores(image)

    def image_embedding_scores(self, image: LoadedImage) -> tuple[np.ndarray, np.ndarray]:
        return self.view.image_embedding_scores(image)

    def read_text(self, image: LoadedImage) -> str:
        return self.view.read_text(image)

    def search(
        self,
        query: str | None = None,
        *,
        image: LoadedImage | None = None,
        k: int = 10,
        lang: str | None = None,
    ) -> list[SearchHit]:
        """Top ``k`` stickers for a text, an image, or both (see :meth:`SearchView.search`)."""
        return self.view.search(query, image=image, k=k, lang=lang)

    def duplicates_of(self, hash_hex: str, max_bits: int) -> list[tuple[StickerRecord, int]]:
        return self.view.duplicates_of(hash_hex, max_bits)

    def read_picture(self, image: LoadedImage) -> StickerReading | None:
        return self.view.read_picture(image)

    def picture_reader(self) -> NeighbourReader | None:
        return self.view.picture_reader()
