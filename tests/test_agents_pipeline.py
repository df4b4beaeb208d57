"""The whole pipeline against a fake OpenAI-compatible server started on 127.0.0.1 (scripted and
adversarial answers), against a tiny local model, through the command line, and resumed
after a kill. Every line of every output file is read back with the dialogue reader."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from agents.config import GenerationConfig
from agents.fake_server import FakeChatServer
from agents.generate import main, run
from stickerbot.config import PROJECT_ROOT
from stickerbot.memory.store import add_dialogue_file
from tests.helpers_agents import agent_services, check_outputs, fake_server_llm

KNOWN_REASONS = {"no_sticker", "repeated_utterance", "fallback_text", "backend_error"}


@pytest.fixture(scope="module")
def server():
    with FakeChatServer(slow_seconds=1.5) as s:
        yield s


@pytest.fixture(scope="module")
def search():
    return agent_services().search


def sticker_flags(session) -> list[bool]:
    flags = []
    for turn in session["conversation"]:
        flags += [bool(turn["user_sticker"]), bool(turn["system_sticker"])]
    return flags


def test_scripted_run_writes_n_valid_sessions(tmp_path, server, search):
    out = tmp_path / "x.jsonl"
    config = GenerationConfig(n=6, workers=3, format="turns")
    report = run(config, llm=fake_server_llm(server.url), search=search, out=out, progress=False)
    assert report.done and report.written == 6 and not report.error
    lines = check_outputs(out, turns=True)
    sessions = lines["out"]
    assert len(sessions) == 6
    library = agent_services().library
    for s in sessions:
        assert 1 <= len(s["conversation"]) <= config.max_turns
        assert s["emotion"] and s["user_persona"] and s["user_status"]
        flags = sticker_flags(s)
        assert any(flags)
        # Spacing: never a sticker in two consecutive messages (gap 1); at most 2 per side.
        assert not any(a and b for a, b in zip(flags, flags[1:], strict=False)), flags
        assert sum(flags[0::2]) <= config.max_stickers_per_side >= sum(flags[1::2])
        for turn in s["conversation"]:
            for side in ("user_sticker", "system_sticker"):
                if turn[side]:
                    assert turn[side] == library.by_id[turn[side]["id"]].to_dict()
        plans = [t[side]["plan"] for t in s["meta"]["turns"] for side in ("user", "system")]
        assert {p["intent"] for p in plans} <= {"expression", "empathy", "intensity", "none"}
        # Stickers are not repeated within a session.
        ids = [
            t[side]["id"] for t in s["conversation"] for side in ("user_sticker", "system_sticker") if t[side]
        ]
        assert len(ids) == len(set(ids))
    # What `python -m stickerbot memory add` checks before it stores a file.
    stored, exchanges = add_dialogue_file(out, tmp_path / "dialogues", name="agents")
    assert exchanges == sum(len(s["conversation"]) for s in sessions)
    add_dialogue_file(out.with_name("x.turns.jsonl"), tmp_path / "dialogues", name="agents_turns")
    # Running it again finds the work done.
    again = run(config, llm=fake_server_llm(server.url), search=search, out=out, progress=False)
    assert again.written == 0 and again.accepted == 6


def test_sticker_budget_per_side(tmp_path, server, search):
    out = tmp_path / "budget.jsonl"
    config = GenerationConfig(n=3, workers=3, sticker_gap=0, max_stickers_per_side=1)
    assert run(config, llm=fake_server_llm(server.url), search=search, out=out, progress=False).done
    for s in check_outputs(out)["out"]:
        flags = sticker_flags(s)
        assert sum(flags[0::2]) <= 1 and sum(flags[1::2]) <= 1


def test_chinese_sessions(tmp_path, server, search):
    out = tmp_path / "zh.jsonl"
    report = run(
        GenerationConfig(n=2, lang="zh", workers=2),
        llm=fake_server_llm(server.url),
        search=search,
        out=out,
        progress=False,
    )
    assert report.done
    for s in check_outputs(out)["out"]:
        assert s["language"] == "zh" and s["id"].startswith("agents-zh-")
        assert all(
            re.search(r"[\u4e00-\u9fff]", t["user_message"] + t["system_message"]) for t in s["conversation"]
        )
        assert re.search(r"[\u4e00-\u9fff]", s["user_persona"] + s["user_status"])


def test_sessions_do_not_depend_on_the_number_of_workers(tmp_path, server, search):
    results = []
    for workers in (1, 4):
        out = tmp_path / f"w{workers}.jsonl"
        run(
            GenerationConfig(n=5, workers=workers),
            llm=fake_server_llm(server.url),
            search=search,
            out=out,
            progress=False,
        )
        sessions = sorted(check_outputs(out)["out"], key=lambda s: s["id"])
        results.append([{k: v for k, v in s.items() if k != "meta"} for s in sessions])
    assert results[0] == results[1]


def test_workers_call_the_server_concurrently(tmp_path, search):
    with FakeChatServer(delay=0.05) as slow:
        report = run(
            GenerationConfig(n=4, workers=4, max_turns=2),
            llm=fake_server_llm(slow.url),
            search=search,
            out=tmp_path / "c.jsonl",
            progress=False,
        )
        assert report.done
        assert slow.max_in_flight >= 3


@pytest.mark.parametrize("mode", ["chaos", "garbage", "empty", "flaky"])
def test_adversarial_answers_never_make_a_malformed_line(tmp_path, server, search, mode):
    out = tmp_path / f"{mode}.jsonl"
    config = GenerationConfig(n=3, workers=3, max_turns=3, max_attempts=6)
    llm = fake_server_llm(server.url, model=mode, timeout=0.5, retries=2)
    report = run(config, llm=llm, search=search, out=out, progress=False)
    lines = check_outputs(out)
    assert set(report.rejected) <= KNOWN_REASONS
    assert {r["reason"] for r in lines["rejects"]} <= KNOWN_REASONS
    assert len(lines["out"]) == report.accepted <= 3
    if mode == "flaky":  # every first attempt fails with HTTP 500, every retry works
        assert report.done and llm.stats.failed_attempts > 0
    if mode == "empty":  # nothing usable: fallback text everywhere, so nothing is accepted
        assert report.accepted == 0 and report.rejected["fallback_text"] > 0
    if mode == "chaos":
        assert llm.stats.failed_attempts > 0 and report.accepted >= 1


@pytest.mark.parametrize("mode", ["http500", "malformed", "slow"])
def test_a_dead_backend_stops_the_run_with_a_clear_error(tmp_path, server, search, mode):
    out = tmp_path / f"{mode}.jsonl"
    llm = fake_server_llm(server.url, model=mode, timeout=0.4, retries=1)
    llm.give_up_after = 4
    start = time.monotonic()
    report = run(GenerationConfig(n=3, workers=2), llm=llm, search=search, out=out, progress=False)
    assert report.error and "in a row" in report.error
    assert time.monotonic() - start < 30
    lines = check_outputs(out)
    assert lines["out"] == []
    assert all(r["retryable"] for r in lines["rejects"])


def test_the_fake_server_answers_without_streaming_too(server):
    body = {"model": "scripted", "stream": False, "messages": [{"role": "user", "content": "hello"}]}
    reply = httpx.post(f"{server.url}/chat/completions", json=body, timeout=5).json()
    assert reply["choices"][0]["message"]["content"]
    assert (
        httpx.post(f"{server.url}/chat/completions", json={**body, "model": "http500"}, timeout=5).status_code
        == 500
    )


def _cli(tmp_path, monkeypatch, server, *extra: str) -> tuple[int, Path]:
    services = agent_services()  # built before open_library is replaced
    monkeypatch.setattr("stickerbot.services.open_library", lambda settings, progress=True: services)
    monkeypatch.setenv("STICKERBOT_DATA_DIR", str(tmp_path / "data"))
    out = tmp_path / "cli.jsonl"
    argv = ["--out", str(out), "--backend", f"openai:{server.url}", "--model", "scripted", "--quiet", *extra]
    return main(argv), out


def test_cli_writes_turns_and_prints_stats(tmp_path, monkeypatch, server, capsys):
    code, out = _cli(tmp_path, monkeypatch, server, "--n", "3", "--format", "turns", "--workers", "2")
    assert code == 0
    assert "3/3 sessions" in capsys.readouterr().out
    lines = check_outputs(out, turns=True)
    assert len(lines["out"]) == 3 and len(lines["turns"]) == sum(len(s["conversation"]) for s in lines["out"])
    assert main(["--stats", str(out)]) == 0
    text = capsys.readouterr().out
    for expected in ("3 sessions", "stickers    user", "emotions", "distinct-1", "distinct-2", "unique"):
        assert expected in text
    assert main(["--stats", str(out), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["sessions"] == 3 and stats["turns"] == len(lines["turns"])
    assert stats["stickers"]["unique"] >= 1 and 0 < stats["distinct"]["all"]["distinct_1"] <= 1
    # Other settings may not continue this file.
    code, _ = _cli(tmp_path, monkeypatch, server, "--n", "4", "--format", "turns", "--seed", "7")
    assert code == 2 and "other settings" in capsys.readouterr().err


def test_tiny_local_model_gives_valid_lines_or_reasoned_rejects(tmp_path, monkeypatch, capsys):
    """A random 2-layer Llama through `--backend hf:<folder>`: garbage text, still valid output."""
    from tests.helpers_models import tiny_llama, tiny_tokenizer

    tokenizer = tiny_tokenizer()
    folder = tmp_path / "tiny"
    tiny_llama(len(tokenizer)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    services = agent_services()  # built before open_library is replaced
    monkeypatch.setattr("stickerbot.services.open_library", lambda settings, progress=True: services)
    monkeypatch.setenv("STICKERBOT_DATA_DIR", str(tmp_path / "data"))
    out = tmp_path / "tiny.jsonl"
    argv = [
        "--n",
        "1",
        "--out",
        str(out),
        "--backend",
        f"hf:{folder}",
        "--max-turns",
        "2",
        "--max-attempts",
        "2",
    ]
    argv += ["--profile-chunk", "1", "--summary-every", "0"]
    code = main([*argv, "--quiet", "--json"])
    assert code in (0, 1)  # 1: the attempts ran out before a session was accepted
    report = json.loads(capsys.readouterr().out)
    lines = check_outputs(out)
    if code == 0:
        assert len(lines["out"]) == 1
    else:
        assert not lines["out"] and len(lines["rejects"]) == 2
    assert {r["reason"] for r in lines["rejects"]} <= KNOWN_REASONS
    assert report["llm"]["calls"] > 0 and report["llm"]["failed_attempts"] == 0


def _start(out: Path, url: str, data_dir: Path, n: int) -> subprocess.Popen:
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "STICKERBOT_DATA_DIR": str(data_dir),
        "STICKERBOT_OPENAI_MODEL": "scripted",
        "STICKERBOT_OCR": "false",
    }
    argv = [sys.executable, "-m", "agents.generate", "--n", str(n), "--out", str(out), "--quiet"]
    argv += ["--backend", f"openai:{url}", "--workers", "2", "--timeout", "5"]
    return subprocess.Popen(
        argv,
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_ctrl_c_as_in_a_terminal,
    )


def _ctrl_c_as_in_a_terminal() -> None:
    # A test runner started in the background (nohup, `cmd &` in a script, some CI shells)
    # ignores SIGINT, and children inherit that: Python then never raises KeyboardInterrupt.
    # Restore the default so SIGINT reaches the program as a user's Ctrl-C would.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _wait_for_sessions(out: Path, process: subprocess.Popen, at_least: int, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if out.exists() and out.read_bytes().count(b"\n") >= at_least:
            return
        if process.poll() is not None:
            raise AssertionError(f"generate exited early ({process.returncode}): {process.stderr.read()}")
        time.sleep(0.05)
    process.kill()
    raise AssertionError("no session was written in time")


@pytest.mark.slow
def test_resume_after_kill_and_after_ctrl_c(tmp_path):
    """`python -m agents.generate` killed (SIGKILL, a half-written line left behind) and
    interrupted (SIGINT), then run again: exactly N sessions, none lost or duplicated."""
    data_dir = tmp_path / "data"  # the index is built by the first run and reused
    with FakeChatServer(delay=0.03) as server:
        out = tmp_path / "resume.jsonl"
        first = _start(out, server.url, data_dir, n=6)
        _wait_for_sessions(out, first, 1)
        first.send_signal(signal.SIGKILL)
        first.wait(30)
        kept = [json.loads(line)["id"] for line in out.read_text().splitlines() if line.strip()]
        assert 1 <= len(kept) < 6
        with out.open("ab") as f:  # as if the kill had landed in the middle of a write
            f.write(b'{"id": "agents-en-s0-0000')
        second = _start(out, server.url, data_dir, n=6)
        stdout, stderr = second.communicate(timeout=300)
        assert second.returncode == 0, stderr
        assert "6/6 sessions" in stdout
        sessions = check_outputs(out)["out"]
        ids = [s["id"] for s in sessions]
        assert len(ids) == 6 == len(set(ids)) and set(kept) <= set(ids)

    # Slower answers here: at 0.03 s a call, all 8 sessions could be written before the
    # SIGINT lands (seen in CI), and the run would then rightly exit 0.
    with FakeChatServer(delay=0.2) as server:
        out2 = tmp_path / "interrupted.jsonl"
        third = _start(out2, server.url, data_dir, n=8)
        _wait_for_sessions(out2, third, 1)
        third.send_signal(signal.SIGINT)
        _, stderr = third.communicate(timeout=60)
        assert third.returncode == 130, stderr
        assert "run the same command to continue" in stderr
        saved = check_outputs(out2)["out"]
        fourth = _start(out2, server.url, data_dir, n=8)
        fourth.communicate(timeout=300)
        assert fourth.returncode == 0
        final = check_outputs(out2)["out"]
        assert len(final) == 8 and {s["id"] for s in saved} <= {s["id"] for s in final}


def test_bench_agents_reports_both_worker_counts(monkeypatch, capsys, settings):
    from agents.bench import run_agents_benchmark

    services = agent_services()
    monkeypatch.setattr("agents.bench.open_library", lambda s, progress=True: services)
    result = run_agents_benchmark(settings, sessions=2, delay=0.0, workers=(1, 2))
    assert [r["workers"] for r in result["runs"]] == [1, 2]
    assert all(r["sessions"] == 2 and r["model_calls"] > 0 for r in result["runs"])
    assert result["speedup"] > 0 and "speedup" in capsys.readouterr().out
