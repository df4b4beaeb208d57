"""The agents' one chat-model interface: a :class:`ChatBackbone` (``smollm2-135m``, ``hf:...``,
``openai:...``) wrapped with an overall deadline per call, retries with exponential backoff,
cancellation (Ctrl-C), and lenient parsers for what models answer.

Every answer goes through :func:`clean_text`, so nothing a model sends (lone surrogates,
control characters) can make an output line unwritable. Parsers return None when they find
nothing; the agents then fall back to a defined choice and record that they did.
"""

from __future__ import annotations

import ast
import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from agents.config import CallPolicy
from stickerbot.backbones.base import BackboneError, ChatBackbone, Message

log = logging.getLogger(__name__)


class LLMError(RuntimeError):
    """A call failed on every attempt (the message holds the last error)."""


class BackendDown(LLMError):
    """So many calls in a row failed that the backend is taken to be down; the run stops."""


class Cancelled(RuntimeError):
    """The run is stopping (Ctrl-C); the session in progress is abandoned, not written."""


class CallTimeout(BackboneError):
    """A call ran past the policy's deadline and was stopped."""


@dataclass
class CallStats:
    calls: int = 0
    attempts: int = 0
    failed_attempts: int = 0
    timeouts: int = 0
    failed_calls: int = 0
    unparsed: int = 0
    seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **counts: float) -> None:
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)

    def to_dict(self) -> dict:
        return {k: round(v, 3) if isinstance(v, float) else v for k, v in vars(self).items() if k[0] != "_"}


@dataclass(frozen=True)
class Answer:
    """What :meth:`AgentLLM.ask` got: the parsed value (None if nothing parsed), the raw text,
    the attempts it took, and the transport error when no attempt got an answer at all."""

    value: Any
    text: str
    attempts: int
    error: str | None = None

    @property
    def parsed(self) -> bool:
        return self.value is not None


