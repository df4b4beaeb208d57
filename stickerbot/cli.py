"""Stickerbot's command line.

    python -m stickerbot index build            # embed the library into Chroma (incremental)
    python -m stickerbot index status
    python -m stickerbot index rebuild          # drop and re-embed (after changing STICKERBOT_EMBEDDER)
    python -m stickerbot index export-vectors   # ship the bundled pack's vectors (after rebuilding the pack)
    python -m stickerbot import PATH [--pack NAME] [--annotations FILE] [--json]
    python -m stickerbot search "so tired" [-k 10] [--lang en|zh] [--json]
    python -m stickerbot search --image sticker.png ["text too"] [--json]
    python -m stickerbot eval retrieval [--queries FILE] [--json]
    python -m stickerbot eval chat [--messages FILE] [--generate] [--json]
    python -m stickerbot eval replies [--messages FILE] [--generate] [--out FILE] [--score FILE] [--json]
    python -m stickerbot eval selection [--json]   # recall@1 of 10 of the response selector
    python -m stickerbot reply "MESSAGE" [--image PATH] [--history FILE] [--frequency F] [--json]
    python -m stickerbot memory add FILE [--name NAME]   # StickerConv dialogues into the memory
    python -m stickerbot memory status
    python -m stickerbot backbones                 # list the chat backbones
    python -m stickerbot bench search [--records 100000]
    python -m stickerbot bench import [--files 1000]
    python -m stickerbot bench chat [--messages 40]
    python -m stickerbot bench app [--messages 40] [--clients 10] [--client-turns 5]
    python -m stickerbot bench agents [--sessions 32] [--delay 0.1]
    python -m stickerbot train chat [--steps 130] [--out DIR]
    python -m stickerbot train ret [--steps 50] [--out PATH]
    python -m stickerbot eval tools [--limit 150]
    python -m stickerbot eval retrieval --method ret

Settings come from the environment (STICKERBOT_DATA_DIR, STICKERBOT_EMBEDDER, ...;
see the README).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import time
from dataclasses import replace
from pathlib import Path

log = logging.getLogger("stickerbot")


def _settings():
    from stickerbot.config import Settings

    return Settings.from_env()


def _print_json(data) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def cmd_index(args) -> int:
    from stickerbot.services import (
        export_bundled_image_vectors,
        export_bundled_vectors,
        open_image_index,
        open_index,
        sync_image_index,
        sync_index,
    )
    from stickerbot.stickers.library import Library

    settings = _settings()
    if args.action == "rebuild" and settings.index_dir.exists():
        shutil.rmtree(settings.index_dir)
        print(f"removed the index at {settings.index_dir}")
    library = Library.load(settings.bundled_pack_dir, settings.packs_dir)
    index = open_index(settings)
    image_index = open_image_index(settings)
    if args.action in ("build", "rebuild", "export-vectors"):
        written = sync_index(index, library, progress=True)
        print(f"wrote {written} new or changed stickers; the index holds {len(index)}")
        if image_index is not None:
            written = sync_image_index(image_index, library, limits=settings.limits, progress=True)
            print(f"embedded {written} sticker images; the image index holds {len(image_index)}")
    status = {
        "index": str(settings.index_dir),
        "embedder": index.embedder.name,
        "dim": index.embedder.dim,
        "indexed": len(index),
        "library": len(library),
        "packs": {p: sum(r.pack == p for r in library.records) for p in library.packs},
    }
    if image_index is not None:
        status["image_embedder"] = image_index.embedder.name
        status["image_dim"] = image_index.embedder.dim
        status["image_indexed"] = len(image_index)
    if args.action == "export-vectors":
        print(f"wrote the bundled pack's vectors to {export_bundled_vectors(index, library)}")
        if image_index is not None:
            print(
                f"wrote the bundled pack's image vectors to {export_bundled_image_vectors(image_index, library)}"
            )
    if args.action == "status":
        _print_json(status)
    return 0


def cmd_import(args) -> int:
    from stickerbot.services import open_library
    from stickerbot.stickers.ocr import OcrPool
    from stickerbot.stickers.sources import SourceError

    settings = _settings()
    if args.no_ocr:
        settings = replace(settings, ocr=False)
    services = open_library(settings, progress=not args.json)
    try:
        report = services.import_pack(
            Path(args.path),
            pack=args.pack,
            sidecar_path=Path(args.annotations) if args.annotations else None,
            keep_duplicates=args.keep_duplicates,
            ocr=OcrPool(args.workers) if settings.ocr else None,
            workers=args.workers,
            progress=not args.json,
        )
    except SourceError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.json:
        _print_json(report.to_dict())
        return 0
    for note in report.notes:
        print(f"note: {note}")
    for outcome in report.outcomes:
        if outcome.status in ("skipped", "duplicate"):
            print(f"{outcome.status:9s} {outcome.file}: {outcome.reason}")
    print(report.summary())
    return 0


def cmd_search(args) -> int:
    from stickerbot.services import open_library
    from stickerbot.stickers.images import BadImageError, load_image

    if not args.query and not args.image:
        print("error: give a text query, --image PATH, or both", file=sys.stderr)
        return 2
    settings = _settings()
    image = None
    if args.image:
        try:
            image = load_image(Path(args.image).read_bytes(), settings.limits)
        except (OSError, BadImageError) as err:
            print(f"error: {args.image}: {err}", file=sys.stderr)
            return 2
    services = open_library(settings, progress=not args.json)
    hits = services.search.search(args.query, image=image, k=args.k, lang=args.lang)
    if args.json:
        _print_json([h.to_dict() for h in hits])
        return 0
    for rank, hit in enumerate(hits, 1):
        r = hit.record
        label = f"{r.emoji or ' '} {r.name}"
        print(f"{rank:2d}. {hit.score:6.3f}  {label:50s} {r.emotion:9s} {r.id}")
        if hit.reasons and image is not None:
            print(f"            {'; '.join(hit.reasons)}")
    return 0


def cmd_eval(args) -> int:
    from stickerbot.config import EVAL_DIR
    from stickerbot.evaluation.retrieval import RetrievalEvaluator, load_queries
    from stickerbot.services import open_library

    settings = _settings()
    if args.task == "chat":
        return cmd_eval_chat(args, settings)
    if args.task == "tools":
        return cmd_eval_tools(args, settings)
    if args.task == "replies":
        return cmd_eval_replies(args, settings)
    if args.task == "selection":
        return cmd_eval_selection(args, settings)
    if args.task == "images":
        return cmd_eval_images(args, settings)
    queries_path = Path(args.queries) if args.queries else EVAL_DIR / "heldout_queries.jsonl"
    services = open_library(settings, progress=not args.json)
    evaluator = RetrievalEvaluator(load_queries(queries_path))
    if args.method == "ret":
        return cmd_eval_retrieval_ret(args, settings, services, evaluator, queries_path)
    results = evaluator(lambda q, lang, k: [h.record.id for h in services.search.search(q, k=k, lang=lang)])
    if args.json:
        _print_json(
            {
                "queries": str(queries_path),
                "embedder": settings.embedder,
                "results": [r.to_dict() for r in results],
            }
        )
        return 0
    print(f"text->sticker retrieval on {queries_path.name} (embedder {settings.embedder} + BM25)")
    print(f"{'lang':5s} {'n':>4s} {'R@1':>6s} {'R@5':>6s} {'R@10':>6s} {'MR':>6s}")
    for r in results:
        print(
            f"{r.lang:5s} {r.n:4d} {r.recalls['R@1'] * 100:6.1f} {r.recalls['R@5'] * 100:6.1f} "
            f"{r.recalls['R@10'] * 100:6.1f} {r.mr:6.1f}"
        )
    return 0


def cmd_eval_images(args, settings) -> int:
    from stickerbot.embeddings.base import EmbedderLoadError
    from stickerbot.stickerclip.evaluate import evaluate_images, format_report, import_search

    if args.imports:
        report = import_search(settings)
        if args.json:
            _print_json(report)
        else:
            print(
                f"text->sticker search on the {report['pictures']} drawn stickers imported as IMG_0001.png...: "
                f"share of the pack's top {report['k']} with the query's emotion"
            )
            for label in ("without encoder", "with encoder"):
                print(f"  {label:16s} mean {report[label]['mean']:5.1f}%  {report[label]['precision']}")
            print(f"  {'random order':16s} mean {report['random']:5.1f}%")
        return 0
    try:
        drawn = {"drawn_dir": Path(args.drawn), "styles": False} if args.drawn else {}
        report = evaluate_images(settings, baseline=not args.no_baseline, progress=not args.json, **drawn)
    except (FileNotFoundError, EmbedderLoadError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    if args.json:
        _print_json(report)
    else:
        print(format_report(report), end="")
    return 0


def _open_ret(settings, services):
    from stickerbot.retrieval_tokens.features import sticker_vectors
    from stickerbot.services import open_backbone, open_ret_model

    model = open_ret_model(settings, open_backbone(settings), sticker_embedder=sticker_vectors(services).name)
    if model is None:
        raise SystemExit(
            f"no retrieval-token checkpoint for backbone {settings.backbone!r}: run `python -m stickerbot train ret`"
        )
    return model


def _print_results(title: str, results, json_out: bool, extra: dict | None = None) -> None:
    if json_out:
        _print_json({**(extra or {}), "results": [r.to_dict() for r in results]})
        return
    print(title)
    print(f"{'lang':5s} {'n':>4s} {'R@1':>6s} {'R@5':>6s} {'R@10':>6s} {'MR':>6s}")
    for r in results:
        print(
            f"{r.lang:5s} {r.n:4d} {r.recalls['R@1'] * 100:6.1f} {r.recalls['R@5'] * 100:6.1f} "
            f"{r.recalls['R@10'] * 100:6.1f} {r.mr:6.1f}"
        )


def cmd_eval_retrieval_ret(args, settings, services, evaluator, queries_path) -> int:
    """The <ret> embedding's text->sticker retrieval beside plain search, on the same queries."""
    import numpy as np

    from stickerbot.retrieval_tokens.features import sticker_vectors
    from stickerbot.retrieval_tokens.inference import rank_stickers, ret_query

    model = _open_ret(settings, services)
    ids = [r.id for r in services.library.records]
    vectors = sticker_vectors(services).for_ids(ids)
    vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    request = {"en": "send me a sticker for {}", "zh": "给我发个{}的表情包"}

    def rank(query: str, lang: str, k: int) -> list[str]:
        q = ret_query(model, request[lang].format(query))
        return rank_stickers(q, ids, vectors, k)

    ret_results = evaluator(rank)
    plain = evaluator(lambda q, lang, k: [h.record.id for h in services.search.search(q, k=k, lang=lang)])
    if args.json:
        _print_json(
            {
                "queries": str(queries_path),
                "ret": [r.to_dict() for r in ret_results],
                "plain_search": [r.to_dict() for r in plain],
            }
        )
        return 0
    _print_results(f"<ret> embedding ({settings.backbone}) on {queries_path.name}", ret_results, False)
    _print_results(f"plain search (embedder {settings.embedder} + BM25), same queries", plain, False)
    return 0


