"""`memory add FILE | memory status`: the empathetic dialogue memory."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

from stickerbot.cli.common import print_json, settings


def register(sub) -> None:
    p = sub.add_parser("memory", help="the empathetic dialogue memory")
    p.add_argument("action", choices=["add", "status"])
    p.add_argument("file", nargs="?", help="add: a StickerConv JSONL file (sessions or per-turn records)")
    p.add_argument("--name", help="add: the name to store it under (default: the file name)")
    p.set_defaults(func=run)


def run(args) -> int:
    from stickerbot.memory.store import add_dialogue_file
    from stickerbot.services import open_memory

    config = settings()
    if args.action == "add":
        if not args.file:
            print("error: memory add needs a FILE (StickerConv JSONL)", file=sys.stderr)
            return 2
        name = args.name or Path(args.file).stem
        if (config.bundled_dialogues_dir / f"{name}.jsonl").exists():
            print(f"error: {name!r} is the name of a bundled dialogue file; pass --name", file=sys.stderr)
            return 2
        stored, n = add_dialogue_file(Path(args.file), config.dialogues_dir, name=name)
        print(f"checked {n} exchanges; stored as {stored}")
    memory = open_memory(config, progress=True)
    status = {
        "exchanges": len(memory),
        "indexed": len(memory.index),
        "embedder": memory.index.embedder.name,
        "by_language": _count(e.lang for e in memory.exchanges),
        "by_emotion": _count(e.emotion or "unlabelled" for e in memory.exchanges),
        "by_source": _count(e.source for e in memory.exchanges),
    }
    print_json(status)
    return 0


def _count(values) -> dict[str, int]:
    return dict(sorted(Counter(values).items()))
