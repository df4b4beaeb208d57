"""Stickerbot's command line.

    python -m stickerbot index build            # embed the library into Chroma (incremental)
    python -m stickerbot index status
    python -m stickerbot index rebuild          # drop and re-embed (after changing STICKERBOT_EMBEDDER)
    python -m stickerbot index export-vectors   # ship the bundled pack's vectors (after rebuilding the pack)
    python -m stickerbot import PATH [--pack NAME] [--annotations FILE] [--json]
    python -m stickerbot search "so tired" [-k 10] [--lang en|zh] [--json]
    python -m stickerbot search --image sticker.png ["text too"] [--json]
    python -m stickerbot reply "MESSAGE" [--image PATH] [--history FILE] [--frequency F] [--json]
    python -m stickerbot memory add FILE [--name NAME]   # StickerConv dialogues into the memory
    python -m stickerbot memory status
    python -m stickerbot backbones                 # list the chat backbones
    python -m stickerbot eval retrieval|chat|tools|replies|selection|images ...   # eval --help
    python -m stickerbot bench search|import|chat|app|images ...                  # bench --help
    python -m stickerbot train chat|clip|expression|ret ...                       # train --help

One module per command in this package; each task of `eval`, `bench` and `train` is its own
subcommand with only its own flags. A UserError prints one line ("error: ...") and exits 2;
any other exception is a bug and keeps its traceback.

Settings come from the environment (STICKERBOT_DATA_DIR, STICKERBOT_EMBEDDER, ...;
see the README).
"""

from __future__ import annotations

import argparse
import logging
import sys

from stickerbot.cli import backbones, bench, import_, index, memory, reply, search, train
from stickerbot.cli import eval as eval_  # the `eval` command's module, not the builtin
from stickerbot.errors import UserError

# In the order `--help` lists them.
COMMANDS = (index, import_, search, eval_, train, reply, memory, backbones, bench)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m stickerbot", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.func(args)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