def cmd_eval_tools(args, settings) -> int:
    from stickerbot.evaluation.tools import ToolsEvaluator
    from stickerbot.retrieval_tokens.build import training_examples
    from stickerbot.retrieval_tokens.features import image_features
    from stickerbot.retrieval_tokens.inference import generate
    from stickerbot.services import open_library

    services = open_library(settings, progress=not args.json)
    model = _open_ret(settings, services)
    examples = training_examples(services, settings, sticker_requests=3000, seed=0).heldout
    features = image_features(services)
    evaluator = ToolsEvaluator(examples, limit=args.limit)

    def sends(example, pret: bool) -> bool:
        feats = features.for_ids([example.image]) if example.image else None
        return generate(model, example.prompt, image_features=feats, pret=pret, max_new_tokens=24).sent_ret

    results = evaluator(sends)
    if args.json:
        _print_json({"backbone": settings.backbone, "results": [r.to_dict() for r in results]})
        return 0
    print(f"when to send <ret> on held-out examples ({settings.backbone})")
    print(f"{'prefix':8s} {'ordinary n':>10s} {'without <ret>':>14s} {'requests n':>11s} {'with <ret>':>11s}")
    for r in results:
        d = r.to_dict()
        print(
            f"{'<pret>' if r.pret else 'none':8s} {d['ordinary_n']:10d} {d['ordinary_without_ret']:13.1f}% "
            f"{d['requests_n']:11d} {d['requests_with_ret']:10.1f}%"
        )
    return 0


