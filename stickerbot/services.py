"""Composition: everything built from :class:`Settings`, in this one module.

The library, embedder, index and search (:func:`open_library`); the chat backbone
(:func:`open_backbone`), the dialogue memory and the models trained on it, retrieval-token
checkpoints, and the :class:`~stickerbot.chat.service.ChatService` over them (:func:`open_chat`).
Entry points (CLI, app, agents, trainers) open what they need here rather than wiring parts.

Entry points call :func:`open_library`; it brings the index (and the
image index, when an image embedder is configured) up to date with the library
on the way, incrementally, with a progress bar.

The services are read-only for every request except one kind of write,
:meth:`LibraryServices.import_pack`, which runs one at a time and swaps in the
grown library when it is done.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from stickerbot.backbones.adapters import OFF as ADAPTER_OFF
from stickerbot.config import ASSETS_DIR, INTENT_EXAMPLES_DIR, Settings
from stickerbot.embeddings import ImageEmbedder, TextEmbedder, create_image_embedder, create_text_embedder
from stickerbot.errors import UserError
from stickerbot.importer import ImportReport, PackImporter
from stickerbot.index.collection import drop_collections
from stickerbot.index.images import StickerImageIndex
from stickerbot.index.store import StickerIndex, text_hash
from stickerbot.index.vector_cache import cache_path, load_vectors, save_vectors
from stickerbot.retrieval.search import LibraryWatch, StickerSearch
from stickerbot.stickers.images import BadImageError, ImageLimits, LoadedImage, load_image
from stickerbot.stickers.library import BUNDLED_PACK, Library
from stickerbot.stickers.ocr import LazyOcr, OcrEngine

log = logging.getLogger(__name__)


@dataclass
class LibraryServices:
    settings: Settings
    library: Library
    embedder: TextEmbedder
    index: StickerIndex
    search: StickerSearch
    ocr: OcrEngine | None
    # Only when settings.image_embedder is set.
    image_index: StickerImageIndex | None = None
    # With a shared Chroma server: notices packs other processes imported (LibraryWatch).
    watch: LibraryWatch | None = None
    # Held for the whole of an import. Two imports at once would each miss the other's
    # stickers when looking for duplicates, could write the same pack's manifest, and
    # would each swap in a library without the other's pack. Searches never take it.
    _import_lock: threading.Lock = field(
        default_factory=threading.Lock, init=False, repr=False, compare=False
    )

    def import_pack(
        self,
        source: Path,
        *,
        pack: str | None = None,
        sidecar_path: Path | None = None,
        keep_duplicates: bool = False,
        ocr: OcrEngine | None = None,
        workers: int = 2,
        progress: bool = False,
    ) -> ImportReport:
        """Import a pack (folder or .zip) and make its stickers searchable by :attr:`search`.

        The importer writes the pack folder, its manifest and the index entries; the
        stickers become visible to searches only when the import has finished, when
        :attr:`search` swaps to the grown library (see :meth:`StickerSearch.refresh`).
        ``ocr`` defaults to the services' engine. Raises :class:`ImportBusyError` at
        once, rather than queueing, when another import is running; ``SourceError``
        and ``ValueError`` for a source or pack name that cannot be imported.
        """
        if not self._import_lock.acquire(blocking=False):
            raise ImportBusyError("another sticker pack is being imported; try again when it has finished")
        try:
            importer = PackImporter(
                self.library,
                self.index,
                self.settings.packs_dir,
                limits=self.settings.limits,
                ocr=self.ocr if ocr is None else ocr,
                duplicate_bits=self.settings.duplicate_bits,
                workers=workers,
                image_index=self.image_index,
                reader=self.search.picture_reader(),
            )
            try:
                return importer.run(
                    Path(source),
                    pack=pack,
                    sidecar_path=sidecar_path,
                    keep_duplicates=keep_duplicates,
                    progress=progress,
                )
            finally:
                # Also after a failure midway: what was saved by then is in the manifest
                # (and mostly in the index), and is shown rather than hidden until a restart.
                self._reload_library()
                self._announce_library()
        finally:
            self._import_lock.release()

    def _announce_library(self) -> None:
        """Bump the library version in the shared index, so other processes reload theirs."""
        if self.settings.chroma_url is None:
            return
        stamp = f"{time.time_ns()}-{os.getpid()}"
        if self.watch is not None:
            self.watch.saw(stamp)
        self.index.set_stamp(stamp)

    def _reload_library(self) -> None:
        library = Library.load(self.settings.bundled_pack_dir, self.settings.packs_dir)
        self.search.refresh(library)
        self.library = library


class ImportBusyError(UserError, RuntimeError):
    pass


def open_index(settings: Settings, embedder: TextEmbedder | None = None) -> StickerIndex:
    embedder = embedder or create_text_embedder(
        settings.embedder, path=settings.embedder_path, device=settings.device
    )
    return StickerIndex(settings.index_location, embedder, ef_search=settings.hnsw_ef_search)


def bundled_vectors_path(bundled_dir: Path, embedder: TextEmbedder) -> Path:
    return cache_path(bundled_dir / "vectors", embedder.name, embedder.dim)


def bundled_image_vectors_path(bundled_dir: Path, embedder: ImageEmbedder) -> Path:
    return cache_path(bundled_dir / "vectors", f"image-{embedder.name}", embedder.dim)


def export_bundled_vectors(index: StickerIndex, library: Library) -> Path:
    """Write the bundled pack's vectors from the index into the pack, for fast first starts."""
    records = [r for r in library.records if r.pack == BUNDLED_PACK]
    hashes = [text_hash(r.index_text(index.embedder.languages)) for r in records]
    path = bundled_vectors_path(library.pack_dirs[BUNDLED_PACK], index.embedder)
    return _export(index, records, hashes, path)


