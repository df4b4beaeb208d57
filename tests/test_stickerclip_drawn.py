"""Cartoon faces drawn by code as training pictures for the sticker encoder (no model)."""

import random
import re

import numpy as np

from stickerbot.stickerclip.drawn import EXPRESSIONS, draw_face, drawn_faces
from tests.helpers_stickerclip import least_changed_pair


def test_drawn_faces_are_rgba_pictures_with_a_key_each():
    pixels, keys = drawn_faces(2, size=64)
    assert pixels.shape == (2 * len(EXPRESSIONS), 64, 64, 4) and pixels.dtype == np.uint8
    assert keys == [e.key for e in EXPRESSIONS for _ in range(2)]
    # every picture has something drawn on it, and not all of it opaque unless on a tile
    assert all(p[..., 3].max() == 255 for p in pixels)


def test_drawn_faces_are_the_same_on_every_run_and_change_with_the_seed():
    a, _ = drawn_faces(1, seed=3, size=48)
    b, _ = drawn_faces(1, seed=3, size=48)
    c, _ = drawn_faces(1, seed=4, size=48)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_expressions_are_labelled_with_distinct_emoji_keys():
    keys = [e.key for e in EXPRESSIONS]
    assert len(keys) >= 24 and len(set(keys)) == len(keys)
    assert all(re.fullmatch(r"[0-9A-F]{4,6}(-[0-9A-F]{4,6})*", k) and "FE0F" not in k for k in keys)
    assert len({(e.eyes, e.mouth, e.brows, e.extras) for e in EXPRESSIONS}) == len(EXPRESSIONS)


def test_drawings_of_one_expression_vary():
    for expression in EXPRESSIONS[::5]:
        pictures = [draw_face(expression, random.Random(n), 64) for n in range(4)]
        share, i, j = least_changed_pair(pictures)
        assert share > 0.05, (expression.name, i, j)


def test_the_expression_shows_in_the_drawing():
    # the same rng draws the same head, colours and lines: only the expression differs
    for seed in range(2):
        pictures = [draw_face(e, random.Random(seed), 64) for e in EXPRESSIONS]
        share, i, j = least_changed_pair(pictures)
        assert share > 0.002, (EXPRESSIONS[i].name, EXPRESSIONS[j].name)