def cmd_eval_chat(args, settings) -> int:
    from stickerbot.config import EVAL_DIR
    from stickerbot.evaluation.chat import ChatEvaluator, load_chat_messages
    from stickerbot.services import open_chat, open_library

    path = Path(args.messages) if args.messages else EVAL_DIR / "chat_heldout.jsonl"
    services = open_library(settings, progress=not args.json)
    chat = open_chat(settings, services, progress=not args.json, use_backbone=args.generate)
    report = ChatEvaluator(load_chat_messages(path)).run(chat, generate=args.generate, progress=not args.json)
    if args.json:
        _print_json({"messages": str(path), **report.to_dict()})
        return 0
    print(f"chat evaluation on {path.name} ({'with' if args.generate else 'without'} generation)")
    print(report.table())
    return 0


def cmd_eval_selection(args, settings) -> int:
    from stickerbot.evaluation.selection import selection_report
    from stickerbot.services import open_memory, open_selection_embedder

    memory = open_memory(settings, progress=not args.json)
    report = selection_report(memory, extra=open_selection_embedder(settings))
    if args.json:
        _print_json(report)
        return 0
    print(
        f"response selection: recall@1 of the true reply among 10, on {report['heldout_pairs']} exchanges "
        f"of held-out sessions {report['heldout_by_language']} (trained on {report['train_pairs']})"
    )
    for method, by_lang in report["recall_at_1_of_10"].items():
        cells = "  ".join(f"{lang} {100 * r:5.1f}" for lang, r in by_lang.items())
        print(f"  {method:34s} {cells}")
    return 0


