"""`bench TARGET`: benchmarks that print numbers, one subcommand each with only its own flags.

    python -m stickerbot bench search [--records 100000] [--queries 200] [--json]
    python -m stickerbot bench import [--files 1000] [--json]
    python -m stickerbot bench chat [--messages 40] [--json]
    python -m stickerbot bench app [--messages 40] [--clients 1,4,8,20] [--client-turns 5] [--client http|gradio] [--say day|questions] [--json]
    python -m stickerbot bench soak [--minutes 10] [--users 10] [--without import] [--json]
    python -m stickerbot bench decode [--streams 1,4,8,16] [--tokens 48] [--replies 4] [--json]
    python -m stickerbot bench images [--json]

The benchmarks live in stickerbot/bench. The dialogue agents' benchmark is `python -m agents.bench`:
stickerbot does not import the agents that use it (`bench agents` only says so).
"""

from __future__ import annotations

import argparse

from stickerbot.backbones.threads import one_team_for_the_decoder
from stickerbot.cli.common import names, settings
from stickerbot.errors import UserError


def int_list(text: str) -> tuple[int, ...]:
    """ "1,4,8,20" -> (1, 4, 8, 20); positive numbers only."""
    try:
        values = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"expected numbers separated by commas, got {text!r}") from err
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive numbers, got {text!r}")
    return values


def register(sub) -> None:
    p = sub.add_parser(
        "bench",
        help="benchmarks that print numbers: search, import, chat, decode, app, soak, images",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    targets = p.add_subparsers(dest="target", required=True, metavar="TARGET")

    t = targets.add_parser("search", help="index build throughput, query latency and ANN recall at scale")
    t.add_argument("--records", type=int, default=100_000, help="synthetic index size")
    t.add_argument("--queries", type=int, default=200, help="queries timed per size")
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=run_search)

    t = targets.add_parser("import", help="importing a synthetic pack")
    t.add_argument("--files", type=int, default=1000, help="synthetic stickers to import")
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=run_import)

    t = targets.add_parser("chat", help="chat turn latency on the configured backbone")
    t.add_argument("--messages", type=int, default=40, help="chat turns timed")
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=run_chat)

    t = targets.add_parser("app", help="the app under load: sequential turns, then concurrent sessions")
    t.add_argument("--messages", type=int, default=40, help="chat turns timed")
    t.add_argument(
        "--clients",
        type=int_list,
        default=(1, 4, 8, 20),
        help="concurrent sessions, one run per number (default 1,4,8,20)",
    )
    t.add_argument("--client-turns", type=int, default=5, help="turns per concurrent session")
    t.add_argument(
        "--client",
        choices=("http", "gradio"),
        default="http",
        help="how the sessions talk to the app: http (a browser's requests, light on the CPU the "
        "app shares) or gradio (gradio_client, as scripts do; it costs more CPU than the app)",
    )
    t.add_argument(
        "--say",
        choices=("day", "questions"),
        default="day",
        help="what the concurrent sessions say: day ('I had a long day', mostly answered without the "
        "model) or questions (factual questions, which the model answers: every turn decodes)",
    )
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=run_app)

    t = targets.add_parser("decode", help="decoding throughput with several conversations generating at once")
    t.add_argument(
        "--streams", type=int_list, default=(1, 4, 8, 16), help="concurrent generations (default 1,4,8,16)"
    )
    t.add_argument("--tokens", type=int, default=48, help="new tokens per reply at most")
    t.add_argument("--replies", type=int, default=4, help="replies each stream asks for, one after another")
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=run_decode)

    t = targets.add_parser(
        "soak", help="the app under a mixed load (turns, uploads good and hostile, imports) for N minutes"
    )
    t.add_argument("--minutes", type=float, default=10.0, help="how long the load runs")
    t.add_argument("--users", type=int, default=10, help="simulated users")
    t.add_argument(
        "--without",
        type=names,
        default=(),
        help="actions left out of the mix: text, sticker, hostile, search, import (e.g. --without import)",
    )
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=run_soak)

    t = targets.add_parser("images", help="the image encoder: size, load time, ms per picture")
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=run_images)

    # Old command lines still parse, and are told where the benchmark went.
    t = targets.add_parser("agents", help="moved: python -m agents.bench")
    t.add_argument("--sessions", type=int, help=argparse.SUPPRESS)
    t.add_argument("--delay", type=float, help=argparse.SUPPRESS)
    t.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    t.set_defaults(func=run_agents)


def run_search(args) -> int:
    from stickerbot.bench.search import run_search_benchmark

    run_search_benchmark(settings(), records=args.records, queries=args.queries, json_out=args.json)
    return 0


def run_import(args) -> int:
    from stickerbot.bench.importing import run_import_benchmark

    run_import_benchmark(settings(), n=args.files, json_out=args.json)
    return 0


def run_chat(args) -> int:
    one_team_for_the_decoder()  # before torch loads, as the app does
    from stickerbot.bench.chat import run_chat_benchmark

    run_chat_benchmark(settings(), n=args.messages, json_out=args.json)
    return 0


def run_app(args) -> int:
    from stickerbot.bench.app import run_app_benchmark

    run_app_benchmark(
        settings(),
        turns=args.messages,
        clients=args.clients,
        client_turns=args.client_turns,
        client=args.client,
        say=args.say,
        json_out=args.json,
    )
    return 0


def run_decode(args) -> int:
    one_team_for_the_decoder()  # before torch loads, as the app does
    from stickerbot.bench.decode import run_decode_benchmark

    run_decode_benchmark(
        settings(), streams=args.streams, tokens=args.tokens, replies=max(1, args.replies), json_out=args.json
    )
    return 0


def run_soak(args) -> int:
    from stickerbot.bench.soak import run_soak

    run_soak(settings(), minutes=args.minutes, users=args.users, without=args.without, json_out=args.json)
    return 0


def run_images(args) -> int:
    from stickerbot.bench.images import run_images_benchmark

    run_images_benchmark(settings(), json_out=args.json)
    return 0


def run_agents(args) -> int:
    command = ["python -m agents.bench"]
    if args.sessions is not None:
        command.append(f"--sessions {args.sessions}")
    if args.delay is not None:
        command.append(f"--delay {args.delay:g}")
    if args.json:
        command.append("--json")
    raise UserError(f"the agents benchmark moved to the agents package: run `{' '.join(command)}`")
