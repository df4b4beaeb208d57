"""Text -> sticker retrieval on the project's held-out queries.

The query sets (assets/eval/*.jsonl) were written apart from the sticker
annotations: paraphrases, slang and chat phrases in English and Chinese, each
with the set of stickers a person would accept. No query appears verbatim in
any indexed text (tests/test_eval_queries.py checks it).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from stickerbot.errors import UserError
from stickerbot.evaluation.metrics import DEFAULT_KS, mean_recall, recall_at_ks


@dataclass(frozen=True)
class Query:
    text: str
    lang: str
    relevant: frozenset[str]


def load_queries(path: Path) -> list[Query]:
    queries = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                queries.append(Query(row["query"], row["lang"], frozenset(row["relevant"])))
            except (json.JSONDecodeError, KeyError) as err:
                raise UserError(f"{path}:{number}: bad query line ({err})") from err
    return queries


@dataclass
class RetrievalResult:
    lang: str
    n: int
    recalls: dict[str, float]
    primary_metric: str = "MR"

    @property
    def mr(self) -> float:
        return mean_recall(self.recalls)

    def to_dict(self) -> dict:
        return {
            "lang": self.lang,
            "n": self.n,
            **{k: round(v, 4) for k, v in self.recalls.items()},
            "MR": round(self.mr, 2),
        }


class RetrievalEvaluator:
    """Runs a ranker over the queries of each language and reports R@1/5/10 and MR."""

    primary_metric = "MR"

    def __init__(self, queries: Sequence[Query], ks: Sequence[int] = DEFAULT_KS):
        self.queries = list(queries)
        self.ks = tuple(ks)

    def __call__(self, rank: Callable[[str, str, int], list[str]]) -> list[RetrievalResult]:
        """``rank(query, lang, k)`` returns sticker ids, best first."""
        results = []
        k = max(self.ks)
        for lang in sorted({q.lang for q in self.queries}):
            subset = [q for q in self.queries if q.lang == lang]
            ranked = [rank(q.text, q.lang, k) for q in subset]
            recalls = recall_at_ks(ranked, [set(q.relevant) for q in subset], self.ks)
            results.append(RetrievalResult(lang, len(subset), recalls))
        return results


def format_table(title: str, results: Sequence[RetrievalResult]) -> str:
    """``title`` over one row per language: n, R@1/5/10 in percent, MR (what `eval retrieval` prints)."""
    lines = [title, f"{'lang':5s} {'n':>4s} {'R@1':>6s} {'R@5':>6s} {'R@10':>6s} {'MR':>6s}"]
    for r in results:
        lines.append(
            f"{r.lang:5s} {r.n:4d} {r.recalls['R@1'] * 100:6.1f} {r.recalls['R@5'] * 100:6.1f} "
            f"{r.recalls['R@10'] * 100:6.1f} {r.mr:6.1f}"
        )
    return "\n".join(lines)


def search_ranker(search) -> Callable[[str, str, int], list[str]]:
    """A ranker over a :class:`~stickerbot.retrieval.search.StickerSearch` (text only)."""
    return lambda query, lang, k: [h.record.id for h in search.search(query, k=k, lang=lang)]


# How each held-out query is put to the <ret> model: inside a request for a sticker.
RET_REQUESTS = {"en": "send me a sticker for {}", "zh": "给我发个{}的表情包"}


def ret_ranker(model, ids: Sequence[str], vectors) -> Callable[[str, str, int], list[str]]:
    """A ranker by the <ret> embedding of a retrieval-token ``model`` against the stickers'
    ``vectors`` (rows in the order of ``ids``), by cosine."""
    import numpy as np

    from stickerbot.retrieval_tokens.inference import rank_stickers, ret_query

    ids = list(ids)
    vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    def rank(query: str, lang: str, k: int) -> list[str]:
        return rank_stickers(ret_query(model, RET_REQUESTS[lang].format(query)), ids, vectors, k)

    return rank
