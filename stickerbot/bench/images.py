"""``python -m stickerbot bench images``: the offline image encoder's cost.

Prints the encoder's size (with its expression head, when one lies beside it), load time, and
per-picture latency on one core (batch of one: the vector and the head's reading, both always),
and what an import adds per sticker on top of what it did without an encoder: the embedding and
the reading of its picture (the library's vectors are read once). The head runs only for a
picture unlike every sticker, so the import's cost is measured twice: on library pictures (the
head is not needed) and on the dev drawings (``assets/eval/drawn_stickers_dev``, where it mostly
is).
"""

from __future__ import annotations

import json
import statistics
import time

import torch

from stickerbot.config import Settings


def p95(values: list[float]) -> float:
    return sorted(values)[int(0.95 * (len(values) - 1))]


def run_images_benchmark(settings: Settings, *, n: int = 200, json_out: bool = False) -> dict:
    from stickerbot.config import EVAL_DIR
    from stickerbot.embeddings import create_image_embedder
    from stickerbot.embeddings.image import embed_sticker_with_expression, encode_with_expressions
    from stickerbot.services import open_library
    from stickerbot.stickerclip.paths import expression_head_path
    from stickerbot.stickers.images import load_image

    torch.set_num_threads(1)
    t0 = time.perf_counter()
    encoder = create_image_embedder(
        settings.image_embedder or "stickerclip-lite",
        path=settings.image_embedder_path,
        data_dir=settings.data_dir,
    )
    load_s = time.perf_counter() - t0
    services = open_library(settings, progress=False)
    reader = services.search.picture_reader()
    records = services.library.records[:n]
    pictures = []
    for r in records:
        data = services.library.path_of(r).read_bytes()
        pictures.append(load_image(data))
    drawings = [load_image(p.read_bytes()) for p in sorted((EVAL_DIR / "drawn_stickers_dev").glob("*.png"))]
    encode_with_expressions(encoder, [pictures[0].first])  # warm-up
    wanted = reader.needs_expression if reader is not None else None

    def import_cost(picture) -> tuple[float, bool]:
        """Milliseconds, and whether the picture is unlike every sticker (its reading needs the
        head: the vector's scores, outside the timing)."""
        t = time.perf_counter()
        vector, expression = embed_sticker_with_expression(encoder, picture, wanted)
        if reader is not None:
            reader.read(vector, expression)
        ms = 1000 * (time.perf_counter() - t)
        return ms, reader is not None and reader.needs_expression(vector)

    encode_ms, import_ms = [], []
    for picture in pictures:
        t = time.perf_counter()
        encode_with_expressions(encoder, [picture.first])
        encode_ms.append(1000 * (time.perf_counter() - t))
        import_ms.append(import_cost(picture)[0])
    drawn = [import_cost(picture) for picture in drawings]
    drawn_ms = [ms for ms, _ in drawn]
    path = getattr(encoder, "path", None)
    files = [path] if path and path.is_file() else []
    if files and getattr(encoder, "expression_labels", None):
        files.append(expression_head_path(path))
    result = {
        "encoder": str(path or encoder.name),
        "expression_head": len(files) == 2,
        "size_mb": round(sum(f.stat().st_size for f in files) / 2**20, 2) if files else None,
        "load_s": round(load_s, 3),
        "pictures": len(pictures),
        "threads": 1,
        "encode_ms_p50": round(statistics.median(encode_ms), 2),
        "encode_ms_p95": round(p95(encode_ms), 2),
        "import_adds_ms_p50": round(statistics.median(import_ms), 2),
        "import_adds_ms_p95": round(p95(import_ms), 2),
        "drawings": len(drawings),
        "drawings_read_by_head": sum(headed for _, headed in drawn),
        "import_drawing_ms_p50": round(statistics.median(drawn_ms), 2) if drawn_ms else None,
        "import_drawing_ms_p95": round(p95(drawn_ms), 2) if drawn_ms else None,
    }
    if json_out:
        print(json.dumps(result, indent=1))
    else:
        print(
            f"{result['encoder']}{' and its expression head' if result['expression_head'] else ''}: "
            f"{result['size_mb']} MB, loads in {result['load_s']} s; one core, one picture: "
            f"{result['encode_ms_p50']} ms p50 / {result['encode_ms_p95']} ms p95 over {len(pictures)} library "
            f"pictures; an import adds {result['import_adds_ms_p50']} ms p50 / {result['import_adds_ms_p95']} ms "
            "p95 per sticker (embedding every sampled frame, then reading the picture)"
        )
        if drawn_ms:
            print(
                f"  on the {len(drawings)} dev drawings ({result['drawings_read_by_head']} unlike every sticker, "
                f"so read by the head too): an import adds {result['import_drawing_ms_p50']} ms p50 / "
                f"{result['import_drawing_ms_p95']} ms p95 per sticker"
            )
    return result
