"""Hand-written algorithms against reference implementations (test-only dependencies in
requirements-dev.txt): BM25 against bm25s (Lucene's BM25), the ridge map against
numpy.linalg.lstsq, the perceptual hash against imagehash.phash on the bundled pack."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from stickerbot.retrieval.lexical import BM25Index
from stickerbot.text import tokenize

CORPUS = [
    "a crying cat in the rain, so sad",
    "happy birthday party with balloons and cake",
    "so tired, need coffee, need sleep",
    "angry face, steam from the nose",
    "thank you so much, hugs",
    "good night, sleepy moon",
    "好累 想睡觉",
    "生日快乐 蛋糕",
    "cat cat cat playing with a ball",
    "the rain again, ugh, so annoying",
]
QUERIES = ["crying cat", "so tired", "birthday cake", "好累", "rain", "thank you hugs", "cat ball", "moon"]


def test_bm25_ranks_like_lucene_bm25_in_bm25s():
    bm25s = pytest.importorskip("bm25s")
    ours = BM25Index([str(i) for i in range(len(CORPUS))], CORPUS, k1=1.2, b=0.75)
    reference = bm25s.BM25(method="lucene", k1=1.2, b=0.75)
    reference.index([tokenize(t) for t in CORPUS], show_progress=False)
    for query in QUERIES:
        got, want = ours.scores(query), np.asarray(reference.get_scores(tokenize(query)))
        assert (got > 0).any()
        # Lucene drops BM25's constant (k1 + 1) factor; the ranking and the ratios are the same.
        assert np.allclose(got, want * (1.2 + 1), rtol=1e-4, atol=1e-6), query
        assert list(np.argsort(-got, kind="stable")) == list(np.argsort(-want, kind="stable"))


def test_ridge_map_solves_the_same_problem_as_lstsq():
    from stickerbot.retrieval_tokens.heads import ridge_map

    rng = np.random.default_rng(0)
    hidden = rng.normal(size=(50, 12))
    targets = hidden @ rng.normal(size=(12, 5)) + 0.3 + 0.1 * rng.normal(size=(50, 5))
    ridge = 2.5
    weight, bias = ridge_map(torch.from_numpy(hidden).float(), torch.from_numpy(targets).float(), ridge)
    # min |[H 1] x - T|^2 + ridge |W|^2 as one least-squares system: the penalty rows shrink
    # the weights and leave the bias column alone.
    design = np.hstack([hidden, np.ones((50, 1))])
    penalty = np.hstack([np.sqrt(ridge) * np.eye(12), np.zeros((12, 1))])
    solution, *_ = np.linalg.lstsq(
        np.vstack([design, penalty]), np.vstack([targets, np.zeros((12, 5))]), rcond=None
    )
    assert np.allclose(weight.numpy(), solution[:-1].T, atol=1e-4)
    assert np.allclose(bias.numpy(), solution[-1], atol=1e-4)


@pytest.mark.slow
def test_perceptual_hash_agrees_with_imagehash_on_the_bundled_pack():
    imagehash = pytest.importorskip("imagehash")
    from stickerbot.config import Settings
    from stickerbot.stickers.images import flatten, load_image
    from stickerbot.stickers.library import Library
    from stickerbot.stickers.phash import phash

    library = Library.load(Settings.from_env({}).bundled_pack_dir)
    agreement = []
    for record in library.records:
        image = load_image(library.path_of(record).read_bytes()).first
        ours = int(phash(image), 16)
        # imagehash takes the picture as given; ours flattens a transparent sticker on white first.
        theirs = int(str(imagehash.phash(flatten(image))), 16)
        agreement.append(64 - bin(ours ^ theirs).count("1"))
    assert len(agreement) > 1000
    assert np.mean(agreement) / 64 > 0.99
