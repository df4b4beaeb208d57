"""Pick the sticker that goes with a reply: one that answers the user's intent and matches the words.

Only stickers that answer the intent (``chat.intents.answers``: by fine emotion, by name for
occasions like good night, and literal objects only as the intent's symbols or, in small talk,
when the message is about that thing) are candidates; among them the score adds sticker-search
relevance to the reply text, to the user's message, and to search words for the intent's usual
answer ("congrats proud of you"). Stickers already sent in this conversation are skipped.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from stickerbot.chat.intents import answers, is_literal, load_taxonomy, mentions
from stickerbot.retrieval.search import SearchHit, SearchView, StickerSearch


@dataclass(frozen=True)
class ChoiceWeights:
    reply: float = 1.0
    message: float = 0.5
    intent: float = 1.0
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
    def _build(view: SearchView) -> tuple[SearchView, dict[str, np.ndarray], np.ndarray, dict[str, int]]:
        records = view.records
        taxonomy = load_taxonomy()
        # What answers each intent whatever the message says; object stickers a message
        # mentions are added per turn.
        fits = {
            name: np.array([answers(spec, r) for r in records], dtype=bool)
            for name, spec in taxonomy.intents.items()
        }
        literal = np.array([is_literal(r) for r in records], dtype=bool)
        return view, fits, literal, {r.id: i for i, r in enumerate(records)}

    def _tables_for(self, view: SearchView):
        tables = self._tables
        if tables[0] is not view:
            # One assignment of a whole tuple: a session reading it never sees half of it.
            tables = self._tables = self._build(view)
        return tables

    def fitting(self, intent: str) -> int:
        """How many stickers of the library answer ``intent`` (whatever the message)."""
        return int(self._tables_for(self.search.view)[1][intent].sum())

    def choose(
        self,
        intent: str,
        *,
        reply: str,
        message: str,
        intent_query: str,
        lang: str,
        exclude: Collection[str] = (),
        ret_vector: np.ndarray | None = None,
    ) -> SearchHit | None:
        """The best fitting sticker, or None when the library has none for this intent."""
        w = self.weights
        # One view for the whole choice: an import may swap the search's view meanwhile.
        view = self.search.view
        _, fits, literal, position = self._tables_for(view)
        scores = np.zeros(len(view.records), dtype=np.float32)
        if intent_query.strip():
            scores += w.intent * view.text_scores(intent_query, lang)
        if reply.strip():
            scores += w.reply * view.text_scores(reply, lang)
        if message.strip():
            scores += w.message * view.text_scores(message, lang)
        if ret_vector is not None:
            scores += w.ret * view.vector_scores(ret_vector)
        allowed = fits[intent].copy()
        if load_taxonomy()[intent].objects and message.strip():
            for i in np.flatnonzero(literal & ~allowed):
                allowed[i] = mentions(message, view.records[i])
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
            f"you seem to be {load_taxonomy()[intent].describe('en').split(' (')[0]}; "
            f"this sticker is {feeling}, which answers it",
            "closest to the reply's words among fitting stickers"
            + (", with the <ret> embedding of your message" if ret_vector is not None else ""),
        ]
        return SearchHit(record, float(scores[best]), view.library.path_of(record), reasons)
