"""Prompts are package data: ``agents/prompts/*.yaml``, each key a Jinja2 template.

Templates render with ``StrictUndefined``, so a variable the code forgot to pass is an error
rather than a silently empty prompt. ``{{ x | json }}`` writes a JSON string without
escaping non-ASCII (Chinese stays readable to the model).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

PROMPTS_DIR = Path(__file__).resolve().parent / "prompts"


def _environment():
    import jinja2

    env = jinja2.Environment(
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        autoescape=False,
    )
    env.filters["json"] = lambda value: json.dumps(value, ensure_ascii=False)
    return env


class Prompts:
    """``render("user.first", **variables)``: template ``first`` of ``prompts/user.yaml``.

    ``data("common.feelings")`` returns a non-template value (a table or a list) as loaded.
    """

    def __init__(self, folder: Path = PROMPTS_DIR):
        self.folder = Path(folder)
        self._files: dict[str, dict[str, Any]] = {}
        for path in sorted(self.folder.glob("*.yaml")):
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            if not isinstance(loaded, dict):
                raise ValueError(f"{path}: a prompt file must map names to templates")
            self._files[path.stem] = loaded
        self._env = _environment()
        self._compiled: dict[str, Any] = {}

    def names(self) -> list[str]:
        return [f"{f}.{k}" for f, keys in self._files.items() for k, v in keys.items() if isinstance(v, str)]

    def data(self, name: str) -> Any:
        file, _, key = name.partition(".")
        try:
            return self._files[file][key] if key else self._files[file]
        except KeyError:
            raise KeyError(f"no prompt data {name!r} in {self.folder}") from None

    def render(self, name: str, **variables: Any) -> str:
        template = self._compiled.get(name)
        if template is None:
            source = self.data(name)
            if not isinstance(source, str):
                raise TypeError(f"prompt {name!r} is not a template")
            template = self._compiled[name] = self._env.from_string(source)
        return template.render(**variables).strip()


@lru_cache(maxsize=4)
def load_prompts(folder: Path = PROMPTS_DIR) -> Prompts:
    """The shared, read-only prompt set (jinja2 templates are safe to render from many threads)."""
    return Prompts(folder)
