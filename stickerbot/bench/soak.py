"""`python -m stickerbot bench soak --minutes N`: the app under a mixed load for N minutes.

``python app.py`` runs in a subprocess on a free port; ten simulated users (``gradio_client``,
each its own conversation) keep sending a mix of text turns, good stickers (drawn here),
hostile uploads (a text file named .png, a truncated PNG, a PNG whose header claims ten
billion pixels), library searches and small pack imports. Reported:

- errors: anything but a reply, or, for a hostile upload, anything but a clear refusal
  (target 0);
- the app's resident memory (RSS, from /proc) after the first minute of warm-up and at the
  end (target: at most 10% growth);
- the size of Gradio's upload folder over the run (bounded: the app deletes an upload once
  the API has answered it, and the browser UI's cache is swept by age);
- whether every sticker imported during the run is found by a search at the end.

The app runs on a scratch data directory (removed afterwards; the converted model weights
are shared with the real one through a link), so the packs the soak imports never reach the
user's library.
"""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import struct
import tempfile
import threading
import time
import zipfile
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path

from PIL import Image, ImageDraw

from stickerbot.bench.app import free_port, start_app
from stickerbot.config import Settings
from stickerbot.errors import UserError

USERS = 10
SAMPLE_EVERY_S = 10.0
WARM_UP_S = 60.0
# Weights of what a simulated user does next.
ACTIONS = {"text": 0.55, "sticker": 0.15, "hostile": 0.1, "search": 0.15, "import": 0.05}
MESSAGES = [
    "I got the job!!!",
    "ugh my train is late again",
    "lol my cat just knocked my coffee over",
    "I miss my grandma so much",
    "good night!",
    "thank you for listening yesterday",
    "明天要面试了，有点紧张",
    "我考上研究生了！",
    "what's the capital of Peru?",
    "so tired today",
]