def export_bundled_image_vectors(index: StickerImageIndex, library: Library) -> Path:
    """The same for the image index: the shipped encoder's vectors of the bundled pictures."""
    records = [r for r in library.records if r.pack == BUNDLED_PACK]
    path = bundled_image_vectors_path(library.pack_dirs[BUNDLED_PACK], index.embedder)
    return _export(index, records, [index.marker(r.sha256) for r in records], path)


def _export(index, records: list, markers: list[str], path: Path) -> Path:
    ids = [r.id for r in records]
    vectors = index.get_vectors(ids)
    missing = [i for i in ids if i not in vectors]
    if missing:
        raise UserError(f"{len(missing)} bundled stickers are not indexed yet: run `index build` first")
    save_vectors(path, ids, markers, np.stack([vectors[i] for i in ids]))
    return path


def sync_index(index: StickerIndex, library: Library, *, progress: bool = True) -> int:
    """Embed what the index lacks, drop what the library no longer has; returns stickers embedded."""
    items = [(r.id, r.index_text(index.embedder.languages)) for r in library.records]
    precomputed = {}
    bundled_dir = library.pack_dirs.get(BUNDLED_PACK)
    if bundled_dir is not None:
        embedder = index.embedder
        precomputed = load_vectors(bundled_vectors_path(bundled_dir, embedder), embedder.dim)
    return _run_sync(
        index,
        library,
        lambda advance: index.sync(items, progress=advance, precomputed=precomputed),
        what="indexing stickers",
        progress=progress,
    )


def _run_sync(index, library: Library, sync, *, what: str, progress: bool) -> int:
    """Run ``sync(progress_callback)`` under a progress bar, then drop ids the library no longer has."""
    bar = tqdm(total=0, desc=what, unit="sticker", disable=not progress, leave=False)

    def advance(done: int, total: int) -> None:
        bar.total = total
        bar.update(done)

    written = sync(advance)
    bar.close()
    stale = set(index.stored_hashes()) - set(library.by_id)
    if stale:
        index.delete(sorted(stale))
        log.info("%s: removed %d stickers that are no longer in the library", what, len(stale))
    if written:
        log.info("%s: %d stickers (%d in the index)", what, written, len(index))
    return written


