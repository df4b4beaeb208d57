"""load_image (checked decoding of untrusted bytes), frame choice and the perceptual hash."""

from __future__ import annotations

import io
import itertools
import random
import tracemalloc

import numpy as np
import pytest
from PIL import Image, ImageFile

from stickerbot.stickers.images import (
    BadImageError,
    ImageLimits,
    LoadedImage,
    flatten,
    frame_positions,
    load_image,
    sniff_format,
)
from stickerbot.stickers.phash import hamming, hashes_to_array, phash
from tests.helpers_images import (
    NOT_AN_IMAGE,
    animated_gif_bytes,
    animated_webp_bytes,
    encode,
    frame_colour,
    gif_cuts_that_trip_pillow,
    jpeg_bytes,
    noisy_png_bytes,
    png_bomb_bytes,
    png_bytes,
    reencoded_jpeg,
    sticker,
    truncated,
    truncated_png_bytes,
    webp_bytes,
)

# --- formats are decided by content ---------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "fmt"),
    [(png_bytes, "PNG"), (jpeg_bytes, "JPEG"), (webp_bytes, "WEBP")],
)
def test_still_images_load_as_one_rgba_frame(make, fmt):
    loaded = load_image(make(seed=3, size=96))

    assert isinstance(loaded, LoadedImage)
    assert loaded.format == fmt
    assert (loaded.width, loaded.height) == (96, 96)
    assert loaded.frame_count == 1
    assert not loaded.animated
    assert len(loaded.frames) == 1
    assert loaded.first.mode == "RGBA"
    assert loaded.first.size == (96, 96)


def test_png_saved_with_a_jpg_name_is_loaded_as_png(tmp_path):
    path = tmp_path / "holiday.jpg"
    path.write_bytes(png_bytes(seed=1))

    loaded = load_image(path.read_bytes())

    assert loaded.format == "PNG"
    # The pixels are the sticker's, not a misread: transparent corners survive as alpha.
    assert loaded.first.getpixel((0, 0))[3] in (0, 255)
    assert np.array_equal(np.asarray(loaded.first), np.asarray(sticker(1)))


def test_jpeg_saved_with_a_png_name_is_loaded_as_jpeg(tmp_path):
    path = tmp_path / "sticker.png"
    path.write_bytes(jpeg_bytes(seed=2))

    loaded = load_image(path.read_bytes())

    assert loaded.format == "JPEG"
    assert loaded.first.size == (128, 128)


def test_sniff_format_reads_magic_numbers_not_names():
    assert sniff_format(png_bytes()) == "PNG"
    assert sniff_format(jpeg_bytes()) == "JPEG"
    assert sniff_format(webp_bytes()) == "WEBP"
    assert sniff_format(animated_gif_bytes(2)) == "GIF"
    assert sniff_format(NOT_AN_IMAGE) is None
    assert sniff_format(b"RIFF\x00\x00\x00\x00WAVEfmt ") is None  # RIFF, but not WebP
    assert sniff_format(b"") is None


# --- animations -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "expected"),
    [(1, [0]), (2, [0, 1]), (3, [0, 1, 2]), (7, [0, 3, 6]), (10, [0, 5, 9]), (300, [0, 150, 299])],
)
def test_frame_positions_are_first_middle_last(n, expected):
    assert frame_positions(n) == expected


@pytest.mark.parametrize("make", [animated_gif_bytes, animated_webp_bytes], ids=["gif", "webp"])
@pytest.mark.parametrize("n_frames", [2, 7, 12])
def test_animation_gives_frame_count_and_first_middle_last_frames(make, n_frames):
    loaded = load_image(make(n_frames))

    assert loaded.frame_count == n_frames
    assert loaded.animated
    positions = frame_positions(n_frames)
    assert len(loaded.frames) == len(positions)
    # Each test frame has its own colour in the centre: the right frames were decoded.
    centre = [frame.getpixel((32, 32))[:3] for frame in loaded.frames]
    assert centre == [frame_colour(i) for i in positions]
    assert all(frame.mode == "RGBA" for frame in loaded.frames)


# --- refusals -------------------------------------------------------------------------------


def _refused(data: bytes, limits: ImageLimits | None = None) -> str:
    with pytest.raises(BadImageError) as info:
        load_image(data, limits)
    reason = str(info.value)
    assert reason, "a refusal must carry a reason for the user"
    return reason


def test_empty_file_is_refused():
    assert _refused(b"") == "empty file"


def test_text_file_is_not_an_image(tmp_path):
    path = tmp_path / "notes.png"
    path.write_bytes(NOT_AN_IMAGE)

    assert "not an image" in _refused(path.read_bytes())


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        (truncated_png_bytes(), "PNG"),
        (
            truncated(
                encode(Image.frombytes("RGB", (64, 64), random.Random(1).randbytes(64 * 64 * 3)), "JPEG")
            ),
            "JPEG",
        ),
        (truncated(animated_gif_bytes(7)), "GIF"),
        (truncated(animated_webp_bytes(7)), "WEBP"),
        (png_bytes(1)[:40], "PNG"),  # cut inside the header
    ],
    ids=["png", "jpeg", "gif", "webp", "png-header"],
)
def test_truncated_files_are_refused_not_half_decoded(data, fmt):
    reason = _refused(data)
    assert "corrupt or truncated" in reason
    assert fmt in reason


def test_corrupt_png_data_is_refused():
    data = bytearray(noisy_png_bytes())
    # Garble the middle of the compressed pixel data; the chunk CRC no longer matches either.
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(64)
    assert "corrupt or truncated PNG" in _refused(bytes(data))


