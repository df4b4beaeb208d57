"""The sticker library: the bundled pack plus every pack the user imported.

Read-only once loaded; an import builds a new :class:`Library` rather than
mutating one that other requests may be reading.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from stickerbot.errors import UserError
from stickerbot.stickers.manifest import MANIFEST, read_manifest
from stickerbot.stickers.record import StickerRecord

log = logging.getLogger(__name__)

BUNDLED_PACK = "bundled"  # the pack name of the stickers that ship in assets/stickers


@dataclass
class Library:
    records: list[StickerRecord]
    pack_dirs: dict[str, Path]
    by_id: dict[str, StickerRecord] = field(init=False)

    def __post_init__(self) -> None:
        self.by_id = {}
        for record in self.records:
            if record.id in self.by_id:
                log.warning("duplicate sticker id %s: keeping the first", record.id)
                continue
            self.by_id[record.id] = record
        self.records = list(self.by_id.values())

    def __len__(self) -> int:
        return len(self.records)

    def get(self, sticker_id: str) -> StickerRecord | None:
        return self.by_id.get(sticker_id)

    def path_of(self, record: StickerRecord) -> Path:
        return record.resolve(self.pack_dirs[record.pack])

    @property
    def packs(self) -> list[str]:
        return sorted(self.pack_dirs)

    @classmethod
    def load(cls, bundled_dir: Path, packs_dir: Path | None = None) -> Library:
        records: list[StickerRecord] = []
        pack_dirs: dict[str, Path] = {}
        bundled = read_manifest(bundled_dir / MANIFEST)
        if not bundled:
            raise UserError(
                f"no bundled sticker pack at {bundled_dir / MANIFEST}: rebuild it with "
                "`python scripts/build_pack.py`"
            )
        for record in bundled:
            pack_dirs.setdefault(record.pack, bundled_dir)
        records += bundled
        if packs_dir and packs_dir.is_dir():
            for folder in sorted(p for p in packs_dir.iterdir() if p.is_dir()):
                pack_records = read_manifest(folder / MANIFEST)
                if pack_records:
                    pack_dirs[folder.name] = folder
                    records += pack_records
        return cls(records, pack_dirs)
