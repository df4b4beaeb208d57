"""The held-out queries are honest: valid ids, and never verbatim in any indexed text."""

import pytest

from stickerbot.config import BUNDLED_PACK_DIR, EVAL_DIR
from stickerbot.evaluation.retrieval import load_queries
from stickerbot.stickers.library import Library
from stickerbot.text import normalize


@pytest.fixture(scope="module")
def library():
    return Library.load(BUNDLED_PACK_DIR)


@pytest.mark.parametrize("name", ["heldout_queries.jsonl", "dev_queries.jsonl"])
def test_queries_reference_real_stickers(library, name):
    queries = load_queries(EVAL_DIR / name)
    assert {q.lang for q in queries} == {"en", "zh"}
    for q in queries:
        assert q.relevant and q.relevant <= set(library.by_id), q.text


def test_heldout_set_is_large_and_not_in_the_index_text(library):
    queries = load_queries(EVAL_DIR / "heldout_queries.jsonl")
    assert sum(q.lang == "en" for q in queries) >= 150
    assert sum(q.lang == "zh" for q in queries) >= 150
    texts = [normalize(r.index_text()) for r in library.records]
    leaked = [q.text for q in queries if any(normalize(q.text) in t for t in texts)]
    assert leaked == []


def test_dev_and_heldout_do_not_share_queries():
    dev = {normalize(q.text) for q in load_queries(EVAL_DIR / "dev_queries.jsonl")}
    held = {normalize(q.text) for q in load_queries(EVAL_DIR / "heldout_queries.jsonl")}
    assert not dev & held
