"""`python -m stickerbot bench app`: the app as users run it, from the outside.

1. Start-up: ``python app.py`` in a subprocess on a free port, timed until the page is served
   (the caches are built by the first start; run it twice to see a warm start).
2. Per-turn cost of the web layer: turns sent one at a time through ``gradio_client`` (the
   same queue and event stream as the browser); the wall time minus the engine's own
   ``timings.total`` is what the app adds.
3. Concurrency, for each N of ``--clients`` (default 1, 4, 8, 20): N clients at once, each its
   own conversation of K turns; every reply must answer its own client's message and every
   returned history must hold only that client's turns. Reports turns per second, the p50 and
   p95 latency of a turn as the client sees it, the wall time, the errors and any cross-talk;
   each level's throughput against N = 1 measured in the same run (local models decode the
   turns that arrive together in one batch: ``backbones/batching.py``); and the CPU seconds a
   turn cost the app and the clients.

The clients run on the machine they measure, so they must cost it little. By default
(``--client http``) each does what a browser does for a turn and no more: POST the call, read
its event stream to the end, fetch the sticker's picture. ``gradio_client`` (``--client
gradio``) does much more a call (a job thread, status updates, file handling); at 8 sessions
on 2 cores it took 1.25 cores against the app's 0.7, so the run measured the clients.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np

from stickerbot.config import EVAL_DIR, PROJECT_ROOT, Settings
from stickerbot.evaluation.chat import load_chat_messages

STARTUP_TIMEOUT_S = 600


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(settings: Settings, port: int, log_path: Path) -> tuple[subprocess.Popen, float]:
    """``python app.py`` on ``port``; (process, seconds until GET / answered 200)."""
    env = dict(os.environ, GRADIO_SERVER_PORT=str(port), STICKERBOT_HOST="127.0.0.1")
    env["STICKERBOT_DATA_DIR"] = str(settings.data_dir)
    start = time.perf_counter()
    log = log_path.open("wb")
    process = subprocess.Popen(
        [sys.executable, str(PROJECT_ROOT / "app.py")], cwd=PROJECT_ROOT, env=env, stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}/"
    while time.perf_counter() - start < STARTUP_TIMEOUT_S:
        if process.poll() is not None:
            raise RuntimeError(f"app.py exited with code {process.returncode}; see {log_path}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return process, time.perf_counter() - start
        except OSError:
            time.sleep(0.2)
    process.terminate()
    raise RuntimeError(f"app.py did not serve {url} within {STARTUP_TIMEOUT_S} s; see {log_path}")


def run_together(target, count: int) -> float:
    """Run ``target(n)`` for n in range(count) on threads started at once; the wall seconds."""
    threads = [threading.Thread(target=target, args=(n,)) for n in range(count)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - start


class HttpClient:
    """One browser tab's requests for a ``/reply`` turn, over one kept-alive connection and
    one Gradio session (a call without one makes Gradio set up a whole session's state, the
    config of every component, for that call alone)."""

    def __init__(self, url: str):
        import secrets

        import httpx

        self.http = httpx.Client(base_url=url, timeout=120)
        self.session = secrets.token_hex(8)

    def predict(self, message: str, history: list) -> dict:
        call = self.http.post(
            "/gradio_api/call/reply",
            json={"data": [message, None, history, "occasional", "auto"], "session_hash": self.session},
        )
        call.raise_for_status()
        event, data = "", ""
        with self.http.stream("GET", f"/gradio_api/call/reply/{call.json()['event_id']}") as stream:
            stream.raise_for_status()
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    event = line.removeprefix("event:").strip()
                elif line.startswith("data:") and event in ("complete", "error"):
                    data = line.removeprefix("data:").strip()
                    break
        if event != "complete":
            raise RuntimeError(f"the turn ended with {event or 'no event'}: {data or 'no message'}")
        reply, sticker = json.loads(data)
        if sticker:  # the page loads the sticker's picture
            self.http.get(sticker["url"]).raise_for_status()
        return reply

    def close(self) -> None:
        self.http.close()


class GradioClient:
    """The same turn through ``gradio_client``, as scripts call the API."""

    def __init__(self, url: str):
        from gradio_client import Client

        self.client = Client(url, verbose=False)

    def predict(self, message: str, history: list) -> dict:
        reply, _ = self.client.predict(message, None, history, "occasional", "auto", api_name="/reply")
        return reply

    def close(self) -> None:
        self.client.close()


CLIENTS = {"http": HttpClient, "gradio": GradioClient}


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _messages(n: int) -> list[str]:
    items = [m.message for m in load_chat_messages(EVAL_DIR / "chat_dev.jsonl") if m.lang == "en"]
    return (items * (n // len(items) + 1))[:n]


def sequential_turns(url: str, n: int, client_kind: str = "http") -> dict:
    client = CLIENTS[client_kind](url)
    added, walls = [], []
    try:
        for message in _messages(n + 1)[1:] if n else []:
            start = time.perf_counter()
            reply = client.predict(message, [])
            wall = time.perf_counter() - start
            walls.append(wall)
            added.append(wall - reply["timings"]["total"])
    finally:
        client.close()
    # One turn first, untimed: the first request sets up the client's connection.
    return {
        "turns": len(walls),
        "turn_wall_s_p50": round(float(np.median(walls)), 3),
        "added_s_p50": round(float(np.median(added)), 3),
        "added_s_p95": round(float(np.percentile(added, 95)), 3),
    }


# What the concurrent clients say. "day" is mostly answered without the model on the offline
# default (a strategy reply and the selector); "questions" are factual questions, which the
# model answers in its own words, so every turn decodes (continuous batching is what is timed).
QUESTIONS = [
    "how do plants make food?",
    "what's the capital of Peru?",
    "why is the sky blue?",
    "how many legs does a spider have?",
    "what is the largest ocean?",
    "who wrote Romeo and Juliet?",
    "how far is the moon?",
    "what do bees make?",
]
SAYINGS = {
    "day": lambda n, k: f"client {n}, message {k}: I had a long day",
    "questions": lambda n, k: f"client {n}, question {k}: {QUESTIONS[(n + k) % len(QUESTIONS)]}",
}


def concurrent_sessions(
    url: str, clients: int, turns: int, client_kind: str = "http", app_pid: int = 0, say: str = "day"
) -> dict:
    errors: list[str] = []
    crossed: list[int] = []
    latencies: list[float] = []
    model_turns: list[int] = []
    saying = SAYINGS[say]
    # Connections first, untimed, so every client starts its turns at once.
    connected = [CLIENTS[client_kind](url) for _ in range(clients)]
    barrier = threading.Barrier(clients)

    def converse(n: int) -> None:
        try:
            client = connected[n]
            history: list[dict] = []
            barrier.wait()
            for k in range(turns):
                start = time.perf_counter()
                reply = client.predict(saying(n, k), history)
                latencies.append(time.perf_counter() - start)
                if reply["timings"].get("model", 0.0) > 0:
                    model_turns.append(n)
                history = reply["turns"]
                mine = [t["content"] for t in history if t["role"] == "user"]
                if mine != [saying(n, j) for j in range(k + 1)]:
                    crossed.append(n)
        except Exception as err:  # counted and reported, the other clients go on
            errors.append(f"client {n}: {err}")

    app_cpu, own_cpu = cpu_seconds(app_pid), time.process_time()
    wall = run_together(converse, clients)
    app_cpu, own_cpu = cpu_seconds(app_pid) - app_cpu, time.process_time() - own_cpu
    for client in connected:
        client.close()
    done = max(1, len(latencies))
    return {
        "clients": clients,
        "turns_each": turns,
        "says": say,
        "model_turns": len(model_turns),
        "wall_s": round(wall, 2),
        "turns_per_s": round(len(latencies) / wall, 3) if wall > 0 else 0.0,
        "app_cpu_s_per_turn": round(app_cpu / done, 4) if app_pid else None,
        "client_cpu_s_per_turn": round(own_cpu / done, 4),
        "turn_s_p50": round(float(np.median(latencies)), 3) if latencies else None,
        "turn_s_p95": round(float(np.percentile(latencies, 95)), 3) if latencies else None,
        "errors": errors,
        "cross_talk": sorted(set(crossed)),
    }


def concurrency_levels(
    url: str, levels: list[int], turns: int, client_kind: str = "http", app_pid: int = 0, say: str = "day"
) -> list[dict]:
    """``concurrent_sessions`` for each level, with its throughput against one client's."""
    out = [concurrent_sessions(url, n, turns, client_kind, app_pid, say) for n in levels]
    single = next((r["turns_per_s"] for r in out if r["clients"] == 1), None)
    for r in out:
        r["speedup_vs_1"] = round(r["turns_per_s"] / single, 2) if single else None
    return out


