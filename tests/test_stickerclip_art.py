"""Emoji art for the sticker image encoder: code point keys, Iconify sets, the resumable fetch.

No network: npm is replaced by a function that returns package folders the tests write.
"""

import io
import json
import subprocess
import tarfile

import pytest
from PIL import Image

from stickerbot.errors import UserError
from stickerbot.stickerclip import art
from stickerbot.stickerclip.art import STYLES, emoji_key, fetch_styles, iconify_svg, read_manifest

CIRCLE = '<circle cx="8" cy="8" r="6" fill="#f00"/>'
SQUARE = '<rect x="2" y="2" width="12" height="12" fill="#00f"/>'


def test_emoji_key_spells_every_source_the_same_way():
    assert emoji_key("1f602") == "1F602"
    assert emoji_key("2764-fe0f-200d-1fa79") == "2764-200D-1FA79"
    assert emoji_key("23-fe0f-20e3") == emoji_key("0023-20E3") == "0023-20E3"
    assert emoji_key("1F44D_1F3FD") == "1F44D-1F3FD"
    for bad in ("", "face-with-tears", "1f47csvg"):
        with pytest.raises(ValueError):
            emoji_key(bad)


def test_iconify_svg_follows_aliases_and_uses_the_set_size():
    data = {
        "width": 16,
        "height": 16,
        "icons": {"red": {"body": CIRCLE}, "wide": {"body": SQUARE, "width": 32}},
        "aliases": {"scarlet": {"parent": "red"}, "loop": {"parent": "loop"}},
    }
    assert 'viewBox="0 0 16 16"' in iconify_svg(data, "scarlet") and CIRCLE in iconify_svg(data, "scarlet")
    assert 'viewBox="0 0 32 16"' in iconify_svg(data, "wide")
    assert iconify_svg(data, "loop") is None and iconify_svg(data, "missing") is None


def make_iconify(root, name, icons, chars=None):
    folder = root / name
    (folder / "package").mkdir(parents=True)
    data = {"prefix": name, "width": 16, "height": 16, "icons": {k: {"body": v} for k, v in icons.items()}}
    (folder / "package" / "icons.json").write_text(json.dumps(data))
    if chars is not None:
        (folder / "package" / "chars.json").write_text(json.dumps(chars))
    return folder


@pytest.fixture
def packages(tmp_path):
    """Fake unpacked npm packages for three registered styles."""
    root = tmp_path / "npm"
    folders = {
        STYLES["noto"].package: make_iconify(
            root, "noto", {"red-heart": CIRCLE, "joy": SQUARE}, {"2764-fe0f": "red-heart", "1f602": "joy"}
        ),
        # No chars.json: mapped through the names of the sets that have one.
        STYLES["noto-blob"].package: make_iconify(root, "blob", {"joy": SQUARE, "not-an-emoji": CIRCLE}),
        STYLES["twemoji"].package: make_iconify(root, "tw", {"joy": CIRCLE}, {"1f602": "joy"}),
        STYLES["fluent-high-contrast"].package: make_iconify(root, "hc", {}, {}),
    }
    files = root / "flat" / "package" / "assets"
    files.mkdir(parents=True)
    (files / "1f602.svg").write_text(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">{SQUARE}</svg>'
    )
    (files / "2764-fe0f.svg").write_text(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">{CIRCLE}</svg>'
    )
    (files / "README.svg").write_text("not an emoji")
    folders[STYLES["fluent-flat"].package] = root / "flat"
    calls = []

    def pack(spec, cache):
        calls.append(spec)
        return folders[spec]

    return pack, calls


def test_fetch_draws_each_style_resumes_and_writes_licences(tmp_path, packages):
    pack, calls = packages
    out = tmp_path / "art"
    counts = fetch_styles(
        out,
        styles=["noto", "noto-blob", "fluent-flat"],
        keys={"1F602", "2764"},
        size=24,
        pack=pack,
        progress=False,
    )
    assert counts == {"noto": 2, "noto-blob": 1, "fluent-flat": 2}
    assert {r["key"] for r in read_manifest(out, "noto-blob")} == {"1F602"}  # mapped by name
    with Image.open(out / "noto" / "2764.png") as im:
        assert im.size == (24, 24) and im.mode == "RGBA"
        assert im.getpixel((12, 12))[:3] == (255, 0, 0)  # the circle, really drawn
    with Image.open(out / "fluent-flat" / "1F602.png") as im:
        assert im.getpixel((12, 12))[:3] == (0, 0, 255)
    licences = (out / "LICENSES.md").read_text()
    assert "Apache" in licences and "Noto" in licences

    # Run again: finished styles are not fetched or drawn again.
    calls.clear()
    assert fetch_styles(out, styles=["noto", "noto-blob"], size=24, pack=pack, progress=False) == {
        "noto": 2,
        "noto-blob": 1,
    }
    assert calls == []
    # An interrupted style (pictures drawn, no manifest yet) keeps its pictures and finishes.
    (out / "noto" / ".complete").unlink()
    (out / "noto" / "manifest.jsonl").unlink()
    before = (out / "noto" / "2764.png").stat().st_mtime_ns
    assert fetch_styles(out, styles=["noto"], keys={"1F602", "2764"}, size=24, pack=pack, progress=False) == {
        "noto": 2
    }
    assert (out / "noto" / "2764.png").stat().st_mtime_ns == before
    with pytest.raises(UserError, match="unknown art styles"):
        fetch_styles(out, styles=["apple"], pack=pack)


