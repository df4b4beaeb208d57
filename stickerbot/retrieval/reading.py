"""What a picture shows, read from the library stickers nearest to its image vector.

An encoder trained into the text index's space (StickerCLIP-lite) scores a picture's
neighbours against each sticker's annotation vector and its own picture vector (the mean of
the two cosines); CLIP's image space against the pictures only. The nearest ``k`` vote on the emotion and the
fine emotion with weights that fall off with the score; the winning share is the confidence.

A picture far from every library sticker (a cartoon drawn in another way than any emoji art)
has no telling neighbours: its nearest stickers are whatever objects happen to be closest.
When the encoder has an expression head (``stickerclip.expression``) and the head is sure of
such a picture, its emotion is the head's instead, and it is said to look like the nearest
sticker with that emotion.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields, replace

import numpy as np

from stickerbot.stickers.record import StickerRecord

# The emotion of objects and plain things (SER30K's Neutral, stickers/labels.py).
OBJECT_EMOTION = "Neutral"


@dataclass(frozen=True)
class ReadWeights:
    # The nearest this many vote. Chosen on the dev pictures among 3, 5, 8 and 12 (with the
    # temperature among 0.03, 0.05 and 0.1), by a rule written before the grid: the dev emoji's
    # faces, hearts and hands read right 67.0% with 5, 79.5% with 3 (the same emoji in the
    # library's art is usually the nearest; more neighbours let other faces outvote it), read as
    # sure 78.4 -> 81.8% and rightly 78.3 -> 79.2%; the dev drawings 45.7 -> 44.4% (README, "Eyes
    # for unseen stickers").
    k: int = 3
    # Softness of the vote: a neighbour 0.05 below the best counts 1/e as much.
    temperature: float = 0.05
    # Share of the picture-to-picture cosine in a neighbour's score (the rest: picture-to-text).
    image: float = 0.5
    # Instead of the fixed share, weigh each side of a picture's scores by how clearly it picks
    # one sticker (its top-1 margin): w = m_picture / (m_picture + m_text). The scores are then
    # shifted so that their best is the fixed share's best, which keeps the expression head's
    # gate (``expression_below``) where it was chosen; a shift moves neither ranking nor vote.
    image_by_margin: bool = False
    # Below this share of the vote a picture is not guessed at (the chat answers it neutrally,
    # the importer leaves its emotion to the words); chosen on the dev pictures (README, "Eyes
    # for unseen stickers").
    min_confidence: float = 0.6
    # A picture whose best neighbour scores below this is unlike the library's art, and the
    # expression head (when there is one) reads its emotion. Chosen on the dev pictures: the
    # dev drawings' best scores have a median of 0.41, the dev emoji's 0.54 (README, "Eyes for
    # unseen stickers").
    expression_below: float = 0.45
    # Such a picture that its neighbours read as Neutral (drawn animals and characters land next
    # to objects) takes the head's strongest other feeling, as sure, from this probability.
    # Chosen on the dev drawings and their chat turns (README, "Eyes for unseen stickers").
    feeling_over_object: float = 0.4


def read_weights_with(changes: Sequence[str], base: ReadWeights = ReadWeights()) -> ReadWeights:
    """``base`` with ``FIELD=VALUE`` changes ("k=5", "image_by_margin=true"), each value read as
    its field's type; ValueError naming the field or value that is not one."""
    types = {f.name: f.type for f in fields(ReadWeights)}
    values: dict = {}
    for change in changes:
        name, sep, text = change.partition("=")
        name = name.strip()
        if not sep or name not in types:
            raise ValueError(
                f"not FIELD=VALUE for a ReadWeights field: {change!r}; fields: {', '.join(types)}"
            )
        kind = types[name]
        text = text.strip()
        if kind == "bool":
            if text.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(f"{name} takes true or false, not {text!r}")
            values[name] = text.lower() in ("true", "1", "yes")
        else:
            try:
                values[name] = int(text) if kind == "int" else float(text)
            except ValueError:
                raise ValueError(f"{name} takes a number, not {text!r}") from None
    return replace(base, **values)


@dataclass(frozen=True)
class StickerReading:
    description: str  # what the nearest sticker is ("loudly crying face")
    emotion: str
    fine_emotion: str | None
    confidence: float  # the share of the vote the emotion got, 0..1
    record: StickerRecord | None = None  # the nearest sticker with that emotion
    sure: bool = False  # confidence reached the reader's min_confidence
    neighbours: list[tuple[str, float]] = field(default_factory=list)  # (sticker id, score)
    by: str = "neighbours"  # or "expression": the expression head read the emotion

    def phrase(self) -> str:
        """How the chat and the importer say it: "a loudly crying face (crying)"."""
        feeling = self.fine_emotion or self.emotion.lower()
        return f"a {self.description} ({feeling})"


def vote(labels: Sequence[str | None], scores: np.ndarray, temperature: float) -> tuple[str | None, float]:
    """The label with the largest share of ``exp((score - best) / temperature)`` weights, and
    that share (pure). None labels vote for nothing but still count in the total."""
    if len(labels) == 0:
        return None, 0.0
    weights = np.exp((scores - scores.max()) / temperature)
    shares: dict[str, float] = {}
    for label, w in zip(labels, weights, strict=True):
        if label is not None:
            shares[label] = shares.get(label, 0.0) + float(w)
    if not shares:
        return None, 0.0
    best = max(shares, key=shares.get)
    return best, shares[best] / float(weights.sum())