def test_gif_cut_inside_a_frame_header_is_a_bad_image_not_a_crash():
    # Regression: Pillow's GIF reader raises struct.error / IndexError on these cuts, which
    # load_image let through, so one such file aborted a whole pack import.
    cuts = gif_cuts_that_trip_pillow()
    assert cuts, "expected Pillow to trip on some cuts of the test GIF"
    for data in cuts:
        assert "corrupt or truncated GIF" in _refused(data)


def test_garbled_bytes_only_ever_raise_bad_image_error():
    rng = random.Random(1234)
    sources = [animated_gif_bytes(5), png_bytes(4), jpeg_bytes(4), webp_bytes(4), animated_webp_bytes(4)]
    for source, _ in itertools.product(sources, range(60)):
        data = bytearray(source)
        for _ in range(rng.randrange(1, 6)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        try:
            loaded = load_image(bytes(data))
        except BadImageError as err:
            assert str(err)
        else:
            assert loaded.frames and all(f.mode == "RGBA" for f in loaded.frames)


def test_file_over_max_bytes_is_refused_before_decoding(monkeypatch):
    data = png_bytes(5)
    monkeypatch.setattr(Image, "open", _must_not_be_called)

    reason = _refused(data, ImageLimits(max_bytes=len(data) - 1))

    assert "limit" in reason and "MB" in reason


def test_file_at_exactly_max_bytes_is_accepted():
    data = png_bytes(5)
    assert load_image(data, ImageLimits(max_bytes=len(data))).format == "PNG"


def _must_not_be_called(*args, **kwargs):
    raise AssertionError("pixels must not be decoded for this input")


def test_ihdr_bomb_over_max_pixels_is_refused_without_decoding(monkeypatch):
    bomb = png_bomb_bytes(300, 300)
    assert len(bomb) < 200
    assert Image.open(io.BytesIO(bomb)).size == (300, 300)  # the header lies
    # Decoding would go through ImageFile.load: forbid it, the header alone must decide.
    monkeypatch.setattr(ImageFile.ImageFile, "load", _must_not_be_called)

    reason = _refused(bomb, ImageLimits(max_pixels=64 * 64))

    assert "300x300" in reason
    assert "pixel limit" in reason


def test_ihdr_bomb_over_default_pixel_limit_is_refused_cheaply():
    bomb = png_bomb_bytes(5000, 5000)  # 25 Mpx: under Pillow's own bomb limit, over ours
    tracemalloc.start()
    try:
        reason = _refused(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "5000x5000" in reason and "pixel limit" in reason
    assert peak < 5_000_000, f"refusing a bomb allocated {peak:,} bytes"


def test_huge_ihdr_bomb_is_refused():
    bomb = png_bomb_bytes(100_000, 100_000)  # 10 Gpx: Pillow's own bomb check fires first
    reason = _refused(bomb)
    assert "bomb" in reason


def test_pixel_limit_is_per_frame_and_inclusive():
    data = png_bytes(2, size=64)
    assert load_image(data, ImageLimits(max_pixels=64 * 64)).width == 64
    assert "pixel limit" in _refused(data, ImageLimits(max_pixels=64 * 64 - 1))


@pytest.mark.parametrize("make", [animated_gif_bytes, animated_webp_bytes], ids=["gif", "webp"])
def test_animation_over_max_frames_is_refused(make):
    data = make(5)
    reason = _refused(data, ImageLimits(max_frames=4))
    assert "5 frames" in reason and "4 frame limit" in reason
    assert load_image(data, ImageLimits(max_frames=5)).frame_count == 5


# --- flatten --------------------------------------------------------------------------------


def test_flatten_puts_transparent_pixels_on_the_background():
    image = Image.new("RGBA", (4, 4), (255, 0, 0, 0))  # transparent, but red underneath
    image.putpixel((1, 1), (0, 0, 255, 255))
    flat = flatten(image)
    assert flat.mode == "RGB"
    assert flat.getpixel((0, 0)) == (255, 255, 255)
    assert flat.getpixel((1, 1)) == (0, 0, 255)


# --- perceptual hash ------------------------------------------------------------------------


def _hash(data: bytes) -> str:
    return phash(load_image(data).first)


def _distance(a: str, b: str) -> int:
    return int(hamming(a, hashes_to_array([b]))[0])


def test_phash_is_16_hex_digits_and_deterministic():
    value = _hash(png_bytes(7))
    assert len(value) == 16
    int(value, 16)
    assert _hash(png_bytes(7)) == value


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_same_sticker_resized_and_reencoded_is_within_a_few_bits(seed):
    original = _hash(png_bytes(seed))
    variants = [
        jpeg_bytes(seed, quality=70),
        webp_bytes(seed),
        reencoded_jpeg(seed, new_size=200, quality=80),
        reencoded_jpeg(seed, new_size=64, quality=60),
    ]
    for data in variants:
        # 3 bits is the importer's default duplicate threshold.
        assert _distance(_hash(data), original) <= 3


def test_different_stickers_differ_in_many_bits():
    hashes = [_hash(png_bytes(seed)) for seed in range(10)]
    distances = [_distance(a, b) for a, b in itertools.combinations(hashes, 2)]
    assert min(distances) >= 12
    # Unrelated images differ in about half of the 64 bits.
    assert 24 <= float(np.mean(distances)) <= 40


def test_transparent_background_hashes_like_white():
    rgba = sticker(9)
    assert phash(rgba) == phash(flatten(rgba))


def test_hamming_against_an_array():
    hashes = hashes_to_array(["0" * 16, "f" * 16, "0f" * 8, "8000000000000001", ""])
    assert hashes.dtype == np.uint64
    distances = hamming("f" * 16, hashes)
    assert distances.tolist() == [64, 0, 32, 62, 64]
    assert hamming("0" * 16, hashes).tolist() == [0, 64, 32, 2, 0]
    assert hamming("1234abcd1234abcd", hashes_to_array([])).tolist() == []
