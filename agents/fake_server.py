"""A fake OpenAI-compatible chat server, for tests and benchmarks only (it does not understand
anything: it recognises the agents' prompts by their wording and answers from word lists).

    server = FakeChatServer(delay=0.1).start()   # http://127.0.0.1:<port>/v1
    ...  --backend openai:{server.url}  with STICKERBOT_OPENAI_MODEL=<mode>
    server.stop()

``POST /v1/chat/completions`` answers streamed (server-sent events, as
``OpenAICompatibleBackbone`` asks) or as one JSON body (``"stream": false``), after a fixed
``delay`` per call. The request's ``model`` picks how it answers:

- ``scripted`` (or any other name): a plausible answer to each agent prompt, deterministic
  in the prompt (so runs can be compared across worker counts);
- ``malformed``: a stream whose JSON is cut off; ``empty``: no content at all;
  ``slow``: nothing for ``slow_seconds`` (past any sane timeout); ``http500``: an error;
  ``garbage``: well-formed answers of junk text (broken JSON, a lone surrogate, nonsense);
- ``chaos``: each request picks one of the above (a scripted answer half the time);
- ``flaky``: the first attempt at each prompt fails with HTTP 500, the retry succeeds.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODES = ("scripted", "malformed", "empty", "slow", "http500", "garbage", "chaos", "flaky")
CHAOS = (
    "scripted",
    "scripted",
    "scripted",
    "scripted",
    "scripted",
    "malformed",
    "empty",
    "slow",
    "http500",
    "garbage",
)

# Phrases of agents/prompts/*.yaml that tell the prompts apart.
_PROFILE = "Answer with one line of JSON with the keys persona and situation"
_INTENT = "Should a sticker go with this message?"
_QUERY = "Write 2 to 4 words to search a sticker library"
_PICK = "Which sticker fits the message best?"
_REVIEW = "Does the sticker contradict the message"
_CLOSE = "Is the chat finished for you now?"
_SUMMARY = "Summarize this chat in one short sentence"
_AGAIN = "Say something new"
_ASSISTANT = "You are a warm, caring friend"

EN = {
    "user_open": [
        "ugh, today went so wrong",
        "okay so guess what happened",
        "I can't believe this",
        "so this just happened",
        "honestly I'm still shaking",
        "you won't believe my day",
        "I need to tell someone",
        "so that was a disaster",
    ],
    "user_detail": [
        "my landlord raised the rent again.",
        "the train got cancelled and I missed my interview.",
        "my paper finally got accepted!",
        "someone scratched my car in the parking lot.",
        "my best friend forgot my birthday.",
        "I found a spider the size of my hand in the shower.",
        "my team won the match in the last minute!",
        "the test results come back tomorrow and I'm terrified.",
        "my cat knocked my laptop off the desk.",
        "my sister is moving abroad next week.",
        "my boss took credit for my report.",
        "I passed my driving test on the first try!",
    ],
    "assistant_open": [
        "Oh no, I'm so sorry.",
        "Wow, that's a lot.",
        "That sounds really tough.",
        "Oh, I totally get it.",
        "Hey, I'm right here.",
        "That's huge!",
        "Ugh, that's so unfair.",
        "I can only imagine.",
    ],
    "assistant_detail": [
        "How are you feeling about it now?",
        "You handled that better than most people would.",
        "Do you want to talk it through?",
        "You really didn't deserve that.",
        "I'm proud of you for getting through it.",
        "Want me to come over later?",
        "It makes sense that you're upset.",
        "Take a breath, one thing at a time.",
        "That must have been such a shock.",
        "Is there anything I can do to help?",
        "You've worked so hard for this.",
        "Let's celebrate this weekend!",
    ],
    "queries": ["hug comfort", "so angry", "happy dance", "crying face", "shocked wow", "scared nervous"],
    "jobs": [
        "nurse",
        "barista",
        "teacher",
        "coder",
        "baker",
        "student",
        "pilot",
        "florist",
        "chef",
        "painter",
    ],
    "traits": ["tired", "young", "retired", "busy", "shy", "new", "curious", "proud", "nervous", "cheerful"],
    "places": ["Lisbon", "Osaka", "a small town", "Berlin", "the suburbs", "Nairobi", "Chicago", "a farm"],
    "events": [
        "lost the keys to the flat",
        "won a cooking contest",
        "failed a driving exam",
        "got a puppy",
        "missed the last bus home",
        "found an old letter from grandma",
        "broke a phone screen",
        "got promoted",
        "heard a noise in the attic",
        "ate spoiled sushi",
    ],
    "times": ["this morning", "last night", "an hour ago", "on Monday", "today", "at lunch"],
}
ZH = {
    "user_open": ["唉，今天太倒霉了", "你猜怎么着", "我简直不敢相信", "刚刚发生了一件事"],
    "user_detail": [
        "房东又涨房租了。",
        "火车取消了，我错过了面试。",
        "我的论文终于被录用了！",
        "有人划了我的车。",
        "我考驾照一次就过了！",
    ],
    "assistant_open": ["啊，太难受了。", "哇，这也太多事了。", "抱抱你。", "这也太过分了。"],
    "assistant_detail": [
        "你现在感觉怎么样？",
        "你已经做得很好了。",
        "想聊聊吗？",
        "我陪着你。",
        "太为你高兴了！",
    ],
    "queries": ["抱抱 安慰", "生气", "开心", "哭"],
    "jobs": ["护士", "老师", "程序员", "厨师", "学生"],
    "traits": ["刚毕业的", "忙碌的", "退休的", "害羞的"],
    "places": ["上海", "成都", "小县城", "北京"],
    "events": ["丢了钥匙", "赢了比赛", "考试没过", "养了一只小狗", "错过了末班车"],
    "times": ["今天早上", "昨晚", "刚才"],
}


def _digest(value: Any) -> int:
    return int(
        hashlib.sha1(json.dumps(value, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:12], 16
    )


def scripted_answer(messages: list[dict[str, Any]]) -> str:
    """A plausible answer to one of the agents' prompts, chosen deterministically from the prompt."""
    text = "\n".join(str(m.get("content", "")) for m in messages)
    last = str(messages[-1].get("content", "")) if messages else ""
    h = _digest(messages)
    # The agents' prompts name the language they want ("in Chinese (简体中文)").
    words = ZH if "Chinese" in text else EN

    def pick(name: str, salt: int = 0) -> str:
        options = words[name]
        return options[(h >> (5 * salt)) % len(options)]

    if _PROFILE in last:
        profile = {
            "persona": f"a {pick('traits', 1)} {pick('jobs', 2)} from {pick('places', 3)}",
            "situation": f"You {pick('events', 4)} {pick('times', 5)}.",
        }
        if words is ZH:
            profile = {
                "persona": f"一名来自{pick('places', 3)}的{pick('traits', 1)}{pick('jobs', 2)}",
                "situation": f"你{pick('times', 5)}{pick('events', 4)}，一直在想这件事。",
            }
        body = json.dumps(profile, ensure_ascii=False)
        # Some answers wrap the JSON the way chat models do; the parser must cope.
        return [body, f"Sure! Here it is:\n```json\n{body}\n```", f"{body}\nI hope this helps."][h % 3]
    if _INTENT in last:
        return ["empathy", "Expression.", "intensity", "none", "I think empathy fits."][h % 5]
    if _QUERY in last:
        return pick("queries")
    if _PICK in last:
        return ["1", "2", "The first one: 1", "0", "3"][h % 5]
    if _REVIEW in last:
        return "yes" if h % 6 == 0 else "No."
    if _CLOSE in last:
        return "yes" if h % 3 == 0 else "no"
    if _SUMMARY in last:
        return "We talked about what happened today and how it felt."
    role = "assistant" if _ASSISTANT in text else "user"
    sentence = f"{pick(role + '_open', 1)} {pick(role + '_detail', 2)}"
    if words is ZH:
        sentence = sentence.replace(" ", "")
    return sentence


