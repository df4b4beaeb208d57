"""All settings in one place, read from the environment (``STICKERBOT_*``) at entry points.

Nothing else in the package reads ``os.environ`` for its own settings: entry points
build a :class:`Settings` and pass it down. Settings are not saved as a whole; what a built
thing depends on is recorded with it and checked when it is opened: an index collection
records its embedder's name and dimension, a retrieval-token checkpoint its backbone and
sticker embedder (``RetConfig``), the StickerCLIP encoder the text embedder it was trained into.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from stickerbot.errors import UserError
from stickerbot.stickers.images import ImageLimits

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ASSETS_DIR = PROJECT_ROOT / "assets"
BUNDLED_PACK_DIR = ASSETS_DIR / "stickers"
EVAL_DIR = ASSETS_DIR / "eval"
BUNDLED_DIALOGUES_DIR = ASSETS_DIR / "dialogues"
# Labelled user messages (no replies) that train the intent classifier beside the memory.
INTENT_EXAMPLES_DIR = ASSETS_DIR / "intents"


def _optional(env: Mapping[str, str], key: str, default: str | None) -> str | None:
    """A setting that can be switched off: unset -> ``default``; empty, "none" or "off" -> None."""
    if key not in env:
        return default
    value = env[key].strip()
    return None if value.lower() in ("", "none", "off") else value


def _default_data_dir() -> Path:
    return PROJECT_ROOT / "data"


def _url(env: Mapping[str, str], name: str) -> str | None:
    value = (env.get(name) or "").strip().rstrip("/")
    if value and not value.startswith(("http://", "https://")):
        raise UserError(f"{name} must be an http:// or https:// URL, got {value!r}")
    return value or None


def _int(env: Mapping[str, str], key: str, default: int) -> int:
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as err:
        raise UserError(f"setting {key}={raw!r} must be an integer") from err


def _bool(env: Mapping[str, str], key: str, default: bool) -> bool:
    raw = env.get(key)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise UserError(f"setting {key}={raw!r} must be true or false")


@dataclass(frozen=True)
class Settings:
    data_dir: Path = field(default_factory=_default_data_dir)
    # Text embedder of the sticker index: a name from `stickerbot.embeddings.list_embedders()`.
    embedder: str = "all-MiniLM-L6-v2"
    # Local folder that overrides where the embedder's weights are loaded from.
    embedder_path: str | None = None
    device: str = "cpu"
    # Image embedder for image -> sticker search and for reading stickers the library does not
    # hold: a name from `stickerbot.embeddings.list_image_embedders()`. The offline default is
    # the shipped StickerCLIP-lite encoder; None (STICKERBOT_IMAGE_EMBEDDER=none or empty)
    # searches images by perceptual hash and OCR only.
    image_embedder: str | None = "stickerclip-lite"
    # Local folder that overrides where the image embedder's weights are loaded from.
    image_embedder_path: str | None = None
    limits: ImageLimits = field(default_factory=ImageLimits)
    # Offline OCR (rapidocr-onnxruntime) when importing stickers and reading uploads.
    ocr: bool = True
    # Two stickers whose perceptual hashes differ in at most this many of 64 bits are duplicates.
    duplicate_bits: int = 3
    # HNSW search breadth of the Chroma index, fixed when the index is created. 1024 (with
    # 48 neighbours per node) keeps recall@10 against exact search >= 0.98 at 100k stickers
    # with p50 under 20 ms on 2 cores (`python -m stickerbot bench search`).
    hnsw_ef_search: int = 1024
    # Chat backbone: a name from `stickerbot.backbones.list_backbones()`.
    backbone: str = "smollm2-135m"
    # "auto" takes a GPU when torch sees one.
    backbone_device: str = "auto"
    # Local weights for llava-1.5-7b-4bit / glm-4bit instead of the Hub id.
    backbone_path: str | None = None
    # A LoRA adapter for the chat backbone (`train chat` writes one): a folder, "off", or None
    # (auto: the one `train chat` wrote for this backbone in data/adapters, else the shipped one).
    adapter_path: str | None = None
    # nf4 via bitsandbytes (works on CPU) for smollm2-135m and hf: backbones.
    quantize_4bit: bool = False
    # The CPU fast loop keeps bf16 copies of its weights for prompts and for steps of more than
    # 8 conversations (where the CPU multiplies bf16 natively): +270 MB for SmolLM2-135M.
    decoder_bf16: bool = False
    # For openai:<base url> backbones.
    openai_model: str | None = None
    openai_api_key: str | None = field(default=None, repr=False)
    # Embedder of the dialogue memory; None uses the sticker index's embedder.
    memory_embedder: str | None = None
    # A multilingual embedder the response selector also reads the languages of the memory's
    # embedder lacks with (MiniLM reads no Chinese); "off" for none. See the README's
    # measurements: on held-out dialogue sessions it lifted Chinese recall@1 of the true reply.
    selection_embedder: str | None = "use-multilingual-v3"
    # Chat defaults; the app's settings panel changes them per session.
    sticker_frequency: str = "occasional"
    language: str = "auto"
    max_new_tokens: int = 64
    # Retrieval tokens in the chat: "auto" uses a checkpoint for the backbone when one is
    # found (data/ret, then assets/checkpoints), "off" keeps plain retrieval. Off by default:
    # on the 135M default the <ret> pass changed no measured sticker fit and cost a tenth of
    # every turn, and its checkpoint was trained on the weights before the chat LoRA.
    retrieval_tokens: str = "off"
    # Where `python app.py` serves. A Space sets GRADIO_SERVER_NAME=0.0.0.0, which is honoured.
    host: str = "127.0.0.1"
    port: int = 7860
    # Chat turns the app runs at once (more queue). A local fast-loop model decodes the turns
    # that run together in one batch (backbones/batching.py, up to 16), so this is the batch
    # the app can form; other local backbones still take turns on their model.
    concurrency: int = 16
    # Browser sessions whose state the server keeps (the conversation, Retry, settings, and
    # Gradio's own copy of the page's config: about 114 KiB and 25 ms to set up each); the
    # least recently used goes first. Gradio's default of 10,000 could hold 1.1 GB, and every
    # API call without a session makes one. A tab whose session went goes on with the
    # browser's saved copy of its conversation (ui/saved_chat.recover).
    sessions: int = 1000
    # The key the browser's saved conversation is encrypted with (gr.BrowserState). None: a
    # random one per process, so a restart forgets saved chats; app replicas behind one
    # address need the same key.
    session_secret: str | None = None
    # A Chroma server (`chroma run --path DIR`) for the sticker index, the image index and the
    # dialogue memory, shared by app processes; None: an embedded Chroma in data_dir/index.
    chroma_url: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_dir", Path(self.data_dir).expanduser())
        for name, env in (("concurrency", "STICKERBOT_CONCURRENCY"), ("sessions", "STICKERBOT_SESSIONS")):
            if getattr(self, name) < 1:
                raise UserError(f"setting {env}={getattr(self, name)} must be at least 1")

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def index_location(self) -> Path | str:
        """Where the vector collections live: the Chroma server's URL, else the index folder."""
        return self.chroma_url or self.index_dir

    @property
    def packs_dir(self) -> Path:
        return self.data_dir / "packs"

    @property
    def bundled_pack_dir(self) -> Path:
        return BUNDLED_PACK_DIR

    @property
    def gradio_temp_dir(self) -> Path:
        """Where Gradio keeps uploads (GRADIO_TEMP_DIR): inside the data directory."""
        return self.data_dir / "gradio"

    @property
    def models_dir(self) -> Path:
        """Converted model caches (e.g. SmolLM2 from the wheel's GGUF)."""
        return self.data_dir / "models"

    @property
    def adapters_dir(self) -> Path:
        """LoRA adapters written by `python -m stickerbot train chat`."""
        return self.data_dir / "adapters"

    @property
    def dialogues_dir(self) -> Path:
        """Dialogue files added with `python -m stickerbot memory add`."""
        return self.data_dir / "dialogues"

    @property
    def bundled_dialogues_dir(self) -> Path:
        return BUNDLED_DIALOGUES_DIR

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides) -> Settings:
        env = os.environ if env is None else env
        defaults = cls()
        limits = ImageLimits(
            max_bytes=_int(env, "STICKERBOT_MAX_UPLOAD_BYTES", defaults.limits.max_bytes),
            max_pixels=_int(env, "STICKERBOT_MAX_PIXELS", defaults.limits.max_pixels),
            max_frames=_int(env, "STICKERBOT_MAX_FRAMES", defaults.limits.max_frames),
        )
        settings = cls(
            data_dir=Path(env.get("STICKERBOT_DATA_DIR") or defaults.data_dir).expanduser(),
            embedder=env.get("STICKERBOT_EMBEDDER") or defaults.embedder,
            embedder_path=env.get("STICKERBOT_EMBEDDER_PATH") or None,
            device=env.get("STICKERBOT_DEVICE") or defaults.device,
            image_embedder=_optional(env, "STICKERBOT_IMAGE_EMBEDDER", defaults.image_embedder),
            image_embedder_path=env.get("STICKERBOT_IMAGE_EMBEDDER_PATH") or None,
            limits=limits,
            ocr=_bool(env, "STICKERBOT_OCR", defaults.ocr),
            duplicate_bits=_int(env, "STICKERBOT_DUPLICATE_BITS", defaults.duplicate_bits),
            hnsw_ef_search=_int(env, "STICKERBOT_HNSW_EF_SEARCH", defaults.hnsw_ef_search),
            backbone=env.get("STICKERBOT_BACKBONE") or defaults.backbone,
            backbone_device=env.get("STICKERBOT_BACKBONE_DEVICE") or defaults.backbone_device,
            backbone_path=env.get("STICKERBOT_BACKBONE_PATH") or None,
            # "auto" names the default (empty) for those who would rather write it out.
            adapter_path=None
            if env.get("STICKERBOT_ADAPTER", "").strip().lower() in ("", "auto")
            else env["STICKERBOT_ADAPTER"],
            quantize_4bit=_bool(env, "STICKERBOT_QUANTIZE_4BIT", defaults.quantize_4bit),
            decoder_bf16=_bool(env, "STICKERBOT_DECODER_BF16", defaults.decoder_bf16),
            openai_model=env.get("STICKERBOT_OPENAI_MODEL") or None,
            openai_api_key=env.get("STICKERBOT_OPENAI_API_KEY") or None,
            memory_embedder=env.get("STICKERBOT_MEMORY_EMBEDDER") or None,
            selection_embedder=env.get("STICKERBOT_SELECTION_EMBEDDER") or defaults.selection_embedder,
            sticker_frequency=env.get("STICKERBOT_STICKER_FREQUENCY") or defaults.sticker_frequency,
            language=env.get("STICKERBOT_LANGUAGE") or defaults.language,
            max_new_tokens=_int(env, "STICKERBOT_MAX_NEW_TOKENS", defaults.max_new_tokens),
            retrieval_tokens=env.get("STICKERBOT_RETRIEVAL_TOKENS") or defaults.retrieval_tokens,
            host=env.get("STICKERBOT_HOST") or env.get("GRADIO_SERVER_NAME") or defaults.host,
            port=_int(env, "GRADIO_SERVER_PORT", defaults.port),
            concurrency=_int(env, "STICKERBOT_CONCURRENCY", defaults.concurrency),
            sessions=_int(env, "STICKERBOT_SESSIONS", defaults.sessions),
            session_secret=env.get("STICKERBOT_SESSION_SECRET") or None,
            chroma_url=_url(env, "STICKERBOT_CHROMA_URL"),
        )
        return replace(settings, **overrides) if overrides else settings

    def to_dict(self) -> dict:
        data = asdict(self)
        data["data_dir"] = str(self.data_dir)
        if data["openai_api_key"]:
            data["openai_api_key"] = "***"  # whoever prints or writes settings must not leak the key
        if data["session_secret"]:
            data["session_secret"] = "***"
        return data
