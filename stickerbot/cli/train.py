"""`train chat|clip|expression|ret`: the chat LoRA, the sticker image encoder and its
expression head, the retrieval tokens.

    python -m stickerbot train chat [--steps 130] [--batch-size 8] [--lr 1e-3] [--rank 8] [--out DIR]
    python -m stickerbot train clip [--steps 2800] [--base HUB_ID_OR_FOLDER] [--drawn-faces N [--drawn-steps N [--drawn-emoji-share S]]] [--out PATH]
    python -m stickerbot train expression [--steps 1200] [--size 96] [--hands faces,doodles] [--encoder PATH] [--out PATH]
    python -m stickerbot train ret [--steps 50] [--requests 3000] [--out PATH]

Every run is resumable: Ctrl-C saves it, and the same command continues it (exit code 130).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from stickerbot.cli.common import names, print_json, settings
from stickerbot.errors import UserError


def register(sub) -> None:
    p = sub.add_parser(
        "train",
        help="train the chat backbone's LoRA, the image encoder or the retrieval tokens",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    train = p.add_subparsers(dest="what", required=True)
    t = train.add_parser("chat", help="LoRA fine-tuning of the chat backbone on the dialogue memory")
    # None: the defaults of tuning.train.ChatTuneConfig (one place).
    t.add_argument("--steps", type=int, default=None, help="gradient steps (default 130)")
    t.add_argument("--batch-size", type=int, default=None, help="examples per step (default 8)")
    t.add_argument("--lr", type=float, default=None, help="AdamW peak learning rate (default 1e-3)")
    t.add_argument("--rank", type=int, default=None, help="LoRA rank (default 8)")
    t.add_argument("--seed", type=int, default=None)
    t.add_argument("--out", help="adapter folder (default: data/adapters/chat-<backbone>)")
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=run_chat)

    t = train.add_parser("clip", help="StickerCLIP-lite: the offline image encoder, from emoji art")
    # None: the defaults of stickerclip.train.ClipTrainConfig (one place).
    t.add_argument(
        "--base",
        help="fine-tune this CLIP's image tower instead (Hub id or folder, e.g. openai/clip-vit-base-patch32)",
    )
    t.add_argument("--steps", type=int, default=None, help="gradient steps (default 2800)")
    t.add_argument("--batch-size", type=int, default=None, help="pictures per step (default 128)")
    t.add_argument("--lr", type=float, default=None, help="AdamW peak learning rate (default 2e-3)")
    t.add_argument(
        "--minutes", type=float, default=None, help="time budget of the training steps (default 42)"
    )
    t.add_argument(
        "--drawn-faces",
        type=int,
        default=0,
        help="also train on this many cartoon faces drawn by code per expression, with line-art and "
        "any-hue augmentation (off for the shipped encoder)",
    )
    t.add_argument(
        "--drawn-steps",
        type=int,
        default=0,
        help="with --drawn-faces: only the last N steps train on the drawn faces and the drawing "
        "augmentation, with a restarted learning-rate schedule (default 0: throughout)",
    )
    t.add_argument(
        "--drawn-emoji-share",
        type=float,
        default=None,
        help="with --drawn-steps: the share of emoji-art pictures drawing-augmented in the drawing "
        "phase (default 1.0: all; the drawn faces always are)",
    )
    _add_random_conv(t)
    _add_extra_styles(t)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument(
        "--out",
        help="weights file (default: data/stickerclip/stickerclip-lite.safetensors; with --base a folder, "
        "data/stickerclip/stickerclip-hub)",
    )
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=run_clip)

    t = train.add_parser(
        "expression",
        help="the image encoder's expression head: the emotion of pictures unlike the library's art",
    )
    # None: the defaults of stickerclip.train.HEAD_TRAIN (one place).
    t.add_argument("--steps", type=int, default=None, help="gradient steps (default 1200)")
    t.add_argument("--batch-size", type=int, default=None, help="pictures per step (default 128)")
    t.add_argument("--lr", type=float, default=None, help="AdamW peak learning rate (default 6e-4)")
    t.add_argument("--minutes", type=float, default=None, help="time budget of the steps (default 30)")
    t.add_argument(
        "--drawn-faces",
        type=int,
        default=None,
        help="cartoon faces drawn by code per expression, from each hand (default 100)",
    )
    t.add_argument(
        "--hands",
        type=names,
        default=None,
        help="the hands that draw them, comma-separated: faces (stickerclip.drawn), doodles "
        "(stickerclip.doodles) (default: faces)",
    )
    _add_random_conv(t)
    _add_extra_styles(t)
    t.add_argument(
        "--size",
        type=int,
        default=None,
        help="the side in pixels of the pictures the head reads, from its own pass of the encoder's "
        "trunk; 0: the encoder's own pass and size (default 96)",
    )
    t.add_argument(
        "--from-block",
        type=int,
        default=None,
        help="the encoder residual block the head's branch starts after (default 6: the head is a "
        "copy of the last stage; 4: of the last two)",
    )
    t.add_argument("--seed", type=int, default=0)
    t.add_argument(
        "--encoder",
        help="the StickerCLIP-lite weights to train a head for (default: the one in use, "
        "data/stickerclip/stickerclip-lite.safetensors, else the shipped one)",
    )
    t.add_argument("--out", help="head file (default: beside the encoder, <name>.expression.safetensors)")
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=run_expression)

    t = train.add_parser("ret", help="StickerLLM retrieval tokens on the configured backbone")
    # None: the defaults of retrieval_tokens.train.TrainConfig (one place).
    t.add_argument("--steps", type=int, default=None, help="gradient steps (default 50)")
    t.add_argument("--batch-size", type=int, default=None, help="examples per step (default 8)")
    t.add_argument("--lr", type=float, default=None, help="AdamW learning rate (default 2e-3)")
    t.add_argument(
        "--requests", type=int, default=3000, help="sticker-request examples drawn from the library"
    )
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--out", help="checkpoint path (default: data/ret/ret-<backbone>.safetensors)")
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=run_ret)


def _given(**values) -> dict:
    """The options given on the command line; the config dataclass keeps its defaults for the rest."""
    return {k: v for k, v in values.items() if v is not None}


def _resumable(train, *, saved: str = "the run"):
    """``train()``'s result; None after Ctrl-C, said in one line (every trainer saves its state
    on the way out, so the same command continues)."""
    try:
        return train()
    except KeyboardInterrupt:
        print(f"interrupted; {saved} is saved: run the same command to continue", file=sys.stderr)
        return None


def _report(args, summary: dict, line: str) -> int:
    """The run's summary as JSON with --json, else its one line."""
    if args.json:
        print_json(summary)
    else:
        print(line)
    return 0


