"""The conversation engine's pure parts: reply text shaping, the sticker policy, the emotion cue
lexicon (the dialogue agents read feelings with it), the response-fit table, settings ->
backbone options, the intent classifier, and the chat metrics."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from stickerbot.chat.emotion import cue_matches, load_cues
from stickerbot.chat.policy import Frequency, decide, is_factual, looks_like_question
from stickerbot.chat.text import (
    clean_reply,
    complete_sentences,
    enough_sentences,
    is_in_language,
    split_sentences,
)
from stickerbot.chat.types import ChatOptions, Turn, parse_history
from stickerbot.config import Settings
from stickerbot.errors import UserError
from stickerbot.evaluation.chat import ChatMessage, Outcome, summarize
from stickerbot.evaluation.metrics import accuracy, share, when_to_send_accuracy
from stickerbot.stickers.labels import EMOTIONS, FINE_EMOTIONS, RESPONSE_FIT, sticker_fits

# --- reply text -----------------------------------------------------------------------------------


def test_sentences_split_on_english_and_chinese_ends():
    assert split_sentences("Oh no! That sucks. Want to talk?") == ["Oh no!", "That sucks.", "Want to talk?"]
    assert split_sentences("抱抱你。别难过！我在呢") == ["抱抱你。", "别难过！", "我在呢"]
    assert complete_sentences("One. Two. Thr") == 2
    assert enough_sentences("One. Two! Three?") and not enough_sentences("One. Two! Three")


def test_clean_reply_trims_to_three_sentences_and_drops_a_cut_off_one():
    text = "Assistant: I'm so sorry. That must hurt. I'm here for you. Also one more. And then some"
    assert clean_reply(text) == "I'm so sorry. That must hurt. I'm here for you."
    assert clean_reply("You did it!!!!!!! 🌟🌟🌟🌟🌟🌟") == "You did it! 🌟"
    assert clean_reply("Just one unfinished thought") == "Just one unfinished thought"
    long = "word " * 200
    assert len(clean_reply(long)) <= 321 and clean_reply(long).endswith("…")


def test_language_check():
    assert is_in_language("That's great news!", "en")
    assert not is_in_language("太好了！", "en")
    assert is_in_language("太好了，恭喜你！", "zh")
    assert not is_in_language("That's great", "zh")
    assert is_in_language("加油 OK", "zh")


# --- when to send a sticker -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    ["what's the capital of Peru?", "how many grams in a cup of flour", "怎么把照片转成PDF", "明天会下雨吗"],
)
def test_questions_are_recognised(text):
    assert looks_like_question(text)


@pytest.mark.parametrize("text", ["I got the job!!", "my cat is sick", "今天好累", "ugh not again"])
def test_statements_are_not_questions(text):
    assert not looks_like_question(text)


def test_factual_needs_a_question_without_emotion():
    assert is_factual("what time is it in Tokyo?", emotional=False)
    assert not is_factual("why does this always happen to me??", emotional=True)
    assert not is_factual("I passed!", emotional=False)


def test_decide_follows_frequency_factual_and_last_turn():
    d = decide(Frequency.OFF, factual=False, emotional=True, sent_last_turn=False)
    assert not d.send and "off" in d.why
    assert not decide(Frequency.ALWAYS, factual=True, emotional=False, sent_last_turn=False).send
    assert decide(Frequency.ALWAYS, factual=False, emotional=False, sent_last_turn=True).send
    assert decide(Frequency.OCCASIONAL, factual=False, emotional=True, sent_last_turn=False).send
    assert not decide(Frequency.OCCASIONAL, factual=False, emotional=True, sent_last_turn=True).send
    assert not decide(Frequency.OCCASIONAL, factual=False, emotional=False, sent_last_turn=False).send
    with pytest.raises(UserError, match="occasional"):
        Frequency.parse("sometimes")


def test_chat_options_validate():
    assert ChatOptions(frequency="always").frequency is Frequency.ALWAYS
    with pytest.raises(UserError):
        ChatOptions(language="fr")
    with pytest.raises(UserError):
        ChatOptions(max_new_tokens=0)


def test_history_parsing():
    turns = parse_history(
        [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "hey!", "sticker": "emoji:1F44B"},
        ]
    )
    assert turns[1] == Turn("assistant", "hey!", "emoji:1F44B")
    assert turns[1].to_dict()["sticker"] == "emoji:1F44B"
    with pytest.raises(UserError, match="role"):
        parse_history([{"role": "narrator", "content": "x"}])
    with pytest.raises(UserError):
        parse_history({"role": "user"})


# --- emotion --------------------------------------------------------------------------------------


def test_cues_cover_every_emotion_in_both_languages():
    cues, responses = load_cues()
    assert set(cues) == set(EMOTIONS)
    for emotion, cue in cues.items():
        assert cue.words or cue.phrases, emotion
        assert cue.chinese, emotion
        assert responses[emotion]["en"] and responses[emotion]["zh"], emotion


def test_cue_matching_is_word_aware():
    cues, _ = load_cues()
    assert "irritat" in cue_matches("so irritated right now", cues["Anger"])
    # "fun" is a Happiness cue; it must not fire inside "funeral".
    assert not cue_matches("the funeral is tomorrow", cues["Happiness"])
    assert cue_matches("the funeral is tomorrow", cues["Sadness"])
    assert "mad at" in cue_matches("I'm so mad at him", cues["Anger"])
    assert "气死" in cue_matches("气死我了", cues["Anger"])
    assert cue_matches("😭😭", cues["Sadness"])


# --- which stickers answer which emotion ------------------------------------------------------


def test_response_fit_table_is_consistent():
    assert set(RESPONSE_FIT) == set(EMOTIONS)
    for fine in set().union(*RESPONSE_FIT.values()):
        assert fine in FINE_EMOTIONS
    assert sticker_fits("Sadness", "Happiness", "comforting")
    assert not sticker_fits("Sadness", "Happiness", "excited")
    assert sticker_fits("Happiness", "Happiness", "excited")
    assert not sticker_fits("Anger", "Neutral", None)
    assert sticker_fits("Neutral", "Neutral", None)


# --- settings -> backbone options ---------------------------------------------------------------


def test_backbone_settings_from_env_and_options(tmp_path):
    from stickerbot.services import backbone_options

    settings = Settings.from_env({"STICKERBOT_DATA_DIR": str(tmp_path), "STICKERBOT_ADAPTER": "off"})
    assert settings.backbone == "smollm2-135m"
    options = backbone_options(settings)
    assert options == {"cache_dir": tmp_path / "models" / "smollm2-135m", "device": "auto"}

    settings = Settings.from_env(
        {
            "STICKERBOT_DATA_DIR": str(tmp_path),
            "STICKERBOT_BACKBONE": "smollm2-135m",
            "STICKERBOT_QUANTIZE_4BIT": "1",
            "STICKERBOT_ADAPTER": "/x",
        }
    )
    assert backbone_options(settings)["adapter_path"] == "/x" and backbone_options(settings)["quantize_4bit"]

    settings = Settings.from_env({"STICKERBOT_DATA_DIR": str(tmp_path), "STICKERBOT_DECODER_BF16": "1"})
    assert backbone_options(settings)["bf16_copies"] is True
    # A backbone without the fast loop refuses the setting by its name.
    with pytest.raises(UserError, match="STICKERBOT_DECODER_BF16"):
        backbone_options(replace(settings, backbone="openai:http://127.0.0.1:1/v1"))

    settings = Settings.from_env(
        {
            "STICKERBOT_BACKBONE": "openai:http://127.0.0.1:1/v1",
            "STICKERBOT_OPENAI_MODEL": "qwen",
            "STICKERBOT_OPENAI_API_KEY": "sk-secret",
        }
    )
    assert backbone_options(settings) == {"model": "qwen", "api_key": "sk-secret"}
    assert settings.to_dict()["openai_api_key"] == "***"
    assert "sk-secret" not in repr(settings)

    settings = Settings.from_env({"STICKERBOT_BACKBONE": "llava-1.5-7b-4bit", "STICKERBOT_ADAPTER": "/a"})
    assert backbone_options(settings)["adapter_path"] == "/a"
    with pytest.raises(UserError, match="integer"):
        Settings.from_env({"STICKERBOT_MAX_NEW_TOKENS": "lots"})


# --- chat metrics -----------------------------------------------------------------------------------


def test_metric_functions():
    assert accuracy(["a", "b", "c"], ["a", "x", "c"]) == pytest.approx(2 / 3)
    assert accuracy([], []) == 0.0
    with pytest.raises(ValueError):
        accuracy(["a"], [])
    assert share([True, False, True, True]) == 0.75
    assert when_to_send_accuracy([True, False, True], [True, True, True]) == pytest.approx(2 / 3)


def test_summarize_counts_fit_factual_and_misses():
    def outcome(emotion, factual, perceived, fine):
        item = ChatMessage("i", "en", "m", emotion, factual)
        return Outcome(item, perceived, None if fine is None else "s", "Happiness" if fine else None, fine)

    outcomes = [
        outcome("Sadness", False, "Sadness", "comforting"),  # fits
        outcome("Sadness", False, "Happiness", "excited"),  # wrong emotion -> misfit
        outcome("Happiness", False, "Happiness", None),  # no sticker -> miss
        outcome("Neutral", True, "Neutral", None),  # factual, no sticker: right
    ]
    r = summarize(outcomes)
    assert r["n"] == 4 and r["emotional_n"] == 3 and r["factual_n"] == 1
    assert r["sticker_fit"] == pytest.approx(33.3)
    assert r["emotion_accuracy"] == 75.0
    assert r["factual_without_sticker"] == 100.0
    assert r["when_to_send_accuracy"] == 75.0


def test_clean_reply_keeps_each_sentence_once():
    assert (
        clean_reply("So sorry to hear that. So sorry to hear that! I'm here.")
        == "So sorry to hear that. I'm here."
    )


def test_text_classifier_learns_from_labelled_texts():
    from stickerbot.chat.classifier import (
        DenseView,
        TextClassifier,
        balanced,
        fit_softmax,
        fit_softmax_sparse,
        hashed_ngram_ids,
        hashed_ngrams,
        softmax,
    )

    v = hashed_ngrams("so happy today")
    assert v.shape == (4096,) and np.linalg.norm(v) == pytest.approx(1.0)
    assert np.array_equal(v, hashed_ngrams("so happy today"))  # stable across calls and runs
    assert softmax(np.array([[1.0, 1.0]]))[0] == pytest.approx([0.5, 0.5])
    # Separable toy data is learned.
    x = np.array([[1, 0, 1], [0, 1, 1]], dtype=np.float32)
    w = fit_softmax(x, np.array([0, 1]), np.ones(2, np.float32), classes=2, steps=200)
    assert (softmax(x @ w).argmax(1) == [0, 1]).all()
    # The sparse fit is the dense fit on [dense | hashed n-grams | 1], computed another way.
    texts = ["the cockroach in my soup", "we won the cup", "won the final yay", "cockroach eww"]
    dense = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    full = np.stack([np.concatenate([dense[i], hashed_ngrams(t), [1.0]]) for i, t in enumerate(texts)])
    y, weights = np.array([0, 1, 1, 0]), np.array([1.0, 1.0, 0.5, 1.0], np.float32)
    assert np.allclose(
        fit_softmax(full.astype(np.float32), y, weights, classes=2, steps=30),
        fit_softmax_sparse(dense, [hashed_ngram_ids(t) for t in texts], y, weights, classes=2, steps=30),
        atol=1e-5,
    )

    texts = [
        "the cockroach in my soup",
        "cockroach on the plate eww",
        "we won the cup",
        "won the final yay",
    ] * 3
    labels = ["disgust", "disgust", "achievement", "achievement"] * 3
    # A sentence-embedding view that tells the two topics apart on its own, for English only.
    view = DenseView(
        "toy",
        lambda batch: np.array(
            [[1.0, 0.0] if "cockroach" in t or "gross" in t else [0.0, 1.0] for t in batch]
        ),
        2,
        ("en",),
    )
    model = TextClassifier.fit(
        texts,
        ["en"] * 12,
        labels,
        balanced(labels),
        views=[view],
        label_set=("achievement", "disgust", "question"),
    )
    assert model.embedding_dim == 2 and model.weights.shape == (2 + 4096 + 1, 3)
    p = model.probabilities("a cockroach again", "en")
    assert max(p, key=p.get) == "disgust" and sum(p.values()) == pytest.approx(1.0)
    p = model.probabilities("we won!", "en")
    assert max(p, key=p.get) == "achievement"
    # The view reads only its languages: "gross" in Chinese text gets no embedding, only n-grams.
    assert model.probabilities_many(["so gross", "so gross"], ["en", "zh"]).shape == (2, 3)
    assert balanced(["a", "a", "a", "a", "b"]).tolist() == pytest.approx([5 / 6] * 4 + [5 / 3])


class _HashEmbedder:
    """A two-dimensional 'embedder' (len and vowel share) with the interface views_of reads."""

    name, dim, languages = "toy", 2, ("en",)

    def encode_queries(self, texts):
        return np.array(
            [[len(t) / 40, sum(c in "aeiou" for c in t) / max(1, len(t))] for t in texts], np.float32
        )


def test_intent_examples_teach_the_classifier_beside_the_memory(tmp_path):
    """Labelled messages with no dialogue (assets/intents) join the memory's turns in training:
    an intent the memory never labels is learned from them alone, and they change the cache key."""
    from types import SimpleNamespace

    from stickerbot.chat.classifier import classifier_from_memory
    from stickerbot.chat.examples import load_intent_examples
    from stickerbot.memory.dialogues import Exchange

    memory_texts = [(f"we won the match number {i}", "achievement") for i in range(30)]
    memory_texts += [(f"a cockroach in the soup again {i}", "disgust") for i in range(30)]
    exchanges = [Exchange(f"m{i}", t, "ok", "en", intent=lab) for i, (t, lab) in enumerate(memory_texts)]
    memory = SimpleNamespace(
        exchanges=exchanges, index=SimpleNamespace(embedder=_HashEmbedder()), vectors=lambda ids: {}
    )
    folder = tmp_path / "intents"
    folder.mkdir()
    rows = [
        {"id": f"x{i}", "lang": "en", "intent": "good_night", "text": f"nighty night sleep well {i}"}
        for i in range(20)
    ]
    (folder / "a.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    labels = ("achievement", "disgust", "good_night")
    more = load_intent_examples(folder, labels)
    assert len(more) == 20 and more[0].label == "good_night"

    label = lambda e: e.intent  # noqa: E731
    plain = classifier_from_memory(memory, "intent", label, labels, cache_dir=tmp_path / "c")
    taught = classifier_from_memory(memory, "intent", label, labels, cache_dir=tmp_path / "c", more=more)
    p_plain = plain.probabilities("nighty night, sleep well", "en")
    p_taught = taught.probabilities("nighty night, sleep well", "en")
    assert max(p_taught, key=p_taught.get) == "good_night"
    assert p_taught["good_night"] > p_plain["good_night"] + 0.3
    assert len(list((tmp_path / "c").glob("intent-*.npy"))) == 2  # two keys, two cached weights
    # No folder, no examples: the memory alone.
    assert load_intent_examples(tmp_path / "absent", labels) == []


@pytest.mark.parametrize(
    "row,error",
    [
        ({"id": "a", "lang": "en", "intent": "joy", "text": "hi"}, "line 1: unknown intent 'joy'"),
        ({"id": "a", "lang": "fr", "intent": "greeting", "text": "salut"}, "language"),
        ({"id": "a", "lang": "en", "intent": "greeting", "text": "  "}, "empty"),
        ({"id": "a", "lang": "en", "intent": "greeting"}, "not an intent example"),
    ],
)
def test_bad_intent_examples_are_named(tmp_path, row, error):
    from stickerbot.chat.examples import load_intent_examples

    (tmp_path / "x.jsonl").write_text(json.dumps(row) + "\n", encoding="utf-8")
    with pytest.raises(UserError, match=error):
        load_intent_examples(tmp_path, ("greeting",))
    (tmp_path / "x.jsonl").write_text(
        json.dumps({"id": "a", "lang": "en", "intent": "greeting", "text": "hi"})
        + "\n" * 2
        + json.dumps({"id": "a", "lang": "en", "intent": "greeting", "text": "hey"}),
        encoding="utf-8",
    )
    with pytest.raises(UserError, match="x.jsonl line 3: duplicate id"):
        load_intent_examples(tmp_path, ("greeting",))


def test_malloc_arenas_are_capped_unless_the_environment_says_otherwise(monkeypatch):
    import ctypes.util

    from stickerbot.malloc import limit_arenas

    monkeypatch.setenv("MALLOC_ARENA_MAX", "8")
    assert limit_arenas() is None  # glibc reads the variable itself; it wins
    monkeypatch.delenv("MALLOC_ARENA_MAX")
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    assert limit_arenas() is None  # no C library found: nothing to do
    monkeypatch.undo()
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    import platform

    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert limit_arenas(2) == 2


def test_server_settings_are_checked(tmp_path):
    base = {"STICKERBOT_DATA_DIR": str(tmp_path)}
    settings = Settings.from_env({**base, "STICKERBOT_SESSIONS": "50", "STICKERBOT_CONCURRENCY": "4"})
    assert (settings.sessions, settings.concurrency) == (50, 4)
    assert Settings.from_env(base).sessions == 1000
    for key in ("STICKERBOT_SESSIONS", "STICKERBOT_CONCURRENCY"):
        with pytest.raises(UserError, match=f"{key}=0 must be at least 1"):
            Settings.from_env({**base, key: "0"})
