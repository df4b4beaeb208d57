"""Output files of a run, written so that a kill at any moment loses at most the sessions in
progress and never leaves a malformed line behind for the next run.

- ``FILE.jsonl``: accepted sessions (StickerConv session format), one line each;
- ``FILE.rejects.jsonl``: rejected sessions with the reason;
- ``FILE.turns.jsonl``: per-turn training records (``--format turns``);
- ``FILE.profiles.jsonl``: the profile pool, a chunk per line;
- ``FILE.run.json``: the settings the sessions were made with, checked on resume.

Each line is validated (sessions by ``stickerbot.memory.dialogues.parse_record``, the same
reader ``python -m stickerbot memory add`` uses), encoded, written with one ``write``,
flushed and fsynced under a lock. A kill mid-write can only leave a last line without its
newline; :func:`repair_tail` cuts it off before a run resumes.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stickerbot.atomic import atomic_path
from stickerbot.errors import UserError
from stickerbot.memory.dialogues import DialogueFormatError, parse_record

log = logging.getLogger(__name__)

REJECT_KEYS = ("id", "index", "reason", "detail", "retryable")


@dataclass(frozen=True)
class OutputPaths:
    out: Path
    rejects: Path
    turns: Path
    profiles: Path
    run: Path

    @classmethod
    def for_out(cls, out: str | Path) -> OutputPaths:
        out = Path(out)
        stem = out.name[: -len(".jsonl")] if out.name.endswith(".jsonl") else out.name
        sibling = out.parent / stem
        return cls(
            out=out,
            rejects=Path(f"{sibling}.rejects.jsonl"),
            turns=Path(f"{sibling}.turns.jsonl"),
            profiles=Path(f"{sibling}.profiles.jsonl"),
            run=Path(f"{sibling}.run.json"),
        )


def encode_line(record: dict[str, Any]) -> bytes:
    """One JSON line. Raises ValueError for anything that is not plain, finite JSON."""
    text = json.dumps(record, ensure_ascii=False, allow_nan=False)
    return (text + "\n").encode("utf-8")


def repair_tail(path: Path) -> int:
    """Cut off a last line that has no newline (a write a kill interrupted); bytes removed."""
    if not path.exists():
        return 0
    size = path.stat().st_size
    if size == 0:
        return 0
    with path.open("rb+") as f:
        f.seek(max(0, size - 1))
        if f.read(1) == b"\n":
            return 0
        # Walk back to the previous newline.
        pos, chunk = size, 65536
        keep = 0
        while pos > 0:
            start = max(0, pos - chunk)
            f.seek(start)
            block = f.read(pos - start)
            cut = block.rfind(b"\n")
            if cut >= 0:
                keep = start + cut + 1
                break
            pos = start
        f.truncate(keep)
        f.flush()
        os.fsync(f.fileno())
    log.warning(
        "%s: removed an unfinished last line (%d bytes) left by an interrupted run", path, size - keep
    )
    return size - keep


def read_jsonl_repairing(path: Path) -> list[dict[str, Any]]:
    """Every line of a JSONL file this module wrote, after :func:`repair_tail`. A bad line other
    than an unfinished last one means the file was edited or corrupted: ValueError naming it."""
    repair_tail(path)
    out = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as err:
                raise UserError(
                    f"{path}, line {n}: not valid JSON ({err.msg}); fix or move the file"
                ) from err
            if not isinstance(value, dict):
                raise UserError(f"{path}, line {n}: expected a JSON object")
            out.append(value)
    return out


def append_line(path: Path, record: dict[str, Any]) -> None:
    data = encode_line(record)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def validate_session(record: dict[str, Any]) -> None:
    """The session as it will be read back: JSON round trip, then the dialogue reader."""
    parse_record(json.loads(encode_line(record)), where=f"session {record.get('id')}", source="check")


def validate_reject(record: dict[str, Any]) -> None:
    missing = [k for k in REJECT_KEYS if k not in record]
    if missing:
        raise ValueError(f"reject line lacks {missing}")
    if not isinstance(record["reason"], str) or not isinstance(record["retryable"], bool):
        raise ValueError("reject line: reason must be a string and retryable a boolean")
    json.loads(encode_line(record))


@dataclass
class ResumeState:
    accepted: set[str] = field(default_factory=set)
    # Rejected for what the session is (no sticker, repetitions): not generated again.
    rejected: set[str] = field(default_factory=set)
    # Failed for a reason outside the session (the backend): generated again on resume.
    failed: set[str] = field(default_factory=set)
    turns_added: int = 0

    @property
    def finished(self) -> set[str]:
        return self.accepted | self.rejected


class SessionWriter:
    """Appends sessions, per-turn records and rejects; safe to call from every worker."""

    def __init__(self, paths: OutputPaths, *, turns: bool = False, turn_records=None):
        self.paths = paths
        self.turns = turns
        # session -> per-turn records (agents.records.turn_records); injected to keep this module
        # free of the dialogue layout.
        self._turn_records = turn_records
        self._lock = threading.Lock()

    def check_run(self, run_info: dict[str, Any]) -> None:
        """Refuse to continue an output made with other settings; record them for a new one."""
        path = self.paths.run
        if path.exists() and self._has_output():
            saved = json.loads(path.read_text(encoding="utf-8"))
            if saved.get("config") != run_info["config"]:
                diff = sorted(
                    k
                    for k in set(saved.get("config", {})) | set(run_info["config"])
                    if saved.get("config", {}).get(k) != run_info["config"].get(k)
                )
                raise UserError(
                    f"{self.paths.out} was generated with other settings ({', '.join(diff)} differ; see "
                    f"{path}); use the same settings to continue it, or another --out"
                )
            if saved.get("backend") != run_info.get("backend"):
                log.warning(
                    "continuing %s with backend %s (it was started with %s)",
                    self.paths.out,
                    run_info.get("backend"),
                    saved.get("backend"),
                )
            return
        if self.paths.out.exists() and self.paths.out.stat().st_size > 0:
            raise UserError(
                f"{self.paths.out} exists but was not written by agents.generate (no {path.name}); "
                "use another --out"
            )
        with atomic_path(path) as tmp:
            tmp.write_text(json.dumps(run_info, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

    def _has_output(self) -> bool:
        """Whether an earlier run left anything a new one would continue."""
        p = self.paths
        return any(f.exists() and f.stat().st_size > 0 for f in (p.out, p.rejects, p.profiles, p.turns))

    def resume(self) -> ResumeState:
        state = ResumeState()
        sessions: list[dict[str, Any]] = []
        if self.paths.out.exists():
            for n, record in enumerate(read_jsonl_repairing(self.paths.out), 1):
                try:
                    validate_session(record)
                except DialogueFormatError as err:
                    raise UserError(f"{self.paths.out}, session {n}: {err}") from err
                sessions.append(record)
                state.accepted.add(record["id"])
        if self.paths.rejects.exists():
            for record in read_jsonl_repairing(self.paths.rejects):
                (state.failed if record.get("retryable") else state.rejected).add(record["id"])
        state.failed -= state.finished
        if self.turns:
            state.turns_added = self._complete_turns(sessions)
        return state

    def _complete_turns(self, sessions: list[dict[str, Any]]) -> int:
        """Per-turn records for every accepted session: those a kill kept from being written are
        written now (they derive from the session line alone)."""
        have: set[str] = set()
        if self.paths.turns.exists():
            have = {r["id"] for r in read_jsonl_repairing(self.paths.turns)}
        missing = [t for s in sessions for t in self._turn_records(s) if t["id"] not in have]
        if missing:
            self._append(self.paths.turns, [encode_line(t) for t in missing])
        return len(missing)

    def write_session(self, record: dict[str, Any]) -> None:
        """Validate, then append the session (and its per-turn records). DialogueFormatError or
        ValueError, with nothing written, when it would not read back."""
        validate_session(record)
        line = encode_line(record)
        turn_lines = []
        if self.turns:
            for turn in self._turn_records(record):
                parse_record(json.loads(encode_line(turn)), where=f"turn {turn['id']}", source="check")
                turn_lines.append(encode_line(turn))
        with self._lock:
            self._append(self.paths.out, [line])
            if turn_lines:
                self._append(self.paths.turns, turn_lines)

    def write_reject(self, record: dict[str, Any]) -> None:
        validate_reject(record)
        line = encode_line(record)
        with self._lock:
            self._append(self.paths.rejects, [line])

    @staticmethod
    def _append(path: Path, lines: list[bytes]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("ab") as f:
            f.write(b"".join(lines))
            f.flush()
            os.fsync(f.fileno())