def cmd_eval_replies(args, settings) -> int:
    from stickerbot.config import EVAL_DIR
    from stickerbot.evaluation.replies import (
        ReplyReport,
        audit_template,
        collect,
        load_audit,
        load_reply_items,
        read_records,
        score,
        write_records,
    )
    from stickerbot.services import open_chat, open_library

    path = Path(args.messages) if args.messages else EVAL_DIR / "replies_heldout.jsonl"
    items = load_reply_items(path)
    services = open_library(settings, progress=not args.json)
    chat = open_chat(settings, services, progress=not args.json, use_backbone=args.generate)
    if args.score:
        records = read_records(Path(args.score))
    else:
        records = collect(chat, items, base_dir=path.parent, progress=not args.json)
        if args.out:
            write_records(Path(args.out), records)
    if args.audit_template:
        lines = audit_template(items, records)
        Path(args.audit_template).write_text(
            "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8"
        )
        print(f"wrote {len(lines)} replies to judge to {args.audit_template}")
    audit_path = Path(args.audit) if args.audit else EVAL_DIR / "replies_audit.jsonl"
    report = ReplyReport(
        score(
            items,
            records,
            library=services.library,
            checker=chat.composer.checker,
            selector=chat.composer.selector,
            audit=load_audit(audit_path),
        )
    )
    if args.json:
        _print_json({"messages": str(path), **report.to_dict()})
        return 0
    what = (
        f"replies in {args.score}"
        if args.score
        else ("with the model" if args.generate else "without the model")
    )
    print(f"reply evaluation on {path.name} ({what})")
    print(report.table())
    problems = report.problems()
    if problems:
        print(f"\n{len(problems)} replies with a problem:")
        for row in problems:
            print(f"  {row['id']} [{row['intent']}, read {row['read']}] {row['message'][:60]!r}")
            print(f"      -> {row['reply'][:100]!r}: {'; '.join(row['problems'])}")
    return 0


