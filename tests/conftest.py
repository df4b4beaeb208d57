"""Shared fixtures: settings in a temp data dir, a deterministic fake embedder, the real MiniLM."""

from __future__ import annotations

import hashlib
import os
import sys

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from stickerbot.config import Settings  # noqa: E402
from stickerbot.text import tokenize  # noqa: E402


class FakeEmbedder:
    """Bag of hashed tokens: texts sharing words get similar vectors. Deterministic, instant."""

    def __init__(self, name: str = "fake-hash", dim: int = 64):
        self.name = name
        self.dim = dim
        self.languages = ("en", "zh")
        self.calls = 0

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, dtype=np.float32)
        for token in tokenize(text) or ["<empty>"]:
            h = int(hashlib.md5(token.encode()).hexdigest(), 16)
            v[h % self.dim] += 1.0 if (h >> 64) & 1 else -1.0
        n = np.linalg.norm(v)
        return v / n if n else v

    def encode_documents(self, texts, *, batch_size=64, progress=False):
        self.calls += len(texts)
        return np.stack([self._vec(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def encode_queries(self, texts):
        return self.encode_documents(list(texts))


# Fixtures that load a real model or start a server: a test using any of them (directly or
# through another fixture) belongs to the slow tier, so `pytest -m "not slow"` stays model-free.
HEAVY_FIXTURES = frozenset(
    {"minilm", "bundled_services", "memory", "bundled_memory", "app_url", "reply_models"}
)


WEIGHT_SUFFIXES = (".safetensors", ".onnx", ".gguf", ".bin", ".pth")


def _no_real_weights(event: str, args: tuple) -> None:
    """Audit hook of the fast tier: opening model weights outside a test's tmp folder (where tiny
    random models are saved) fails the test that does it."""
    if event == "open" and args and isinstance(args[0], str | bytes | os.PathLike):
        path = os.fsdecode(args[0])
        if path.endswith(WEIGHT_SUFFIXES) and "pytest-of-" not in path:
            raise RuntimeError(f"the fast tier opened model weights ({path}): mark the test slow")


def pytest_configure(config):
    # `-m "not slow"` promises no real model: hold every test of that run to it.
    if "not slow" in (config.getoption("markexpr") or ""):
        sys.addaudithook(_no_real_weights)


def pytest_collection_modifyitems(config, items):
    """Tiers: a test that uses a heavy fixture, or drives a browser, is ``slow`` (a browser
    test is marked ``browser`` too). Tests marked ``gpu`` run only where torch sees a CUDA GPU
    (torch is imported only then)."""
    for item in items:
        if item.get_closest_marker("browser") or HEAVY_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
    gpu_tests = [item for item in items if item.get_closest_marker("gpu")]
    if not gpu_tests:
        return
    import torch

    if not torch.cuda.is_available():
        skip = pytest.mark.skip(reason="needs a CUDA GPU (torch sees none)")
        for item in gpu_tests:
            item.add_marker(skip)


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings.from_env({}, data_dir=tmp_path / "data")


@pytest.fixture(scope="session")
def minilm():
    from stickerbot.embeddings import create_text_embedder

    return create_text_embedder("all-MiniLM-L6-v2")


@pytest.fixture(scope="session")
def bundled_services(tmp_path_factory, minilm):
    """The real bundled library, indexed with the real offline embedder (session-wide: ~15 s)."""
    from stickerbot.services import open_library

    data = tmp_path_factory.mktemp("bundled-data")
    return open_library(Settings.from_env({}, data_dir=data), progress=False, embedder=minilm)


@pytest.fixture(scope="module")
def memory(tmp_path_factory, minilm):
    """A small dialogue memory (tests/test_memory.py's DIALOGUES) with the real offline embedder."""
    from stickerbot.memory.store import DialogueMemory
    from tests.helpers_memory import DIALOGUES, write_jsonl

    folder = tmp_path_factory.mktemp("dialogues")
    write_jsonl(folder / "mine.jsonl", DIALOGUES)
    return DialogueMemory.open(tmp_path_factory.mktemp("memory-index"), minilm, [folder])