def run_chat(args) -> int:
    from stickerbot.tuning.build import train_chat
    from stickerbot.tuning.train import ChatTuneConfig

    config = ChatTuneConfig(
        **_given(steps=args.steps, batch_size=args.batch_size, lr=args.lr, rank=args.rank, seed=args.seed)
    )
    result = _resumable(
        lambda: train_chat(
            settings(), config=config, out=Path(args.out) if args.out else None, progress=not args.json
        )
    )
    if result is None:
        return 130
    summary = {
        "adapter": str(result.out),
        "steps": result.steps_done,
        "resumed_from": result.resumed_from,
        "last_loss": sum(result.losses[-10:]) / len(result.losses[-10:]) if result.losses else None,
        "heldout_loss": result.heldout_loss,
        "seconds": round(result.seconds, 1),
    }
    return _report(
        args,
        summary,
        f"trained the chat LoRA to step {result.steps_done} (resumed from {result.resumed_from}) in "
        f"{summary['seconds']:.0f} s; held-out loss {summary['heldout_loss']}: {result.out}",
    )


def _add_extra_styles(parser) -> None:
    parser.add_argument(
        "--extra-styles",
        type=names,
        default=(),
        help="optional emoji art styles to train on too, comma-separated (emojione-monotone, "
        "streamline, icon-faces: the face icons of 27 icon sets; default: none, as the shipped weights)",
    )


def _add_random_conv(parser) -> None:
    parser.add_argument(
        "--random-conv",
        type=float,
        default=None,
        help="the share of pictures given another texture and palette by a random convolution "
        "(RandConv; default 0: the shipped recipe)",
    )


def _with_random_conv(config, share: float | None):
    """``config`` with every augmentation it uses giving ``share`` of its pictures a random
    convolution (``--random-conv``); unchanged without one."""
    import dataclasses

    if share is None:
        return config
    if not 0.0 <= share <= 1.0:
        raise UserError("--random-conv must be between 0 and 1")
    return dataclasses.replace(
        config,
        augment=dataclasses.replace(config.augment, random_conv=share),
        drawn_augment=dataclasses.replace(config.drawn_augment, random_conv=share),
    )


def _styles(styles: tuple[str, ...]) -> tuple[str, ...]:
    """``--extra-styles``, checked against the optional art styles (a UserError naming them)."""
    from stickerbot.stickerclip.build import training_styles

    training_styles(styles)
    return styles


