"""`reply MESSAGE [--image PATH]`: one chat turn on the configured backbone."""

from __future__ import annotations

import json
import sys
from dataclasses import replace

from stickerbot.backbones.threads import one_team_for_the_decoder
from stickerbot.cli.common import input_file, print_json, settings


def register(sub) -> None:
    p = sub.add_parser("reply", help="one chat turn on the configured backbone")
    p.add_argument("message", nargs="?", default="", help="the user's message (may be empty with --image)")
    p.add_argument("--image", help="a sticker the user sends")
    p.add_argument("--history", help='JSON list of earlier turns: [{"role": "user", "content": "..."}, ...]')
    p.add_argument("--frequency", choices=["off", "occasional", "always"], help="sticker frequency")
    p.add_argument("--lang", choices=["auto", "en", "zh"], help="reply language (default: follow the user)")
    p.add_argument("--backbone", help="overrides STICKERBOT_BACKBONE")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def run(args) -> int:
    one_team_for_the_decoder()  # before torch loads, as the app does
    from stickerbot.chat.types import parse_history
    from stickerbot.services import open_chat, open_library
    from stickerbot.stickers.images import BadImageError

    config = settings()
    if args.backbone:
        config = replace(config, backbone=args.backbone)
    history = []
    history_path = input_file(args.history)
    if history_path is not None:
        history = parse_history(json.loads(history_path.read_text(encoding="utf-8")))
    image_path = input_file(args.image)
    image = image_path.read_bytes() if image_path is not None else None
    services = open_library(config, progress=not args.json)
    chat = open_chat(config, services, progress=not args.json)
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
        print_json(reply.to_dict())
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
