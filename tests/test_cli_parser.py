"""The command line's parser, without running a command: every documented command line parses,
each task has only its own flags, and errors are reported as the CLI promises."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from stickerbot.cli import build_parser, main

ROOT = Path(__file__).resolve().parent.parent
PROGRAM = "python -m stickerbot"


def _fenced_and_prose(text: str) -> tuple[list[str], str]:
    """(lines inside ``` fences, the rest of the text)."""
    code, prose, inside = [], [], False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            inside = not inside
            continue
        (code if inside else prose).append(line)
    return code, "\n".join(prose)


def _arguments(command: str) -> list[list[str]]:
    """The argv lists of one documented command (after `python -m stickerbot`), comments cut;
    a word written `a|b|c` stands for each of its alternatives."""
    words = shlex.split(command, comments=True)
    alternatives = [i for i, w in enumerate(words) if "|" in w and not w.startswith("-")]
    if not alternatives:
        return [words]
    i = alternatives[0]
    return [
        argv
        for choice in words[i].split("|")
        for argv in _arguments(shlex.join([*words[:i], choice, *words[i + 1 :]]))
    ]


def documented_commands(path: Path) -> list[str]:
    """Every `python -m stickerbot ...` of a README-like file: on code lines to the end of the
    line (or the comment), in prose inside `backticks` (which may run onto the next line)."""
    text = path.read_text(encoding="utf-8")
    code, prose = _fenced_and_prose(text)
    found = []
    for line in code:
        if PROGRAM in line:
            found.append(line.split(PROGRAM, 1)[1])
    for span in re.findall(r"`([^`]*)`", prose):
        if PROGRAM in span:
            found.append(" ".join(span.split(PROGRAM, 1)[1].split()))
    return found


def script_commands(path: Path) -> list[str]:
    """`-m stickerbot ...` in a Makefile or shell script (`$(PY) -m stickerbot bench search`)."""
    return [
        line.split("-m stickerbot", 1)[1] for line in path.read_text().splitlines() if "-m stickerbot" in line
    ]


def _parses(argv: list[str], capsys) -> None:
    """``argv`` parses; prose that names a command without its required arguments ("use
    `python -m stickerbot import`") is checked to name a command that exists."""
    for attempt in (argv, [*argv, "--help"]):
        try:
            build_parser().parse_args(attempt)
            return
        except SystemExit as exit:  # --help exits 0; a parse error exits 2
            if exit.code == 0:
                return
            err = capsys.readouterr().err
            if "the following arguments are required" not in err or any(w.startswith("-") for w in argv):
                break
    pytest.fail(f"does not parse: python -m stickerbot {shlex.join(argv)}")


def test_every_command_line_in_the_readme_parses(capsys):
    commands = documented_commands(ROOT / "README.md")
    # The README's quick start alone has some thirty; a broken extractor would find none.
    assert len(commands) > 60
    for command in commands:
        for argv in _arguments(command):
            _parses(argv, capsys)


def test_command_lines_of_make_scripts_and_ci_parse(capsys):
    paths = [ROOT / "Makefile", *sorted((ROOT / "scripts").glob("*")), *sorted((ROOT / ".ci").glob("*"))]
    commands = [c for p in paths if p.is_file() for c in script_commands(p)]
    assert commands, "the Makefile runs `bench search` and `index export-vectors`"
    for command in commands:
        for argv in _arguments(command):
            _parses(argv, capsys)


@pytest.mark.parametrize(
    ("command", "argv"),
    [
        ("eval replies", ["eval", "replies", "--messages", "F", "--json"]),
        ("train clip", ["train", "clip", "--drawn-faces", "100"]),
        ("eval images", ["eval", "images", "--drawn", "assets/eval/drawn_stickers_dev"]),
        ("bench app", ["bench", "app", "--messages", "20", "--client-turns", "2"]),
        ("bench soak", ["bench", "soak", "--minutes", "10.0", "--users", "10"]),
        ("train clip", ["train", "clip", "--drawn-faces", "60", "--drawn-steps", "400"]),
        ("train expression", ["train", "expression", "--size", "96"]),
    ],
)
def test_documented_spellings_keep_their_meaning(command, argv):
    args = build_parser().parse_args(argv)
    given = dict(zip(argv[2::2], argv[3::2], strict=False))
    assert " ".join(argv[:2]) == command
    for flag, value in given.items():
        if flag.startswith("--"):
            assert str(getattr(args, flag[2:].replace("-", "_"))) == value


def test_eval_help_lists_its_tasks(capsys):
    with pytest.raises(SystemExit) as exit:
        build_parser().parse_args(["eval", "--help"])
    assert exit.value.code == 0
    out = capsys.readouterr().out
    for task in ("retrieval", "chat", "tools", "replies", "selection", "images"):
        assert re.search(rf"^\s+{task}\b", out, re.M), task


def _flags(argv: list[str], capsys) -> set[str]:
    with pytest.raises(SystemExit):
        build_parser().parse_args([*argv, "--help"])
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", capsys.readouterr().out)) - {"--help"}


def test_each_task_has_only_its_own_flags(capsys):
    assert _flags(["eval", "replies"], capsys) == {
        "--messages", "--generate", "--out", "--score", "--audit", "--audit-template", "--json",
    }  # fmt: skip
    assert _flags(["eval", "retrieval"], capsys) == {"--queries", "--method", "--json"}
    assert _flags(["eval", "tools"], capsys) == {"--limit", "--json"}
    assert _flags(["eval", "selection"], capsys) == {"--json"}
    assert _flags(["eval", "images"], capsys) == {
        "--no-baseline",
        "--imports",
        "--drawn",
        "--styles",
        "--read",
        "--json",
    }
    assert _flags(["bench", "search"], capsys) == {"--records", "--queries", "--json"}
    assert _flags(["bench", "app"], capsys) == {
        "--messages",
        "--clients",
        "--client-turns",
        "--client",
        "--say",
        "--json",
    }
    assert _flags(["bench", "decode"], capsys) == {"--streams", "--tokens", "--replies", "--json"}
    assert _flags(["bench", "images"], capsys) == {"--json"}


def test_a_flag_of_another_task_is_refused_not_ignored(capsys):
    for argv in (
        ["eval", "chat", "--limit", "5"],
        ["eval", "retrieval", "--generate"],
        ["bench", "search", "--files", "9"],
    ):
        with pytest.raises(SystemExit) as exit:
            build_parser().parse_args(argv)
        assert exit.value.code == 2
        assert "unrecognized arguments" in capsys.readouterr().err


def test_a_user_error_is_one_line_and_exit_2(monkeypatch, capsys):
    monkeypatch.setenv("STICKERBOT_BACKBONE", "gpt-9-ultra")
    assert main(["backbones"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: unknown backbone 'gpt-9-ultra'") and err.count("\n") == 1


def test_a_bug_keeps_its_traceback(monkeypatch):
    # Before, any ValueError was printed as one line, a bug's included.
    def broken():
        raise ValueError("a bug, not the user's doing")

    monkeypatch.setattr("stickerbot.backbones.registry.list_specs", broken)
    with pytest.raises(ValueError, match="a bug"):
        main(["backbones"])


def test_a_missing_input_file_is_a_user_error(tmp_path, capsys):
    missing = tmp_path / "nope.jsonl"
    assert main(["eval", "chat", "--messages", str(missing)]) == 2
    assert capsys.readouterr().err == f"error: {missing}: no such file\n"


def test_bench_agents_points_to_its_new_home(capsys):
    assert main(["bench", "agents", "--sessions", "8"]) == 2
    assert "python -m agents.bench --sessions 8" in capsys.readouterr().err


def test_bench_app_takes_a_list_of_client_counts():
    parse = build_parser().parse_args
    assert parse(["bench", "app", "--clients", "1,4,8,20"]).clients == (1, 4, 8, 20)
    assert parse(["bench", "app", "--clients", "3"]).clients == (3,)
    assert parse(["bench", "app"]).clients == (1, 4, 8, 20)
    with pytest.raises(SystemExit):
        parse(["bench", "app", "--clients", "0,four"])
    assert parse(["bench", "app"]).client == "http"
    assert parse(["bench", "app", "--client", "gradio"]).client == "gradio"
    with pytest.raises(SystemExit):
        parse(["bench", "app", "--client", "curl"])


def test_train_expression_refuses_a_size_it_cannot_read(capsys):
    assert main(["train", "expression", "--size", "7"]) == 2
    assert "--size must be" in capsys.readouterr().err


def test_random_convolutions_reach_every_augmentation_of_a_run():
    from stickerbot.cli.train import _with_random_conv
    from stickerbot.errors import UserError
    from stickerbot.stickerclip.train import HEAD_TRAIN

    assert _with_random_conv(HEAD_TRAIN, None) is HEAD_TRAIN
    config = _with_random_conv(HEAD_TRAIN, 0.5)
    assert config.augment.random_conv == config.drawn_augment.random_conv == 0.5
    assert config.drawn_augment.line_art == HEAD_TRAIN.drawn_augment.line_art  # the rest kept
    with pytest.raises(UserError, match="between 0 and 1"):
        _with_random_conv(HEAD_TRAIN, 1.5)


def test_a_reader_field_that_is_not_one_is_a_user_error(capsys):
    assert main(["eval", "images", "--read", "vote_size=3"]) == 2
    assert "ReadWeights field" in capsys.readouterr().err
