"""``python -m stickerbot eval images``: the image encoder on pictures it was never trained on.

Three kinds of test pictures, none of which a random split could leak into training:
- whole art styles held out of training (``data.HELD_OUT_STYLES``), every emoji the library
  holds, split into emoji seen in training (in other styles) and emoji never trained on;
- the stickers drawn for the test (``assets/eval/drawn_stickers``): cartoon faces, animals,
  doodles and captioned photos no package draws, judged by emotion only.

Image -> sticker R@1/5/10 and MR rank the picture's own sticker among the library's stickers;
emotion accuracy is read on the faces, hearts and hands (80% of all emoji are Neutral
objects) next to the majority class. Everything is reported beside the search the offline
default had before (perceptual hash + OCR, no encoder).
"""

from __future__ import annotations

import dataclasses
import io
import json
import re
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from stickerbot.config import ASSETS_DIR, Settings
from stickerbot.embeddings.image import encode_with_expressions
from stickerbot.retrieval.reading import NeighbourReader, ReadWeights
from stickerbot.stickerclip.art import MANIFEST, STYLES, emoji_key, read_manifest
from stickerbot.stickerclip.data import HELD_OUT_STYLES, held_out_emoji
from stickerbot.stickerclip.train import rank_metrics
from stickerbot.stickers.images import BadImageError, LoadedImage, load_image
from stickerbot.stickers.record import StickerRecord

DRAWN_STICKERS = ASSETS_DIR / "eval" / "drawn_stickers"
DEV_DRAWN = ASSETS_DIR / "eval" / "drawn_stickers_dev"
_EXPRESSIVE = re.compile(
    r"\b(face|faces|heart|hearts|hand|hands|fist|thumbs|clapping|palm|palms|fingers?|ok hand)\b"
)


def expressive(record: StickerRecord) -> bool:
    """Faces, hearts and hands: the emoji whose emotion is the point of sending them."""
    return bool(_EXPRESSIVE.search(record.name.lower()))


def accuracy(predicted: list, truth: list) -> float:
    return 100.0 * float(np.mean([p == t for p, t in zip(predicted, truth, strict=True)])) if truth else 0.0


def majority(truth: list) -> tuple[str, float]:
    label, count = Counter(truth).most_common(1)[0]
    return label, 100.0 * count / len(truth)


class BaselineReader:
    """The offline default without an encoder: the library's search by perceptual hash and OCR.
    A picture it cannot match (score 0) is read as Neutral, as the chat then does."""

    def __init__(self, search):
        self.search = search

    def rank(self, image: LoadedImage, k: int = 10) -> list[StickerRecord]:
        return [h.record for h in self.search.search(image=image, k=k) if h.score > 0]

    def emotion(self, image: LoadedImage) -> tuple[str, str | None]:
        hits = self.rank(image, 1)
        return (hits[0].emotion, hits[0].fine_emotion) if hits else ("Neutral", None)


def _loaded(path: Path) -> LoadedImage | None:
    try:
        return load_image(path.read_bytes())
    except (OSError, BadImageError):
        return None