def garbage_answer(messages: list[dict[str, Any]]) -> str:
    h = _digest(messages)
    return [
        '{"persona": "half a json',
        "\ud83d lone surrogate and \x00 nul",
        "]]}}{{ ,,, ::: ",
        "ASSISTANT: USER: ASSISTANT:",
        "zxq vbn wert yuio " * 5,
        "",
    ][h % 6]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args):  # quiet
        pass

    def do_POST(self):  # noqa: N802 (the http.server API)
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
        except (ValueError, json.JSONDecodeError):
            self._send_json(400, {"error": {"message": "bad request body"}})
            return
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send_json(404, {"error": {"message": f"no route {self.path}"}})
            return
        fake = self.server.fake
        fake.record(body, +1)
        messages = body.get("messages") or []
        mode = fake.mode_for(body)
        stream = bool(body.get("stream"))
        try:
            if fake.delay:
                time.sleep(fake.delay)
            if mode == "http500":
                self._send_json(500, {"error": {"message": "the fake model exploded"}})
            elif mode == "slow":
                time.sleep(fake.slow_seconds)
                self._answer(scripted_answer(messages), stream)
            elif mode == "malformed":
                self._malformed(stream)
            elif mode == "empty":
                self._answer("", stream)
            elif mode == "garbage":
                self._answer(garbage_answer(messages), stream)
            else:
                self._answer(scripted_answer(messages), stream)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout, or it stopped reading)
        finally:
            fake.record(body, -1)

    def _send_json(self, status: int, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _answer(self, text: str, stream: bool) -> None:
        if not stream:
            self._send_json(
                200,
                {
                    "object": "chat.completion",
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": text},
                            "finish_reason": "stop",
                        }
                    ],
                    "usage": {"prompt_tokens": 0, "completion_tokens": len(text.split())},
                },
            )
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        self.wfile.write(b": fake server\n\n")
        self._event({"choices": [{"index": 0, "delta": {"role": "assistant"}}]})
        pieces = re.findall(r"\S*\s*", text) if text else []
        for piece in (p for p in pieces if p):
            self._event({"choices": [{"index": 0, "delta": {"content": piece}}]})
        self._event({"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        self._event({"choices": [], "usage": {"prompt_tokens": 0, "completion_tokens": len(pieces)}})
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()

    def _event(self, payload: dict) -> None:
        # json.dumps escapes a lone surrogate as \udXXX, which the client decodes back into one.
        self.wfile.write(f"data: {json.dumps(payload)}\n\n".encode())
        self.wfile.flush()

    def _malformed(self, stream: bool) -> None:
        if not stream:
            data = b'{"choices": [{"message": {"content": "cut of'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        self.wfile.write(b'data: {"choices": [{"delta": {"content": "hel\n\n')
        self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeChatServer


class FakeChatServer:
    def __init__(
        self,
        *,
        delay: float = 0.0,
        slow_seconds: float = 5.0,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int = 0,
    ):
        self.delay = delay
        self.slow_seconds = slow_seconds
        self._address = (host, port)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._seen: set[int] = set()
        self.requests = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.models: dict[str, int] = {}

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the fake server is not running")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> FakeChatServer:
        self._server = _Server(self._address, _Handler)
        self._server.fake = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fake-chat-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeChatServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def record(self, body: dict, change: int) -> None:
        """Count a request as it starts (+1) and ends (-1)."""
        with self._lock:
            self.in_flight += change
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            if change > 0:
                self.requests += 1
                model = str(body.get("model"))
                self.models[model] = self.models.get(model, 0) + 1

    def mode_for(self, body: dict) -> str:
        model = str(body.get("model") or "scripted")
        if model == "chaos":
            with self._lock:
                return self._rng.choice(CHAOS)
        if model == "flaky":
            key = _digest(body.get("messages"))
            with self._lock:
                first = key not in self._seen
                self._seen.add(key)
            return "http500" if first else "scripted"
        return model if model in MODES else "scripted"


def main(argv: list[str] | None = None) -> int:
    """``python -m agents.fake_server [--port P] [--delay S]``: serve until Ctrl-C (manual tests)."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m agents.fake_server",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    args = parser.parse_args(argv)
    server = FakeChatServer(delay=args.delay, port=args.port).start()
    print(f"fake chat server at {server.url} (model = one of {', '.join(MODES)})", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
