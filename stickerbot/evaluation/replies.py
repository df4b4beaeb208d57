"""Are the bot's words right for the moment? Evaluated on written chat turns.

Each item of the set (``assets/eval/replies_heldout.jsonl``; ``replies_dev.jsonl`` for tuning)
is one turn a person might send: a message (one word to a paragraph, slang, emoji, mixed
languages), its conversation so far, and optionally a sticker (a library sticker, a new
caption sticker, an unknown picture), labelled with its fine intent. With stickers set to
``always`` the chat answers every item, and per language the report counts:

- **tone errors** (``chat.checks.tone_problems`` against the *written* intent, so a misread
  intent shows up here): sympathy on good news or with nothing wrong, celebration on bad
  news, laughter at grief or fear, each listed;
- **meta-talk**, **wrong language**, **repetition**, **empty**, **too long** and the length;
- **off-topic** by the response-selection model: the reply ranks its own message below the
  middle of 10 (the message and 9 others of the same language); and, where a hand audit of
  the replies exists (``replies_audit.jsonl``), the audited verdicts;
- **sticker fit**: a sticker was sent and it answers the written intent (``chat.intents.answers``);
  factual questions should get none;
- **intent accuracy**: the intent read equals the written one.

Replies are collected once (:func:`collect`, the slow part: one chat turn each) and scored
by pure functions (:func:`score`), so a dump of another system's replies scores the same way.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from statistics import median
from typing import Any

from tqdm.auto import tqdm

from stickerbot.chat.checks import CheckResult, ReplyChecker
from stickerbot.chat.intents import answers, load_taxonomy
from stickerbot.chat.policy import Frequency
from stickerbot.chat.types import ChatOptions, Turn, parse_history
from stickerbot.errors import UserError
from stickerbot.evaluation.metrics import share

STICKER_KINDS = ("library", "new_caption", "unknown")
# A reply that ranks its own message below this place among 10 is about something else.
OFF_TOPIC_RANK = 5
VERDICTS = ("fits", "generic but fine", "off-topic", "wrong tone")


@dataclass(frozen=True)
class ReplyItem:
    id: str
    lang: str
    intent: str
    message: str
    history: tuple[Turn, ...] = ()
    sticker: dict[str, Any] | None = None
    tags: tuple[str, ...] = ()

    @property
    def factual(self) -> bool:
        return self.intent == "question"


def load_reply_items(path: Path) -> list[ReplyItem]:
    """The items of a reply set; ValueError naming the line when one is malformed."""
    taxonomy = load_taxonomy()
    path = Path(path)
    out: list[ReplyItem] = []
    seen: set[str] = set()
    with path.open(encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"{path.name}, line {line_no}"
            try:
                d = json.loads(line)
                item = ReplyItem(
                    id=d["id"],
                    lang=d["lang"],
                    intent=d["intent"],
                    message=d.get("message") or "",
                    history=tuple(parse_history(d.get("history") or [])),
                    sticker=d.get("sticker"),
                    tags=tuple(d.get("tags") or ()),
                )
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as err:
                raise UserError(f"{where}: not a reply item ({err})") from err
            if item.intent not in taxonomy:
                raise UserError(f"{where}: unknown intent {item.intent!r}")
            if item.lang not in ("en", "zh"):
                raise UserError(f"{where}: lang must be en or zh")
            if item.sticker is not None and item.sticker.get("kind") not in STICKER_KINDS:
                raise UserError(f"{where}: sticker kind must be one of {STICKER_KINDS}")
            if not item.message.strip() and item.sticker is None:
                raise UserError(f"{where}: an item needs a message or a sticker")
            if item.id in seen:
                raise UserError(f"{where}: duplicate id {item.id!r}")
            seen.add(item.id)
            out.append(item)
    return out


def sticker_bytes(item: ReplyItem, library, base_dir: Path) -> bytes | None:
    """The image the user sends with ``item``: a library sticker's file, or a picture of the set."""
    if item.sticker is None:
        return None
    if item.sticker["kind"] == "library":
        record = library.by_id.get(item.sticker["id"])
        if record is None:
            raise UserError(f"{item.id}: no sticker {item.sticker['id']!r} in the library")
        return library.path_of(record).read_bytes()
    return (Path(base_dir) / item.sticker["image"]).read_bytes()