def top_margin(scores: np.ndarray) -> np.ndarray:
    """Each row's best score minus its second best (pure); 0 for a row of one."""
    if scores.shape[1] < 2:
        return np.zeros(scores.shape[0], dtype=np.float32)
    top2 = -np.partition(-scores, 1, axis=1)[:, :2]
    return top2[:, 0] - top2[:, 1]


def margin_share(picture: np.ndarray, text: np.ndarray, default: float) -> np.ndarray:
    """The picture side's share from the two sides' top-1 margins (pure): the side that picks
    one sticker more clearly counts more; ``default`` where neither picks any."""
    total = picture + text
    return np.where(total > 0, picture / np.where(total > 0, total, 1.0), default).astype(np.float32)


class NeighbourReader:
    """Reads pictures against a fixed set of library stickers (read-only once built)."""

    def __init__(
        self,
        records: Sequence[StickerRecord],
        text_vectors: np.ndarray,
        image_vectors: np.ndarray | None = None,
        weights: ReadWeights = ReadWeights(),
    ):
        if len(records) == 0:
            raise ValueError("no stickers to read pictures against")
        self.records = list(records)
        self.text_vectors = np.asarray(text_vectors, dtype=np.float32)
        self.image_vectors = None if image_vectors is None else np.asarray(image_vectors, dtype=np.float32)
        self.weights = weights

    def scores(self, vectors: np.ndarray) -> np.ndarray:
        """(queries, stickers) scores of unit query vectors."""
        vectors = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        scores = vectors @ self.text_vectors.T
        if self.image_vectors is not None:
            pictures = vectors @ self.image_vectors.T
            w = self.weights.image
            fixed = (1 - w) * scores + w * pictures
            if not self.weights.image_by_margin:
                return fixed
            share = margin_share(top_margin(pictures), top_margin(scores), w)[:, None]
            weighted = (1 - share) * scores + share * pictures
            return weighted + (fixed.max(axis=1) - weighted.max(axis=1))[:, None]
        return scores

    def read_scores(
        self, scores: np.ndarray, expression: Mapping[str, float] | None = None
    ) -> StickerReading:
        """The reading of one picture from its ``scores`` against the stickers; ``expression``:
        an expression head's probabilities by emotion, used when the picture is unlike them all."""
        k = min(self.weights.k, len(scores))
        order = np.argsort(-scores, kind="stable")
        top = order[:k]
        near = [self.records[i] for i in top]
        top_scores = scores[top]
        far = bool(expression) and float(top_scores[0]) < self.weights.expression_below
        if far and max(expression.values()) >= self.weights.min_confidence:
            # Unlike every sticker, and the head is sure: its reading. Unsure, the neighbours
            # read it as before (on the dev emoji the head's unsure guesses read 10 points fewer
            # of them than the neighbours did).
            return self._read_expression(scores, order, k, expression)
        emotion, share = vote([r.emotion for r in near], top_scores, self.weights.temperature)
        if far and emotion == OBJECT_EMOTION:
            # Unlike every sticker and next to objects: a drawing whose feeling the neighbours
            # cannot see. The head's strongest feeling, when it gives it enough, is said as sure.
            feeling = max((e for e in expression if e != OBJECT_EMOTION), key=expression.get, default=None)
            if feeling is not None and expression[feeling] >= self.weights.feeling_over_object:
                return self._read_expression(scores, order, k, expression, emotion=feeling, sure=True)
        fine, _ = vote(
            [r.fine_emotion for r in near if r.emotion == emotion],
            np.array([s for r, s in zip(near, top_scores, strict=True) if r.emotion == emotion]),
            self.weights.temperature,
        )
        first = next((r for r in near if r.emotion == emotion), near[0])
        return StickerReading(
            description=first.name or first.description,
            emotion=emotion or first.emotion,
            fine_emotion=fine,
            confidence=share,
            record=first,
            sure=share >= self.weights.min_confidence,
            neighbours=[(r.id, float(s)) for r, s in zip(near, top_scores, strict=True)],
        )

    def _read_expression(
        self,
        scores: np.ndarray,
        order: np.ndarray,
        k: int,
        expression: Mapping[str, float],
        *,
        emotion: str | None = None,
        sure: bool | None = None,
    ) -> StickerReading:
        """The head's reading: its ``emotion`` (default: its most likely), sure from
        ``min_confidence`` unless ``sure`` says."""
        emotion = emotion or max(expression, key=expression.get)
        share = float(expression[emotion])
        # What it looks like: the best-scored sticker that carries that emotion, one with a named
        # feeling (a face, a heart) before an object that merely has it.
        carrying = [self.records[i] for i in order if self.records[i].emotion == emotion]
        first = next(
            (r for r in carrying if r.fine_emotion), carrying[0] if carrying else self.records[order[0]]
        )
        return StickerReading(
            description=first.name or first.description,
            emotion=emotion,
            fine_emotion=first.fine_emotion if first.emotion == emotion else None,
            confidence=share,
            record=first,
            sure=share >= self.weights.min_confidence if sure is None else sure,
            neighbours=[(self.records[i].id, float(scores[i])) for i in order[:k]],
            by="expression",
        )

    def needs_expression(self, vector: np.ndarray) -> bool:
        """Whether an expression head's reading would be looked at for this picture: it is
        unlike every sticker. A head that reads its own, larger pass of the encoder costs twice
        the encoder's pass, so callers run it only then."""
        return float(self.scores(vector)[0].max()) < self.weights.expression_below

    def read(self, vector: np.ndarray, expression: Mapping[str, float] | None = None) -> StickerReading:
        return self.read_scores(self.scores(vector)[0], expression)
