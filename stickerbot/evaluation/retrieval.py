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
