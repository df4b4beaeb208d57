"""The agents' parts on their own: prompts, profiles, memory, reviewer, spacing, repetition,
filters, the output layouts and the writer's resume."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from agents.config import GenerationConfig
from agents.filters import check_session, find_repetition
from agents.llm import AgentLLM
from agents.manager import RepetitionGuard, SpacingRule
from agents.memory import ActionStep, AgentMemory, ObservationStep, PlanStep, SummaryStep
from agents.profiles import Profile, ProfilePool, ProfileStore, load_seed_profiles, parse_profile
from agents.prompting import Prompts, load_prompts
from agents.records import session_id, turn_records
from agents.reviewer import Reviewer, contradicts, message_emotion
from agents.roles import fits, parse_intent, parse_query, parse_utterance
from agents.writer import OutputPaths, SessionWriter, repair_tail
from stickerbot.errors import UserError
from stickerbot.memory.dialogues import parse_record
from stickerbot.stickers.record import StickerRecord
from tests.helpers_agents import ScriptedBackbone

HUG = StickerRecord(
    id="emoji:1F917", image="emoji/1f917.webp", pack="bundled", name="hugging face", emotion="Happiness",
    fine_emotion="comforting", description="a smiling face with open hands",
)  # fmt: skip
PARTY = StickerRecord(
    id="emoji:1F973", image="emoji/1f973.webp", pack="bundled", name="partying face", emotion="Happiness",
    fine_emotion="excited", description="a face with a party hat",
)  # fmt: skip
CRY = StickerRecord(
    id="emoji:1F62D", image="emoji/1f62d.webp", pack="bundled", name="loudly crying face", emotion="Sadness",
    fine_emotion="crying", description="a face crying rivers",
)  # fmt: skip


def test_every_template_renders_and_missing_variables_fail(tmp_path):
    prompts = load_prompts()
    names = prompts.names()
    for expected in (
        "user.system",
        "user.first",
        "assistant.system",
        "plan.intent",
        "plan.pick",
        "reviewer.check",
    ):
        assert expected in names
    common = {"language": "English", "summary": "", "memories": [], "message": "hi", "previous": "hi"}
    assert "nurse" in prompts.render(
        "user.system", **common, persona="a nurse", situation="You were towed.", feeling="angry"
    )
    assert "Earlier your friend said: x" in prompts.render(
        "assistant.system", **{**common, "memories": ["x"]}
    )
    pick = prompts.render("plan.pick", message="so sad", candidates=["hug", "cry"])
    assert "1. hug\n2. cry" in pick
    import jinja2

    with pytest.raises(jinja2.UndefinedError):
        prompts.render("user.system", language="English")
    # A JSON example with quotes and Chinese stays valid and readable.
    (tmp_path / "t.yaml").write_text('x: "{{ v | json }}"\n', encoding="utf-8")
    assert Prompts(tmp_path).render("t.x", v='说 "hi"') == '"说 \\"hi\\""'


def test_seed_profiles_cover_the_emotions_in_both_languages():
    prompts = load_prompts()
    for lang in ("en", "zh"):
        seeds = load_seed_profiles(prompts, lang)
        assert len(seeds) >= 20
        assert {s.emotion for s in seeds} == {
            "Anger", "Disgust", "Fear", "Happiness", "Neutral", "Sadness", "Surprise",
        }  # fmt: skip


def test_parse_profile_is_lenient_but_checks_what_it_keeps():
    good = 'Sure:\n```json\n{"persona": "a tired nurse", "situation": "Your car was towed during your shift."}\n```'
    profile = parse_profile(good, emotion="Anger", lang="en")
    assert profile == Profile(
        "Anger", "a tired nurse", "Your car was towed during your shift.", "en", "generated"
    )
    truncated = (
        '{"emotion": "Anger", "persona": "a baker", "situation": "You burnt the whole batch today.", "pers'
    )
    assert parse_profile(truncated, emotion="Anger", lang="en").persona == "a baker"
    assert parse_profile(
        '{"persona": "一名护士", "situation": "你的车被拖走了。"}', emotion="Anger", lang="zh"
    )
    assert (
        parse_profile('{"persona": "a nurse", "situation": "You cry."}', emotion="Anger", lang="zh") is None
    )
    assert parse_profile("no profile at all", emotion="Anger", lang="en") is None
    assert (
        parse_profile('{"persona": "x", "situation": "You were towed today."}', emotion="Anger", lang="en")
        is None
    )


def _profile_answer(messages):
    """A fake model: the same profile for every fifth index (by the prompt's hash), else a new one."""
    import hashlib

    h = int(hashlib.md5(json.dumps(messages).encode()).hexdigest()[:8], 16)
    if h % 5 == 0:
        return '{"persona": "a dup person", "situation": "You did the duplicate thing again today."}'
    return json.dumps(
        {"persona": f"a person number {h}", "situation": f"You found {h % 997} coins at {h % 89}."}
    )


def test_profile_pool_dedups_by_rouge_l_and_does_not_depend_on_workers(tmp_path):
    config = GenerationConfig(n=10, profile_chunk=4, dedup_threshold=0.7, profile_attempts=2)
    prompts = load_prompts()
    pools = []
    for workers in (1, 4):
        llm = AgentLLM(ScriptedBackbone(default=_profile_answer), concurrent=True)
        with ThreadPoolExecutor(workers) as executor:
            pool = ProfilePool(
                llm, prompts, config, executor=executor, store=ProfileStore(tmp_path / f"p{workers}.jsonl")
            )
            pool.ensure(9)
            pools.append([pool.get(i) for i in range(12)])
    assert pools[0] == pools[1]
    profiles = pools[0]
    # The duplicate text is accepted at most once; everything kept differs from all earlier ones.
    assert sum(p.persona == "a dup person" for p in profiles) <= 1
    assert all(p.max_rouge_l < 0.7 for p in profiles if p.source != "reused-seed")
    # The saved chunks read back as the same pool, without asking the model.
    reread = ProfilePool(
        AgentLLM(ScriptedBackbone([RuntimeError("must not be called")])),
        prompts,
        config,
        store=ProfileStore(tmp_path / "p1.jsonl"),
    )
    assert reread.has(11) and [reread.get(i) for i in range(12)] == profiles


def test_profile_pool_falls_back_to_recombined_seeds_when_the_model_cannot_write_profiles():
    config = GenerationConfig(n=3, profile_chunk=3, profile_attempts=2)
    llm = AgentLLM(ScriptedBackbone(default="I am a helpful assistant."))
    pool = ProfilePool(llm, load_prompts(), config)
    pool.ensure(2)
    profiles = [pool.get(i) for i in range(3)]
    assert {p.source for p in profiles} <= {"recombined", "reused-seed"}
    assert pool.fallbacks == 3
    seeds = load_seed_profiles(load_prompts(), "en")
    assert all(any(p.persona == s.persona for s in seeds) for p in profiles)


def test_memory_recalls_old_observations_and_shows_recent_chat():
    memory = AgentMemory()
    memory.add(ObservationStep(1, "my dog Biscuit ran away this morning"))
    memory.add(ActionStep(1, "oh no, I'm so sorry", "[sticker: hugging face]", PlanStep("empathy", "model")))
    for turn in range(2, 5):
        memory.add(ObservationStep(turn, f"unrelated thing {turn}"))
        memory.add(ActionStep(turn, f"reply {turn}"))
    memory.add(SummaryStep(4, "Biscuit the dog is missing.", "model"))
    assert memory.recall("have you seen Biscuit the dog", 2) == ["my dog Biscuit ran away this morning"]
    assert memory.recall("quantum physics", 2) == []
    chat = memory.recent_chat(4)
    assert [m["role"] for m in chat] == ["user", "assistant", "user", "assistant"]
    assert memory.summary == "Biscuit the dog is missing."
    assert memory.transcript("Me", "Friend", last=2) == "Friend: unrelated thing 4\nMe: reply 4"
    assert "[sticker: hugging face]" in memory.transcript("Me", "Friend")
    assert memory.extractive_summary().startswith("my dog Biscuit ran away")


def test_reviewer_rule_rejects_contradicting_stickers_only():
    assert message_emotion("I failed my exam, I'm so sad") == "Sadness"
    assert message_emotion("see you at six") is None
    assert contradicts("Sadness", PARTY) and contradicts("Happiness", CRY)
    assert not contradicts("Sadness", HUG) and not contradicts("Happiness", HUG)
    assert not contradicts(None, PARTY) and not contradicts("Surprise", CRY)
    reviewer = Reviewer("rule", None, load_prompts())
    assert not reviewer.review("I failed my exam, I'm so sad", PARTY).ok
    assert reviewer.review("I failed my exam, I'm so sad", HUG).ok
    assert reviewer.review("see you at six", PARTY).ok
    # The model's opinion counts when the rule has none; an unclear answer is no opinion.
    llm = AgentLLM(ScriptedBackbone(["Yes, it does.", "hmm", "hmm"]))
    both = Reviewer("both", llm, load_prompts())
    verdict = both.review("see you at six", PARTY)
    assert not verdict.ok and verdict.source == "model"
    assert both.review("see you at six", PARTY).ok
    assert Reviewer("off", None, load_prompts()).review("so sad", PARTY).ok


def test_candidates_that_fit_the_feeling():
    assert fits("expression", "Sadness", CRY) and not fits("expression", "Sadness", PARTY)
    assert fits("empathy", "Sadness", HUG) and not fits("empathy", "Sadness", PARTY)
    assert fits("empathy", "Happiness", PARTY) and fits("intensity", "Happiness", PARTY)
    assert fits("expression", "Neutral", CRY) and fits("empathy", None, PARTY)


def test_spacing_rule_keeps_stickers_apart():
    for gap in (0, 1, 2):
        rule = SpacingRule(gap)
        pattern = []
        for _ in range(8):
            allowed = rule.allowed()
            pattern.append(allowed)
            rule.record(allowed)  # send whenever allowed
        sent = [i for i, a in enumerate(pattern) if a]
        assert all(b - a > gap for a, b in zip(sent, sent[1:], strict=False))
        assert len(sent) == len(range(0, 8, gap + 1))


def test_repetition_guard_and_filter():
    guard = RepetitionGuard(0.8)
    assert guard.repeated("I am so sorry to hear that.", ["I'm fine", "I am so sorry to hear that!"])
    assert guard.repeated("what a day", ["I am so sorry to hear that."]) is None
    assert find_repetition(["a b c", "x y", "A B C"], 0.8)[:2] == (0, 2)
    assert find_repetition(["one two three", "four five six"], 0.8) is None


def session(turns, *, stickers=True, fallbacks=0, sid="s1"):
    conversation = []
    for i, (user, system) in enumerate(turns, 1):
        conversation.append(
            {
                "turn": i,
                "user_message": user,
                "system_message": system,
                "user_sticker": CRY.to_dict() if stickers and i == 1 else None,
                "system_sticker": HUG.to_dict() if stickers and i == 2 else None,
            }
        )
    return {
        "id": sid,
        "language": "en",
        "emotion": "Sadness",
        "user_persona": "a student",
        "user_status": "You failed.",
        "conversation": conversation,
        "meta": {"fallback_utterances": fallbacks},
    }


def test_filters_name_the_reason():
    config = GenerationConfig()
    good = session([("I failed", "Oh no, I'm sorry"), ("yeah it sucks", "Want to talk?")])
    assert check_session(good, config) is None
    assert (
        check_session(session([("a b", "c d"), ("e f", "g h")], stickers=False), config).reason
        == "no_sticker"
    )
    repeated = session([("I failed my exam", "So sorry"), ("I failed my exam", "Hmm")])
    assert check_session(repeated, config).reason == "repeated_utterance"
    assert check_session({**good, "meta": {"fallback_utterances": 2}}, config).reason == "fallback_text"


def test_turn_records_follow_the_training_format_and_read_back():
    s = session([("I failed", "Oh no"), ("yeah", "Want to talk?")])
    records = turn_records(s)
    assert [r["id"] for r in records] == ["s1:1", "s1:2"]
    first, second = records
    assert first["input_text"] == "USER: I failed <IMG>\nASSISTANT:"
    assert first["input_image"] == [CRY.to_dict()] and first["response_image"] == []
    assert second["input_text"] == "USER: I failed <IMG>\nASSISTANT: Oh no\nUSER: yeah\nASSISTANT:"
    assert second["response_image"] == [HUG.to_dict()] and second["history"] == [["I failed", "Oh no"]]
    assert second["query"] == "yeah" and second["response_text"] == "Want to talk?"
    for r in records:
        assert parse_record(r, where="t", source="t")
    assert session_id("en", 3, 12) == "agents-en-s3-000012"


def test_utterance_query_and_intent_parsers():
    assert parse_utterance("Friend: hey, I'm okay.\nMe: great", "en") == "hey, I'm okay."
    assert parse_utterance('"so tired today"', "en") == "so tired today"
    assert parse_utterance("", "en") is None
    assert parse_utterance("(Text back as yourself, in one or two short sentences.)", "en") is None
    assert parse_utterance("hello there", "zh") is None
    assert parse_utterance("好累啊", "zh") == "好累啊"
    assert (
        parse_utterance("I'm so sorry to hear it, I'm so sorry to hear it. Ugh.", "en")
        == "I'm so sorry to hear it. Ugh."
    )
    assert parse_utterance("I'm so sorry. So sorry, and I'm so sorry. I'm so sorry.", "en") == (
        "I'm so sorry. So sorry, and I'm so sorry."
    )
    assert parse_utterance("@BirthJALI# birthjavi al crushing #rainwave x2y", "en") is None
    assert parse_utterance("Sure! How can I help you today?", "en") is None
    assert parse_query('Search: "sad crying cat"') == "sad crying cat"
    assert parse_query("one two three four five six seven") is None
    assert parse_intent("A) empathy: it makes") == "empathy"
    assert parse_intent("banana") is None


def test_writer_repairs_a_cut_line_and_resumes(tmp_path):
    paths = OutputPaths.for_out(tmp_path / "x.jsonl")
    assert paths.rejects.name == "x.rejects.jsonl" and paths.turns.name == "x.turns.jsonl"
    writer = SessionWriter(paths, turns=True, turn_records=turn_records)
    writer.check_run({"config": {"seed": 0}, "backend": "b"})
    s1 = session([("I failed", "Oh no"), ("yeah", "Want to talk?")], sid="a")
    writer.write_session(s1)
    writer.write_reject(
        {"id": "b", "index": 1, "reason": "no_sticker", "detail": "", "retryable": False, "session": None}
    )
    writer.write_reject(
        {"id": "c", "index": 2, "reason": "backend_error", "detail": "", "retryable": True, "session": None}
    )
    with pytest.raises(ValueError):
        writer.write_session({**s1, "conversation": []})
    # A kill mid-write: half a session line, and the turns of the session lost.
    with paths.out.open("ab") as f:
        f.write(b'{"id": "d", "conversation": [{"tu')
    paths.turns.write_bytes(paths.turns.read_bytes().splitlines(keepends=True)[0] + b'{"id": "a:2", "que')
    state = SessionWriter(paths, turns=True, turn_records=turn_records).resume()
    assert state.accepted == {"a"} and state.rejected == {"b"} and state.failed == {"c"}
    assert state.turns_added == 1
    assert paths.out.read_bytes().endswith(b"\n") and len(paths.out.read_bytes().splitlines()) == 1
    assert [json.loads(line)["id"] for line in paths.turns.read_text().splitlines()] == ["a:1", "a:2"]
    assert repair_tail(paths.out) == 0
    # Other settings may not continue the same file.
    with pytest.raises(UserError, match="seed differ"):
        writer.check_run({"config": {"seed": 1}, "backend": "b"})