def open_image_index(settings: Settings, embedder: ImageEmbedder | None = None) -> StickerImageIndex | None:
    """The image index in the text index's folder, or None when no image embedder is configured."""
    if embedder is None:
        if not settings.image_embedder:
            return None
        embedder = create_image_embedder(
            settings.image_embedder,
            path=settings.image_embedder_path,
            device=settings.device,
            data_dir=settings.data_dir,
        )
    return StickerImageIndex(settings.index_location, embedder, ef_search=settings.hnsw_ef_search)


def sync_image_index(
    index: StickerImageIndex, library: Library, *, limits: ImageLimits | None = None, progress: bool = True
) -> int:
    """Embed the images the index lacks, drop what the library no longer has; returns stickers embedded."""
    items = [(r.id, r.sha256) for r in library.records]
    bundled_dir = library.pack_dirs.get(BUNDLED_PACK)
    precomputed = {}
    if bundled_dir is not None:
        precomputed = load_vectors(
            bundled_image_vectors_path(bundled_dir, index.embedder), index.embedder.dim
        )

    def load(sticker_id: str) -> LoadedImage | None:
        path = library.path_of(library.by_id[sticker_id])
        try:
            return load_image(path.read_bytes(), limits)
        except (OSError, BadImageError) as err:
            # One unreadable file must not stop the app from starting; it is retried next time.
            log.warning("cannot embed the image of %s (%s): %s", sticker_id, path, err)
            return None

    return _run_sync(
        index,
        library,
        lambda advance: index.sync(items, load, progress=advance, precomputed=precomputed),
        what="embedding sticker images",
        progress=progress,
    )


def drop_index(settings: Settings) -> str:
    """Forget every vector collection (`index rebuild`): the index folder, or the sticker,
    image and memory collections of the Chroma server. Returns what was removed."""
    from stickerbot.memory.store import DialogueIndex

    if settings.chroma_url is None:
        if not settings.index_dir.exists():
            return "no index to remove"
        shutil.rmtree(settings.index_dir)
        return f"removed the index at {settings.index_dir}"
    names = [cls.default_collection for cls in (StickerIndex, StickerImageIndex, DialogueIndex)]
    dropped = drop_collections(settings.chroma_url, names)
    return f"removed the collections {', '.join(dropped) or '(none)'} from {settings.chroma_url}"


def open_library(
    settings: Settings,
    *,
    progress: bool = True,
    embedder: TextEmbedder | None = None,
    ocr: OcrEngine | None = None,
    image_embedder: ImageEmbedder | None = None,
) -> LibraryServices:
    """``embedder`` and ``image_embedder`` replace the ones the settings name (tests, benchmarks)."""
    library = Library.load(settings.bundled_pack_dir, settings.packs_dir)
    index = open_index(settings, embedder)
    # Opened before any sync so that a misconfigured image embedder fails fast.
    image_index = open_image_index(settings, image_embedder)
    sync_index(index, library, progress=progress)
    if image_index is not None:
        sync_image_index(image_index, library, limits=settings.limits, progress=progress)
    if ocr is None and settings.ocr:
        ocr = LazyOcr()
    search = StickerSearch(library, index, ocr=ocr, image_index=image_index)
    services = LibraryServices(settings, library, index.embedder, index, search, ocr, image_index)
    if settings.chroma_url is not None:
        # Other app processes share this index and the data directory: a pack one of them
        # imports shows here once it bumps the library version (checked at most every second).
        services.watch = LibraryWatch(index.stamp, services._reload_library)
        search.watch(services.watch)
    return services


# --- the conversation engine ----------------------------------------------------------------------