def test_npm_pack_errors_are_clear_and_archives_cannot_escape(tmp_path):
    def no_npm(*args, **kwargs):
        raise FileNotFoundError("npm")

    with pytest.raises(UserError, match="npm is not installed"):
        art.npm_pack("@iconify-json/noto@1.2.9", tmp_path, run=no_npm)

    def failing(cmd, **kwargs):
        raise subprocess.CalledProcessError(1, cmd, stderr="npm error 404 Not Found")

    with pytest.raises(UserError, match="404"):
        art.npm_pack("@iconify-json/nope@0.0.0", tmp_path, run=failing)

    evil = tmp_path / "evil.tgz"
    with tarfile.open(evil, "w:gz") as tar:
        info = tarfile.TarInfo("../outside.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    with pytest.raises(tarfile.TarError):
        art.unpack(evil, tmp_path / "into")
    assert not (tmp_path / "outside.txt").exists()


def test_optional_styles_are_trained_on_only_when_asked():
    from stickerbot.stickerclip.build import LIBRARY_STYLE, training_styles
    from stickerbot.stickerclip.data import HELD_OUT_STYLES

    default = training_styles()
    optional = [s for s, style in STYLES.items() if style.optional]
    assert optional and not set(optional) & set(default)
    assert not set(default) & {LIBRARY_STYLE, *HELD_OUT_STYLES}
    assert training_styles((optional[0],)) == [s for s in STYLES if s in default or s == optional[0]]
    for wrong in ("comic-sans", "twemoji"):  # not registered; held out, not optional
        with pytest.raises(UserError, match="not an optional art style"):
            training_styles((wrong,))


def test_share_alike_art_is_scored_never_trained_on(tmp_path):
    from stickerbot.stickerclip.build import training_styles

    scored_only = [s for s, style in STYLES.items() if not style.trainable]
    assert scored_only and all("SA" in STYLES[s].licence for s in scored_only)
    assert not set(scored_only) & set(training_styles())
    with pytest.raises(UserError, match="only scored, never trained on"):
        training_styles((scored_only[0],))
    # Its fetch writes its attribution, marked as evaluation only.
    art.write_licences(tmp_path, ["noto", scored_only[0]])
    lines = (tmp_path / "LICENSES.md").read_text().splitlines()
    assert any(scored_only[0] in line and "Evaluation only" in line for line in lines)
    assert not any(line.startswith("- noto:") and "Evaluation only" in line for line in lines)


def test_a_face_icon_is_the_face_emoji_its_name_says():
    from stickerbot.stickerclip.icon_faces import face_key

    assert face_key("face-sad-tear") == face_key("mood-cry") == face_key("emoji-cry-filled") == "1F622"
    assert face_key("mood-angry-filled") == face_key("angry-face") == face_key("bx-angry") == "1F620"
    assert face_key("smiley-meh-bold") == face_key("sentiment-neutral") == "1F610"
    assert face_key("emoji-sad-line-duotone") == face_key("sad-circle-bold") == "1F641"
    assert face_key("face-with-smiling-open-eyes") == "1F60A"
    assert face_key("face-grin-squint-tears") == "1F602" and face_key("face-sad-cry") == "1F62D"
    # A face word beside an object is not a face; a word that names other things too needs a
    # face word ("tongue", "cool", "empty").
    for not_a_face in ("home-smile", "angry-bird", "calendar-sad", "bear-smile-fill", "crying-baby"):
        assert face_key(not_a_face) is None, not_a_face
    assert face_key("tongue") is None and face_key("mood-tongue") == "1F61B"
    assert face_key("sunglasses") is None and face_key("emoji-cool") == "1F60E"
    assert face_key("empty") is None and face_key("mood-empty") == "1F636"


def test_icon_sets_are_fetched_as_one_group_of_face_pictures(tmp_path):
    from stickerbot.stickerclip.build import training_styles

    members = art.expand_styles(["icon-faces"])
    assert len(members) > 20 and all(STYLES[m].kind == "icon-faces" and STYLES[m].optional for m in members)
    assert art.expand_styles(["noto", "icon-faces", "noto"]) == ["noto", *members]
    # Asked for as a group, trained on as its members; never by default.
    assert set(members) <= set(training_styles(("icon-faces",)))
    assert not set(members) & set(training_styles())
    assert all(STYLES[m].licence in ("MIT", "Apache-2.0", "ISC", "Unlicense", "CC-BY-4.0") for m in members)
    # Only the faces of a set are drawn, each as its emoji, black where the set says currentColor.
    style = STYLES[members[0]]
    glyph = '<circle cx="8" cy="8" r="6" fill="currentColor"/>'
    folder = make_iconify(
        tmp_path / "npm",
        "icons",
        {"face-sad-tear": glyph, "home-smile": glyph, "mood-angry-outline": glyph, "arrow": glyph},
    )
    pictures = dict(art.read_icon_faces(folder, style, {}))
    assert set(pictures) == {"1F622", "1F620"}
    image = pictures["1F622"](32)
    assert image.size == (32, 32) and image.getpixel((16, 16)) == (0, 0, 0, 255)
    assert image.getpixel((0, 0))[3] == 0
    # The fetch takes the group's name and writes each set's attribution.
    out = tmp_path / "art"
    counts = fetch_styles(out, styles=["icon-faces"], progress=False, pack=lambda spec, cache: folder)
    assert set(counts) == set(members) and all(n == 2 for n in counts.values())
    licences = (out / "LICENSES.md").read_text()
    assert all(STYLES[m].package in licences for m in members)
