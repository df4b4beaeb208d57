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

from stickerbot.chat.intents import answers, is_literal, load_taxonomy, names_object, object_words
from stickerbot.retrieval.search import SearchHit, SearchView, StickerSearch
from stickerbot.text import tokenize


@dataclass(frozen=True)
class ChoiceWeights:
    reply: float = 1.0
    message: float = 0.5
    intent: float = 1.0
    # The <ret> embedding of the message (retrieval tokens), when a checkpoint is loaded.
    ret: float = 1.0
    # Among the stickers that answer the intent read (all fitting ones if none does), those
    # most likely to answer the turn (the probability-weighted share of the likely intents they
    # answer) come first; those within this much of the best are candidates. On the reply dev
    # set (stickers chosen from the message alone): sticker fit 88.8% at 0, 90.1% at 0.05,
    # 85.5% at 0.1, 81.6% choosing among the stickers of the most likely intent only, by score.
    # With the intent-read stickers first (and good night answered by named stickers only):
    # 90.8%, against 88.2% without that step.
    fit_tolerance: float = 0.05
    # The intent read leads the choice only when the perception gives it at least this share;
    # below it the read may well be wrong ("she came FIRST 😭😭" read as amusement) and the
    # likely intents rank the stickers together.
    read_first: float = 0.3


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
        # What each object sticker shows, for small talk about that thing.
        objects = {int(i): object_words(records[i]) for i in np.flatnonzero(literal)}
        return view, fits, (literal, objects), {r.id: i for i, r in enumerate(records)}

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
        likely: dict[str, float] | None = None,
    ) -> SearchHit | None:
        """The best fitting sticker, or None when the library has none for this intent.

        ``likely``: the intents the turn may have, with their probabilities (the perception's
        votes); a sticker that answers several of them beats one that answers only the first.
        """
        w = self.weights
        # One view for the whole choice: an import may swap the search's view meanwhile.
        view = self.search.view
        _, fits, (literal, objects), position = self._tables_for(view)
        named = None  # object stickers the message names, computed once if an intent needs it
        scores = np.zeros(len(view.records), dtype=np.float32)
        if intent_query.strip():
            scores += w.intent * view.text_scores(intent_query, lang)
        if reply.strip():
            scores += w.reply * view.text_scores(reply, lang)
        if message.strip():
            scores += w.message * view.text_scores(message, lang)
        if ret_vector is not None:
            scores += w.ret * view.vector_scores(ret_vector)
        likely = {k: v for k, v in (likely or {intent: 1.0}).items() if k in fits and v > 0} or {intent: 1.0}
        expected = np.zeros(len(view.records), dtype=np.float32)
        read = np.zeros(len(view.records), dtype=bool)
        for name, p in likely.items():
            answering = fits[name].astype(np.float32)
            if load_taxonomy()[name].objects and message.strip():
                if named is None:
                    tokens = tokenize(message)
                    named = [i for i, words in objects.items() if names_object(message, words, tokens)]
                answering[named] = 1.0
            expected += p * answering
            if name == intent:
                read = answering > 0
        expected /= sum(likely.values())
        allowed = expected > 0
        for sticker_id in exclude:
            pos = position.get(sticker_id)
            if pos is not None:
                allowed[pos] = False
        if not allowed.any():
            return None
        # A sticker that answers the intent read, when the library has one: the likely intents
        # then rank among those (a named good-night sticker answers only good night, and a
        # smiley that answers greetings and small talk too must not outrank it).
        own = allowed & read
        if own.any():
            allowed = own
        best_fit = float(expected[allowed].max())
        allowed &= expected >= best_fit - w.fit_tolerance
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