class AgentLLM:
    """Thread-safe: one instance serves every worker of a run.

    Calls run at once up to what the backbone declares (``Capabilities.concurrent_calls``: 1 for
    a model in this process, no limit for a server); ``concurrent`` overrides it (False: one at
    a time, True: no limit)."""

    def __init__(
        self,
        backbone: ChatBackbone,
        policy: CallPolicy | None = None,
        *,
        concurrent: bool | None = None,
        cancel: threading.Event | None = None,
        give_up_after: int = 12,
    ):
        self.backbone = backbone
        self.policy = policy or CallPolicy()
        if concurrent is None:
            slots = backbone.capabilities.concurrent_calls
        else:
            slots = None if concurrent else 1
        self.concurrent = slots != 1
        # Calls beyond what the backbone serves at once wait here for a slot.
        self._slots = threading.BoundedSemaphore(slots) if slots is not None else None
        self.cancel = cancel or threading.Event()
        # Calls that failed on every attempt, in a row, before the whole run gives up.
        self.give_up_after = give_up_after
        self.stats = CallStats()
        self._state = threading.Lock()
        self._failed_in_a_row = 0
        self._down: str | None = None

    @property
    def name(self) -> str:
        return self.backbone.name

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(self.backbone.languages)

    def check_cancel(self) -> None:
        if self.cancel.is_set():
            raise Cancelled("the run is stopping")
        if self._down is not None:
            raise BackendDown(self._down)

    def complete(
        self,
        messages: list[Message],
        *,
        max_new_tokens: int,
        temperature: float = 0.0,
        stop: Callable[[str], bool] | None = None,
    ) -> str:
        """The model's cleaned answer; LLMError when every attempt failed, Cancelled on Ctrl-C."""
        policy = self.policy
        last: Exception | None = None
        start = time.perf_counter()
        self.stats.add(calls=1)
        try:
            for attempt in range(policy.retries + 1):
                self.check_cancel()
                if attempt:
                    delay = min(policy.backoff * 2 ** (attempt - 1), policy.backoff_max)
                    # Waiting on the event lets Ctrl-C end a backoff at once.
                    if self.cancel.wait(delay):
                        raise Cancelled("the run is stopping")
                self.stats.add(attempts=1)
                try:
                    text = self._attempt(messages, max_new_tokens, temperature, stop)
                except (BackboneError, OSError) as err:
                    last = err
                    timeout = isinstance(err, CallTimeout) or "timed out" in str(err)
                    self.stats.add(failed_attempts=1, timeouts=int(timeout))
                    log.debug("%s: attempt %d failed: %s", self.name, attempt + 1, err)
                    continue
                self._record(ok=True)
                return text
        finally:
            self.stats.add(seconds=time.perf_counter() - start)
        self.stats.add(failed_calls=1)
        self._record(ok=False, error=last)
        raise LLMError(f"{self.name}: {policy.retries + 1} attempts failed; last: {last}")

    def _record(self, *, ok: bool, error: Exception | None = None) -> None:
        with self._state:
            if ok:
                self._failed_in_a_row = 0
                return
            self._failed_in_a_row += 1
            if self._failed_in_a_row >= self.give_up_after and self._down is None:
                self._down = (
                    f"{self._failed_in_a_row} calls in a row to {self.name} failed on every attempt "
                    f"(last: {error}); check the backend (STICKERBOT_BACKBONE / --backend) and run again"
                )

    def _attempt(self, messages, max_new_tokens: int, temperature: float, stop) -> str:
        if self._slots is None:
            return self._generate(messages, max_new_tokens, temperature, stop)
        # The deadline starts once it is this call's turn on the model, not while it queues.
        with self._slots:
            self.check_cancel()
            return self._generate(messages, max_new_tokens, temperature, stop)

    def _generate(self, messages, max_new_tokens: int, temperature: float, stop) -> str:
        deadline = time.monotonic() + self.policy.timeout
        why: list[str] = []

        def stop_check(text: str) -> bool:
            if self.cancel.is_set():
                why.append("cancel")
                return True
            if time.monotonic() > deadline:
                why.append("timeout")
                return True
            return bool(stop and stop(text))

        result = self.backbone.generate(
            messages, max_new_tokens=max_new_tokens, temperature=temperature, stop=stop_check
        )
        if "cancel" in why or self.cancel.is_set():
            raise Cancelled("the run is stopping")
        if "timeout" in why or time.monotonic() > deadline:
            raise CallTimeout(f"{self.name} took longer than {self.policy.timeout:g} s")
        return clean_text(result.text)

    def ask(
        self,
        messages: list[Message],
        parse: Callable[[str], Any],
        *,
        max_new_tokens: int,
        temperature: float = 0.0,
        retry_temperature: float = 0.7,
        stop: Callable[[str], bool] | None = None,
        parse_retries: int | None = None,
    ) -> Answer:
        """Call and parse; an unparseable answer is asked again ``parse_retries`` times (default
        ``policy.decision_retries``) at ``retry_temperature``, so a greedy local model can answer
        differently. Never raises LLMError: a call that failed on every attempt returns an
        Answer with ``error`` set."""
        text = ""
        attempts = 0
        retries = self.policy.decision_retries if parse_retries is None else parse_retries
        for attempt in range(retries + 1):
            attempts += 1
            try:
                text = self.complete(
                    messages,
                    max_new_tokens=max_new_tokens,
                    temperature=temperature if attempt == 0 else max(temperature, retry_temperature),
                    stop=stop,
                )
            except BackendDown:
                raise
            except LLMError as err:
                return Answer(None, text, attempts, error=str(err))
            value = parse(text)
            if value is not None:
                return Answer(value, text, attempts)
            self.stats.add(unparsed=1)
        return Answer(None, text, attempts)


