"""Pick the sticker that goes with a reply: one that fits the user's emotion and matches the words.

Only stickers whose emotion answers the user's (``stickers.labels.RESPONSE_FIT``) are
candidates; among them the score adds sticker-search relevance to the reply text, to the
user's message, and to search words for the emotion's usual answer ("hug comfort" for
sadness). Stickers already sent in this conversation are skipped, so replies vary.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from stickerbot.retrieval.search import SearchHit, SearchView, StickerSearch
from stickerbot.stickers.labels import EMOTIONS, sticker_fits


@dataclass(frozen=True)
class ChoiceWeights:
    reply: float = 1.0
    message: float = 0.5
    emotion: float = 1.0
    # The <ret> embedding of the message (retrieval tokens), when a checkpoint is loaded.
    ret: float = 1.0


class StickerChooser:
    """Shared by every session. Its per-sticker tables belong to one view of the library
    (``StickerSearch.view``) and are rebuilt when an import has swapped in another."""

    def __init__(self, search: StickerSearch, weights: ChoiceWeights | None = None):
        self.search = search
        self.weights = weights or ChoiceWeights()
        self._tables = self._build(search.view)

    @staticmethod
    def _build(view: SearchView) -> tuple[SearchView, dict[str, np.ndarray], dict[str, int]]:
        records = view.records
        fits = {
            emotion: np.array([sticker_fits(emotion, r.emotion, r.fine_emotion) for r in records], dtype=bool)
            for emotion in EMOTIONS
        }
        return view, fits, {r.id: i for i, r in enumerate(records)}

    def _tables_for(self, view: SearchView) -> tuple[SearchView, dict[str, np.ndarray], dict[str, int]]:
        tables = self._tables
        if tables[0] is not view:
            # One assignment of a whole tuple: a session reading it never sees half of it.
            tables = self._tables = self._build(view)
        return tables

    def fitting(self, emotion: str) -> int:
        """How many stickers of the library answer ``emotion``."""
        return int(self._tables_for(self.search.view)[1][emotion].sum())

    def choose(
        self,
        emotion: str,
        *,
        reply: str,
        message: str,
        emotion_query: str,
        lang: str,
        exclude: Collection[str] = (),
        ret_vector: np.ndarray | None = None,
    ) -> SearchHit | None:
        """The best fitting sticker, or None when the library has none for this emotion."""
        w = self.weights
        # One view for the whole choice: an import may swap the search's view meanwhile.
        view = self.search.view
        _, fits, position = self._tables_for(view)
        scores = w.emotion * view.text_scores(emotion_query, lang)
        if reply.strip():
            scores += w.reply * view.text_scores(reply, lang)
        if message.strip():
            scores += w.message * view.text_scores(message, lang)
        if ret_vector is not None:
            scores += w.ret * view.vector_scores(ret_vector)
        allowed = fits[emotion].copy()
        for sticker_id in exclude:
            pos = position.get(sticker_id)
            if pos is not None:
                allowed[pos] = False
        if not allowed.any():
            return None
        scores = np.where(allowed, scores, -np.inf)
        best = int(np.argmax(scores))
        record = view.records[best]
        feeling = record.fine_emotion or record.emotion.lower()
        reasons = [
            f"you seem to feel {emotion.lower()}; this sticker is {feeling}, which answers it",
            "closest to the reply's words among fitting stickers"
            + (", with the <ret> embedding of your message" if ret_vector is not None else ""),
        ]
        return SearchHit(record, float(scores[best]), view.library.path_of(record), reasons)