def backbone_options(settings: Settings) -> dict:
    """Factory options for ``settings.backbone`` from the settings.

    Where things live (``cache_dir``) and run (``device``) are offered to every backbone that
    takes them; what a user set on purpose (an adapter, 4-bit, a model name, a key) is always
    passed, so a backbone that cannot use it refuses with the setting's name.
    """
    from stickerbot.backbones.registry import SETTING, accepted_options, get_spec

    spec, _ = get_spec(settings.backbone)
    accepted = accepted_options(settings.backbone)
    offered = {
        "cache_dir": settings.models_dir / spec.name,
        "device": settings.backbone_device,
        # Found, not chosen: the adapter `train chat` wrote, or the shipped one.
        "adapter_path": find_adapter(settings) if settings.adapter_path is None else None,
    }
    options = {k: v for k, v in offered.items() if k in accepted and v is not None}
    explicit_adapter = settings.adapter_path
    if explicit_adapter is not None and explicit_adapter.lower() in ADAPTER_OFF:
        explicit_adapter = None
    chosen = {
        "STICKERBOT_BACKBONE_PATH": ("path", settings.backbone_path),
        "STICKERBOT_ADAPTER": ("adapter_path", explicit_adapter),
        "STICKERBOT_QUANTIZE_4BIT": ("quantize_4bit", settings.quantize_4bit or None),
        "STICKERBOT_DECODER_BF16": ("bf16_copies", settings.decoder_bf16 or None),
        "STICKERBOT_OPENAI_MODEL": ("model", settings.openai_model),
        "STICKERBOT_OPENAI_API_KEY": ("api_key", settings.openai_api_key),
    }
    for setting, (option, value) in chosen.items():
        if value is None:
            continue
        if option not in accepted:
            raise UserError(
                f"{setting} is set, but the backbone {settings.backbone!r} ({SETTING}) does not use it; "
                f"unset it or choose a backbone that does"
            )
        options[option] = value
    return options


def find_adapter(settings: Settings) -> Path | None:
    """The LoRA chat adapter for the configured backbone: the one `train chat` finished in the data
    directory, else the one shipped in assets/checkpoints, else None."""
    from stickerbot.backbones.adapters import adapter_dir_name, is_adapter, read_meta

    name = adapter_dir_name(settings.backbone)
    trained = settings.adapters_dir / name
    if is_adapter(trained) and read_meta(trained).get("complete"):
        return trained
    shipped = ASSETS_DIR / "checkpoints" / name
    return shipped if is_adapter(shipped) else None


def open_backbone(settings: Settings, *, call_timeout: float | None = None):
    """The configured chat backbone. ``call_timeout`` (seconds) bounds each call of a backbone
    served elsewhere (its read timeout; connecting waits at most 10 s of it); backbones in this
    process take no timeout and ignore it."""
    from stickerbot.backbones.registry import accepted_options, create_backbone

    options = backbone_options(settings)
    if call_timeout is not None:
        accepted = accepted_options(settings.backbone)
        if "read_timeout" in accepted:
            options["read_timeout"] = call_timeout
        if "connect_timeout" in accepted:
            options["connect_timeout"] = min(10.0, call_timeout)
    return create_backbone(settings.backbone, **options)


def open_memory(settings: Settings, embedder: TextEmbedder | None = None, *, progress: bool = True):
    """The dialogue memory: bundled dialogues plus those added with `memory add`, synced into Chroma."""
    from stickerbot.memory.store import DialogueMemory

    name = settings.memory_embedder or settings.embedder
    if embedder is None or embedder.name != name:
        path = settings.embedder_path if name == settings.embedder else None
        embedder = create_text_embedder(name, path=path, device=settings.device)
    bar = tqdm(total=0, desc="indexing dialogues", unit="exchange", disable=not progress, leave=False)

    def advance(done: int, total: int) -> None:
        bar.total = total
        bar.update(done)

    try:
        return DialogueMemory.open(
            settings.index_location,
            embedder,
            [settings.bundled_dialogues_dir, settings.dialogues_dir],
            progress=advance,
        )
    finally:
        bar.close()


