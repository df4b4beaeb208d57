"""How well does the response selector pick the reply that was really given?

Sessions of the dialogue memory are split (``SelectorConfig.heldout`` of them held out, by
session); a selector trained on the rest ranks, for each held-out message, its true reply
among 9 replies of other held-out exchanges of the same language. Reported per language as
recall@1 of 10 (chance 10%), beside untrained baselines: the cosine of the message's and the
reply's sentence embeddings (zero for a language the embedder does not cover), and the hashed
n-grams through a random projection.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from stickerbot.chat.classifier import views_of
from stickerbot.chat.selection import (
    Featurizer,
    ResponseSelector,
    SelectorConfig,
    pairs_from_memory,
    recall_at_1,
    split_pairs,
)


def _cosine(embedder):
    def score(message, replies, lang):
        if lang not in embedder.languages:
            return np.zeros(len(replies))
        vectors = embedder.encode_queries([message, *replies])
        return vectors[1:] @ vectors[0]

    return score


def selection_report(memory, config: SelectorConfig | None = None, *, extra=None, draws: int = 5) -> dict:
    """``extra``: a multilingual embedder the selector may also read Chinese with (compared)."""
    config = config or SelectorConfig()
    pairs = pairs_from_memory(memory)
    train, test = split_pairs(pairs, config.heldout, config.seed)
    embedder = memory.index.embedder

    def r1(score):
        return recall_at_1(score, test, draws=draws, seed=config.seed)

    def trained(views):
        selector = ResponseSelector.train(train, Featurizer(views, config.embedding_scale), config)
        return lambda m, replies, lang: selector.scores(m, replies, lang)

    results = {f"trained selector ({embedder.name} + n-grams)": r1(trained(views_of(embedder)))}
    if extra is not None:
        missing = [lang for lang in extra.languages if lang not in embedder.languages]
        results[f"trained selector (+ {extra.name} for Chinese)"] = r1(
            trained(views_of(embedder, extra, extra_languages=missing))
        )
        results[f"trained selector (+ {extra.name} for all)"] = r1(trained(views_of(embedder, extra)))
    results[f"{embedder.name} cosine"] = r1(_cosine(embedder))
    if extra is not None:
        results[f"{extra.name} cosine"] = r1(_cosine(extra))
    sparse_only = ResponseSelector.train(train, Featurizer((), 1.0), replace(config, epochs=0))
    results["n-grams, untrained random projection"] = r1(lambda m, r, lang: sparse_only.scores(m, r, lang))
    return {
        "train_pairs": len(train),
        "heldout_pairs": len(test),
        "heldout_by_language": {
            lang: sum(p.lang == lang for p in test) for lang in sorted({p.lang for p in test})
        },
        "recall_at_1_of_10": results,
    }