def run_clip(args) -> int:
    from stickerbot.stickerclip.build import train_clip
    from stickerbot.stickerclip.train import DRAWING_AUGMENT, ClipTrainConfig

    given = _given(steps=args.steps, batch_size=args.batch_size, lr=args.lr, minutes=args.minutes)
    if args.drawn_steps and not args.drawn_faces:
        raise UserError("--drawn-steps needs --drawn-faces N")
    if args.drawn_emoji_share is not None and not args.drawn_steps:
        raise UserError("--drawn-emoji-share needs --drawn-faces N --drawn-steps M")
    if args.drawn_emoji_share is not None and not 0.0 <= args.drawn_emoji_share <= 1.0:
        raise UserError("--drawn-emoji-share must be between 0 and 1")
    if args.drawn_faces and args.drawn_steps:
        given.update(drawn_per_expression=args.drawn_faces, drawn_steps=args.drawn_steps)
        if args.drawn_emoji_share is not None:
            given.update(drawn_emoji_share=args.drawn_emoji_share)
    elif args.drawn_faces:
        given.update(drawn_per_expression=args.drawn_faces, augment=DRAWING_AUGMENT)
    config = _with_random_conv(
        ClipTrainConfig(**given, extra_styles=_styles(args.extra_styles), seed=args.seed), args.random_conv
    )
    result = _resumable(
        lambda: train_clip(
            settings(),
            config=config,
            out=Path(args.out) if args.out else None,
            base=args.base,
            progress=not args.json,
        )
    )
    if result is None:
        return 130
    summary = {
        "encoder": str(result.path),
        "steps": result.steps,
        "resumed_from": result.resumed_from,
        "dev": result.dev,
        "seconds": round(result.seconds, 1),
    }
    dev = ", ".join(f"{k} {v:.1f}" for k, v in result.dev.items())
    return _report(
        args,
        summary,
        f"trained StickerCLIP-lite to step {result.steps} (resumed from {result.resumed_from}) in "
        f"{summary['seconds']:.0f} s; dev (new emoji, known styles): {dev}: {result.path}",
    )


def run_expression(args) -> int:
    import dataclasses

    from stickerbot.stickerclip.build import train_expression
    from stickerbot.stickerclip.expression import HEAD
    from stickerbot.stickerclip.train import HEAD_TRAIN

    steps = {"steps": args.steps, "drawn_steps": args.steps} if args.steps is not None else {}
    if args.steps is not None and args.steps < 1:
        raise UserError("--steps must be at least 1")
    given = _given(
        batch_size=args.batch_size,
        drawn_lr=args.lr,
        minutes=args.minutes,
        drawn_per_expression=args.drawn_faces,
        drawn_hands=args.hands or None,
        extra_styles=_styles(args.extra_styles) or None,
    )
    config = _with_random_conv(
        dataclasses.replace(HEAD_TRAIN, **steps, **given, seed=args.seed), args.random_conv
    )
    if args.size is not None and not (args.size == 0 or 32 <= args.size <= 256):
        raise UserError("--size must be 0 (the encoder's own pass) or between 32 and 256 pixels")
    head = HEAD if args.size is None else dataclasses.replace(HEAD, image_size=args.size)
    if args.from_block is not None:
        head = dataclasses.replace(head, from_block=args.from_block)
    result = _resumable(
        lambda: train_expression(
            settings(),
            config=config,
            head=head,
            encoder_path=Path(args.encoder) if args.encoder else None,
            out=Path(args.out) if args.out else None,
            progress=not args.json,
        )
    )
    if result is None:
        return 130
    summary = {
        "head": str(result.path),
        "steps": result.steps,
        "resumed_from": result.resumed_from,
        "dev": result.dev,
        "seconds": round(result.seconds, 1),
    }
    dev = ", ".join(f"{k} {v:.1f}%" for k, v in result.dev.items())
    return _report(
        args,
        summary,
        f"trained the expression head to step {result.steps} (resumed from {result.resumed_from}) in "
        f"{summary['seconds']:.0f} s; dev (new emoji, known styles): {dev}: {result.path}",
    )


def run_ret(args) -> int:
    from stickerbot.retrieval_tokens.build import train_ret
    from stickerbot.retrieval_tokens.train import TrainConfig

    config = TrainConfig(**_given(steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed))
    start = time.perf_counter()
    result = _resumable(
        lambda: train_ret(
            settings(),
            config=config,
            sticker_requests=args.requests,
            out=Path(args.out) if args.out else None,
            progress=not args.json,
        ),
        saved="the checkpoint",
    )
    if result is None:
        return 130
    summary = {
        "checkpoint": str(result.checkpoint),
        "steps": result.steps_done,
        "resumed_from": result.resumed_from,
        "last_loss": {"lm": result.losses[-1][0], "contrastive": result.losses[-1][1]}
        if result.losses
        else None,
        "heads": result.heads,
        "seconds": round(time.perf_counter() - start, 1),
    }
    if args.json:
        print_json(summary)
    else:
        print(
            f"trained <ret> to step {result.steps_done} (resumed from {result.resumed_from}) "
            f"in {summary['seconds']:.0f} s: {result.checkpoint}"
        )
        if result.heads:
            print(f"heads refitted on cached states: {result.heads}")
    return 0
