"""The second hand of drawn training stickers (doodles, characters, animals) and the choice
of hands for training (no model)."""

import random

import numpy as np
import pytest

from stickerbot.errors import UserError
from stickerbot.stickerclip.build import HANDS, load_drawn
from stickerbot.stickerclip.doodles import BROWS, EXTRAS, EYES, LOOKS, MOUTHS, doodles, draw_doodle
from stickerbot.stickerclip.drawn import EXPRESSIONS
from stickerbot.stickers.record import StickerRecord
from tests.helpers_stickerclip import least_changed_pair


def test_every_part_the_expressions_name_can_be_drawn():
    for e in EXPRESSIONS:
        assert set(e.eyes) <= set(EYES), e.name
        assert set(e.mouth) <= set(MOUTHS), e.name
        assert set(e.brows) <= set(BROWS), e.name
        assert {x.lstrip("?") for x in e.extras} <= set(EXTRAS) | LOOKS, e.name


def test_doodles_are_rgba_pictures_with_a_key_each_and_the_same_on_every_run():
    pixels, keys = doodles(2, size=48)
    assert pixels.shape == (2 * len(EXPRESSIONS), 48, 48, 4) and pixels.dtype == np.uint8
    assert keys == [e.key for e in EXPRESSIONS for _ in range(2)]
    assert all(p[..., 3].max() == 255 for p in pixels)
    again, _ = doodles(2, size=48)
    other, _ = doodles(2, seed=1, size=48)
    assert np.array_equal(pixels, again)
    assert not np.array_equal(pixels, other)


def test_the_looks_vary():
    # forms, grounds and pens differ from drawing to drawing of one expression
    for expression in EXPRESSIONS[::6]:
        pictures = [draw_doodle(expression, random.Random(n), 64) for n in range(4)]
        share, i, j = least_changed_pair(pictures)
        assert share > 0.05, (expression.name, i, j)
    grounds = {int(np.asarray(draw_doodle(EXPRESSIONS[0], random.Random(n), 32))[0, 0, 3]) for n in range(40)}
    assert grounds == {0, 255}  # some on a ground, some cut out


def test_the_expression_shows_in_the_doodle():
    # one seed draws one look: only the expression differs
    for seed in range(2):
        pictures = [draw_doodle(e, random.Random(seed), 64) for e in EXPRESSIONS]
        share, i, j = least_changed_pair(pictures)
        assert share > 0.002, (EXPRESSIONS[i].name, EXPRESSIONS[j].name)


def _records(names: list[str]) -> list[StickerRecord]:
    by_name = {e.name: e for e in EXPRESSIONS}
    return [
        StickerRecord(
            id=f"emoji:{by_name[n].key}", image="x.png", pack="bundled", name=n, hexcode=by_name[n].key
        )
        for n in names
    ]


def test_load_drawn_draws_each_hand_for_the_library_s_emoji():
    records = _records(["loudly crying face", "grinning face"])
    faces = load_drawn(records, 3, ("faces",))
    both = load_drawn(records, 3, ("faces", "doodles"))
    assert len(faces) == 6 and len(both) == 12
    assert set(both.styles) == {"drawn"}
    # each picture targets the record of its own emoji
    keys = [records[t].hexcode for t in both.targets]
    assert keys == both.keys
    assert np.array_equal(both.pixels[:6], faces.pixels)
    assert load_drawn(records, 3, ()) is None and load_drawn(records, 0) is None
    with pytest.raises(UserError, match="unknown drawing hand crayons"):
        load_drawn(records, 3, ("faces", "crayons"))
    assert set(HANDS) == {"faces", "doodles"}