def evaluate_images(
    settings: Settings,
    *,
    art_dir: Path | None = None,
    drawn_dir: Path = DRAWN_STICKERS,
    styles: bool = True,
    held_out: tuple[str, ...] = HELD_OUT_STYLES,
    baseline: bool = True,
    progress: bool = True,
    read_weights: ReadWeights | None = None,
) -> dict:
    """The table of the module docstring, as a dict. ``styles=False`` scores the drawn stickers
    only (a dev set of them, say) and the dev emoji, without the held-out styles: both dev
    lines an encoder is chosen on, and no test picture. ``read_weights``: the reader of the
    "both" lines and of the reading (a candidate reader is judged by them)."""
    from stickerbot.embeddings import create_image_embedder
    from stickerbot.services import open_library
    from stickerbot.stickerclip.build import art_dir as default_art_dir
    from stickerbot.stickers.library import BUNDLED_PACK

    read_weights = read_weights or ReadWeights()
    art_dir = art_dir or default_art_dir(settings)
    plain = open_library(dataclasses.replace(settings, image_embedder=None), progress=progress)
    records = [r for r in plain.library.records if r.pack == BUNDLED_PACK]
    by_key = {emoji_key(r.hexcode): n for n, r in enumerate(records) if r.hexcode}
    encoder = create_image_embedder(
        settings.image_embedder or "stickerclip-lite",
        path=settings.image_embedder_path,
        data_dir=settings.data_dir,
    )
    text = plain.index.get_vectors([r.id for r in records])
    text_vectors = np.stack([text[r.id] for r in records])
    library_pictures = []
    for r in records:
        with Image.open(plain.library.path_of(r)) as image:
            library_pictures.append(image.convert("RGBA"))
    image_vectors = encoder.encode_images(library_pictures)
    galleries = {
        "picture": NeighbourReader(records, text_vectors, image_vectors, ReadWeights(image=1.0)),
        "text": NeighbourReader(records, text_vectors, None),
        "both": NeighbourReader(records, text_vectors, image_vectors, read_weights),
    }
    base = BaselineReader(plain.search) if baseline else None
    report: dict = {
        "encoder": str(getattr(encoder, "path", encoder.name)),
        "styles": {},
        "drawn_dir": str(drawn_dir),
        "read weights": dataclasses.asdict(read_weights),
    }

    if styles and held_out != HELD_OUT_STYLES:
        _check_unseen(encoder, held_out)
    for style in held_out if styles else ():
        rows = [row for row in read_manifest(art_dir, style) if row["key"] in by_key]
        paths = [art_dir / style / row["image"] for row in rows]
        truth = np.array([by_key[row["key"]] for row in rows])
        unseen = np.array([held_out_emoji(row["key"]) for row in rows])
        pictures = []
        for p in tqdm(paths, desc=f"encoding {style}", disable=not progress, leave=False):
            with Image.open(p) as image:
                pictures.append(image.convert("RGBA"))
        queries, expressions = encode_with_expressions(encoder, pictures)
        entry: dict = {"pictures": len(rows), "unseen_emoji": int(unseen.sum())}
        for name, reader in galleries.items():
            scores = reader.scores(queries)
            entry[name] = {
                "all": _ranks(scores, truth),
                "seen emoji": _ranks(scores[~unseen], truth[~unseen]),
                "unseen emoji": _ranks(scores[unseen], truth[unseen]),
                **_emotions(reader, scores, truth, records),
            }
        if expressions is not None:
            # What the chat reads: the neighbours, or the expression head for a picture unlike them.
            entry["reading"] = _emotions(
                galleries["both"], galleries["both"].scores(queries), truth, records, expressions
            )
        if base is not None:
            entry["phash+ocr"] = _baseline_style(base, paths, truth, records, progress)
        report["styles"][style] = entry

    # The dev emoji (held out of training, in the training styles): chosen on with the dev
    # drawings. The held-out styles need the fetched art; a drawn set alone does not, and
    # then has no dev emoji line.
    from stickerbot.stickerclip.build import training_styles

    if styles or all((art_dir / s / MANIFEST).is_file() for s in training_styles()):
        report["dev"] = _confidence_table(encoder, galleries["both"], art_dir, records, by_key)

    labels_path = drawn_dir / "labels.jsonl"
    if labels_path.exists():
        rows = [
            json.loads(line) for line in labels_path.read_text(encoding="utf-8").splitlines() if line.strip()
        ]
        pictures = []
        for row in rows:
            with Image.open(drawn_dir / row["image"]) as image:
                pictures.append(image.convert("RGBA"))
        queries, expressions = encode_with_expressions(encoder, pictures)
        truth_emotions = [row["emotion"] for row in rows]
        drawn: dict = {"pictures": len(rows), "majority": majority(truth_emotions)}
        for name, reader in galleries.items():
            readings = [reader.read_scores(s) for s in reader.scores(queries)]
            drawn[name] = {
                "emotion": accuracy([r.emotion for r in readings], truth_emotions),
                "by kind": _by_kind(rows, [r.emotion for r in readings]),
            }
        both = _read_all(galleries["both"], queries, expressions)
        if expressions is not None:
            drawn["reading"] = {
                "emotion": accuracy([r.emotion for r in both], truth_emotions),
                "by kind": _by_kind(rows, [r.emotion for r in both]),
                "by the head": sum(r.by == "expression" for r in both),
            }
        loaded = [_loaded(drawn_dir / row["image"]) for row in rows]
        if plain.search.ocr is not None:
            # What the importer and the chat go by: the words on a sticker first (OCR, read into
            # an emotion by the importer's guesser), the picture where it has none.
            from stickerbot.importer import EmotionGuesser

            guesser = EmotionGuesser(plain.library)
            words = [plain.search.read_text(im) if im else "" for im in loaded]
            predicted = [
                (guesser.guess(w) if w else None) or r.emotion for w, r in zip(words, both, strict=True)
            ]
            drawn["words first"] = {
                "emotion": accuracy(predicted, truth_emotions),
                "by kind": _by_kind(rows, predicted),
                "with words": sum(bool(w) for w in words),
            }
        if base is not None:
            drawn["phash+ocr"] = {
                "emotion": accuracy(
                    [base.emotion(im)[0] if im else "Neutral" for im in loaded], truth_emotions
                )
            }
        report["drawn"] = drawn
    return report


