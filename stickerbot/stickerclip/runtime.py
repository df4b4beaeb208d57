"""Where the lite encoder's inference runs: ONNX Runtime (the default), or torch.

The torch modules stay the one definition of the encoder and its head (training, checkpoints,
tests). For inference a module is exported to ONNX once and run by onnxruntime,
which OCR already brings. On one core it ran the encoder's 64 px pass in 2.7 ms against torch's
6-7 ms, and the head's 96 px pass of two pictures in 12 ms against 17-19 ms; a batch of 64 in 93
against 188 ms on two cores. That is what keeps a picture inside the 30 ms budget (README,
``bench images``). Torch's eager loop pays its dispatch per operator, and its convolutions for
single small pictures are not tuned the way onnxruntime's fused ones are.

The export takes about a second, most of it importing the exporter, so the exported graph is
kept in a cache file when the caller names one (the data directory's ``stickerclip/onnx``,
keyed by the weights' fingerprints): a later start only opens it. A module that cannot be
exported (no ``onnx`` package, an operator the exporter lacks) runs in torch, with a warning:
slower, never wrong.
"""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from stickerbot.atomic import atomic_path

log = logging.getLogger(__name__)

OPSET = 17


@dataclass(frozen=True)
class Program:
    """A compiled pass: pixels (N, 3, S, S) in [0, 1] -> the module's outputs as float32 arrays."""

    runtime: str
    run: Callable[[torch.Tensor], tuple[np.ndarray, ...]]

    def __call__(self, pixels: torch.Tensor) -> tuple[np.ndarray, ...]:
        return self.run(pixels)


def _outputs(out) -> tuple[torch.Tensor, ...]:
    return tuple(out) if isinstance(out, (tuple, list)) else (out,)


def torch_program(module: nn.Module, image_size: int, threads: int, cache: Path | None = None) -> Program:
    """The module itself, in inference mode (``threads`` is the caller's torch setting; nothing
    to cache)."""
    module = module.eval()

    def run(pixels: torch.Tensor) -> tuple[np.ndarray, ...]:
        with torch.inference_mode():
            return tuple(o.float().numpy() for o in _outputs(module(pixels)))

    return Program("torch", run)


def export_onnx(module: nn.Module, image_size: int) -> bytes:
    """The module as an ONNX graph that takes any batch size; outputs ``out0``, ``out1``..."""
    module = module.eval()
    example = torch.zeros(1, 3, image_size, image_size)
    with torch.no_grad():
        names = [f"out{i}" for i in range(len(_outputs(module(example))))]
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # The TorchScript exporter warns that a newer one exists; that one needs onnxscript.
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (example,),
            buffer,
            dynamo=False,
            input_names=["pixels"],
            output_names=names,
            dynamic_axes={name: {0: "batch"} for name in ["pixels", *names]},
            opset_version=OPSET,
        )
    return buffer.getvalue()


def _session(graph: bytes, threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # Idle workers sleep instead of spinning: in the app the decoder's thread needs the cores.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])


def onnx_program(module: nn.Module, image_size: int, threads: int, cache: Path | None = None) -> Program:
    """The module exported to ONNX (read from ``cache`` when it is there, written to it when
    not) and run by onnxruntime."""
    session = None
    if cache is not None and cache.is_file():
        try:
            session = _session(cache.read_bytes(), threads)
        except Exception as err:  # onnxruntime raises its own kinds for a damaged graph
            log.warning(
                "the cached image encoder graph %s cannot be read (%s): exporting it again", cache, err
            )
    if session is None:
        graph = export_onnx(module, image_size)
        session = _session(graph, threads)
        if cache is not None:
            try:
                with atomic_path(cache, suffix=".onnx") as tmp:
                    tmp.write_bytes(graph)
            except OSError as err:  # a read-only data directory: the next start exports again
                log.warning("cannot keep the image encoder graph in %s: %s", cache, err)
    names = [output.name for output in session.get_outputs()]

    def run(pixels: torch.Tensor) -> tuple[np.ndarray, ...]:
        feed = {"pixels": np.ascontiguousarray(pixels.numpy(), dtype=np.float32)}
        return tuple(session.run(names, feed))

    return Program("onnx", run)


RUNTIMES: dict[str, Callable[[nn.Module, int, int, Path | None], Program]] = {
    "onnx": onnx_program,
    "torch": torch_program,
}


def compile_program(
    module: nn.Module,
    image_size: int,
    *,
    runtime: str = "onnx",
    threads: int | None = None,
    cache: Path | None = None,
) -> Program:
    """``module`` (pixels at ``image_size`` -> tensors) as a program of ``runtime``; ``threads``
    defaults to torch's setting in the calling thread; ``cache``: a file that keeps what the
    runtime made of the module, named by the caller for exactly these weights. Falls back to
    torch when the runtime cannot take the module."""
    try:
        make = RUNTIMES[runtime]
    except KeyError:
        raise ValueError(f"unknown image runtime {runtime!r}; choose one of {sorted(RUNTIMES)}") from None
    threads = threads or torch.get_num_threads()
    try:
        return make(module, image_size, threads, cache)
    except Exception as err:  # a missing package, an exporter limit, a damaged cache file
        if make is torch_program:
            raise
        log.warning("the image encoder runs in torch, not %s (slower): %s", runtime, err)
        return torch_program(module, image_size, threads)
