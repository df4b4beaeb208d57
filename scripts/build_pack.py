"""Build the bundled sticker pack in assets/stickers/ from two npm packages.

    python scripts/build_pack.py            # fetch with `npm pack`, build, write assets/stickers/
    python scripts/build_pack.py --npm-dir /tmp/npm   # reuse already unpacked packages

Sources (both MIT): @lobehub/fluent-emoji-3d@1.1.0 (Microsoft Fluent Emoji 3D art
as 256 px WebP) and emojibase-data@17.0.0 (English and Chinese names and tags,
derived from Unicode CLDR). Emotion labels of faces, hands and gestures come from
the hand-reviewed table assets/annotations/emotion_overrides.csv; every other
emoji takes the rules in assets/annotations/subgroups.yaml. Caption stickers
(assets/annotations/captions.csv) are composed here: an emoji with a short
caption drawn on it. Chinese captions need a CJK font: the script installs
Debian's fonts-wqy-zenhei when it can. The output is deterministic.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import logging
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml
from PIL import Image, ImageDraw, ImageFont

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from stickerbot.stickerclip.art import npm_pack  # noqa: E402
from stickerbot.stickers.labels import FINE_TO_EMOTION, normalize_fine_emotion  # noqa: E402
from stickerbot.stickers.library import BUNDLED_PACK  # noqa: E402
from stickerbot.stickers.phash import phash  # noqa: E402
from stickerbot.stickers.record import StickerRecord  # noqa: E402

log = logging.getLogger("build_pack")

FLUENT = "@lobehub/fluent-emoji-3d@1.1.0"
EMOJIBASE = "emojibase-data@17.0.0"
ANNOTATIONS = ROOT / "assets" / "annotations"
OUT = ROOT / "assets" / "stickers"
PACK = BUNDLED_PACK
SIZE = 256

# Which emoji go into the pack: whole emojibase groups, plus single subgroups.
GROUPS = {"smileys-emotion", "people-body", "animals-nature", "food-drink", "activities", "objects"}
EXTRA_SUBGROUPS = {"sky-weather"}

FONT_EN = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")
FONT_ZH = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")


def fetch_npm(npm_dir: Path) -> tuple[Path, Path]:
    """`npm pack` both packages into npm_dir and unpack them; returns their package folders."""
    return npm_pack(FLUENT, npm_dir) / "package", npm_pack(EMOJIBASE, npm_dir) / "package"


def ensure_cjk_font() -> Path:
    if FONT_ZH.exists():
        return FONT_ZH
    log.info("installing fonts-wqy-zenhei for the Chinese captions")
    try:
        subprocess.run(["apt-get", "install", "-y", "-qq", "fonts-wqy-zenhei"], check=True)
    except (OSError, subprocess.CalledProcessError) as err:
        raise SystemExit(
            f"Chinese captions need a CJK font at {FONT_ZH}: install Debian's fonts-wqy-zenhei ({err})"
        ) from err
    return FONT_ZH


def image_file(assets: Path, hexcode: str) -> Path | None:
    """Fluent names files by lowercase codepoints; FE0F is present or absent inconsistently."""
    base = hexcode.lower()
    for candidate in (base, base + "-fe0f", base.replace("-fe0f", "")):
        path = assets / f"{candidate}.webp"
        if path.exists():
            return path
    return None


def split_queries(value: str) -> list[str]:
    return [q.strip() for q in (value or "").split("|") if q.strip()]


def load_overrides() -> dict[str, dict]:
    with open(ANNOTATIONS / "emotion_overrides.csv", encoding="utf-8", newline="") as f:
        rows = {row["hexcode"]: row for row in csv.DictReader(f)}
    for row in rows.values():
        fine = row.get("fine_emotion") or ""
        if fine and normalize_fine_emotion(fine) is None:
            raise SystemExit(f"emotion_overrides.csv: unknown fine_emotion {fine!r} for {row['hexcode']}")
    return rows


def dedupe(items: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        item = item.strip()
        if item and item.lower() not in {s.lower() for s in seen}:
            seen[item] = None
    return list(seen)


def normalized_webp(path: Path) -> bytes:
    """The source WebP as is when it is already at most SIZE px, else a resized copy."""
    data = path.read_bytes()
    with Image.open(io.BytesIO(data)) as im:
        if max(im.size) <= SIZE:
            return data
        im = im.convert("RGBA")
        im.thumbnail((SIZE, SIZE), Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        im.save(buf, "WEBP", quality=90, method=6)
        return buf.getvalue()


def emoji_records(fluent: Path, emojibase: Path, out_dir: Path) -> list[StickerRecord]:
    en = json.loads((emojibase / "en" / "data.json").read_text(encoding="utf-8"))
    zh = {e["hexcode"]: e for e in json.loads((emojibase / "zh" / "data.json").read_text(encoding="utf-8"))}
    messages = json.loads((emojibase / "en" / "messages.json").read_text(encoding="utf-8"))
    group_key = {g["order"]: g["key"] for g in messages["groups"]}
    subgroup_key = {s["order"]: s["key"] for s in messages["subgroups"]}
    subgroup_msg = {s["key"]: s["message"] for s in messages["subgroups"]}
    group_msg = {g["key"]: g["message"] for g in messages["groups"]}
    rules = yaml.safe_load((ANNOTATIONS / "subgroups.yaml").read_text(encoding="utf-8"))
    overrides = load_overrides()
    assets = fluent / "assets"
    (out_dir / "emoji").mkdir(parents=True, exist_ok=True)

    records = []
    missing_override = []
    for entry in en:
        group = group_key.get(entry.get("group"))
        subgroup = subgroup_key.get(entry.get("subgroup"))
        if group not in GROUPS and subgroup not in EXTRA_SUBGROUPS:
            continue
        source = image_file(assets, entry["hexcode"])
        if source is None:
            continue
        if subgroup not in rules["subgroups"]:
            raise SystemExit(f"subgroups.yaml has no rule for subgroup {subgroup!r}")
        rule = {**rules["defaults"], **(rules["subgroups"][subgroup] or {})}
        override = overrides.get(entry["hexcode"])
        if (
            override is None
            and group == "smileys-emotion"
            or (
                override is None
                and subgroup
                and (subgroup.startswith("hand") or subgroup == "person-gesture")
            )
        ):
            missing_override.append(f"{entry['emoji']} {entry['hexcode']} {entry['label']}")
        emotion = (override or {}).get("emotion") or rule["emotion"]
        fine = (
            normalize_fine_emotion((override or {}).get("fine_emotion")) if override else rule["fine_emotion"]
        )
        zh_entry = zh.get(entry["hexcode"], {})
        data = normalized_webp(source)
        rel = f"emoji/{entry['hexcode'].lower()}.webp"
        (out_dir / rel).write_bytes(data)
        with Image.open(io.BytesIO(data)) as im:
            hash_hex = phash(im.convert("RGBA"))
        queries = split_queries((override or {}).get("queries_en", "")) + split_queries(
            (override or {}).get("queries_zh", "")
        )
        queries += list(rule["queries_en"]) + list(rule["queries_zh"])
        records.append(
            StickerRecord(
                id=f"emoji:{entry['hexcode']}",
                image=rel,
                pack=PACK,
                name=entry["label"],
                keywords_en=dedupe(list(entry.get("tags", []))),
                keywords_zh=dedupe([zh_entry.get("label", "")] + list(zh_entry.get("tags", []))),
                description=(
                    f"3D cartoon emoji sticker: {entry['label']} "
                    f"({group_msg[group]}, {subgroup_msg.get(subgroup, subgroup)})"
                ),
                emotion=emotion,
                fine_emotion=fine,
                style=rule["style"],
                ocr_text="",
                queries=dedupe(queries),
                emoji=entry["emoji"],
                hexcode=entry["hexcode"],
                animated=False,
                frame_count=1,
                phash=hash_hex,
                sha256=hashlib.sha256(data).hexdigest(),
            )
        )
    if missing_override:
        raise SystemExit(
            "faces and gestures need a hand-reviewed row in emotion_overrides.csv:\n  "
            + "\n  ".join(missing_override)
        )
    return records


def fit_font(
    draw: ImageDraw.ImageDraw, text: str, font_path: Path, max_width: int, start: int
) -> ImageFont.FreeTypeFont:
    size = start
    while size > 12:
        font = ImageFont.truetype(str(font_path), size)
        left, _, right, _ = draw.textbbox((0, 0), text, font=font, stroke_width=4)
        if right - left <= max_width:
            return font
        size -= 2
    return ImageFont.truetype(str(font_path), size)


def compose_caption(base: Image.Image, text: str, font_path: Path) -> Image.Image:
    """Emoji in the upper part, caption in bold with a white outline below, like a chat sticker."""
    canvas = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    art = base.convert("RGBA")
    art.thumbnail((184, 184), Image.Resampling.LANCZOS)
    canvas.alpha_composite(art, ((SIZE - art.width) // 2, 6))
    draw = ImageDraw.Draw(canvas)
    font = fit_font(draw, text, font_path, SIZE - 20, 44)
    draw.text(
        (SIZE // 2, 222),
        text,
        font=font,
        fill=(30, 30, 30, 255),
        anchor="mm",
        stroke_width=4,
        stroke_fill=(255, 255, 255, 255),
    )
    return canvas


def caption_records(
    fluent: Path, emoji_by_hex: dict[str, StickerRecord], out_dir: Path
) -> list[StickerRecord]:
    font_zh = None
    (out_dir / "captions").mkdir(parents=True, exist_ok=True)
    records = []
    with open(ANNOTATIONS / "captions.csv", encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        base = emoji_by_hex.get(row["hexcode"])
        source = image_file(fluent / "assets", row["hexcode"])
        if source is None:
            raise SystemExit(f"captions.csv: no image for {row['hexcode']} ({row['slug']})")
        if row["lang"] == "zh":
            font_zh = font_zh or ensure_cjk_font()
            font = font_zh
        else:
            font = FONT_EN
        with Image.open(source) as im:
            sticker = compose_caption(im, row["text"], font)
        buf = io.BytesIO()
        sticker.save(buf, "WEBP", quality=88, method=6)
        data = buf.getvalue()
        rel = f"captions/{row['slug']}.webp"
        (out_dir / rel).write_bytes(data)
        fine = normalize_fine_emotion(row["fine_emotion"])
        if fine is None or row["emotion"] not in set(FINE_TO_EMOTION.values()):
            raise SystemExit(f"captions.csv: bad labels for {row['slug']}")
        emoji_name = base.name if base else row["hexcode"]
        quoted = f"“{row['text']}”"
        records.append(
            StickerRecord(
                id=f"caption:{row['slug']}",
                image=rel,
                pack=PACK,
                name=f"{emoji_name} saying {quoted}",
                keywords_en=(base.keywords_en[:6] if base else []),
                keywords_zh=(base.keywords_zh[:4] if base else []),
                description=f"caption sticker: {emoji_name} with the words {quoted} written under it",
                emotion=row["emotion"],
                fine_emotion=fine,
                style="cute cartoons",
                ocr_text=row["text"],
                queries=split_queries(row["queries"]),
                emoji=base.emoji if base else None,
                hexcode=None,  # a caption sticker is not the plain emoji
                animated=False,
                frame_count=1,
                phash=phash(sticker),
                sha256=hashlib.sha256(data).hexdigest(),
            )
        )
    return records


LICENSES = """# Licenses of the bundled sticker pack

