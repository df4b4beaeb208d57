"""StickerCLIP-lite as an :class:`~stickerbot.embeddings.image.ImageEmbedder`.

Its vectors live in the text index's space (``text_embedder`` in the weights' metadata), so a
picture can be compared with stickers' pictures and with their annotation vectors alike. When
an expression head trained on this encoder lies beside its weights
(``stickerclip.expression``), it also says which emotion a picture shows, from the same
forward pass up to where the head branches off (or, for a head that reads a larger picture,
from its own pass of the trunk).

The passes run as programs of ``stickerclip.runtime`` (ONNX Runtime by default), made once per
process from the torch modules.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from stickerbot.embeddings.base import EmbedderLoadError, shared_model
from stickerbot.stickerclip.expression import ExpressionHead, face_crop, head_pixels_config, load_head
from stickerbot.stickerclip.model import EncoderLoadError, StickerEncoder, load_encoder, to_pixels
from stickerbot.stickerclip.paths import expression_head_path
from stickerbot.stickerclip.runtime import Program, compile_program


def file_fingerprint(path: Path) -> str:
    """What the weights at ``path`` are: a hash of the file, or of a fine-tuned CLIP folder's
    files."""
    path = Path(path)
    digest = hashlib.sha256()
    for file in sorted(path.rglob("*")) if path.is_dir() else [path]:
        if file.is_file():
            digest.update(file.name.encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()[:12]


class SharedPass(nn.Module):
    """Pixels -> (vectors, the head's probabilities) in one pass of the trunk: for a head that
    reads the encoder's own size."""

    def __init__(self, encoder: StickerEncoder, head: ExpressionHead):
        super().__init__()
        self.encoder, self.head = encoder, head

    def forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        start = self.head.config.from_block
        features = self.encoder.trunk(pixels, start)
        return self.encoder.tail(features, start), torch.softmax(self.head(features), dim=-1)


class HeadPass(nn.Module):
    """Pixels at the head's size -> the head's probabilities, from its own pass of the trunk."""

    def __init__(self, encoder: StickerEncoder, head: ExpressionHead):
        super().__init__()
        self.encoder, self.head = encoder, head

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.head(self.encoder.trunk(pixels, self.head.config.from_block)), dim=-1)


@dataclass(frozen=True)
class Programs:
    """The embedder's passes, compiled once: vectors alone; and with a head, either vectors and
    probabilities from one pass (``shared``) or the head's own pass (``head``)."""

    vectors: Program
    shared: Program | None = None
    head: Program | None = None


