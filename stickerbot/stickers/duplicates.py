"""When is an imported sticker a duplicate of one the library holds? (pure functions)

A sticker's words are its meaning: the most common pack layout is one drawing with many
captions ("ok", "no", "thank you" over the same character), and their perceptual hashes lie
a few bits apart. So a picture is a duplicate only when its picture *and* its words match:
its hash is within the duplicate threshold, its words (OCR or the annotation, normalised)
are the same, and its colours are close (the hash is computed on grey levels, so three
plain circles of different colours share one). Identical bytes are always duplicates. A
near match with other words or colours is imported and reported as "similar to <id>".
Pure functions, but for :func:`colours_of_file`, which reads a stored sticker.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from stickerbot.stickers.images import BadImageError, ImageLimits, load_image

log = logging.getLogger(__name__)

# Colours are compared on a coarse grid of the picture over white.
COLOUR_GRID = 4
_NOT_WORD = re.compile(r"[\W_]+", re.UNICODE)


@dataclass(frozen=True)
class DuplicateRule:
    # Perceptual-hash bits that may differ (of 64): re-encoding and resizing move 0-3.
    bits: int = 3
    # Mean absolute difference of the colour grids, in [0, 1]. A PNG saved as a JPEG or WebP,
    # or resized, moves it by about 0.01; a colour change of one shape moves it past 0.05.
    colour: float = 0.04


def normalise_words(text: str | None) -> str | None:
    """Words compared case-, width-, space- and punctuation-blind; None stays unknown."""
    if text is None:
        return None
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", text).casefold())


def colour_signature(image: Image.Image) -> np.ndarray:
    """The picture over white, averaged on a COLOUR_GRID x COLOUR_GRID grid: (grid*grid*3,)
    values in [0, 1]."""
    rgba = image.convert("RGBA")
    ground = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    flat = Image.alpha_composite(ground, rgba).convert("RGB")
    small = flat.resize((COLOUR_GRID, COLOUR_GRID), Image.Resampling.BOX)
    return np.asarray(small, dtype=np.float32).reshape(-1) / 255.0


def colours_of_file(path: Path, limits: ImageLimits | None = None) -> np.ndarray | None:
    """The colour signature of a stored sticker's first frame; None when it cannot be read
    (then the colours are not compared)."""
    try:
        return colour_signature(load_image(Path(path).read_bytes(), limits).first)
    except (OSError, BadImageError) as err:
        log.warning("cannot compare the colours of %s: %s", path, err)
        return None


def colour_distance(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.mean(np.abs(np.asarray(a) - np.asarray(b))))


@dataclass(frozen=True)
class Verdict:
    duplicate: bool
    reason: str


def judge(
    bits: int,
    words: tuple[str | None, str | None],
    colours: tuple[np.ndarray | None, np.ndarray | None],
    rule: DuplicateRule = DuplicateRule(),
) -> Verdict:
    """Whether a picture whose hash is ``bits`` from a known sticker's duplicates it.

    ``words``: (the new picture's, the known sticker's) words; None where they cannot be known
    (no OCR engine and no annotation), and then only the picture is compared. ``colours``:
    their colour signatures (None: unknown, not compared).
    """
    if bits > rule.bits:
        return Verdict(False, "")
    new_words, old_words = (normalise_words(w) for w in words)
    if new_words is not None and old_words is not None and new_words != old_words:
        return Verdict(False, "other words")
    if colours[0] is not None and colours[1] is not None:
        if colour_distance(*colours) > rule.colour:
            return Verdict(False, "other colours")
    return Verdict(True, "exact" if bits == 0 else f"near ({bits}/64 bits differ)")