def run_app_benchmark(
    settings: Settings,
    *,
    turns: int = 20,
    clients: tuple[int, ...] = (1, 4, 8, 20),
    client_turns: int = 5,
    client: str = "http",
    say: str = "day",
    json_out: bool = False,
) -> dict:
    if client not in CLIENTS:
        raise ValueError(f"unknown client {client!r}; known: {', '.join(CLIENTS)}")
    if say not in SAYINGS:
        raise ValueError(f"unknown --say {say!r}; known: {', '.join(SAYINGS)}")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    log_path = settings.data_dir / "bench-app.log"
    port = free_port()
    process, startup = start_app(settings, port, log_path)
    url = f"http://127.0.0.1:{port}/"
    try:
        result = {
            "startup_to_served_page_s": round(startup, 2),
            "client": client,
            "sequential": sequential_turns(url, turns, client),
            "concurrent": concurrency_levels(url, list(clients), client_turns, client, process.pid, say),
        }
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
    if json_out:
        print(json.dumps(result, indent=2))
    else:
        s = result["sequential"]
        print(f"app (python app.py, {settings.backbone}); server log: {log_path}")
        print(f"  start to served page   {result['startup_to_served_page_s']:.2f} s")
        print(
            f"  web layer per turn     p50 +{s['added_s_p50']:.3f} s, p95 +{s['added_s_p95']:.3f} s "
            f"over the engine's own turn ({s['turns']} turns, wall p50 {s['turn_wall_s_p50']:.3f} s)"
        )
        print(f"  clients: {client}, saying {say!r} (CPU a turn: the app's, the clients' own)")
        print(
            "  clients x turns   turns/s  vs 1   turn p50   turn p95   wall     errors  cross-talk"
            "  app CPU   client CPU  model wrote"
        )
        for c in result["concurrent"]:
            print(
                f"  {c['clients']:>3} x {c['turns_each']:<8}  {c['turns_per_s']:>7.2f}  {c['speedup_vs_1'] or 0:>4.1f}x"
                f"  {c['turn_s_p50'] or 0:>7.2f} s  {c['turn_s_p95'] or 0:>7.2f} s  {c['wall_s']:>6.1f} s"
                f"  {len(c['errors']):>6}  {len(c['cross_talk']):>10}"
                f"  {1000 * (c['app_cpu_s_per_turn'] or 0):>5.0f} ms  {1000 * c['client_cpu_s_per_turn']:>7.0f} ms"
                f"  {c['model_turns']:>5} turns"
            )
            for error in c["errors"][:3]:
                print(f"    {error}")
    return result