# --- collecting replies ----------------------------------------------------------------------


@dataclass
class ReplyRecord:
    """What the system answered to one item (also the line format of ``--out`` dumps)."""

    id: str
    text: str
    source: str = ""
    intent: str | None = None  # the intent read, when the system reads one
    sticker: str | None = None  # the sticker id sent
    rejected: list[str] = field(default_factory=list)
    seconds: float = 0.0
    # The selector's margin of the model's first sentence over the best other candidate.
    margin: float | None = None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ReplyRecord:
        return cls(
            **{
                k: d[k]
                for k in ("id", "text", "source", "intent", "sticker", "rejected", "seconds", "margin")
                if k in d
            }
        )


def collect(chat, items: Sequence[ReplyItem], *, base_dir: Path, progress: bool = False) -> list[ReplyRecord]:
    """One chat turn per item, stickers ``always`` (factual questions still get none)."""
    options = ChatOptions(frequency=Frequency.ALWAYS)
    library = chat.search.library
    out = []
    for item in tqdm(items, desc="replies", unit="turn", disable=not progress, leave=False):
        reply = chat.reply(
            list(item.history), item.message, sticker_bytes(item, library, base_dir), options=options
        )
        out.append(
            ReplyRecord(
                item.id,
                reply.text,
                reply.source,
                reply.intent,
                reply.sticker.record.id if reply.sticker else None,
                list(reply.rejected),
                round(reply.timings.get("total", 0.0), 3),
                None if reply.model_margin is None else round(reply.model_margin, 4),
            )
        )
    return out


# --- scoring (pure apart from the models handed in) ----------------------------------------------


@dataclass(frozen=True)
class Scored:
    item: ReplyItem
    record: ReplyRecord
    checks: CheckResult
    # Rank of the item's own message among 10 for this reply, by the response selector (1 = best).
    topic_rank: int | None
    sticker_fits: bool | None  # None: no sticker was wanted (a factual question)
    audit: str | None = None

    @property
    def off_topic(self) -> bool | None:
        return None if self.topic_rank is None else self.topic_rank > OFF_TOPIC_RANK


def topic_ranks(
    selector,
    items: Sequence[ReplyItem],
    records: Sequence[ReplyRecord],
    *,
    distractors: int = 9,
    seed: int = 0,
) -> list[int | None]:
    """For each reply, the rank of its own message among it and ``distractors`` other messages of
    the same language (drawn with ``seed``), by the selector's score (1 = its own message fits it
    best; ties count against); None without a selector."""
    if selector is None:
        return [None] * len(items)
    rng = random.Random(seed)
    by_lang: dict[str, list[int]] = {}
    for i, item in enumerate(items):
        if item.message.strip():
            by_lang.setdefault(item.lang, []).append(i)
    ranks: list[int | None] = []
    for i, (item, record) in enumerate(zip(items, records, strict=True)):
        pool = [j for j in by_lang.get(item.lang, []) if j != i]
        if not item.message.strip() or not record.text.strip() or len(pool) < distractors:
            ranks.append(None)
            continue
        others = rng.sample(pool, distractors)
        messages = [item.message] + [items[j].message for j in others]
        m = selector.encode_messages(messages, [item.lang] * len(messages))
        r = selector.encode_replies([record.text], [item.lang])[0]
        s = m @ r
        # Ties count against the reply: one that matches nothing is not on topic.
        ranks.append(1 + int((s[1:] >= s[0]).sum()))
    return ranks


