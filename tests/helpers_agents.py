"""Shared pieces of the agents tests: a sticker library searched with the fake embedder (built
once per process, about 3 s), fake backbones, and a validator for every output file."""

from __future__ import annotations

import atexit
import json
import shutil
import tempfile
import threading
import time
from functools import lru_cache
from pathlib import Path

from agents.config import CallPolicy
from agents.llm import AgentLLM
from agents.writer import OutputPaths, validate_reject
from stickerbot.backbones.base import BackboneError, Capabilities, GenerationResult
from stickerbot.memory.dialogues import parse_record


@lru_cache(maxsize=1)
def agent_services():
    """The bundled library indexed with tests.conftest.FakeEmbedder (no model download, ~3 s)."""
    from stickerbot.config import Settings
    from stickerbot.services import open_library
    from tests.conftest import FakeEmbedder

    folder = Path(tempfile.mkdtemp(prefix="agents-library-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    # No image encoder either: the agents search stickers by text only, and the fast tier loads
    # no real model.
    settings = Settings.from_env({"STICKERBOT_IMAGE_EMBEDDER": "none"}, data_dir=folder / "data", ocr=False)
    return open_library(settings, progress=False, embedder=FakeEmbedder(), ocr=None)


def fake_server_llm(url: str, model: str = "scripted", **policy) -> AgentLLM:
    """An AgentLLM over the openai: backbone pointed at a FakeChatServer; short timeouts."""
    from stickerbot.backbones import create_backbone

    options = {"timeout": 2.0, "retries": 1, "backoff": 0.01, **policy}
    call = CallPolicy(**options)
    backbone = create_backbone(f"openai:{url}", model=model, read_timeout=call.timeout, connect_timeout=1.0)
    return AgentLLM(backbone, call)


class ScriptedBackbone:
    """Answers from a list (an Exception item is raised instead); records each call's start time.

    ``delay`` sleeps per call; ``concurrent_calls`` is what it declares it serves at once
    (None: no limit, like a server).
    """

    name = "scripted"
    supports_images = False
    languages = ("en", "zh")

    def __init__(
        self, answers=None, *, default: str = "ok", delay: float = 0.0, concurrent_calls: int | None = None
    ):
        self.answers = list(answers or [])
        self.default = default
        self.delay = delay
        self.capabilities = Capabilities(concurrent_calls=concurrent_calls)
        self.calls: list[float] = []
        self.active = 0
        self.max_active = 0
        self._lock = threading.Lock()

    def generate(
        self, messages, *, max_new_tokens=96, temperature=0.0, images=None, on_token=None, stop=None
    ):
        with self._lock:
            self.calls.append(time.monotonic())
            answer = self.answers.pop(0) if self.answers else self.default
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            if isinstance(answer, BaseException):
                raise answer
            if callable(answer):
                answer = answer(messages)
            text = ""
            start = time.perf_counter()
            pieces = answer.split(" ") if answer else []
            for i, piece in enumerate(pieces):
                if self.delay:
                    time.sleep(self.delay / max(1, len(pieces)))
                text += ("" if i == 0 else " ") + piece
                if stop is not None and stop(text):
                    break
            if not pieces and self.delay:
                time.sleep(self.delay)
            total = time.perf_counter() - start
            return GenerationResult(text, 1, len(pieces), total, total)
        finally:
            with self._lock:
                self.active -= 1


def http500():
    return BackboneError("the chat server answered HTTP 500: boom")


def check_outputs(out: str | Path, *, turns: bool = False) -> dict[str, list[dict]]:
    """Every line of every file of a run read back: sessions and per-turn records by the dialogue
    reader (as `memory add` reads them), rejects by their own schema, profiles as JSON. Returns
    the lines per file; fails on any malformed or unfinished line."""
    paths = OutputPaths.for_out(out)
    result: dict[str, list[dict]] = {}
    for name in ("out", "rejects", "turns", "profiles"):
        path = getattr(paths, name)
        lines: list[dict] = []
        if path.exists():
            raw = path.read_bytes()
            assert not raw or raw.endswith(b"\n"), f"{path}: unfinished last line"
            for n, line in enumerate(raw.decode("utf-8").splitlines(), 1):
                record = json.loads(line)
                where = f"{path.name}, line {n}"
                if name in ("out", "turns"):
                    assert parse_record(record, where=where, source="test"), where
                elif name == "rejects":
                    validate_reject(record)
                    if record["session"] is not None:
                        parse_record(record["session"], where=where, source="test")
                lines.append(record)
        result[name] = lines
    ids = [r["id"] for r in result["out"]]
    assert len(ids) == len(set(ids)), "a session was written twice"
    if turns:
        expected = {f"{r['id']}:{t['turn']}" for r in result["out"] for t in r["conversation"]}
        assert {t["id"] for t in result["turns"]} == expected
    return result
