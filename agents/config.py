"""What a generation run is: one frozen dataclass each for the dialogue rules and for calling the model.

``GenerationConfig`` is saved beside the output (``<out>.run.json``) and checked when a run
resumes, so one output file never mixes sessions made under different rules.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from stickerbot.errors import UserError

LANGUAGES = ("en", "zh")
REVIEWERS = ("rule", "llm", "both", "off")
FORMATS = ("sessions", "turns")


@dataclass(frozen=True)
class CallPolicy:
    """How one model call is made robust: an overall deadline, retries with exponential backoff."""

    # Seconds one call may take from its first byte of work to its last token; a call past it
    # is stopped and counts as failed (then retried). Also the openai: backbone's read timeout.
    # Generous because a local model on a busy 2-core machine can take a minute for 48 tokens.
    timeout: float = 120.0
    # Extra attempts after a failed call (HTTP error, refused connection, malformed stream,
    # timeout). Attempt i waits backoff * 2**i seconds (capped at backoff_max) before it runs.
    retries: int = 3
    backoff: float = 0.5
    backoff_max: float = 8.0
    # Extra attempts, at a higher temperature, when the model answered but its message could not
    # be used (empty, only a role label, the wrong language). After them: recorded fallback text.
    parse_retries: int = 1
    # The same for decisions (intent, query, pick, review, closing, summary). Each has a rule
    # that decides instead, and asking a small model again mostly buys the same non-answer.
    decision_retries: int = 0


@dataclass(frozen=True)
class GenerationConfig:
    # Accepted sessions to write (rejected ones do not count).
    n: int = 20
    lang: str = "en"
    # Every session's randomness derives from (seed, index): results do not depend on workers.
    seed: int = 0
    # Sessions generated at once. Calls to a local model take turns on its one copy of the
    # weights; calls to an openai: server run concurrently.
    workers: int = 1
    # "sessions" writes the StickerConv session format; "turns" also writes per-turn records.
    format: str = "sessions"
    # A session ends after this many turns (a turn is one user message and one reply) ...
    max_turns: int = 6
    # ... or earlier, when the user agent decides to end it, asked from this turn on.
    min_turns: int = 2
    # After a sticker, this many following messages (either side) carry none: with 1, the two
    # sides never both send a sticker in consecutive messages. 0 disables spacing.
    sticker_gap: int = 1
    # Stickers each side sends at most per session (0: no limit). Without it a model that wants
    # a sticker on every message (SmolLM2-135M does) takes every slot spacing leaves to one side.
    max_stickers_per_side: int = 2
    # Stickers offered to the agent when it picks one (from the sticker library's search).
    candidates: int = 5
    # A generated profile whose ROUGE-L F1 with any earlier profile (seed or generated) reaches
    # this is a duplicate and is generated again (self-instruct uses 0.7).
    dedup_threshold: float = 0.7
    # Attempts at a new profile before a recorded fallback (a recombination of seed profiles).
    profile_attempts: int = 2
    # Profiles are generated and de-duplicated this many at a time, in index order, so the pool
    # does not depend on the number of workers; each chunk is saved before its sessions start.
    profile_chunk: int = 8
    # An utterance whose ROUGE-L F1 with an earlier one of the session reaches this is a
    # repetition: generated again (up to repeat_retries times); a session still holding one
    # goes to the rejects file.
    repeat_threshold: float = 0.8
    repeat_retries: int = 2
    # Which reviewer checks a chosen sticker against its message: a rule (the message's
    # emotion cues vs the sticker's emotion), the model (a yes/no question), both, or off.
    reviewer: str = "both"
    # Sampling temperature of utterances and profiles; decisions are greedy.
    temperature: float = 0.7
    # Each agent's running summary is rewritten by the model every this many turns (0: never).
    summary_every: int = 3
    # Past observations retrieved by similarity into each message's prompt.
    recall: int = 2
    # A session where more than this share of utterances are fallback text is rejected.
    max_fallback_share: float = 0.34
    # Session indexes tried before giving up on reaching n (default: 3 n + 10).
    max_attempts: int | None = None
    # New tokens for an utterance (the text is cut to two sentences afterwards).
    utterance_tokens: int = 48

    def __post_init__(self) -> None:
        if self.n < 1:
            raise UserError("--n must be at least 1")
        if self.lang not in LANGUAGES:
            raise UserError(f"--lang must be one of {LANGUAGES}, got {self.lang!r}")
        if self.workers < 1:
            raise UserError("--workers must be at least 1")
        if self.format not in FORMATS:
            raise UserError(f"--format must be one of {FORMATS}, got {self.format!r}")
        if self.max_turns < 1:
            raise UserError("--max-turns must be at least 1")
        if self.sticker_gap < 0 or self.max_stickers_per_side < 0:
            raise UserError("--sticker-gap and --max-stickers-per-side must be 0 or more")
        if self.reviewer not in REVIEWERS:
            raise UserError(f"--reviewer must be one of {REVIEWERS}, got {self.reviewer!r}")
        if not 0.0 < self.dedup_threshold <= 1.0 or not 0.0 < self.repeat_threshold <= 1.0:
            raise UserError("thresholds are ROUGE-L F1 values in (0, 1]")
        if self.candidates < 1 or self.profile_chunk < 1:
            raise UserError("--candidates and the profile chunk must be at least 1")

    @property
    def attempts_limit(self) -> int:
        return self.max_attempts if self.max_attempts is not None else 3 * self.n + 10

    def to_dict(self) -> dict:
        return asdict(self)

    # What must match for a run to continue an existing output file (n and workers may change).
    RESUME_KEYS = (
        "lang",
        "seed",
        "format",
        "max_turns",
        "min_turns",
        "sticker_gap",
        "max_stickers_per_side",
        "candidates",
        "dedup_threshold",
        "profile_chunk",
        "repeat_threshold",
        "reviewer",
    )

    def resume_view(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name in self.RESUME_KEYS}
