"""Test images made in memory with Pillow: distinct stickers, animations, bombs and junk.

Everything returns ``bytes`` (or a Pillow image) so tests decide where, and under which
name, a file is written. Stickers are drawn from a seed: the same seed gives the same
picture, different seeds give pictures whose perceptual hashes differ in many bits.
"""

from __future__ import annotations

import hashlib
import io
import random
import struct
import zipfile
import zlib
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

DEJAVU_BOLD = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# --- still stickers -------------------------------------------------------------------------


def sticker(seed: int, size: int = 128) -> Image.Image:
    """An RGBA sticker: a few large shapes in seed-chosen places and colours on transparency.

    Large shapes (not fine detail) drive the low DCT frequencies that the perceptual hash
    keeps, so two seeds give hashes about 32 of 64 bits apart.
    """
    rng = random.Random(seed)
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    for _ in range(4):
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256), 255)
        x0, y0 = rng.randrange(0, size * 2 // 3), rng.randrange(0, size * 2 // 3)
        x1, y1 = x0 + rng.randrange(size // 4, size // 2), y0 + rng.randrange(size // 4, size // 2)
        kind = rng.randrange(3)
        if kind == 0:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        elif kind == 1:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
        else:
            draw.polygon([(x0, y1), ((x0 + x1) // 2, y0), (x1, y1)], fill=colour)
    return image


def flat(image: Image.Image, background=(255, 255, 255)) -> Image.Image:
    """RGBA -> RGB on white, the way a JPEG of a sticker looks."""
    canvas = Image.new("RGB", image.size, background)
    canvas.paste(image, mask=image.getchannel("A") if image.mode == "RGBA" else None)
    return canvas


def encode(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    if fmt.upper() in {"JPEG", "JPG"}:
        image = flat(image)
        fmt = "JPEG"
        params.setdefault("quality", 90)
    image.save(buffer, format=fmt.upper(), **params)
    return buffer.getvalue()


def png_bytes(seed: int = 0, size: int = 128) -> bytes:
    return encode(sticker(seed, size), "PNG")


def jpeg_bytes(seed: int = 0, size: int = 128, quality: int = 90) -> bytes:
    return encode(sticker(seed, size), "JPEG", quality=quality)


def webp_bytes(seed: int = 0, size: int = 128) -> bytes:
    return encode(sticker(seed, size), "WEBP", quality=90)


def reencoded_jpeg(seed: int, size: int = 128, new_size: int = 200, quality: int = 80) -> bytes:
    """The same sticker resized and saved as a JPEG: a near duplicate of ``png_bytes(seed)``."""
    image = sticker(seed, size).resize((new_size, new_size), Image.Resampling.BICUBIC)
    return encode(image, "JPEG", quality=quality)


# --- animations -----------------------------------------------------------------------------


def frame_colour(index: int) -> tuple[int, int, int]:
    """The colour of the square in frame ``index`` of the test animations (distinct per frame)."""
    return ((37 * index + 20) % 256, (91 * index + 60) % 256, (151 * index + 100) % 256)


def animation_frames(n_frames: int, size: int = 64, seed: int | None = None) -> list[Image.Image]:
    """Frames whose centre pixel tells which frame they are (see :func:`frame_colour`).

    With a ``seed``, the frames are drawn over that seed's sticker, so animations made
    with different seeds are not perceptual duplicates of each other.
    """
    background = flat(sticker(seed, size)) if seed is not None else Image.new("RGB", (size, size), "white")
    frames = []
    for index in range(n_frames):
        frame = background.copy()
        draw = ImageDraw.Draw(frame)
        draw.rectangle((size * 3 // 8, size * 3 // 8, size * 5 // 8, size * 5 // 8), fill=frame_colour(index))
        frames.append(frame)
    return frames


def animated_gif_bytes(n_frames: int, size: int = 64, seed: int = 50) -> bytes:
    frames = animation_frames(n_frames, size, seed)
    buffer = io.BytesIO()
    frames[0].save(
        buffer, format="GIF", save_all=True, append_images=frames[1:], duration=80, loop=0, optimize=False
    )
    return buffer.getvalue()


def animated_webp_bytes(n_frames: int, size: int = 64, seed: int = 60) -> bytes:
    frames = animation_frames(n_frames, size, seed)
    buffer = io.BytesIO()
    frames[0].save(
        buffer, format="WEBP", save_all=True, append_images=frames[1:], duration=80, loop=0, lossless=True
    )
    return buffer.getvalue()


# --- bad inputs -----------------------------------------------------------------------------


def png_bomb_bytes(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny, valid-looking PNG whose IHDR claims ``width`` x ``height`` pixels.

    The file is a few dozen bytes; decoding it as claimed would need gigabytes.
    """
    data = bytearray(encode(Image.new("RGB", (8, 8), (255, 0, 0)), "PNG"))
    assert data[:8] == PNG_SIGNATURE and data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    # The chunk CRC covers the type and the data (13 bytes), not the length.
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])) & 0xFFFFFFFF)
    return bytes(data)


def noisy_png_bytes(size: int = 128, seed: int = 0) -> bytes:
    """A PNG of random pixels: it barely compresses, so cutting it cuts pixel data."""
    rng = random.Random(seed)
    image = Image.frombytes("RGB", (size, size), bytes(rng.randrange(256) for _ in range(size * size * 3)))
    return encode(image, "PNG")


def truncated(data: bytes, keep: float = 0.5) -> bytes:
    """The first ``keep`` fraction of a file, as an interrupted download leaves it."""
    return data[: max(1, int(len(data) * keep))]


def truncated_png_bytes() -> bytes:
    return truncated(noisy_png_bytes())


NOT_AN_IMAGE = b"this is a text file with a .png name, not an image\n"


def text_file_bytes() -> bytes:
    return NOT_AN_IMAGE


# --- text stickers (for OCR) ----------------------------------------------------------------


def text_sticker_png(text: str, size: int = 256, font_size: int = 36) -> bytes:
    """Black text centred on a white square, drawn with DejaVu Sans Bold."""
    image = Image.new("RGB", (size, size), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(str(DEJAVU_BOLD), font_size)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    x = (size - (right - left)) // 2 - left
    y = (size - (bottom - top)) // 2 - top
    draw.text((x, y), text, fill=(0, 0, 0), font=font)
    return encode(image, "PNG")


def gif_cuts_that_trip_pillow(n_frames: int = 7) -> list[bytes]:
    """Cuts of an animated GIF on which Pillow itself raises ``struct.error`` or ``IndexError``.

    Pillow's GIF reader indexes into short reads when a frame header is cut; those are not
    the OSError an image library usually raises, so a loader must catch them explicitly.
    """
    whole = animated_gif_bytes(n_frames)
    cuts = []
    for length in range(14, len(whole)):
        data = whole[:length]
        try:
            with Image.open(io.BytesIO(data), formats=["GIF"]) as im:
                for index in range(im.n_frames):
                    im.seek(index)
                    im.load()
        except (struct.error, IndexError):
            cuts.append(data)
        except Exception:  # noqa: BLE001 - the usual OSError/EOFError: not what we look for
            pass
    return cuts


# --- packs and archives ---------------------------------------------------------------------


def write_bundled_pack(bundled_dir: Path, seeds: tuple[int, ...] = (100, 101, 102)) -> list:
    """A tiny bundled pack (manifest.jsonl + PNG images) that :meth:`Library.load` accepts."""
    from stickerbot.stickers.images import load_image
    from stickerbot.stickers.manifest import MANIFEST
    from stickerbot.stickers.phash import phash
    from stickerbot.stickers.record import StickerRecord

    annotations = [
        ("crying cat", "Sadness", ["crying", "cat", "tears"], ["so sad"]),
        ("laughing dog", "Happiness", ["laughing", "dog", "happy"], ["lol", "haha"]),
        ("angry bird", "Anger", ["angry", "bird", "mad"], ["so mad"]),
        ("shocked fish", "Surprise", ["shocked", "fish", "wow"], ["omg"]),
    ]
    (bundled_dir / "images").mkdir(parents=True, exist_ok=True)
    records = []
    for number, seed in enumerate(seeds):
        name, emotion, keywords, queries = annotations[number % len(annotations)]
        data = png_bytes(seed)
        image = f"images/b{seed}.png"
        (bundled_dir / image).write_bytes(data)
        records.append(
            StickerRecord(
                id=f"bundled:{name.replace(' ', '_')}",
                image=image,
                pack="bundled",
                name=name,
                keywords_en=keywords,
                emotion=emotion,
                queries=queries,
                phash=phash(load_image(data).first),
                sha256=hashlib.sha256(data).hexdigest(),
            )
        )
    with open(bundled_dir / MANIFEST, "w", encoding="utf-8") as f:
        for record in records:
            f.write(record.to_json() + "\n")
    return records


def symlink_zipinfo(name: str) -> zipfile.ZipInfo:
    """A zip member flagged as a symbolic link (Unix mode 0o120777 in the external attributes)."""
    info = zipfile.ZipInfo(name)
    info.create_system = 3  # Unix, so the mode bits mean what they say
    info.external_attr = 0o120777 << 16
    return info


def write_zip(path: Path, files: dict[str, bytes], symlinks: dict[str, str] | None = None) -> Path:
    """A .zip with ``files`` (member name -> bytes) and ``symlinks`` (member name -> target)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(zipfile.ZipInfo(name), data)
        for name, target in (symlinks or {}).items():
            zf.writestr(symlink_zipinfo(name), target)
    return path
