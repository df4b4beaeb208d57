"""Text metrics as pure functions: ROUGE-L (profile de-duplication, the repetition guard and
filter), distinct-n (``--stats``) and a bag-of-words cosine (memory retrieval).

Tokens are lower-cased words in English and single characters in Chinese, so both
languages are measured on comparable units (as ROUGE implementations for Chinese do).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence

_TOKEN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|[a-z0-9]+(?:'[a-z]+)?")


def tokens(text: str) -> list[str]:
    """Lower-cased words and individual Chinese characters; punctuation and emoji dropped."""
    return _TOKEN.findall(text.lower().replace("’", "'"))


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence, in O(len(a) * len(b)) time and O(len(b)) memory."""
    if not a or not b:
        return 0
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b, 1):
            current.append(previous[j - 1] + 1 if x == y else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


def rouge_l(candidate: Sequence[str], reference: Sequence[str], *, beta: float = 1.0) -> float:
    """ROUGE-L F-measure (Lin 2004) of two token sequences: with P = LCS/|candidate| and
    R = LCS/|reference|, F = (1 + beta^2) P R / (R + beta^2 P). 0.0 when either is empty.

    beta=1 (the F1 that self-instruct de-duplicates with) is symmetric in its arguments.
    """
    lcs = lcs_length(candidate, reference)
    if lcs == 0:
        return 0.0
    precision, recall = lcs / len(candidate), lcs / len(reference)
    return (1 + beta**2) * precision * recall / (recall + beta**2 * precision)


def rouge_l_text(a: str, b: str) -> float:
    return rouge_l(tokens(a), tokens(b))


def max_rouge_l(candidate: str, references: Iterable[str]) -> tuple[float, str | None]:
    """The highest ROUGE-L F1 of ``candidate`` against ``references``, and which reference it was."""
    cand = tokens(candidate)
    best, which = 0.0, None
    for ref in references:
        score = rouge_l(cand, tokens(ref))
        if score > best:
            best, which = score, ref
    return best, which


def ngrams(seq: Sequence[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(seq[i : i + n]) for i in range(len(seq) - n + 1)]


def distinct_n(texts: Iterable[str], n: int) -> float:
    """Distinct-n (Li et al. 2016): distinct n-grams over all n-grams in ``texts`` (corpus level).

    0.0 when the texts hold no n-gram at all.
    """
    if n < 1:
        raise ValueError("n must be at least 1")
    seen: set[tuple[str, ...]] = set()
    total = 0
    for text in texts:
        grams = ngrams(tokens(text), n)
        total += len(grams)
        seen.update(grams)
    return len(seen) / total if total else 0.0


def cosine_bow(a: str, b: str) -> float:
    """Cosine similarity of the two texts' token counts (0.0 when either has no token)."""
    ca, cb = Counter(tokens(a)), Counter(tokens(b))
    if not ca or not cb:
        return 0.0
    dot = sum(v * cb[k] for k, v in ca.items())
    return dot / (math.sqrt(sum(v * v for v in ca.values())) * math.sqrt(sum(v * v for v in cb.values())))
