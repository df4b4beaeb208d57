"""`eval TASK`: the evaluations, one subcommand each with only its own flags.

    python -m stickerbot eval retrieval [--queries FILE] [--method search|ret] [--json]
    python -m stickerbot eval chat [--messages FILE] [--generate] [--json]
    python -m stickerbot eval tools [--limit 150] [--json]
    python -m stickerbot eval replies [--messages FILE] [--generate] [--out FILE] [--score FILE]
                                      [--audit FILE] [--audit-template FILE] [--json]
    python -m stickerbot eval selection [--json]
    python -m stickerbot eval images [--no-baseline] [--imports] [--drawn DIR] [--json]
    python -m stickerbot eval apart FILE [FILE ...] [--threshold 0.4]

The metrics and evaluators live in stickerbot/evaluation (and stickerbot/stickerclip/evaluate.py
for images); this module opens what they need and prints their reports.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from stickerbot.cli.common import input_file, names, print_json, settings


def register(sub) -> None:
    p = sub.add_parser(
        "eval",
        help="evaluate: retrieval, chat, tools, replies, selection, images, apart",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    tasks = p.add_subparsers(dest="task", required=True, metavar="TASK")

    t = tasks.add_parser("retrieval", help="text->sticker retrieval: R@1/5/10 and MR on held-out queries")
    t.add_argument("--queries", help="JSONL query set (default: assets/eval/heldout_queries.jsonl)")
    t.add_argument(
        "--method",
        choices=["search", "ret"],
        default="search",
        help="plain search, or the <ret> embedding of the trained checkpoint (beside search)",
    )
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=run_retrieval)

    t = tasks.add_parser("chat", help="perception, sticker decision and sticker fit of the chat engine")
    t.add_argument("--messages", help="JSONL message set (default: assets/eval/chat_heldout.jsonl)")
    t.add_argument("--generate", action="store_true", help="write each reply with the backbone too")
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=run_chat)

    t = tasks.add_parser("tools", help="when to send <ret>, with and without <pret>")
    t.add_argument("--limit", type=int, default=150, help="examples of each kind")
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=run_tools)

    t = tasks.add_parser(
        "replies", help="the bot's replies: tone, meta-talk, language, off-topic, fit, intent"
    )
    t.add_argument("--messages", help="JSONL message set (default: assets/eval/replies_heldout.jsonl)")
    t.add_argument("--generate", action="store_true", help="write each reply with the backbone too")
    t.add_argument("--out", help="also write the replies to this JSONL file")
    t.add_argument("--score", help="score the replies of this JSONL file instead of answering")
    t.add_argument("--audit", help="hand audit file (default: assets/eval/replies_audit.jsonl)")
    t.add_argument(
        "--audit-template", help="write 50 replies per language, unjudged, to this file for a hand audit"
    )
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=run_replies)

    t = tasks.add_parser("selection", help="recall@1 of 10 of the response selector on held-out sessions")
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=run_selection)

    t = tasks.add_parser("images", help="the image encoder on held-out art styles and drawn stickers")
    t.add_argument("--no-baseline", action="store_true", help="skip the perceptual hash + OCR baseline")
    t.add_argument(
        "--imports", action="store_true", help="search on the drawn stickers imported without names"
    )
    t.add_argument(
        "--drawn",
        help="score only this set of drawn stickers (a folder with labels.jsonl), e.g. the dev "
        "set assets/eval/drawn_stickers_dev; default: the held-out styles and the drawn test set",
    )
    t.add_argument(
        "--styles",
        type=names,
        help="score these fetched art styles in place of the held-out ones, comma-separated: a dev "
        "stand-in for them, from styles the encoder never trained on (e.g. openmoji, which no encoder "
        "trains on; emojione-monotone,streamline for the shipped one), with the dev drawings; the test "
        "pictures are not read",
    )
    t.add_argument(
        "--read",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="read the pictures with this ReadWeights field changed (repeatable), e.g. "
        "image_by_margin=true or k=5: how a candidate reader is judged on dev",
    )
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=run_images)

    t = tasks.add_parser(
        "apart", help="near copies of evaluation messages in training files (ids only, never the text)"
    )
    t.add_argument("files", nargs="+", help="JSONL training files to check")
    t.add_argument(
        "--threshold", type=float, default=None, help="character-bigram Jaccard (default 0.4: paraphrases)"
    )
    t.set_defaults(func=run_apart)


def run_retrieval(args) -> int:
    from stickerbot.config import EVAL_DIR
    from stickerbot.evaluation.retrieval import RetrievalEvaluator, format_table, load_queries, search_ranker
    from stickerbot.services import open_library

    config = settings()
    queries_path = input_file(args.queries) or EVAL_DIR / "heldout_queries.jsonl"
    services = open_library(config, progress=not args.json)
    evaluator = RetrievalEvaluator(load_queries(queries_path))
    plain_title = f"plain search (embedder {config.embedder} + BM25), same queries"
    if args.method == "ret":
        from stickerbot.evaluation.retrieval import ret_ranker
        from stickerbot.retrieval_tokens.features import sticker_vectors
        from stickerbot.services import require_ret_model

        model = require_ret_model(config, services)
        ids = [r.id for r in services.library.records]
        ret_results = evaluator(ret_ranker(model, ids, sticker_vectors(services).for_ids(ids)))
        plain = evaluator(search_ranker(services.search))
        if args.json:
            print_json(
                {
                    "queries": str(queries_path),
                    "ret": [r.to_dict() for r in ret_results],
                    "plain_search": [r.to_dict() for r in plain],
                }
            )
            return 0
        print(format_table(f"<ret> embedding ({config.backbone}) on {queries_path.name}", ret_results))
        print(format_table(plain_title, plain))
        return 0
    results = evaluator(search_ranker(services.search))
    if args.json:
        print_json(
            {
                "queries": str(queries_path),
                "embedder": config.embedder,
                "results": [r.to_dict() for r in results],
            }
        )
        return 0
    title = f"text->sticker retrieval on {queries_path.name} (embedder {config.embedder} + BM25)"
    print(format_table(title, results))
    return 0


def run_chat(args) -> int:
    from stickerbot.config import EVAL_DIR
    from stickerbot.evaluation.chat import ChatEvaluator, load_chat_messages
    from stickerbot.services import open_chat, open_library

    config = settings()
    path = input_file(args.messages) or EVAL_DIR / "chat_heldout.jsonl"
    services = open_library(config, progress=not args.json)
    chat = open_chat(config, services, progress=not args.json, use_backbone=args.generate)
    report = ChatEvaluator(load_chat_messages(path)).run(chat, generate=args.generate, progress=not args.json)
    if args.json:
        print_json({"messages": str(path), **report.to_dict()})
        return 0
    print(f"chat evaluation on {path.name} ({'with' if args.generate else 'without'} generation)")
    print(report.table())
    return 0


def run_tools(args) -> int:
    from stickerbot.evaluation.tools import ToolsEvaluator, format_table, ret_sender
    from stickerbot.retrieval_tokens.build import training_examples
    from stickerbot.retrieval_tokens.features import image_features
    from stickerbot.services import open_library, require_ret_model

    config = settings()
    services = open_library(config, progress=not args.json)
    model = require_ret_model(config, services)
    # The held-out part of the same split `train ret` makes (seed 0, 3000 sticker requests).
    examples = training_examples(services, config, sticker_requests=3000, seed=0).heldout
    results = ToolsEvaluator(examples, limit=args.limit)(ret_sender(model, image_features(services)))
    if args.json:
        print_json({"backbone": config.backbone, "results": [r.to_dict() for r in results]})
        return 0
    print(format_table(results, config.backbone))
    return 0


def run_selection(args) -> int:
    from stickerbot.evaluation.selection import selection_report
    from stickerbot.services import open_memory, open_selection_embedder

    config = settings()
    memory = open_memory(config, progress=not args.json)
    report = selection_report(memory, extra=open_selection_embedder(config))
    if args.json:
        print_json(report)
        return 0
    print(
        f"response selection: recall@1 of the true reply among 10, on {report['heldout_pairs']} exchanges "
        f"of held-out sessions {report['heldout_by_language']} (trained on {report['train_pairs']})"
    )
    for method, by_lang in report["recall_at_1_of_10"].items():
        cells = "  ".join(f"{lang} {100 * r:5.1f}" for lang, r in by_lang.items())
        print(f"  {method:34s} {cells}")
    return 0


def run_replies(args) -> int:
    from stickerbot.config import EVAL_DIR
    from stickerbot.evaluation.replies import (
        ReplyReport,
        collect,
        load_audit,
        load_reply_items,
        read_records,
        score,
        write_audit_template,
        write_records,
    )
    from stickerbot.services import open_chat, open_library

    config = settings()
    path = input_file(args.messages) or EVAL_DIR / "replies_heldout.jsonl"
    score_path = input_file(args.score)
    # A missing audit file is no error: it means nothing has been judged yet.
    audit_path = Path(args.audit) if args.audit else EVAL_DIR / "replies_audit.jsonl"
    items = load_reply_items(path)
    services = open_library(config, progress=not args.json)
    chat = open_chat(config, services, progress=not args.json, use_backbone=args.generate)
    if score_path is not None:
        records = read_records(score_path)
    else:
        records = collect(chat, items, base_dir=path.parent, progress=not args.json)
        if args.out:
            write_records(Path(args.out), records)
    if args.audit_template:
        n = write_audit_template(Path(args.audit_template), items, records)
        print(f"wrote {n} replies to judge to {args.audit_template}")
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
        print_json({"messages": str(path), **report.to_dict()})
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


def run_images(args) -> int:
    from stickerbot.stickerclip.evaluate import DEV_DRAWN, evaluate_images, format_report, import_search

    config = settings()
    if args.imports:
        report = import_search(config)
        if args.json:
            print_json(report)
        else:
            print(
                f"text->sticker search on the {report['pictures']} drawn stickers imported as IMG_0001.png...: "
                f"share of the pack's top {report['k']} with the query's emotion"
            )
            for label in ("without encoder", "with encoder"):
                print(f"  {label:16s} mean {report[label]['mean']:5.1f}%  {report[label]['precision']}")
            print(f"  {'random order':16s} mean {report['random']:5.1f}%")
        return 0
    drawn = {"drawn_dir": Path(args.drawn), "styles": False} if args.drawn else {}
    if args.styles:
        # A dev run: the stand-in styles and the dev drawings, never the test's pictures.
        drawn = {"drawn_dir": Path(args.drawn or DEV_DRAWN), "held_out": args.styles}
    from stickerbot.errors import UserError
    from stickerbot.retrieval.reading import read_weights_with

    try:
        weights = read_weights_with(args.read)
    except ValueError as err:
        raise UserError(f"--read: {err}") from None
    report = evaluate_images(
        config, baseline=not args.no_baseline, progress=not args.json, read_weights=weights, **drawn
    )
    if args.json:
        print_json(report)
    else:
        print(format_report(report), end="")
    return 0


def run_apart(args) -> int:
    """Exit 1 when any file holds a near copy, so a data script can stop on it."""
    from stickerbot.config import EVAL_DIR
    from stickerbot.evaluation.apart import PARAPHRASE, evaluation_texts, near_copies, texts_of_jsonl

    threshold = PARAPHRASE if args.threshold is None else args.threshold
    refs = evaluation_texts(EVAL_DIR)
    bad = 0
    for name in args.files:
        path = input_file(name)
        rows = texts_of_jsonl(path)
        close = near_copies([t for _, t in rows], refs, threshold)
        bad += len(close)
        ids = sorted({rows[i][0] for i in close})
        print(
            f"{path}: {len(rows)} texts, {len(close)} near copies of an evaluation message"
            + (f": {', '.join(ids)}" if ids else "")
        )
    return 1 if bad else 0
