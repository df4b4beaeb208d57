"""``openai:<base url>``: any server speaking the OpenAI chat-completions API (vLLM, llama.cpp
server, Ollama, LM Studio, OpenAI itself), over plain HTTP with server-sent events."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Sequence
from typing import Any

from stickerbot.backbones.base import (
    BackboneError,
    Capabilities,
    GenerationResult,
    Message,
    StopCondition,
    TokenCallback,
    check_messages,
    check_text_only,
)

log = logging.getLogger(__name__)


def chat_completions_url(base_url: str) -> str:
    """``http://host:8000`` and ``http://host:8000/v1`` both mean ``.../v1/chat/completions``."""
    base = base_url.rstrip("/")
    if base.endswith("/chat/completions"):
        return base
    if not base.endswith("/v1"):
        base += "/v1"
    return base + "/chat/completions"


class OpenAICompatibleBackbone:
    """Streams replies from ``<base url>/v1/chat/completions``.

    ``model`` and ``api_key`` come from the caller's settings. The server's own chat template
    applies, so the messages are sent as they are.
    """

    supports_images = False
    languages: tuple[str, ...] = ("en", "zh")
    # No weights here; the server decides how many requests it runs at once.
    capabilities = Capabilities(concurrent_calls=None)

    def __init__(
        self,
        base_url: str,
        *,
        model: str = "default",
        api_key: str | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        name: str | None = None,
    ):
        if not base_url.startswith(("http://", "https://")):
            raise BackboneError(
                f"openai backbone needs an http(s) base URL, got {base_url!r}; "
                "set STICKERBOT_BACKBONE=openai:http://host:port/v1"
            )
        import httpx

        self.name = name or f"openai:{base_url}"
        self.url = chat_completions_url(base_url)
        self.model = model
        headers = {"Accept": "text/event-stream"}
        if api_key:
            headers["Authorization"] = f"Bearer {api_key}"
        # read_timeout bounds the wait for each chunk, not the whole reply.
        timeout = httpx.Timeout(read_timeout, connect=connect_timeout)
        self._client = httpx.Client(headers=headers, timeout=timeout)

    def close(self) -> None:
        self._client.close()

    def generate(
        self,
        messages: list[Message],
        *,
        max_new_tokens: int = 96,
        temperature: float = 0.0,
        images: Sequence[Any] | None = None,
        on_token: TokenCallback | None = None,
        stop: StopCondition | None = None,
    ) -> GenerationResult:
        import httpx

        check_messages(messages)
        check_text_only(self.name, images)
        body = {
            "model": self.model,
            "messages": messages,
            "max_tokens": max_new_tokens,
            "temperature": temperature,
            "stream": True,
            # Servers that support it send token counts in a final chunk.
            "stream_options": {"include_usage": True},
        }
        pieces: list[str] = []
        usage: dict[str, Any] = {}
        start = time.perf_counter()
        first: float | None = None
        where = f"the chat server at {self.url} (setting STICKERBOT_BACKBONE)"
        try:
            with self._client.stream("POST", self.url, json=body) as response:
                if response.status_code >= 400:
                    detail = response.read().decode("utf-8", "replace")[:300]
                    raise BackboneError(f"{where} answered HTTP {response.status_code}: {detail}")
                for chunk in _sse_json(response.iter_lines(), where):
                    if chunk.get("usage"):
                        usage = chunk["usage"]
                    piece = _delta_text(chunk, where)
                    if not piece:
                        continue
                    if first is None:
                        first = time.perf_counter() - start
                    pieces.append(piece)
                    if on_token is not None:
                        on_token(piece)
                    if stop is not None and stop("".join(pieces)):
                        break  # leaving the block closes the stream; the server stops generating
        except httpx.TimeoutException as err:
            raise BackboneError(f"{where} timed out ({type(err).__name__})") from err
        except httpx.TransportError as err:
            raise BackboneError(f"could not reach {where}: {err}") from err
        total = time.perf_counter() - start
        text = "".join(pieces)
        return GenerationResult(
            text=text,
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            # Without usage from the server, each streamed delta is about one token.
            new_tokens=int(usage.get("completion_tokens", len(pieces))),
            seconds_to_first_token=total if first is None else first,
            seconds_total=total,
        )


def _sse_json(lines: Iterator[str], where: str) -> Iterator[dict]:
    """The JSON payloads of an SSE stream's ``data:`` lines, up to ``[DONE]``."""
    for line in lines:
        if not line.startswith("data:"):
            continue  # blank separators, comments (": keep-alive"), event names
        data = line[len("data:") :].strip()
        if data == "[DONE]":
            return
        try:
            payload = json.loads(data)
        except json.JSONDecodeError as err:
            raise BackboneError(f"{where} sent malformed JSON in its stream: {data[:200]!r}") from err
        if not isinstance(payload, dict):
            raise BackboneError(f"{where} sent an unexpected stream chunk: {data[:200]!r}")
        if "error" in payload:
            raise BackboneError(f"{where} reported an error: {payload['error']}")
        yield payload


def _delta_text(chunk: dict, where: str) -> str:
    choices = chunk.get("choices")
    if not choices:
        return ""  # the usage-only final chunk
    try:
        return choices[0].get("delta", {}).get("content") or ""
    except AttributeError as err:
        raise BackboneError(f"{where} sent an unexpected stream chunk: {chunk!r}"[:300]) from err
