"""Search on the real bundled library with the real offline embedder and OCR."""

import io

import pytest
from PIL import Image, ImageDraw, ImageFont

from stickerbot.stickers.images import load_image

pytestmark = pytest.mark.slow


def ids(hits):
    return [h.record.id for h in hits]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("i can't stop laughing omg", {"emoji:1F602", "emoji:1F923"}),
        ("feeling really sad and crying", {"emoji:1F62D", "emoji:1F622"}),
        ("pizza night", {"emoji:1F355"}),
        ("哈哈哈笑死我了", {"emoji:1F602", "emoji:1F923", "caption:zh-haha"}),
        ("今天好累啊", {"caption:zh-tired", "emoji:1F629", "emoji:1F62B"}),
    ],
)
def test_text_search_finds_the_obvious_sticker(bundled_services, query, expected):
    hits = bundled_services.search.search(query, k=10)
    assert expected & set(ids(hits)), (query, ids(hits))
    assert hits == sorted(hits, key=lambda h: -h.score)


def test_caption_in_the_other_language_is_not_returned(bundled_services):
    hits = bundled_services.search.search("so tired", k=20, lang="en")
    assert not any(h.record.id.startswith("caption:zh-") for h in hits)
    assert "caption:so-tired" in ids(hits)[:5]


def test_hit_json_has_the_documented_fields(bundled_services):
    hit = bundled_services.search.search("thumbs up", k=1)[0].to_dict()
    assert {"id", "name", "emoji", "hexcode", "emotion", "path", "score"} <= set(hit)
    assert hit["path"].endswith(".webp")


def test_image_search_finds_the_exact_sticker(bundled_services):
    library = bundled_services.library
    record = library.get("emoji:1F431")
    # Re-encode as PNG at another size: a user's copy of the same sticker.
    with Image.open(library.path_of(record)) as im:
        copy = im.convert("RGBA").resize((200, 200))
    buf = io.BytesIO()
    copy.save(buf, "PNG")
    hits = bundled_services.search.search(image=load_image(buf.getvalue()), k=5)
    assert hits[0].record.id == "emoji:1F431"
    assert any("hash" in reason for reason in hits[0].reasons)


def test_image_search_reads_the_caption_with_ocr(bundled_services):
    # A sticker the library does not have, whose words match a caption sticker's meaning.
    canvas = Image.new("RGB", (256, 256), "white")
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf", 34)
    draw.text((128, 128), "thank you", font=font, fill="black", anchor="mm")
    buf = io.BytesIO()
    canvas.save(buf, "PNG")
    hits = bundled_services.search.search(image=load_image(buf.getvalue()), k=5)
    assert "caption:thank-you" in ids(hits)
    assert any("thank" in reason.lower() for reason in hits[0].reasons)


def test_image_plus_text(bundled_services):
    library = bundled_services.library
    with open(library.path_of(library.get("emoji:1F436")), "rb") as f:
        dog = load_image(f.read())
    hits = bundled_services.search.search("cute dog", image=dog, k=3)
    assert hits[0].record.id == "emoji:1F436"


def test_search_needs_something(bundled_services):
    with pytest.raises(ValueError):
        bundled_services.search.search(None)