The images in `emoji/` are Microsoft's Fluent Emoji (3D style), as packaged in
the npm package @lobehub/fluent-emoji-3d 1.1.0. The images in `captions/` are
composed by scripts/build_pack.py from those images with captions drawn on them.
Names and keywords (`name`, `keywords_en`, `keywords_zh` in manifest.jsonl) come
from the npm package emojibase-data 17.0.0, whose data derive from the Unicode
Common Locale Data Repository (CLDR).

## Microsoft Fluent Emoji — MIT License

Copyright (c) Microsoft Corporation.

Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files (the "Software"), to deal in
the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies of
the Software, and to permit persons to whom the Software is furnished to do so,
subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS
FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR
COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER
IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN
CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.

## @lobehub/fluent-emoji-3d — MIT License

Copyright (c) 2023 LobeHub

(Same MIT terms as above.)

## emojibase-data — MIT License

{emojibase_license}

## Unicode CLDR — Unicode License v3

The emoji names and keywords derive from Unicode CLDR data.

UNICODE LICENSE V3

COPYRIGHT AND PERMISSION NOTICE

Copyright © 1991-2025 Unicode, Inc.

NOTICE TO USER: Carefully read the following legal agreement. BY DOWNLOADING,
INSTALLING, COPYING OR OTHERWISE USING DATA FILES, AND/OR SOFTWARE, YOU
UNEQUIVOCALLY ACCEPT, AND AGREE TO BE BOUND BY, ALL OF THE TERMS AND CONDITIONS
OF THIS AGREEMENT. IF YOU DO NOT AGREE, DO NOT DOWNLOAD, INSTALL, COPY,
DISTRIBUTE OR USE THE DATA FILES OR SOFTWARE.