THRESHOLDS = (0.0, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def _confidence_table(encoder, reader: NeighbourReader, art_dir: Path, records, by_key) -> dict:
    """On the dev pictures (emoji held out of training, drawn in the training styles: never the
    test styles), how many faces, hearts and hands are read at each confidence and how many
    of those rightly: where ``ReadWeights.min_confidence`` is chosen."""
    from stickerbot.stickerclip.build import training_styles

    pictures, truth = [], []
    for style in training_styles():
        for row in read_manifest(art_dir, style):
            n = by_key.get(row["key"])
            if n is None or not held_out_emoji(row["key"]) or not expressive(records[n]):
                continue
            with Image.open(art_dir / style / row["image"]) as image:
                pictures.append(image.convert("RGBA"))
            truth.append(records[n].emotion)
    if not pictures:
        return {}
    readings = _read_all(reader, *encode_with_expressions(encoder, pictures))
    table = {}
    for t in THRESHOLDS:
        kept = [(r.emotion, w) for r, w in zip(readings, truth, strict=True) if r.confidence >= t]
        table[str(t)] = {
            "read": round(100.0 * len(kept) / len(truth), 1),
            "right": round(accuracy([p for p, _ in kept], [w for _, w in kept]), 1) if kept else None,
        }
    # What the chat and the importer act on: the readings the reader calls sure.
    sure = [(r.emotion, w) for r, w in zip(readings, truth, strict=True) if r.sure]
    said = {
        "read": round(100.0 * len(sure) / len(truth), 1),
        "right": round(accuracy([p for p, _ in sure], [w for _, w in sure]), 1) if sure else None,
    }
    return {"pictures": len(truth), "by confidence": table, "sure": said}


def _ranks(scores: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    if len(truth) == 0:
        return {}
    return {k: round(v, 1) for k, v in rank_metrics(scores, truth).items()}


def _read_all(reader: NeighbourReader, vectors: np.ndarray, expressions: list[dict] | None) -> list:
    scores = reader.scores(vectors)
    return [
        reader.read_scores(s, None if expressions is None else e)
        for s, e in zip(scores, expressions or [None] * len(scores), strict=True)
    ]


def trained_styles(path: Path) -> list[str] | None:
    """The art styles a StickerCLIP-lite file says it was trained on (its ``train_styles``
    metadata), or None when it does not say (a Hub CLIP folder, an older file)."""
    from safetensors import safe_open

    if not Path(path).is_file():
        return None
    with safe_open(str(path), framework="pt") as f:
        text = (f.metadata() or {}).get("train_styles")
    return json.loads(text) if text else None


def _check_unseen(encoder, styles: tuple[str, ...]) -> None:
    """Styles scored in place of the held-out ones (a dev stand-in for them: emoji the encoder
    knows, in art it has never seen) must be styles the encoder did not train on."""
    from stickerbot.errors import UserError

    unknown = [s for s in styles if s not in STYLES]
    if unknown:
        raise UserError(f"unknown art styles {', '.join(unknown)}; known: {', '.join(STYLES)}")
    test = [s for s in styles if s in HELD_OUT_STYLES]
    if test:
        raise UserError(f"{', '.join(test)}: the test's held-out styles, scored by `eval images` alone")
    trained = trained_styles(getattr(encoder, "path", ""))
    if trained is None:
        raise UserError(f"{encoder.name} does not say which art styles it trained on: cannot score {styles}")
    seen = [s for s in styles if s in trained]
    if seen:
        raise UserError(f"the image encoder trained on {', '.join(seen)}: not an unseen style to score")


def _emotions(
    reader: NeighbourReader,
    scores: np.ndarray,
    truth: np.ndarray,
    records,
    expressions: list[dict] | None = None,
) -> dict:
    mask = np.array([expressive(records[t]) for t in truth])
    kept = [e for e, m in zip(expressions, mask, strict=True) if m] if expressions is not None else None
    readings = [reader.read_scores(s, None if kept is None else kept[n]) for n, s in enumerate(scores[mask])]
    wanted = [records[t] for t in truth[mask]]
    emotions = [r.emotion for r in wanted]
    fine_pairs = [
        (g.fine_emotion, w.fine_emotion) for g, w in zip(readings, wanted, strict=True) if w.fine_emotion
    ]
    label, share = majority(emotions)
    fine_truth = [w for _, w in fine_pairs]
    return {
        "expressive pictures": int(mask.sum()),
        "emotion": round(accuracy([r.emotion for r in readings], emotions), 1),
        "emotion majority": [label, round(share, 1)],
        "fine emotion": round(accuracy([g for g, _ in fine_pairs], fine_truth), 1) if fine_pairs else None,
        "fine majority": [majority(fine_truth)[0], round(majority(fine_truth)[1], 1)] if fine_pairs else None,
    }


def _baseline_style(
    base: BaselineReader, paths: list[Path], truth: np.ndarray, records, progress: bool
) -> dict:
    hits = {1: [], 5: [], 10: []}
    predicted, wanted = [], []
    for path, t in tqdm(
        list(zip(paths, truth, strict=True)), desc="phash+ocr", disable=not progress, leave=False
    ):
        image = _loaded(path)
        ranked = [r.id for r in base.rank(image)] if image else []
        for k in hits:
            hits[k].append(records[t].id in ranked[:k])
        if expressive(records[t]):
            predicted.append(base.emotion(image)[0] if image else "Neutral")
            wanted.append(records[t].emotion)
    out = {f"R@{k}": round(100.0 * float(np.mean(v)), 1) for k, v in hits.items()}
    out["MR"] = round(float(np.mean([out["R@1"], out["R@5"], out["R@10"]])), 1)
    out["emotion"] = round(accuracy(predicted, wanted), 1)
    return out


def _by_kind(rows: list[dict], predicted: list[str]) -> dict[str, float]:
    kinds: dict[str, list[bool]] = {}
    for row, p in zip(rows, predicted, strict=True):
        kinds.setdefault(row.get("kind", "other"), []).append(p == row["emotion"])
    return {k: round(100.0 * float(np.mean(v)), 1) for k, v in sorted(kinds.items())}


def dumps(report: dict) -> str:
    return json.dumps(report, ensure_ascii=False, indent=1)


def format_report(report: dict) -> str:
    """The report as a plain-text table."""
    out = io.StringIO()
    for style, entry in report["styles"].items():
        print(
            f"{'held-out style' if style in HELD_OUT_STYLES else 'unseen style (dev)'} {style}: "
            f"{entry['pictures']} pictures ({entry['unseen_emoji']} of unseen emoji)",
            file=out,
        )
        print(
            f"  {'gallery':10s} {'R@1':>6s} {'R@5':>6s} {'R@10':>6s} {'MR':>6s} | MR seen / unseen emoji | "
            "emotion (faces, hearts, hands) | fine",
            file=out,
        )
        for name in ("picture", "text", "both"):
            e = entry[name]
            a = e["all"]
            print(
                f"  {name:10s} {a['R@1']:6.1f} {a['R@5']:6.1f} {a['R@10']:6.1f} {a['MR']:6.1f} | "
                f"{e['seen emoji'].get('MR', 0):5.1f} / {e['unseen emoji'].get('MR', 0):5.1f}        | "
                f"{e['emotion']:5.1f}% of {e['expressive pictures']}            | {e['fine emotion']}",
                file=out,
            )
        if "reading" in entry:
            print(
                f"  {'reading':10s} (neighbours, or the expression head when unlike them): emotion "
                f"{entry['reading']['emotion']:5.1f}%, fine {entry['reading']['fine emotion']}",
                file=out,
            )
        if "phash+ocr" in entry:
            b = entry["phash+ocr"]
            print(
                f"  {'phash+ocr':10s} {b['R@1']:6.1f} {b['R@5']:6.1f} {b['R@10']:6.1f} {b['MR']:6.1f} |"
                f"                        | {b['emotion']:5.1f}%",
                file=out,
            )
        e = entry["both"]
        print(
            f"  majority class: {e['emotion majority'][0]} {e['emotion majority'][1]}%, fine "
            f"{e['fine majority']}",
            file=out,
        )
    if report.get("dev"):
        d = report["dev"]
        cells = ", ".join(
            f">={t}: {v['read']}% read, {v['right']}% right" for t, v in d["by confidence"].items()
        )
        print(
            f"dev (held-out emoji in training styles, {d['pictures']} faces/hearts/hands): {cells}", file=out
        )
        if d.get("sure"):
            print(
                f"  read as sure (what the chat acts on): {d['sure']['read']}%, {d['sure']['right']}% right",
                file=out,
            )
    if "drawn" in report:
        d = report["drawn"]
        print(
            f"drawn stickers ({Path(report.get('drawn_dir', DRAWN_STICKERS)).name}): {d['pictures']} "
            f"(majority {d['majority'][0]} {d['majority'][1]:.1f}%)",
            file=out,
        )
        for name in ("picture", "text", "both", "reading", "words first"):
            if name in d:
                print(
                    f"  {name:10s} emotion {d[name]['emotion']:5.1f}%  by kind {d[name]['by kind']}", file=out
                )
        if "phash+ocr" in d:
            print(f"  {'phash+ocr':10s} emotion {d['phash+ocr']['emotion']:5.1f}%", file=out)
    return out.getvalue()


# --- imports understood by their pictures ---------------------------------------------------------

# What people type to find a sticker of a feeling; the drawn stickers of that emotion answer.
IMPORT_QUERIES = {
    "Sadness": ("crying", "so sad"),
    "Happiness": ("laughing", "so happy"),
    "Anger": ("angry", "furious"),
    "Fear": ("scared", "terrified"),
    "Surprise": ("surprised", "shocked"),
    "Disgust": ("disgusting", "gross"),
}


def import_search(settings: Settings, drawn_dir: Path = DRAWN_STICKERS, *, k: int = 10) -> dict:
    """Text -> sticker search on the drawn stickers imported as a pack named like a phone's
    camera roll (``IMG_0001.png``..., no sidecar), without and with the image encoder: the
    share of the top ``k`` of the pack that has the query's emotion, against its share in
    the pack (what a random order gives)."""
    import shutil
    import tempfile

    from stickerbot.services import open_library

    rows = [
        json.loads(line)
        for line in (drawn_dir / "labels.jsonl").read_text(encoding="utf-8").splitlines()
        if line
    ]
    out: dict = {"pictures": len(rows), "k": k}
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "camera-roll"
        source.mkdir()
        emotion_of = {}
        for n, row in enumerate(sorted(rows, key=lambda r: zlib_order(r["image"])), start=1):
            name = f"IMG_{n:04d}.png"
            shutil.copy(drawn_dir / row["image"], source / name)
            emotion_of[name] = row["emotion"]
        for label, embedder in (("without encoder", None), ("with encoder", settings.image_embedder)):
            run = dataclasses.replace(
                settings, data_dir=Path(tmp) / label.replace(" ", "-"), image_embedder=embedder
            )
            services = open_library(run, progress=False)
            report = services.import_pack(source, pack="camera-roll")
            truth = {o.sticker_id: emotion_of[o.file] for o in report.imported}
            per_emotion = {}
            for emotion, queries in IMPORT_QUERIES.items():
                shares = []
                for query in queries:
                    hits = [h.record.id for h in services.search.search(query, k=len(services.library))]
                    mine = [i for i in hits if i in truth][:k]
                    shares.append(100.0 * sum(truth[i] == emotion for i in mine) / k)
                per_emotion[emotion] = round(float(np.mean(shares)), 1)
            out[label] = {
                "precision": per_emotion,
                "mean": round(float(np.mean(list(per_emotion.values()))), 1),
            }
        counts = Counter(emotion_of.values())
        out["random"] = round(float(np.mean([100.0 * counts[e] / len(rows) for e in IMPORT_QUERIES])), 1)
    return out


def zlib_order(name: str) -> int:
    """A fixed shuffle of file names (so IMG_0001... are not grouped by emotion)."""
    import zlib

    return zlib.crc32(name.encode())
