"""The encoder's training and evaluation pictures: emoji art by style, and the library's targets.

Every picture is tied to a library record by its emoji key (the code points), and the record's
annotation vector in the text index's space is its target. The split never mixes a style or
an emoji between training and test: whole art styles are held out (``HELD_OUT_STYLES``), and
so is a fixed share of the emoji (chosen by a hash of the key, the same on every machine).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from stickerbot.errors import UserError
from stickerbot.stickerclip.art import emoji_key, read_manifest
from stickerbot.stickers.record import StickerRecord

log = logging.getLogger(__name__)

# Twemoji has no relative among the training styles; Noto's older blob style is trained on, so
# Noto is reported apart from it.
HELD_OUT_STYLES = ("twemoji", "noto")
# One emoji in ten is never trained on, in any style (the library's own art included).
HELD_OUT_EMOJI_SHARE = 0.1
STORE_SIZE = 80  # pictures are kept at this size (RGBA) and cropped / scaled from it


def store_size(image_size: int) -> int:
    """The side to keep training pictures at for a model that reads ``image_size`` px: a
    quarter larger, so that scaling up under augmentation still has detail to show."""
    return max(STORE_SIZE, -(-image_size * 5 // 4))


def held_out_emoji(key: str, share: float = HELD_OUT_EMOJI_SHARE) -> bool:
    """Whether an emoji is kept out of training, by a stable hash of its key."""
    digest = hashlib.sha1(f"stickerclip:{key}".encode()).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < share


@dataclass
class PictureSet:
    """Pictures as an (N, S, S, 4) uint8 array, with the record index and style of each."""

    pixels: np.ndarray
    targets: np.ndarray  # index into the record list
    styles: list[str]
    keys: list[str]

    def __len__(self) -> int:
        return len(self.targets)

    def subset(self, mask: np.ndarray) -> PictureSet:
        idx = np.flatnonzero(mask)
        return PictureSet(
            self.pixels[idx], self.targets[idx], [self.styles[i] for i in idx], [self.keys[i] for i in idx]
        )


def rgba_array(image: Image.Image, size: int = STORE_SIZE) -> np.ndarray:
    """A picture as (size, size, 4) uint8, fitted into the square with its aspect kept."""
    rgba = image.convert("RGBA")
    rgba.thumbnail((size, size), Image.Resampling.LANCZOS)
    canvas = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    canvas.paste(rgba, ((size - rgba.width) // 2, (size - rgba.height) // 2))
    return np.asarray(canvas)


def record_keys(records: list[StickerRecord]) -> dict[str, int]:
    """Emoji key -> position in ``records``, for the records that are emoji."""
    out = {}
    for n, r in enumerate(records):
        if r.hexcode:
            out.setdefault(emoji_key(r.hexcode), n)
    return out


def load_art(
    art_dir: Path,
    styles: list[str],
    records: list[StickerRecord],
    *,
    progress: bool = True,
    size: int = STORE_SIZE,
) -> PictureSet:
    """The fetched pictures of ``styles`` whose emoji the library holds, kept at ``size``."""
    by_key = record_keys(records)
    pixels, targets, names, keys = [], [], [], []
    for style in styles:
        rows = read_manifest(art_dir, style)
        for row in tqdm(rows, desc=f"reading {style}", unit="picture", disable=not progress, leave=False):
            n = by_key.get(row["key"])
            if n is None:
                continue
            with Image.open(art_dir / style / row["image"]) as image:
                pixels.append(rgba_array(image, size))
            targets.append(n)
            names.append(style)
            keys.append(row["key"])
    if not pixels:
        raise UserError(f"no pictures of {styles} in {art_dir} match the library's emoji")
    return PictureSet(np.stack(pixels), np.array(targets, dtype=np.int64), names, keys)


def load_library_art(records: list[StickerRecord], path_of, size: int = STORE_SIZE) -> PictureSet:
    """The library's own pictures (first frame), each its own record's target."""
    pixels, targets, keys = [], [], []
    for n, r in enumerate(records):
        with Image.open(path_of(r)) as image:
            pixels.append(rgba_array(image, size))
        targets.append(n)
        keys.append(emoji_key(r.hexcode) if r.hexcode else r.id)
    return PictureSet(np.stack(pixels), np.array(targets, dtype=np.int64), ["library"] * len(records), keys)