Permission is hereby granted, free of charge, to any person obtaining a copy of
data files and any associated documentation (the "Data Files") or software and
any associated documentation (the "Software") to deal in the Data Files or
Software without restriction, including without limitation the rights to use,
copy, modify, merge, publish, distribute, and/or sell copies of the Data Files
or Software, and to permit persons to whom the Data Files or Software are
furnished to do so, provided that either (a) this copyright and permission
notice appear with all copies of the Data Files or Software, or (b) this
copyright and permission notice appear in associated Documentation.

THE DATA FILES AND SOFTWARE ARE PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND,
EXPRESS OR IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF
MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT OF THIRD
PARTY RIGHTS.

IN NO EVENT SHALL THE COPYRIGHT HOLDER OR HOLDERS INCLUDED IN THIS NOTICE BE
LIABLE FOR ANY CLAIM, OR ANY SPECIAL INDIRECT OR CONSEQUENTIAL DAMAGES, OR ANY
DAMAGES WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF OR IN
CONNECTION WITH THE USE OR PERFORMANCE OF THE DATA FILES OR SOFTWARE.

Except as contained in this notice, the name of a copyright holder shall not be
used in advertising or otherwise to promote the sale, use or other dealings in
these Data Files or Software without prior written authorization of the
copyright holder.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--npm-dir", type=Path, help="folder with the unpacked npm packages (default: a temp dir)"
    )
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    npm_dir = args.npm_dir or Path(tempfile.mkdtemp(prefix="stickerbot-npm-"))
    fluent, emojibase = fetch_npm(npm_dir)
    out = args.out
    for sub in ("emoji", "captions"):
        shutil.rmtree(out / sub, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)

    records = emoji_records(fluent, emojibase, out)
    by_hex = {r.hexcode: r for r in records if r.hexcode}
    records += caption_records(fluent, by_hex, out)
    records.sort(key=lambda r: r.id)

    with open(out / "manifest.jsonl", "w", encoding="utf-8") as f:
        for record in records:
            f.write(record.to_json() + "\n")
    emojibase_license = (emojibase / "LICENSE").read_text(encoding="utf-8").strip()
    (out / "LICENSES.md").write_text(
        LICENSES.replace("{emojibase_license}", emojibase_license), encoding="utf-8"
    )
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    captions = sum(r.id.startswith("caption:") for r in records)
    log.info("wrote %d stickers (%d captions), %.1f MB in %s", len(records), captions, total / 1e6, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
