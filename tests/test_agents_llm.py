"""The agents' model wrapper: JSON extraction, lenient parsers, retries with backoff, the
per-call deadline, cancellation, giving up on a dead backend, serialised local calls."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from agents.config import CallPolicy
from agents.llm import (
    AgentLLM,
    BackendDown,
    Cancelled,
    LLMError,
    clean_text,
    extract_fields,
    extract_json,
    parse_choice,
    parse_number,
    parse_yes_no,
)
from tests.helpers_agents import ScriptedBackbone, http500

HELLO = [{"role": "user", "content": "hi"}]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ('Sure! ```json\n{"a": "b"}\n``` hope it helps', {"a": "b"}),
        (
            'Here you go: {"persona": "x", "situation": "y"} and more text {"z": 2}',
            {"persona": "x", "situation": "y"},
        ),
        ('{"a": [1, 2,],}', {"a": [1, 2]}),
        ("{'a': 'b'}", {"a": "b"}),
        ("[1, 2]", [1, 2]),
        ('prose } then {"ok": true}', {"ok": True}),
        ('{"a": "cut of', None),
        ("no json here", None),
        ("", None),
        ("{{{{", None),
    ],
)
def test_extract_json(text, expected):
    assert extract_json(text) == expected


def test_extract_fields_reads_truncated_or_plain_answers():
    truncated = '{"emotion": "Anger", "persona": "a \\"tired\\" nurse", "situation": "You were towed.", "persona": "dup'
    assert extract_fields(truncated, ("persona", "situation")) == {
        "persona": 'a "tired" nurse',
        "situation": "You were towed.",
    }
    plain = "Persona: a baker\nSituation: You burnt the bread."
    assert extract_fields(plain, ("persona", "situation")) == {
        "persona": "a baker",
        "situation": "You burnt the bread.",
    }
    assert extract_fields("nothing", ("persona",)) == {}


def test_choice_yes_no_and_number_parsers():
    options = {"empathy": ("empathy",), "none": ("none",), "expression": ("expression", "表达")}
    assert parse_choice("A) empathy: it makes", options) == "empathy"
    assert parse_choice("none of them, maybe expression", options) == "none"  # the first keyword wins
    assert parse_choice("我觉得是表达", options) == "expression"
    assert parse_choice("nonexpressive", options) is None  # whole words only
    assert parse_yes_no("Yes, it does.") is True
    assert parse_yes_no("No, the sticker fits") is False
    assert parse_yes_no("不是") is False
    assert parse_yes_no("maybe") is None
    assert parse_number("The best is 2.", 0, 5) == 2
    assert parse_number("7 then 3", 0, 5) == 3
    assert parse_number("none fits", 0, 5) == 0
    assert parse_number("The sticker with the", 0, 5) is None
    assert parse_number("The 3D one", 0, 5) is None and parse_number("(2) fits", 0, 5) == 2


def test_clean_text_makes_any_answer_writable():
    dirty = "ok \ud83d\x00 fine\x07\n"
    cleaned = clean_text(dirty)
    json.dumps(cleaned, ensure_ascii=False).encode("utf-8")  # would raise on a lone surrogate
    assert "\x00" not in cleaned and "\x07" not in cleaned and cleaned.endswith("\n")


def test_retries_with_exponential_backoff_then_succeeds():
    backbone = ScriptedBackbone([http500(), http500(), "hello"])
    llm = AgentLLM(backbone, CallPolicy(retries=3, backoff=0.05, backoff_max=1.0))
    assert llm.complete(HELLO, max_new_tokens=8) == "hello"
    gaps = [b - a for a, b in zip(backbone.calls, backbone.calls[1:], strict=False)]
    assert gaps[0] >= 0.05 and gaps[1] >= 0.1  # 0.05, then doubled
    assert llm.stats.failed_attempts == 2 and llm.stats.calls == 1


def test_all_attempts_failing_raises_llm_error_and_ask_reports_it():
    llm = AgentLLM(ScriptedBackbone(default="x"), CallPolicy(retries=1, backoff=0.0))
    llm.backbone.answers = [http500(), http500()]
    with pytest.raises(LLMError, match="2 attempts failed.*HTTP 500"):
        llm.complete(HELLO, max_new_tokens=8)
    llm.backbone.answers = [http500(), http500()]
    answer = llm.ask(HELLO, str.upper, max_new_tokens=8)
    assert answer.value is None and "HTTP 500" in answer.error


def test_deadline_stops_a_call_that_runs_too_long():
    # Eight words streamed over 1.6 s; the deadline is 0.3 s: the call is stopped mid-stream.
    slow = ScriptedBackbone(default="one two three four five six seven eight", delay=1.6)
    llm = AgentLLM(slow, CallPolicy(timeout=0.3, retries=0))
    start = time.monotonic()
    with pytest.raises(LLMError, match="longer than 0.3 s"):
        llm.complete(HELLO, max_new_tokens=8)
    assert time.monotonic() - start < 1.0
    assert llm.stats.timeouts == 1


def test_unparseable_answers_are_asked_again_at_a_higher_temperature():
    seen = []

    def answer(messages):
        return "banana" if len(seen) <= 1 else "yes"

    class Recording(ScriptedBackbone):
        def generate(self, messages, **kw):
            seen.append(kw["temperature"])
            return super().generate(messages, **kw)

    llm = AgentLLM(Recording(default=answer), CallPolicy(decision_retries=1))
    result = llm.ask(HELLO, parse_yes_no, max_new_tokens=4, temperature=0.0, retry_temperature=0.7)
    assert result.value is True and result.attempts == 2
    assert seen == [0.0, 0.7]
    assert llm.ask(HELLO, lambda t: None, max_new_tokens=4).value is None


def test_cancel_stops_backoff_and_new_calls():
    cancel = threading.Event()
    llm = AgentLLM(ScriptedBackbone([http500()] * 5), CallPolicy(retries=4, backoff=5.0), cancel=cancel)
    threading.Timer(0.2, cancel.set).start()
    start = time.monotonic()
    with pytest.raises(Cancelled):
        llm.complete(HELLO, max_new_tokens=4)
    assert time.monotonic() - start < 2.0
    with pytest.raises(Cancelled):
        llm.ask(HELLO, str, max_new_tokens=4)


def test_a_dead_backend_ends_the_run():
    llm = AgentLLM(ScriptedBackbone(default=""), CallPolicy(retries=0), give_up_after=3)
    llm.backbone.answers = [http500()] * 10
    for _ in range(3):
        with pytest.raises(LLMError):
            llm.complete(HELLO, max_new_tokens=4)
    with pytest.raises(BackendDown, match="3 calls in a row"):
        llm.ask(HELLO, str, max_new_tokens=4)


@pytest.mark.parametrize("slots", [1, 2, None])
def test_calls_overlap_as_far_as_the_backbone_declares(slots):
    backbone = ScriptedBackbone(default="a b", delay=0.1, concurrent_calls=slots)
    llm = AgentLLM(backbone, CallPolicy())
    assert llm.concurrent is (slots != 1)
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: llm.complete(HELLO, max_new_tokens=4), range(4)))
    assert backbone.max_active == (slots or 4)


def test_openai_backbones_declare_concurrent_calls_and_local_ones_take_turns(tmp_path):
    from stickerbot.backbones import create_backbone
    from tests.helpers_models import save_tiny_model

    assert AgentLLM(create_backbone("openai:http://127.0.0.1:9/v1")).concurrent
    local = create_backbone(f"hf:{save_tiny_model(tmp_path / 'tiny')}", device="cpu")
    assert not AgentLLM(local).concurrent
    # A caller may still ask for one call at a time on a server.
    assert not AgentLLM(create_backbone("openai:http://127.0.0.1:9/v1"), concurrent=False).concurrent
