"""`search [QUERY] [--image PATH]`: stickers by text, by picture, or both."""

from __future__ import annotations

import sys
from pathlib import Path

from stickerbot.cli.common import print_json, settings


def register(sub) -> None:
    p = sub.add_parser("search", help="find stickers by text, image, or both")
    p.add_argument("query", nargs="?", default=None)
    p.add_argument("--image", help="a sticker image to search by")
    p.add_argument("-k", type=int, default=10)
    p.add_argument("--lang", choices=["en", "zh"], help="query language (default: detected)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def run(args) -> int:
    from stickerbot.services import open_library
    from stickerbot.stickers.images import BadImageError, load_image

    if not args.query and not args.image:
        print("error: give a text query, --image PATH, or both", file=sys.stderr)
        return 2
    config = settings()
    image = None
    if args.image:
        try:
            image = load_image(Path(args.image).read_bytes(), config.limits)
        except (OSError, BadImageError) as err:
            print(f"error: {args.image}: {err}", file=sys.stderr)
            return 2
    services = open_library(config, progress=not args.json)
    hits = services.search.search(args.query, image=image, k=args.k, lang=args.lang)
    if args.json:
        print_json([h.to_dict() for h in hits])
        return 0
    for rank, hit in enumerate(hits, 1):
        r = hit.record
        label = f"{r.emoji or ' '} {r.name}"
        print(f"{rank:2d}. {hit.score:6.3f}  {label:50s} {r.emotion:9s} {r.id}")
        if hit.reasons and image is not None:
            print(f"            {'; '.join(hit.reasons)}")
    return 0