def load_audit(path: Path | None) -> dict[str, dict[str, Any]]:
    """id -> audit line (``{id, reply, verdict, note}``), for the lines whose verdict is known."""
    if path is None or not Path(path).is_file():
        return {}
    out = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            d = json.loads(line)
            if d.get("verdict") is None:
                continue  # not judged yet
            if d.get("verdict") not in VERDICTS:
                raise UserError(f"{Path(path).name}: {d.get('id')}: verdict must be one of {VERDICTS}")
            out[d["id"]] = d
    return out


def score(
    items: Sequence[ReplyItem],
    records: Sequence[ReplyRecord],
    *,
    library,
    checker: ReplyChecker,
    selector=None,
    audit: dict[str, dict[str, Any]] | None = None,
) -> list[Scored]:
    by_id = {r.id: r for r in records}
    missing = [i.id for i in items if i.id not in by_id]
    if missing:
        raise UserError(f"{len(missing)} items have no reply (first: {missing[0]})")
    records = [by_id[i.id] for i in items]
    ranks = topic_ranks(selector, items, records)
    taxonomy = load_taxonomy()
    audit = audit or {}
    out = []
    for item, record, rank in zip(items, records, ranks, strict=True):
        said = [t.text for t in item.history if t.role == "assistant"]
        checks = checker.check(record.text, intent=item.intent, lang=item.lang, earlier=said)
        fits = None
        if taxonomy[item.intent].sticker:
            sticker = library.by_id.get(record.sticker) if record.sticker else None
            fits = sticker is not None and answers(item.intent, sticker, item.message)
        # An audit judges one reply: a changed reply is not covered by it.
        verdict = audit.get(item.id)
        verdict = verdict["verdict"] if verdict and verdict.get("reply") == record.text else None
        out.append(Scored(item, record, checks, rank, fits, verdict))
    return out


def summarize(scored: Sequence[Scored]) -> dict[str, Any]:
    """The metrics of one group of scored replies (pure)."""
    n = len(scored)
    sticker_wanted = [s for s in scored if s.sticker_fits is not None]
    factual = [s for s in scored if s.sticker_fits is None]
    ranked = [s for s in scored if s.topic_rank is not None]
    audited = [s for s in scored if s.audit is not None]
    lengths = [len(s.record.text) for s in scored]
    read = [s for s in scored if s.record.intent is not None]
    pct = lambda xs: round(100 * share(xs), 1)  # noqa: E731
    out = {
        "n": n,
        "tone_errors": pct([bool(s.checks.tone) for s in scored]),
        "tone_error_n": sum(bool(s.checks.tone) for s in scored),
        "meta_talk": sum(bool(s.checks.meta) for s in scored),
        "wrong_language": sum(s.checks.wrong_language for s in scored),
        "repetition": sum(bool(s.checks.repetition) for s in scored),
        "empty": sum(s.checks.empty for s in scored),
        "too_long": sum(s.checks.too_long for s in scored),
        "median_chars": median(lengths) if lengths else 0,
        "off_topic_model": pct([s.off_topic for s in ranked]) if ranked else None,
        "sticker_fit": pct([bool(s.sticker_fits) for s in sticker_wanted]),
        "sticker_n": len(sticker_wanted),
        "factual_without_sticker": pct([not s.record.sticker for s in factual]) if factual else None,
        "intent_accuracy": pct([s.record.intent == s.item.intent for s in read]) if read else None,
        "sources": dict(Counter(s.record.source for s in scored)),
        "audited": len(audited),
    }
    if audited:
        counts = Counter(s.audit for s in audited)
        out["audit"] = {v: round(100 * counts[v] / len(audited), 1) for v in VERDICTS}
    return out


