"""Pack manifests: one sticker record per JSON line, appended and flushed one by one.

A manifest is the source of truth of a pack (the index is derived from it).
Appending one line per sticker with flush + fsync means a crash or Ctrl-C loses
at most the sticker being written; :func:`read_manifest` skips a torn last line.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from stickerbot.stickers.record import StickerRecord

log = logging.getLogger(__name__)

MANIFEST = "manifest.jsonl"


def read_manifest(path: Path) -> list[StickerRecord]:
    if not path.exists():
        return []
    records = []
    with open(path, encoding="utf-8") as f:
        lines = f.readlines()
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            records.append(StickerRecord.from_dict(json.loads(line)))
        except (json.JSONDecodeError, TypeError, ValueError) as err:
            torn = number == len(lines) and not line.endswith("\n")
            if torn:
                # An interrupted append: the sticker is re-imported on the next run.
                log.warning("%s: ignoring a torn last line (interrupted write)", path)
            else:
                log.warning("%s:%d: skipping a bad record (%s)", path, number, err)
    return records


class ManifestWriter:
    """Appends records durably. Use as a context manager."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._repair_torn_tail()
        self._file = open(path, "a", encoding="utf-8")

    def _repair_torn_tail(self) -> None:
        # A line torn by a crash must not swallow the next record's first bytes.
        if self.path.exists() and self.path.stat().st_size:
            with open(self.path, "rb+") as f:
                f.seek(-1, os.SEEK_END)
                if f.read(1) != b"\n":
                    f.write(b"\n")

    def append(self, record: StickerRecord) -> None:
        self.append_line(record.to_json())

    def append_line(self, line: str) -> None:
        """One JSON line, durably (the pack's duplicates.jsonl uses it too)."""
        self._file.write(line + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> ManifestWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