def cmd_reply(args) -> int:
    from stickerbot.chat.types import parse_history
    from stickerbot.services import open_chat, open_library
    from stickerbot.stickers.images import BadImageError

    settings = _settings()
    if args.backbone:
        settings = replace(settings, backbone=args.backbone)
    history = []
    if args.history:
        history = parse_history(json.loads(Path(args.history).read_text(encoding="utf-8")))
    image = None
    if args.image:
        image = Path(args.image).read_bytes()
    services = open_library(settings, progress=not args.json)
    chat = open_chat(settings, services, progress=not args.json)
    options = replace(
        chat.options,
        **{k: v for k, v in (("frequency", args.frequency), ("language", args.lang)) if v is not None},
    )

    def show(piece: str) -> None:
        print(piece, end="", flush=True)

    try:
        reply = chat.reply(
            history, args.message, image, options=options, on_token=None if args.json else show
        )
    except BadImageError as err:
        print(f"error: {args.image}: {err}", file=sys.stderr)
        return 2
    if args.json:
        _print_json(reply.to_dict())
        return 0
    print()
    if reply.text:
        print(f"\n{reply.text}")
    if reply.sticker is not None:
        r = reply.sticker.record
        print(f"[sticker] {r.emoji or ''} {r.name} ({r.id}, {reply.sticker.path})")
    print(f"[you seem: {reply.user_emotion}; sticker: {reply.why_sticker}; source: {reply.source}]")
    t = reply.timings
    print(
        f"[first token {t['first_token']:.2f} s, turn {t['total']:.2f} s, generation {t['generate']:.2f} s]"
    )
    return 0


def cmd_memory(args) -> int:
    from stickerbot.memory.store import add_dialogue_file
    from stickerbot.services import open_memory

    settings = _settings()
    if args.action == "add":
        if not args.file:
            print("error: memory add needs a FILE (StickerConv JSONL)", file=sys.stderr)
            return 2
        name = args.name or Path(args.file).stem
        if (settings.bundled_dialogues_dir / f"{name}.jsonl").exists():
            print(f"error: {name!r} is the name of a bundled dialogue file; pass --name", file=sys.stderr)
            return 2
        stored, n = add_dialogue_file(Path(args.file), settings.dialogues_dir, name=name)
        print(f"checked {n} exchanges; stored as {stored}")
    memory = open_memory(settings, progress=True)
    status = {
        "exchanges": len(memory),
        "indexed": len(memory.index),
        "embedder": memory.index.embedder.name,
        "by_language": _count(e.lang for e in memory.exchanges),
        "by_emotion": _count(e.emotion or "unlabelled" for e in memory.exchanges),
        "by_source": _count(e.source for e in memory.exchanges),
    }
    _print_json(status)
    return 0


def _count(values) -> dict[str, int]:
    from collections import Counter

    return dict(sorted(Counter(values).items()))


def cmd_backbones(args) -> int:
    from stickerbot.backbones.registry import get_spec, list_specs

    current, _ = get_spec(_settings().backbone)
    for spec in list_specs():
        mark = "*" if spec is current else " "
        print(f"{mark} {spec.display_name:28s} {spec.help}")
    return 0


def _bench_chat(args) -> None:
    from stickerbot.bench.chat import run_chat_benchmark

    run_chat_benchmark(_settings(), n=args.messages, json_out=args.json)


def _bench_search(args) -> None:
    from stickerbot.bench.search import run_search_benchmark

    run_search_benchmark(_settings(), records=args.records, queries=args.queries, json_out=args.json)


def _bench_import(args) -> None:
    from stickerbot.bench.importing import run_import_benchmark

    run_import_benchmark(_settings(), n=args.files, json_out=args.json)


def _bench_images(args) -> None:
    from stickerbot.bench.images import run_images_benchmark

    run_images_benchmark(_settings(), json_out=args.json)


def _bench_app(args) -> None:
    from stickerbot.bench.app import run_app_benchmark

    run_app_benchmark(
        _settings(),
        turns=args.messages,
        clients=args.clients,
        client_turns=args.client_turns,
        json_out=args.json,
    )


def _bench_agents(args) -> None:
    from stickerbot.errors import UserError

    raise UserError(
        f"the agents benchmark moved to agents/: run `python -m agents.bench --sessions {args.sessions} --delay {args.delay:g}`"
    )