@dataclass
class ReplyReport:
    scored: list[Scored]

    def by_language(self) -> dict[str, dict[str, Any]]:
        langs = sorted({s.item.lang for s in self.scored})
        out = {lang: summarize([s for s in self.scored if s.item.lang == lang]) for lang in langs}
        out["all"] = summarize(self.scored)
        return out

    def problems(self) -> list[dict[str, Any]]:
        """Every reply that failed a check or whose sticker does not fit, case by case."""
        rows = []
        for s in self.scored:
            issues = list(s.checks.problems)
            if s.sticker_fits is False:
                issues.append(f"sticker {s.record.sticker or 'none'} does not answer {s.item.intent}")
            if s.off_topic:
                issues.append(f"off-topic (own message ranked {s.topic_rank} of 10)")
            if issues:
                rows.append(
                    {
                        "id": s.item.id,
                        "intent": s.item.intent,
                        "read": s.record.intent,
                        "message": s.item.message,
                        "reply": s.record.text,
                        "problems": issues,
                    }
                )
        return rows

    def to_dict(self) -> dict[str, Any]:
        return {"results": self.by_language(), "problems": self.problems()}

    def table(self) -> str:
        cols = [
            ("n", "n", "{:d}"),
            ("tone%", "tone_errors", "{:.1f}"),
            ("meta", "meta_talk", "{:d}"),
            ("lang", "wrong_language", "{:d}"),
            ("rep", "repetition", "{:d}"),
            ("empty", "empty", "{:d}"),
            ("long", "too_long", "{:d}"),
            ("chars", "median_chars", "{:.0f}"),
            ("offtopic%", "off_topic_model", "{:.1f}"),
            ("sticker%", "sticker_fit", "{:.1f}"),
            ("intent%", "intent_accuracy", "{:.1f}"),
        ]
        head = f"{'lang':5s}" + "".join(f"{name:>10s}" for name, _, _ in cols)
        rows = [head]
        results = self.by_language()
        for lang, r in results.items():
            cells = "".join(
                f"{(fmt.format(r[key]) if r[key] is not None else '-'):>10s}" for _, key, fmt in cols
            )
            rows.append(f"{lang:5s}{cells}")
        for lang, r in results.items():
            rows.append(f"{lang}: sources {r['sources']}")
            if r.get("audit"):
                rows.append(f"{lang}: hand audit of {r['audited']} replies: {r['audit']}")
        return "\n".join(rows)


def audit_template(
    items: Sequence[ReplyItem], records: Sequence[ReplyRecord], *, per_language: int = 50, seed: int = 0
) -> list[dict[str, Any]]:
    """Lines for a hand audit: ``per_language`` replies of each language drawn with ``seed``, each
    with what the judge needs (the message, the turn before it, the reply, its sticker) and an
    empty ``verdict`` (one of VERDICTS) and ``note`` to fill in."""
    by_id = {r.id: r for r in records}
    rng = random.Random(seed)
    out = []
    for lang in sorted({i.lang for i in items}):
        pool = [i for i in items if i.lang == lang and i.id in by_id]
        for item in sorted(rng.sample(pool, min(per_language, len(pool))), key=lambda i: i.id):
            record = by_id[item.id]
            before = [t.to_dict() for t in item.history[-2:]]
            out.append(
                {
                    "id": item.id,
                    "lang": lang,
                    "intent": item.intent,
                    "history": before,
                    "message": item.message,
                    "sticker_sent_by_user": item.sticker,
                    "reply": record.text,
                    "source": record.source,
                    "bot_sticker": record.sticker,
                    "verdict": None,
                    "note": "",
                }
            )
    return out


def write_records(path: Path, records: Sequence[ReplyRecord]) -> None:
    with Path(path).open("w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(asdict(r), ensure_ascii=False) + "\n")


def read_records(path: Path) -> list[ReplyRecord]:
    return [
        ReplyRecord.from_dict(json.loads(line))
        for line in Path(path).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


__all__ = [
    "ReplyItem",
    "audit_template",
    "ReplyRecord",
    "ReplyReport",
    "Scored",
    "collect",
    "load_audit",
    "load_reply_items",
    "read_records",
    "score",
    "summarize",
    "topic_ranks",
    "write_records",
]


def write_audit_template(path: Path, items: Sequence[ReplyItem], records: Sequence[ReplyRecord]) -> int:
    """Write :func:`audit_template`'s unjudged replies to ``path`` (JSONL); returns how many."""
    lines = audit_template(items, records)
    Path(path).write_text(
        "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8"
    )
    return len(lines)
