"""`python -m stickerbot bench search`: index build throughput and query latency.

Two sizes: the bundled library (real annotation texts, embedded for real) and a
synthetic index of N records (default 100,000) made of real sticker vectors
plus Gaussian noise, queried with real query embeddings. The noise (sigma 0.03
per dimension) makes synthetic records about as close to their nearest
neighbour (mean cosine 0.77 among 20k) as real annotations are to theirs (0.85)
or less so: the synthetic index is no easier to search than a real one. Beside Chroma's HNSW answer
the same run times an exact numpy top-k over the same vectors and reports the
latency ratio and Chroma's recall@10 against the exact answer, and times the index's own query,
which the app goes through (answered from its exact in-memory copy, ``index/exact.py``).
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import numpy as np

from stickerbot.config import EVAL_DIR, Settings
from stickerbot.evaluation.metrics import overlap_at_k
from stickerbot.evaluation.retrieval import load_queries
from stickerbot.index.store import StickerIndex
from stickerbot.services import open_index
from stickerbot.stickers.library import Library

K = 10


def percentiles(samples_s: list[float]) -> dict[str, float]:
    ms = np.array(samples_s) * 1000.0
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p95_ms": round(float(np.percentile(ms, 95)), 3),
    }


def exact_top_k(matrix: np.ndarray, query: np.ndarray, k: int) -> np.ndarray:
    scores = matrix @ query
    top = np.argpartition(-scores, k)[:k]
    return top[np.argsort(-scores[top])]


def time_queries(index: StickerIndex, ids: list[str], matrix: np.ndarray, queries: np.ndarray) -> dict:
    chroma_times, exact_times, copy_times, found, exact = [], [], [], [], []
    index.query_chroma(queries[:1], K)  # warm-up: loads the HNSW segment
    index.query_vectors(queries[:1], K)  # warm-up: reads the exact copy
    for q in queries:
        t0 = time.perf_counter()
        hits = index.query_chroma(q[None, :], K)[0]
        chroma_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        top = exact_top_k(matrix, q, K)
        exact_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        index.query_vectors(q[None, :], K)  # what the app's queries go through
        copy_times.append(time.perf_counter() - t0)
        found.append([h.id for h in hits])
        exact.append([ids[i] for i in top])
    chroma, exact_stats = percentiles(chroma_times), percentiles(exact_times)
    return {
        "chroma": chroma,
        "exact_numpy": exact_stats,
        "index_query": percentiles(copy_times),
        "latency_ratio_p50": round(chroma["p50_ms"] / max(exact_stats["p50_ms"], 1e-6), 2),
        "recall@10_vs_exact": round(overlap_at_k(found, exact, K), 4),
    }


def synthetic_vectors(base: np.ndarray, n: int, rng: np.random.Generator, noise: float = 0.03) -> np.ndarray:
    """n unit vectors scattered around real sticker vectors."""
    picks = base[rng.integers(0, len(base), size=n)]
    vectors = picks + rng.normal(0.0, noise, size=picks.shape).astype(np.float32)
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def run_search_benchmark(
    settings: Settings, *, records: int = 100_000, queries: int = 200, json_out: bool = False
) -> dict:
    rng = np.random.default_rng(0)
    library = Library.load(settings.bundled_pack_dir)
    bundled = library.records
    probe = open_index(settings)  # loads the embedder once; the bench indexes live in temp dirs
    embedder = probe.embedder
    query_texts = [q.text for q in load_queries(EVAL_DIR / "heldout_queries.jsonl")]
    query_texts = (query_texts * (queries // max(1, len(query_texts)) + 1))[:queries]
    query_vectors = embedder.encode_queries(query_texts)
    report: dict = {"embedder": embedder.name, "dim": embedder.dim, "queries": len(query_texts)}

    with tempfile.TemporaryDirectory(prefix="stickerbot-bench-") as tmp:
        # 1. The bundled library, embedded for real.
        index = StickerIndex(Path(tmp) / "bundled", embedder, ef_search=settings.hnsw_ef_search)
        texts = [(r.id, r.index_text(embedder.languages)) for r in bundled]
        t0 = time.perf_counter()
        index.sync(texts)
        build_s = time.perf_counter() - t0
        vectors = index.get_vectors([i for i, _ in texts])
        ids = [i for i, _ in texts]
        matrix = np.stack([vectors[i] for i in ids])
        t0 = time.perf_counter()
        for text in query_texts:
            embedder.encode_queries([text])
        embed_s = (time.perf_counter() - t0) / len(query_texts)
        report["bundled"] = {
            "records": len(ids),
            "build_stickers_per_s": round(len(ids) / build_s, 1),
            "build_s": round(build_s, 2),
            "query_embedding_ms": round(embed_s * 1000, 2),
            **time_queries(index, ids, matrix, query_vectors),
        }
        if not json_out:
            _print_size("bundled", report["bundled"])

        # 2. A synthetic index of `records` vectors (no embedding: vectors are precomputed).
        big = StickerIndex(Path(tmp) / "synthetic", embedder, ef_search=settings.hnsw_ef_search)
        synth = synthetic_vectors(matrix, records, rng)
        synth_ids = [f"synthetic:{i}" for i in range(records)]
        t0 = time.perf_counter()
        batch = 5000
        for start in range(0, records, batch):
            big.add_vectors(
                synth_ids[start : start + batch],
                synth[start : start + batch],
                [""] * len(synth[start : start + batch]),
            )
        build_big_s = time.perf_counter() - t0
        report["synthetic"] = {
            "records": records,
            "build_records_per_s": round(records / build_big_s, 1),
            "build_s": round(build_big_s, 2),
            **time_queries(big, synth_ids, synth, query_vectors),
        }
        if not json_out:
            _print_size("synthetic", report["synthetic"])
    if json_out:
        print(json.dumps(report, indent=2))
    return report


def _print_size(name: str, r: dict) -> None:
    build = r.get("build_stickers_per_s") or r.get("build_records_per_s")
    what = (
        "stickers/s (embedding included)"
        if "build_stickers_per_s" in r
        else "records/s (precomputed vectors)"
    )
    print(f"[{name}] {r['records']:,} records: build {build:,.1f} {what} in {r['build_s']:.1f} s")
    if "query_embedding_ms" in r:
        print(f"  query embedding: {r['query_embedding_ms']:.2f} ms")
    print(
        f"  chroma top-{K}: p50 {r['chroma']['p50_ms']:.2f} ms, p95 {r['chroma']['p95_ms']:.2f} ms | "
        f"exact numpy: p50 {r['exact_numpy']['p50_ms']:.2f} ms, p95 {r['exact_numpy']['p95_ms']:.2f} ms | "
        f"ratio {r['latency_ratio_p50']}x | chroma recall@10 vs exact {r['recall@10_vs_exact']:.4f}"
    )
    print(
        f"  the index's query (its exact copy): p50 {r['index_query']['p50_ms']:.2f} ms, "
        f"p95 {r['index_query']['p95_ms']:.2f} ms"
    )