BENCHMARKS = {
    "search": _bench_search,
    "import": _bench_import,
    "chat": _bench_chat,
    "app": _bench_app,
    "agents": _bench_agents,
    "images": _bench_images,
}


def cmd_bench(args) -> int:
    BENCHMARKS[args.target](args)
    return 0


def cmd_train_chat(args) -> int:
    from stickerbot.tuning.build import train_chat
    from stickerbot.tuning.train import ChatTuneConfig

    given = {
        "steps": args.steps,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "rank": args.rank,
        "seed": args.seed,
    }
    config = ChatTuneConfig(**{k: v for k, v in given.items() if v is not None})
    try:
        result = train_chat(
            _settings(), config=config, out=Path(args.out) if args.out else None, progress=not args.json
        )
    except KeyboardInterrupt:
        print("interrupted; the run is saved: run the same command to continue", file=sys.stderr)
        return 130
    summary = {
        "adapter": str(result.out),
        "steps": result.steps_done,
        "resumed_from": result.resumed_from,
        "last_loss": sum(result.losses[-10:]) / len(result.losses[-10:]) if result.losses else None,
        "heldout_loss": result.heldout_loss,
        "seconds": round(result.seconds, 1),
    }
    if args.json:
        _print_json(summary)
    else:
        print(
            f"trained the chat LoRA to step {result.steps_done} (resumed from {result.resumed_from}) in "
            f"{summary['seconds']:.0f} s; held-out loss {summary['heldout_loss']}: {result.out}"
        )
    return 0


