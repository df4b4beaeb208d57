"""Understand a sticker the user sent: the library's own annotations when it is a known
sticker (an exact or near perceptual-hash match); else the words OCR reads on it and what the
image encoder finds it looks like (its nearest library stickers, with a confidence)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stickerbot.retrieval.reading import StickerReading
from stickerbot.retrieval.search import StickerSearch
from stickerbot.stickers.duplicates import colour_signature, colours_of_file, judge
from stickerbot.stickers.images import ImageLimits, LoadedImage, load_image
from stickerbot.stickers.phash import phash
from stickerbot.stickers.record import StickerRecord


@dataclass(frozen=True)
class UploadedSticker:
    image: LoadedImage
    # The library sticker it matches, and the Hamming distance of their hashes (0 = same picture).
    match: StickerRecord | None
    distance: int | None
    ocr_text: str
    # For an unknown picture: what its nearest library stickers say it shows.
    reading: StickerReading | None = None

    @property
    def confident(self) -> bool:
        """Whether the reading is sure enough to act on (``ReadWeights.min_confidence``); below
        it the picture is answered neutrally instead of guessed at."""
        return self.reading is not None and self.reading.sure

    @property
    def looks_like(self) -> StickerRecord | None:
        """The nearest library sticker that carries the emotion read, when the reading is sure."""
        return self.reading.record if self.confident else None

    @property
    def emotion(self) -> str | None:
        """What the sticker expresses: the library's word for a known one, the encoder's reading
        of an unknown one when it is sure; else None."""
        if self.match:
            return self.match.emotion
        return self.reading.emotion if self.confident else None

    @property
    def text(self) -> str:
        """The words on the sticker: the match's annotation, else OCR."""
        if self.match and self.match.ocr_text:
            return self.match.ocr_text
        return self.ocr_text

    def describe(self) -> str:
        """One line for the model's prompt saying what the sticker shows or says."""
        if self.match is not None:
            what = self.match.description or self.match.name
            feeling = self.match.fine_emotion or self.match.emotion.lower()
            words = f', with the words "{self.text}"' if self.text else ""
            return f"{what}{words} (it expresses: {feeling})"
        looks = f"looks like {self.reading.phrase()}" if self.confident else ""
        if self.ocr_text:
            return f'a sticker with the words "{self.ocr_text}"' + (f", {looks}" if looks else "")
        if looks:
            return f"a sticker that {looks}"
        # Nothing is known of it: the model is told no more than that (it once answered
        # "You can use stickers without words to decorate your home").
        return "a sticker"

    def to_dict(self) -> dict:
        return {
            "match": self.match.id if self.match else None,
            "distance": self.distance,
            "emotion": self.emotion,
            "text": self.text,
            "description": self.describe(),
            "reading": None
            if self.reading is None
            else {
                "looks_like": self.reading.description,
                "emotion": self.reading.emotion,
                "fine_emotion": self.reading.fine_emotion,
                "confidence": round(self.reading.confidence, 3),
                "used": self.confident,
            },
        }


def read_upload(
    data: bytes | LoadedImage, search: StickerSearch, *, limits: ImageLimits | None = None, max_bits: int = 3
) -> UploadedSticker:
    """Check and decode ``data`` (BadImageError on a bad file), then match it to the library.

    OCR and the image encoder run only for pictures the library does not know (a known
    sticker's words and feeling are in its annotations already), and OCR also when the
    nearest library stickers carry words: a caption variant is known only with its own words
    and colours (``stickers.duplicates.judge``).
    """
    image = data if isinstance(data, LoadedImage) else load_image(data, limits)
    matches = search.duplicates_of(phash(image.first), max_bits)
    ocr_text = None
    if any(record.ocr_text for record, _ in matches) and search.ocr is not None:
        # Caption variants of one drawing share its hash: the words say which one this is.
        ocr_text = search.read_text(image)
    colours = colour_signature(image.first) if matches else None
    for record, distance in matches:
        if judge(distance, (ocr_text, record.ocr_text), (colours, _colours(search, record))).duplicate:
            return UploadedSticker(image, record, distance, "")
    if ocr_text is None:
        ocr_text = search.read_text(image)
    return UploadedSticker(image, None, None, ocr_text, search.read_picture(image))


def _colours(search: StickerSearch, record: StickerRecord) -> np.ndarray | None:
    try:
        path = search.library.path_of(record)
    except KeyError:  # a record whose pack folder is unknown: the picture alone decides
        return None
    return colours_of_file(path)
