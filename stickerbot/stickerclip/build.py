"""From Settings to StickerCLIP-lite's data, its training run, and where its weights live.

python -m stickerbot train clip                  # -> data/stickerclip/stickerclip-lite.safetensors
python -m stickerbot train clip --steps 50       # a quick run
python -m stickerbot train clip --out assets/checkpoints/stickerclip-lite.safetensors
                                                 # what the shipped encoder is made with
python -m stickerbot train clip --base openai/clip-vit-base-patch32
                                                 # -> data/stickerclip/stickerclip-hub/ (a GPU)
python -m stickerbot train expression            # the expression head of the encoder in use,
                                                 # written beside its weights

The emoji art is fetched first when it is missing (scripts/fetch_emoji_art.py does the same
on its own), into ``<data dir>/emoji_art``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from stickerbot.config import Settings
from stickerbot.errors import UserError
from stickerbot.stickerclip.art import STYLES, emoji_key, expand_styles, fetch_styles
from stickerbot.stickerclip.data import (
    HELD_OUT_STYLES,
    STORE_SIZE,
    PictureSet,
    held_out_emoji,
    load_art,
    load_library_art,
    record_keys,
    store_size,
)
from stickerbot.stickerclip.doodles import doodles
from stickerbot.stickerclip.drawn import drawn_faces
from stickerbot.stickerclip.expression import HEAD, HeadConfig
from stickerbot.stickerclip.model import EncoderConfig
from stickerbot.stickerclip.paths import hub_encoder_path, trained_encoder_path
from stickerbot.stickerclip.train import ClipTrainConfig, ClipTrainer, ClipTrainResult, ExpressionTrainer
from stickerbot.stickers.record import StickerRecord

log = logging.getLogger(__name__)

# The bundled pack's own art is the library's pictures; its npm copy is not read twice.
LIBRARY_STYLE = "fluent-3d"
# Faces whose colour is part of what they say keep it under augmentation.
COLOURED_FACES = ("cold face", "hot face", "nauseated", "enraged", "pouting", "clown", "alien", "ogre")


def free_hue(record: StickerRecord) -> bool:
    """Whether a sticker's picture may take any hue when augmented: a face, unless its colour
    means something (a cold blue face, a green nauseated one)."""
    name = record.name.lower()
    return "face" in name and not any(c in name for c in COLOURED_FACES)


def art_dir(settings: Settings) -> Path:
    return settings.data_dir / "emoji_art"


def training_styles(extra: tuple[str, ...] = ()) -> list[str]:
    """The art styles trained on besides the library's own: every registered one but the held-out,
    the optional and the evaluation-only ones, and those of ``extra`` (optional styles asked for,
    or a group of them: ``icon-faces``)."""
    extra = tuple(expand_styles(extra))
    optional = [s for s in STYLES if STYLES[s].optional]
    scored_only = sorted(s for s in extra if s in STYLES and not STYLES[s].trainable)
    if scored_only:
        raise UserError(
            f"{', '.join(scored_only)}: art that is only scored, never trained on "
            f"({', '.join(STYLES[s].licence for s in scored_only)})"
        )
    unknown = sorted(set(extra) - set(optional))
    if unknown:
        raise UserError(f"not an optional art style: {', '.join(unknown)}; optional: {', '.join(optional)}")
    return [
        s
        for s in STYLES
        if s not in HELD_OUT_STYLES
        and s != LIBRARY_STYLE
        and STYLES[s].trainable
        and (not STYLES[s].optional or s in extra)
    ]


@dataclass
class ClipData:
    records: list[StickerRecord]  # the bundled pack: the targets
    text_vectors: np.ndarray  # (records, dim), the text index's vectors of them
    text_embedder: str
    library: PictureSet  # the library's own pictures
    art: PictureSet  # every fetched style but the library's
    drawn: PictureSet | None = None  # cartoon faces drawn by code (stickerclip.drawn)

    def train_set(self) -> PictureSet:
        """Library pictures, training styles and drawn faces, without the held-out emoji."""
        parts = [self.library, self.art.subset(np.array([s not in HELD_OUT_STYLES for s in self.art.styles]))]
        if self.drawn is not None:
            parts.append(self.drawn)
        parts = [p.subset(np.array([not held_out_emoji(k) for k in p.keys])) for p in parts]
        return concat(parts)

    def dev_set(self) -> PictureSet:
        """The held-out emoji in the training styles (new emoji, known styles): watched during
        training; the held-out styles are only read by ``eval images``."""
        known = self.art.subset(np.array([s not in HELD_OUT_STYLES for s in self.art.styles]))
        return known.subset(np.array([held_out_emoji(k) for k in known.keys]))


def concat(parts: list[PictureSet]) -> PictureSet:
    return PictureSet(
        np.concatenate([p.pixels for p in parts]),
        np.concatenate([p.targets for p in parts]),
        [s for p in parts for s in p.styles],
        [k for p in parts for k in p.keys],
    )


# The code-drawn training stickers, by the hand that draws them: each gives
# ``per_expression`` pictures of every face in ``drawn.EXPRESSIONS`` and their emoji keys.
HANDS: dict[str, Callable[..., tuple[np.ndarray, list[str]]]] = {"faces": drawn_faces, "doodles": doodles}


def load_drawn(
    records: list[StickerRecord],
    per_expression: int,
    hands: tuple[str, ...] = ("faces",),
    seed: int = 0,
    size: int = STORE_SIZE,
) -> PictureSet | None:
    """The drawn training stickers whose emoji the library holds, each targeting that emoji:
    ``per_expression`` of every expression from each of ``hands``."""
    if per_expression <= 0 or not hands:
        return None
    unknown = sorted(set(hands) - set(HANDS))
    if unknown:
        raise UserError(f"unknown drawing hand {', '.join(unknown)}; known: {', '.join(HANDS)}")
    drawn = [HANDS[hand](per_expression, seed=seed, size=size) for hand in hands]
    pixels = np.concatenate([p for p, _ in drawn])
    keys = [k for _, ks in drawn for k in ks]
    by_key = record_keys(records)
    keep = np.array([k in by_key for k in keys])
    return PictureSet(
        pixels[keep],
        np.array([by_key[k] for k in keys if k in by_key], dtype=np.int64),
        ["drawn"] * int(keep.sum()),
        [k for k in keys if k in by_key],
    )


def load_clip_data(
    settings: Settings,
    *,
    progress: bool = True,
    fetch: bool = True,
    drawn_per_expression: int = 0,
    drawn_hands: tuple[str, ...] = ("faces",),
    extra_styles: tuple[str, ...] = (),
    size: int = STORE_SIZE,
) -> ClipData:
    """The training data, every picture kept at ``size`` px (``data.store_size``): the library's
    art, the training styles (with ``extra_styles``) and the held-out ones (for the dev split)."""
    from stickerbot.services import open_library
    from stickerbot.stickers.library import BUNDLED_PACK

    services = open_library(settings, progress=progress)
    library = services.library
    records = [r for r in library.records if r.pack == BUNDLED_PACK]
    vectors = services.index.get_vectors([r.id for r in records])
    missing = [r.id for r in records if r.id not in vectors]
    if missing:
        raise UserError(f"{len(missing)} bundled stickers are not in the text index: run `index build` first")
    styles = [*training_styles(extra_styles), *HELD_OUT_STYLES]
    out = art_dir(settings)
    if fetch:
        keys = {emoji_key(r.hexcode) for r in records if r.hexcode}
        fetch_styles(out, styles=styles, keys=keys, progress=progress)
    return ClipData(
        records=records,
        text_vectors=np.stack([vectors[r.id] for r in records]),
        text_embedder=services.index.embedder.name,
        library=load_library_art(records, library.path_of, size),
        art=load_art(out, styles, records, progress=progress, size=size),
        drawn=load_drawn(records, drawn_per_expression, drawn_hands, size=size),
    )


def train_clip(
    settings: Settings,
    *,
    config: ClipTrainConfig,
    out: Path | None = None,
    base: str | None = None,
    progress: bool = True,
) -> ClipTrainResult:
    """Train the small CNN, or with ``base`` (a Hub id or folder of a CLIP) fine-tune that CLIP's
    image tower into the same space, as Sticker820K's StickerCLIP does (a GPU is advised)."""
    data = load_clip_data(
        settings,
        progress=progress,
        drawn_per_expression=config.drawn_per_expression,
        drawn_hands=config.drawn_hands,
        extra_styles=config.extra_styles,
    )
    train, dev = data.train_set(), data.dev_set()
    log.info("StickerCLIP: %d training pictures, %d dev pictures", len(train), len(dev))
    model = None
    if base:
        from stickerbot.stickerclip.hub import HubClipEncoder

        model = HubClipEncoder.from_pretrained(
            base, dim=data.text_vectors.shape[1], text_embedder=data.text_embedder
        )
    default_out = hub_encoder_path(settings.data_dir) if base else trained_encoder_path(settings.data_dir)
    out = Path(out) if out else default_out
    trainer = ClipTrainer(
        train,
        data.text_vectors,
        out=out,
        state_path=settings.data_dir / "stickerclip" / ("train-state-hub.pt" if base else "train-state.pt"),
        model=model,
        config=config,
        encoder=EncoderConfig(dim=data.text_vectors.shape[1], text_embedder=data.text_embedder),
        dev=dev,
        free_hue=np.array([free_hue(r) for r in data.records]),
        metadata={
            "train_styles": [
                "library",
                *training_styles(config.extra_styles),
                *(["drawn"] if data.drawn is not None else []),
            ],
            "held_out_styles": list(HELD_OUT_STYLES),
            "held_out_emoji": "1 in 10, by hash",
        },
    )
    return trainer.run(progress=progress)


