"""`import PATH`: a sticker pack (folder or .zip) into the library and the index.

(``import_`` because ``import`` is a keyword.)
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from stickerbot.cli.common import input_file, print_json, settings


def register(sub) -> None:
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
    p.set_defaults(func=run)


def run(args) -> int:
    from stickerbot.services import open_library
    from stickerbot.stickers.ocr import OcrPool

    config = settings()
    if args.no_ocr:
        config = replace(config, ocr=False)
    sidecar = input_file(args.annotations)
    services = open_library(config, progress=not args.json)
    # A source that cannot be imported is a SourceError: a UserError, one line and exit 2.
    report = services.import_pack(
        Path(args.path),
        pack=args.pack,
        sidecar_path=sidecar,
        keep_duplicates=args.keep_duplicates,
        ocr=OcrPool(args.workers) if config.ocr else None,
        workers=args.workers,
        progress=not args.json,
    )
    if args.json:
        print_json(report.to_dict())
        return 0
    for note in report.notes:
        print(f"note: {note}")
    for outcome in report.outcomes:
        if outcome.status in ("skipped", "duplicate"):
            print(f"{outcome.status:9s} {outcome.file}: {outcome.reason}")
    print(report.summary())
    return 0
