"""The empathetic context memory: StickerConv parsing (both layouts), `memory add`, retrieval."""

from __future__ import annotations

import json

import pytest

from stickerbot.errors import UserError
from stickerbot.memory.dialogues import DialogueFormatError, iter_exchanges, load_exchanges
from stickerbot.memory.store import DialogueMemory, add_dialogue_file, read_folders
from stickerbot.retrieval.lexical import BM25Index
from tests.helpers_memory import DIALOGUES, session, write_jsonl


def test_sessions_become_exchanges_with_history_and_stickers(tmp_path):
    path = write_jsonl(tmp_path / "mine.jsonl", DIALOGUES)
    exchanges = load_exchanges(path)
    assert len(exchanges) == 6
    first, second = exchanges[0], exchanges[1]
    assert first.id == "mine:s1:1" and first.emotion == "Sadness" and first.lang == "en"
    assert first.system_sticker["id"] == "emoji:1F917"
    assert second.history == (
        ("I failed my driving test again", "Oh no, that's rough. You'll get it next time!"),
    )
    assert exchanges[-1].lang == "zh" and exchanges[-1].emotion == "Anger"


def test_per_turn_training_records_are_read(tmp_path):
    record = {
        "input_text": "USER: hi ASSISTANT: hey USER: my cat is sick",
        "input_image": [],
        "query": "my cat is sick",
        "response_text": "Oh no, poor kitty. I hope the vet helps.",
        "response_image": [],
        "user_persona": "a cat owner",
        "user_status": "Your cat is sick.",
        "history": [["hi", "hey"]],
    }
    (exchange,) = load_exchanges(write_jsonl(tmp_path / "turns.jsonl", [record]))
    assert exchange.user_message == "my cat is sick" and exchange.history == (("hi", "hey"),)
    assert exchange.emotion is None and exchange.lang == "en"
    # The same record read twice gets the same id, so re-adding a file updates it.
    assert load_exchanges(tmp_path / "turns.jsonl")[0].id == exchange.id


@pytest.mark.parametrize(
    "line,message",
    [
        ("{not json", "not valid JSON"),
        ('["a list"]', "JSON object"),
        ('{"something": 1}', "not a StickerConv session"),
        ('{"conversation": []}', "non-empty list"),
        ('{"conversation": [{"user_message": "hi", "system_message": ""}]}', "system_message is empty"),
        (
            '{"conversation": [{"user_message": "hi", "system_message": "yo", "user_sticker": "x.png"}]}',
            "sticker",
        ),
    ],
)
def test_bad_lines_are_named(tmp_path, line, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(DIALOGUES[1]) + "\n" + line + "\n", encoding="utf-8")
    with pytest.raises(DialogueFormatError, match=message) as err:
        list(iter_exchanges(path))
    assert "line 2" in str(err.value)


def test_add_dialogue_file_checks_everything_before_writing(tmp_path):
    target = tmp_path / "data" / "dialogues"
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(DIALOGUES[0]) + "\n{oops\n", encoding="utf-8")
    with pytest.raises(DialogueFormatError):
        add_dialogue_file(bad, target)
    assert not target.exists() or not any(target.iterdir())
    good = write_jsonl(tmp_path / "good.jsonl", DIALOGUES)
    stored, n = add_dialogue_file(good, target, name="extra")
    assert stored == target / "extra.jsonl" and n == 6
    assert stored.read_bytes() == good.read_bytes()
    assert [p.name for p in target.iterdir()] == ["extra.jsonl"]  # no temp file left behind
    with pytest.raises(UserError, match="letters"):
        add_dialogue_file(good, target, name="../escape")


def test_later_files_replace_ids_of_earlier_ones(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    write_jsonl(a / "same.jsonl", DIALOGUES[:1])
    changed = session("s1", "Sadness", [("I failed my driving test again", "New reply.", None)])
    write_jsonl(b / "same.jsonl", [changed])
    exchanges = read_folders([a, b])
    assert {e.id: e.system_message for e in exchanges}["same:s1:1"] == "New reply."


@pytest.fixture
def memory(tmp_path, fake_embedder):
    folder = tmp_path / "dialogues"
    folder.mkdir()
    write_jsonl(folder / "mine.jsonl", DIALOGUES)
    return DialogueMemory.open(tmp_path / "index", fake_embedder, [folder])


def test_memory_finds_similar_messages_in_each_language(memory):
    assert len(memory) == 6 and len(memory.index) == 6
    (hit,) = memory.similar("my driving test went badly", k=1, lang="en")
    assert hit.exchange.id == "mine:s1:1"
    (hit,) = memory.similar("there's a spider on the wall", k=1)
    assert hit.exchange.emotion == "Fear"
    (hit,) = memory.similar("老板甩锅，气死了", k=1, lang="zh")
    assert hit.exchange.id == "mine:z2:1" and hit.score > 0.3
    assert all(h.exchange.lang == "zh" for h in memory.similar("anything", k=5, lang="zh"))
    assert memory.similar("   ", k=3) == []


def test_chinese_scores_are_absolute_not_relative(memory):
    # A message sharing nothing with the memory must not look similar just for being the best of none.
    hits = memory.similar("今天天气不错", k=2, lang="zh")
    assert all(h.score < 0.3 for h in hits)


def test_memory_sync_is_incremental_and_drops_removed_files(tmp_path, fake_embedder):
    folder = tmp_path / "dialogues"
    folder.mkdir()
    write_jsonl(folder / "one.jsonl", DIALOGUES[:2])
    first = DialogueMemory.open(tmp_path / "index", fake_embedder, [folder])
    assert len(first.index) == 3
    calls = fake_embedder.calls
    again = DialogueMemory.open(tmp_path / "index", fake_embedder, [folder])
    assert fake_embedder.calls == calls and len(again) == 3  # nothing re-embedded
    (folder / "one.jsonl").unlink()
    write_jsonl(folder / "two.jsonl", DIALOGUES[2:3])
    third = DialogueMemory.open(tmp_path / "index", fake_embedder, [folder])
    assert len(third.index) == 1 and set(third.by_id) == {"two:s3:1"}


def test_bm25_self_score_scales_to_one_for_the_same_words():
    index = BM25Index(["a", "b", "c"], ["spider in the bathroom", "got the job", "考试没考好"])
    for i, text in enumerate(["spider in the bathroom", "考试没考好"]):
        pos = 0 if i == 0 else 2
        assert index.scores(text)[pos] / index.self_score(text) == pytest.approx(1.0, rel=0.35)
    assert index.self_score("") == 0.0