def cmd_train_clip(args) -> int:
    from stickerbot.stickerclip.build import train_clip
    from stickerbot.stickerclip.train import DRAWING_AUGMENT, ClipTrainConfig

    given = {"steps": args.steps, "batch_size": args.batch_size, "lr": args.lr, "minutes": args.minutes}
    if args.drawn_faces:
        given.update(drawn_per_expression=args.drawn_faces, augment=DRAWING_AUGMENT)
    config = ClipTrainConfig(**{k: v for k, v in given.items() if v is not None}, seed=args.seed)
    try:
        result = train_clip(
            _settings(),
            config=config,
            out=Path(args.out) if args.out else None,
            base=args.base,
            progress=not args.json,
        )
    except KeyboardInterrupt:
        print("interrupted; the run is saved: run the same command to continue", file=sys.stderr)
        return 130
    except (FileNotFoundError, ValueError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    summary = {
        "encoder": str(result.path),
        "steps": result.steps,
        "resumed_from": result.resumed_from,
        "dev": result.dev,
        "seconds": round(result.seconds, 1),
    }
    if args.json:
        _print_json(summary)
    else:
        dev = ", ".join(f"{k} {v:.1f}" for k, v in result.dev.items())
        print(
            f"trained StickerCLIP-lite to step {result.steps} (resumed from {result.resumed_from}) in "
            f"{summary['seconds']:.0f} s; dev (new emoji, known styles): {dev}: {result.path}"
        )
    return 0


TRAINERS = {"chat": cmd_train_chat, "clip": cmd_train_clip}


def cmd_train(args) -> int:
    if args.what in TRAINERS:
        return TRAINERS[args.what](args)
    from stickerbot.retrieval_tokens.build import train_ret
    from stickerbot.retrieval_tokens.train import TrainConfig

    given = {"steps": args.steps, "batch_size": args.batch_size, "lr": args.lr, "seed": args.seed}
    config = TrainConfig(**{k: v for k, v in given.items() if v is not None})
    start = time.perf_counter()
    try:
        result = train_ret(
            _settings(),
            config=config,
            sticker_requests=args.requests,
            out=Path(args.out) if args.out else None,
            progress=not args.json,
        )
    except KeyboardInterrupt:
        print("interrupted; the checkpoint is saved: run the same command to continue", file=sys.stderr)
        return 130
    summary = {
        "checkpoint": str(result.checkpoint),
        "steps": result.steps_done,
        "resumed_from": result.resumed_from,
        "last_loss": {"lm": result.losses[-1][0], "contrastive": result.losses[-1][1]}
        if result.losses
        else None,
        "heads": result.heads,
        "seconds": round(time.perf_counter() - start, 1),
    }
    if args.json:
        _print_json(summary)
    else:
        print(
            f"trained <ret> to step {result.steps_done} (resumed from {result.resumed_from}) "
            f"in {summary['seconds']:.0f} s: {result.checkpoint}"
        )
        if result.heads:
            print(f"heads refitted on cached states: {result.heads}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m stickerbot", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("index", help="build or inspect the sticker index")
    p.add_argument("action", choices=["build", "status", "rebuild", "export-vectors"])
    p.set_defaults(func=cmd_index)

    p = sub.add_parser("import", help="import a sticker pack (folder or .zip)")
    p.add_argument("path", help="a folder or a .zip of PNG/JPG/GIF/WebP stickers")
    p.add_argument("--pack", help="pack name (default: the folder or zip name)")
    p.add_argument("--annotations", help="CSV or JSONL sidecar (default: annotations.csv/.jsonl in the pack)")
    p.add_argument("--keep-duplicates", action="store_true", help="import near-duplicates too")
    p.add_argument("--no-ocr", action="store_true", help="skip reading text in the images")
    p.add_argument(
        "--workers", type=int, default=min(4, os.cpu_count() or 1), help="parallel decode/OCR threads"
    )
    p.add_argument("--json", action="store_true", help="print the per-file report as JSON")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("search", help="find stickers by text, image, or both")
    p.add_argument("query", nargs="?", default=None)
    p.add_argument("--image", help="a sticker image to search by")
    p.add_argument("-k", type=int, default=10)
    p.add_argument("--lang", choices=["en", "zh"], help="query language (default: detected)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("eval", help="evaluate")
    p.add_argument("task", choices=["retrieval", "chat", "tools", "replies", "selection", "images"])
    p.add_argument(
        "--no-baseline", action="store_true", help="images: skip the perceptual hash + OCR baseline"
    )
    p.add_argument(
        "--imports", action="store_true", help="images: search on the drawn stickers imported without names"
    )
    p.add_argument(
        "--drawn",
        help="images: score only this set of drawn stickers (a folder with labels.jsonl), e.g. the dev "
        "set assets/eval/drawn_stickers_dev; default: the held-out styles and the drawn test set",
    )
    p.add_argument(
        "--method",
        choices=["search", "ret"],
        default="search",
        help="retrieval: plain search, or the <ret> embedding of the trained checkpoint (beside search)",
    )
    p.add_argument("--limit", type=int, default=150, help="tools: examples of each kind")
    p.add_argument(
        "--queries", help="retrieval: JSONL query set (default: assets/eval/heldout_queries.jsonl)"
    )
    p.add_argument(
        "--messages",
        help="chat, replies: JSONL message set (default: assets/eval/chat_heldout.jsonl, "
        "assets/eval/replies_heldout.jsonl)",
    )
    p.add_argument(
        "--generate", action="store_true", help="chat, replies: write each reply with the backbone too"
    )
    p.add_argument("--out", help="replies: also write the replies to this JSONL file")
    p.add_argument("--score", help="replies: score the replies of this JSONL file instead of answering")
    p.add_argument("--audit", help="replies: hand audit file (default: assets/eval/replies_audit.jsonl)")
    p.add_argument(
        "--audit-template",
        help="replies: write 50 replies per language, unjudged, to this file for a hand audit",
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("train", help="train the chat backbone's LoRA or its retrieval tokens")
    train = p.add_subparsers(dest="what", required=True)
    t = train.add_parser("chat", help="LoRA fine-tuning of the chat backbone on the dialogue memory")
    # None: the defaults of tuning.train.ChatTuneConfig (one place).
    t.add_argument("--steps", type=int, default=None, help="gradient steps (default 130)")
    t.add_argument("--batch-size", type=int, default=None, help="examples per step (default 8)")
    t.add_argument("--lr", type=float, default=None, help="AdamW peak learning rate (default 1e-3)")
    t.add_argument("--rank", type=int, default=None, help="LoRA rank (default 8)")
    t.add_argument("--seed", type=int, default=None)
    t.add_argument("--out", help="adapter folder (default: data/adapters/chat-<backbone>)")
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=cmd_train)
    t = train.add_parser("clip", help="StickerCLIP-lite: the offline image encoder, from emoji art")
    # None: the defaults of stickerclip.train.ClipTrainConfig (one place).
    t.add_argument(
        "--base",
        help="fine-tune this CLIP's image tower instead (Hub id or folder, e.g. openai/clip-vit-base-patch32)",
    )
    t.add_argument("--steps", type=int, default=None, help="gradient steps (default 2800)")
    t.add_argument("--batch-size", type=int, default=None, help="pictures per step (default 128)")
    t.add_argument("--lr", type=float, default=None, help="AdamW peak learning rate (default 2e-3)")
    t.add_argument(
        "--minutes", type=float, default=None, help="time budget of the training steps (default 42)"
    )
    t.add_argument(
        "--drawn-faces",
        type=int,
        default=0,
        help="also train on this many cartoon faces drawn by code per expression, with line-art and "
        "any-hue augmentation (off for the shipped encoder)",
    )
    t.add_argument("--seed", type=int, default=0)
    t.add_argument(
        "--out",
        help="weights file (default: data/stickerclip/stickerclip-lite.safetensors; with --base a folder, "
        "data/stickerclip/stickerclip-hub)",
    )
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=cmd_train)
    t = train.add_parser("ret", help="StickerLLM retrieval tokens on the configured backbone")
    # None: the defaults of retrieval_tokens.train.TrainConfig (one place).
    t.add_argument("--steps", type=int, default=None, help="gradient steps (default 50)")
    t.add_argument("--batch-size", type=int, default=None, help="examples per step (default 8)")
    t.add_argument("--lr", type=float, default=None, help="AdamW learning rate (default 2e-3)")
    t.add_argument(
        "--requests", type=int, default=3000, help="sticker-request examples drawn from the library"
    )
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--out", help="checkpoint path (default: data/ret/ret-<backbone>.safetensors)")
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=cmd_train)

    p = sub.add_parser("reply", help="one chat turn on the configured backbone")
    p.add_argument("message", nargs="?", default="", help="the user's message (may be empty with --image)")
    p.add_argument("--image", help="a sticker the user sends")
    p.add_argument("--history", help='JSON list of earlier turns: [{"role": "user", "content": "..."}, ...]')
    p.add_argument("--frequency", choices=["off", "occasional", "always"], help="sticker frequency")
    p.add_argument("--lang", choices=["auto", "en", "zh"], help="reply language (default: follow the user)")
    p.add_argument("--backbone", help="overrides STICKERBOT_BACKBONE")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_reply)

    p = sub.add_parser("memory", help="the empathetic dialogue memory")
    p.add_argument("action", choices=["add", "status"])
    p.add_argument("file", nargs="?", help="add: a StickerConv JSONL file (sessions or per-turn records)")
    p.add_argument("--name", help="add: the name to store it under (default: the file name)")
    p.set_defaults(func=cmd_memory)

    p = sub.add_parser("backbones", help="list the chat backbones (* marks STICKERBOT_BACKBONE)")
    p.set_defaults(func=cmd_backbones)

    p = sub.add_parser("bench", help="benchmarks that print numbers")
    p.add_argument("target", choices=sorted(BENCHMARKS))
    p.add_argument("--messages", type=int, default=40, help="chat turns timed (chat, app)")
    p.add_argument("--clients", type=int, default=10, help="concurrent gradio_client sessions (app)")
    p.add_argument("--client-turns", type=int, default=5, help="turns per concurrent session (app)")
    p.add_argument("--records", type=int, default=100_000, help="synthetic index size")
    p.add_argument("--queries", type=int, default=200, help="queries timed per size (search)")
    p.add_argument("--files", type=int, default=1000, help="synthetic stickers to import (import)")
    p.add_argument("--sessions", type=int, default=32, help="dialogue sessions per worker count (agents)")
    p.add_argument("--delay", type=float, default=0.1, help="fake server seconds per model call (agents)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    from stickerbot.errors import UserError

    try:
        return args.func(args)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