def train_expression(
    settings: Settings,
    *,
    config: ClipTrainConfig,
    head: HeadConfig = HEAD,
    encoder_path: Path | None = None,
    out: Path | None = None,
    progress: bool = True,
) -> ClipTrainResult:
    """Train the expression head of a StickerCLIP-lite encoder (the one in use: trained into the
    data directory, else the shipped one), frozen, on the emotions of the emoji art and the
    drawn faces; written beside the encoder unless ``out`` says otherwise."""
    from stickerbot.stickerclip.embedder import file_fingerprint
    from stickerbot.stickerclip.expression import ExpressionHead, ExpressionModel, head_pixels_config
    from stickerbot.stickerclip.model import load_encoder
    from stickerbot.stickerclip.paths import encoder_in_use, expression_head_path
    from stickerbot.stickers.labels import EMOTIONS

    encoder_path = Path(encoder_path) if encoder_path else encoder_in_use(settings.data_dir)
    if encoder_path is None or not encoder_path.is_file():
        raise UserError(f"no StickerCLIP-lite encoder file at {encoder_path}: run `train clip` first")
    encoder, _ = load_encoder(encoder_path)
    # Built first: a branch point outside the encoder is reported before minutes of data loading.
    expression_head = ExpressionHead(encoder, head)
    data = load_clip_data(
        settings,
        progress=progress,
        drawn_per_expression=config.drawn_per_expression,
        drawn_hands=config.drawn_hands,
        extra_styles=config.extra_styles,
        size=store_size(head_pixels_config(encoder.config, head).image_size),
    )
    if data.text_embedder != encoder.config.text_embedder:
        raise UserError(
            f"{encoder_path} was trained for {encoder.config.text_embedder}, the index uses {data.text_embedder}"
        )
    train, dev = data.train_set(), data.dev_set()
    log.info("expression head: %d training pictures, %d dev pictures", len(train), len(dev))
    fingerprint = file_fingerprint(encoder_path)
    model = ExpressionModel(encoder, expression_head, fingerprint)
    out = Path(out) if out else expression_head_path(encoder_path)
    trainer = ExpressionTrainer(
        train,
        np.array([EMOTIONS.index(r.emotion) for r in data.records]),
        classes=len(EMOTIONS),
        dev=dev,
        out=out,
        state_path=settings.data_dir / "stickerclip" / "train-state-expression.pt",
        model=model,
        config=config,
        free_hue=np.array([free_hue(r) for r in data.records]),
        metadata={
            "encoder_file": encoder_path.name,
            "train_styles": ["library", *training_styles(config.extra_styles), "drawn"],
        },
    )
    return trainer.run(progress=progress)
