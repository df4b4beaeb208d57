"""What every command shares: the settings, JSON output, and the files a user names."""

from __future__ import annotations

import json
from pathlib import Path

from stickerbot.errors import UserError


def settings():
    """Settings from the environment, built here at the entry point (never at import)."""
    from stickerbot.config import Settings

    return Settings.from_env()


def print_json(data) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


def names(text: str) -> tuple[str, ...]:
    """ "a, b,,c" -> ("a", "b", "c"): a comma-separated list of names, as argparse's ``type``."""
    return tuple(x.strip() for x in text.split(",") if x.strip())


def input_file(path: str | None) -> Path | None:
    """A file the user named on the command line, or None when none was given; a UserError
    (one line, exit 2) when it is not there, rather than a traceback from deep inside."""
    if path is None:
        return None
    if not Path(path).is_file():
        raise UserError(f"{path}: no such file")
    return Path(path)
