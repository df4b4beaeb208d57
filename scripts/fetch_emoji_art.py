"""Fetch emoji in other art styles from the npm registry and draw them as PNG pictures.

    python scripts/fetch_emoji_art.py                       # every style, the library's emoji
    python scripts/fetch_emoji_art.py --styles noto twemoji --out data/emoji_art --size 96

Training data for the sticker image encoder (see stickerbot/stickerclip/art.py for the
styles and their licences). Nothing fetched is committed; the pictures go to
``<data dir>/emoji_art/`` by default. Resumable: run it again after an interruption.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from stickerbot.config import Settings  # noqa: E402
from stickerbot.errors import UserError  # noqa: E402
from stickerbot.stickerclip.art import DEFAULT_SIZE, STYLES, emoji_key, fetch_styles  # noqa: E402
from stickerbot.stickers.library import Library  # noqa: E402


def library_keys(settings: Settings) -> set[str]:
    """The emoji keys of the bundled pack's stickers (the encoder's targets)."""
    library = Library.load(settings.bundled_pack_dir)
    return {emoji_key(r.hexcode) for r in library.records if r.hexcode}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    groups = sorted({s.group for s in STYLES.values() if s.group})
    parser.add_argument(
        "--styles", nargs="+", choices=[*STYLES, *groups], help=f"default: all; groups: {', '.join(groups)}"
    )
    parser.add_argument("--out", type=Path, help="default: <STICKERBOT_DATA_DIR>/emoji_art")
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE, help="picture side in pixels")
    parser.add_argument("--all-emoji", action="store_true", help="not only the library's emoji")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = Settings.from_env()
    out = args.out or settings.data_dir / "emoji_art"
    keys = None if args.all_emoji else library_keys(settings)
    try:
        counts = fetch_styles(out, styles=args.styles, keys=keys, size=args.size)
    except UserError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    for name, n in counts.items():
        print(f"{name:22s} {n:5d} pictures")
    print(f"in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