# --- cleaning and parsing ----------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(text: str) -> str:
    """Text that can always be written as UTF-8 JSON: lone surrogates become U+FFFD and control
    characters other than tab and newline are removed."""
    if not isinstance(text, str):
        text = str(text)
    text = text.encode("utf-8", "replace").decode("utf-8", "replace")
    return _CONTROL.sub("", text)


_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")


def extract_json(text: str) -> Any | None:
    """The first JSON object or array in ``text``: inside a code fence or surrounded by prose,
    with trailing commas or Python-style quotes tolerated. None when there is none."""
    if not text:
        return None
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    decoder = json.JSONDecoder()
    for chunk in candidates:
        for start, char in enumerate(chunk):
            if char not in "{[":
                continue
            for variant in (chunk[start:], _TRAILING_COMMA.sub(r"\1", chunk[start:])):
                try:
                    value, _ = decoder.raw_decode(variant)
                except json.JSONDecodeError:
                    value = _literal(variant)
                if isinstance(value, dict | list):
                    return value
    return None


def _literal(text: str) -> Any | None:
    """A Python literal ({'a': 'b'}) at the start of ``text``, up to its matching bracket."""
    close = {"{": "}", "[": "]"}[text[0]]
    depth = 0
    for end, char in enumerate(text):
        if char == text[0]:
            depth += 1
        elif char == close:
            depth -= 1
            if depth == 0:
                try:
                    return ast.literal_eval(text[: end + 1])
                except (ValueError, SyntaxError, MemoryError, RecursionError):
                    return None
    return None


def extract_fields(text: str, keys: tuple[str, ...]) -> dict[str, str]:
    """``key: value`` or ``"key": "value"`` pairs for ``keys`` anywhere in ``text``, first
    occurrence of each: what is left of a truncated or malformed JSON answer."""
    out: dict[str, str] = {}
    for key in keys:
        quoted = re.search(rf'"{key}"\s*:\s*"((?:[^"\\]|\\.)*)"', text, re.IGNORECASE)
        if quoted:
            try:
                out[key] = json.loads(f'"{quoted.group(1)}"')
            except json.JSONDecodeError:
                out[key] = quoted.group(1)
            continue
        plain = re.search(rf"(?im)^\W*{key}\W*[:：]\s*(.+)$", text)
        if plain:
            out[key] = plain.group(1).strip().strip('"').strip()
    return out


def parse_choice(text: str, options: dict[str, tuple[str, ...]]) -> str | None:
    """The option whose keyword appears first in ``text`` (words matched case-insensitively at
    word boundaries; Chinese keywords anywhere). None when no keyword appears."""
    low = text.lower()
    best: tuple[int, str] | None = None
    for option, keywords in options.items():
        for keyword in keywords:
            if re.search(r"[\u4e00-\u9fff]", keyword):
                pos = low.find(keyword)
            else:
                match = re.search(rf"(?<![a-z]){re.escape(keyword.lower())}(?![a-z])", low)
                pos = match.start() if match else -1
            if pos >= 0 and (best is None or pos < best[0]):
                best = (pos, option)
    return best[1] if best else None


YES_NO = {"yes": ("yes", "yeah", "yep", "true", "是", "对", "会"), "no": ("no", "nope", "false", "不", "否")}


def parse_yes_no(text: str) -> bool | None:
    choice = parse_choice(text, YES_NO)
    return None if choice is None else choice == "yes"


def parse_number(text: str, low: int, high: int) -> int | None:
    """The first integer in ``text`` within [low, high]; words like "none" mean ``low`` when it is 0."""
    # A number standing alone: "2", "2.", "(2)", "#2"; not the 3 of "3D".
    for match in re.finditer(r"(?<![\w.])\d+(?![\w])", text):
        value = int(match.group())
        if low <= value <= high:
            return value
    if low == 0 and parse_choice(text, {"none": ("none", "no sticker", "neither", "不用", "不需要", "都不")}):
        return 0
    return None
