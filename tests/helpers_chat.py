"""A chat backbone that repeats the user's words, so a test can tell whose reply is whose."""

from __future__ import annotations

import time

from stickerbot.backbones.base import Capabilities, GenerationResult


class EchoBackbone:
    """Replies "You said: <last user message>. I'm here for you." word by word."""

    name = "echo"
    supports_images = False
    languages = ("en",)
    # Stateless: sessions may call it at once (the cross-talk tests rely on that).
    capabilities = Capabilities(concurrent_calls=None)

    def __init__(self, delay: float = 0.0):
        # A pause per word lets concurrent turns overlap in the tests that look for cross-talk.
        self.delay = delay

    def generate(
        self, messages, *, max_new_tokens=96, temperature=0.0, images=None, on_token=None, stop=None
    ):
        said = messages[-1]["content"].split("\n")[0].strip() or "a sticker"
        words = f"You said: {said}. I'm here for you.".split(" ")
        out: list[str] = []
        start = time.perf_counter()
        for i, word in enumerate(words):
            if self.delay:
                time.sleep(self.delay)
            piece = word if i == 0 else " " + word
            out.append(piece)
            if on_token:
                on_token(piece)
        total = time.perf_counter() - start
        return GenerationResult("".join(out), 10, len(out), min(total, 0.001), total)
