"""ROUGE-L and distinct-n against naive references on seeded random token sequences."""

from __future__ import annotations

import itertools
import random

import pytest

from agents.metrics import cosine_bow, distinct_n, lcs_length, max_rouge_l, rouge_l, rouge_l_text, tokens


def naive_lcs(a, b) -> int:
    """The longest subsequence of ``a`` that is also a subsequence of ``b``, by brute force."""

    def is_subsequence(sub, seq) -> bool:
        it = iter(seq)
        return all(x in it for x in sub)

    for length in range(min(len(a), len(b)), 0, -1):
        for idx in itertools.combinations(range(len(a)), length):
            if is_subsequence([a[i] for i in idx], b):
                return length
    return 0


def naive_rouge_l(c, r, beta=1.0) -> float:
    lcs = naive_lcs(c, r)
    if lcs == 0:
        return 0.0
    p, rec = lcs / len(c), lcs / len(r)
    return (1 + beta**2) * p * rec / (rec + beta**2 * p)


def test_lcs_and_rouge_l_match_brute_force_on_random_sequences():
    rng = random.Random(0)
    vocab = list("abcde")
    for _ in range(200):
        a = [rng.choice(vocab) for _ in range(rng.randint(0, 8))]
        b = [rng.choice(vocab) for _ in range(rng.randint(0, 8))]
        assert lcs_length(a, b) == naive_lcs(a, b)
        for beta in (1.0, 1.2):
            assert rouge_l(a, b, beta=beta) == pytest.approx(naive_rouge_l(a, b, beta))
        assert rouge_l(a, b) == pytest.approx(rouge_l(b, a))  # F1 is symmetric


def test_rouge_l_known_values():
    assert rouge_l_text("the cat sat on the mat", "the cat sat on the mat") == 1.0
    assert rouge_l_text("", "anything") == 0.0
    # LCS "the cat the" = 3 of 4 and 3 of 5 tokens -> F1 = 2PR/(P+R)
    p, r = 3 / 4, 3 / 5
    assert rouge_l_text("the cat saw the", "the big cat ate the") == pytest.approx(2 * p * r / (p + r))
    assert max_rouge_l("my cat is sick", ["hello there", "my cat is so sick"])[1] == "my cat is so sick"


def test_tokens_are_words_in_english_and_characters_in_chinese():
    assert tokens("I'm SO tired… 😭 really!") == ["i'm", "so", "tired", "really"]
    assert tokens("好累啊 ok") == ["好", "累", "啊", "ok"]


def naive_distinct(texts, n) -> float:
    grams = []
    for text in texts:
        toks = tokens(text)
        grams += [" ".join(toks[i : i + n]) for i in range(len(toks) - n + 1)]
    return len(set(grams)) / len(grams) if grams else 0.0


def test_distinct_n_matches_a_naive_count():
    rng = random.Random(1)
    words = "a b c d e f g".split()
    for _ in range(50):
        texts = [
            " ".join(rng.choice(words) for _ in range(rng.randint(0, 6))) for _ in range(rng.randint(0, 5))
        ]
        for n in (1, 2, 3):
            assert distinct_n(texts, n) == pytest.approx(naive_distinct(texts, n))
    assert distinct_n(["so sad so sad"], 1) == 0.5
    assert distinct_n(["so sad so sad"], 2) == pytest.approx(2 / 3)
    assert distinct_n([], 2) == 0.0
    with pytest.raises(ValueError):
        distinct_n(["x"], 0)


def test_cosine_bow():
    assert cosine_bow("sad cat", "sad cat") == pytest.approx(1.0)
    assert cosine_bow("sad cat", "happy dog") == 0.0
    assert cosine_bow("", "x") == 0.0
