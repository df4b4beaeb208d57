"""Optional annotations that come with an imported pack (CSV or JSONL).

One row per image, keyed by ``file`` (its path inside the pack, or just its
name). Any record field may be given; list fields are ``|``-separated in CSV.

    file,name,emotion,fine_emotion,description,keywords_en,keywords_zh,queries,style,ocr_text
    cat_cry.png,crying cat,Sadness,crying,a kitten in tears,cat|cry,猫|哭,so sad|sad cat,cute pets & dolls,
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from stickerbot.stickers.labels import STYLES, normalize_emotion, normalize_fine_emotion

LIST_FIELDS = ("keywords_en", "keywords_zh", "queries")
TEXT_FIELDS = ("name", "description", "ocr_text")


@dataclass
class Sidecar:
    rows: dict[str, dict] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def lookup(self, name: str) -> dict:
        return self.rows.get(name) or self.rows.get(PurePosixPath(name).name) or {}


def _as_list(value) -> list[str]:
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    return [v.strip() for v in str(value or "").split("|") if v.strip()]


def _clean(row: dict, where: str, problems: list[str]) -> dict:
    out: dict = {}
    for key in TEXT_FIELDS:
        if row.get(key):
            out[key] = str(row[key]).strip()
    for key in LIST_FIELDS:
        if row.get(key):
            out[key] = _as_list(row[key])
    if row.get("emotion"):
        emotion = normalize_emotion(str(row["emotion"]))
        if emotion:
            out["emotion"] = emotion
        else:
            problems.append(f"{where}: unknown emotion {row['emotion']!r} ignored")
    if row.get("fine_emotion"):
        fine = normalize_fine_emotion(str(row["fine_emotion"]))
        if fine:
            out["fine_emotion"] = fine
        else:
            problems.append(f"{where}: unknown fine_emotion {row['fine_emotion']!r} ignored")
    if row.get("style"):
        if row["style"] in STYLES:
            out["style"] = row["style"]
        else:
            problems.append(f"{where}: unknown style {row['style']!r} ignored")
    return out


def parse_sidecar(name: str, data: bytes) -> Sidecar:
    sidecar = Sidecar()
    text = data.decode("utf-8-sig", errors="replace")
    if name.lower().endswith(".jsonl"):
        rows = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                if not isinstance(row, dict):
                    raise ValueError("not an object")
                rows.append((f"{name}:{number}", row))
            except ValueError as err:
                sidecar.problems.append(f"{name}:{number}: unreadable line ({err})")
    else:
        rows = [(f"{name}:{n}", row) for n, row in enumerate(csv.DictReader(io.StringIO(text)), 2)]
    for where, row in rows:
        file = str(row.get("file") or "").strip().replace("\\", "/")
        if not file:
            sidecar.problems.append(f"{where}: no 'file' column value")
            continue
        sidecar.rows[file] = _clean(row, where, sidecar.problems)
    return sidecar