def drawn_sticker(seed: int, size: int = 160) -> bytes:
    """A sticker-like PNG of a few coloured shapes on transparency, different per seed."""
    rng = random.Random(seed)
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    for _ in range(4):
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256), 255)
        x0, y0 = rng.randrange(size // 2), rng.randrange(size // 2)
        w, h = (rng.randrange(max(1, size // 5), max(2, size // 2)) for _ in range(2))
        draw.ellipse((x0, y0, x0 + w, y0 + h), fill=colour)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def hostile_uploads() -> dict[str, bytes]:
    """Files a sticker upload must refuse, by name."""
    bomb = bytearray(drawn_sticker(0, 8))
    bomb[16:24] = struct.pack(">II", 100_000, 100_000)  # IHDR claims 10^10 pixels
    bomb[29:33] = struct.pack(">I", zlib.crc32(bytes(bomb[12:29])) & 0xFFFFFFFF)
    return {
        "notes.png": b"this is a text file with a .png name\n",
        "cut.png": drawn_sticker(1)[:120],
        "bomb.png": bytes(bomb),
    }


def rss_bytes(pid: int) -> int:
    """Resident memory of a process (Linux /proc), 0 when it cannot be read."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def folder_bytes(path: Path) -> int:
    """Bytes of the files under ``path``; files the app deletes meanwhile are skipped."""
    total = 0
    for root, _, files in os.walk(path):  # os.walk ignores folders that vanish under it
        for name in files:
            try:
                total += os.stat(os.path.join(root, name)).st_size
            except FileNotFoundError:
                pass
    return total


@dataclass
class SoakLog:
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    imported: list[tuple[str, str]] = field(default_factory=list)  # (pack, unique word)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, action: str) -> None:
        with self.lock:
            self.counts[action] = self.counts.get(action, 0) + 1

    def error(self, text: str) -> None:
        with self.lock:
            self.errors.append(text[:300])


def user(url: str, n: int, until: float, log: SoakLog, folder: Path, actions: dict[str, float]) -> None:
    try:
        _user(url, n, until, log, folder, actions)
    except Exception as err:  # a user that cannot even start is an error, not a silent stop
        log.error(f"user {n} stopped: {type(err).__name__}: {err}")


def _user(url: str, n: int, until: float, log: SoakLog, folder: Path, actions: dict[str, float]) -> None:
    from gradio_client import Client, handle_file

    rng = random.Random(n)
    client = Client(url, verbose=False)
    history: list[dict] = []
    hostile = hostile_uploads()
    step = 0
    while time.monotonic() < until:
        step += 1
        action = rng.choices(list(actions), weights=list(actions.values()))[0]
        try:
            if action == "text":
                reply, _ = client.predict(
                    rng.choice(MESSAGES), None, history[-8:], "occasional", "auto", api_name="/reply"
                )
                history = reply["turns"]
            elif action == "sticker":
                path = folder / f"user{n}-{step}.png"
                path.write_bytes(drawn_sticker(n * 100_000 + step))
                reply, _ = client.predict(
                    "", handle_file(str(path)), history[-8:], "always", "auto", api_name="/reply"
                )
                history = reply["turns"]
            elif action == "hostile":
                name, data = rng.choice(sorted(hostile.items()))
                path = folder / f"user{n}-{step}-{name}"
                path.write_bytes(data)
                try:
                    client.predict("look", handle_file(str(path)), [], "off", "auto", api_name="/reply")
                    log.error(f"user {n}: the hostile upload {name} was accepted")
                except Exception as err:  # the refusal we want: say so, keep going
                    if "can't be used as a sticker" not in str(err) and "at most" not in str(err):
                        log.error(f"user {n}: {name} refused unclearly: {err}")
            elif action == "search":
                client.predict(rng.choice(MESSAGES), None, "auto", 5, api_name="/search")
            elif action == "import":
                word = f"soakword{n}x{step}"
                zip_path = folder / f"pack-{n}-{step}.zip"
                with zipfile.ZipFile(zip_path, "w") as z:
                    for i in range(3):
                        z.writestr(f"{word}_{i}.png", drawn_sticker(10_000_000 + n * 1000 + step * 3 + i))
                    rows = [{"file": f"{word}_{i}.png", "name": f"{word} sticker {i}"} for i in range(3)]
                    z.writestr("annotations.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n")
                outputs = client.predict(
                    handle_file(str(zip_path)), f"soak-{n}-{step}", api_name="/import_pack"
                )
                summary = outputs[0]
                if "3 of 3 files imported" not in str(summary):
                    log.error(f"user {n}: import of {zip_path.name}: {summary}")
                else:
                    with log.lock:
                        log.imported.append((f"soak-{n}-{step}", word))
            log.count(action)
        except Exception as err:
            log.error(f"user {n}, {action}: {type(err).__name__}: {err}")


def run_soak(
    settings: Settings,
    *,
    minutes: float,
    users: int = USERS,
    without: tuple[str, ...] = (),
    json_out: bool = False,
) -> dict:
    """``without``: actions left out of the mix (e.g. "import", to tell memory that a growing
    library takes from memory that leaks)."""
    unknown = set(without) - set(ACTIONS)
    if unknown:
        raise UserError(
            f"bench soak --without: unknown actions {sorted(unknown)}; choose from {sorted(ACTIONS)}"
        )
    actions = {k: v for k, v in ACTIONS.items() if k not in without}
    if not actions:
        raise UserError("bench soak --without leaves no action to run")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    log_path = settings.data_dir / "bench-soak.log"
    scratch = Path(tempfile.mkdtemp(prefix="stickerbot-soak-"))
    try:
        if settings.models_dir.exists():
            (scratch / "models").symlink_to(settings.models_dir.resolve(), target_is_directory=True)
        return _soak(replace(settings, data_dir=scratch), log_path, minutes, users, actions, json_out)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _soak(
    settings: Settings, log_path: Path, minutes: float, users: int, actions: dict[str, float], json_out: bool
) -> dict:
    port = free_port()
    process, startup = start_app(settings, port, log_path)
    url = f"http://127.0.0.1:{port}/"
    temp_dir = settings.gradio_temp_dir
    log = SoakLog()
    samples: list[tuple[float, int, int]] = []  # (seconds, rss, temp folder bytes)
    began = time.monotonic()
    until = began + minutes * 60
    try:
        with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
            threads = [
                threading.Thread(target=user, args=(url, n, until, log, Path(tmp), actions), daemon=True)
                for n in range(users)
            ]
            for t in threads:
                t.start()
            while any(t.is_alive() for t in threads):
                samples.append((time.monotonic() - began, rss_bytes(process.pid), folder_bytes(temp_dir)))
                time.sleep(SAMPLE_EVERY_S)
            for t in threads:
                t.join()
            samples.append((time.monotonic() - began, rss_bytes(process.pid), folder_bytes(temp_dir)))
            found = searchable(url, log.imported)
    finally:
        process.terminate()
        process.wait(timeout=30)
    warm = next((s for s in samples if s[0] >= WARM_UP_S), samples[0])
    end = samples[-1]
    result = {
        "minutes": minutes,
        "users": users,
        "mix": actions,
        "startup_s": round(startup, 1),
        "actions": log.counts,
        "errors": len(log.errors),
        "error_examples": log.errors[:10],
        "rss_after_warm_up_mb": round(warm[1] / 2**20, 1),
        "rss_end_mb": round(end[1] / 2**20, 1),
        "rss_growth_pct": round(100 * (end[1] - warm[1]) / warm[1], 1) if warm[1] else None,
        "temp_folder_max_mb": round(max(s[2] for s in samples) / 2**20, 2),
        "temp_folder_end_mb": round(end[2] / 2**20, 2),
        "imports": len(log.imported),
        "imports_searchable": found,
    }
    if json_out:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    else:
        print(
            f"soak: {minutes:g} min, {users} users against python app.py ({settings.backbone}); log {log_path}"
        )
        print(f"  actions          {', '.join(f'{k} {v}' for k, v in sorted(log.counts.items()))}")
        print(f"  errors           {result['errors']}")
        for example in result["error_examples"][:5]:
            print(f"    {example}")
        print(
            f"  app RSS          {result['rss_after_warm_up_mb']} MB after warm-up -> {result['rss_end_mb']} MB "
            f"({result['rss_growth_pct']:+}%)"
        )
        print(
            f"  upload folder    max {result['temp_folder_max_mb']} MB, end {result['temp_folder_end_mb']} MB"
        )
        print(f"  imports          {found} of {len(log.imported)} packs searchable at the end")
    return result


def searchable(url: str, imported: list[tuple[str, str]]) -> int:
    """How many imported packs a search for their unique word finds."""
    from gradio_client import Client

    client = Client(url, verbose=False)
    found = 0
    for pack, word in imported:
        outputs = client.predict(f"{word} sticker", None, "en", 10, api_name="/search")
        table = next(o for o in outputs if isinstance(o, dict) and "data" in o)
        rows = table["data"]
        if any(str(row[0]).startswith(f"user:{pack}:") for row in rows):
            found += 1
    return found
