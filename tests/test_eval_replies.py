"""``eval replies``: the reply sets load and validate, and the report counts what the checks find,
the sticker fit by fine intent, intent accuracy, off-topic ranks and the hand audit. Scored on
replies the tests write; no model."""

from __future__ import annotations

import json

import numpy as np
import pytest

from stickerbot.chat.checks import ReplyChecker
from stickerbot.config import EVAL_DIR
from stickerbot.errors import UserError
from stickerbot.evaluation.apart import PARAPHRASE, bigrams, evaluation_texts, near_copies
from stickerbot.evaluation.replies import (
    ReplyRecord,
    ReplyReport,
    load_audit,
    load_reply_items,
    score,
    summarize,
    topic_ranks,
)
from stickerbot.stickers.library import Library


@pytest.fixture(scope="module")
def library():
    from stickerbot.config import BUNDLED_PACK_DIR

    return Library.load(BUNDLED_PACK_DIR, BUNDLED_PACK_DIR / "none")


def write(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


ROWS = [
    {"id": "a", "lang": "en", "intent": "achievement", "message": "I got the job!!!", "history": []},
    {"id": "b", "lang": "en", "intent": "grief", "message": "my grandpa passed away", "history": []},
    {"id": "c", "lang": "en", "intent": "question", "message": "what's the capital of peru?"},
    {"id": "d", "lang": "zh", "intent": "good_night", "message": "晚安"},
    {
        "id": "e",
        "lang": "en",
        "intent": "amusement",
        "message": "",
        "sticker": {"kind": "library", "id": "emoji:1F602"},
    },
]


def test_the_committed_sets_load_and_are_apart(library):
    held = load_reply_items(EVAL_DIR / "replies_heldout.jsonl")
    dev = load_reply_items(EVAL_DIR / "replies_dev.jsonl")
    assert len(held) >= 300 and len(dev) >= 150
    for items in (held, dev):
        langs = [i.lang for i in items]
        assert abs(langs.count("en") - langs.count("zh")) <= 0.1 * len(items)
        assert {i.sticker["kind"] for i in items if i.sticker} == {"library", "new_caption", "unknown"}
        for i in items:
            if i.sticker and i.sticker["kind"] == "library":
                assert i.sticker["id"] in library.by_id
            elif i.sticker:
                assert (EVAL_DIR / i.sticker["image"]).is_file()
    assert not {i.message for i in held if i.message} & {i.message for i in dev if i.message}
    # Written apart from the training dialogues: no message of either set is a stored user message
    # or a near copy of one (character bigrams; sessions that collided were dropped from training).
    from stickerbot.config import BUNDLED_DIALOGUES_DIR
    from stickerbot.memory.store import read_folders

    stored = [e.user_message for e in read_folders([BUNDLED_DIALOGUES_DIR])]
    messages = [item.message for item in held + dev]
    # Near copies only (0.8): the older dialogue batches were checked at that threshold.
    assert not [messages[i] for i in near_copies(messages, stored, threshold=0.8)]


def test_the_intent_examples_are_written_apart_from_every_evaluation_set():
    """The labelled messages that teach the intent classifier paraphrase no evaluation message
    (character-bigram Jaccard below 0.4, the stricter threshold they were written under)."""
    from stickerbot.chat.examples import load_intent_examples
    from stickerbot.chat.intents import intent_names
    from stickerbot.config import INTENT_EXAMPLES_DIR

    examples = load_intent_examples(INTENT_EXAMPLES_DIR, intent_names())
    assert len(examples) >= 1000
    langs = [e.lang for e in examples]
    assert min(langs.count("en"), langs.count("zh")) >= 0.4 * len(examples)
    assert {e.label for e in examples} == set(intent_names()) - {"unknown_sticker"}
    close = near_copies([e.text for e in examples], evaluation_texts(EVAL_DIR), threshold=PARAPHRASE)
    assert [examples[i].id for i in close] == []


def test_near_copies_are_found_by_letters_not_words():
    assert bigrams("Hi, HI!") == bigrams("hihi") == {"hi", "ih"}
    refs = ["FOUND MY PASSPORT. it was in the freezer", "我考上研究生了"]
    texts = [
        "found my passport!!! it was in the cereal box",
        "the weather is nice",
        "我考上研究生啦！！",
        "好",
    ]
    assert near_copies(texts, refs) == [0, 2]
    assert near_copies(texts, refs, threshold=0.8) == []


def test_eval_apart_names_the_ids_of_near_copies_and_exits_1(tmp_path, capsys):
    from stickerbot.cli import main

    held_out = json.loads((EVAL_DIR / "replies_heldout.jsonl").read_text(encoding="utf-8").splitlines()[0])
    copy = tmp_path / "copy.jsonl"
    copy.write_text(
        json.dumps({"id": "mine-1", "text": held_out["message"] + "!!"})
        + "\n"
        + json.dumps({"id": "mine-2", "text": "a text about nothing in any evaluation set, zebra quartz"})
        + "\n",
        encoding="utf-8",
    )
    assert main(["eval", "apart", str(copy)]) == 1
    out = capsys.readouterr().out
    assert "2 texts, 1 near copies" in out and "mine-1" in out and "mine-2" not in out
    assert held_out["message"] not in out  # the evaluation text itself is never printed


def test_bad_items_are_named(tmp_path):
    with pytest.raises(UserError, match="line 1.*unknown intent"):
        load_reply_items(write(tmp_path / "x.jsonl", [{**ROWS[0], "intent": "joy"}]))
    with pytest.raises(UserError, match="duplicate"):
        load_reply_items(write(tmp_path / "x.jsonl", [ROWS[0], ROWS[0]]))
    with pytest.raises(UserError, match="message or a sticker"):
        load_reply_items(write(tmp_path / "x.jsonl", [{**ROWS[0], "message": ""}]))
    with pytest.raises(UserError, match="kind"):
        load_reply_items(write(tmp_path / "x.jsonl", [{**ROWS[4], "sticker": {"kind": "gif"}}]))


def test_report_counts_each_problem_case_by_case(tmp_path, library):
    items = load_reply_items(write(tmp_path / "set.jsonl", ROWS))
    records = [
        ReplyRecord("a", "I'm so sorry to hear about your job loss.", "model", "sadness", "emoji:1F389"),
        ReplyRecord("b", "I'm so sorry. I'm here for you.", "model", "grief", "caption:hugs"),
        ReplyRecord("c", "As an AI, I cannot answer that.", "model", "question", "emoji:1F602"),
        ReplyRecord("d", "Good night!", "model", "good_night", "caption:zh-goodnight"),
        ReplyRecord("e", "LOL that face", "model", "amusement", "emoji:1F4FB"),
    ]
    report = ReplyReport(score(items, records, library=library, checker=ReplyChecker()))
    en, zh = report.by_language()["en"], report.by_language()["zh"]
    assert en["n"] == 4 and en["tone_error_n"] == 1 and en["tone_errors"] == 25.0
    assert en["meta_talk"] == 1 and zh["wrong_language"] == 1 and en["wrong_language"] == 0
    # Stickers: party popper answers the job (a symbol), hugs answer grief, a radio answers no joke.
    assert en["sticker_n"] == 3 and en["sticker_fit"] == pytest.approx(66.7)
    assert en["factual_without_sticker"] == 0.0  # the question got a sticker
    assert en["intent_accuracy"] == 75.0 and zh["intent_accuracy"] == 100.0
    problems = {row["id"]: row["problems"] for row in report.problems()}
    assert any("sympathy on good news" in p for p in problems["a"])
    assert any("does not answer amusement" in p for p in problems["e"])
    assert "b" not in problems
    assert "tone%" in report.table()
    with pytest.raises(UserError, match="no reply"):
        score(items, records[:2], library=library, checker=ReplyChecker())


def test_audit_counts_only_replies_it_judged(tmp_path, library):
    items = load_reply_items(write(tmp_path / "set.jsonl", ROWS[:2]))
    records = [
        ReplyRecord("a", "Congrats!!", "model", "achievement", None),
        ReplyRecord("b", "So sorry.", "model"),
    ]
    audit = load_audit(
        write(
            tmp_path / "audit.jsonl",
            [
                {"id": "a", "reply": "Congrats!!", "verdict": "generic but fine"},
                {"id": "b", "reply": "an older reply", "verdict": "off-topic"},
            ],
        )
    )
    r = summarize(score(items, records, library=library, checker=ReplyChecker(), audit=audit))
    assert r["audited"] == 1 and r["audit"]["generic but fine"] == 100.0
    with pytest.raises(UserError, match="verdict"):
        load_audit(write(tmp_path / "bad.jsonl", [{"id": "a", "verdict": "meh"}]))


class KeywordSelector:
    """Scores by shared words: enough to test the ranking arithmetic."""

    def _vec(self, texts):
        v = np.array([[float(w in t.lower()) for w in TOPICS] for t in texts])
        return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-9)

    def encode_messages(self, texts, langs, vectors=None):
        return self._vec(texts)

    def encode_replies(self, texts, langs, vectors=None):
        return self._vec(texts)


TOPICS = ["job", "grandpa", "peru", "cat", "rain", "exam", "pizza", "dog", "car", "tea"]


def test_topic_rank_is_the_place_of_its_own_message_among_ten(tmp_path):
    rows = [{"id": t, "lang": "en", "intent": "small_talk", "message": f"about my {t}"} for t in TOPICS]
    items = load_reply_items(write(tmp_path / "set.jsonl", rows))
    on_topic = [ReplyRecord(t, f"oh, your {t}!") for t in TOPICS]
    assert set(topic_ranks(KeywordSelector(), items, on_topic)) == {1}
    # About the next item's situation: that message ranks first, and ties count against.
    off = [ReplyRecord(t, f"oh, your {TOPICS[(i + 1) % len(TOPICS)]}!") for i, t in enumerate(TOPICS)]
    assert set(topic_ranks(KeywordSelector(), items, off)) == {10}
    assert topic_ranks(None, items, on_topic) == [None] * len(items)