def open_ret_model(settings: Settings, backbone, *, sticker_embedder: str, path: Path | None = None):
    """The retrieval-token model for ``backbone`` from its checkpoint (``path``, else the one
    :func:`~stickerbot.retrieval_tokens.checkpoint.find_checkpoint` finds), or None when there is none.

    CheckpointMismatch when the checkpoint found was trained on something else.
    """
    from stickerbot.retrieval_tokens.checkpoint import find_checkpoint, load_checkpoint, local_lm_for_ret

    path = path or find_checkpoint(settings)
    if path is None:
        return None
    lm = local_lm_for_ret(backbone)
    return load_checkpoint(
        path,
        lm.model,
        lm.tokenizer,
        render=lm.render,
        backbone=settings.backbone,
        sticker_embedder=sticker_embedder,
    )


def require_ret_model(settings: Settings, services: LibraryServices):
    """The configured backbone's retrieval-token model, for evaluations; a UserError naming
    `train ret` when there is no checkpoint for it."""
    from stickerbot.retrieval_tokens.features import sticker_vectors

    model = open_ret_model(settings, open_backbone(settings), sticker_embedder=sticker_vectors(services).name)
    if model is None:
        raise UserError(
            f"no retrieval-token checkpoint for backbone {settings.backbone!r}: run `python -m stickerbot train ret`"
        )
    return model


def open_ret_querier(settings: Settings, services: LibraryServices, backbone):
    """The chat's <ret> path for ``backbone``, or None (setting off, no checkpoint, or a
    backbone whose weights live elsewhere). A checkpoint trained for other weights is
    reported and skipped: the chat then keeps plain retrieval."""
    if settings.retrieval_tokens == "off":
        return None
    if settings.retrieval_tokens != "auto":
        raise UserError(f"STICKERBOT_RETRIEVAL_TOKENS must be auto or off, got {settings.retrieval_tokens!r}")
    from stickerbot.backbones.base import BackboneError
    from stickerbot.retrieval_tokens.checkpoint import CheckpointMismatch, find_checkpoint
    from stickerbot.retrieval_tokens.features import image_features, sticker_vectors
    from stickerbot.retrieval_tokens.query import RetQuerier

    path = find_checkpoint(settings)
    if path is None:
        return None
    try:
        model = open_ret_model(settings, backbone, sticker_embedder=sticker_vectors(services).name, path=path)
    except (CheckpointMismatch, BackboneError) as err:
        log.warning("retrieval tokens off, plain retrieval instead: %s", err)
        return None
    log.info("retrieval tokens on: %s", path)
    return RetQuerier(model, image_features(services).for_ids)


def open_selection_embedder(settings: Settings):
    """The multilingual embedder the response selector reads the languages of the memory's
    embedder does not cover with (Chinese, offline), or None when the setting is off."""
    name = settings.selection_embedder
    if not name or name.lower() in ("off", "none"):
        return None
    return create_text_embedder(name, device=settings.device)


def open_reply_models(
    memory,
    *,
    cache_dir: Path | None = None,
    selection_embedder=None,
    intent_examples: Path | None = INTENT_EXAMPLES_DIR,
):
    """The models the chat trains on its dialogue memory at start-up (weights cached in
    ``cache_dir`` under a hash of the data): the intent classifier (also taught by the labelled
    messages of ``intent_examples``), the reply tone model and the response selector, each
    reading texts with the memory's embedder and, when given, the multilingual
    ``selection_embedder`` too. Returns (perceiver, checker, selector)."""
    from stickerbot.chat.checks import ReplyChecker
    from stickerbot.chat.classifier import classifier_from_memory
    from stickerbot.chat.examples import load_intent_examples
    from stickerbot.chat.intents import load_taxonomy
    from stickerbot.chat.perceive import IntentPerceiver
    from stickerbot.chat.selection import selector_from_memory

    taxonomy = load_taxonomy()
    known = set(taxonomy.names)
    intents = classifier_from_memory(
        memory,
        "intent-classifier",
        lambda e: e.intent if e.intent in known else None,
        taxonomy.names,
        cache_dir=cache_dir,
        extra=selection_embedder,
        more=load_intent_examples(intent_examples, known),
    )
    tone = tone_model_from_memory(memory, cache_dir=cache_dir, extra=selection_embedder)
    selector = selector_from_memory(memory, cache_dir=cache_dir, extra=selection_embedder)
    return IntentPerceiver(intents), ReplyChecker(taxonomy, tone), selector


