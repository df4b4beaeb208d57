"""The import graph of `stickerbot` and `agents`: every module imports, no cycle, one direction.

Imports flow down these layers (a module may import its own layer and those below, never
one above, not even inside a function: such imports are how the cycles this test guards
against were hidden, services <-> retrieval_tokens.build and stickerbot.cli ->
stickerbot.bench.agents -> agents.generate -> stickerbot.cli):

    0  errors, text, atomic, stickers.images,  the error users see, language helpers, safe files and images,
       malloc                                  the allocator's arena cap
    1  config                                  Settings (takes ImageLimits from stickers.images)
    2  stickers/                               the sticker as data: record, labels, phash, OCR, packs, sidecars
    3  embeddings/, index/, evaluation.metrics  vectors and the Chroma store; StickerCLIP's encoder as an
       stickerclip.{model,storage,expression,embedder,paths,hub,runtime}   embedder, its expression head, their weight storage and what runs them (found without the trainer)
    4  backbones/                              chat models behind one protocol
    5  retrieval/, memory/                     search over the index; the dialogue memory
    6  importer, chat/, retrieval_tokens/,     what works on all of the above: importing a pack, the chat
       tuning/, stickerclip/                   engine, <ret> tokens, the chat LoRA, the image encoder's training
    7  services                                composition: opens all of the above from Settings
    8  cli/, ui/, evaluation/, bench/,         entry points and what measures them, and the `build` modules
       {retrieval_tokens,tuning,stickerclip}   that go from Settings through the services to a training run
       .build, stickerclip.evaluate
    9  agents/                                 a consumer of stickerbot; stickerbot never imports it

So stickers -> embeddings (the importer embedding a pack) and stickers -> retrieval (record
and keywords detecting CJK) were upward and moved: the importer to ``stickerbot/importer.py``,
the text helpers to ``stickerbot/text.py``; retrieval -> stickers is downward (search ranks
sticker records).

The graph is read from the source with `ast`, imports inside functions included; `from a
import b` is an edge to `a.b` when that is a module, else to `a`. Package ``__init__`` files
are not counted as imported by their submodules: re-exporting submodules from an
``__init__`` is not a cycle.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("stickerbot", "agents")

# The layers of the docstring, bottom first; a module belongs to the longest name matching it.
LAYERS = (
    ("errors", "text", "atomic", "stickers.images", "malloc"),
    ("config",),
    ("stickers",),
    ("embeddings", "index", "evaluation.metrics")
    + (
        "stickerclip.model",
        "stickerclip.storage",
        "stickerclip.expression",
        "stickerclip.embedder",
        "stickerclip.paths",
        "stickerclip.hub",
        "stickerclip.runtime",
    ),
    ("backbones",),
    ("retrieval", "memory"),
    ("importer", "chat", "retrieval_tokens", "tuning", "stickerclip"),
    ("services",),
    ("cli", "ui", "evaluation", "bench", "__main__")
    + ("retrieval_tokens.build", "tuning.build", "stickerclip.build", "stickerclip.evaluate"),
)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}


def _imported(node: ast.AST, module: str, is_package: bool) -> list[str]:
    """The dotted names one import statement names (before resolving to known modules)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if not isinstance(node, ast.ImportFrom):
        return []
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        prefix = ".".join(base + ([node.module] if node.module else []))
    else:
        prefix = node.module or ""
    return [f"{prefix}.{alias.name}" for alias in node.names] + [prefix]


def import_graph() -> dict[str, set[str]]:
    """module -> the modules of stickerbot/agents it imports anywhere in its source."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges: set[str] = set()
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            names = _imported(node, name, path.name == "__init__.py")
            if isinstance(node, ast.ImportFrom):
                # `from a import b`: the module a.b if there is one, else a itself.
                prefix = names[-1]
                targets = [n for n in names[:-1] if n in modules] or ([prefix] if prefix in modules else [])
            else:
                # `import a.b.c` runs a.b.c: the deepest known module named.
                targets = []
                for dotted in names:
                    parts = dotted.split(".")
                    known = [
                        ".".join(parts[:i])
                        for i in range(len(parts), 0, -1)
                        if ".".join(parts[:i]) in modules
                    ]
                    targets += known[:1]
            edges.update(t for t in targets if t != name)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_graph_reader_sees_imports_inside_functions(tmp_path):
    # The reader itself, on the shapes that hid the old cycles.
    source = "def f():\n    from stickerbot.services import open_library\n    import agents.generate\n"
    tree = ast.parse(source)
    names = [n for node in ast.walk(tree) for n in _imported(node, "stickerbot.x", False)]
    assert "stickerbot.services.open_library" in names and "agents.generate" in names
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    assert (
        layer_of("stickerbot.stickerclip.build")
        > layer_of("stickerbot.services")
        > layer_of("stickerbot.chat.service")
    )
    assert layer_of("stickerbot.stickerclip.paths") == layer_of("stickerbot.embeddings.registry")
    assert layer_of("agents.bench") > layer_of("stickerbot.cli")


def test_no_import_cycle():
    found = cycles(import_graph())
    assert not found, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_stickerbot_never_imports_agents():
    upward = sorted(
        f"{m} -> {t}"
        for m, targets in import_graph().items()
        if m.split(".")[0] == "stickerbot"
        for t in targets
        if t.split(".")[0] == "agents"
    )
    assert not upward, "stickerbot imports its consumer:\n" + "\n".join(upward)


def layer_of(module: str) -> int | None:
    """The layer of a module (agents above them all), or None when no layer names it."""
    if module.split(".")[0] == "agents":
        return len(LAYERS)
    rest = module.removeprefix("stickerbot").removeprefix(".")
    if not rest:
        return 0
    matches = [
        (len(name), i)
        for i, names in enumerate(LAYERS)
        for name in names
        if rest == name or rest.startswith(name + ".")
    ]
    return max(matches)[1] if matches else None


def test_imports_go_down_the_layers():
    graph = import_graph()
    unplaced = sorted(m for m in graph if layer_of(m) is None)
    assert not unplaced, f"place these modules in a layer of LAYERS (and the docstring): {unplaced}"
    upward = sorted(
        f"{m} (layer {layer_of(m)}) -> {t} (layer {layer_of(t)})"
        for m, targets in graph.items()
        for t in targets
        if layer_of(t) > layer_of(m)
    )
    assert not upward, "imports that go up:\n" + "\n".join(upward)


def test_every_module_imports_in_a_fresh_interpreter():
    # A fresh interpreter per package so one module's imports cannot hide another's failure
    # (a cycle that only breaks when a particular module is imported first shows up here).
    modules = sorted(m for m in _modules() if not m.endswith("__main__"))
    script = (
        "import importlib, sys, traceback\n"
        "failed = []\n"
        "for name in sys.argv[1:]:\n"
        "    try:\n"
        "        importlib.import_module(name)\n"
        "    except Exception:\n"
        "        failed.append(name + ':\\n' + traceback.format_exc())\n"
        "print('\\n'.join(failed))\n"
        "sys.exit(1 if failed else 0)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, *modules], cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    "first", ["stickerbot.services", "stickerbot.retrieval_tokens.build", "agents.generate"]
)
def test_modules_that_were_in_a_cycle_import_first(first):
    # Imported first and alone, a module in a cycle fails with a partially initialised import.
    done = subprocess.run(
        [sys.executable, "-c", f"import {first}"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
