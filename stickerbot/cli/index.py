"""`index build|status|rebuild|export-vectors`: the Chroma index of the sticker library."""

from __future__ import annotations

from stickerbot.cli.common import print_json, settings


def register(sub) -> None:
    p = sub.add_parser("index", help="build or inspect the sticker index")
    p.add_argument("action", choices=["build", "status", "rebuild", "export-vectors"])
    p.set_defaults(func=run)


def run(args) -> int:
    from stickerbot.services import (
        drop_index,
        export_bundled_image_vectors,
        export_bundled_vectors,
        open_image_index,
        open_index,
        sync_image_index,
        sync_index,
    )
    from stickerbot.stickers.library import Library

    config = settings()
    if args.action == "rebuild":
        print(drop_index(config))
    library = Library.load(config.bundled_pack_dir, config.packs_dir)
    index = open_index(config)
    image_index = open_image_index(config)
    if args.action in ("build", "rebuild", "export-vectors"):
        written = sync_index(index, library, progress=True)
        print(f"wrote {written} new or changed stickers; the index holds {len(index)}")
        if image_index is not None:
            written = sync_image_index(image_index, library, limits=config.limits, progress=True)
            print(f"embedded {written} sticker images; the image index holds {len(image_index)}")
    status = {
        "index": str(config.index_location),
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
        print_json(status)
    return 0