def tone_model_from_memory(memory, *, cache_dir: Path | None = None, extra=None):
    """A classifier of a reply's register (which polarity of message it answers), trained on the
    memory's replies labelled by their turn's intent; None when too few are labelled."""
    from stickerbot.chat.checks import ToneModel
    from stickerbot.chat.classifier import TextClassifier, train_cached, views_of
    from stickerbot.chat.intents import POLARITIES, load_taxonomy

    taxonomy = load_taxonomy()
    labelled = [
        (e.system_message, e.lang, taxonomy[e.intent].polarity)
        for e in memory.exchanges
        if e.intent in taxonomy and e.system_message.strip()
    ]
    if len(labelled) < 50:
        return None
    views = views_of(memory.index.embedder, extra)

    def fit():
        return TextClassifier.fit(
            [t for t, _, _ in labelled],
            [lang for _, lang, _ in labelled],
            [p for _, _, p in labelled],
            [1.0] * len(labelled),
            views=views,
            label_set=POLARITIES,
        )

    classifier = train_cached(
        "reply-tone", fit, labelled, cache_dir=cache_dir, views=views, labels=POLARITIES
    )
    return ToneModel(classifier)


def selection_weights(backbone):
    """How far ``backbone``'s words are trusted against the memory's and strategy replies: what
    its registered spec measured (``BackboneSpec.reply_prior``, ``reply_intents``); a backbone
    no spec names (a test's) is trusted like any candidate."""
    from stickerbot.backbones.registry import get_spec
    from stickerbot.chat.compose import SelectionWeights

    if backbone is None:
        return SelectionWeights()
    try:
        spec, _ = get_spec(backbone.name)
    except UserError:
        return SelectionWeights()
    return SelectionWeights(prior_model=spec.reply_prior, model_intents=spec.reply_intents)


def open_chat(
    settings: Settings,
    services: LibraryServices,
    *,
    backbone=None,
    memory=None,
    progress: bool = True,
    use_backbone: bool = True,
):
    """The ChatService over ``services``; ``backbone`` and ``memory`` replace the configured ones
    (tests); ``use_backbone=False`` answers from the memory and strategy replies only (no model
    is loaded: evaluations of perception and stickers)."""
    from stickerbot.chat.compose import ReplyComposer
    from stickerbot.chat.service import ChatService
    from stickerbot.chat.strategies import StrategyReplies
    from stickerbot.chat.types import ChatOptions

    memory = memory if memory is not None else open_memory(settings, services.embedder, progress=progress)
    if backbone is None and use_backbone:
        backbone = open_backbone(settings)
    options = ChatOptions(
        frequency=settings.sticker_frequency,
        language=settings.language,
        max_new_tokens=settings.max_new_tokens,
    )
    perceiver, checker, selector = open_reply_models(
        memory, cache_dir=settings.models_dir, selection_embedder=open_selection_embedder(settings)
    )
    weights = selection_weights(backbone)
    # The <ret> pass needs the backbone's own weights.
    ret = open_ret_querier(settings, services, backbone) if backbone is not None else None
    chat = ChatService(
        backbone,
        services.search,
        memory,
        perceiver=perceiver,
        composer=ReplyComposer(backbone, checker, StrategyReplies.load(), selector, weights),
        options=options,
        limits=settings.limits,
        duplicate_bits=settings.duplicate_bits,
        ret=ret,
    )
    chat.warm_up()
    return chat