class LiteImageEmbedder:
    def __init__(
        self,
        name: str,
        path: str | Path,
        *,
        batch_size: int = 64,
        runtime: str = "onnx",
        cache_dir: Path | None = None,
    ):
        """``runtime``: what runs the passes (``stickerclip.runtime.RUNTIMES``); ``cache_dir``:
        where the runtime may keep what it made of them (else it is made at every start)."""
        self.name = name
        self.path = Path(path)

        def load():
            try:
                return load_encoder(self.path)
            except EncoderLoadError as err:
                raise EmbedderLoadError(str(err)) from err

        if not self.path.exists():
            load()  # raises the clear error
        self.fingerprint = file_fingerprint(self.path)
        self._model, _ = shared_model(("stickerclip-lite", str(self.path.resolve()), self.fingerprint), load)
        self.dim = self._model.config.dim
        self.text_embedder = self._model.config.text_embedder
        self.batch_size = batch_size
        self._head = None
        head_fingerprint = "none"
        head_path = expression_head_path(self.path) if self.path.is_file() else None
        if head_path is not None and head_path.is_file():
            head_fingerprint = file_fingerprint(head_path)
            key = ("stickerclip-expression", str(head_path.resolve()), head_fingerprint, self.fingerprint)
            try:
                self._head = shared_model(key, lambda: load_head(head_path, self._model, self.fingerprint))
            except EncoderLoadError as err:
                raise EmbedderLoadError(str(err)) from err
        if not isinstance(self._model, StickerEncoder):
            runtime = "torch"  # a fine-tuned Hub CLIP: large, and on whatever device it was put
        threads = torch.get_num_threads()
        # Named by everything the compiled graph depends on: a changed file makes a new one.
        stem = f"{self.fingerprint}-{head_fingerprint}-torch{torch.__version__}"
        self._programs: Programs = shared_model(
            ("stickerclip-lite-programs", runtime, threads, id(self._model), id(self._head)),
            lambda: self._compile(runtime, threads, cache_dir, stem),
        )

    def _compile(self, runtime: str, threads: int, cache_dir: Path | None, stem: str) -> Programs:
        def make(part: str, module: nn.Module, size: int) -> Program:
            cache = cache_dir / f"{stem}-{part}.onnx" if cache_dir is not None else None
            return compile_program(module, size, runtime=runtime, threads=threads, cache=cache)

        size = self._model.config.image_size
        vectors = make("vectors", self._model, size)
        if self._head is None:
            return Programs(vectors)
        if self.head_has_own_pass:
            head_size = head_pixels_config(self._model.config, self._head.config).image_size
            return Programs(
                vectors, head=make(f"head{head_size}", HeadPass(self._model, self._head), head_size)
            )
        return Programs(vectors, shared=make("shared", SharedPass(self._model, self._head), size))

    @property
    def runtime(self) -> str:
        """What runs the passes ("onnx", or "torch" when the export was not possible)."""
        return self._programs.vectors.runtime

    @property
    def expression_labels(self) -> tuple[str, ...] | None:
        """The emotions the expression head names, or None without a head."""
        return None if self._head is None else self._head.config.labels

    def encode_images(self, images: list[Image.Image]) -> np.ndarray:
        return self._encode(images, with_head=False)[0]

    def encode_with_expressions(self, images: list[Image.Image]) -> tuple[np.ndarray, np.ndarray | None]:
        """(vectors, (N, labels) probabilities of the expression head, or None without one): the
        trunk runs once for both when the head reads the encoder's size."""
        return self._encode(images, with_head=self._head is not None)

    @property
    def head_has_own_pass(self) -> bool:
        """Whether the expression head reads its own, larger pass of the trunk (then worth
        running only for the pictures whose reading needs it); False without a head."""
        return self._head is not None and self._head.config.reads_own_pass(self._model.config.image_size)

    def expressions(self, images: list[Image.Image]) -> np.ndarray | None:
        """The expression head's (N, labels) probabilities alone, or None without a head: for a
        caller that has the vectors and needs the head's reading of only some pictures."""
        if self._head is None:
            return None
        if not images:
            return np.zeros((0, len(self._head.config.labels)), dtype=np.float32)
        batches = range(0, len(images), self.batch_size)
        return np.concatenate([self._head_read(images[i : i + self.batch_size]) for i in batches])

    def _head_read(self, images: list[Image.Image]) -> np.ndarray:
        """The head's reading from its own pass: the surer of its readings of the whole picture
        and of a closer look at its face (``expression.face_crop``), both in one pass (on one
        core two pictures cost 17 ms in one pass, 22 ms in two)."""
        probs = self._head_pass([p for image in images for p in (image, face_crop(image))])
        probs = probs.reshape(len(images), 2, -1)
        surer = probs.max(axis=2).argmax(axis=1)
        return probs[np.arange(len(images)), surer]

    def _head_pass(self, images: list[Image.Image]) -> np.ndarray:
        """The head's probabilities from its own pass of the trunk, at its size."""
        pixels = to_pixels(images, head_pixels_config(self._model.config, self._head.config))
        return self._programs.head(pixels)[0]

    def _encode(self, images: list[Image.Image], *, with_head: bool) -> tuple[np.ndarray, np.ndarray | None]:
        if not images:
            return np.zeros((0, self.dim), dtype=np.float32), None
        vectors, probs = [], []
        for start in range(0, len(images), self.batch_size):
            batch = images[start : start + self.batch_size]
            pixels = to_pixels(batch, self._model.config)
            if with_head and not self.head_has_own_pass:
                batch_vectors, batch_probs = self._programs.shared(pixels)
                vectors.append(batch_vectors)
                probs.append(batch_probs)
                continue
            # any encoder (a fine-tuned Hub CLIP has no trunk to share)
            vectors.append(self._programs.vectors(pixels)[0])
            if with_head:
                probs.append(self._head_read(batch))
        return (
            np.concatenate(vectors).astype(np.float32),
            np.concatenate(probs).astype(np.float32) if with_head else None,
        )
