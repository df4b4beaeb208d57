"""Untrusted image bytes -> checked, decoded frames.

Every sticker that enters the project (an import, a chat upload, a search by
image) passes through :func:`load_image`. The type is decided by the file's
content, never its name; size, pixel count and frame count are checked from the
header before any pixel is decoded, so a decompression bomb is refused cheaply.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass

from PIL import Image, ImageFile

from stickerbot.errors import UserError

# Magic numbers of the formats a sticker may have. WebP is RIFF....WEBP.
_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
)
SUPPORTED_FORMATS = ("PNG", "JPEG", "GIF", "WEBP")


class BadImageError(UserError, ValueError):
    """An input that is not a usable sticker; ``str(err)`` is the reason for the user."""


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int = 8 * 1024 * 1024
    max_pixels: int = 4096 * 4096  # per frame
    max_frames: int = 300


@dataclass
class LoadedImage:
    format: str
    width: int
    height: int
    frame_count: int
    frames: list[Image.Image]  # first, middle, last (one for a still image), RGBA

    @property
    def animated(self) -> bool:
        return self.frame_count > 1

    @property
    def first(self) -> Image.Image:
        return self.frames[0]


def sniff_format(data: bytes) -> str | None:
    """The image format named by the content's magic number, or None."""
    for signature, name in _SIGNATURES:
        if data.startswith(signature):
            return name
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def frame_positions(frame_count: int) -> list[int]:
    """First, middle and last frame (deduplicated, in order)."""
    return sorted({0, frame_count // 2, frame_count - 1})


def load_image(data: bytes, limits: ImageLimits | None = None) -> LoadedImage:
    """Check and decode an untrusted image. Raises :class:`BadImageError` with the reason."""
    limits = limits or ImageLimits()
    if len(data) == 0:
        raise BadImageError("empty file")
    if len(data) > limits.max_bytes:
        raise BadImageError(
            f"file is {len(data) / 1e6:.1f} MB, over the {limits.max_bytes / 1e6:.1f} MB limit"
        )
    fmt = sniff_format(data)
    if fmt is None:
        raise BadImageError("not an image (content is not PNG, JPEG, GIF or WebP)")
    try:
        with warnings.catch_warnings():
            # Pillow warns before its own bomb limit; our pixel limit below is the real check.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data), formats=[fmt])
            width, height = im.size
            if width <= 0 or height <= 0:
                raise BadImageError("image has no pixels")
            if width * height > limits.max_pixels:
                raise BadImageError(
                    f"image is {width}x{height} = {width * height:,} pixels, over the "
                    f"{limits.max_pixels:,} pixel limit (a decompression bomb?)"
                )
            frame_count = int(getattr(im, "n_frames", 1) or 1)
            if frame_count > limits.max_frames:
                raise BadImageError(
                    f"animation has {frame_count} frames, over the {limits.max_frames} frame limit"
                )
            frames = []
            for index in frame_positions(frame_count):
                im.seek(index)
                # load() decodes fully: a truncated or corrupt file fails here.
                im.load()
                frames.append(im.convert("RGBA"))
    except BadImageError:
        raise
    except Image.DecompressionBombError as err:
        raise BadImageError(f"decompression bomb refused: {err}") from err
    except (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError) as err:
        # struct.error / IndexError: Pillow's GIF reader on a cut or garbled frame header.
        raise BadImageError(f"corrupt or truncated {fmt}: {err}") from err
    return LoadedImage(fmt, width, height, frame_count, frames)


def flatten(image: Image.Image, background: tuple[int, int, int] = (255, 255, 255)) -> Image.Image:
    """RGBA -> RGB on a plain background (transparent pixels carry arbitrary colour)."""
    if image.mode != "RGBA":
        image = image.convert("RGBA")
    canvas = Image.new("RGB", image.size, background)
    canvas.paste(image, mask=image.getchannel("A"))
    return canvas


# A truncated file must fail, not decode as a half-grey image.
ImageFile.LOAD_TRUNCATED_IMAGES = False
