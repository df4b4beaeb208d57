"""`python -m stickerbot bench import`: how long importing N stickers takes.

Writes N distinct synthetic stickers (256 px PNG, a third of them with a short
caption so OCR has text to read, every tenth animated) into a folder, then times
the real import path on a fresh data directory: checks, hashing, duplicate
search, OCR, manifest writes and indexing.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from stickerbot.config import Settings
from stickerbot.importer import PackImporter
from stickerbot.services import open_library
from stickerbot.stickers.ocr import OcrPool

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
WORDS = "ok sure nope yay wow lol ugh hmm bye hello thanks sorry again tired happy sad".split()


def synthetic_sticker(rng: random.Random, index: int, caption: str | None) -> Image.Image:
    im = Image.new("RGBA", (256, 256), (0, 0, 0, 0))
    draw = ImageDraw.Draw(im)
    # Random blobs and bars: perceptual hashes of distinct seeds differ by ~half their bits.
    for _ in range(rng.randint(3, 7)):
        x0, y0 = rng.randint(0, 200), rng.randint(0, 200)
        x1, y1 = x0 + rng.randint(20, 120), y0 + rng.randint(20, 120)
        colour = tuple(rng.randint(0, 255) for _ in range(3)) + (255,)
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x0, y0, x1, y1), fill=colour)
    if caption:
        try:
            font = ImageFont.truetype(FONT, 34)
        except OSError:
            font = ImageFont.load_default()
        draw.text(
            (128, 220), caption, font=font, fill="black", anchor="mm", stroke_width=3, stroke_fill="white"
        )
    return im


def write_pack(folder: Path, n: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        caption = " ".join(rng.sample(WORDS, 2)) if i % 3 == 0 else None
        im = synthetic_sticker(rng, i, caption)
        if i % 10 == 5:
            frames = [im] + [synthetic_sticker(rng, i, caption) for _ in range(5)]
            frames[0].save(
                folder / f"anim_{i:04d}.gif", save_all=True, append_images=frames[1:], duration=80, loop=0
            )
        else:
            im.save(folder / f"sticker_{i:04d}.png")


def run_import_benchmark(settings: Settings, *, n: int = 1000, json_out: bool = False) -> dict:
    with tempfile.TemporaryDirectory(prefix="stickerbot-bench-import-") as tmp:
        source = Path(tmp) / "pack"
        write_pack(source, n)
        bench_settings = replace(settings, data_dir=Path(tmp) / "data")
        services = open_library(bench_settings, progress=not json_out)
        workers = min(4, os.cpu_count() or 1)
        importer = PackImporter(
            services.library,
            services.index,
            bench_settings.packs_dir,
            limits=bench_settings.limits,
            ocr=OcrPool(workers) if bench_settings.ocr else None,
            duplicate_bits=bench_settings.duplicate_bits,
            workers=workers,
            image_index=services.image_index,
        )
        t0 = time.perf_counter()
        report = importer.run(source, pack="bench", progress=not json_out)
        seconds = time.perf_counter() - t0
    result = {
        "files": n,
        "counts": report.counts(),
        "seconds": round(seconds, 2),
        "files_per_s": round(n / seconds, 1),
        "ocr": bench_settings.ocr,
    }
    if json_out:
        print(json.dumps(result, indent=2))
    else:
        print(
            f"imported {n} files ({', '.join(f'{v} {k}' for k, v in sorted(report.counts().items()))}) "
            f"in {seconds:.1f} s = {n / seconds:.1f} files/s (OCR {'on' if bench_settings.ocr else 'off'})"
        )
    return result
